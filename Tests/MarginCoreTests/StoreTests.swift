import Foundation
@testable import MarginCore
import MarginSQLite
import XCTest

final class StoreTests: StoreTestCase {
    /// A rebuild reads the log in chunks of 4096 changes, each resumed after
    /// the last key of the one before: more than two chunks here, with
    /// fields changed several times, so that winners move across chunks.
    /// A write that numbered new entities and nodes and then failed takes
    /// the numbers with it: the next write numbers its ids again and its
    /// log rows name them.
    /// A connection that only reads keeps SQLite's own 2 MB page cache; one
    /// that writes (a local write, a received batch, a rebuild) keeps 32 MB
    /// (observed: every page past 2 MB was fresh memory for a reading
    /// command, 7,500 page faults for `conflicts` at a million changes
    /// where 3,500 were enough).
    func testOnlyAWritingConnectionKeepsTheLargePageCache() throws {
        let made = try makeStore("a")
        _ = try made.importReport(ReportDraft(body: "全縣共有159名黨員參加防控。", title: "t"))
        func cache(_ s: Store) throws -> Int64 { try s.db.scalar("PRAGMA cache_size").int ?? 0 }
        let reader = try Store(directory: made.directory)
        defer { reader.db.close() }
        _ = try reader.status()
        _ = try reader.conflicts(includeResolved: true)
        _ = try reader.search("黨員")
        let plain = try Database(path: made.path)
        defer { plain.close() }
        XCTAssertEqual(try cache(reader), try plain.scalar("PRAGMA cache_size").int ?? 0)
        _ = try reader.importReport(ReportDraft(body: "設立16個臨時黨支部。", title: "u"))
        XCTAssertEqual(try cache(reader), -32768)
        let rebuilt = try Store(directory: made.directory)
        defer { rebuilt.db.close() }
        try rebuilt.rebuildState()
        XCTAssertEqual(try cache(rebuilt), -32768)
    }

    func testNumbersMadeByAWriteThatRolledBackAreNotUsed() throws {
        let s = try makeStore("numbers")
        struct Stop: Error {}
        XCTAssertThrowsError(try s.write {
            _ = try s.addCode(name: "first", description: nil, colour: nil, parent: nil)
            throw Stop()
        })
        XCTAssertEqual(try s.db.scalar("SELECT count(*) FROM nodes").int, 0)
        let code = try s.addCode(name: "second", description: nil, colour: nil, parent: nil)
        XCTAssertEqual(try s.codes().map(\.id), [code])
        XCTAssertEqual(try s.db.scalar("SELECT count(*) FROM changes").int, try s.db.scalar("SELECT count(*) FROM log").int)
        try s.check()
    }

    /// A nested write has no savepoint of its own: one that fails after
    /// writing must fail the whole write, even when its caller catches the
    /// error, so that no half of it is ever committed.
    func testANestedWriteThatFailsAfterWritingFailsTheWholeWrite() throws {
        let s = try makeStore("nested")
        let rid = try s.importReport(ReportDraft(body: "共有159名黨員加入其中。", title: "t")).id
        let changes = try s.status().changes
        struct Stop: Error {}
        XCTAssertThrowsError(try s.write {
            _ = try s.annotate(record: rid, code: nil, span: .range(2, 5), value: "kept?", note: nil)
            do {
                try s.write {
                    try s.set(.record, EntityID(stored: rid), "title", .text("half"))
                    throw Stop()
                }
            } catch {}
            _ = try s.annotate(record: rid, code: nil, span: .range(2, 5), value: "after", note: nil)
        }) { XCTAssertTrue($0 is Stop, "the nested write's own error: \($0)") }
        XCTAssertEqual(try s.status().changes, changes)
        XCTAssertEqual(try s.record(rid)?.title, "t")
        XCTAssertEqual(try s.annotations(record: rid).count, 0)
        try s.check()
        // The store writes on afterwards, with the numbers it had.
        _ = try s.annotate(record: rid, code: nil, span: .range(2, 5), value: "later", note: nil)
        XCTAssertGreaterThan(try s.status().changes, changes)
        try s.check()
    }

