import Foundation
@testable import MarginCLI
import MarginCore
import XCTest

/// Issue 25, "Items asked before" and "Smaller things a new user hit":
/// each observation as a user would type it.
final class EverydayCLITests: CLITestCase {
    var record = ""

    override func setUpWithError() throws {
        try super.setUpWithError()
        XCTAssertEqual(margin("init", "--name", "alice").code, 0)
        XCTAssertEqual(margin("codes", "import", CLITestCase.samples.appendingPathComponent("codebook.tsv").path).code, 0)
        record = try XCTUnwrap(firstID(margin("import", CLITestCase.samples.appendingPathComponent("reports/03-tongren-grid.txt").path).out, after: "imported"))
    }

    func annotationIDs() -> [String] {
        margin("list", "--annotations", "--json").out.split(separator: "\n").compactMap {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["id"] as? String
        }
    }

    /// Observed: the same code on the same span twice, or the same tag
    /// twice, was accepted silently.
    func testTheSameCodingTwiceIsRefusedUnlessAgain() throws {
        XCTAssertEqual(margin("annotate", record, "--code", "cadres", "--quote", "1055名网格员", "--value", "1055").code, 0)
        let again = margin("annotate", record, "--code", "cadres", "--quote", "1055名网格员", "--value", "1055")
        XCTAssertEqual(again.code, 1)
        XCTAssertTrue(again.err.contains("already") && again.err.contains("--again"), again.err)
        XCTAssertEqual(annotationIDs().count, 1, "nothing written")
        XCTAssertEqual(margin("annotate", record, "--code", "cadres", "--quote", "1055名网格员", "--again").code, 0)
        XCTAssertEqual(margin("annotate", record, "--code", "party-members", "--quote", "1055名网格员").code, 0, "another code is another coding")
        XCTAssertEqual(margin("tag", record, "grid-management").code, 0)
        let tag = margin("tag", record, "grid-management")
        XCTAssertEqual(tag.code, 1); XCTAssertTrue(tag.err.contains("--again"), tag.err)
        XCTAssertEqual(margin("tag", record, "grid-management", "--again").code, 0)
        XCTAssertEqual(annotationIDs().count, 5)
    }

    /// Observed: ids made in one sitting all began with the same four
    /// digits (a time bucket), so a prefix told them apart only late.
    func testIdsMadeInOneSittingDifferInTheirFirstDigits() throws {
        for quote in ["1055名网格员", "119名网格员", "156個"] {
            XCTAssertEqual(margin("annotate", record, "--code", "cadres", "--quote", quote).code, 0)
        }
        for i in 0..<20 { XCTAssertEqual(margin("note", record, "note \(i)").code, 0) }
        let prefixes = Set(annotationIDs().map { $0.prefix(4) })
        XCTAssertGreaterThan(prefixes.count, 15, "23 ids, random from the first digit")
    }

