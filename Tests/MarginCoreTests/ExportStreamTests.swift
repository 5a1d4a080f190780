import Foundation
@testable import MarginCore
import MarginTestSupport
import XCTest

/// Whole-store outputs stream (issue 28): the streamed CSV is, byte for
/// byte, what the whole export set writes, with the same rows left out.
final class ExportStreamTests: StoreTestCase {
    /// Records, a merged code, a tag without a span, formula-like notes,
    /// and a span orphaned by a reclean, which every export leaves out.
    func exportedStore() throws -> Store {
        checkStoresAtTheEnd = false   // the orphan is left on purpose: `check` names it
        let s = try makeStore("a")
        let (first, _) = try s.importReport(RecordIdentityTests.olderCleaning(RecordIdentityTests.report))
        let (second, _) = try s.importReport(ReportDraft(body: "全县共有16名党员,\"志愿者\"38人。", title: "=第二份, 报告"))
        let teams = try s.addCode(name: "teams", description: nil, colour: nil, parent: nil)
        let old = try s.addCode(name: "old-teams", description: nil, colour: nil, parent: nil)
        _ = try s.annotate(record: first, code: old, span: .quote("16支", occurrence: nil), value: "16", note: "=SUM(A1)")
        _ = try s.annotate(record: first, code: teams, span: .quote("版权均属本网所有", occurrence: nil), value: nil, note: nil)
        _ = try s.annotate(record: first, code: teams, span: nil, value: nil, note: "a tag, \"quoted\"\r\nover two lines")
        _ = try s.annotate(record: second, code: teams, span: .quote("16名党员", occurrence: nil), value: "16", note: "+1")
        _ = try s.mergeCode(old, into: teams)
        // The reclean orphans the second span: left out by both, and counted.
        _ = try s.reclean(records: [first])
        return s
    }