    /// A nested write refused by its checks, before it wrote anything,
    /// leaves the rest of the write to commit.
    func testANestedWriteRefusedBeforeWritingLeavesTheRestToCommit() throws {
        let s = try makeStore("refused")
        let rid = try s.importReport(ReportDraft(body: "共有159名黨員加入其中。", title: "t")).id
        let kept = try s.write { () -> String in
            let id = try s.annotate(record: rid, code: nil, span: .range(2, 5), value: "kept", note: nil)
            XCTAssertThrowsError(try s.annotate(record: rid, code: nil, span: .range(2, 99), value: "refused", note: nil))
            XCTAssertThrowsError(try s.annotate(record: "no-such-record", code: nil, span: nil, value: "refused", note: nil))
            return id
        }
        XCTAssertEqual(try s.annotations(record: rid).map(\.id), [kept])
        try s.check()
    }

    /// With `isolatingNestedWrites`, each nested write has a savepoint: one
    /// that fails after writing is rolled back alone.
    func testAnIsolatingWriteRollsBackOnlyTheNestedWriteThatFailed() throws {
        let s = try makeStore("isolating")
        let rid = try s.importReport(ReportDraft(body: "共有159名黨員加入其中。", title: "t")).id
        struct Stop: Error {}
        try s.write(isolatingNestedWrites: true) {
            _ = try s.write { try s.set(.record, EntityID(stored: rid), "title", .text("kept")) }
            do {
                try s.write {
                    try s.set(.record, EntityID(stored: rid), "place", .text("half"))
                    throw Stop()
                }
            } catch {}
            _ = try s.write { try s.set(.record, EntityID(stored: rid), "source", .text("after")) }
        }
        let r = try XCTUnwrap(try s.record(rid))
        XCTAssertEqual(r.title, "kept")
        XCTAssertNil(r.place)
        XCTAssertEqual(r.source, "after")
        try s.check()
    }

    /// A write remembers the last entity it looked for and did not find;
    /// the next write must look again, since another process may have
    /// numbered it in between.
    func testAnEntityNumberedByAnotherConnectionBetweenWritesIsFound() throws {
        let first = try makeStore("numbering")
        let second = try Store(directory: first.directory)
        let code = "0123456789abcdef"
        try first.write { XCTAssertNil(try first.winner(.code, EntityID(stored: code), "name")) }
        _ = try second.write { try second.set(.code, EntityID(stored: code), "name", .text("from-second")) }
        _ = try first.write { try first.set(.code, EntityID(stored: code), "name", .text("from-first")) }
        XCTAssertEqual(try first.winner(.code, EntityID(stored: code), "name")?.value, .text("from-first"))
        XCTAssertEqual(try first.db.scalar("SELECT count(*) FROM entities WHERE id = ?", .text(code)).int, 1)
        try first.check()
    }

    /// Annotations on one report reuse its body's characters; another
    /// report's body, whose characters fall elsewhere, is never mistaken
    /// for it.
    func testSpansAlternatingBetweenReportsAreEachLocatedInTheirOwnBody() throws {
        let s = try makeStore("bodies")
        let a = try s.importReport(ReportDraft(body: "👍🏽共有159名黨員", title: "a")).id
        let b = try s.importReport(ReportDraft(body: "共有16個臨時黨支部", title: "b")).id
        try s.write {
            for _ in 0..<2 {
                let onA = try s.annotate(record: a, code: nil, span: .range(0, 2), value: nil, note: nil)
                XCTAssertEqual(try s.annotation(onA)?.span?.quote, "👍🏽")
                // Offset 1 splits 👍🏽 in a's body, not in b's.
                let onB = try s.annotate(record: b, code: nil, span: .range(1, 2), value: nil, note: nil)
                XCTAssertEqual(try s.annotation(onB)?.span?.quote, "有")
                XCTAssertThrowsError(try s.annotate(record: a, code: nil, span: .range(1, 2), value: nil, note: nil))
            }
        }
        try s.check()
    }

