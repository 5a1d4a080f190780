import Foundation
@testable import MarginCore
import MarginTestSupport
import XCTest

/// Record ids from the report as received (data schema 6), `reclean`, and
/// reposts (issue 26, part 3).
final class RecordIdentityTests: StoreTestCase {
    static let report = SamplePage.qinan

    /// What a cleaner that knew no 网站声明 and took the first line for the
    /// title made of the report: an older release's cleaning, as data.
    static func olderCleaning(_ text: String) -> ReportDraft {
        let lines = text.split(separator: "\n").map(String.init).filter { !$0.isEmpty }
        return ReportDraft(body: ([lines[1]] + lines.dropFirst(3)).joined(separator: "\n\n"), title: lines[0], received: text)
    }

    func parse(_ text: String) throws -> ReportDraft { try ReportFile.parse(Data(text.utf8)).draft }

    func testTheIdIsTheHashOfTheReportAsReceivedWhateverItsLineEndsOrForm() throws {
        let s = try makeStore("a")
        let (id, _) = try s.importReport(try parse(Self.report))
        XCTAssertEqual(id, Store.recordID(received: Self.report))
        XCTAssertNotEqual(id, Store.recordID(body: try XCTUnwrap(s.record(id)).body), "not the hash of the cleaner's output")
        let crlf = "\n  " + Self.report.replacingOccurrences(of: "\n", with: "\r\n") + "\r\n\r\n"
        let nfd = Self.report.decomposedStringWithCanonicalMapping
        for variant in [crlf, nfd] {
            let again = try s.importReport(try parse(variant))
            XCTAssertEqual(again.id, id)
            XCTAssertTrue(again.alreadyPresent)
        }
        XCTAssertEqual(try s.winner(.record, EntityID(stored: id), "received")?.value.string, Store.received(Self.report))
        // PROTOCOL.md §1's worked example (computed with Python's hashlib).
        XCTAssertEqual(Store.recordID(received: "报告\r\n\r\n共有16名党员。\r\n"), "ab8f46d297675b15756034e29ee42ce3")
        let protocolText = try String(contentsOf: Paths.repo.appendingPathComponent("PROTOCOL.md"), encoding: .utf8)
        XCTAssertTrue(protocolText.contains("`ab8f46d297675b15756034e29ee42ce3`"))
    }

    func testTwoStoresWithAnOlderAndANewerCleanerHoldOneRecordAfterSync() throws {
        let older = try makeStore("older"), newer = try makeStore("newer")
        let (a, _) = try older.importReport(Self.olderCleaning(Self.report))
        let (b, _) = try newer.importReport(try parse(Self.report))
        XCTAssertEqual(a, b, "one id for one report, whichever cleaner")
        let code = try older.addCode(name: "teams", description: nil, colour: nil, parent: nil)
        let teams = try older.annotate(record: a, code: code, span: .quote("16支", occurrence: nil), value: "16", note: nil)
        try older.review(annotation: teams, status: .accepted, comment: nil)
        try exchange(older, newer)
        XCTAssertEqual(try older.status().records, 1)
        XCTAssertEqual(try newer.status().records, 1)
        XCTAssertEqual(try older.digest(), try newer.digest())
        // The winning body is one of the two cleanings; the other is a
        // conflict to review, and the annotation holds on its own text.
        let outcome = try newer.reclean(records: [a])
        XCTAssertTrue(outcome[0].orphaned.isEmpty)
        let placed = try XCTUnwrap(newer.annotation(teams)?.span)
        XCTAssertEqual(ScalarText(try XCTUnwrap(newer.record(a)).body).slice(placed.start, placed.end), "16支")
        XCTAssertEqual(try newer.annotation(teams)?.status, .accepted, "the review holds after the move")
        XCTAssertNil(try newer.annotation(teams)?.staleReview)
        try exchange(older, newer)
        XCTAssertEqual(try older.digest(), try newer.digest())
        XCTAssertTrue(try older.unanchoredAnnotations().isEmpty)
    }