    /// brat's files and doccano's lines, streamed a record at a time, are
    /// what the whole export set writes: the same names and texts, the same
    /// types, a record with no annotation included, the orphan left out.
    func testTheStreamedBratFilesAndDoccanoLinesAreTheWholeExportSets() throws {
        let s = try exportedStore()
        _ = try s.importReport(ReportDraft(body: "未标注的第三份报告。", title: "第三份"))
        // Lines in list order: a dated report first, an untitled one by
        // id, a deleted one left out.
        _ = try s.importReport(ReportDraft(body: "较早的第四份报告,有日期。", title: "第四份", published: "2022-11-20"))
        _ = try s.importReport(ReportDraft(body: "没有标题的第五份报告。"))
        let (gone, _) = try s.importReport(ReportDraft(body: "已删除的第六份报告。", title: "第六份"))
        _ = try s.delete(record: gone)
        let set = try ExportSet(s)
        let whole = set.brat()
        var streamed: [String: String] = [:]
        let (records, types, left) = try ExportSet.streamBrat(s) { name, text in
            XCTAssertNil(streamed[name], "\(name) written once")
            streamed[name] = text
        }
        XCTAssertEqual(streamed, Dictionary(uniqueKeysWithValues: whole.files.map { ($0.name, $0.text) }))
        XCTAssertEqual(streamed.count, 2 * 5 + 1)
        XCTAssertEqual(types, whole.types)
        XCTAssertEqual(records, set.records.count)
        XCTAssertEqual(left, set.unanchored)
        XCTAssertGreaterThan(left, 0)
        var lines = ""
        XCTAssertEqual(try ExportSet.streamDoccano(s) { lines += $0 }.unanchored, set.unanchored)
        XCTAssertEqual(lines, try set.doccano())
        XCTAssertEqual(lines.split(separator: "\n").count, 5)
        XCTAssertTrue(lines.hasPrefix(#"{"id":"\#(try s.records().first?.id ?? "-")""#), "the dated report first")
        XCTAssertEqual(try s.records().first?.published, "2022-11-20")
    }

    /// The REFI-QDA project is streamed (observed: 312 MB for 4,700
    /// reports and 95,883 annotations): the sources' XML set aside in a
    /// file gives the same archive as in memory, and the archive holds
    /// what the whole export set holds: every record in id order, annotated
    /// or not, each with its spans in export order and its variables; a
    /// colleague's annotations left out under blind coding, and the
    /// unanchored one always.
    func testTheStreamedREFIProjectHoldsTheWholeExportSet() throws {
        let s = try exportedStore()
        let bob = try makeStore("b")
        try exchange(s, bob)
        let third = try s.importReport(ReportDraft(body: "又有12名党员报名参加志愿服务。", title: "第三份", place: "玛多县")).id
        _ = try s.importReport(ReportDraft(body: "没有标注的报告,只有日期。", published: "2022-11-20", meta: ["channel": "微信", "batch": "2"]))
        try exchange(s, bob)
        let code = try XCTUnwrap(try bob.codes().first?.id)
        _ = try bob.annotate(record: third, code: code, span: .quote("12名党员", occurrence: nil), value: "12", note: nil)
        try exchange(s, bob)
        for blind in [false, true] {
            try s.setBlind(blind)
            let set = try ExportSet(s)
            let spool = FileManager.default.temporaryDirectory.appendingPathComponent("refi-spool-\(UUID().uuidString)").path
            var streamed: [UInt8] = []
            let left = try s.writeREFIProject(name: "p", spoolPath: spool) { streamed += $0 }
            XCTAssertFalse(FileManager.default.fileExists(atPath: spool), "the spool is removed")
            XCTAssertEqual(streamed, try s.refiProject(name: "p"), "through a file as in memory")
            XCTAssertEqual(left, set.unanchored)
            XCTAssertEqual(left, 1)

            let entries = try Zip.entries(streamed)
            let project = try XML.parse(String(decoding: try XCTUnwrap(entries.first).data, as: UTF8.self))
            XCTAssertEqual(entries.first?.name, "project.qde")
            let records = set.records.sorted { $0.id < $1.id }
            XCTAssertEqual(records.count, 4)
            let variables = Record.metadataFields.filter { f in records.contains { $0.metadata(f) != nil } } + ["batch", "channel"]
            XCTAssertEqual(project.descendants("Variable").compactMap { $0.attributes["name"] }, variables)
            XCTAssertTrue(variables.contains("place") && variables.contains("published"))
            let sources = project.descendants("TextSource")
            XCTAssertEqual(sources.map { $0.attributes["guid"] }, records.map { REFI.guid("record", $0.id) })
            for (source, record) in zip(sources, records) {
                let spans = set.annotations.filter { $0.record == record.id && $0.span != nil }
                XCTAssertEqual(source.descendants("PlainTextSelection").map { $0.attributes["guid"] }, spans.map { REFI.guid("annotation", $0.id) })
                let text = entries.first { $0.name == "sources/\(REFI.guid("record", record.id)).txt" }
                XCTAssertEqual(text.map { String(decoding: $0.data, as: UTF8.self) }, record.body)
                let values = source.descendants("VariableValue").compactMap { $0.child("TextValue")?.text }
                XCTAssertEqual(values, Record.metadataFields.compactMap { record.metadata($0) } + record.meta.sorted { $0.key < $1.key }.map(\.value))
            }
            XCTAssertEqual(project.descendants("User").compactMap { $0.attributes["name"] }, Set(set.annotations.compactMap(\.author)).sorted())
            XCTAssertEqual(project.descendants("PlainTextSelection").count, blind ? 2 : 3, "bob's span only when not blind")
        }
    }

    /// The JSON Lines export reads annotations a record at a time (its
    /// memory was every annotation's id): the objects still come in the
    /// order of one query over the whole table, by record, span (a
    /// record-level annotation, with none, first) and id, each blind
    /// coder's alone when blind.
    func testTheJSONLinesExportKeepsTheOrderOfOneQueryOverEveryAnnotation() throws {
        let s = try exportedStore()
        let other = try s.importReport(ReportDraft(body: "又有12名党员报名参加志愿服务。", title: "第三份")).id
        let code = try XCTUnwrap(try s.codes().first?.id)
        _ = try s.annotate(record: other, code: code, span: .quote("12名党员", occurrence: nil), value: nil, note: nil)
        _ = try s.annotate(record: other, code: nil, span: nil, value: nil, note: "whole record")
        let ids = { (lines: [String]) in lines.compactMap { try? JSONValue.parse($0).object?["id"]?.string } }
        for author in [nil, s.node.name] {
            let expected = try ["SELECT id FROM codes WHERE deleted = 0 AND name IS NOT NULL ORDER BY id",
                                "SELECT id FROM records WHERE deleted = 0 AND body IS NOT NULL ORDER BY id",
                                "SELECT id FROM annotations WHERE deleted = 0 AND record IS NOT NULL"
                                    + (author == nil ? "" : " AND author = ?") + " ORDER BY record, span_start, id"]
                .flatMap { sql in try s.db.statement(sql).all(sql.contains("author") ? [.text(author ?? "")] : []).compactMap { $0[0].string } }
            XCTAssertEqual(ids(try s.exportLines(onlyAuthor: author)), expected)
            XCTAssertGreaterThan(expected.count, 8)
        }
    }

    func testTheStreamedCSVIsTheCSVOfTheWholeExportSet() throws {
        let s = try exportedStore()
        for excel in [false, true] {
            let set = try ExportSet(s)
            var streamed = ""
            let (rows, left) = try ExportSet.streamCSV(s, excel: excel) { streamed += $0 }
            XCTAssertEqual(streamed, set.csv(excel: excel))
            XCTAssertEqual(rows, set.annotations.count)
            XCTAssertEqual(left, set.unanchored)
            XCTAssertEqual(left, 1)
            XCTAssertEqual(rows, 3)
            XCTAssertTrue(streamed.contains(",teams,"), "the merged code is named as the code it stands for")
        }
    }

    /// The streamed W3C document is, byte for byte, the whole export set's
    /// (observed: 547 MB of memory for 95,883 annotations when the whole
    /// document was built before a byte was written), and a JSON reader
    /// reads it as the collection with every item.
    func testTheStreamedW3CIsTheW3COfTheWholeExportSet() throws {
        let s = try exportedStore()
        let set = try ExportSet(s)
        var streamed = ""
        let (items, left) = try ExportSet.streamW3C(s) { streamed += $0 }
        XCTAssertEqual(streamed, try JSONText.encode(set.w3c()) + "\n")
        XCTAssertEqual(items, set.annotations.count)
        XCTAssertEqual(items, 3)
        XCTAssertEqual(left, set.unanchored)
        let document = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(streamed.utf8)) as? [String: Any])
        XCTAssertEqual(document["total"] as? Int, 3)
        XCTAssertEqual(((document["first"] as? [String: Any])?["items"] as? [Any])?.count, 3)
        // No annotations: an empty page, still a collection.
        let empty = try makeStore("b")
        var none = ""
        XCTAssertEqual(try ExportSet.streamW3C(empty) { none += $0 }.items, 0)
        XCTAssertEqual(none, try JSONText.encode(try ExportSet(empty).w3c()) + "\n")
    }