    /// A received batch is hashed on every core, in parts: each hash must
    /// be the one its change has alone, at its own index, whatever the
    /// batch's size against the threshold and the parts' boundaries.
    func testABatchHashedInPartsGivesEachChangeItsOwnHash() {
        for count in [0, 1, 511, 512, 513, 1_000, 2_049] {
            var prev = ChangeHash.genesis
            let changes = (0..<count).map { i -> Change in
                let c = Change(id: ChangeID(origin: "0123456789abcdef", seq: Int64(i + 1)),
                               hlc: HLC(milliseconds: 1_700_000_000_000 + Int64(i), counter: 0), kind: .annotation,
                               entity: EntityID(stored: "a\(i / 10)"), field: "f\(i % 10)", value: i % 3 == 0 ? .null : .text(String(repeating: "黨", count: i % 90)),
                               prev: prev)
                prev = c.hash
                return c
            }
            XCTAssertEqual(ChangeHash.of(changes), changes.map(\.hash), "\(count) changes")
        }
    }

    /// The heads a write keeps in memory: the origin moved last is held
    /// apart from the others, and must read the same as if it were not.
    func testPendingHeadsReadTheSameWhicheverOriginMovedLast() {
        var p = PendingHeads()
        let a: NodeID = "00000000000000aa", b: NodeID = "00000000000000bb"
        XCTAssertNil(p.head(a))
        p.set(a, 1, tip: [1])
        p.set(a, 2, tip: [2])
        XCTAssertEqual(p.head(a), 2)
        XCTAssertEqual(p.tip(a, at: 2), [2])
        XCTAssertNil(p.tip(a, at: 1), "only the head's hash is held")
        p.set(b, 7, tip: nil)
        XCTAssertEqual(p.head(a), 2)
        XCTAssertEqual(p.tip(a, at: 2), [2])
        XCTAssertEqual(p.head(b), 7)
        XCTAssertNil(p.tip(b, at: 7), "a head read from the file has no hash here")
        p.set(a, 3, tip: [3])
        XCTAssertEqual(p.tip(a, at: 3), [3])
        XCTAssertEqual(p.all, [a: 3, b: 7])
        // A head moved back (a rewind) forgets its hash.
        p.set(b, 8, tip: [8])
        p.set(a, 1, tip: nil)
        p.set(b, 9, tip: [9])
        XCTAssertEqual(p.head(a), 1)
        XCTAssertNil(p.tip(a, at: 1))
        XCTAssertEqual(p.tip(b, at: 9), [9])
        XCTAssertEqual(p.all, [a: 1, b: 9])
    }

    func testARebuildOfAManyChunkLogGivesTheLiveState() throws {
        let s = try makeStore("big")
        let body = "曲麻萊縣成立16個臨時黨支部,共有159名黨員參加,抽調354名幹部。"
        let rid = try s.importReport(ReportDraft(body: body, title: "t")).id
        let code = try s.addCode(name: "party", description: nil, colour: nil, parent: nil)
        var ids: [String] = []
        try s.write { for i in 0..<900 { ids.append(try s.annotate(record: rid, code: code, span: .range(6, 8), value: "\(i)", note: nil)) } }
        try s.write { for (i, id) in ids.enumerated() where i % 3 == 0 { try s.edit(annotation: id, { var e = Store.AnnotationEdit(); e.value = .some("edited \(i)"); return e }(), anyLayer: true) } }
        // One field changed more times than a chunk holds: its changes are
        // folded together, whichever chunks they were read in.
        try s.write { for i in 0..<4500 { try s.edit(annotation: ids[1], { var e = Store.AnnotationEdit(); e.value = .some("v\(i)"); return e }(), anyLayer: true) } }
        XCTAssertGreaterThan(try s.status().changes, 2 * 4096)
        let live = try s.dumpDerivedState()
        try s.rebuildState()
        XCTAssertEqual(try s.dumpDerivedState(), live)
        XCTAssertEqual(try s.annotation(ids[3])?.value, "edited 3")
        XCTAssertEqual(try s.annotation(ids[1])?.value, "v4499")
        // The rebuild writes only the winner flags that differ from the
        // log's: every flag turned over is turned back.
        try s.db.execute("UPDATE log SET current = 1 - current")
        try s.rebuildState()
        XCTAssertEqual(try s.dumpDerivedState(), live)
    }

