import Foundation
@testable import MarginCore
import MarginSQLite
import Synchronization
import XCTest

/// A wall clock that moves on by `step` milliseconds at every reading, so a
/// write of several fields spans several milliseconds.
final class SteppingClock: WallClock, @unchecked Sendable {
    var now: Int64
    let step: Int64
    init(_ now: Int64, step: Int64) { self.now = now; self.step = step }
    func nowMilliseconds() -> Int64 { defer { now += step }; return now }
}

final class CheckTests: StoreTestCase {
    override func setUpWithError() throws {
        try super.setUpWithError()
        checkStoresAtTheEnd = false   // these tests damage their stores
    }

    let body = "曲麻萊縣迅速成立了16個臨時黨支部,共有159名黨員加入其中。全縣共抽調354名幹部,組成工作組。"

    /// A store with every kind of change: records, codes, annotations,
    /// reviews, deletions and a resolved and an open conflict.
    func populated() throws -> (Store, Store, String) {
        let a = try makeStore("a"), b = try makeStore("b")
        let (rid, _) = try a.importReport(ReportDraft(body: body, title: "曲麻萊縣", place: "曲麻萊縣"))
        let code = try a.addCode(name: "party", description: nil, colour: nil, parent: nil)
        let a1 = try a.annotate(record: rid, code: code, span: .quote("159名黨員", occurrence: nil), value: "159", note: nil)
        let a2 = try a.annotate(record: rid, code: code, span: .quote("354名幹部", occurrence: nil), value: "354", note: nil)
        _ = try a.annotate(record: rid, code: nil, span: nil, value: nil, note: "a note on the whole record")
        try exchange(a, b)
        try a.edit(annotation: a1, { var e = Store.AnnotationEdit(); e.value = .some("160"); return e }(), anyLayer: true)
        try b.edit(annotation: a1, { var e = Store.AnnotationEdit(); e.value = .some("158"); return e }(), anyLayer: true)
        try b.review(annotation: a2, status: .accepted, comment: "ok")
        try a.delete(annotation: a2, anyLayer: true)
        try exchange(a, b)
        let open = try a.conflicts(includeResolved: false)
        XCTAssertGreaterThanOrEqual(open.count, 2, "a value conflict and delete-versus-review conflicts")
        try a.resolve(conflict: open[0].id, .keepOther, comment: nil)
        try exchange(a, b)
        return (a, b, a1)
    }

    func testASoundStorePassesEveryCheck() throws {
        let (a, b, _) = try populated()
        for (s, size) in [(a, LogPassParts.partSize), (b, LogPassParts.partSize), (a, 3), (b, 1), (b, 2)] {
            var lines: [String] = []
            try s.check(logPartSize: size) { lines.append($0) }
            XCTAssertEqual(lines.count, 6, "\(lines)")
            // The rows compared, the winners counted by the rebuild among
            // them, are every derived row.
            XCTAssertTrue(lines.contains("state rebuilt from the log matches the live state (\(try s.dumpDerivedState().count) rows)"), "\(lines)")
            XCTAssertTrue(lines.contains { $0.hasPrefix("annotations: 2 quotes match") }, "\(lines)")
            XCTAssertTrue(lines.contains { $0.contains("from 2 node(s)") }, "\(lines)")
            let total = try XCTUnwrap(try s.db.scalar("SELECT count(*) FROM log").int)
            XCTAssertTrue(lines.contains { $0.hasPrefix("change log: \(total) changes from 2 node(s)") }, "parts of \(size): \(lines)")
        }
    }

