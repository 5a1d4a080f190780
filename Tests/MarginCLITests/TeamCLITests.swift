import Foundation
@testable import MarginCLI
import MarginCore
import XCTest

/// Two coders on one sample report, carried between their stores by
/// bundles: agreement, comparison, adjudication, tables and exports, as a
/// user types them.
final class TeamCLITests: CLITestCase {
    var alice = "", bob = "", record = ""

    override func setUpWithError() throws {
        try super.setUpWithError()
        alice = try folder("alice"); bob = try folder("bob")
        XCTAssertEqual(margin("--store", alice, "init", "--name", "alice").code, 0)
        XCTAssertEqual(margin("--store", alice, "codes", "import", CLITestCase.samples.appendingPathComponent("codebook.tsv").path).code, 0)
        let r = margin("--store", alice, "import", CLITestCase.samples.appendingPathComponent("reports/03-tongren-grid.txt").path)
        record = try XCTUnwrap(firstID(r.out, after: "imported"))
        XCTAssertEqual(margin("--store", bob, "init", "--name", "bob").code, 0)
        try carry(from: alice, to: bob)
        // Both code the same figures, with two disagreements: a value and a span.
        for (store, members, grid) in [(alice, "1055", "156個網格"), (bob, "1050", "156個")] {
            XCTAssertEqual(margin("--store", store, "annotate", record, "--code", "cadres", "--quote", "1055名网格员", "--value", members).code, 0)
            XCTAssertEqual(margin("--store", store, "annotate", record, "--code", "temporary-branch", "--quote", grid, "--value", "156").code, 0)
            XCTAssertEqual(margin("--store", store, "annotate", record, "--code", "party-members", "--quote", "119名网格员", "--value", "119").code, 0)
            XCTAssertEqual(margin("--store", store, "done", record).code, 0)
        }
        try carry(from: alice, to: bob)
        try carry(from: bob, to: alice)
    }

    func carry(from: String, to: String) throws {
        let bundle = dir.appendingPathComponent("carry-\(UUID().uuidString).bundle").path
        XCTAssertEqual(margin("--store", from, "export", "--log", "-o", bundle).code, 0)
        let r = margin("--store", to, "import", bundle)
        XCTAssertEqual(r.code, 0, r.err)
    }

