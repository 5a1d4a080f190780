import Foundation
import MarginCore

struct ImportCommand: Command {
    static let name = "import"
    static let summary = "Import reports (plain text) or an export (JSON Lines)"
    static let usage = "margin import [--raw] [--quiet] PATH..."
    static let details = """
    Each PATH is a file or a folder (its .txt, .text, .jsonl and .ndjson files,
    recursively). A plain-text report is cleaned of page furniture: title,
    date, source, author and editor lines become metadata; breadcrumbs, share
    and footer lines, echoed captions and pinyin glosses such as 網(wǎng) are
    removed, and what was removed is listed. A report already in the store is
    reported as present. Each file goes in whole or not at all; a bad file is
    named with its reason while the others go in, and the exit status is 1.

    options:
      --raw      keep the text exactly as it is (no cleaning)
      --quiet    do not list what was cleaned
    """
    static let reportExtensions: Set<String> = ["txt", "text"]
    static let exchangeExtensions: Set<String> = ["jsonl", "ndjson"]
    static let maxReportBytes = 10 << 20
    static let maxExchangeBytes = 1 << 30

    var raw: Bool
    var quiet: Bool
    var paths: [String]
    init(_ args: inout Arguments) throws {
        raw = args.flag("--raw")
        quiet = args.flag("--quiet", "-q")
        paths = args.remaining()
        if paths.isEmpty { throw UsageError("missing PATH") }
    }

    func files(_ context: Context) throws -> [String] {
        var out: [String] = []
        let fm = FileManager.default
        for p in paths {
            let path = context.absolute(p)
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: path, isDirectory: &isDir) else { throw MarginError.notFound("\(p): no such file or folder") }
            if !isDir.boolValue { out.append(path); continue }
            var found: [String] = []
            if let e = fm.enumerator(atPath: path) {
                while let rel = e.nextObject() as? String {
                    let name = (rel as NSString).lastPathComponent
                    if name.hasPrefix(".") { if (e.fileAttributes?[.type] as? FileAttributeType) == .typeDirectory { e.skipDescendants() }; continue }
                    let ext = (name as NSString).pathExtension.lowercased()
                    if ImportCommand.reportExtensions.contains(ext) || ImportCommand.exchangeExtensions.contains(ext) {
                        found.append((path as NSString).appendingPathComponent(rel))
                    }
                }
            }
            guard !found.isEmpty else { throw MarginError.notFound("\(p): no importable files (.txt, .text, .jsonl, .ndjson) in this folder") }
            out += found.sorted()
        }
        return out
    }

    func run(_ context: Context) throws -> Int32 {
        let store = try context.store()
        let list = try files(context)
        var failed = 0, added = 0, present = 0
        let progress = context.console.errIsTerminal && list.count > 1
        for (n, path) in list.enumerated() {
            let shown = path.hasPrefix(context.workingDirectory + "/") ? String(path.dropFirst(context.workingDirectory.count + 1)) : path
            if progress { context.console.err("\r\u{1B}[K[\(n + 1)/\(list.count)] \(Format.oneLine(shown, max: 50))") }
            do {
                let data = try Data(contentsOf: URL(fileURLWithPath: path))
                let isExchange = ImportCommand.exchangeExtensions.contains((path as NSString).pathExtension.lowercased())
                let limit = isExchange ? ImportCommand.maxExchangeBytes : ImportCommand.maxReportBytes
                guard data.count <= limit else { throw MarginError.invalid("file is too large (\(data.count >> 20) MB; the limit is \(limit >> 20) MB)") }
                guard !data.isEmpty else { throw MarginError.invalid("file is empty") }
                guard !TextNormalization.looksBinary(data) else { throw MarginError.invalid("file looks binary, not text") }
                guard let text = TextNormalization.decodeUTF8(data) else { throw MarginError.invalid("file is not valid UTF-8 text") }
                if progress { context.console.err("\r\u{1B}[K") }
                if isExchange {
                    let c = try store.importJSONLines(text)
                    context.print("\(shown): \(c.records) records, \(c.annotations) annotations, \(c.codes) codes imported; \(c.unchanged) already present")
                    added += c.records
                    continue
                }
                guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { throw MarginError.invalid("file holds only white space") }
                let cleaned = ReportCleaner.clean(text, raw: raw)
                guard !cleaned.draft.body.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                    throw MarginError.invalid("no report text left after removing page furniture (try --raw)")
                }
                let result = try store.importReport(cleaned.draft)
                let title = cleaned.draft.title.map { Format.oneLine($0, max: 40) } ?? "(untitled)"
                if result.alreadyPresent {
                    present += 1
                    context.print("\(shown): already present as \(Format.id(result.id)) \(title)")
                } else {
                    added += 1
                    context.print("\(shown): imported \(Format.id(result.id)) \(title)")
                    if !quiet { for line in cleaned.cleaned { context.print("    \(Format.oneLine(line, max: 70))") } }
                }
            } catch {
                if progress { context.console.err("\r\u{1B}[K") }
                failed += 1
                context.warn("margin import: \(shown): \(MarginError.message(for: error))")
            }
        }
        if list.count > 1 {
            context.print("\(added) imported, \(present) already present, \(failed) failed")
        }
        return failed > 0 ? ExitCode.failure : ExitCode.success
    }
}