    /// The log pass in parts names what a pass in one piece named first:
    /// a gap in an early part before an altered change in a later one, a
    /// change numbered below 1, and a change missing at the end of a part.
    func testTheLogPassInPartsNamesTheFirstThingFoundInTheLogsOrder() throws {
        let (a, _, _) = try populated()
        let origin = try XCTUnwrap(try a.db.scalar("SELECT key FROM nodes WHERE id = ?", .node(a.node.id)).int)
        let count = try XCTUnwrap(try a.db.scalar("SELECT max(seq) FROM log WHERE origin = ?", .integer(origin)).int)
        XCTAssertGreaterThan(count, 12)
        // A change near the end altered, one near the start missing.
        try a.db.run("UPDATE log SET ms = ms + 1 WHERE origin = ? AND seq = ?", .integer(origin), .integer(count - 1))
        assertCorrupt(a, "change \(a.node.id):\(count - 1) does not match its hash")
        try a.db.execute("SAVEPOINT gap")
        try a.db.run("DELETE FROM log WHERE origin = ? AND seq = 4", .integer(origin))
        assertCorrupt(a, "has gaps: \(count - 1) changes numbered 1 to \(count)")
        try a.db.execute("ROLLBACK TO gap; RELEASE gap")
        // The last change of a part (parts of 3: 1-3, 4-6) missing.
        try a.db.execute("SAVEPOINT gap")
        try a.db.run("DELETE FROM log WHERE origin = ? AND seq = 6", .integer(origin))
        assertCorrupt(a, "has gaps")
        try a.db.execute("ROLLBACK TO gap; RELEASE gap")
        // A change numbered 0: read by the origin's first part.
        try a.db.run("UPDATE log SET seq = 0 WHERE origin = ? AND seq = 1", .integer(origin))
        assertCorrupt(a, "has gaps: \(count) changes numbered 0 to \(count)")
    }

    /// The parts are taken by whichever reader is free: two readers of
    /// the store on two threads check every part once, and the findings
    /// come in the log's order.
    func testTwoReadersShareTheLogPassPartByPart() throws {
        let (a, _, _) = try populated()
        let parts = LogPassParts()
        try parts.plan(a.db, partSize: 2)
        let total = try XCTUnwrap(try a.db.scalar("SELECT count(*) FROM log").int)
        XCTAssertEqual(parts.parts.map { $0.last - $0.first + 1 }.reduce(0, +), total)
        XCTAssertEqual(parts.highs.map(\.high).reduce(0, +), total)
        let directory = a.directory, ended = DispatchSemaphore(value: 0)
        let other = Thread {
            defer { ended.signal() }
            guard let reader = try? Store(directory: directory, readOnly: true) else { return }
            reader.inScope { parts.work(on: reader) }
            reader.db.close()
        }
        other.start()
        a.inScope { parts.work(on: a) }
        let findings = parts.findings()
        ended.wait()
        XCTAssertEqual(findings.count, parts.parts.count)
        for finding in findings { XCTAssertNil(try finding.get().issue) }
        XCTAssertFalse(parts.waitForWork())
    }

    /// A store being served is written while it is checked (observed in
    /// `KillAnywhereTests`: "the log holds changes up to 257 but its head
    /// says 1802", the parts planned before the heads were read). The
    /// heads, the plan and the clock are read in one snapshot: another
    /// connection writing all the while changes no check's verdict.
    func testACheckBesideAWriterFindsTheStoreConsistent() throws {
        let (a, _, _) = try populated()
        let (rid, _) = try a.importReport(ReportDraft(body: "玉樹市共有37名黨員參加值守。", title: "玉樹市"))
        let before = try XCTUnwrap(try a.db.scalar("SELECT count(*) FROM log").int)
        let directory = a.directory, done = DispatchSemaphore(value: 0)
        let stopWriting = Mutex(false)
        let writer = Thread {
            defer { done.signal() }
            guard let other = try? Store(directory: directory) else { return }
            var i = 0
            while !stopWriting.withLock({ $0 }) {
                _ = try? other.annotate(record: rid, code: nil, span: nil, value: nil, note: "note \(i)")
                i += 1
            }
            other.db.close()
        }
        writer.start()
        for _ in 0..<8 { XCTAssertNoThrow(try a.check(logPartSize: 3)) }
        stopWriting.withLock { $0 = true }
        done.wait()
        // The writer wrote while the checks ran.
        XCTAssertGreaterThan(try XCTUnwrap(try a.db.scalar("SELECT count(*) FROM log").int), before)
        XCTAssertNoThrow(try a.check())
    }