    func testAgreeReportsSpansValuesAndRefusesUnknownCoders() throws {
        let r = margin("--store", alice, "agree")
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertTrue(r.out.contains("coders: alice, bob"), r.out)
        XCTAssertTrue(r.out.contains("extracted values: 2 of 3 matched spans agree"), r.out)
        let json = margin("--store", alice, "agree", "--json")
        let o = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(json.out.utf8)) as? [String: Any])
        let spans = try XCTUnwrap(o["spans"] as? [[String: Any]])
        let all = try XCTUnwrap(spans.first { $0["code"] as? String == "(all codes)" })
        XCTAssertEqual(all["exact_f1"] as? Double ?? -1, 2.0 / 3.0, accuracy: 0.0001)
        XCTAssertEqual(all["overlap_f1"] as? Double, 1)
        let bad = margin("--store", alice, "agree", "--coders", "alice,carol")
        XCTAssertEqual(bad.code, 1)
        XCTAssertTrue(bad.err.contains("no annotations by a coder named 'carol'"), bad.err)
    }

    func testCompareShowsBothCodersAndAdjudicateSettlesLineByLine() throws {
        let c = margin("--store", alice, "compare", record)
        XCTAssertEqual(c.code, 0, c.err)
        XCTAssertTrue(c.out.contains("⟦156個網格⟧{temporary-branch}") || c.out.contains("⟦156個网格⟧{temporary-branch}") || c.out.contains("⟧{temporary-branch}"), c.out)
        XCTAssertTrue(c.out.contains("⟨"), c.out)
        XCTAssertTrue(c.out.contains("1 agreed, 2 disagreements"), c.out)
        XCTAssertTrue(c.out.contains("value differ"), c.out)
        XCTAssertTrue(c.out.contains("span differ"), c.out)

        // A wrong answer is asked again; then bob's span (156個), alice's value (1055).
        let a = marginArgs(["--store", alice, "adjudicate", record], input: ["x", "2", "1"])
        XCTAssertEqual(a.code, 0, a.err)
        XCTAssertTrue(a.out.contains("answer 1, 2, b, n, s or q"), a.out)
        XCTAssertTrue(a.out.contains("2 decided, 0 left open; gold layer: 3 annotations"), a.out)
        let gold = margin("--store", alice, "table", "codes", "--coder", "gold", "--csv")
        XCTAssertTrue(gold.out.contains("mobilisation/cadres,1,1"), gold.out)
        let after = margin("--store", alice, "compare", record)
        XCTAssertEqual(after.out.components(separatedBy: "[settled]").count - 1, 2, after.out)
        // Again: nothing left to settle; decisions reach bob.
        XCTAssertTrue(margin("--store", alice, "adjudicate", record, "--take", "both").out.contains("0 disagreements to settle"))
        try carry(from: alice, to: bob)
        let values = margin("--store", bob, "table", "values", "--code", "cadres", "--coder", "gold")
        XCTAssertTrue(values.out.contains("1055"), values.out + values.err)
        XCTAssertEqual(margin("--store", alice, "adjudicate", record, "--take", "mine").code, 64)
    }

    /// The README says an adjudication is one transaction; its decisions
    /// were committed one at a time. One `undo --last` takes them all back.
    func testAnAdjudicationsDecisionsAreOneWrite() throws {
        let before = margin("--store", alice, "compare", record).out
        XCTAssertEqual(margin("--store", alice, "adjudicate", record).code, 0)   // the agreements: a write of their own
        let a = marginArgs(["--store", alice, "adjudicate", record], input: ["2", "1"])
        XCTAssertTrue(a.out.contains("2 decided"), a.out)
        XCTAssertEqual(margin("--store", alice, "compare", record).out.components(separatedBy: "[settled]").count - 1, 2)
        let undo = margin("--store", alice, "undo", "--last")
        XCTAssertEqual(undo.code, 0, undo.err)
        let after = margin("--store", alice, "compare", record).out
        XCTAssertEqual(after.components(separatedBy: "[settled]").count - 1, 0, after)
        XCTAssertEqual(before.components(separatedBy: "disagreements").count, after.components(separatedBy: "disagreements").count)
    }

    func testTablesInEveryForm() throws {
        let codes = margin("--store", alice, "table", "codes", "--by", "place")
        XCTAssertEqual(codes.code, 0, codes.err)
        XCTAssertTrue(codes.out.contains("mobilisation/party-members"), codes.out)
        let values = margin("--store", alice, "table", "values", "--code", "cadres", "--json")
        let rows = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(values.out.utf8)) as? [[String: Any]])
        // Issue 24: one figure coded by two coders was summed as 2105
        // (1055 + 1050); each coder's layer is its own row.
        XCTAssertEqual(rows.count, 2, values.out)
        XCTAssertEqual(rows.first { $0["layer"] as? String == "alice" }?["sum"] as? Double, 1055)
        XCTAssertEqual(rows.first { $0["layer"] as? String == "bob" }?["sum"] as? Double, 1050)
        XCTAssertEqual(rows.first?["values"] as? Double, 1)
        let co = margin("--store", alice, "table", "cooccur", "--csv")
        XCTAssertTrue(co.out.hasPrefix("layer,code,with,records\r\n"), co.out)
        XCTAssertEqual(margin("--store", alice, "table", "values").code, 64, "values needs --code")
        XCTAssertEqual(margin("--store", alice, "table", "sums").code, 64)
        XCTAssertEqual(TableCommand.number("1.2萬"), 12_000)
        XCTAssertEqual(TableCommand.number("1,500人"), 1_500)
        XCTAssertNil(TableCommand.number("三十七"))
        XCTAssertNil(TableCommand.number("1.2.3"))
    }

    /// Issue 24: sums printed as binary floating point (0.1 + 0.2 gave
    /// 0.30000000000000004; 11000.300000000001 was observed).
    func testValueSumsAreExactDecimals() throws {
        let c = try folder("c")
        XCTAssertEqual(margin("--store", c, "init", "--name", "carol").code, 0)
        let report = dir.appendingPathComponent("sum.txt").path
        try "全縣投入0.1噸消毒液,另有0.2噸物資送達。".write(toFile: report, atomically: true, encoding: .utf8)
        let rid = try XCTUnwrap(firstID(margin("--store", c, "import", report).out, after: "imported"))
        XCTAssertEqual(margin("--store", c, "codes", "add", "figures").code, 0)
        for (quote, value) in [("0.1噸", "0.1"), ("0.2噸", "0.2")] {
            XCTAssertEqual(margin("--store", c, "annotate", rid, "--code", "figures", "--quote", quote, "--value", value).code, 0)
        }
        let csv = margin("--store", c, "table", "values", "--code", "figures", "--csv")
        XCTAssertEqual(csv.code, 0, csv.err)
        XCTAssertTrue(csv.out.contains("\r\ncarol,0.3,2,"), csv.out)   // binary floating point gave 0.30000000000000004
    }

    func testExportsOtherToolsRead() throws {
        let csv = margin("--store", alice, "export", "--format", "csv", "--excel")
        XCTAssertEqual(csv.code, 0, csv.err)
        XCTAssertTrue(csv.out.hasPrefix("\u{FEFF}record,title,place,published,code,start,end,quote,value,note,status,author,reviewer\r\n"))
        XCTAssertEqual(csv.out.components(separatedBy: "\r\n").count - 2, 6, "one row per annotation")

        let w3c = margin("--store", alice, "export", "--format", "w3c")
        let collection = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(w3c.out.utf8)) as? [String: Any])
        XCTAssertEqual(collection["type"] as? String, "AnnotationCollection")
        let items = try XCTUnwrap((collection["first"] as? [String: Any])?["items"] as? [[String: Any]])
        XCTAssertEqual(items.count, 6)
        for item in items {
            // The model's required properties.
            XCTAssertEqual(item["@context"] as? String, "http://www.w3.org/ns/anno.jsonld")
            XCTAssertEqual(item["type"] as? String, "Annotation")
            XCTAssertNotNil(item["id"] as? String)
            let target = try XCTUnwrap(item["target"] as? [String: Any])
            let selectors = try XCTUnwrap(target["selector"] as? [[String: Any]])
            XCTAssertEqual(Set(selectors.compactMap { $0["type"] as? String }), ["TextPositionSelector", "TextQuoteSelector"])
        }

        let doccano = margin("--store", alice, "export", "--format", "doccano")
        let line = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(doccano.out.split(separator: "\n")[0].utf8)) as? [String: Any])
        let text = try XCTUnwrap(line["text"] as? String)
        let labels = try XCTUnwrap(line["label"] as? [[Any]])
        XCTAssertEqual(labels.count, 6)
        for l in labels {
            let s = try XCTUnwrap(l[0] as? Int), e = try XCTUnwrap(l[1] as? Int)
            XCTAssertFalse(String(String.UnicodeScalarView(Array(text.unicodeScalars)[s..<e])).isEmpty)
        }
        XCTAssertEqual(margin("--store", alice, "export", "--format", "brat").code, 64, "brat needs a folder")
        XCTAssertEqual(margin("--store", alice, "export", "--format", "pdf").code, 64)
    }

    /// brat counts characters as its Python strings do, code points: a
    /// quote after an astral character is found at the same offsets.
    func testBratOffsetsAreCodePointsAcrossAstralCharacters() throws {
        let store = try folder("astral")
        XCTAssertEqual(margin("--store", store, "init", "--name", "carol").code, 0)
        XCTAssertEqual(margin("--store", store, "codes", "add", "party members").code, 0)
        let file = dir.appendingPathComponent("astral.txt")
        try Data("𠀀𠀁縣:共有159名黨員參加。\n".utf8).write(to: file)
        let rid = try XCTUnwrap(firstID(margin("--store", store, "import", "--raw", file.path).out, after: "imported"))
        XCTAssertEqual(margin("--store", store, "annotate", rid, "--code", "party members", "--quote", "159名黨員", "--value", "159").code, 0)
        let out = dir.appendingPathComponent("brat").path
        XCTAssertEqual(margin("--store", store, "export", "--format", "brat", "-o", out).code, 0)
        let files = try FileManager.default.contentsOfDirectory(atPath: out)
        let ann = try XCTUnwrap(files.first { $0.hasSuffix(".ann") })
        let annText = try String(contentsOfFile: (out as NSString).appendingPathComponent(ann), encoding: .utf8)
        XCTAssertTrue(annText.hasPrefix("T1\tparty_members 6 12\t159名黨員\n"), annText)
        XCTAssertTrue(annText.contains("#1\tAnnotatorNotes T1\tvalue: 159"), annText)
        let body = try String(contentsOfFile: (out as NSString).appendingPathComponent(ann.replacingOccurrences(of: ".ann", with: ".txt")), encoding: .utf8)
        let scalars = Array(body.unicodeScalars)
        XCTAssertEqual(String(String.UnicodeScalarView(scalars[6..<12])), "159名黨員", "Python's body[6:12]")
        XCTAssertTrue(try String(contentsOfFile: (out as NSString).appendingPathComponent("annotation.conf"), encoding: .utf8).contains("[entities]\nparty_members\n"))
    }

    func testCodebookImportTakesCSVWithAHeader() throws {
        let store = try folder("csv")
        XCTAssertEqual(margin("--store", store, "init", "--name", "dave").code, 0)
        let file = dir.appendingPathComponent("codes.csv")
        try Data("name,parent,colour,description\nfigures,,blue,\"Counted figures, of any kind\"\nvolunteers,figures,,\"Volunteers, as \"\"志愿者\"\"\"\n".utf8).write(to: file)
        let r = margin("--store", store, "codes", "import", file.path)
        XCTAssertEqual(r.code, 0, r.err)
        let list = margin("--store", store, "codes", "list", "--json").out
        XCTAssertTrue(list.contains("\"name\":\"volunteers\""), list)
        XCTAssertTrue(list.contains("Counted figures, of any kind"), list)
        XCTAssertTrue(list.contains("Volunteers, as \\\"志愿者\\\""), list)
        XCTAssertFalse(list.contains("\"name\":\"name\""), "the header is not a code")
    }
}