    func testRecleanPlacesSpansAndListsWhatItCannotPlace() throws {
        let s = try makeStore("a")
        let (id, _) = try s.importReport(Self.olderCleaning(Self.report))
        let code = try s.addCode(name: "teams", description: nil, colour: nil, parent: nil)
        let moved = try s.annotate(record: id, code: code, span: .quote("16支", occurrence: nil), value: "16", note: nil)
        let gone = try s.annotate(record: id, code: code, span: .quote("版权均属本网所有", occurrence: nil), value: nil, note: nil)
        let tag = try s.annotate(record: id, code: code, span: nil, value: nil, note: nil)
        let before = try XCTUnwrap(s.annotation(moved)?.span)
        let outcome = try XCTUnwrap(s.reclean(records: [id]).first)
        XCTAssertTrue(outcome.cleaned)
        XCTAssertEqual(outcome.moved, [moved])
        XCTAssertEqual(outcome.orphaned, [gone])
        let record = try XCTUnwrap(s.record(id))
        XCTAssertFalse(record.body.contains("网站声明"))
        XCTAssertEqual(record.meta["province"], nil)
        let after = try XCTUnwrap(s.annotation(moved)?.span)
        XCTAssertNotEqual(before.start, after.start, "the body changed before the span")
        XCTAssertEqual(after.quote, "16支")
        XCTAssertNotNil(try s.annotation(gone), "an orphan is kept")
        XCTAssertNil(try s.annotation(tag)?.span)
        XCTAssertEqual(try s.unanchoredAnnotations().map(\.id), [gone])
        // What `show` finds from the record and annotations it holds.
        XCTAssertEqual(Store.unanchored(try s.annotations(record: id), in: record.body), [gone])
        XCTAssertThrowsError(try s.check()) { error in
            XCTAssertTrue(MarginError.message(for: error).contains("not anchored"), MarginError.message(for: error))
        }
        // Placed by hand, the store checks clean again.
        try s.delete(annotation: gone)
        try s.check()
        // Nothing left to do: a second reclean changes nothing.
        let second = try XCTUnwrap(s.reclean(records: [id]).first)
        XCTAssertFalse(second.cleaned)
        XCTAssertTrue(second.moved.isEmpty && second.orphaned.isEmpty)
    }

    func testAQuoteFoundTwiceIsPlacedByItsContextOrOrphaned() {
        let text = ScalarText("甲方共有16支队伍。乙方也有16支队伍。")
        let second = Span(start: 14, end: 17, quote: "16支", prefix: "乙方也有", suffix: "队伍。")
        XCTAssertEqual(Store.place(second, in: text), 14)
        let unclear = Span(start: 0, end: 3, quote: "16支", prefix: "", suffix: "队伍。")
        XCTAssertNil(Store.place(unclear, in: text), "both places agree as well: not placed")
        XCTAssertNil(Store.place(Span(start: 0, end: 2, quote: "17支", prefix: "", suffix: ""), in: text))
    }

    func testARepostWithOtherFurnitureIsItsOwnRecordAndNamed() throws {
        let s = try makeStore("a")
        let (first, _) = try s.importReport(try parse(Self.report))
        let repost = "首页 > 新闻中心 > 基层动态\n" + Self.report.replacingOccurrences(of: "来源:天水日报", with: "来源:甘肃新闻网\n分享:")
        let (second, present) = try s.importReport(try parse(repost))
        XCTAssertFalse(present)
        XCTAssertNotEqual(first, second)
        XCTAssertEqual(try s.recordsWithSameBody(as: second), [first])
        XCTAssertEqual(try s.duplicateRecords(), [[first, second].sorted()])
    }

    func testReceiverRulesOfSchema6() throws {
        let text = Store.received(Self.report)
        let id = Store.recordID(received: text)
        func change(_ field: String, _ value: String, entity: String = id) -> Change {
            Change(id: ChangeID(origin: "00000000000000aa", seq: 1), hlc: HLC(milliseconds: 1, counter: 0), kind: .record,
                   entity: EntityID(stored: entity), field: field, value: .text(value))
        }
        XCTAssertNil(ChangeRules.problem(change("received", text)))
        XCTAssertNotNil(ChangeRules.problem(change("received", text + "!")), "must hash to the id")
        XCTAssertNotNil(ChangeRules.problem(change("received", text + "\n", entity: Store.recordID(normalizedBody: text + "\n"))), "must be normalised")
        XCTAssertNil(ChangeRules.problem(change("body", "任何清理后的正文")), "a body may be cleaned again")
    }