    /// The log pass holds each annotation's change to the rules, which look
    /// up the annotation's record. In the pass's order (each origin's
    /// changes in turn) a reviewer's changes are each to another
    /// annotation: the look-up took the annotation's number by searching
    /// the entities' ids, once per change, where the row read holds it.
    func testTheLogPassSearchesForNoEntityByItsId() throws {
        let a = try makeStore("a"), b = try makeStore("b")
        let (rid, _) = try a.importReport(ReportDraft(body: body, title: "曲麻萊縣", place: "曲麻萊縣"))
        let code = try a.addCode(name: "party", description: nil, colour: nil, parent: nil)
        var ids: [String] = []
        try a.write {
            for i in 0..<40 { ids.append(try a.annotate(record: rid, code: code, span: .quote("159名黨員", occurrence: nil), value: "\(i)", note: nil)) }
        }
        try exchange(a, b)
        try b.write { for id in ids { try b.review(annotation: id, status: .accepted, comment: nil) } }
        try exchange(a, b)
        // Opened again, as `margin check` opens them: nothing is known yet.
        for s in [try Store(directory: a.directory), try Store(directory: b.directory)] {
            let before = s.projector.keys.searches
            var lines: [String] = []
            try s.check { lines.append($0) }
            XCTAssertTrue(lines.contains { $0.hasPrefix("change log: ") }, "\(lines)")
            // A few (the record, the code), not one per annotation: 42 when
            // the rules searched for each annotation's number.
            XCTAssertLessThanOrEqual(s.projector.keys.searches - before, 4)
        }
    }

    /// A rebuild reads each change with its entity's number, and the fold's
    /// look-ups of that entity take it: a deletion's search for the edits
    /// it raced searched the entities' ids again, each time (270 searches
    /// for these 30 annotations, then 30 with the fold's own look-ups).
    func testTheRebuildSearchesForNoEntityByItsId() throws {
        let a = try makeStore("a")
        let (rid, _) = try a.importReport(ReportDraft(body: body, title: "曲麻萊縣", place: "曲麻萊縣"))
        try a.write {
            for i in 0..<30 {
                let id = try a.annotate(record: rid, code: nil, span: .quote("159名黨員", occurrence: nil), value: "\(i)", note: nil)
                try a.delete(annotation: id)
            }
        }
        let reopened = try Store(directory: a.directory)
        let before = reopened.projector.keys.searches
        try reopened.rebuildState()
        XCTAssertEqual(reopened.projector.keys.searches - before, 0)
        XCTAssertEqual(try reopened.annotations(record: rid).count, 0)
    }

    /// The check fails naming `expected`, with its log pass in parts of
    /// its own size and in parts of 3 changes (every span's five fields
    /// and every chain then cross parts, which both cores take).
    func assertCorrupt(_ store: Store, _ expected: String, file: StaticString = #filePath, line: UInt = #line) {
        for size in [LogPassParts.partSize, 3] {
            XCTAssertThrowsError(try store.check(logPartSize: size), "parts of \(size)", file: file, line: line) { error in
                guard case MarginError.corrupt(let message) = error else {
                    return XCTFail("not a corruption: \(error)", file: file, line: line)
                }
                XCTAssertTrue(message.contains(expected), "parts of \(size): \(message)", file: file, line: line)
            }
        }
    }

    /// Recomputes every hash chain after a test altered the log behind the
    /// store's back, so that a later check, not the chain's, is the one tried.
    func rehash(_ s: Store) throws {
        try Store.rehashLog(s.db)
        // Signatures named the old hashes: sign this node's head again.
        try s.db.run("DELETE FROM signatures")
        try s.write { try s.signOwnHead() }
    }

    /// A bit flipped in one stored change (its value, or a link of its chain).
    /// The conflict list reads each conflict's two changes in the same
    /// query; a conflict whose change is gone is still named, not dropped.
    func testAConflictWhoseChangeIsGoneIsNamedWhenListed() throws {
        let (a, _, _) = try populated()
        let all = try a.conflicts(includeResolved: true)
        let open = try a.conflicts(includeResolved: false)
        XCTAssertEqual(all.count, open.count + 1, "one of them is resolved")
        XCTAssertEqual(Set(open.map(\.id)), Set(try a.openConflictIDs()))
        for c in all { XCTAssertEqual(try a.conflict(c.id)?.loser.value, try a.change(c.loser.id)?.value) }
        let victim = try XCTUnwrap(open.first)
        try a.db.execute("""
            DELETE FROM log WHERE origin = (SELECT key FROM nodes WHERE id = '\(victim.loser.id.origin)') AND seq = \(victim.loser.id.seq)
            """)
        XCTAssertThrowsError(try a.conflicts(includeResolved: false)) { error in
            XCTAssertEqual(MarginError.message(for: error), "conflict \(victim.id) names changes the log does not hold")
        }
    }