/// REFI-QDA: the zip, the XML, and a project that goes out and comes back.
final class REFITests: CLITestCase {
    func testCRC32AndZipAgainstTheirCheckValues() throws {
        XCTAssertEqual(CRC32.checksum(Array("123456789".utf8)), 0xCBF4_3926, "the CRC-32/ISO-HDLC check value")
        XCTAssertEqual(CRC32.checksum([]), 0)
        let entries = [Zip.Entry(name: "a.txt", data: Array("共有159名黨員".utf8)), Zip.Entry(name: "dir/空.txt", data: [])]
        let archive = try Zip.archive(entries)
        XCTAssertEqual(try Zip.entries(archive), entries)
        var damaged = archive
        damaged[40] ^= 0xFF
        XCTAssertThrowsError(try Zip.entries(damaged))
        // The system's unzip, when present, tests the archive too.
        let unzip = ["/usr/bin/unzip", "/bin/unzip"].first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let unzip else { throw XCTSkip("no unzip on this machine to cross-check the archive") }
        let file = dir.appendingPathComponent("t.zip")
        try Data(archive).write(to: file)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: unzip)
        p.arguments = ["-tq", file.path]
        p.standardOutput = FileHandle.nullDevice
        try p.run(); p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0)
    }

    /// Zip's end record counts entries in 16 bits and offsets in 32: the
    /// writer refuses the entry past 65,535 (ZIP64, which Margin does not
    /// write) instead of writing an archive whose count wrapped.
    func testTheZipWriterRefusesWhatNeedsZIP64() throws {
        var written = 0
        var writer = Zip.Writer { written += $0.count }
        for n in 0..<65_535 { try writer.add(name: String(n), data: []) }
        XCTAssertThrowsError(try writer.add(name: "one more", data: [])) { error in
            XCTAssertTrue(MarginError.message(for: error).contains("65,535"), "\(error)")
        }
        try writer.finish()
        XCTAssertGreaterThan(written, 65_535 * 30)
    }

    func testXMLReaderDecodesWhatTheWriterEscapes() throws {
        let text = "a<b>&\"c\"\n\t'd' 黨"
        let root = try XML.parse("<?xml version=\"1.0\"?><!-- c --><x:R xmlns:x=\"u\" v=\"\(XML.escape(text))\"><C>\(XML.escape(text))</C><![CDATA[<raw>]]></x:R>")
        XCTAssertEqual(root.name, "R")
        XCTAssertEqual(root.attributes["v"], text)
        XCTAssertEqual(root.child("C")?.text, text)
        XCTAssertEqual(root.text, "<raw>")
        XCTAssertThrowsError(try XML.parse("<a><b></a>"))
        XCTAssertThrowsError(try XML.parse("<a>&bogus;</a>"))
    }

    func testAProjectRoundTripsThroughREFI() throws {
        let a = try folder("a")
        XCTAssertEqual(margin("--store", a, "init", "--name", "alice").code, 0)
        XCTAssertEqual(margin("--store", a, "codes", "import", CLITestCase.samples.appendingPathComponent("codebook.tsv").path).code, 0)
        let r = margin("--store", a, "import", CLITestCase.samples.appendingPathComponent("reports/01-maduo-checkpoints.txt").path)
        let rid = try XCTUnwrap(firstID(r.out, after: "imported"))
        XCTAssertEqual(margin("--store", a, "annotate", rid, "--code", "party-members", "--quote", "38名党员干部", "--value", "38").code, 0)
        XCTAssertEqual(margin("--store", a, "note", rid, "--quote", "7個交通卡點", "a note & <markup>").code, 0)
        XCTAssertEqual(margin("--store", a, "annotate", rid, "--code", "cadres", "--quote", "機關幹部212名", "--value", "212").code, 0)
        let qdpx = dir.appendingPathComponent("project.qdpx").path
        let e = margin("--store", a, "export", "--format", "refi", "-o", qdpx)
        XCTAssertEqual(e.code, 0, e.err)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.contains(".margin-") }, [],
                       "no spool or temporary file is left beside the project")
        // A place it cannot write: one line, exit 1, nothing left behind.
        let bad = margin("--store", a, "export", "--format", "refi", "-o", dir.appendingPathComponent("no-such-folder/p.qdpx").path)
        XCTAssertEqual(bad.code, 1)
        XCTAssertEqual(bad.err.split(separator: "\n").count, 1, bad.err)
        XCTAssertTrue(bad.err.contains("cannot write"), bad.err)
        // Python's zipfile, which QualCoder reads projects with, checks
        // every entry's CRC; unzip tests the archive as well.
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") {
            XCTAssertEqual(try CLITestCase.runCommand("/usr/bin/python3", ["-c", "import sys, zipfile; sys.exit(zipfile.ZipFile(sys.argv[1]).testzip() is not None)", qdpx]), 0)
        }
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/unzip") {
            XCTAssertEqual(try CLITestCase.runCommand("/usr/bin/unzip", ["-tq", qdpx]), 0)
        }

        // The project's required elements and attributes (REFI-QDA Project.xsd, 1.0).
        let entries = try Zip.entries(Array(try Data(contentsOf: URL(fileURLWithPath: qdpx))))
        let qde = try XCTUnwrap(entries.first { $0.name == "project.qde" })
        let project = try XML.parse(String(decoding: qde.data, as: UTF8.self))
        XCTAssertEqual(project.name, "Project")
        XCTAssertNotNil(project.attributes["name"])
        let guid = try NSRegularExpression(pattern: "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
        func isGUID(_ s: String?) -> Bool { s.map { guid.firstMatch(in: $0, range: NSRange($0.startIndex..., in: $0)) != nil } ?? false }
        let codes = project.descendants("Code")
        XCTAssertFalse(codes.isEmpty)
        for c in codes { XCTAssertTrue(isGUID(c.attributes["guid"])); XCTAssertNotNil(c.attributes["name"]); XCTAssertEqual(c.attributes["isCodable"], "true") }
        let sources = project.descendants("TextSource")
        XCTAssertEqual(sources.count, 1)
        for s in sources {
            XCTAssertTrue(isGUID(s.attributes["guid"]))
            let path = try XCTUnwrap(s.attributes["plainTextPath"])
            XCTAssertTrue(entries.contains { "internal://" + $0.name.dropFirst("sources/".count) == path }, "the source text is in the archive")
        }
        let selections = project.descendants("PlainTextSelection")
        XCTAssertEqual(selections.count, 3)
        for s in selections {
            XCTAssertTrue(isGUID(s.attributes["guid"]))
            XCTAssertNotNil(Int(s.attributes["startPosition"] ?? ""))
            XCTAssertNotNil(Int(s.attributes["endPosition"] ?? ""))
            for ref in s.descendants("CodeRef") { XCTAssertTrue(codes.contains { $0.attributes["guid"] == ref.attributes["targetGUID"] }) }
        }

        // Into a fresh store: the same codes, spans, values and notes, by the same author.
        let b = try folder("b")
        XCTAssertEqual(margin("--store", b, "init", "--name", "reader").code, 0)
        let i = margin("--store", b, "import", qdpx)
        XCTAssertEqual(i.code, 0, i.err)
        XCTAssertTrue(i.out.contains("1 records (0 already present)"), i.out)
        func shape(_ store: String) throws -> [String] {
            let out = margin("--store", store, "export", "--format", "csv").out
            return out.components(separatedBy: "\r\n").dropFirst().filter { !$0.isEmpty }.map { line in
                // record, code, start, end, quote, value, note, author: the fields that must survive
                let f = line.components(separatedBy: ",")
                return [f[0], f[4], f[5], f[6], f[7], f[8], f[9], f[11]].joined(separator: "|")
            }.sorted()
        }
        XCTAssertEqual(try shape(b), try shape(a))
        // Twice changes nothing.
        XCTAssertTrue(margin("--store", b, "import", qdpx).out.contains("0 annotations imported"))

        // The codebook alone, as .qdc, into another fresh store.
        let qdc = dir.appendingPathComponent("codes.qdc").path
        XCTAssertEqual(margin("--store", a, "codes", "export", "--format", "refi", "-o", qdc).code, 0)
        let c = try folder("c")
        XCTAssertEqual(margin("--store", c, "init", "--name", "carol").code, 0)
        let ci = margin("--store", c, "codes", "import", qdc)
        XCTAssertEqual(ci.code, 0, ci.err)
        // Names, parents, colours and descriptions; REFI has no place for Margin's trigger words.
        func withoutTriggers(_ store: String) -> [String] {
            margin("--store", store, "codes", "export").out.split(separator: "\n").map { $0.split(separator: "\t", omittingEmptySubsequences: false).prefix(4).joined(separator: "\t") }
        }
        XCTAssertEqual(withoutTriggers(c), withoutTriggers(a))
    }
}

