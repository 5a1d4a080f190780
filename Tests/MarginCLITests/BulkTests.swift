import Foundation
@testable import MarginCLI
import MarginCore
import XCTest

/// Work in bulk, and undo: each names what it will do, asks, and writes
/// everything or nothing.
final class BulkTests: CLITestCase {
    var record = "", other = ""

    override func setUpWithError() throws {
        try super.setUpWithError()
        XCTAssertEqual(margin("init", "--name", "alice").code, 0)
        XCTAssertEqual(margin("codes", "import", CLITestCase.samples.appendingPathComponent("codebook.tsv").path).code, 0)
        record = try XCTUnwrap(firstID(margin("import", CLITestCase.samples.appendingPathComponent("reports/03-tongren-grid.txt").path).out, after: "imported"))
        other = try XCTUnwrap(firstID(margin("import", CLITestCase.samples.appendingPathComponent("reports/04-jianzha-property.txt").path).out, after: "imported"))
        for (quote, value) in [("1055名网格员", "1055"), ("119名网格员", "119")] {
            XCTAssertEqual(margin("annotate", record, "--code", "cadres", "--quote", quote, "--value", value).code, 0)
        }
        XCTAssertEqual(margin("annotate", other, "--code", "cadres", "--quote", "23个住宅小区", "--value", "23").code, 0)
    }

    func annotations(_ args: String...) throws -> [[String: Any]] {
        margin(["list", "--annotations", "--json"] + args).out.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    func margin(_ args: [String], input: [String] = []) -> CLIResult { marginArgs(args, input: input) }

    func testBulkReviewAsksThenWritesAllAtOnce() throws {
        let declined = margin(["review", "--accept", "--code", "cadres", "--record", record], input: ["n"])
        XCTAssertTrue(declined.out.contains("accept 2 annotations? [y/N] n"), declined.out)
        XCTAssertTrue(declined.out.contains("nothing reviewed"))
        let noAnswer = margin(["review", "--accept", "--code", "cadres"])
        XCTAssertEqual(noAnswer.code, 1)
        XCTAssertTrue(noAnswer.err.contains("add --yes"), noAnswer.err)
        XCTAssertEqual(try annotations("--status", "accepted").count, 0)
        let r = margin(["review", "--accept", "--code", "cadres", "--record", record, "--comment", "checked"], input: ["y"])
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertEqual(try annotations("--status", "accepted").count, 2)
        XCTAssertEqual(margin(["review", "--reject", "--author", "alice", "--yes"]).code, 0)
        XCTAssertEqual(try annotations("--status", "rejected").count, 3)
        XCTAssertEqual(margin(["review", "--accept"]).code, 64, "an annotation or filters")
    }

    func testRecodeMovesTheSelectionAndUndoBringsItBack() throws {
        let r = margin(["recode", "--from", "cadres", "--to", "volunteers", "--record", record, "--yes"])
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertTrue(r.out.contains("recoded 2 annotations"), r.out)
        XCTAssertEqual(try annotations("--code", "volunteers").count, 2)
        XCTAssertEqual(try annotations("--code", "cadres").count, 1, "the other record's is not selected")
        XCTAssertEqual(margin(["undo", "--last"]).code, 0)
        XCTAssertEqual(try annotations("--code", "cadres").count, 3)
        XCTAssertEqual(margin(["redo"]).code, 0, "redo redoes (a second undo would go further back)")
        XCTAssertEqual(try annotations("--code", "volunteers").count, 2)
        XCTAssertEqual(margin(["recode", "--from", "cadres"]).code, 64)
    }

    func testDeletingARecordTakesItsAnnotationsAndUndoRestoresThem() throws {
        let d = margin(["delete", record], input: ["y"])
        XCTAssertEqual(d.code, 0, d.err)
        XCTAssertTrue(d.out.contains("and its 2 annotations? [y/N] y"), d.out)
        XCTAssertTrue(d.out.contains("deleted record"), d.out)
        XCTAssertFalse(margin(["list"]).out.contains(record))
        XCTAssertEqual(try annotations().count, 1)
        XCTAssertEqual(margin(["show", record]).code, 1)
        let u = margin(["undo", "--last"])
        XCTAssertEqual(u.code, 0, u.err)
        XCTAssertTrue(margin(["list"]).out.contains(record))
        XCTAssertEqual(try annotations().count, 3, "the record and both its annotations are back")
        XCTAssertTrue(margin(["check"]).out.contains("consistent"))
    }

    func testUndoOfOneChangeAndRefusalWhenChangedSince() throws {
        let a = try XCTUnwrap(try annotations().first { ($0["record"] as? String)?.hasPrefix(record) == true }?["id"] as? String)
        XCTAssertEqual(margin(["edit", a, "--value", "1000"]).code, 0)
        XCTAssertEqual(margin(["edit", a, "--value", "1001"]).code, 0)
        let log = margin(["log", "-n", "2"]).out.split(separator: "\n").map(String.init)
        // The older edit (1000), as the log names it: date, time, ORIGIN:SEQ, …
        let older = try XCTUnwrap(log.last?.split(separator: " ").dropFirst(2).first).description
        let refused = margin(["undo", older])
        XCTAssertEqual(refused.code, 1)
        XCTAssertTrue(refused.err.contains("was changed since"), refused.err)
        let newer = try XCTUnwrap(log.first?.split(separator: " ").dropFirst(2).first).description
        XCTAssertEqual(margin(["undo", newer]).code, 0)
        XCTAssertEqual(try annotations().first { $0["id"] as? String == a }?["value"] as? String, "1000")
        XCTAssertEqual(margin(["undo", "nothing:1"]).code, 1)
        XCTAssertEqual(margin(["undo"]).code, 64)
    }
}