    func testAnAlteredChangeIsNamedByItsHash() throws {
        let (a, _, aid) = try populated()
        try a.db.run("UPDATE log SET value = '161' WHERE entity = (SELECT key FROM entities WHERE kind = 'annotation' AND id = ?) AND field = 'value' AND value = '160'", .text(aid))
        assertCorrupt(a, "does not match its hash")
    }

    func testABrokenChainLinkIsNamed() throws {
        let (a, _, _) = try populated()
        try a.db.run("UPDATE log SET hash = zeroblob(32) WHERE origin = (SELECT key FROM nodes WHERE id = ?) AND seq = 2", .node(a.node.id))
        assertCorrupt(a, "does not match its hash")
    }

    func testAGapInTheLogIsNamed() throws {
        let (a, _, _) = try populated()
        try a.db.run("DELETE FROM log WHERE origin = (SELECT key FROM nodes WHERE id = ?) AND seq = 3", .node(a.node.id))
        assertCorrupt(a, "has gaps")
    }

    func testAHeadThatDisagreesWithTheLogIsNamed() throws {
        let (a, _, _) = try populated()
        try a.db.run("UPDATE heads SET seq = seq + 1 WHERE origin = ?", .node(a.node.id))
        assertCorrupt(a, "its head says")
    }

    func testAMissingSupersededChangeIsNamed() throws {
        let (a, _, _) = try populated()
        try a.db.run("UPDATE log SET sup_seq = 999 WHERE (origin, seq) = (SELECT origin, seq FROM log WHERE sup_seq IS NOT NULL LIMIT 1)")
        try rehash(a)
        assertCorrupt(a, "supersedes \(a.node.id):999 is not held")
    }

    func testATornSpanIsNamed() throws {
        let (a, _, aid) = try populated()
        // One of the span's five fields moved to another reading of the clock.
        try a.db.run("UPDATE log SET ctr = ctr + 1 WHERE entity = (SELECT key FROM entities WHERE kind = 'annotation' AND id = ?) AND field = 'quote'", .text(aid))
        try rehash(a)
        assertCorrupt(a, "annotation \(aid): a span written by \(a.node.id) at ")
        assertCorrupt(a, "is torn (4 of its 5 fields)")
    }

    func testALiveStateThatTheLogDoesNotGiveIsNamed() throws {
        let (a, _, aid) = try populated()
        try a.db.run("UPDATE annotations SET value = 'tampered' WHERE id = ?", .text(aid))
        assertCorrupt(a, "the live state holds a row the log does not give")
    }

    /// `check` rebuilds its scratch copy without the full-text index; the
    /// folded text records are searched in is still rebuilt and compared.
    func testAFoldedSearchTextThatTheRecordDoesNotGiveIsNamed() throws {
        let (a, _, _) = try populated()
        try a.db.run("UPDATE record_folded SET folded = '曲麻莱县 tampered'")
        assertCorrupt(a, "the live state holds a row the log does not give")
    }

