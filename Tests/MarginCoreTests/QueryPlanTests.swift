@testable import MarginCore
import MarginSQLite
import MarginTestSupport
import XCTest

/// Queries whose cost must follow what they return, not the store: their
/// plans, as SQLite chooses them on a store of this release.
final class QueryPlanTests: StoreTestCase {
    /// On a connection of its own, so the store's stays as it was.
    func plan(_ store: Store, _ sql: String, _ values: SQLValue...) throws -> String { try plan(store, sql, values) }

    func plan(_ store: Store, _ sql: String, _ values: [SQLValue]) throws -> String {
        let db = try Database(path: store.path)
        defer { db.close() }
        return try db.statement("EXPLAIN QUERY PLAN " + sql).all(values).compactMap { $0[3].string }.joined(separator: "\n")
    }

    /// The statements of a write, a receive and the everyday reads are
    /// prepared once per connection, not once per use (observed: applying
    /// a batch spent 16% of its time parsing and planning one `winner`
    /// query again for every change, because `field = ?` beside the
    /// partial index `log_authors` made every bind expire it).
    func testWritesReceivesAndReadsPrepareNothingTwice() throws {
        let alice = try makeStore("alice"), bob = try makeStore("bob")
        let party = try alice.addCode(name: "party-members", description: nil, colour: nil, parent: nil)
        var annotations: [String] = []
        for n in 0..<6 {
            let record = try alice.importReport(ReportDraft(body: "曲麻萊縣成立\(n + 10)個臨時黨支部,共有\(159 + n)名黨員參加。", title: "曲麻萊縣 \(n)")).id
            annotations.append(try alice.annotate(record: record, code: party, span: .quote("\(159 + n)名黨員", occurrence: nil), value: "\(159 + n)", note: "第\(n)"))
            try alice.markDone(record: record)
        }
        for id in annotations.prefix(3) { try alice.review(annotation: id, status: .accepted, comment: "ok") }
        try exchange(alice, bob)
        for id in annotations.suffix(3) { try bob.review(annotation: id, status: .rejected, comment: "no") }
        try alice.review(annotation: annotations[5], status: .accepted, comment: "yes")
        try exchange(alice, bob)
        for store in [alice, bob] {
            _ = try store.status()
            _ = try store.conflicts(includeResolved: true)
            XCTAssertEqual(store.db.reprepareCount, 0, "\(store.node.name) prepared a statement again")
        }
    }

    /// A new annotation's id is fresh: it is numbered without a search of
    /// the entities' ids for it (observed: one search for every annotation
    /// written, 103 for 100). An id given (an import's) is still searched for.
    func testAFreshAnnotationIsNumberedWithoutASearch() throws {
        let made = try makeStore("a")
        let (record, _) = try made.importReport(ReportDraft(body: "曲麻萊縣成立16個臨時黨支部,共有159名黨員參加。", title: "曲麻萊縣"))
        let code = try made.addCode(name: "party-members", description: nil, colour: nil, parent: nil)
        // Opened again, as a command opens it: no number known yet.
        let store = try Store(directory: made.directory)
        let before = store.projector.keys.searches
        var ids: [String] = []
        try store.write {
            for n in 0..<100 {
                ids.append(try store.annotate(record: record, code: code, span: .quote("159名黨員", occurrence: nil), value: "\(n)", note: nil))
            }
        }
        // The record and the code.
        XCTAssertLessThanOrEqual(store.projector.keys.searches - before, 3)
        XCTAssertEqual(try store.annotations(record: record).count, 100)
        XCTAssertEqual(Set(try store.annotations(record: record).map(\.id)), Set(ids))
        // An id given is looked for: one held already is refused.
        XCTAssertThrowsError(try store.annotate(record: record, code: code, span: nil, value: nil, note: nil, id: ids[0]))
        let given = Store.randomEntityID()
        XCTAssertEqual(try store.annotate(record: record, code: code, span: nil, value: nil, note: "given", id: given), given)
        XCTAssertEqual(try store.annotations(record: record).count, 101)
    }