final class W3CRoundTripTests: CLITestCase {
    func testW3CExportReimportsIntoAFreshStoreHoldingTheReports() throws {
        let report = CLITestCase.samples.appendingPathComponent("reports/02-luxian-volunteers.txt").path
        let a = try folder("a")
        XCTAssertEqual(margin("--store", a, "init", "--name", "alice").code, 0)
        XCTAssertEqual(margin("--store", a, "codes", "import", CLITestCase.samples.appendingPathComponent("codebook.tsv").path).code, 0)
        let rid = try XCTUnwrap(firstID(margin("--store", a, "import", report).out, after: "imported"))
        let text = margin("--store", a, "show", rid, "--json").out
        let body = try XCTUnwrap((try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])?["body"] as? String)
        // Two figures of the report, whatever they are: its first two runs of digits.
        let digits = try NSRegularExpression(pattern: "[0-9]+").matches(in: body, range: NSRange(body.startIndex..., in: body)).prefix(2)
        XCTAssertEqual(digits.count, 2)
        for (i, m) in digits.enumerated() {
            let figure = (body as NSString).substring(with: m.range)
            let occurrences = body.components(separatedBy: figure).count - 1
            var args = ["--store", a, "annotate", rid, "--code", i == 0 ? "volunteers" : "party-members", "--quote", figure, "--value", figure]
            if occurrences > 1 { args += ["--occurrence", "1"] }
            XCTAssertEqual(marginArgs(args).code, 0)
        }
        XCTAssertEqual(margin("--store", a, "note", rid, "checked against the printed edition").code, 0)
        let file = dir.appendingPathComponent("a.jsonld").path
        XCTAssertEqual(margin("--store", a, "export", "--format", "w3c", "-o", file).code, 0)