    /// Observed: a header `name,description,parent` read the description
    /// as the parent ("unknown parent code '志愿者'").
    func testACodebookHeaderMapsColumnsByName() throws {
        let file = dir.appendingPathComponent("book.csv")
        try "name,description,parent,value_type\nhelpers,志愿者,mobilisation,number\n".write(to: file, atomically: true, encoding: .utf8)
        let r = margin("codes", "import", file.path)
        XCTAssertEqual(r.code, 0, r.err)
        let code = try XCTUnwrap(margin("codes", "list", "--json").out.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }.first { $0["name"] as? String == "helpers" })
        XCTAssertEqual(code["description"] as? String, "志愿者")
        XCTAssertEqual(code["value_type"] as? String, "number")
        XCTAssertNotNil(code["parent"])
        try "name,colour,shade\nx,red,dark\n".write(to: file, atomically: true, encoding: .utf8)
        let bad = margin("codes", "import", file.path)
        XCTAssertEqual(bad.code, 1); XCTAssertTrue(bad.err.contains("unknown column 'shade'"), bad.err)
    }

    /// Observed: a file whose body equals a stored record's was reported
    /// with the new file's title; which metadata differed was not said.
    func testAlreadyPresentNamesTheStoredRecordAndWhatDiffers() throws {
        let body = "互助县组织38名党员干部下沉到12个社区,协助开展核酸检测和物资配送。\n"
        let a = dir.appendingPathComponent("a.txt"), b = dir.appendingPathComponent("b.txt")
        try ("互助县：党员下沉社区\n\n发布时间：2022-11-07\n\n" + body).write(to: a, atomically: true, encoding: .utf8)
        try ("互助縣黨員下沉社區防疫\n\n发布时间：2022-11-08\n\n" + body).write(to: b, atomically: true, encoding: .utf8)
        let id = try XCTUnwrap(firstID(margin("import", a.path).out, after: "imported"))
        // The record's id is the hash of the file as received: the same file
        // again is present, and what the store holds otherwise is named.
        XCTAssertEqual(margin("edit", id, "--title", "互助縣黨員下沉社區防疫", "--published", "2022-11-08").code, 0)
        let r = margin("import", a.path)
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertTrue(r.out.contains("already present as \(id) 互助縣黨員下沉社區防疫"), "the stored record's title: \(r.out)")
        XCTAssertTrue(r.out.contains("differs in title") && r.out.contains("互助县：党员下沉社区"), r.out)
        XCTAssertTrue(r.out.contains("published: stored '2022-11-08', this file '2022-11-07'"), r.out)
        // Another page with the same text is a repost: its own record, named.
        let repost = margin("import", b.path)
        XCTAssertTrue(repost.out.contains("imported") && repost.out.contains("the same text as record \(id)"), repost.out)
    }

    func testStatusCountsOpenSuggestions() throws {
        XCTAssertEqual(margin("suggest", record).code, 0)
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(margin("status", "--json").out.utf8)) as? [String: Any])
        let suggested = try XCTUnwrap((json["review"] as? [String: Any])?["suggested"] as? Int)
        XCTAssertGreaterThan(suggested, 0)
        XCTAssertTrue(margin("status").out.contains("suggestions \(suggested))"))
    }

    /// Observed: `undo --last` undid one step and a second call redid it.
    func testUndoWalksBackSeveralStepsAndRedoComesForward() throws {
        for quote in ["1055名网格员", "119名网格员", "156個"] {
            XCTAssertEqual(margin("annotate", record, "--code", "cadres", "--quote", quote).code, 0)
        }
        XCTAssertEqual(annotationIDs().count, 3)
        XCTAssertEqual(margin("undo", "--last").code, 0)
        XCTAssertEqual(annotationIDs().count, 2)
        XCTAssertEqual(margin("undo", "--last").code, 0, "a second undo goes further back")
        XCTAssertEqual(annotationIDs().count, 1)
        XCTAssertEqual(margin("redo").code, 0)
        XCTAssertEqual(annotationIDs().count, 2)
        XCTAssertEqual(margin("undo", "--last", "2").code, 0)
        XCTAssertEqual(annotationIDs().count, 0)
        XCTAssertEqual(margin("redo", "3").code, 0)
        XCTAssertEqual(annotationIDs().count, 3)
        let none = margin("redo")
        XCTAssertEqual(none.code, 1); XCTAssertTrue(none.err.contains("nothing to redo"), none.err)
        XCTAssertEqual(margin("undo", "--last").code, 0)
        XCTAssertEqual(margin("note", record, "new work").code, 0)
        XCTAssertEqual(margin("redo").code, 1, "a new write ends what can be redone")
        XCTAssertEqual(margin("undo", "--last", "0").code, 64)
        let tooMany = margin("undo", "--last", "99")
        XCTAssertEqual(tooMany.code, 1); XCTAssertTrue(tooMany.err.contains("nothing was undone"), tooMany.err)
    }

    /// A code may declare that its values are numbers; a --value that is
    /// not one is refused.
    func testNumericValuesAreCheckedAgainstTheCodesValueType() throws {
        XCTAssertEqual(margin("codes", "describe", "cadres", "--value-type", "number").code, 0)
        let bad = margin("annotate", record, "--code", "cadres", "--quote", "1055名网格员", "--value", "一千")
        XCTAssertEqual(bad.code, 1); XCTAssertTrue(bad.err.contains("takes a number"), bad.err)
        for good in ["1055", "1,055", "1.2萬", "0.5"] {
            XCTAssertEqual(margin("annotate", record, "--code", "cadres", "--quote", "1055名网格员", "--value", good, "--again").code, 0, good)
        }
        let id = try XCTUnwrap(annotationIDs().first)
        XCTAssertEqual(margin("edit", id, "--value", "about 1000").code, 1)
        XCTAssertEqual(margin("codes", "describe", "cadres", "--value-type", "none").code, 0)
        XCTAssertEqual(margin("edit", id, "--value", "about 1000").code, 0)
        XCTAssertEqual(margin("codes", "describe", "cadres", "--value-type", "date").code, 64)
        XCTAssertTrue(Store.isNumber("1,500") && Store.isNumber("-3") && Store.isNumber("1.2亿"))
        XCTAssertFalse(Store.isNumber("1,50") || Store.isNumber("38人") || Store.isNumber("1.") || Store.isNumber(""))
    }

    func testListFiltersByPlaceSourceDatesAndReportAuthor() throws {
        XCTAssertEqual(margin("import", "--quiet", CLITestCase.samples.appendingPathComponent("reports").path).code, 0)
        let all = margin("list", "--json").out.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        XCTAssertGreaterThan(all.count, 2)
        let first = try XCTUnwrap(all.first { $0["place"] != nil && $0["published"] != nil })
        let place = try XCTUnwrap(first["place"] as? String), published = try XCTUnwrap(first["published"] as? String)
        func count(_ args: String...) -> Int { marginArgs(["list", "--json"] + args).out.split(separator: "\n").count }
        let byPlace = count("--place", place)
        XCTAssertGreaterThan(byPlace, 0)
        XCTAssertLessThan(byPlace, all.count)
        XCTAssertEqual(count("--since", String(published.prefix(10)), "--until", String(published.prefix(10))),
                       all.filter { ($0["published"] as? String)?.hasPrefix(String(published.prefix(10))) == true }.count)
        XCTAssertEqual(count("--since", "2100-01-01"), 0)
        XCTAssertEqual(count("--until", "1990"), 0)
        XCTAssertEqual(margin("list", "--since", "tuesday").code, 64)
        XCTAssertEqual(count("--place", "no such place"), 0)
        XCTAssertEqual(count("--author", "no such author"), 0)
    }

    /// "Did you mean" for commands, options and code names (across
    /// Simplified and Traditional script); `-n` is a count everywhere.
    func testMistypedCommandsOptionsAndCodeNamesGetASuggestion() throws {
        let command = margin("lsit")
        XCTAssertEqual(command.code, 64); XCTAssertTrue(command.err.contains("did you mean 'list'"), command.err)
        let option = margin("list", "--plcae", "x")
        XCTAssertEqual(option.code, 64); XCTAssertTrue(option.err.contains("did you mean '--place'"), option.err)
        XCTAssertEqual(margin("codes", "add", "黨員幹部").code, 0)
        let code = margin("annotate", record, "--code", "党员干部", "--quote", "1055名网格员")
        XCTAssertEqual(code.code, 1); XCTAssertTrue(code.err.contains("did you mean '黨員幹部'"), code.err)
        let typo = margin("tag", record, "grid-managment")
        XCTAssertEqual(typo.code, 1); XCTAssertTrue(typo.err.contains("did you mean 'grid-management'"), typo.err)
        let dryRun = margin("suggest", "--all", "-n", "5")
        XCTAssertEqual(dryRun.code, 64); XCTAssertTrue(dryRun.err.contains("unknown option -n"), dryRun.err)
        XCTAssertTrue(Nearest.matches("xyzzy", among: ["list", "show"]).isEmpty)
    }

    /// Search covers titles and metadata and ranks by relevance (BM25),
    /// then publication date; --sort chooses another order.
    func testSearchRanksByRelevanceAndCoversTitlesAndMetadata() throws {
        let folder = dir.appendingPathComponent("ranked")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let reports = [
            ("a.txt", "甲縣防疫簡報\n\n发布时间：2022-11-01\n\n甲縣組織黨員幹部下沉社區,在全縣設立了一個臨時黨支部,並且開展了大量的宣傳、排查和服務工作,群眾反映良好,防控形勢總體平穩可控。"),
            ("b.txt", "乙县防疫简报\n\n发布时间：2022-11-02\n\n乙县党支部带头,党支部书记值守,党支部党员服务。"),
            ("c.txt", "丙縣黨支部戰疫記\n\n发布时间：2022-11-03\n\n丙縣幹部群眾齊心協力,共同守護家園,確保群眾生命安全。"),
            ("d.txt", "丁县防疫简报\n\n发布时间：2022-11-04\n\n丁县干部群众齐心协力,排查外来人员三百余人次。"),
        ]
        for (name, text) in reports { try text.write(to: folder.appendingPathComponent(name), atomically: true, encoding: .utf8) }
        XCTAssertEqual(margin("import", "--quiet", folder.path).code, 0)
        func id(_ title: String) throws -> String {
            try XCTUnwrap(margin("list", "--json").out.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
                .first { ($0["title"] as? String)?.hasPrefix(title) == true }?["id"] as? String)
        }
        let a = try id("甲縣"), b = try id("乙县"), c = try id("丙縣"), d = try id("丁县")
        XCTAssertEqual(margin("edit", d, "--source", "党支部通讯").code, 0)
        func order(_ args: String...) -> [String] {
            marginArgs(["search", "党支部", "--json"] + args).out.split(separator: "\n").compactMap {
                (try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["record"] as? String
            }
        }
        let ranked = order()
        XCTAssertEqual(Set(ranked), Set([a, b, c, d]), "body, title and metadata")
        XCTAssertEqual(ranked.first, b, "three matches in a short body")
        XCTAssertLessThan(try XCTUnwrap(ranked.firstIndex(of: c)), try XCTUnwrap(ranked.firstIndex(of: a)), "a title match weighs more than one in a long body")
        XCTAssertEqual(order("--sort", "published"), [d, c, b, a])
        XCTAssertEqual(order("--sort", "published", "-n", "2"), [d, c])
        XCTAssertEqual(Set(order("--sort", "imported")), Set([a, b, c]), "imported order streams body and title hits")
        let line = margin("search", "党支部", "--json", "-n", "4").out.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        XCTAssertEqual(line.first { $0["record"] as? String == d }?["metadata"] as? [String], ["source"])
        XCTAssertNotNil(line.first?["score"] as? Double)
        XCTAssertTrue(margin("search", "党支部").out.contains("in source"))
        XCTAssertEqual(margin("search", "党支部", "--sort", "best").code, 64)
    }
}