    /// Whether a conflict is open is a look-up in the list of settled
    /// conflicts, made once from the resolutions, not a search of the
    /// resolutions for each conflict; which entity holds one conflict's
    /// resolution is a look-up by key, by its id and through its aliases.
    /// Nothing is scanned but the conflicts themselves (observed: the
    /// check was one condition with `OR` per conflict, which SQLite
    /// answered by going through every resolved conflict, and every alias
    /// for each, for every conflict; `margin conflicts` ran for over a
    /// quarter of an hour on a team's store of 4,700 conflicts once 20 were
    /// resolved, and so did `status` and a sync, which count the open ones).
    func testWhetherAConflictIsOpenIsLookedUpNotSearchedForEachConflict() throws {
        let store = try makeStore("a")
        // The conflicts, and the one or two rows the resolution's union gives (`r`).
        func scans(_ p: String) -> [Substring] {
            p.split(separator: "\n").filter { $0.hasPrefix("SCAN") && !$0.hasPrefix("SCAN c USING") && $0 != "SCAN c" && $0 != "SCAN r" }
        }
        let open = try plan(store, "SELECT count(*) FROM conflicts c WHERE \(Store.openConflictSQL)")
        XCTAssertEqual(scans(open), [], open)
        XCTAssertFalse(open.contains("CORRELATED"), "the settled conflicts are listed once\n\(open)")
        XCTAssertTrue(open.contains("LIST SUBQUERY"), open)
        for (name, sql) in [("resolution", "SELECT \(Store.resolutionEntitySQL) FROM conflicts c"),
                            ("first page", "SELECT c.id FROM conflicts c WHERE \(Store.openConflictByKeySQL) ORDER BY c.ms DESC, c.id LIMIT 20")] {
            let p = try plan(store, sql)
            XCTAssertEqual(scans(p), [], "\(name)\n\(p)")
            XCTAssertFalse(p.contains("(kind=?)"), "\(name): every conflict entity searched for each conflict\n\(p)")
            XCTAssertTrue(p.contains("conflict_aliases_by_id (id=?)"), "\(name)\n\(p)")
        }
    }

    /// A search's look at the records' metadata reads an index of those
    /// fields, not the records' rows, which hold each report's text
    /// (observed: 14 ms of an 80 ms search at a million changes).
    func testASearchReadsTheMetadataFromItsIndex() throws {
        let store = try makeStore("a")
        let p = try plan(store, RecordSearch.searchedMetadataSQL)
        XCTAssertTrue(p.contains("USING INDEX records_searched"), p)
    }

    /// A ranked search reads the folded texts the index gives, from a table
    /// of their own, and no report's row (observed: in the record's row the
    /// folded text came after the body, so `search 党员 -n 20` read every
    /// report's body too: 45 of its 60 ms at a million changes). Liveness
    /// and publication dates come from the metadata's index.
    func testARankedSearchReadsTheFoldedTextsAloneNotTheReports() throws {
        let store = try makeStore("a")
        _ = try store.importReport(ReportDraft(body: "曲麻萊縣成立16個臨時黨支部,共有159名黨員參加。", title: "曲麻萊縣"))
        let columns = try store.db.rows("PRAGMA table_info(records)").compactMap { $0[1].string }
        XCTAssertFalse(columns.contains("folded"), "a record's row holds no folded text: \(columns)")
        XCTAssertEqual(try store.db.scalar("SELECT count(*) FROM record_folded").int, 1)
        let (sql, values) = RecordSearch.foldedCandidates(RecordSearch.searchKey("党员"))
        let p = try plan(store, sql, values)
        XCTAssertTrue(p.contains("SEARCH f USING INTEGER PRIMARY KEY"), p)
        XCTAssertFalse(p.contains("records"), p)
        XCTAssertTrue(RecordSearch.searchedMetadataSQL.contains("published"))
        XCTAssertEqual(try store.rankedSearch("党员", order: .relevance).count, 1)
    }