    /// `check` rebuilds into a scratch file of the derived tables alone,
    /// reading the store's log through the same connection (attached for
    /// reading only): it folds the state a rebuild folds, writes nothing to
    /// the store, and counts a winner flag it finds other than the log
    /// holds it, naming the first, instead of writing it.
    func testTheScratchRebuildFoldsWhatARebuildFoldsAndWritesNothingToTheStore() throws {
        let (a, _, _) = try populated()
        let live = try a.dumpDerivedState()
        try a.rebuildState()
        XCTAssertEqual(try a.dumpDerivedState(), live)
        let folder = dir.path
        func scratchRebuild() throws -> (ScratchState, (fields: Int, rewritten: Int)) {
            let file = (folder as NSString).appendingPathComponent("scratch-\(UUID().uuidString).sqlite")
            let scratch = try ScratchState(file: file, store: a.path, immutable: false)
            try scratch.begin()
            return (scratch, try scratch.rebuild())
        }
        let (scratch, winners) = try scratchRebuild()
        defer { scratch.db.close() }
        // The same rows as the store's own (its winners are the store's).
        XCTAssertEqual(try DerivedState(db: scratch.db).dump(winners: false), try DerivedState(db: a.db).dump(winners: false))
        XCTAssertEqual(try DerivedState(db: scratch.db, schema: ScratchState.store).dump(winners: false), try DerivedState(db: a.db).dump(winners: false))
        XCTAssertTrue(try DerivedState(db: scratch.db, schema: ScratchState.store).compared(with: DerivedState(db: scratch.db), sameWinners: winners.fields).same)
        // The derived tables alone, with a fixed 16 MB of pages and foreign
        // keys on; the folded text is rebuilt, the full-text index is not.
        XCTAssertEqual(try scratch.db.scalar("SELECT count(*) FROM main.sqlite_master WHERE name IN ('log', 'entities', 'record_grams')").int, 0)
        XCTAssertEqual(try scratch.db.scalar("PRAGMA main.cache_size").int, -16384)
        XCTAssertEqual(try scratch.db.scalar("PRAGMA foreign_keys").int, 1)
        XCTAssertGreaterThan(try scratch.db.scalar("SELECT count(*) FROM main.record_folded").int ?? 0, 0)
        XCTAssertLessThan(try scratch.db.scalar("PRAGMA main.page_count").int ?? 0, try a.db.scalar("PRAGMA page_count").int ?? 0)
        // Of the store's indexes, the unique ones and the one the quote
        // check reads by; the commands' others are not built.
        let indexes = try scratch.db.rows("SELECT name FROM main.sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name").compactMap { $0[0].string }
        XCTAssertEqual(indexes, ["annotations_by_record", "records_alive"])
        XCTAssertEqual(try a.db.scalar("SELECT count(*) FROM sqlite_master WHERE name IN ('records_listed', 'annotations_counted', 'records_searched')").int, 3)
        // The store is attached for reading only.
        XCTAssertThrowsError(try scratch.db.execute("UPDATE \(ScratchState.store).log SET current = current"))
        // What `check` compares the winners by: no flag other than the log
        // holds it, and one winner for each field that has one.
        XCTAssertEqual(winners.rewritten, 0)
        XCTAssertNil(try scratch.flagDifference())
        XCTAssertEqual(winners.fields, try a.db.scalar("SELECT count(*) FROM log WHERE current = 1").int.map(Int.init))
        XCTAssertEqual(try a.db.scalar("SELECT count(*) FROM (SELECT DISTINCT entity, field FROM log)").int.map(Int.init), winners.fields)
        // A field's flag moved to a change that lost: both flags are
        // counted, the first named, and the store's flags left as they are.
        try a.db.run("""
            UPDATE log SET current = 1 - current WHERE (entity, field) =
                (SELECT entity, field FROM log GROUP BY entity, field HAVING count(*) = 2 LIMIT 1)
            """)
        XCTAssertEqual(a.db.changes, 2)
        let flags = try a.db.rows("SELECT entity, field, origin, seq, current FROM log ORDER BY 1, 2, 3, 4")
        let (moved, rewritten) = try scratchRebuild()
        defer { moved.db.close() }
        XCTAssertEqual(rewritten.rewritten, 2)
        let named = try XCTUnwrap(try moved.flagDifference())
        let field = try XCTUnwrap(try a.db.scalar("SELECT field FROM log GROUP BY entity, field HAVING count(*) = 2 LIMIT 1").string)
        XCTAssertTrue(named.line.contains("'\(field)'"), named.line)
        XCTAssertEqual(try a.db.rows("SELECT entity, field, origin, seq, current FROM log ORDER BY 1, 2, 3, 4"), flags)
        XCTAssertEqual(try DerivedState(db: a.db).dump(winners: false), try DerivedState(db: moved.db).dump(winners: false))
    }

    /// The rebuilt state is compared row by row with the live one, on two
    /// connections to one file: a value of another
    /// storage class with the same bytes, a row too many, and one
    /// character changed in a long text are each a difference.
    func testTheRowByRowComparisonFindsEachKindOfDifference() throws {
        let (a, _, _) = try populated()
        let second = try Database(path: a.path)
        defer { second.close() }
        let state = DerivedState(db: a.db), other = DerivedState(db: second)
        let agreed = try state.compared(with: other)
        XCTAssertTrue(agreed.same)
        XCTAssertEqual(agreed.rows, try a.dumpDerivedState().count)
        for tamper in ["UPDATE log SET value = CAST(value AS BLOB) WHERE current = 1 AND field = 'title'",
                       "INSERT INTO record_done(record, coder) SELECT id, 'nobody' FROM records LIMIT 1",
                       "UPDATE records SET body = substr(body, 1, length(body) - 1) || '！'"] {
            try second.execute("SAVEPOINT t")
            try second.execute(tamper)
            XCTAssertEqual(second.changes, 1, tamper)
            XCTAssertFalse(try state.compared(with: other).same, tamper)
            try second.execute("ROLLBACK TO t; RELEASE t")
        }
        XCTAssertTrue(try state.compared(with: other).same)
    }