        let b = try folder("b")
        XCTAssertEqual(margin("--store", b, "init", "--name", "bob").code, 0)
        let refused = margin("--store", b, "import", file)
        XCTAssertEqual(refused.code, 1)
        XCTAssertTrue(refused.err.contains("is not in this store (import its report first)"), refused.err)
        XCTAssertEqual(margin("--store", b, "import", report).code, 0)
        let r = margin("--store", b, "import", file)
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertTrue(r.out.contains("3 imported, 0 already present, 3 codes added"), r.out)   // mobilisation, and volunteers and party-members under it
        func shape(_ store: String) -> [String] {
            margin("--store", store, "export", "--format", "csv").out.components(separatedBy: "\r\n").dropFirst().filter { !$0.isEmpty }.map { line in
                let f = line.components(separatedBy: ",")
                return [f[0], f[4], f[5], f[6], f[7], f[8], f[9], f[11]].joined(separator: "|")
            }.sorted()
        }
        XCTAssertEqual(shape(b), shape(a))
        XCTAssertTrue(margin("--store", b, "import", file).out.contains("0 imported, 3 already present"))
    }

    /// `true` and 0.5 were read as the offsets 1 and 0.
    func testW3COffsetsThatAreNotWholeNumbersAreRefused() throws {
        XCTAssertEqual(margin("init", "--name", "alice").code, 0)
        let report = dir.appendingPathComponent("r.txt").path
        try "共有159名黨員參加防疫工作。".write(toFile: report, atomically: true, encoding: .utf8)
        let rid = try XCTUnwrap(firstID(margin("import", report).out, after: "imported"))
        let full = try resolveFull(rid)
        for (start, end) in [("true", "3"), ("0.5", "3"), ("\"0\"", "3")] {
            let file = dir.appendingPathComponent("bad.jsonld").path
            try """
                {"type": "Annotation", "body": {"purpose": "commenting", "value": "n"},
                 "target": {"source": "urn:margin:record:\(full)", "selector": {"type": "TextPositionSelector", "start": \(start), "end": \(end)}}}
                """.write(toFile: file, atomically: true, encoding: .utf8)
            let r = margin("import", file)
            XCTAssertEqual(r.code, 1, "\(start): \(r.out)")
            XCTAssertTrue(r.err.contains("must be whole numbers"), r.err)
        }
        XCTAssertTrue(margin("list", "--annotations", "--json").out.isEmpty)
    }

    /// A .jsonld import made new ids, so importing a colleague's export
    /// and then syncing with them doubled every annotation; and a second
    /// annotation on the same span and code with another value was dropped.
    func testW3CImportKeepsTheExportedIdsAndAnnotationsThatDifferInValue() throws {
        let a = try folder("a"), b = try folder("b")
        let report = dir.appendingPathComponent("r.txt").path
        try "全縣共有1055名網格員參加防疫工作。".write(toFile: report, atomically: true, encoding: .utf8)
        var imported: [String] = []
        for (store, name) in [(a, "alice"), (b, "bob")] {
            XCTAssertEqual(margin("--store", store, "init", "--name", name).code, 0)
            imported.append(margin("--store", store, "import", report).out)
        }
        let rid = try XCTUnwrap(firstID(imported[0], after: "imported"))
        XCTAssertEqual(margin("--store", a, "codes", "add", "cadres").code, 0)
        XCTAssertEqual(margin("--store", a, "annotate", rid, "--code", "cadres", "--quote", "1055名網格員", "--value", "1055").code, 0)
        XCTAssertEqual(margin("--store", a, "annotate", rid, "--code", "cadres", "--quote", "1055名網格員", "--value", "1050", "--again").code, 0)
        let file = dir.appendingPathComponent("a.jsonld").path
        XCTAssertEqual(margin("--store", a, "export", "--format", "w3c", "-o", file).code, 0)
        let r = margin("--store", b, "import", file)
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertTrue(r.out.contains("2 imported"), r.out)
        func ids(_ store: String) -> [String] {
            margin("--store", store, "list", "--annotations", "--json").out.split(separator: "\n").compactMap { line in
                (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["id"] as? String
            }.sorted()
        }
        XCTAssertEqual(ids(b), ids(a))
        let bundle = dir.appendingPathComponent("a.bundle").path
        XCTAssertEqual(margin("--store", a, "export", "--log", "-o", bundle).code, 0)
        XCTAssertEqual(margin("--store", b, "import", bundle).code, 0)
        XCTAssertEqual(ids(b).count, 2, "no annotation twice after the sync")
    }

    func resolveFull(_ prefix: String) throws -> String {
        let o = try JSONSerialization.jsonObject(with: Data(margin("show", prefix, "--json").out.utf8)) as? [String: Any]
        return try XCTUnwrap(o?["id"] as? String)
    }
}

