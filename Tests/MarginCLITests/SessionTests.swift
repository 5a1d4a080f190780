import Foundation
@testable import MarginCLI
import MarginCore
import XCTest

/// A researcher's session, in-process: every command the CLI offers, on the samples.
final class SessionTests: CLITestCase {
    func testFullSession() throws {
        XCTAssertEqual(margin("init", "--name", "alice").code, 0)
        XCTAssertEqual(margin("init").code, 1, "a second init refuses to overwrite")
        XCTAssertEqual(margin("codes", "import", CLITestCase.samples.appendingPathComponent("codebook.tsv").path).code, 0)
        let imp = margin("import", CLITestCase.samples.appendingPathComponent("reports").path)
        XCTAssertEqual(imp.code, 0, imp.err)
        XCTAssertTrue(imp.out.contains("4 imported"), imp.out)
        XCTAssertTrue(imp.out.contains("removed 9 pinyin glosses"), imp.out)
        let again = margin("import", CLITestCase.samples.appendingPathComponent("reports/01-maduo-checkpoints.txt").path)
        XCTAssertEqual(again.code, 0)
        XCTAssertTrue(again.out.contains("already present"), again.out)

        let list = margin("list", "--json")
        let records = list.out.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        XCTAssertEqual(records.count, 4)
        let maduo = try XCTUnwrap(records.first { ($0["title"] as? String)?.hasPrefix("瑪多縣") == true }?["id"] as? String)
        let tongren = try XCTUnwrap(records.first { ($0["title"] as? String)?.hasPrefix("同仁县") == true }?["id"] as? String)
        let short = String(maduo.prefix(7))

        // Annotate by quote, in the other script: the stored quote is the body's.
        let ann = margin("annotate", short, "--code", "party-members", "--quote", "38名党员干部", "--value", "38")
        XCTAssertEqual(ann.code, 0, ann.err)
        XCTAssertTrue(ann.out.contains("\"38名黨員幹部\""), ann.out)
        let aid = try XCTUnwrap(firstID(ann.out, after: "annotated"))
        // An ambiguous quote lists its occurrences and changes nothing.
        let before = try storeState()
        let amb = margin("annotate", short, "--code", "cadres", "--quote", "黨員")
        XCTAssertEqual(amb.code, 1)
        XCTAssertTrue(amb.err.contains("occurs"), amb.err)
        XCTAssertTrue(amb.err.contains("--occurrence"), amb.err)
        // One line for the error, then one per occurrence, each numbered:
        // line breaks shown as breaks, not as `\u{A}`.
        XCTAssertFalse(amb.err.contains("\\u{A}"), amb.err)
        let listed = amb.err.split(separator: "\n").filter { $0.hasPrefix("  ") }
        XCTAssertGreaterThan(listed.count, 1, amb.err)
        XCTAssertTrue(listed.first?.hasPrefix("  1: ") ?? false, amb.err)
        XCTAssertEqual(try storeState().changes, before.changes)
        XCTAssertEqual(margin("annotate", short, "--code", "cadres", "--quote", "黨員", "--occurrence", "2").code, 0)
        XCTAssertEqual(margin("annotate", short, "--code", "temporary-branch", "--range", "48..52", "--note", "by range").code, 0)
        XCTAssertEqual(margin("tag", String(tongren.prefix(8)), "grid-management", "--value", "156").code, 0)
        XCTAssertEqual(margin("note", short, "check", "the", "altitude", "figure").code, 0)

        // Edit, review.
        XCTAssertEqual(margin("edit", aid, "--note", "figure from paragraph 5").code, 0)
        XCTAssertEqual(margin("edit", aid, "--code", "cadres").code, 0)
        XCTAssertEqual(margin("review", aid, "--accept", "--comment", "matches the source").code, 0)
        XCTAssertEqual(margin("edit", short, "--place", "果洛州瑪多縣", "--set", "coder=alice").code, 0)

        let shown = margin("show", short)
        XCTAssertEqual(shown.code, 0)
        XCTAssertTrue(shown.out.contains("⟦38名黨員幹部⟧{cadres}"), "piped output uses plain markers")
        XCTAssertTrue(shown.out.contains("果洛州瑪多縣"))
        XCTAssertTrue(shown.out.contains("coder"))
        XCTAssertTrue(shown.out.contains("[accepted]"))
        XCTAssertFalse(shown.out.contains("\u{1B}["), "no colour when piped")

        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(margin("show", short, "--json").out.utf8)) as? [String: Any])
        let anns = try XCTUnwrap(json["annotations"] as? [[String: Any]])
        XCTAssertEqual(anns.count, 4)
        let coded = try XCTUnwrap(anns.first { $0["id"] as? String == (try? Store(directory: cwd + "/.margin").resolve(aid, kind: .annotation)) })
        XCTAssertEqual(coded["status"] as? String, "accepted")
        XCTAssertEqual(coded["comment"] as? String, "matches the source")
        XCTAssertEqual(coded["value"] as? String, "38")

        // Filters.
        XCTAssertEqual(margin("list", "--code", "mobilisation", "--json").out.split(separator: "\n").count, 1, "a parent code covers its children")
        XCTAssertEqual(margin("list", "--status", "accepted", "--json").out.split(separator: "\n").count, 1)
        XCTAssertEqual(margin("list", "--annotations", "--status", "open", "--json").out.split(separator: "\n").count, 4)
        XCTAssertEqual(margin("list", "--text", "网格员", "--json").out.split(separator: "\n").count, 1)

        // Search across scripts, both ways.
        let s1 = margin("search", "黨支部")
        let s2 = margin("search", "党支部")
        XCTAssertEqual(s1.out, s2.out)
        XCTAssertTrue(s1.out.contains(String(maduo.prefix(10))))
        XCTAssertEqual(margin("search", "党", "--json").out.split(separator: "\n").count, 4)

        // Codebook operations.
        XCTAssertEqual(margin("codes", "rename", "cadres", "officials").code, 0)
        XCTAssertTrue(margin("show", short).out.contains("{officials}"), "a rename touches no annotation but shows everywhere")
        XCTAssertEqual(margin("codes", "merge", "officials", "party-members").code, 0)
        let tree = margin("codes", "list")
        XCTAssertTrue(tree.out.contains("  party-members"), tree.out)
        XCTAssertFalse(tree.out.contains("officials"))

        XCTAssertEqual(margin("delete", aid).code, 0)
        XCTAssertEqual(margin("edit", aid, "--note", "x").code, 1, "a deleted annotation is gone")

        let status = margin("status", "--json")
        let st = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(status.out.utf8)) as? [String: Any])
        XCTAssertEqual(st["records"] as? Int, 4)
        XCTAssertEqual(st["annotations"] as? Int, 4)
        let log = margin("log", "-n", "3", "--json")
        XCTAssertEqual(log.out.split(separator: "\n").count, 3)
        XCTAssertTrue(log.out.contains("\"field\":\"deleted\""), "newest first")

        // Export, then import into a fresh store: the same state.
        let export = margin("export")
        XCTAssertEqual(export.code, 0)
        let file = dir.appendingPathComponent("export.jsonl")
        try Data(export.out.utf8).write(to: file)
        let fresh = dir.appendingPathComponent("fresh").path
        try FileManager.default.createDirectory(atPath: fresh, withIntermediateDirectories: true)
        XCTAssertEqual(margin("init", "--name", "bob", in: fresh).code, 0)
        let imported = margin("import", file.path, in: fresh)
        XCTAssertEqual(imported.code, 0, imported.err)
        XCTAssertEqual(margin("digest", in: fresh).out, margin("digest").out)
        // The same objects; the stamps name the fresh store's own changes,
        // with the readings the export carried.
        func unstamped(_ text: String) throws -> [JSONValue] {
            try text.split(separator: "\n").map { line -> JSONValue in
                guard var o = try JSONValue.parse(String(line)).object else { return .null }
                o["stamps"] = nil
                return .object(o)
            }
        }
        XCTAssertEqual(try unstamped(margin("export", in: fresh).out), try unstamped(export.out))
    }

    func testColourOnATerminalUnlessNoColor() throws {
        XCTAssertEqual(margin("init").code, 0)
        XCTAssertEqual(margin("codes", "add", "members", "--colour", "red").code, 0)
        XCTAssertEqual(margin("codes", "add", "teams", "--colour", "#00ff80").code, 0)
        let r = margin("import", CLITestCase.samples.appendingPathComponent("reports/01-maduo-checkpoints.txt").path)
        let id = try XCTUnwrap(firstID(r.out, after: "imported"))
        XCTAssertEqual(margin("annotate", id, "--code", "members", "--quote", "38名黨員幹部").code, 0)
        XCTAssertEqual(margin("annotate", id, "--code", "teams", "--quote", "黨員突擊隊9支").code, 0)
        let coloured = marginArgs(["show", id], terminal: true)
        XCTAssertTrue(coloured.out.contains("\u{1B}[4;31m38名黨員幹部\u{1B}[0m"), "named colour")
        XCTAssertTrue(coloured.out.contains("\u{1B}[4;38;2;0;255;128m黨員突擊隊9支"), "#rrggbb colour")
        XCTAssertFalse(coloured.out.contains("⟦"))
        let plain = marginArgs(["show", id], env: ["NO_COLOR": "1"], terminal: true)
        XCTAssertFalse(plain.out.contains("\u{1B}["), "NO_COLOR turns colour off")
        XCTAssertTrue(plain.out.contains("⟦38名黨員幹部⟧{members}"))
    }

    func testStoreDiscoveryAndOverrides() throws {
        XCTAssertEqual(margin("init", "--name", "n").code, 0)
        let sub = dir.appendingPathComponent("a/b").path
        try FileManager.default.createDirectory(atPath: sub, withIntermediateDirectories: true)
        XCTAssertEqual(margin("status", in: sub).code, 0, "found upwards")
        let elsewhere = dir.appendingPathComponent("elsewhere").path
        try FileManager.default.createDirectory(atPath: elsewhere, withIntermediateDirectories: true)
        XCTAssertEqual(margin("init", "--store", elsewhere + "/s", "--name", "other").code, 0)
        XCTAssertTrue(margin("--store", elsewhere + "/s", "status").out.contains("other"))
        XCTAssertTrue(margin("status", "--store", elsewhere + "/s").out.contains("other"))
        XCTAssertTrue(margin("status", env: ["MARGIN_STORE": elsewhere + "/s"]).out.contains("other"))
        XCTAssertTrue(margin("status", env: ["MARGIN_STORE": cwd]).out.contains("node        n "), "a folder holding .margin works too")
    }
}
