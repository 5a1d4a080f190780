import Foundation
import MarginCore
@testable import MarginSync
import XCTest

/// A store restored from a backup, or copied, that goes on writing under its
/// node id: its sequence numbers collide with changes its old self already
/// made. Every case must end with every change on every side, equal digests
/// and `check` passing (the base class checks every store at the end).
final class ForkTests: SyncTestCase {
    /// Issue "No silent loss", 1: sync; back up; write and sync; restore the
    /// backup; write; sync. Before the hash chain this sent 0 changes and
    /// the new annotation never reached bob.
    func testRestoredBackupRecoversItsLostTailAndKeepsItsNewWork() throws {
        let a = try node("alice", serve: false), b = try node("bob")
        let (rid, code) = try seed(a)
        try a.sync(with: b)
        let backup = dir.appendingPathComponent("backup").path
        try a.backup(to: backup)

        // Work done after the backup, synced to bob, then lost on alice.
        let lost = try a.store.annotate(record: rid, code: code, span: .quote("159名黨員", occurrence: nil), value: "159", note: nil)
        _ = try a.store.annotate(record: rid, code: nil, span: nil, value: nil, note: "after the backup")
        try a.sync(with: b)
        let formerID = a.store.node.id
        let lostHead = try a.store.head(of: formerID)

        try a.restore(from: backup)
        XCTAssertNil(try a.store.annotation(lost), "the restored store lacks the lost annotation")
        let fresh = try a.store.annotate(record: rid, code: code, span: .quote("354名幹部", occurrence: nil), value: "354", note: nil)

        let r = try a.sync(with: b)
        let recovery = try XCTUnwrap(r.recovery, "the fork is found and repaired")
        XCTAssertEqual(recovery.formerID, formerID)
        XCTAssertNotEqual(a.store.node.id, formerID, "the restored store writes under a new id from now on")
        XCTAssertGreaterThan(recovery.reissued, 0)
        // The new id's changes reach bob in the next session (margin sync runs it).
        try a.sync(with: b)

        XCTAssertNotNil(try a.store.annotation(lost), "alice took her lost work back from bob")
        XCTAssertNotNil(try b.store.annotation(fresh), "bob has the work done after the restore")
        XCTAssertEqual(try a.store.head(of: formerID), lostHead, "every change of the former id is held")
        XCTAssertEqual(try a.store.versionVector(), try b.store.versionVector())
        XCTAssertEqual(try a.store.digest(), try b.store.digest())
    }

    /// A restored store that has not written yet simply takes its lost tail back.
    func testRestoredStoreThatHasNotWrittenTakesItsTailBack() throws {
        let a = try node("alice", serve: false), b = try node("bob")
        let (rid, code) = try seed(a)
        try a.sync(with: b)
        let backup = dir.appendingPathComponent("backup").path
        try a.backup(to: backup)
        let lost = try a.store.annotate(record: rid, code: code, span: .quote("159名黨員", occurrence: nil), value: "159", note: nil)
        try a.sync(with: b)
        let id = a.store.node.id
        try a.restore(from: backup)

        let r = try a.sync(with: b)
        XCTAssertNil(r.recovery, "no fork: nothing was written after the restore")
        XCTAssertGreaterThan(r.tookBack, 0)
        XCTAssertEqual(a.store.node.id, id)
        XCTAssertNotNil(try a.store.annotation(lost))
        // Writing now continues after the lost tail, with no fork.
        _ = try a.store.annotate(record: rid, code: nil, span: nil, value: nil, note: "next")
        XCTAssertNil(try a.sync(with: b).recovery)
        XCTAssertEqual(try a.store.digest(), try b.store.digest())
    }

    /// Issue "No silent loss", 1: two copies of one store (the same node id
    /// on two laptops) writing, and syncing through a third node.
    func testTwoCopiesOfOneStoreSyncingThroughAThirdNode() throws {
        let a = try node("alice", serve: false), c = try node("carol")
        let (rid, code) = try seed(a)
        try a.sync(with: c)
        let copy = try TestNode("alice-laptop-2", copyOf: a, in: dir)
        nodes.append(copy)
        XCTAssertEqual(copy.store.node.id, a.store.node.id)

        _ = try a.store.annotate(record: rid, code: code, span: .quote("159名黨員", occurrence: nil), value: "159", note: nil)
        _ = try a.store.annotate(record: rid, code: nil, span: nil, value: nil, note: "on the first laptop")
        _ = try copy.store.annotate(record: rid, code: code, span: .quote("354名幹部", occurrence: nil), value: "354", note: nil)
        _ = try copy.store.annotate(record: rid, code: code, span: .quote("16個臨時黨支部", occurrence: nil), value: "16", note: nil)
        _ = try copy.store.annotate(record: rid, code: nil, span: nil, value: nil, note: "on the second laptop")

        try a.sync(with: c)
        let r = try copy.sync(with: c)
        XCTAssertNotNil(r.recovery, "the copy that meets the other's history takes a new id")
        XCTAssertNotEqual(copy.store.node.id, a.store.node.id)
        try copy.sync(with: c)
        try a.sync(with: c)

        XCTAssertEqual(try a.store.annotations(record: rid).count, 5)
        for n in [a, copy] {
            XCTAssertEqual(try n.store.versionVector(), try c.store.versionVector(), n.name)
            XCTAssertEqual(try n.store.digest(), try c.store.digest(), n.name)
        }
    }

