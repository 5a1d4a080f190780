import Foundation
@testable import MarginCore
@testable import MarginSync
import XCTest

/// Issue "No silent loss", 3 and 4: a review is a review of something, and
/// conflicts stay true. The base class runs `check` on every store at the end.
final class ReviewConflictTests: SyncTestCase {
    func review(_ s: Store, _ id: String, _ status: ReviewStatus, _ comment: String? = nil) throws {
        try s.review(annotation: id, status: status, comment: comment)
    }

    /// `review --accept` then `edit --value` used to keep `[accepted]` on the new value.
    func testAnEditAfterAReviewPutsTheAnnotationBackToOpen() throws {
        let a = try node("alice", serve: false)
        let (rid, code) = try seed(a)
        let id = try a.store.annotate(record: rid, code: code, span: .quote("159名黨員", occurrence: nil), value: "159", note: nil)
        try review(a.store, id, .accepted)
        XCTAssertEqual(try a.store.annotation(id)?.status, .accepted)
        try edit(a.store, id, value: "z")
        let now = try XCTUnwrap(try a.store.annotation(id))
        XCTAssertEqual(now.status, .open)
        XCTAssertEqual(now.staleReview, .accepted)
        XCTAssertEqual(now.reviewer, "alice")
        let drift = try a.store.reviewDrift(now)
        XCTAssertEqual(drift.map(\.field), ["value"])
        XCTAssertEqual(drift.first?.then, "159")
        XCTAssertEqual(drift.first?.now, "z")
        XCTAssertEqual(try a.store.annotations(status: .open).map(\.id), [id], "it is listed for review again")
        XCTAssertEqual(try a.store.status().accepted, 0)
        // Accepting again accepts what it is now.
        try review(a.store, id, .accepted)
        XCTAssertEqual(try a.store.annotation(id)?.status, .accepted)
        XCTAssertNil(try a.store.annotation(id)?.staleReview)
        // Moving the span or recoding goes stale too.
        let other = try a.store.addCode(name: "cadres", description: nil, colour: nil, parent: nil)
        var e = Store.AnnotationEdit()
        e.code = .some(other)
        try a.store.edit(annotation: id, e, anyLayer: true)
        XCTAssertEqual(try a.store.reviewDrift(try XCTUnwrap(try a.store.annotation(id))).map(\.field), ["code"])
    }

    /// Alice accepting while Bob changes the value used to give `[accepted]`
    /// on Bob's value with no conflict.
    func testAConcurrentAcceptAndEditIsSurfaced() throws {
        let a = try node("alice"), b = try node("bob", serve: false)
        let (rid, code) = try seed(a)
        let id = try a.store.annotate(record: rid, code: code, span: .quote("159名黨員", occurrence: nil), value: "159", note: nil)
        try b.sync(with: a)
        try review(a.store, id, .accepted, "matches the report")
        try edit(b.store, id, value: "160")
        try b.sync(with: a)
        for n in [a, b] {
            let now = try XCTUnwrap(try n.store.annotation(id))
            XCTAssertEqual(now.value, "160", n.name)
            XCTAssertEqual(now.status, .open, n.name)
            XCTAssertEqual(now.staleReview, .accepted, n.name)
            let drift = try n.store.reviewDrift(now)
            XCTAssertEqual(drift.first?.then, "159", "what alice accepted")
            XCTAssertEqual(drift.first?.now, "160", "what it is now")
        }
        XCTAssertEqual(try a.store.digest(), try b.store.digest())
    }

    func testConcurrentReviewsAreOneConflictAndResolvingNeverMixesThem() throws {
        let a = try node("alice"), b = try node("bob", serve: false)
        let (rid, code) = try seed(a)
        let id = try a.store.annotate(record: rid, code: code, span: .quote("159名黨員", occurrence: nil), value: "159", note: nil)
        try b.sync(with: a)
        try review(a.store, id, .accepted, "fine")
        try review(b.store, id, .rejected, "the report says 160")
        let r = try b.sync(with: a)
        XCTAssertEqual(r.newConflicts, 1, "status, comment and reviewer are one conflict, not three")
        let conflicts = try a.store.conflicts(includeResolved: false)
        XCTAssertEqual(conflicts.count, 1)
        let c = try XCTUnwrap(conflicts.first)
        XCTAssertEqual(c.field, "status")
        let shown = try XCTUnwrap(try a.store.annotation(id))
        let expectWinner = c.winner.id.origin == a.store.node.id ? ("fine", "alice") : ("the report says 160", "bob")
        XCTAssertEqual(shown.comment, expectWinner.0, "the winner's review, whole")
        XCTAssertEqual(shown.reviewer, expectWinner.1)

        try a.store.resolve(conflict: c.id, .keepOther, comment: nil)
        try b.sync(with: a)
        for n in [a, b] {
            let after = try XCTUnwrap(try n.store.annotation(id))
            let loserIsBob = c.loser.id.origin == b.store.node.id
            XCTAssertEqual(after.comment, loserIsBob ? "the report says 160" : "fine", n.name)
            XCTAssertEqual(after.reviewer, loserIsBob ? "bob" : "alice", n.name)
            XCTAssertEqual(after.status, loserIsBob ? .rejected : .accepted, n.name)
            XCTAssertEqual(try n.store.conflicts(includeResolved: false).count, 0, n.name)
        }
        XCTAssertEqual(try a.store.digest(), try b.store.digest())
    }

