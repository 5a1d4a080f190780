import Foundation
@testable import MarginCore
@testable import MarginSync
import MarginSQLite
import MarginTestSupport
import XCTest

/// The projected `stale` column (file version 11) says what the log says:
/// an accepted or rejected annotation whose code, span or value changed
/// since its review. Checked against the look-up in the log it replaces,
/// after local writes, received batches, conflicts and their resolution,
/// a rebuild and the migration of an older file.
final class StaleReviewProjectionTests: SyncTestCase {
    /// Annotations whose projected column disagrees with the log.
    func disagreements(_ s: Store) throws -> [String] {
        try s.db.rows("SELECT a.id FROM annotations a WHERE a.stale <> \(Store.staleReviewSQL)").compactMap { $0[0].string }
    }

    func stale(_ s: Store) throws -> Set<String> {
        Set(try s.db.rows("SELECT id FROM annotations WHERE stale = 1").compactMap { $0[0].string })
    }

    func testTheProjectedColumnFollowsEveryWayAReviewGoesStaleOrFresh() throws {
        let a = try node("alice"), b = try node("bob", serve: false)
        let (rid, code) = try seed(a)
        let other = try a.store.addCode(name: "cadres", description: nil, colour: nil, parent: nil)
        let quotes = ["159名黨員", "159名", "共有159名黨員"]
        var ids: [String] = []
        for q in quotes {
            ids.append(try a.store.annotate(record: rid, code: code, span: .quote(q, occurrence: nil), value: "159", note: nil))
        }
        try b.sync(with: a)
        var rng = SplitMix64(seed: 11)
        var sawStale = 0, sawFresh = 0
        for step in 0..<100 {
            let n = Bool.random(using: &rng) ? a : b
            let id = ids[Int.random(in: 0..<ids.count, using: &rng)]
            guard let current = try n.store.annotation(id) else { continue }
            var e = Store.AnnotationEdit()
            switch Int.random(in: 0..<6, using: &rng) {
            case 0: try n.store.review(annotation: id, status: .accepted, comment: nil)
            case 1: try n.store.review(annotation: id, status: .rejected, comment: "no")
            case 2: e.value = .some(String(Int.random(in: 150..<170, using: &rng)))
            case 3: e.code = .some(current.code == code ? other : code)
            case 4: e.span = .quote(quotes[Int.random(in: 0..<quotes.count, using: &rng)], occurrence: nil)
            default:
                try b.sync(with: a)
                if let c = try n.store.conflicts(includeResolved: false).first {
                    try n.store.resolve(conflict: c.id, Bool.random(using: &rng) ? .keepOther : .keepWinner, comment: nil)
                }
            }
            if e.value != nil || e.code != nil || e.span != nil {
                try n.store.edit(annotation: id, e, anyLayer: true)
            }
            for s in [a.store, b.store] {
                XCTAssertEqual(try disagreements(s), [], "step \(step)")
                let shown = try s.annotations()
                XCTAssertEqual(Set(shown.filter { $0.staleReview != nil }.map(\.id)), try stale(s), "step \(step)")
                sawStale += shown.filter { $0.staleReview != nil }.count
                sawFresh += shown.filter { $0.staleReview == nil && $0.status != .open }.count
            }
        }
        try b.sync(with: a)
        XCTAssertEqual(try a.store.digest(), try b.store.digest())
        XCTAssertGreaterThan(sawStale, 20, "the walk made stale reviews")
        XCTAssertGreaterThan(sawFresh, 20, "and fresh ones")
        // A rebuild projects the same column.
        let before = try stale(b.store)
        try b.store.rebuildState()
        XCTAssertEqual(try stale(b.store), before)
        XCTAssertEqual(try disagreements(b.store), [])
    }

    /// A file of version 10 has no column (nor index); opening it projects it.
    func testOpeningAnOlderFileProjectsTheColumn() throws {
        let a = try node("alice", serve: false)
        let (rid, code) = try seed(a)
        let id = try a.store.annotate(record: rid, code: code, span: .quote("159名黨員", occurrence: nil), value: "159", note: nil)
        let kept = try a.store.annotate(record: rid, code: code, span: .quote("159名", occurrence: nil), value: "159", note: nil)
        try a.store.review(annotation: id, status: .accepted, comment: nil)
        try a.store.review(annotation: kept, status: .rejected, comment: nil)
        try edit(a.store, id, value: "160")
        XCTAssertEqual(try stale(a.store), [id])
        // A copy of the store loses the column and is marked as version
        // 10, as a store written before it; the node opens it.
        let old = a.directory + ".v10"
        try a.backup(to: old)
        do {
            let db = try Database(path: old + "/" + Store.fileName)
            try db.execute("""
                DROP INDEX annotations_counted; ALTER TABLE annotations DROP COLUMN stale; DROP INDEX records_alive; DROP INDEX records_listed; DROP INDEX records_searched;
                ALTER TABLE records ADD COLUMN folded TEXT;
                UPDATE records SET folded = (SELECT folded FROM record_folded f WHERE f.rowid = records.rowid);
                DROP TABLE record_folded; DROP INDEX conflict_aliases_by_id;
                DROP TABLE node_authors; CREATE INDEX log_authors ON log(origin, seq) WHERE field = 'author'
                """)
            try db.setUserVersion(10)
            db.close()
        }
        try a.restore(from: old)
        let reopened = a.store
        XCTAssertEqual(try reopened.db.userVersion, Schema.fileVersion)
        XCTAssertEqual(try stale(reopened), [id])
        XCTAssertEqual(try reopened.annotation(id)?.staleReview, .accepted)
        XCTAssertNil(try reopened.annotation(kept)?.staleReview)
    }
}
