import Foundation
@testable import MarginCLI
import MarginCore
import XCTest

/// Issue 24, part 1: what counts as a coder's coding. Two coders, alice and
/// bob, each with a store, carrying changes by bundles, typing commands as
/// a team would. Each test is an observation of the issue.
final class CoderLayerTests: CLITestCase {
    var alice = "", bob = "", first = "", second = ""

    /// Two short reports in the style of the seeds: the first both code
    /// alike (38 Party members); the second holds a figure `suggest` finds.
    static let firstReport = "互助县:党员下沉社区\n\n互助县组织38名党员干部下沉到12个社区,协助开展核酸检测和物资配送。"
    static let secondReport = "樂都區:網格化管理\n\n樂都區劃分網格326個,動員1.1萬名黨員參與防控,累計開展入戶走訪45次,為居民代購生活物資。"

    override func setUpWithError() throws {
        try super.setUpWithError()
        alice = try folder("alice"); bob = try folder("bob")
        XCTAssertEqual(margin("--store", alice, "init", "--name", "alice").code, 0)
        XCTAssertEqual(margin("--store", alice, "codes", "import", CLITestCase.samples.appendingPathComponent("codebook.tsv").path).code, 0)
        for (name, text) in [("first.txt", CoderLayerTests.firstReport), ("second.txt", CoderLayerTests.secondReport)] {
            try text.write(to: dir.appendingPathComponent(name), atomically: true, encoding: .utf8)
        }
        first = try XCTUnwrap(firstID(margin("--store", alice, "import", dir.appendingPathComponent("first.txt").path).out, after: "imported"))
        second = try XCTUnwrap(firstID(margin("--store", alice, "import", dir.appendingPathComponent("second.txt").path).out, after: "imported"))
        XCTAssertEqual(margin("--store", bob, "init", "--name", "bob").code, 0)
        try carry(from: alice, to: bob)
        for store in [alice, bob] {
            let r = margin("--store", store, "annotate", first, "--code", "party-members", "--quote", "38名党员干部", "--value", "38")
            XCTAssertEqual(r.code, 0, r.err)
            XCTAssertEqual(margin("--store", store, "done", first).code, 0)
        }
        try carry(from: alice, to: bob); try carry(from: bob, to: alice)
    }

    func carry(from: String, to: String) throws {
        let bundle = dir.appendingPathComponent("carry-\(UUID().uuidString).bundle").path
        XCTAssertEqual(margin("--store", from, "export", "--log", "-o", bundle).code, 0)
        let r = margin("--store", to, "import", bundle)
        XCTAssertEqual(r.code, 0, r.err)
    }

