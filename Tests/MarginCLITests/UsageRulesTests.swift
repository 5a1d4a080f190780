import Foundation
@testable import MarginCLI
import MarginCore
import XCTest

/// Issue "No silent loss", 5, and option bounds: every usage error exits 64
/// with one line naming it and changes nothing; every failure exits 1.
final class UsageRulesTests: OneReportTestCase {

    func expectUsage(_ args: [String], mentions: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let before = try storeState()
        let r = marginArgs(args)
        XCTAssertEqual(r.code, 64, "\(args): \(r.err)", file: file, line: line)
        XCTAssertTrue(r.err.contains(mentions), "\(args): \(r.err)", file: file, line: line)
        XCTAssertTrue(r.err.hasPrefix("margin "), r.err, file: file, line: line)
        XCTAssertEqual(try storeState().changes, before.changes, "store changed by \(args)", file: file, line: line)
    }

    func testUsageErrorsExit64AndChangeNothing() throws {
        try expectUsage(["annotate", record, "--code", "party-members", "--range", "5..3"], mentions: "backwards")
        try expectUsage(["annotate", record, "--code", "party-members", "--range", "-1..3"], mentions: "START..END")
        try expectUsage(["note", record, ""], mentions: "the note is empty")
        try expectUsage(["note", record, "   "], mentions: "the note is empty")
        try expectUsage(["tag", record, "party-members", "--note", ""], mentions: "the note is empty")
        try expectUsage(["list", "-n", "-1"], mentions: "-n must be at least 0")
        try expectUsage(["search", "黨員", "-n", "-1"], mentions: "-n must be at least 0")
        try expectUsage(["log", "-n", "-1"], mentions: "-n must be at least 0")
        try expectUsage(["tag", record, "party-members", "--value", "--note", "x"], mentions: "--value needs a value")
        try expectUsage(["annotate", record, "--code", "party-members", "--quote", "网格员", "--occurrence", "0"], mentions: "at least 1")
        try expectUsage(["sync", "127.0.0.1:1", "--max-future", "1e300"], mentions: "--max-future")
        try expectUsage(["sync", "127.0.0.1:1", "--max-future", "nan"], mentions: "--max-future")
        try expectUsage(["sync", "127.0.0.1:1", "--max-future", "-5"], mentions: "--max-future")
        try expectUsage(["serve", "--idle-timeout", "inf"], mentions: "--idle-timeout")
        try expectUsage(["serve", "--max-sessions", "0"], mentions: "--max-sessions")
        try expectUsage(["export", "--log"], mentions: "give -o FILE")
    }

    func testAnOptionValueStartingWithDashesIsGivenWithAnEqualsSign() throws {
        let r = margin("tag", record, "party-members", "--value=--note")
        XCTAssertEqual(r.code, 0, r.err)
        let listed = margin("list", "--annotations", "--json")
        XCTAssertTrue(listed.out.contains("\"value\":\"--note\""), listed.out)
    }

    func testPublishedTakesTheImportersDateFormatsAndNothingElse() throws {
        let before = try storeState()
        let bad = margin("edit", record, "--published", "next tuesday")
        XCTAssertEqual(bad.code, 1, bad.err)
        XCTAssertTrue(bad.err.contains("not a date"), bad.err)
        XCTAssertEqual(try storeState().changes, before.changes)
        for (given, stored) in [("2022年9月23日", "2022-09-23"), ("2022/09/23 14:54", "2022-09-23T14:54"), ("2020-02-01", "2020-02-01")] {
            XCTAssertEqual(margin("edit", record, "--published", given).code, 0)
            let shown = margin("show", record, "--json").out
            XCTAssertTrue(shown.contains("\"published\":\"\(stored)\""), "\(given): \(shown)")
        }
    }

    func testInitHonoursMARGIN_STOREAndRefusesAFileInTheWay() throws {
        let elsewhere = dir.appendingPathComponent("elsewhere").path
        let r = margin("init", "--name", "x", in: dir.path, env: ["MARGIN_STORE": elsewhere])
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertTrue(FileManager.default.fileExists(atPath: elsewhere + "/" + Store.fileName))
        XCTAssertEqual(margin("status", env: ["MARGIN_STORE": elsewhere]).out.contains("x ("), true)

        let file = dir.appendingPathComponent("a-file").path
        try Data("not a folder".utf8).write(to: URL(fileURLWithPath: file))
        let f = margin("--store", file, "init")
        XCTAssertEqual(f.code, 1)
        XCTAssertTrue(f.err.contains("is a file, not a folder"), f.err)
        XCTAssertEqual(f.err.split(separator: "\n").count, 1, f.err)

        let again = margin("init", env: ["MARGIN_STORE": elsewhere])
        XCTAssertEqual(again.code, 1)
        XCTAssertTrue(again.err.contains("already exists"), again.err)
    }