/// The toolkit on the seed reports (other real reports of the same kind),
/// when `../shared/seeds` is there.
final class TeamSeedTests: CLITestCase {
    func testEveryTeamCommandWorksOnTheSeeds() throws {
        guard FileManager.default.fileExists(atPath: CLITestCase.seeds.path) else { throw XCTSkip("../shared/seeds is not here; the seeds are tried in CI") }
        let alice = try folder("alice"), bob = try folder("bob")
        for (store, name) in [(alice, "alice"), (bob, "bob")] {
            XCTAssertEqual(margin("--store", store, "init", "--name", name).code, 0)
            XCTAssertEqual(margin("--store", store, "codes", "import", CLITestCase.samples.appendingPathComponent("codebook.tsv").path).code, 0)
            XCTAssertEqual(margin("--store", store, "import", "--quiet", CLITestCase.seeds.path).code, 0)
            // Each takes margin's suggestions as their own coding, one with a fallback code.
            XCTAssertEqual(marginArgs(["--store", store, "suggest", "--all"] + (name == "bob" ? ["--code", "volunteers"] : [])).code, 0)
            XCTAssertEqual(margin("--store", store, "review", "--accept", "--status", "suggested", "--with-code", "volunteers", "--yes").code, 0)
            let seeded = margin("--store", store, "list", "--json").out.split(separator: "\n").compactMap {
                (try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["id"] as? String
            }
            XCTAssertEqual(marginArgs(["--store", store, "done"] + seeded).code, 0)
        }
        let bundle = dir.appendingPathComponent("bob.bundle").path
        XCTAssertEqual(margin("--store", bob, "export", "--log", "-o", bundle).code, 0)
        XCTAssertEqual(margin("--store", alice, "import", bundle).code, 0)
        let agree = margin("--store", alice, "agree", "--json")
        XCTAssertEqual(agree.code, 0, agree.err)
        let report = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(agree.out.utf8)) as? [String: Any])
        XCTAssertGreaterThan(report["records"] as? Int ?? 0, 0)
        let record = try XCTUnwrap(margin("--store", alice, "list", "--json").out.split(separator: "\n").first.flatMap {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["id"] as? String })
        XCTAssertEqual(margin("--store", alice, "compare", record).code, 0)
        XCTAssertEqual(margin("--store", alice, "adjudicate", record, "--take", "first").code, 0)
        for table in [["codes", "--by", "place"], ["cooccur"], ["values", "--code", "party-members", "--by", "month"]] {
            XCTAssertEqual(marginArgs(["--store", alice, "table"] + table + ["--csv"]).code, 0, "\(table)")
        }
        for format in ["csv", "w3c", "doccano"] { XCTAssertEqual(margin("--store", alice, "export", "--format", format).code, 0, format) }
        XCTAssertEqual(margin("--store", alice, "export", "--format", "brat", "-o", dir.appendingPathComponent("brat").path).code, 0)
        let qdpx = dir.appendingPathComponent("seeds.qdpx").path
        XCTAssertEqual(margin("--store", alice, "export", "--format", "refi", "-o", qdpx).code, 0)
        let fresh = try folder("fresh")
        XCTAssertEqual(margin("--store", fresh, "init", "--name", "reader").code, 0)
        XCTAssertEqual(margin("--store", fresh, "import", qdpx).code, 0)
        let spans = { (store: String) in self.margin("--store", store, "list", "--annotations", "--json").out.split(separator: "\n").filter { $0.contains("\"start\"") }.count }
        XCTAssertEqual(spans(fresh), spans(alice), "every span went out and came back")
    }
}

