import Foundation
@testable import MarginCore
import MarginTestSupport
import XCTest

/// ISO 8601 times written by integer arithmetic, held against Foundation's
/// formatter (a second, independent computation) on seeded random instants
/// across four centuries, leap days and the epoch's edges; and read back.
final class TimeFormatTests: XCTestCase {
    func foundation(_ ms: Int64) -> String {
        let seconds = ms >= 0 ? ms / 1000 : (ms - 999) / 1000
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        let whole = f.string(from: Date(timeIntervalSince1970: Double(seconds)))
        let fraction = String(ms - seconds * 1000)
        return String(whole.dropLast()) + "." + String(repeating: "0", count: 3 - fraction.count) + fraction + "Z"
    }

    func testTheArithmeticAgreesWithFoundation() {
        var fixed: [Int64] = [0, 1, 999, 1000, -1, -1000, -1001, 951_782_400_000 /* 2000-02-29 */, 4_107_542_400_000 /* 2100-03-01 */,
                              1_700_000_000_123, -2_208_988_800_000 /* 1900-01-01 */, 253_402_300_799_999 /* 9999-12-31T23:59:59.999 */]
        var rng = SplitMix64(seed: 0x150)
        for _ in 0..<20_000 { fixed.append(Int64(rng.next() % 12_000_000_000_000) - 2_000_000_000_000) }
        for ms in fixed {
            XCTAssertEqual(ISOTime.format(ms), foundation(ms), "\(ms)")
            XCTAssertEqual(ISOTime.parse(ISOTime.format(ms)), ms, "\(ms) reads back")
        }
    }
}