    /// The same through the server side: the copy serves, and learns of the
    /// fork from its client's changes; it repairs itself in that session.
    func testForkedStoreThatServesRepairsInOneSession() throws {
        let a = try node("alice", serve: false), b = try node("bob", serve: false)
        let (rid, code) = try seed(a)
        let copy = try TestNode("alice-copy", copyOf: a, in: dir)
        try copy.startServer()
        nodes.append(copy)
        _ = try a.store.annotate(record: rid, code: code, span: .quote("159名黨員", occurrence: nil), value: "159", note: nil)
        _ = try copy.store.annotate(record: rid, code: code, span: .quote("354名幹部", occurrence: nil), value: "354", note: nil)
        try b.startServer()
        try a.sync(with: b)               // bob gets alice's branch
        b.stopServer()
        let r = try b.sync(with: copy)    // the copy meets it through bob
        XCTAssertGreaterThan(r.received, 0, "bob takes the copy's changes, issued again under its new id")
        XCTAssertTrue(copy.log.wait { $0.contains("restored from a backup or copied") }, "the server says what happened")
        XCTAssertEqual(try copy.store.digest(), try b.store.digest())
        try b.startServer()
        try a.sync(with: b)
        XCTAssertEqual(try a.store.digest(), try b.store.digest())
    }

    /// Two copies whose histories reached two other nodes before either copy
    /// met the other: those two nodes see a fork of a node that is not
    /// theirs. It is detected, held back and reported, never applied.
    func testAForkOfAnotherNodeIsHeldBackAndReported() throws {
        let a = try node("alice", serve: false), b = try node("bob"), c = try node("carol", serve: false)
        _ = try seed(a)
        let copy = try TestNode("alice-copy", copyOf: a, in: dir)
        nodes.append(copy)
        _ = try a.store.importReport(ReportDraft(body: "第一台電腦上的報告,共有80名黨員。"))
        _ = try copy.store.importReport(ReportDraft(body: "第二台電腦上的報告,共有90名黨員。"))
        try a.sync(with: b)
        try c.startServer()
        try copy.sync(with: c)
        c.stopServer()

        let before = try c.store.digest()
        let r = try c.sync(with: b) { $0.sends = false }
        XCTAssertTrue(r.warnings.contains { $0.contains("forks at or before change") }, "\(r.warnings)")
        XCTAssertEqual(try c.store.digest(), before, "nothing of the other history was applied")
        // Found in HAVE only, which any peer can fake: reported, not kept
        // for `margin status`.
        XCTAssertTrue(try c.store.forks().isEmpty)
    }

    /// A HAVE listing a made-up hash for a third node's head planted a fork
    /// line in `status` for good.
    func testAFakeHaveLeavesNoForkInStatus() throws {
        let a = try node("alice", serve: false), b = try node("bob") { $0.sync.idleTimeout = 1 }
        _ = try seed(a)
        try a.sync(with: b)
        let p = try RawPeer(b.endpoint)
        try p.open()
        try p.send(.hello(p.hello(as: TestSigner(0x66))))
        guard let (m, _) = try p.receive(), case .hello = m else { return XCTFail("no HELLO") }
        let head = try a.store.head(of: a.store.node.id)
        try p.send(.have(VersionVector([a.store.node.id: head]), tips: [a.store.node.id: Array(repeating: 7, count: 32)], resendFrom: 0))
        _ = try p.errorThenClose()
        XCTAssertTrue(try b.store.forks().isEmpty)
    }

    /// Asking a peer for one's own changes again costs nothing once the peer
    /// has confirmed them: repeated syncs send and receive nothing, in both
    /// directions (an earlier design hid a node's own head in HAVE, and the
    /// peer later sent it all of its own changes back).
    func testSyncsAfterTheFirstMoveNothing() throws {
        let a = try node("alice"), b = try node("bob", serve: false)
        let (rid, code) = try seed(a)
        XCTAssertGreaterThan(try b.sync(with: a).received, 0)
        _ = try b.store.annotate(record: rid, code: code, span: .quote("159名黨員", occurrence: nil), value: "159", note: nil)
        XCTAssertGreaterThan(try b.sync(with: a).sent, 0)
        for _ in 0..<2 {
            let r = try b.sync(with: a)
            XCTAssertEqual(r.sent, 0)
            XCTAssertEqual(r.received, 0)
        }
        XCTAssertTrue(a.log.wait { $0.hasSuffix("received 0, sent 0") }, "alice sent nothing either: \(a.log.all)")
        try b.startServer()
        let back = try a.sync(with: b)
        XCTAssertEqual(back.sent, 0, "alice sends bob nothing of his own")
        XCTAssertTrue(b.log.wait { $0.hasSuffix("received 0, sent 0") }, "bob sends alice nothing of her own: \(b.log.all)")
    }
}