    /// `log -n N` reads the log by clock reading and sorts only the ties
    /// (observed: 2.9 s at 1M changes, sorting the whole log).
    func testTheNewestChangesAreReadByTheTimeIndex() throws {
        let store = try makeStore("a")
        let p = try plan(store, Store.logSQL(limit: 20, entity: false))
        XCTAssertTrue(p.contains("USING INDEX log_by_time"), p)
        XCTAssertTrue(p.contains("RIGHT PART OF ORDER BY"), p)
        // One entity's log is found by its key, not by the time index.
        let one = try plan(store, Store.logSQL(limit: 20, entity: true), .text("x"))
        XCTAssertFalse(one.contains("log_by_time"), one)
        XCTAssertTrue(one.contains("PRIMARY KEY (entity=?)"), one)
        // No index of the log's author changes is left (file version 18).
        XCTAssertEqual(try store.db.rows("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'log' ORDER BY name")
            .compactMap { $0[0].string }, ["log_by_origin", "log_by_time"])
    }

    /// A node known by its bundles is named from its last annotation's
    /// author, one row a node kept beside the log (observed: `log -n 20`
    /// walked back through every change the node made since it last
    /// annotated, 40 ms on a 340,000-change store; then a partial index of
    /// the log's author changes, which every change logged was tested for).
    func testANodesNameIsReadFromTheTableOfAuthors() throws {
        let store = try makeStore("a")
        let p = try plan(store, Store.authorNameSQL, .text("x"))
        XCTAssertTrue(p.contains("SEARCH a USING INTEGER PRIMARY KEY (rowid=?)"), p)
        XCTAssertFalse(p.contains("SCAN"), p)
    }

    /// A node known only by the changes relayed from it is named by the
    /// author it last wrote, not by the gold layer's, and not by an
    /// earlier name.
    func testANodeKnownByItsChangesIsNamedByTheAuthorItLastWrote() throws {
        let a = try makeStore("a"), b = try makeStore("b"), c = try makeStore("c")
        let (rid, _) = try a.importReport(ReportDraft(body: "全县共有16名党员。", title: "报告"))
        let code = try a.addCode(name: "party-members", description: nil, colour: nil, parent: nil)
        _ = try a.annotate(record: rid, code: code, span: .quote("16名党员", occurrence: nil), value: "16", note: nil, author: "alice")
        _ = try a.annotate(record: rid, code: code, span: .quote("党员", occurrence: nil), value: nil, note: nil, author: "alice-laptop")
        try deliver(a, b)
        _ = try a.annotate(record: rid, code: code, span: .quote("16名", occurrence: nil), value: nil, note: nil, author: Store.goldAuthor)
        try deliver(a, b)
        try deliver(b, c)
        XCTAssertEqual(try c.nodeName(of: a.node.id), "alice-laptop")
        XCTAssertEqual(try b.nodeName(of: a.node.id), "alice-laptop")
        XCTAssertNil(try c.nodeName(of: NodeID(stored: "00000000000000aa")))
    }

    /// `status`, the lists and the tables ask each annotation's record
    /// whether it is deleted: from the index of live records, not the
    /// record's own row (a 340,000-change store: 63 ms by the row, 27 ms
    /// by the index, for `status`'s count).
    func testWhetherARecordIsLiveIsReadFromItsIndex() throws {
        let store = try makeStore("a")
        let p = try plan(store, Store.statusCountSQL)
        XCTAssertTrue(p.contains("COVERING INDEX records_alive"), p)
    }

    /// `status` counts annotations from an index of what it counts, and
    /// asks each record once whether it is live (observed at a million
    /// changes: 77 ms of its 111 ms went to reading every annotation's row
    /// and asking its record for each; 19 ms this way).
    func testStatusCountsFromItsIndexAndAsksEachRecordOnce() throws {
        let store = try makeStore("a")
        let p = try plan(store, Store.statusCountSQL)
        XCTAssertTrue(p.contains("MATERIALIZE counted"), p)
        XCTAssertTrue(p.contains("COVERING INDEX annotations_counted"), p)
        // The question about the record is asked of the counted rows, not
        // inside the materialised count.
        let lines = p.split(separator: "\n")
        let scan = try XCTUnwrap(lines.firstIndex { $0.contains("SCAN counted") }, p)
        let asked = try XCTUnwrap(lines.firstIndex { $0.contains("records_alive") }, p)
        XCTAssertGreaterThan(asked, scan, p)
    }