/// Issue 24, "Exports": CSV read back by Python's `csv` module, a reader
/// Margin did not write.
final class CSVExportTests: CLITestCase {
    /// A note holding CR LF went out unquoted ("\r\n" is one Character, equal
    /// to neither "\n" nor "\r"): 89 annotations read back as 93 rows.
    /// With --excel, a note starting `=` was a live formula.
    func testFieldsWithCRLFAreQuotedAndExcelFormulasNeutralised() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") || FileManager.default.isExecutableFile(atPath: "/usr/local/bin/python3")
                || (try? CLITestCase.runCommand("/usr/bin/env", ["python3", "-c", "pass"])) == 0 else {
            throw XCTSkip("python3 is not installed: its csv module is the reader this test uses")
        }
        XCTAssertEqual(margin("init", "--name", "alice").code, 0)
        let report = dir.appendingPathComponent("r.txt").path
        try "共有159名黨員參加防疫工作。".write(toFile: report, atomically: true, encoding: .utf8)
        let rid = try XCTUnwrap(firstID(margin("import", report).out, after: "imported"))
        let notes = ["two\r\nlines", "=HYPERLINK(\"http://example.invalid\",\"x\")", "+1", "-2", "@sum", "plain, with a comma", "quote \" inside"]
        for n in notes { XCTAssertEqual(margin("note", rid, n).code, 0) }
        for (excel, file) in [(false, "plain.csv"), (true, "excel.csv")] {
            let path = dir.appendingPathComponent(file).path
            XCTAssertEqual(marginArgs(["export", "--format", "csv", "-o", path] + (excel ? ["--excel"] : [])).code, 0)
            let script = """
                import csv, json, sys
                with open(sys.argv[1], newline='', encoding='utf-8-sig') as f:
                    rows = list(csv.reader(f))
                print(json.dumps([r[9] for r in rows[1:]]))
                """
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            p.arguments = ["python3", "-c", script, path]
            let pipe = Pipe()
            p.standardOutput = pipe
            try p.run()
            let data = pipe.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            let read = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String])
            XCTAssertEqual(read.count, notes.count, "\(file): \(read)")
            // The notes as the store holds them, from its JSON Lines export.
            let stored = try margin("export").out.split(separator: "\n").compactMap { line -> String? in
                let o = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
                return o?["type"] as? String == "annotation" ? o?["note"] as? String : nil
            }
            XCTAssertEqual(stored.count, notes.count)
            XCTAssertTrue(stored.contains { $0.contains("\r\n") || $0.contains("\n") })
            let expected = stored.map { n -> String in
                guard excel, let first = n.unicodeScalars.first, ["=", "+", "-", "@"].contains(first) else { return n }
                return "'" + n
            }
            XCTAssertEqual(Set(read), Set(expected), file)
        }
    }
}

