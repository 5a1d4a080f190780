import Foundation
@testable import MarginCLI
import MarginCore
import XCTest

/// `margin suggest` as a user runs it, and the walk that offers the
/// suggestions first.
final class SuggestCLITests: CLITestCase {
    func testSuggestThenReviewTakesOneAndDropsAnother() throws {
        XCTAssertEqual(margin("init", "--name", "alice").code, 0)
        XCTAssertEqual(margin("codes", "import", CLITestCase.samples.appendingPathComponent("codebook.tsv").path).code, 0)
        let rid = try XCTUnwrap(firstID(margin("import", CLITestCase.samples.appendingPathComponent("reports/04-jianzha-property.txt").path).out, after: "imported"))
        let dry = margin("suggest", rid, "--dry-run")
        XCTAssertTrue(dry.out.contains("5 suggestions (nothing stored)"), dry.out)
        XCTAssertTrue(dry.out.contains("supplies  \"测温枪60把\"  value=60") || dry.out.contains("value=60"), dry.out)
        XCTAssertTrue(margin("list", "--annotations").out.isEmpty)
        let r = margin("suggest", rid, "--code", "grid-management")
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertTrue(r.out.contains("1.2万余户") && r.out.contains("value=12000"), r.out)
        XCTAssertEqual(margin("list", "--annotations", "--status", "suggested", "--json").out.split(separator: "\n").count, 5)
        // The walk: suggestions first; take the first, reject the second, stop.
        let walk = marginArgs(["review"], input: ["a", "r", "q"])
        XCTAssertEqual(walk.code, 0, walk.err)
        XCTAssertTrue(walk.out.contains("suggestion "), walk.out)
        XCTAssertEqual(margin("list", "--annotations", "--status", "suggested", "--json").out.split(separator: "\n").count, 3)
        XCTAssertEqual(margin("list", "--annotations", "--status", "open", "--json").out.split(separator: "\n").count, 1, "taken as an ordinary annotation")
        XCTAssertTrue(margin("suggest", rid).out.contains("0 suggestions"), "neither the taken nor the rejected comes back")
        XCTAssertEqual(margin("suggest").code, 64)
    }

    func testTriggersAndPaletteColoursInTheCodebook() throws {
        XCTAssertEqual(margin("init", "--name", "bob").code, 0)
        XCTAssertEqual(margin("codes", "add", "party-members", "--triggers", "党员, 黨員", "--colour", "colour208").code, 0)
        XCTAssertEqual(margin("codes", "add", "cadres", "--colour", "bright-cyan").code, 0)
        let bad = margin("codes", "add", "x", "--colour", "colour256")
        XCTAssertEqual(bad.code, 1)
        XCTAssertTrue(bad.err.contains("colour0…colour255"), bad.err)
        XCTAssertTrue(margin("codes", "list", "--json").out.contains("\"triggers\":[\"党员\",\"黨員\"]"))
        XCTAssertTrue(margin("codes", "export").out.contains("party-members\t\tcolour208\t\t党员, 黨員"))
        XCTAssertTrue(margin("codes", "list", "--color=always").out.contains("\u{1B}[4;38;5;208mparty-members"))
        XCTAssertTrue(margin("codes", "list", "--color=always").out.contains("\u{1B}[4;96mcadres"))
        XCTAssertEqual(margin("codes", "describe", "cadres", "--triggers", "干部, 幹部").code, 0)
        XCTAssertTrue(margin("codes", "list", "--json").out.contains("\"triggers\":[\"干部\",\"幹部\"]"))
    }
}