    func testConcurrentSpanEditsAreOneConflict() throws {
        let a = try node("alice"), b = try node("bob", serve: false)
        let (rid, code) = try seed(a)
        let id = try a.store.annotate(record: rid, code: code, span: .quote("159名黨員", occurrence: nil), value: "159", note: nil)
        try b.sync(with: a)
        var e1 = Store.AnnotationEdit(); e1.span = .quote("159名", occurrence: nil)
        var e2 = Store.AnnotationEdit(); e2.span = .quote("共有159名黨員", occurrence: nil)
        try a.store.edit(annotation: id, e1, anyLayer: true)
        try b.store.edit(annotation: id, e2, anyLayer: true)
        XCTAssertEqual(try b.sync(with: a).newConflicts, 1)
        XCTAssertEqual(try a.store.conflicts(includeResolved: false).first?.field, "start")
    }

    /// Alice deletes an annotation while bob edits its value (and its note),
    /// and they sync: one deletion conflict, on both.
    func deleteRacingAnEdit(note: String?) throws -> (alice: TestNode, bob: TestNode, annotation: String) {
        let a = try node("alice"), b = try node("bob", serve: false)
        let (rid, code) = try seed(a)
        let id = try a.store.annotate(record: rid, code: code, span: .quote("159名黨員", occurrence: nil), value: "159", note: nil)
        try b.sync(with: a)
        try a.store.delete(annotation: id, anyLayer: true)
        var e = Store.AnnotationEdit()
        e.value = .some("160")
        if let note { e.note = .some(note) }
        try b.store.edit(annotation: id, e, anyLayer: true)
        XCTAssertEqual(try b.sync(with: a).newConflicts, 1)
        return (a, b, id)
    }

    /// A delete racing an edit of two fields used to give two conflicts, and
    /// resolving one left the other stale.
    func testADeleteRacingAnEditOfTwoFieldsIsOneConflictAndResolvingSettlesIt() throws {
        let (a, b, id) = try deleteRacingAnEdit(note: "checked twice")
        for n in [a, b] { XCTAssertEqual(try n.store.conflicts(includeResolved: false).count, 1, n.name) }
        let c = try XCTUnwrap(try b.store.conflicts(includeResolved: false).first)
        XCTAssertEqual(c.field, "deleted")
        XCTAssertEqual(c.id, ConflictFinder.deletionConflictID(c.winner.id))
        XCTAssertNotNil(try b.store.annotation(id, includingDeleted: true), "what the conflict is about can still be shown")

        try b.store.resolve(conflict: c.id, .keepWinner, comment: "deleted on purpose")
        try b.sync(with: a)
        for n in [a, b] {
            XCTAssertEqual(try n.store.conflicts(includeResolved: false).count, 0, "\(n.name): resolving it settled it")
            XCTAssertNil(try n.store.annotation(id))
        }
    }

