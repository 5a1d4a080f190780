import Foundation
import MarginCore
import MarginTestSupport
import XCTest

/// Issue 26 through the real `margin` binary: `import --explain`, reposts
/// named and listed, `reclean` and `check`, `suggest --durations`.
final class ImportIdentityCLITests: CLITestCase {
    static let report = SamplePage.qinan

    func write(_ text: String, _ name: String) throws -> String {
        let path = dir.appendingPathComponent(name).path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func testExplainShowsEachLinesRoleAndWritesNothing() throws {
        XCTAssertEqual(try binary(["init", "--name", "ana"], in: cwd).code, 0)
        let file = try write(Self.report, "qinan.txt")
        let r = try binary(["import", "--explain", file], in: cwd)
        XCTAssertEqual(r.code, 0, r.err)
        let lines = r.out.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        XCTAssertTrue(lines.contains { $0.hasPrefix("1  furniture") && $0.contains("主办") }, r.out)
        XCTAssertTrue(lines.contains { $0.hasPrefix("2  title") }, r.out)
        XCTAssertTrue(lines.contains { $0.hasPrefix("3  metadata") && $0.contains("source 天水日报") }, r.out)
        XCTAssertTrue(lines.contains { $0.hasPrefix("9  furniture") && $0.contains("disclaimer") }, r.out)
        XCTAssertTrue(r.out.contains("  place: 秦安县"), r.out)
        XCTAssertTrue(r.out.contains("record id: \(Store.recordID(received: Self.report).prefix(10))"), r.out)
        XCTAssertTrue(try binary(["list"], in: cwd).err.contains("no records"), "--explain imports nothing")
        XCTAssertEqual(try binary(["import", "--explain", dir.appendingPathComponent("absent.txt").path], in: cwd).code, 1)
        let folder = try binary(["import", "--explain", dir.path], in: cwd)
        XCTAssertEqual(folder.code, 1)
        XCTAssertTrue(folder.err.contains("a folder: --explain takes report files"), folder.err)
    }

    func testARepostIsNamedOnImportAndListedAsADuplicate() throws {
        XCTAssertEqual(try binary(["init", "--name", "ana"], in: cwd).code, 0)
        let first = try binary(["import", try write(Self.report, "a.txt")], in: cwd)
        let repost = Self.report.replacingOccurrences(of: "来源:天水日报", with: "来源:甘肃新闻网\n分享:")
        let second = try binary(["import", try write(repost, "b.txt")], in: cwd)
        XCTAssertEqual(second.code, 0, second.err)
        let a = try XCTUnwrap(firstID(first.out, after: "imported ")), b = try XCTUnwrap(firstID(second.out, after: "imported "))
        XCTAssertNotEqual(a, b, "a repost is its own record")
        XCTAssertTrue(second.out.contains("the same text as record \(a)"), second.out)
        let list = try binary(["list", "--duplicates"], in: cwd)
        XCTAssertTrue(list.out.contains("same text, 2 records:") && list.out.contains(a) && list.out.contains(b), list.out)
        let json = try binary(["list", "--duplicates", "--json"], in: cwd)
        let set = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(json.out.utf8)) as? [String: Any])
        XCTAssertEqual((set["records"] as? [[String: Any]])?.count, 2)
        XCTAssertEqual(try binary(["list", "--duplicates", "--code", "x"], in: cwd).code, 64)
        // The same file again, with other line ends, is the same record.
        let crlf = try binary(["import", try write(Self.report.replacingOccurrences(of: "\n", with: "\r\n"), "c.txt")], in: cwd)
        XCTAssertTrue(crlf.out.contains("already present as \(a)"), crlf.out)
    }

    func testRecleanPlacesSpansListsOrphansAndCheckSaysSo() throws {
        XCTAssertEqual(try binary(["init", "--name", "ana"], in: cwd).code, 0)
        // A record as an older cleaner left it (disclaimer kept), in JSON Lines with its received text.
        let received = Store.received(Self.report)
        let body = received.split(separator: "\n").dropFirst(1).filter { !$0.isEmpty && !$0.hasPrefix("来源") }.joined(separator: "\n\n")
        let id = Store.recordID(received: received)
        let line = try JSONSerialization.data(withJSONObject: ["type": "record", "id": id, "body": body, "received": received, "title": "长城新媒体集团  主办"])
        let jsonl = dir.appendingPathComponent("old.jsonl").path
        try (String(decoding: line, as: UTF8.self) + "\n").write(toFile: jsonl, atomically: true, encoding: .utf8)
        XCTAssertEqual(try binary(["import", jsonl], in: cwd).code, 0)
        // The file itself is that record, cleaned otherwise by this release: the import says so.
        let same = try binary(["import", try write(Self.report, "qinan.txt")], in: cwd)
        XCTAssertTrue(same.out.contains("already present as \(id.prefix(10))") && same.out.contains("another cleaning"), same.out)
        XCTAssertEqual(try binary(["codes", "add", "teams"], in: cwd).code, 0)
        let kept = try binary(["annotate", id, "--code", "teams", "--quote", "16支", "--value", "16"], in: cwd)
        let orphan = try binary(["annotate", id, "--code", "teams", "--quote", "版权均属本网所有"], in: cwd)
        let keptID = try XCTUnwrap(firstID(kept.out, after: "annotated ")), orphanID = try XCTUnwrap(firstID(orphan.out, after: "annotated "))
        XCTAssertEqual(try binary(["check"], in: cwd).code, 0)

        let r = try binary(["reclean", "--all"], in: cwd)
        XCTAssertEqual(r.code, 1, "an orphan is a finding: " + r.out + r.err)
        XCTAssertTrue(r.out.contains("cleaned again") && r.out.contains("1 annotation placed anew"), r.out)
        XCTAssertTrue(r.out.contains("orphaned \(orphanID)"), r.out)
        let show = try binary(["show", id, "--json"], in: cwd)
        let shown = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(show.out.utf8)) as? [String: Any])
        let record = (shown["record"] as? [String: Any]) ?? shown
        let newBody = try XCTUnwrap(record["body"] as? String, show.out)
        XCTAssertFalse(newBody.contains("网站声明"), "the disclaimer left the body")
        XCTAssertTrue(newBody.hasPrefix("疫情发生以来"), "the headline left the body")
        XCTAssertTrue(try binary(["list", "-a"], in: cwd).out.contains(keptID))
        let check = try binary(["check"], in: cwd)
        XCTAssertEqual(check.code, 1)
        XCTAssertTrue(check.err.contains("not anchored") && check.err.contains("margin reclean"), check.err)
        let checkJSON = try binary(["check", "--json"], in: cwd)
        XCTAssertEqual(checkJSON.code, 1)
        let verdict = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(checkJSON.out.utf8)) as? [String: Any], checkJSON.out)
        XCTAssertEqual(verdict["ok"] as? Bool, false)
        XCTAssertTrue((verdict["problem"] as? String)?.contains("not anchored") == true)
        let shownOrphan = try binary(["show", id], in: cwd)
        XCTAssertTrue(shownOrphan.out.contains("not anchored in this text"), shownOrphan.out)
        // Exports leave out what is not anchored, and say so: its offsets would point at other text.
        let csv = try binary(["export", "--format", "csv"], in: cwd)
        XCTAssertTrue(csv.err.contains("1 annotation is not anchored"), csv.err)
        XCTAssertTrue(csv.out.contains("16支") && !csv.out.contains("版权均属本网所有"), csv.out)
        XCTAssertEqual(try binary(["delete", orphanID], in: cwd).code, 0)
        XCTAssertEqual(try binary(["check"], in: cwd).code, 0)
        let again = try binary(["reclean", id], in: cwd)
        XCTAssertEqual(again.code, 0, again.err)
        XCTAssertTrue(again.out.contains("unchanged"), again.out)
        // The JSON Lines export streams: to a file it is what standard output
        // gets, written whole (no temporary file left), with the text as received.
        let out = try binary(["export"], in: cwd)
        let file = dir.appendingPathComponent("all.jsonl")
        let written = try binary(["export", "-o", file.path], in: cwd)
        XCTAssertEqual(written.code, 0, written.err)
        XCTAssertEqual(try String(contentsOf: file, encoding: .utf8), out.out)
        XCTAssertTrue(out.out.contains("\"received\""))
        XCTAssertFalse(try FileManager.default.contentsOfDirectory(atPath: dir.path).contains { $0.contains(".margin-export-") })
        XCTAssertEqual(try binary(["reclean"], in: cwd).code, 64)
        XCTAssertEqual(try binary(["reclean", "--all", id], in: cwd).code, 64)
        XCTAssertEqual(try binary(["reclean", "ffff"], in: cwd).code, 1)
    }

    func testSuggestProposesDurationsOnlyWhenAsked() throws {
        XCTAssertEqual(try binary(["init", "--name", "ana"], in: cwd).code, 0)
        let file = try write("十家堡镇防疫纪实\n\n十家堡镇组织近万名党员,连续值守24小时。", "d.txt")
        XCTAssertEqual(try binary(["import", file], in: cwd).code, 0)
        let plain = try binary(["suggest", "--all", "--dry-run"], in: cwd)
        XCTAssertTrue(plain.out.contains("\"近万名\"  value=10000  (approximate: nearly)"), plain.out)
        XCTAssertFalse(plain.out.contains("24小时"))
        XCTAssertFalse(plain.out.contains("十家"), "a numeral inside a place name is not a figure")
        let all = try binary(["suggest", "--all", "--durations", "--dry-run"], in: cwd)
        XCTAssertTrue(all.out.contains("\"24小时\"  value=24  (duration)"), all.out)
    }
}