    /// A store of the release before schema 6 keeps its ids; `reclean`
    /// cleans its reports with the rules of now and keeps their codings.
    func testAStoreOfThePreviousReleaseUpgradesAndRecleans() throws {
        let s = try schema4Store(fixture: "schema5-carol.sql", version: 7, key: "schema5-carol.key", folder: "carol")
        XCTAssertEqual(try s.db.userVersion, Schema.fileVersion)
        XCTAssertEqual(try s.digest(), "e66f1353d21de68e2a15a84078f614f0fa7fdf9dcd84f6a792ab0e97692317aa", "what that release's digest printed")
        try s.check()
        let id = try XCTUnwrap(s.records(Store.RecordFilter()).first?.id)
        XCTAssertTrue(id.hasPrefix("0ef341e364"))
        let accepted = try XCTUnwrap(s.annotations(record: id).first { $0.span?.quote == "16支" })
        XCTAssertEqual(accepted.status, .accepted)
        let outcome = try XCTUnwrap(s.reclean(records: [id]).first)
        XCTAssertTrue(outcome.cleaned)
        XCTAssertEqual(outcome.moved, [accepted.id])
        XCTAssertEqual(outcome.orphaned.count, 1, "the annotation on the disclaimer")
        XCTAssertEqual(try s.winner(.record, EntityID(stored: id), "received").flatMap { $0.value.string.map { Store.recordID(received: $0) } }, id,
                       "the old body is kept as the text received, and hashes to the id")
        XCTAssertEqual(try s.record(id)?.source, "天水日报进入论坛手机读报", "a field the record has is never overwritten")
        XCTAssertEqual(try s.annotation(accepted.id)?.status, .accepted)
        XCTAssertEqual(try s.records(Store.RecordFilter()).count, 1)
        // Importing the same file again now names the record it matches.
        let again = try s.importReport(try ReportFile.parse(try Data(contentsOf: Paths.repo.appendingPathComponent("Tests/MarginCoreTests/Fixtures/schema5-carol-report.txt"))).draft)
        XCTAssertEqual(try s.recordsWithSameBody(as: again.id), [id])
        for orphan in outcome.orphaned { try s.delete(annotation: orphan) }
        let fresh = try makeStore("fresh")
        try exchange(s, fresh)
        XCTAssertEqual(try fresh.digest(), try s.digest())
    }

    /// A record an older release stored under the hash of its body is found
    /// by an import whose full-text entry (and the ids in it) was made on
    /// another core beforehand, as by one made on the writing core.
    func testAnImportWithItsEntryMadeBeforehandFindsTheRecordStoredUnderItsBody() throws {
        let s = try makeStore("legacy")
        let draft = RecordIdentityTests.olderCleaning(RecordIdentityTests.report)
        let body = TextNormalization.nfc(draft.body)
        let legacy = Store.recordID(normalizedBody: body)
        XCTAssertNotEqual(legacy, Store.recordID(received: RecordIdentityTests.report))
        try s.write {
            try s.set(.record, EntityID(stored: legacy), "body", .text(body))
            try s.set(.record, EntityID(stored: legacy), FieldSchema.deleted, .null)
        }
        let entry = Store.IndexEntry(title: draft.title, body: body, received: draft.received, withRecordID: true)
        XCTAssertEqual(entry.legacyRecordID, legacy)
        let withEntry = try s.importReport(draft, index: entry)
        XCTAssertEqual(withEntry.id, legacy)
        XCTAssertTrue(withEntry.alreadyPresent)
        let without = try s.importReport(draft)
        XCTAssertEqual(without.id, legacy)
        XCTAssertTrue(without.alreadyPresent)
        XCTAssertEqual(try s.records(Store.RecordFilter()).count, 1)
        // A body received as it is stored has one id, made once.
        let plain = Store.IndexEntry(title: "t", body: "全县共有159名黨員。", withRecordID: true)
        XCTAssertEqual(plain.legacyRecordID, plain.recordID)
    }

    /// An import takes the body and the received text from an entry only
    /// when the entry was made from that draft's body and received text.
    func testAnEntryIsTakenOnlyForTheDraftItWasMadeFrom() throws {
        let s = try makeStore("entry")
        let raw = "標題\r\n\r\n全县共有159名黨員。\r\n"
        let draft = ReportDraft(body: "全县共有159名黨員。", title: "標題", received: raw)
        let entry = Store.IndexEntry(title: "標題", body: draft.body, received: raw, withRecordID: true)
        let a = try s.importReport(draft, index: entry)
        XCTAssertEqual(a.id, Store.recordID(received: raw))
        XCTAssertEqual(try s.winner(.record, EntityID(stored: a.id), "received")?.value.string, "標題\n\n全县共有159名黨員。")
        // The same body received otherwise: its own id, not the entry's.
        let other = ReportDraft(body: draft.body, title: "標題", received: raw + "（供稿）")
        let b = try s.importReport(other, index: entry)
        XCTAssertEqual(b.id, Store.recordID(received: raw + "（供稿）"))
        XCTAssertFalse(b.alreadyPresent)
        // A body not in NFC: the entry holds it in NFC, and the body stored is NFC either way.
        let decomposed = ReportDraft(body: "Cafe\u{301}：黨員", title: "t")
        let e = Store.IndexEntry(title: "t", body: decomposed.body, withRecordID: true)
        XCTAssertEqual(Array(e.body.unicodeScalars), Array("Caf\u{E9}：黨員".unicodeScalars))
        let c = try s.importReport(decomposed, index: e)
        XCTAssertEqual(try s.record(c.id).map { Array($0.body.unicodeScalars) }, Array("Caf\u{E9}：黨員".unicodeScalars))
        XCTAssertEqual(c.id, Store.recordID(received: "Caf\u{E9}：黨員"))
        try s.check()
    }
}