    /// A page of the record list (`list -n`, the workspace's records) is
    /// read from the index in list order, not sorted from every record
    /// (observed: 0.22 s for the first page of 100,000 records).
    func testAPageOfRecordsIsReadInIndexOrder() throws {
        let store = try makeStore("a")
        let p = try plan(store, Store.recordListSQL() + " LIMIT 50")
        XCTAssertTrue(p.contains("USING INDEX records_listed"), p)
        XCTAssertFalse(p.contains("TEMP B-TREE"), p)
    }

    /// The order `log` prints stays the LWW order, ties included.
    func testTheLogIsNewestFirstInTheLWWOrder() throws {
        let store = try makeStore("a")
        let code = try store.addCode(name: "甲", description: nil, colour: nil, parent: nil)
        try store.write { for i in 0..<30 { _ = try store.addCode(name: "code \(i)", description: "d", colour: nil, parent: nil) } }
        try store.renameCode(code, to: "乙")
        let all = try store.log(limit: nil)
        XCTAssertEqual(all.map(\.stamp), all.map(\.stamp).sorted(by: >))
        XCTAssertEqual(try store.log(limit: 7).map(\.id), Array(all.prefix(7)).map(\.id))
    }
}

/// `status` counts each annotation once by the status a person sees (a
/// review made stale by a later edit shows as open), whatever way the
/// query is written to run the stale-review test once.
final class StatusCountTests: StoreTestCase {
    func testAStaleReviewCountsAsOpenAndSuggestionsByTheirStatus() throws {
        let s = try makeStore("a")
        let (id, _) = try s.importReport(ReportDraft(body: "全县共有16名党员,38名志愿者,5支队伍。", title: "报告"))
        let code = try s.addCode(name: "party-members", description: nil, colour: nil, parent: nil, triggers: "党员")
        let kept = try s.annotate(record: id, code: code, span: .quote("16名党员", occurrence: nil), value: "16", note: nil)
        let edited = try s.annotate(record: id, code: code, span: .quote("38名志愿者", occurrence: nil), value: "38", note: nil)
        let dropped = try s.annotate(record: id, code: code, span: .quote("5支队伍", occurrence: nil), value: nil, note: nil)
        _ = try s.annotate(record: id, code: code, span: nil, value: nil, note: "open")
        try s.review(annotation: kept, status: .accepted, comment: nil)
        try s.review(annotation: edited, status: .accepted, comment: nil)
        try s.review(annotation: dropped, status: .rejected, comment: nil)
        var change = Store.AnnotationEdit()
        change.value = .some("39")
        try s.edit(annotation: edited, change)
        XCTAssertEqual(try s.annotation(edited)?.status, .open, "changed since accepted")
        try s.storeSuggestions(try s.suggestions(record: id, triggers: try s.suggestionTriggers()))
        let status = try s.status()
        let shown = try s.annotations()
        XCTAssertEqual(status.annotations, shown.count)
        XCTAssertEqual(status.accepted, 1)
        XCTAssertEqual(status.rejected, 1)
        XCTAssertEqual(status.open, 2)
        XCTAssertEqual(status.suggested, shown.filter { $0.status == .suggested }.count)
        for st in [ReviewStatus.open, .accepted, .rejected] {
            XCTAssertEqual(shown.filter { $0.status == st }.count, try s.annotations(status: st).count, "\(st)")
        }
    }
}