    /// A received batch skips the look-up of a field of an entity first
    /// seen in that batch, unless the batch has changed the field already.
    /// Here one batch creates records and annotations and changes the same
    /// fields of them again, deletes one and edits another after a record
    /// was deleted: the receiver must end with the sender's state.
    func testABatchThatCreatesAndChangesEntitiesAgainEndsWithTheSendersState() throws {
        let a = try makeStore("sender"), b = try makeStore("receiver")
        let rid = try a.importReport(ReportDraft(body: "玛多县组建党员突击队3支,共有159名黨員。", title: "一")).id
        let code = try a.addCode(name: "teams", description: nil, colour: nil, parent: nil)
        var ids: [String] = []
        try a.write {
            for i in 0..<40 {
                let id = try a.annotate(record: rid, code: code, span: .range(6, 9), value: "\(i)", note: nil)
                var e = Store.AnnotationEdit()
                e.value = .some("again \(i)")
                e.note = .some(i % 2 == 0 ? "note" : nil)
                try a.edit(annotation: id, e, anyLayer: true)
                if i % 5 == 0 { e.value = .some("third \(i)"); try a.edit(annotation: id, e, anyLayer: true) }
                if i % 7 == 0 { try a.delete(annotation: id, anyLayer: true) }
                ids.append(id)
            }
            try a.setRecordField(rid, field: "title", value: "二")
            try a.setRecordField(rid, field: "title", value: "三")
        }
        var batches = 0
        try a.forEachSignedBatch(above: VersionVector(), targetBytes: 1 << 22) { changes, signatures, _ in
            batches += 1
            XCTAssertEqual(try b.receiveBatch(changes, signatures: signatures).applied, changes.count)
        }
        XCTAssertEqual(batches, 1, "one batch, so the entities are new within it")
        XCTAssertEqual(try b.dumpDerivedState(), try a.dumpDerivedState())
        XCTAssertEqual(try b.annotation(ids[5])?.value, "third 5")
        XCTAssertEqual(try b.annotation(ids[1])?.value, "again 1")
        XCTAssertNil(try b.annotation(ids[7]), "deleted")
        XCTAssertNotNil(try b.annotation(ids[7], includingDeleted: true))
        XCTAssertEqual(try b.record(rid)?.title, "三")
    }

    let body = "曲麻萊縣迅速成立了16個臨時黨支部,共有159名黨員加入其中。全縣共抽調354名幹部。"

    func seeded(_ name: String, wall: any WallClock = SystemClock()) throws -> (Store, String, String) {
        let s = try makeStore(name, wall: wall)
        let (rid, _) = try s.importReport(ReportDraft(body: body, title: "曲麻萊縣", place: "曲麻萊縣"))
        let code = try s.addCode(name: "party-members", description: nil, colour: "red", parent: nil)
        return (s, rid, code)
    }

    func testEveryWriteLogsOneChangePerChangedField() throws {
        let (s, rid, code) = try seeded("a")
        let before = try s.head(of: s.node.id)
        let aid = try s.annotate(record: rid, code: code, span: .quote("159名黨員", occurrence: nil), value: "159", note: nil)
        let created = try s.log(limit: nil, entity: aid)
        XCTAssertEqual(Set(created.map(\.field)), ["record", "code", "start", "end", "quote", "prefix", "suffix", "value", "status", "author"])
        XCTAssertEqual(try s.head(of: s.node.id), before + Int64(created.count))
        var e = Store.AnnotationEdit()
        e.value = .some("159")   // unchanged: no change logged
        e.note = .some("checked against the source")
        try s.edit(annotation: aid, e, anyLayer: true)
        let after = try s.log(limit: 1, entity: aid)
        XCTAssertEqual(after.first?.field, "note")
        XCTAssertEqual(after.first?.supersedes, nil)
        try s.edit(annotation: aid, { var e = Store.AnnotationEdit(); e.note = .some("second"); return e }(), anyLayer: true)
        let superseding = try s.log(limit: 1, entity: aid)
        XCTAssertEqual(superseding.first?.supersedes, after.first?.id)
    }