    func json(_ r: CLIResult) throws -> [String: Any] {
        XCTAssertEqual(r.code, 0, r.err)
        return try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any], r.out)
    }

    func spanRow(_ agree: [String: Any], _ code: String) -> [String: Any]? {
        (agree["spans"] as? [[String: Any]])?.first { $0["code"] as? String == code }
    }

    func valuesSum(_ store: String, _ args: String...) throws -> Double? {
        let r = marginArgs(["--store", store, "table", "values", "--code", "party-members", "--json"] + args)
        XCTAssertEqual(r.code, 0, r.err)
        let rows = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [[String: Any]])
        return rows.first?["sum"] as? Double
    }

    func suggestionIDs(_ store: String) -> [String] {
        margin("--store", store, "list", "--annotations", "--status", "suggested").out.split(separator: "\n")
            .filter { !$0.hasPrefix(" ") }.compactMap { $0.split(separator: " ").first.map(String.init) }
    }

    /// Observed: after alice ran `suggest` on a second report and rejected
    /// every suggestion, party-members exact F1 fell from 1.0 to 0.67 and
    /// `table values --coder alice` went from 38 to 11038.
    func testSuggestionsAndRejectedSuggestionsAreNoOnesCoding() throws {
        let before = try json(margin("--store", alice, "agree", "--json"))
        XCTAssertEqual(spanRow(before, "party-members")?["exact_f1"] as? Double, 1)
        XCTAssertEqual(margin("--store", alice, "suggest", second).code, 0)
        let pending = suggestionIDs(alice)
        XCTAssertFalse(pending.isEmpty, "suggest found the figures")
        XCTAssertEqual(margin("--store", alice, "done", second).code, 0)
        // Pending, they are no one's coding.
        XCTAssertEqual(try valuesSum(alice, "--coder", "alice"), 38)
        let compare = margin("--store", alice, "compare", second, "--coders", "alice,bob")
        XCTAssertTrue(compare.out.contains("0 agreed, 0 disagreements"), compare.out)
        for id in pending { XCTAssertEqual(margin("--store", alice, "review", id, "--reject").code, 0) }
        XCTAssertTrue(suggestionIDs(alice).isEmpty)
        try carry(from: alice, to: bob)
        XCTAssertEqual(margin("--store", bob, "done", second).code, 0)
        let after = try json(margin("--store", bob, "agree", "--json"))
        XCTAssertEqual(spanRow(after, "party-members")?["exact_f1"] as? Double, 1, "rejected suggestions are not alice's spans")
        XCTAssertEqual(spanRow(after, "party-members")?["spans"] as? [String: Int], ["alice": 1, "bob": 1])
        XCTAssertEqual(try valuesSum(bob, "--coder", "alice"), 38, "was 11038")
        XCTAssertTrue(margin("--store", bob, "show", second).out.contains("annotations (0)"), "a rejected suggestion is deleted")
    }

    /// Observed: `table values` summed every coder's copy of a figure.
    func testTablesReadOneLayerNeverTheSumOfCopies() throws {
        let r = margin("--store", alice, "table", "values", "--code", "party-members")
        XCTAssertTrue(r.out.hasPrefix("layer"), r.out)
        let rows = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(margin("--store", alice, "table", "values", "--code", "party-members", "--json").out.utf8)) as? [[String: Any]])
        XCTAssertEqual(rows.map { $0["layer"] as? String }, ["alice", "bob"])
        XCTAssertEqual(rows.map { $0["sum"] as? Double }, [38, 38], "was 76: two coders' copies of one figure")
        // Once there is a gold layer, the tables read it by default.
        XCTAssertEqual(margin("--store", alice, "adjudicate", first, "--coders", "alice,bob").code, 0)
        let gold = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(margin("--store", alice, "table", "values", "--code", "party-members", "--json").out.utf8)) as? [[String: Any]])
        XCTAssertEqual(gold.map { $0["layer"] as? String }, ["gold"])
        XCTAssertEqual(gold.map { $0["sum"] as? Double }, [38], "was 114: three copies")
        XCTAssertEqual(try valuesSum(alice, "--coder", "bob"), 38)
        let codes = margin("--store", alice, "table", "codes", "--csv")
        XCTAssertTrue(codes.out.hasPrefix("layer,code,annotations,records\r\ngold,mobilisation/party-members,1,1\r\n"), codes.out)
    }

    /// Observed: `margin edit ID --value …` on a colleague's annotation
    /// rewrote their coding, and agree credited them with it.
    func testEditingAColleaguesAnnotationIsRefusedAndAsMineCopiesIt() throws {
        let alices = try XCTUnwrap(margin("--store", bob, "list", "--annotations", "--json").out.split(separator: "\n")
            .compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            .first { $0["author"] as? String == "alice" }?["id"] as? String)
        for args in [["--value", "39"], ["--code", "cadres"], ["--quote", "38名党员"], ["--note", "checked"]] {
            let r = marginArgs(["--store", bob, "edit", alices] + args)
            XCTAssertEqual(r.code, 1, args.joined(separator: " "))
            XCTAssertTrue(r.err.contains("alice's coding") && r.err.contains("--as-mine") && r.err.contains("margin review"), r.err)
            XCTAssertEqual(r.err.split(separator: "\n").count, 1, "one line")
        }
        let d = margin("--store", bob, "delete", alices)
        XCTAssertEqual(d.code, 1); XCTAssertTrue(d.err.contains("alice's coding"), d.err)
        XCTAssertTrue(margin("--store", bob, "show", first).out.contains("value=38  [open]  by alice"), "unchanged")
        // Reviewing is allowed, and does not change whose coding it is.
        XCTAssertEqual(margin("--store", bob, "review", alices, "--reject", "--comment", "I count 39").code, 0)
        let copy = margin("--store", bob, "edit", alices, "--as-mine", "--value", "39")
        XCTAssertEqual(copy.code, 0, copy.err)
        XCTAssertTrue(copy.out.contains("value=39  [open]  by bob"), copy.out)
        try carry(from: bob, to: alice)
        let agree = try json(margin("--store", alice, "agree", "--json"))
        XCTAssertEqual(spanRow(agree, "party-members")?["spans"] as? [String: Int], ["alice": 1, "bob": 2])
        let values = try XCTUnwrap(agree["values"] as? [String: Any])
        XCTAssertEqual(values["pairs"] as? Int, 1)
        XCTAssertEqual(values["agree"] as? Int, 1, "alice's 38 is still alice's, bob's first 38 still bob's")
        // alice can edit her own.
        XCTAssertEqual(margin("--store", alice, "edit", alices, "--value", "38人").code, 0)
    }

    /// Observed: a coder who read a report and found nothing to code was
    /// missing there, not "no". With a done mark, absent codes are "no".
    func testDoneMarksMakeAbsentCodesNoAndAreUndoableSyncedAndShown() throws {
        XCTAssertEqual(margin("--store", alice, "tag", second, "grid-management").code, 0)
        XCTAssertEqual(margin("--store", alice, "done", second).code, 0)
        try carry(from: alice, to: bob)
        func tagUnits(_ store: String) throws -> Int? {
            let o = try json(margin("--store", store, "agree", "--json"))
            return (o["tags"] as? [[String: Any]])?.first { $0["code"] as? String == "grid-management" }?["units"] as? Int
        }
        let leftOut = try json(margin("--store", bob, "agree", "--json"))
        XCTAssertEqual(leftOut["records"] as? Int, 1)
        XCTAssertEqual(leftOut["records_left_out"] as? Int, 1, "only alice marked the second report done")
        XCTAssertTrue(margin("--store", bob, "agree").out.contains("1 record left out"))
        // bob reads it, finds nothing to code, and says so.
        XCTAssertEqual(margin("--store", bob, "done", second).code, 0)
        XCTAssertEqual(try tagUnits(bob), 2, "bob's 'no' on the second report is a value")
        XCTAssertTrue(margin("--store", bob, "status").out.contains("done        2 of 2 records marked done by bob"))
        XCTAssertTrue(margin("--store", bob, "list").out.contains(" ✓ "), "list marks your done records")
        XCTAssertTrue(margin("--store", bob, "show", second).out.contains("done         alice, bob"))
        try carry(from: bob, to: alice)
        XCTAssertEqual(try tagUnits(alice), 2, "the mark synced")
        let marks = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(margin("--store", alice, "done", "--list", "--json").out.utf8)) as? [[String: Any]])
        XCTAssertEqual(marks.first { ($0["record"] as? String)?.hasPrefix(second) == true }?["coders"] as? [String], ["alice", "bob"])
        XCTAssertEqual(margin("--store", bob, "done", second, "--undo").code, 0)
        try carry(from: bob, to: alice)
        XCTAssertEqual(try json(margin("--store", alice, "agree", "--json"))["records"] as? Int, 1, "taken back, and that synced too")
        XCTAssertEqual(margin("--store", alice, "undo", "--last").code, 0, "margin undo takes a mark back as well")
        XCTAssertEqual(margin("--store", alice, "done").code, 64)
        XCTAssertEqual(margin("--store", alice, "done", "ffffffff").code, 1)
    }

    /// Blind coding hides the other coders in every view until turned off
    /// or until adjudication; it is this store's setting alone.
    func testBlindCodingHidesOtherCodersUntilOffOrAdjudication() throws {
        XCTAssertEqual(margin("--store", bob, "blind", "on").code, 0)
        XCTAssertTrue(margin("--store", bob, "status").out.contains("blind       on"))
        let show = margin("--store", bob, "show", first).out
        XCTAssertTrue(show.contains("annotations (1)") && show.contains("by bob") && !show.contains("by alice"), show)
        XCTAssertFalse(margin("--store", bob, "list", "--annotations").out.contains("alice"))
        XCTAssertTrue(margin("--store", bob, "list").out.contains("1 ann"), "counts are of your own")
        XCTAssertFalse(margin("--store", bob, "export", "--format", "csv").out.contains(",alice,"))
        XCTAssertFalse(margin("--store", bob, "export", "--format", "w3c").out.contains("\"alice\""))
        let walk = marginArgs(["--store", bob, "review"], input: ["q"])
        XCTAssertTrue(walk.out.contains("(1/1)") && !walk.out.contains("by alice"), walk.out)
        let compare = margin("--store", bob, "compare", first)
        XCTAssertEqual(compare.code, 1); XCTAssertTrue(compare.err.contains("blind coding is on"), compare.err)
        // Not synced: alice still sees bob.
        try carry(from: bob, to: alice)
        XCTAssertTrue(margin("--store", alice, "show", first).out.contains("by bob"))
        XCTAssertEqual(margin("--store", bob, "blind", "off").code, 0)
        XCTAssertTrue(margin("--store", bob, "show", first).out.contains("by alice"))
        XCTAssertEqual(margin("--store", bob, "blind", "on").code, 0)
        let adjudicate = margin("--store", bob, "adjudicate", first)
        XCTAssertEqual(adjudicate.code, 0, adjudicate.err)
        XCTAssertTrue(adjudicate.out.contains("blind coding is now off"), adjudicate.out)
        XCTAssertTrue(margin("--store", bob, "blind").out.contains("blind coding is off"))
        XCTAssertEqual(margin("--store", bob, "blind", "maybe").code, 64)
    }

    /// Accepting a suggestion meant "open" in the walk and "accepted, still
    /// the suggester's" with `review ID --accept`; a suggestion without a
    /// code could be accepted as a codeless annotation.
    func testAcceptingASuggestionMeansTheSameInTheWalkAndByID() throws {
        XCTAssertEqual(margin("--store", alice, "suggest", second).code, 0)
        try carry(from: alice, to: bob)
        let ids = suggestionIDs(bob)
        XCTAssertEqual(ids.count, 3, margin("--store", bob, "list", "--annotations").out)
        func line(_ id: String) -> String { margin("--store", bob, "list", "--annotations").out.split(separator: "\n").first { $0.hasPrefix(id) }.map(String.init) ?? "" }
        let coded = try XCTUnwrap(ids.first { line($0).contains("party-members") }), codeless = try XCTUnwrap(ids.first { line($0).contains("(no code)") || line($0).contains("  -  ") })
        let byID = margin("--store", bob, "review", coded, "--accept")
        XCTAssertEqual(byID.code, 0, byID.err)
        XCTAssertTrue(line(coded).contains("[open]") && line(coded).contains("by bob"), "bob's own annotation now: \(line(coded))")
        let refused = margin("--store", bob, "review", codeless, "--accept")
        XCTAssertEqual(refused.code, 1)
        XCTAssertTrue(refused.err.contains("has no code") && refused.err.contains("--with-code"), refused.err)
        XCTAssertTrue(line(codeless).contains("[suggested]"), "unchanged")
        // The walk asks for the code, and then does exactly the same.
        let walk = marginArgs(["--store", bob, "review", "--status", "suggested"], input: line(ids[0]) == line(codeless) ? ["a", "grid-management", "q"] : ["s", "a", "grid-management", "q"])
        XCTAssertEqual(walk.code, 0, walk.err)
        XCTAssertTrue(line(codeless).contains("grid-management") && line(codeless).contains("[open]") && line(codeless).contains("by bob"), line(codeless))
        XCTAssertEqual(margin("--store", bob, "review", coded, "--accept", "--with-code", "cadres").code, 1, "not a suggestion any more")
    }

    /// Reviews do not change a layer, so adjudication, which reviews both
    /// coders' annotations, leaves agreement as it was.
    func testAgreementIsTheSameBeforeAndAfterAdjudication() throws {
        XCTAssertEqual(margin("--store", alice, "annotate", first, "--code", "cadres", "--quote", "12个社区", "--value", "12").code, 0)
        XCTAssertEqual(margin("--store", bob, "annotate", first, "--code", "cadres", "--quote", "12个社区", "--value", "13").code, 0)
        try carry(from: alice, to: bob); try carry(from: bob, to: alice)
        let before = margin("--store", alice, "agree", "--json").out
        let a = marginArgs(["--store", alice, "adjudicate", first, "--coders", "alice,bob"], input: ["1"])
        XCTAssertTrue(a.out.contains("1 decided, 0 left open"), a.out)
        XCTAssertEqual(margin("--store", alice, "agree", "--json").out, before)
        // The gold layer is a layer of its own, present where adjudicated.
        let gold = try json(margin("--store", alice, "agree", "--coders", "alice,gold", "--json"))
        XCTAssertEqual(gold["records"] as? Int, 1)
        XCTAssertEqual(spanRow(gold, "(all codes)")?["exact_f1"] as? Double, 1, "gold took alice's")
    }
}