extension QueryPlanTests {
    /// `review` walks ids read alone (`forEachAnnotationID`): the same
    /// annotations, in the same order, as the annotations read whole, for
    /// every status, a code and a record, with each one's author and record.
    func testTheIDWalkGivesTheAnnotationsInTheirOrder() throws {
        let s = try makeStore("a")
        let code = try s.addCode(name: "party-members", description: nil, colour: nil, parent: nil, triggers: "党员")
        var records: [String] = []
        for n in 0..<3 {
            let (id, _) = try s.importReport(ReportDraft(body: "全县共有\(16 + n)名党员,38名志愿者,另有党员\(n)名。", title: "报告\(n)"))
            records.append(id)
            _ = try s.annotate(record: id, code: code, span: .quote("38名志愿者", occurrence: nil), value: "38", note: nil)
            let first = try s.annotate(record: id, code: nil, span: .range(0, 2), value: nil, note: "county")
            _ = try s.annotate(record: id, code: code, span: nil, value: nil, note: "whole report")
            if n == 1 { try s.review(annotation: first, status: .accepted, comment: nil) }
            try s.storeSuggestions(try s.suggestions(record: id, triggers: try s.suggestionTriggers()))
        }
        func walked(record: String? = nil, code: String? = nil, status: ReviewStatus? = nil) throws -> [String] {
            var out: [String] = []
            try s.forEachAnnotationID(record: record, code: code, status: status) { id, author, rec in
                out.append("\(id) \(author ?? "-") \(rec)")
            }
            return out
        }
        func whole(record: String? = nil, code: String? = nil, status: ReviewStatus? = nil) throws -> [String] {
            try s.annotations(record: record, code: code, status: status).map { "\($0.id) \($0.author ?? "-") \($0.record)" }
        }
        XCTAssertEqual(try walked(), try whole())
        XCTAssertGreaterThan(try walked().count, 9, "suggestions and coding both")
        for status in [ReviewStatus.suggested, .open, .accepted, .rejected] {
            XCTAssertEqual(try walked(status: status), try whole(status: status), "\(status)")
        }
        XCTAssertEqual(try walked(status: .accepted).count, 1)
        XCTAssertEqual(try walked(code: code), try whole(code: code))
        XCTAssertEqual(try walked(record: records[1]), try whole(record: records[1]))
    }
}

/// A field's history does not make each change to it cost more.
final class FieldHistoryGrowthTests: StoreTestCase {
    /// SQLite's steps per change, applying one batch of `n` changes to one field.
    func stepsPerChange(_ n: Int) throws -> Double {
        let store = try makeStore("one-field-\(n)")
        let (changes, signatures) = SignedChains.codeNames(n, seed: [UInt8](repeating: 0x5e, count: 32), oneField: true)
        let before = store.db.virtualMachineSteps
        XCTAssertEqual(try store.receiveBatch(changes, signatures: signatures).applied, n)
        XCTAssertEqual(try store.code(SignedChains.oneFieldCode)?.name, "code-\(n - 1)")
        return Double(store.db.virtualMachineSteps - before) / Double(n)
    }

    /// Observed: applying 4,000 changes to one field took 15 to 22 times as
    /// long as 4,000 changes to as many codes (`margin-bench`'s
    /// `one_field_apply`). Each change read every logged change of its
    /// field to find the winner and the changes superseding the same one,
    /// so a peer sending 100,000 edits of one field would take minutes.
    /// Counted in SQLite's steps, four times the changes must not cost more
    /// per change.
    func testAFieldsHistoryDoesNotMakeEachChangeCostMore() throws {
        let small = try stepsPerChange(300), large = try stepsPerChange(1_200)
        XCTAssertLessThan(large / small, 1.3, "steps per change: \(small) for 300, \(large) for 1,200")
    }
}

