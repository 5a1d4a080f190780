@testable import MarginCLI
import XCTest

final class HelpTests: CLITestCase {
    func testEveryCommandHasHelp() {
        for c in Margin.commands {
            let r = margin(c.name, "--help")
            XCTAssertEqual(r.code, 0, c.name)
            XCTAssertTrue(r.out.hasPrefix("usage: margin \(c.name)"), "\(c.name): \(r.out.prefix(40))")
            XCTAssertTrue(r.err.isEmpty)
        }
        XCTAssertEqual(margin("--help").code, 0)
        XCTAssertTrue(margin("--help").out.contains("annotate"))
        XCTAssertEqual(margin("help", "annotate").code, 0)
    }

    func testUsageErrorsExit64() {
        XCTAssertEqual(margin().code, 64)
        XCTAssertEqual(margin("frobnicate").code, 64)
        XCTAssertEqual(margin("--bogus").code, 64)
        let r = margin("annotate", "abc", "--quote", "x")
        XCTAssertEqual(r.code, 64)
        XCTAssertTrue(r.err.contains("missing --code"), r.err)
        XCTAssertTrue(r.err.contains("usage: margin annotate"), r.err)
        XCTAssertEqual(margin("list", "--status", "maybe").code, 64)
        XCTAssertEqual(margin("list", "--frob").code, 64)
        XCTAssertEqual(margin("annotate", "r", "--code", "c", "--range", "5-9").code, 64)
        XCTAssertEqual(margin("review", "abc").code, 64)
        XCTAssertEqual(margin("review", "abc", "--accept", "--reject").code, 64)
        XCTAssertEqual(margin("show").code, 64)
        XCTAssertEqual(margin("log", "-n", "many").code, 64)
        XCTAssertEqual(margin("resolve", "abc", "--keep", "both").code, 64)
    }

    func testNoStoreIsAFailureNotAUsageError() {
        let r = margin("list")
        XCTAssertEqual(r.code, 1)
        XCTAssertTrue(r.err.contains("no Margin store"), r.err)
        XCTAssertEqual(r.err.split(separator: "\n").count, 1)
    }
}