    func testSameReportImportedTwiceIsOneRecord() throws {
        let a = try makeStore("a"), b = try makeStore("b")
        let (ra, newA) = try a.importReport(ReportDraft(body: body, title: "t"))
        let (rb, _) = try b.importReport(ReportDraft(body: body, title: "t"))
        let (again, newAgain) = try a.importReport(ReportDraft(body: body, title: "t"))
        XCTAssertEqual(ra, rb)
        XCTAssertEqual(ra, again)
        XCTAssertFalse(newA)
        XCTAssertTrue(newAgain)
        try exchange(a, b)
        XCTAssertEqual(try a.digest(), try b.digest())
        XCTAssertEqual(try a.conflicts(includeResolved: true).count, 0, "identical imports do not conflict")
    }

    func testStateIsAReplayOfTheLog() throws {
        let (s, rid, code) = try seeded("a")
        let other = try s.addCode(name: "cadres", description: "officials", colour: "#ff8800", parent: code)
        let a1 = try s.annotate(record: rid, code: code, span: .quote("159名黨員", occurrence: nil), value: "159", note: nil)
        let a2 = try s.annotate(record: rid, code: other, span: .quote("354名幹部", occurrence: nil), value: "354", note: "n")
        _ = try s.annotate(record: rid, code: nil, span: nil, value: nil, note: "a note")
        try s.review(annotation: a1, status: .accepted, comment: "ok")
        try s.delete(annotation: a2, anyLayer: true)
        try s.renameCode(code, to: "party")
        try s.setRecordField(rid, field: "source", value: "人民網")
        try s.setRecordField(rid, field: "subtitle", value: "副題")
        _ = try s.mergeCode(other, into: code)
        let before = try s.dumpDerivedState()
        let digest = try s.digest()
        try s.rebuildState()
        XCTAssertEqual(try s.dumpDerivedState(), before)
        XCTAssertEqual(try s.digest(), digest)
        XCTAssertEqual(try s.search("黨支部").map(\.record), [rid], "the index is rebuilt too")
    }

    func testConcurrentEditIsTheSameConflictOnBothNodes() throws {
        let (a, rid, code) = try seeded("a")
        let b = try makeStore("b")
        let aid = try a.annotate(record: rid, code: code, span: .quote("159名黨員", occurrence: nil), value: "159", note: nil)
        try exchange(a, b)
        XCTAssertEqual(try a.digest(), try b.digest())
        // Both change the value without seeing each other.
        try a.edit(annotation: aid, { var e = Store.AnnotationEdit(); e.value = .some("160"); return e }(), anyLayer: true)
        try b.edit(annotation: aid, { var e = Store.AnnotationEdit(); e.value = .some("158"); return e }(), anyLayer: true)
        try exchange(a, b)
        XCTAssertEqual(try a.digest(), try b.digest())
        let ca = try a.conflicts(includeResolved: false), cb = try b.conflicts(includeResolved: false)
        XCTAssertEqual(ca.count, 1)
        XCTAssertEqual(ca.map(\.id), cb.map(\.id))
        let c = try XCTUnwrap(ca.first)
        XCTAssertEqual(c.field, "value")
        XCTAssertEqual(Set([c.winner.value, c.loser.value]), [.text("160"), .text("158")])
        XCTAssertEqual(try a.annotation(aid)?.value, c.winner.value.string, "the winner is what every node shows")
        // Resolving on one node closes it on both after the next exchange.
        try b.resolve(conflict: c.id, .keepOther, comment: "checked the source")
        try exchange(a, b)
        XCTAssertEqual(try a.conflicts(includeResolved: false).count, 0)
        XCTAssertEqual(try a.annotation(aid)?.value, c.loser.value.string)
        XCTAssertEqual(try a.conflict(c.id)?.comment, "checked the source")
        XCTAssertEqual(try a.digest(), try b.digest())
    }