    func testTheAuthorIsTheLoginNameWithoutName() throws {
        let other = dir.appendingPathComponent("other").path
        let r = margin("init", "--store", other, env: ["USER": "", "LOGNAME": ""])
        XCTAssertEqual(r.code, 0, r.err)
        let expected = String(cString: getpwuid(getuid()).pointee.pw_name)
        XCTAssertTrue(r.out.contains("(\(expected))"), r.out)
        XCTAssertEqual(margin("init", "--store", dir.appendingPathComponent("third").path, env: ["USER": "carol"]).out.contains("(carol)"), true)
    }

    /// `conflicts show` used to cut both values at about 40 columns.
    func testConflictsShowGivesBothValuesInFull() throws {
        let long1 = String(repeating: "第一位編碼員認為這個數字指的是黨員總數,", count: 4)
        let long2 = String(repeating: "第二位編碼員認為這個數字只包括臨時黨支部的黨員,", count: 4)
        let ann = margin("annotate", record, "--code", "party-members", "--quote", "网格员", "--occurrence", "1")
        XCTAssertEqual(ann.code, 0, ann.err)
        let aid = try XCTUnwrap(firstID(ann.out, after: "annotated"))
        // A second store of the same coder (her other laptop), with the same
        // history, edited concurrently.
        let bob = dir.appendingPathComponent("bob").path
        XCTAssertEqual(margin("init", "--store", bob, "--name", "t", "--from", dir.appendingPathComponent(".margin").path).code, 0)
        XCTAssertEqual(margin("edit", aid, "--note", long1).code, 0)
        XCTAssertEqual(margin("--store", bob, "edit", aid, "--note", long2).code, 0)
        let bundle = dir.appendingPathComponent("bob.bundle").path
        XCTAssertEqual(margin("--store", bob, "export", "--log", "-o", bundle).code, 0)
        let imported = margin("import", bundle)
        XCTAssertEqual(imported.code, 0, imported.err)
        let list = margin("conflicts")
        let conflict = try XCTUnwrap(list.out.split(separator: " ").first.map(String.init), list.err)
        let shown = margin("conflicts", "show", conflict)
        XCTAssertTrue(shown.out.contains(long1), shown.out)
        XCTAssertTrue(shown.out.contains(long2), shown.out)
        XCTAssertTrue(shown.out.contains("网格员"), "the span is shown: \(shown.out)")
    }

    /// `conflicts -n N` is the first N lines of `conflicts`, newest first,
    /// read in SQL (issue 28: the first page of a long list reads no other).
    func testConflictsTakesTheNewestNOnly() throws {
        let ann = margin("annotate", record, "--code", "party-members", "--quote", "网格员", "--occurrence", "1")
        XCTAssertEqual(ann.code, 0, ann.err)
        let aid = try XCTUnwrap(firstID(ann.out, after: "annotated"))
        let other = dir.appendingPathComponent("other").path
        XCTAssertEqual(margin("init", "--store", other, "--name", "t", "--from", dir.appendingPathComponent(".margin").path).code, 0)
        XCTAssertEqual(margin("edit", aid, "--note", "here").code, 0)
        XCTAssertEqual(margin("--store", other, "edit", aid, "--note", "there").code, 0)
        XCTAssertEqual(margin("edit", aid, "--value", "1").code, 0)
        XCTAssertEqual(margin("--store", other, "edit", aid, "--value", "2").code, 0)
        let bundle = dir.appendingPathComponent("other.bundle").path
        XCTAssertEqual(margin("--store", other, "export", "--log", "-o", bundle).code, 0)
        XCTAssertEqual(margin("import", bundle).code, 0)
        let all = margin("conflicts").out.split(separator: "\n")
        XCTAssertEqual(all.count, 2, "two conflicts: the note and the value")
        let first = margin("conflicts", "-n", "1")
        XCTAssertEqual(first.code, 0, first.err)
        XCTAssertEqual(first.out.split(separator: "\n"), Array(all.prefix(1)))
        XCTAssertEqual(margin("conflicts", "--limit", "2", "--json").out.split(separator: "\n").count, 2)
        let none = margin("conflicts", "-n", "0")
        XCTAssertEqual(none.code, 0)
        XCTAssertEqual(none.out, "")
        XCTAssertEqual(margin("conflicts", "-n", "x").code, 64, "a count that is not a number is a usage error")
    }
}
