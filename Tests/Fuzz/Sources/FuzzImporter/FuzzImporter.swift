import Foundation
import MarginCore

/// The bytes of a report file, as `margin import` reads them: refused cleanly
/// or cleaned into a draft whose body is text.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzImporter(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let data = Data(bytes: start, count: count)
    for raw in [false, true] {
        guard let result = try? ReportFile.parse(data, raw: raw) else { continue }
        precondition(TextNormalization.hasText(result.draft.body), "an accepted report has no text")
    }
    return 0
}