    func testDeleteRacingAnEditIsAConflict() throws {
        let (a, rid, code) = try seeded("a")
        let b = try makeStore("b")
        let aid = try a.annotate(record: rid, code: code, span: .quote("159名黨員", occurrence: nil), value: "159", note: nil)
        try exchange(a, b)
        try a.delete(annotation: aid, anyLayer: true)
        try b.edit(annotation: aid, { var e = Store.AnnotationEdit(); e.note = .some("keep this"); return e }(), anyLayer: true)
        try exchange(a, b)
        let conflicts = try a.conflicts(includeResolved: false)
        XCTAssertEqual(conflicts.count, 1)
        XCTAssertEqual(conflicts.first?.field, "deleted")
        XCTAssertEqual(try b.conflicts(includeResolved: false).map(\.id), conflicts.map(\.id))
        XCTAssertNil(try a.annotation(aid), "the deletion wins")
        // Keeping the other side restores the annotation, with the edit.
        try a.resolve(conflict: conflicts[0].id, .keepOther, comment: nil)
        try exchange(a, b)
        XCTAssertEqual(try b.annotation(aid)?.note, "keep this")
        XCTAssertEqual(try b.conflicts(includeResolved: false).count, 0)
        // Later edits after the restore are not conflicts with the old deletion.
        try b.edit(annotation: aid, { var e = Store.AnnotationEdit(); e.value = .some("159人"); return e }(), anyLayer: true)
        try exchange(a, b)
        XCTAssertEqual(try a.conflicts(includeResolved: false).count, 0)
        XCTAssertEqual(try a.digest(), try b.digest())
    }

    func testEditAfterSeeingADeletionIsNoConflict() throws {
        let (a, rid, code) = try seeded("a")
        let b = try makeStore("b")
        let aid = try a.annotate(record: rid, code: code, span: nil, value: nil, note: nil)
        try a.delete(annotation: aid, anyLayer: true)
        try exchange(a, b)
        XCTAssertEqual(try b.conflicts(includeResolved: true).count, 0)
        XCTAssertThrowsError(try b.review(annotation: aid, status: .accepted, comment: nil), "a deleted annotation cannot be edited")
    }

    func testReceiveIsIdempotentAndRefusesGapsAndUnknownFields() throws {
        let (a, _, _) = try seeded("a")
        let b = try makeStore("b")
        let changes = try a.log(limit: nil).sorted { $0.id.seq < $1.id.seq }
        try b.write {
            XCTAssertTrue(try b.receive(changes[0]))
            XCTAssertFalse(try b.receive(changes[0]), "a change already held is skipped")
        }
        XCTAssertThrowsError(try b.write { try b.receive(changes[2]) }) { error in
            XCTAssertTrue("\(error)".contains("sequence gap"), "\(error)")
        }
        var bad = changes[1]
        bad.field = "no_such_field"
        XCTAssertThrowsError(try b.write { try b.receive(bad) })
        var wrongType = changes[1]
        wrongType.kind = .annotation
        wrongType.field = "start"
        wrongType.value = .text("not a number")
        XCTAssertThrowsError(try b.write { try b.receive(wrongType) })
        XCTAssertEqual(try b.head(of: a.node.id), 1, "nothing from a refused batch is kept")
    }

    func testArrivalOrderDoesNotMatter() throws {
        let (a, rid, code) = try seeded("a")
        let b = try makeStore("b"), c = try makeStore("c")
        try exchange(a, b)
        let aid = try a.annotate(record: rid, code: code, span: .quote("16個臨時黨支部", occurrence: nil), value: "16", note: nil)
        try exchange(a, b)
        try a.review(annotation: aid, status: .accepted, comment: "a says yes")
        try b.review(annotation: aid, status: .rejected, comment: "b says no")
        try b.delete(annotation: aid, anyLayer: true)
        // c learns b's changes first, then a's; a the other way round.
        try deliver(b, c)
        try deliver(a, c)
        try exchange(a, b)
        XCTAssertEqual(try c.digest(), try a.digest())
        XCTAssertEqual(try c.conflicts(includeResolved: true).map(\.id).sorted(), try a.conflicts(includeResolved: true).map(\.id).sorted())
        XCTAssertEqual(try c.dumpDerivedState(), try a.dumpDerivedState(), "the whole derived state, not just the visible part")
    }

