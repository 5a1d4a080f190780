import Foundation
@testable import MarginCLI
import XCTest

/// Local times as `log` and `conflicts` show them, through the C library,
/// held against Foundation's DateFormatter in the same zone.
final class TimeDisplayTests: XCTestCase {
    func testLocalTimesAgreeWithFoundation() {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone.current
        f.dateFormat = "yyyy-MM-dd HH:mm:ss"
        var state: UInt64 = 0x7157
        for n in 0..<5_000 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let ms = n == 0 ? 0 : Int64(state >> 24) % 4_000_000_000_000
            XCTAssertEqual(Format.time(ms), f.string(from: Date(timeIntervalSince1970: Double(ms / 1000))), "\(ms)")
        }
    }
}