    /// A resolution filed under an alias of a deletion conflict (schema 1
    /// filed one conflict per racing edit, under the pair's id) settles it,
    /// and is the one shown; a newer one under the conflict's own id is
    /// shown over it. Held here because the look-up was rewritten from one
    /// condition with `OR` into a list of the settled conflicts (the whole
    /// list, the counts) and look-ups by key (a page, one conflict).
    func testAResolutionUnderAnAliasSettlesTheConflictAndTheNewestIsShown() throws {
        let (a, b, _) = try deleteRacingAnEdit(note: nil)
        let c = try XCTUnwrap(try b.store.conflicts(includeResolved: false).first)
        func firstPage(_ s: Store) throws -> [String] {
            var ids: [String] = []
            try s.forEachConflict(includeResolved: false, limit: 20) { ids.append($0.id); return true }
            return ids
        }
        XCTAssertEqual(try firstPage(b.store), [c.id])
        let alias = ConflictFinder.conflictID(c.winner.id, c.loser.id)
        XCTAssertNotEqual(alias, c.id)
        XCTAssertEqual(try b.store.db.rows("SELECT id FROM conflict_aliases WHERE alias = ?", .text(alias)).first?.first?.string, c.id)
        try b.store.write {
            try b.store.setGroup(.conflict, EntityID(stored: alias), [("resolution", .text("winner")), ("comment", .text("under the alias")),
                                                                       ("resolver", .text("bob"))], force: true)
        }
        try b.sync(with: a)
        for n in [a, b] {
            XCTAssertEqual(try n.store.openConflictIDs(), [], n.name)
            XCTAssertEqual(try n.store.status().openConflicts, 0, n.name)
            XCTAssertEqual(try n.store.conflicts(includeResolved: false).count, 0, n.name)
            XCTAssertEqual(try firstPage(n.store), [], "\(n.name): the first page asks each conflict by key")
            let shown = try XCTUnwrap(try n.store.conflict(c.id), n.name)
            XCTAssertEqual(shown.resolution, "winner", n.name)
            XCTAssertEqual(shown.comment, "under the alias", n.name)
        }
        try a.store.write {
            try a.store.setGroup(.conflict, EntityID(stored: c.id), [("resolution", .text("other")), ("comment", .text("under its id")),
                                                                      ("resolver", .text("alice"))], force: true)
        }
        XCTAssertEqual(try a.store.conflict(c.id)?.comment, "under its id", "the newest resolution is the one shown")
    }

    /// Carol's first sync used to print "7 new conflicts" that were all resolved.
    func testAFreshNodeIsNotToldOfConflictsAlreadyResolved() throws {
        let a = try node("alice"), b = try node("bob", serve: false), carol = try node("carol", serve: false)
        let (rid, code) = try seed(a)
        let id = try a.store.annotate(record: rid, code: code, span: .quote("159名黨員", occurrence: nil), value: "159", note: nil)
        try b.sync(with: a)
        try edit(a.store, id, value: "160")
        try edit(b.store, id, value: "158")
        XCTAssertEqual(try b.sync(with: a).newConflicts, 1)
        let c = try XCTUnwrap(try b.store.conflicts(includeResolved: false).first)
        try b.store.resolve(conflict: c.id, .value("159"), comment: nil)
        try b.sync(with: a)
        XCTAssertEqual(try carol.sync(with: a).newConflicts, 0)
        XCTAssertEqual(try carol.store.conflicts(includeResolved: false).count, 0)
        XCTAssertEqual(try carol.store.conflicts(includeResolved: true).count, 1)
    }

    /// Two people resolving the same conflict at once: one resolution (whole)
    /// wins on every node, no conflict about the conflict, and their two
    /// values for the field are an ordinary conflict.
    func testConcurrentResolutionsOfOneConflict() throws {
        let a = try node("alice"), b = try node("bob", serve: false)
        let (rid, code) = try seed(a)
        let id = try a.store.annotate(record: rid, code: code, span: .quote("159名黨員", occurrence: nil), value: "159", note: nil)
        try b.sync(with: a)
        try edit(a.store, id, value: "160")
        try edit(b.store, id, value: "158")
        try b.sync(with: a)
        let c = try XCTUnwrap(try a.store.conflicts(includeResolved: false).first)
        try a.store.resolve(conflict: c.id, .value("161"), comment: "alice's reading")
        try b.store.resolve(conflict: c.id, .keepOther, comment: nil)
        try b.sync(with: a)
        for n in [a, b] {
            let settled = try XCTUnwrap(try n.store.conflict(c.id))
            XCTAssertFalse(settled.isOpen, n.name)
            if settled.resolver == "alice" {
                XCTAssertEqual(settled.comment, "alice's reading", "\(n.name): never one person's status with another's comment")
            } else {
                XCTAssertNil(settled.comment, n.name)
            }
            let open = try n.store.conflicts(includeResolved: false)
            XCTAssertEqual(open.count, 1, "\(n.name): the two resolved values conflict")
            XCTAssertEqual(open.first?.kind, .annotation)
            XCTAssertEqual(open.first?.field, "value")
        }
        XCTAssertEqual(try a.store.conflicts(includeResolved: true).map(\.id), try b.store.conflicts(includeResolved: true).map(\.id))
        XCTAssertEqual(try a.store.digest(), try b.store.digest())
    }
}