    func testExportThenImportGivesTheSameState() throws {
        let (a, rid, code) = try seeded("a")
        let child = try a.addCode(name: "cadres", description: "幹部", colour: "blue", parent: code)
        let aid = try a.annotate(record: rid, code: child, span: .quote("354名幹部", occurrence: nil), value: "354", note: "note 𠀋")
        try a.review(annotation: aid, status: .rejected, comment: "wrong code")
        try a.setRecordField(rid, field: "subtitle", value: "副題")
        _ = try a.annotate(record: rid, code: nil, span: nil, value: nil, note: "record-level note")
        let lines = try a.exportLines()
        let b = try makeStore("b")
        let counts = try b.importJSONLines(lines.joined(separator: "\n"))
        XCTAssertEqual(counts.records, 1)
        XCTAssertEqual(counts.annotations, 2)
        XCTAssertEqual(counts.codes, 2)
        XCTAssertEqual(try b.digest(), try a.digest())
        // The same objects, stamped by b's own changes.
        func unstamped(_ lines: [String]) throws -> [JSONValue] {
            try lines.map { line -> JSONValue in
                guard var o = try JSONValue.parse(line).object else { return .null }
                o["stamps"] = nil
                return .object(o)
            }
        }
        XCTAssertEqual(try unstamped(try b.exportLines()), try unstamped(lines))
        let again = try b.importJSONLines(lines.joined(separator: "\n"))
        XCTAssertEqual(again.unchanged, lines.count)
    }

    func testBadJSONLinesChangeNothing() throws {
        let a = try makeStore("a")
        let good = try Store.jsonLine(["type": "record", "body": body, "title": "t"])
        for bad in ["{not json", "{\"type\":\"record\"}", "{\"type\":\"annotation\",\"id\":\"00112233445566778899aabbccddeeff\",\"record\":\"ffff\"}",
                    "{\"type\":\"record\",\"body\":\"x\",\"colour\":\"red\"}", "[1,2]"] {
            XCTAssertThrowsError(try a.importJSONLines(good + "\n" + bad)) { error in
                XCTAssertTrue(MarginError.message(for: error).hasPrefix("line 2:"), MarginError.message(for: error))
            }
            XCTAssertEqual(try a.status().records, 0)
            XCTAssertEqual(try a.status().changes, 0)
        }
    }

    func testOpeningBadStores() throws {
        let missing = dir.appendingPathComponent("nowhere").path
        XCTAssertThrowsError(try Store(directory: missing)) { XCTAssertTrue("\($0)".contains("no Margin store")) }
        XCTAssertFalse(FileManager.default.fileExists(atPath: missing), "opening does not create")

        let junk = dir.appendingPathComponent("junk")
        try FileManager.default.createDirectory(at: junk, withIntermediateDirectories: true)
        let junkFile = junk.appendingPathComponent(Store.fileName)
        try Data(repeating: 0x41, count: 4096).write(to: junkFile)
        XCTAssertThrowsError(try Store(directory: junk.path)) { XCTAssertTrue("\($0)".contains("not a Margin store"), "\($0)") }
        XCTAssertEqual(try Data(contentsOf: junkFile), Data(repeating: 0x41, count: 4096), "left untouched")

        let other = dir.appendingPathComponent("other")
        try FileManager.default.createDirectory(at: other, withIntermediateDirectories: true)
        let db = try Database(path: other.appendingPathComponent(Store.fileName).path)
        try db.execute("CREATE TABLE t(x)")
        db.close()
        XCTAssertThrowsError(try Store(directory: other.path)) { XCTAssertTrue("\($0)".contains("not a Margin store"), "\($0)") }

        let s = try makeStore("newer")
        try s.db.setUserVersion(99)
        s.db.close()
        XCTAssertThrowsError(try Store(directory: dir.appendingPathComponent("newer").path)) { error in
            XCTAssertTrue(MarginError.message(for: error).contains("newer margin"), MarginError.message(for: error))
        }
    }

    func testCodebookRenameMergeAndTree() throws {
        let (s, rid, code) = try seeded("a")
        let b = try s.addCode(name: "members", description: nil, colour: nil, parent: nil)
        let a1 = try s.annotate(record: rid, code: b, span: .quote("159名黨員", occurrence: nil), value: "159", note: nil)
        try s.renameCode(code, to: "party-members-renamed")
        XCTAssertThrowsError(try s.renameCode(b, to: "party-members-renamed"), "names stay unique")
        XCTAssertThrowsError(try s.describeCode(code, description: nil, colour: .some("chartreuse-ish"), parent: nil))
        XCTAssertEqual(try s.mergeCode(b, into: code), 1)
        XCTAssertEqual(try s.annotation(a1)?.code, code)
        XCTAssertEqual(try s.resolveCode("members"), code, "a merged code's name leads to its replacement")
        XCTAssertEqual(try s.codes().first { $0.id == code }?.count, 1)
        let child = try s.addCode(name: "child", description: nil, colour: nil, parent: code)
        XCTAssertThrowsError(try s.describeCode(code, description: nil, colour: nil, parent: .some(child)), "no cycles")
        XCTAssertEqual(try s.records(Store.RecordFilter(code: code)).map(\.id), [rid])
    }