    /// An annotation's W3C item written straight into text is, byte for
    /// byte, the item's dictionary as the JSON writer writes it, with every
    /// part present or absent: code, value, note (empty counts as absent),
    /// author, span, and text that needs escaping.
    func testAW3CItemWrittenDirectlyIsTheItemsDictionaryAsJSON() throws {
        let spans: [Span?] = [nil, Span(start: 3, end: 9, quote: "159名\"黨員\"", prefix: "共有\n", suffix: "\t參加\\")]
        var n = 0
        for path in [nil, "人员/党员"] as [String?] {
            for value in [nil, "", "159"] as [String?] {
                for note in [nil, "", "核对\r\n两次 \u{1}"] as [String?] {
                    for author in [nil, "alice"] as [String?] {
                        for span in spans {
                            let a = Annotation(id: "a\(n)", record: "r\(n % 3)", code: path == nil ? nil : "c1", codeName: nil, span: span,
                                               value: value, note: note, status: .open, comment: nil, reviewer: nil, author: author,
                                               created: 1_700_000_000_123 + Int64(n), updated: 1_700_000_100_000)
                            var direct: [UInt8] = []
                            ExportSet.writeW3CItem(a, path: path, into: &direct)
                            XCTAssertEqual(String(decoding: direct, as: UTF8.self), try JSONText.encode(ExportSet.w3cItem(a, path: path)), "\(a)")
                            n += 1
                        }
                    }
                }
            }
        }
        XCTAssertEqual(n, 72)
    }

    /// doccano's lines take each record's annotations from one grouping,
    /// not a filter of every annotation per record (observed: 23.5 s for
    /// 4,700 reports and 95,883 annotations): each line holds its record's
    /// spans, in export order, as the filter gave them.
    func testDoccanosLinesHoldEachRecordsSpansInExportOrder() throws {
        let s = try makeStore("a")
        let code = try s.addCode(name: "party-members", description: nil, colour: nil, parent: nil)
        var records: [String] = []
        for n in 0..<4 {
            records.append(try s.importReport(ReportDraft(body: "第\(n)份:共有\(150 + n)名党员,成立\(10 + n)个临时党支部。", title: "报告\(n)")).id)
        }
        // Annotations made across the records in turn, so a record's are not together.
        for round in 0..<3 {
            for (n, r) in records.enumerated() where (n + round) % 3 != 0 {
                let quote = round == 1 ? "\(10 + n)个临时党支部" : "\(150 + n)名党员"
                _ = try s.annotate(record: r, code: code, span: .quote(quote, occurrence: nil), value: nil, note: "round \(round)")
            }
        }
        let set = try ExportSet(s)
        var expected = ""
        for r in set.records {
            let labels: [Any] = set.annotations.filter { $0.record == r.id }.compactMap { a in
                guard let span = a.span, let p = set.path(a) else { return nil }
                return [span.start, span.end, p] as [Any]
            }
            expected += try JSONText.encode(["id": r.id, "text": r.body, "label": labels] as [String: Any]) + "\n"
        }
        XCTAssertEqual(try set.doccano(), expected)
        XCTAssertEqual(try set.doccano().split(separator: "\n").count, 4)
        XCTAssertEqual(set.annotations.count, 8)
        // Streamed, the same lines: the labels gathered by record first,
        // each record read as its line is written.
        var streamed = ""
        let (items, left) = try ExportSet.streamDoccano(s) { streamed += $0 }
        XCTAssertEqual(streamed, expected)
        XCTAssertEqual(items, 8)
        XCTAssertEqual(left, 0)
    }
}