extension FieldHistoryGrowthTests {
    /// A field's history held by a write (`FieldHistory`) answers as the
    /// log does: two coders edit one code's name and one annotation's value
    /// many times each, in rounds without syncing, and one store takes every change in
    /// one write (the histories used), another each change in a write of
    /// its own (never used), a third both senders' changes interleaved by
    /// clock in one write. All end with the same state and the same
    /// conflicts as the coders after they sync.
    func testAHeldHistoryFindsTheSameWinnersAndConflictsAsTheLog() throws {
        let alice = try makeStore("alice"), bob = try makeStore("bob")
        let code = try alice.addCode(name: "teams", description: nil, colour: nil, parent: nil)
        let record = try alice.importReport(ReportDraft(body: "玛多县组建党员突击队3支,共有159名黨員。", title: "玛多")).id
        let annotation = try alice.annotate(record: record, code: code, span: .quote("159名黨員", occurrence: nil), value: "159", note: nil)
        try exchange(alice, bob)
        // Three rounds, synced between: each round's first edits supersede
        // the same winner, so later rounds meet a held history.
        for round in 0..<3 {
            if round > 0 { try exchange(alice, bob) }
            for i in 0..<8 {
                for (who, coder) in [("a", alice), ("b", bob)] {
                    try coder.renameCode(code, to: "teams-\(who)\(round)-\(i)")
                    var e = Store.AnnotationEdit()
                    e.value = .some("\(who) \(round) \(i)")
                    try coder.edit(annotation: annotation, e, anyLayer: true)
                }
            }
        }
        let oneWrite = try makeStore("one-write"), eachAlone = try makeStore("each-alone"), interleaved = try makeStore("interleaved")
        // Each sender's changes whole, in one write: the last round's first
        // change of bob's meets alice's eight, its sibling not the winner.
        try oneWrite.write {
            try deliver(alice, oneWrite)
            try deliver(bob, oneWrite)
        }
        for sender in [alice, bob] {
            let held = try eachAlone.versionVector()
            let inOrder = try sender.log(limit: nil).sorted { $0.hlc != $1.hlc ? $0.hlc < $1.hlc : $0.id < $1.id }
            for c in inOrder where !held.covers(c.id) { try eachAlone.write { _ = try eachAlone.receive(c) } }
        }
        let aliceHeld = try alice.versionVector()
        let both = try (alice.log(limit: nil) + bob.log(limit: nil).filter { !aliceHeld.covers($0.id) })
            .sorted { $0.hlc != $1.hlc ? $0.hlc < $1.hlc : $0.id < $1.id }
        try interleaved.write { for c in both { _ = try interleaved.receive(c) } }
        try exchange(alice, bob)
        let expected = try alice.dumpDerivedState()
        XCTAssertEqual(try bob.dumpDerivedState(), expected)
        let conflicts = try alice.conflicts(includeResolved: true).map(\.id).sorted()
        XCTAssertGreaterThan(conflicts.count, 0, "the concurrent edits conflict")
        for store in [oneWrite, eachAlone, interleaved] {
            XCTAssertEqual(try store.dumpDerivedState(), expected, store.node.name)
            XCTAssertEqual(try store.conflicts(includeResolved: true).map(\.id).sorted(), conflicts, store.node.name)
        }
    }
}

/// Deletions do not make later deletions or edits of the entity cost more.
final class DeletionGrowthTests: StoreTestCase {
    /// One code's changes from one origin: a name, then `deletions`
    /// changes to `deleted` (deleted, restored, deleted…, each having seen
    /// everything before it), and `edits` renames, each naming the last
    /// deletion change as what it saw; `editsFirst` puts the renames before
    /// the deletions.
    static func toggles(deletions: Int, edits: Int, editsFirst: Bool) -> ([Change], [HeadSignature]) {
        let code = EntityID(stored: SignedChains.oneFieldCode)
        var lastName: ChangeID?, lastDeleted: ChangeID?
        return SignedChains.chain(1 + deletions + edits, seed: [UInt8](repeating: 0x6d, count: 32)) { i, id, hlc in
            let rename = i == 0 || (editsFirst ? i <= edits : i > deletions)
            defer { if rename { lastName = id } else { lastDeleted = id } }
            if rename {
                return Change(id: id, hlc: hlc, kind: .code, entity: code, field: "name", value: .text("name \(i)"),
                              supersedes: lastName, deletionBase: lastDeleted)
            }
            let deleting = lastDeleted == nil || (i % 2 == 1)
            return Change(id: id, hlc: hlc, kind: .code, entity: code, field: FieldSchema.deleted, value: .int(deleting ? 1 : 0),
                          supersedes: lastDeleted, seen: VersionVector([id.origin: id.seq - 1]))
        }
    }

    /// SQLite's steps per change, applying `toggles` in one batch.
    func stepsPerChange(deletions: Int, edits: Int, editsFirst: Bool) throws -> Double {
        let store = try makeStore("toggles-\(deletions)-\(edits)-\(editsFirst)")
        let (changes, signatures) = Self.toggles(deletions: deletions, edits: edits, editsFirst: editsFirst)
        let before = store.db.virtualMachineSteps
        XCTAssertEqual(try store.receiveBatch(changes, signatures: signatures).applied, changes.count)
        XCTAssertEqual(try store.conflicts(includeResolved: true).count, 0, "one writer saw everything: nothing raced")
        return Double(store.db.virtualMachineSteps - before) / Double(changes.count)
    }