    func testSearchAcrossScriptsAndShortQueries() throws {
        let (s, rid, _) = try seeded("a")
        let (r2, _) = try s.importReport(ReportDraft(body: "同仁县发动1055名网格员,党支部书记带头。", title: "网格"))
        XCTAssertEqual(Set(try s.search("党支部").map(\.record)), [rid, r2])
        XCTAssertEqual(Set(try s.search("黨支部").map(\.record)), [rid, r2])
        XCTAssertEqual(try s.search("网格员").map(\.record), [r2])
        XCTAssertEqual(Set(try s.search("黨").map(\.record)), [rid, r2], "one character: scan")
        XCTAssertEqual(try s.search("1055").map(\.record), [r2])
        XCTAssertEqual(try s.search("\" OR 1=1 --").count, 0, "input is a phrase, never query syntax")
        XCTAssertEqual(try s.search("NEAR(a b)").count, 0)
        let hit = try XCTUnwrap(try s.search("臨時党支部").first)
        XCTAssertEqual(ScalarText(body).slice(hit.matches[0], hit.matches[0] + hit.matchLength), "臨時黨支部")
    }

    func testIdPrefixes() throws {
        let (s, rid, _) = try seeded("a")
        XCTAssertEqual(try s.resolve(String(rid.prefix(6)), kind: .record), rid)
        XCTAssertEqual(try s.resolve(rid.uppercased(), kind: .record), rid)
        XCTAssertThrowsError(try s.resolve("zz", kind: .record))
        XCTAssertThrowsError(try s.resolve("0123456789abcdef", kind: .record))
        for i in 0..<40 { _ = try s.importReport(ReportDraft(body: "報告 \(i)")) }
        XCTAssertThrowsError(try s.resolve("", kind: .record))
        let ids = try s.records().map(\.id)
        let shared = Dictionary(grouping: ids, by: { $0.prefix(1) }).first { $0.value.count > 1 }
        if let (p, _) = shared {
            XCTAssertThrowsError(try s.resolve(String(p), kind: .record)) { error in
                guard case MarginError.ambiguous = error else { return XCTFail("\(error)") }
            }
        }
    }

    /// The node key as each command reads it: 64 hex digits, whitespace
    /// around them allowed (a newline, an editor's CRLF); anything else is
    /// a damaged key, named, and the store does not open.
    func testTheNodeKeyIsReadWholeOrNamedDamaged() throws {
        let store = try makeStore("k")
        let folder = store.directory, key = (folder as NSString).appendingPathComponent(NodeKey.fileName)
        let digits = try XCTUnwrap(String(contentsOfFile: key, encoding: .utf8).split(separator: "\n").first.map(String.init))
        XCTAssertEqual(digits.count, 64)
        func rewrite(_ text: String) throws {
            try Data(text.utf8).write(to: URL(fileURLWithPath: key))
            chmod(key, 0o600)
        }
        for fine in [digits, " \t" + digits + "\r\n\n"] {
            try rewrite(fine)
            XCTAssertEqual(try Store(directory: folder).node.id, store.node.id)
        }
        for damaged in ["", "\n", String(digits.dropLast()), digits + "00", digits.replacingOccurrences(of: digits.prefix(1), with: "g"),
                        digits + "\n" + String(repeating: " ", count: 600)] {
            try rewrite(damaged)
            XCTAssertThrowsError(try Store(directory: folder), damaged.debugDescription) { error in
                XCTAssertTrue("\(error)".contains("is damaged"), "\(error)")
            }
        }
        try rewrite(digits + "\n")
    }
}