    func testAWinnerFlagOnTheWrongChangeIsNamed() throws {
        let (a, _, aid) = try populated()
        // The field's older changes marked as winners, the winner not.
        try a.db.run("UPDATE log SET current = 1 - current WHERE entity = (SELECT key FROM entities WHERE kind = 'annotation' AND id = ?) AND field = 'value'", .text(aid))
        assertCorrupt(a, "the live state")
    }

    func testAQuoteThatNoLongerMatchesIsNamed() throws {
        let (a, _, aid) = try populated()
        // A log whose span fields disagree, with the state rebuilt from it,
        // so that only the quote check can notice.
        try a.db.run("UPDATE log SET value = value + 1 WHERE entity = (SELECT key FROM entities WHERE kind = 'annotation' AND id = ?) AND field = 'start'", .text(aid))
        try rehash(a)
        try a.rebuildState()
        assertCorrupt(a, "annotation \(aid)")
    }

    /// The log names entities and nodes by number: a row whose number
    /// names nothing would drop out of every read of the log.
    func testALogRowThatNamesNoEntityIsNamed() throws {
        let (a, _, aid) = try populated()
        try a.db.run("UPDATE entities SET key = key + 100000 WHERE kind = 'annotation' AND id = ?", .text(aid))
        assertCorrupt(a, "names an entity or node the store has no id for")
    }

    /// The rebuilt state is compared first in the order rows were stored:
    /// live rows stored in another order (here, reversed) are still the
    /// same rows, and a changed one is still found. (Codes': an
    /// annotation's row is keyed by its entity's number, so moving it is
    /// damage, below.)
    func testRowsStoredInAnotherOrderAreComparedByIdAndStillMatch() throws {
        let (a, _, _) = try populated()
        let cid = try a.addCode(name: "second code", description: nil, colour: nil, parent: nil)
        let rows = try a.db.scalar("SELECT count(*) FROM codes").int ?? 0
        XCTAssertGreaterThan(rows, 1)
        try a.db.run("UPDATE codes SET rowid = 1000000 - rowid")
        XCTAssertNoThrow(try a.check())
        var passed: [String] = []
        try a.check { passed.append($0) }
        let before = try XCTUnwrap(passed.first { $0.hasPrefix("state rebuilt from the log matches") })
        try a.db.run("UPDATE codes SET description = 'changed by hand' WHERE id = ?", .text(cid))
        assertCorrupt(a, "the live state holds a row the log does not give: '\(cid)'")
        try a.db.run("UPDATE codes SET description = NULL WHERE id = ?", .text(cid))
        try a.rebuildState()
        passed = []
        try a.check { passed.append($0) }
        XCTAssertEqual(passed.first { $0.hasPrefix("state rebuilt from the log matches") }, before, "the same rows counted either way")
    }

    /// An annotation's row is keyed by its entity's number (file version
    /// 17): a row under another number is found by no look-up of its id,
    /// and `check` names it.
    func testAnAnnotationRowUnderAnotherNumberIsNamed() throws {
        let (a, _, aid) = try populated()
        XCTAssertNotNil(try a.annotation(aid))
        try a.db.run("UPDATE annotations SET key = key + 100000 WHERE id = ?", .text(aid))
        XCTAssertNil(try a.annotation(aid))
        assertCorrupt(a, "the live state holds a row the log does not give: '\(aid)'")
    }