    /// Observed: each deletion read every logged change of its entity
    /// (its deletions too) to find the edits it raced, and each edit of an
    /// entity ever deleted read every deletion of it. 150 changes deleting
    /// and restoring one code, then 150 renames, cost 1,793 steps per
    /// change; four times as many, 6,630 (3.7 times); renames first, 3.5
    /// times. A peer's long run of them was quadratic.
    func testDeletionsAndEditsDoNotMakeEachOtherCostMore() throws {
        for editsFirst in [false, true] {
            let small = try stepsPerChange(deletions: 150, edits: 150, editsFirst: editsFirst)
            let large = try stepsPerChange(deletions: 600, edits: 600, editsFirst: editsFirst)
            XCTAssertLessThan(large / small, 1.3, "edits first: \(editsFirst); steps per change: \(small) for 300, \(large) for 1,200")
        }
    }
}

extension DeletionGrowthTests {
    /// The deletion conflicts the rule names (PROTOCOL.md §3), found over
    /// every pair of a deletion and an edit in `changes`: for each
    /// deletion that raced an edit, the newest edit it raced.
    static func racingPairs(_ changes: [Change]) -> [ChangeID: ChangeID] {
        let byID = Dictionary(changes.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        var found: [ChangeID: Change] = [:]
        for d in changes where d.field == FieldSchema.deleted && d.value == .int(1) {
            guard let seen = d.seen else { continue }
            for e in changes where e.kind == d.kind && e.entity == d.entity && e.field != FieldSchema.deleted {
                if seen.covers(e.id) { continue }
                if let base = e.deletionBase, base == d.id || byID[base]?.seen?.covers(d.id) == true { continue }
                if let held = found[d.id], !Change.wins(e.stamp, over: held.stamp) { continue }
                found[d.id] = e
            }
        }
        return found.mapValues(\.id)
    }

    /// The racing deletions found by origin and sequence are the ones the
    /// rule names, on three coders' history of one annotation edited (70
    /// times by one of them: more edits than one scan reads), deleted and
    /// restored in rounds with partial syncs between.
    func testRacingDeletionsFoundByOriginAndSequenceAreThoseTheRuleNames() throws {
        let (alice, bob, carol, annotation) = try threeCodersOnOneAnnotation()
        var rng = SplitMix64(seed: 2026)
        let coders = [alice, bob, carol]
        for round in 0..<6 {
            for (n, coder) in coders.enumerated() {
                let edits = round == 0 && n == 0 ? 70 : Int(rng.next() % 4)
                for i in 0..<edits {
                    var e = Store.AnnotationEdit()
                    e.value = .some("\(coder.node.name) \(round) \(i)")
                    // A coder holding the annotation deleted edits nothing.
                    try? coder.edit(annotation: annotation, e, anyLayer: true)
                }
                if rng.next() % 2 == 0, (try? coder.delete(annotation: annotation, anyLayer: true)) != nil, rng.next() % 2 == 0 {
                    _ = try coder.undoLast(1)
                }
            }
            let a = Int(rng.next() % 3), b = (a + 1 + Int(rng.next() % 2)) % 3
            try exchange(coders[a], coders[b])
        }
        try exchange(alice, bob)
        try exchange(bob, carol)
        try exchange(alice, bob)
        let log = try alice.log(limit: nil)
        XCTAssertGreaterThan(log.filter { $0.entity.text == annotation && $0.field != FieldSchema.deleted }.count, ConflictFinder.editsScanned,
                             "more edits than one scan reads")
        let expected = Self.racingPairs(log)
        XCTAssertGreaterThan(expected.count, 0, "some deletion raced an edit")
        try assertDeletionConflicts(in: coders, are: expected)
    }

    /// As above, with more changes to `deleted` than one scan reads
    /// (`ConflictFinder.deletionsScanned`): each round a coder deletes the
    /// annotation and restores it while the others edit it, with partial
    /// syncs between; the conflicts filed are those the rule names, found
    /// by the scan while the changes to `deleted` are few and by origin
    /// once they are many.
    func testRacingDeletionsPastOneScanAreThoseTheRuleNames() throws {
        let (alice, bob, carol, annotation) = try threeCodersOnOneAnnotation()
        let coders = [alice, bob, carol]
        for round in 0..<14 {
            let deleter = coders[round % 3]
            for (n, coder) in coders.enumerated() where coder !== deleter {
                var e = Store.AnnotationEdit()
                e.value = .some("\(coder.node.name) \(round) \(n)")
                try? coder.edit(annotation: annotation, e, anyLayer: true)
            }
            if (try? deleter.delete(annotation: annotation, anyLayer: true)) != nil { _ = try deleter.undoLast(1) }
            try exchange(coders[round % 3], coders[(round + 1) % 3])
        }
        try exchange(alice, bob)
        try exchange(bob, carol)
        try exchange(alice, bob)
        let log = try alice.log(limit: nil)
        XCTAssertGreaterThan(log.filter { $0.entity.text == annotation && $0.field == FieldSchema.deleted }.count, ConflictFinder.deletionsScanned,
                             "more changes to deleted than one scan reads")
        let expected = Self.racingPairs(log)
        XCTAssertGreaterThan(expected.count, 0, "some deletion raced an edit")
        try assertDeletionConflicts(in: coders, are: expected)
    }

    /// Three coders holding one annotation on one record.
    func threeCodersOnOneAnnotation() throws -> (Store, Store, Store, String) {
        let alice = try makeStore("alice"), bob = try makeStore("bob"), carol = try makeStore("carol")
        let code = try alice.addCode(name: "teams", description: nil, colour: nil, parent: nil)
        let record = try alice.importReport(ReportDraft(body: "玛多县组建党员突击队3支,共有159名黨員。", title: "玛多")).id
        let annotation = try alice.annotate(record: record, code: code, span: .quote("159名黨員", occurrence: nil), value: "159", note: nil)
        try exchange(alice, bob)
        try exchange(bob, carol)
        return (alice, bob, carol, annotation)
    }

    /// Each store's deletion conflicts are `expected`: by deletion, the
    /// newest edit it raced, under the deletion's conflict id.
    func assertDeletionConflicts(in stores: [Store], are expected: [ChangeID: ChangeID], line: UInt = #line) throws {
        for store in stores {
            let filed = try store.conflicts(includeResolved: true).filter { $0.field == FieldSchema.deleted }
            XCTAssertEqual(Dictionary(uniqueKeysWithValues: filed.map { ($0.winner.id, $0.loser.id) }), expected, store.node.name, line: line)
            XCTAssertEqual(Set(filed.map(\.id)), Set(expected.keys.map(ConflictFinder.deletionConflictID)), store.node.name, line: line)
        }
    }
}

extension DeletionGrowthTests {
    /// An edit made after a restore races a deletion its writer had not
    /// seen: the first change of its origin, just past what the restore's
    /// writer had seen of that origin.
    func testAnEditRacesTheFirstDeletionItsViewOfDeletedLacks() throws {
        let (alice, bob, carol, annotation) = try threeCodersOnOneAnnotation()
        try alice.delete(annotation: annotation, anyLayer: true)
        _ = try alice.undoLast(1)
        try exchange(alice, bob)
        var e = Store.AnnotationEdit()
        e.value = .some("160")
        try bob.edit(annotation: annotation, e, anyLayer: true)
        XCTAssertEqual(try carol.head(of: carol.node.id), 0, "carol has written nothing yet")
        try carol.delete(annotation: annotation, anyLayer: true)
        for _ in 0..<2 { try exchange(alice, bob); try exchange(bob, carol) }
        let expected = Self.racingPairs(try bob.log(limit: nil))
        XCTAssertEqual(expected.count, 1, "carol's deletion races bob's edit")
        try assertDeletionConflicts(in: [alice, bob, carol], are: expected)
    }
}