/// Issue 24, "Exports": brat standoff, read by brat's own rule for a
/// text-bound annotation (its reader joins the fragments' texts with one
/// space and requires the line's text field to equal them).
final class BratExportTests: CLITestCase {
    /// A brat export that cannot be written says so in one line, exits 1
    /// and leaves what was there: a file named as the folder, or a folder
    /// that cannot be made.
    func testAFolderThatCannotBeWrittenIsOneLineAndChangesNothing() throws {
        XCTAssertEqual(margin("init", "--name", "alice").code, 0)
        let raw = dir.appendingPathComponent("r.txt").path
        try "共有159名黨員。".write(toFile: raw, atomically: true, encoding: .utf8)
        XCTAssertEqual(margin("import", "--raw", raw).code, 0)
        let file = dir.appendingPathComponent("taken").path
        try "mine".write(toFile: file, atomically: true, encoding: .utf8)
        for (target, expected) in [(file, "is a file"), ("/proc/margin-no-such/brat", "/proc/margin-no-such")] {
            let r = margin("export", "--format", "brat", "-o", target)
            XCTAssertEqual(r.code, 1, r.err)
            XCTAssertEqual(r.err.split(separator: "\n").count, 1, r.err)
            XCTAssertTrue(r.err.contains(expected) && !r.err.contains("Domain"), r.err)
        }
        XCTAssertEqual(try String(contentsOfFile: file, encoding: .utf8), "mine")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.contains("margin-export") }, [])
        // Into a folder that holds files already: the export's are added.
        let out = dir.appendingPathComponent("brat").path
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        try "keep".write(toFile: out + "/notes.md", atomically: true, encoding: .utf8)
        XCTAssertEqual(margin("export", "--format", "brat", "-o", out).code, 0)
        let names = try FileManager.default.contentsOfDirectory(atPath: out)
        XCTAssertTrue(names.contains("notes.md") && names.contains("annotation.conf") && names.filter { $0.hasSuffix(".txt") }.count == 1, "\(names)")
    }

    func testSpansAcrossLineBreaksAreDiscontinuousAndNoAnnLineHoldsACROrLF() throws {
        guard (try? CLITestCase.runCommand("/usr/bin/env", ["python3", "-c", "pass"])) == 0 else {
            throw XCTSkip("python3 is not installed: the brat check is written in it, as brat is")
        }
        XCTAssertEqual(margin("init", "--name", "alice").code, 0)
        XCTAssertEqual(margin("codes", "add", "grid").code, 0)
        let lf = dir.appendingPathComponent("lf.txt").path, crlf = dir.appendingPathComponent("crlf.txt").path
        try "全面织密防控网络。\n\n网格员158名,𠀀共有159名黨員。".write(toFile: lf, atomically: true, encoding: .utf8)
        try "第一行,共有16個臨時黨支部。\r\n第二行,共有354名幹部。".write(toFile: crlf, atomically: true, encoding: .utf8)
        for file in [lf, crlf] {
            let rid = try XCTUnwrap(firstID(margin("import", "--raw", file).out, after: "imported"))
            let body = try XCTUnwrap((try JSONSerialization.jsonObject(with: Data(margin("show", rid, "--json").out.utf8)) as? [String: Any])?["body"] as? String)
            let scalars = Array(body.unicodeScalars)
            // A span from the line before the break into the line after it.
            let breakAt = try XCTUnwrap(scalars.firstIndex { $0 == "\n" || $0 == "\r" })
            let r = margin("annotate", rid, "--code", "grid", "--range", "\(breakAt - 3)..\(breakAt + 5)", "--note", "across\r\nlines")
            XCTAssertEqual(r.code, 0, r.err)
            XCTAssertEqual(margin("annotate", rid, "--code", "grid", "--range", "0..2").code, 0)
        }
        let out = dir.appendingPathComponent("brat").path
        XCTAssertEqual(margin("export", "--format", "brat", "-o", out).code, 0)
        let check = """
            import glob, os, sys
            spans = 0
            for ann in glob.glob(os.path.join(sys.argv[1], '*.ann')):
                txt = open(ann[:-4] + '.txt', encoding='utf-8', newline='').read()
                raw = open(ann, 'rb').read()
                assert b'\\r' not in raw, ann + ': a CR inside the .ann'
                for line in raw.decode('utf-8').split('\\n'):
                    if not line.startswith('T'):
                        continue
                    tid, typeoffsets, text = line.split('\\t')
                    offsets = [tuple(map(int, o.split(' '))) for o in typeoffsets.split(' ', 1)[1].split(';')]
                    joined = ' '.join(txt[s:e] for s, e in offsets)
                    assert joined == text, '%s: %r does not match marked span(s) %r' % (tid, text, joined)
                    spans += 1
            print(spans)
            """
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", check, out]
        let pipe = Pipe(), errPipe = Pipe()
        p.standardOutput = pipe
        p.standardError = errPipe
        try p.run()
        let printed = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let err = String(decoding: errPipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, err)
        XCTAssertEqual(printed.trimmingCharacters(in: .whitespacesAndNewlines), "4", err)
    }
}