    /// The quote check reads each record's text once, for its first
    /// annotation: an annotation whose record has no row is named, beside
    /// annotations of a record that has one.
    func testTheQuoteCheckNamesAnAnnotationWhoseRecordIsNotHeld() throws {
        let (a, _, aid) = try populated()
        var lines: [String] = []
        try Store.checkSpans(in: a.db) { lines.append($0) }
        XCTAssertEqual(lines.count, 1)
        let (other, _) = try a.importReport(ReportDraft(body: "瑪多縣組織38名黨員幹部值守7個交通卡點。", title: "瑪多縣"))
        let code = try a.addCode(name: "cadres", description: nil, colour: nil, parent: nil)
        _ = try a.annotate(record: other, code: code, span: .quote("38名黨員", occurrence: nil), value: "38", note: nil)
        let record = try XCTUnwrap(a.db.scalar("SELECT record FROM annotations WHERE id = ?", .text(aid)).string)
        try a.db.execute("PRAGMA foreign_keys = OFF")
        try a.db.run("DELETE FROM records WHERE id = ?", .text(record))
        XCTAssertThrowsError(try Store.checkSpans(in: a.db) { _ in }) { error in
            guard case MarginError.corrupt(let message) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(message.hasSuffix("refers to a record that is not in the store"), message)
        }
    }

    /// The same for a row whose node numbers name nothing: its own origin,
    /// or the origin of the change it supersedes (the pass looks the ids up
    /// once a part rather than joining them to each row).
    func testALogRowThatNamesNoNodeIsNamed() throws {
        let (a, _, _) = try populated()
        try a.db.run("""
            UPDATE log SET sup_origin = 424242, sup_seq = 1
            WHERE (entity, field, origin, seq) = (SELECT entity, field, origin, seq FROM log ORDER BY origin, seq LIMIT 1 OFFSET 3)
            """)
        assertCorrupt(a, "names an entity or node the store has no id for")
    }

    func testALogRowWhoseOriginIsNamedByNoNodeIsNamed() throws {
        let (a, _, _) = try populated()
        try a.db.run("UPDATE nodes SET key = key + 100000 WHERE id = ?", .node(a.node.id))
        assertCorrupt(a, "names an entity or node the store has no id for")
    }

    /// The signatures are verified in parts on every core; the first in
    /// the order of origin and sequence that fails is named, whichever part
    /// holds it.
    func testASignatureThatDoesNotVerifyIsNamedFirstInOrder() throws {
        let (a, _, _) = try populated()
        let (rid, _) = try a.importReport(ReportDraft(body: "玉樹市共有37名黨員參加值守。", title: "玉樹市"))
        for i in 0..<40 { _ = try a.annotate(record: rid, code: nil, span: nil, value: nil, note: "note \(i)") }
        let signed = try a.db.rows("SELECT origin, seq FROM signatures ORDER BY origin, seq").map { ($0[0].node, $0[1].int ?? 0) }
        XCTAssertGreaterThanOrEqual(signed.count, 40, "one signature for each write")
        XCTAssertNoThrow(try a.check())
        func spoil(_ i: Int) throws {
            try a.db.run("UPDATE signatures SET signature = zeroblob(64) WHERE origin = ? AND seq = ?", .node(signed[i].0!), .integer(signed[i].1))
        }
        // In the second part alone, then in both.
        try spoil(signed.count - 3)
        assertCorrupt(a, "the signature of \(signed[signed.count - 3].0!):\(signed[signed.count - 3].1) does not verify")
        try spoil(4)
        assertCorrupt(a, "the signature of \(signed[4].0!):\(signed[4].1) does not verify")
    }

    func testAClockBehindTheLogIsNamed() throws {
        let (a, _, _) = try populated()
        try a.db.run("UPDATE meta SET value = 0 WHERE key IN ('clock_ms', 'clock_ctr')")
        assertCorrupt(a, "the saved clock")
    }

    func testNotADatabaseFileIsCaughtByOpenOrCheck() throws {
        let (a, _, _) = try populated()
        let path = a.path
        a.db.close()
        // Overwrite a page in the middle of the file: SQLite's own check finds it.
        let handle = try XCTUnwrap(FileHandle(forUpdatingAtPath: path))
        let size = try handle.seekToEnd()
        try handle.seek(toOffset: size / 2)
        try handle.write(contentsOf: Data(repeating: 0xA5, count: 4096))
        try handle.close()
        do {
            let reopened = try Store(directory: (path as NSString).deletingLastPathComponent)
            XCTAssertThrowsError(try reopened.check())
        } catch {
            XCTAssertFalse(MarginError.message(for: error).isEmpty)
        }
    }

    /// Two nodes move the same annotation concurrently while their clocks run
    /// at different speeds, so the five span fields are stamped across
    /// several milliseconds. Field-by-field LWW would mix the two spans; the
    /// span must come whole from one writer, and check must pass.
    func testConcurrentSpanEditsAreNeverTorn() throws {
        let wallA = SteppingClock(1_000_000, step: 1), wallB = SteppingClock(1_000_000, step: 2)
        let a = try makeStore("a", wall: wallA), b = try makeStore("b", wall: wallB)
        let (rid, _) = try a.importReport(ReportDraft(body: body, title: "t"))
        let aid = try a.annotate(record: rid, code: nil, span: .quote("159名黨員", occurrence: nil), value: nil, note: nil)
        try exchange(a, b)
        // B's clock starts just behind A's and runs twice as fast: stamped one
        // reading per field, B would lose the first fields and win the last.
        wallB.now = wallA.now - 3
        try a.edit(annotation: aid, { var e = Store.AnnotationEdit(); e.span = .quote("16個臨時黨支部", occurrence: nil); return e }(), anyLayer: true)
        try b.edit(annotation: aid, { var e = Store.AnnotationEdit(); e.span = .quote("354名幹部", occurrence: nil); return e }(), anyLayer: true)
        try exchange(a, b)
        XCTAssertEqual(try a.digest(), try b.digest())
        let quote = try XCTUnwrap(try a.annotation(aid)?.span?.quote)
        XCTAssertTrue(["16個臨時黨支部", "354名幹部"].contains(quote), quote)
        try a.check()
        try b.check()
    }

    /// The state is rebuilt on another core while the log is checked (check
    /// at a million changes: 33-46 s to 20-24 s); what each finds is still
    /// said in the order of the checks: a damaged log first, the state
    /// after, the quotes last, and a passing line for each before.
    func testWhatTheChecksFindIsSaidInTheirOrderWhileTheRebuildRunsBeside() throws {
        let (a, _, aid) = try populated()
        var lines: [String] = []
        try a.check { lines.append($0) }
        XCTAssertEqual(lines.map { String($0.prefix(12)) }, ["SQLite integ", "full-text in", "change log: ", "signatures: ", "state rebuil", "annotations:"])
        // The quotes are checked while the state is compared: a quote
        // altered in the live state is named as the state's difference.
        try a.db.run("UPDATE annotations SET quote = 'altered' WHERE id = ?", .text(aid))
        assertCorrupt(a, "the live state holds a row the log does not give")
        try a.rebuildState()
        // The state and the log both damaged: the log is named.
        try a.db.run("UPDATE annotations SET value = 'tampered' WHERE id = ?", .text(aid))
        assertCorrupt(a, "the live state holds a row the log does not give")
        try a.db.run("UPDATE log SET value = '161' WHERE entity = (SELECT key FROM entities WHERE kind = 'annotation' AND id = ?) AND field = 'value' AND value = '160'", .text(aid))
        assertCorrupt(a, "does not match its hash")
        // No scratch copy is left behind, whatever was found.
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: a.directory).filter { $0.hasPrefix(Store.checkScratchPrefix) }, [])
    }

    /// The name each node last wrote as an author, kept beside the log
    /// (`node_authors`), is held to the log: each kind of difference is
    /// named, and `rebuildState` makes the table again.
    func testTheAuthorsKeptBesideTheLogAreHeldToIt() throws {
        let (a, _, _) = try populated()
        for (damage, expected) in [
            ("UPDATE node_authors SET name = 'mallory'", "the table says \"mallory\""),
            ("UPDATE node_authors SET seq = seq - 1", "the table says \"a\" (change"),
            ("DELETE FROM node_authors", "the table says nothing"),
            ("INSERT INTO node_authors VALUES(99, 1, 'mallory')", "last wrote as author nothing, the table says \"mallory\" (change 1)"),
        ] {
            try a.db.execute(damage)
            assertCorrupt(a, expected)
            assertCorrupt(a, "the authors kept beside the log (node_authors) differ from it")
            try a.rebuildState()
            XCTAssertNoThrow(try a.check(), damage)
        }
    }

    func testCheckChangesNothing() throws {
        let (a, _, _) = try populated()
        let before = try a.dumpDerivedState(), log = try a.log(limit: nil)
        try a.check()
        XCTAssertEqual(try a.dumpDerivedState(), before)
        XCTAssertEqual(try a.log(limit: nil), log)
    }
}
