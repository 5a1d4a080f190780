import Foundation
import MarginCore
@testable import MarginSync
import XCTest

final class SyncTests: SyncTestCase {
    func testTwoNodesConflictAndResolution() throws {
        let a = try node("alice"), b = try node("bob")
        let (rid, code) = try seed(a)
        let r1 = try b.sync(with: a)
        XCTAssertEqual(r1.peerName, "alice")
        XCTAssertGreaterThan(r1.received, 0)
        XCTAssertEqual(r1.records, 1)
        XCTAssertEqual(try a.store.digest(), try b.store.digest())

        // Offline edits on both, including the same field.
        let aid = try a.store.annotate(record: rid, code: code, span: .quote("159名黨員", occurrence: nil), value: "159", note: nil)
        try b.sync(with: a)
        try edit(a.store, aid, value: "160")
        try edit(b.store, aid, value: "158")
        _ = try b.store.annotate(record: rid, code: code, span: .quote("354名幹部", occurrence: nil), value: "354", note: "bob's")
        let r2 = try b.sync(with: a)
        XCTAssertEqual(r2.newConflicts, 1)
        XCTAssertEqual(try a.store.digest(), try b.store.digest())
        let ca = try a.store.conflicts(includeResolved: false), cb = try b.store.conflicts(includeResolved: false)
        XCTAssertEqual(ca.count, 1)
        XCTAssertEqual(ca.map(\.id), cb.map(\.id))
        XCTAssertEqual(ca.first?.winner.id, cb.first?.winner.id)

        // Resolve on bob; after the next sync it is closed on alice too.
        try b.store.resolve(conflict: cb[0].id, .value("159"), comment: "the report says 159")
        try b.sync(with: a)
        XCTAssertEqual(try a.store.conflicts(includeResolved: false).count, 0)
        XCTAssertEqual(try a.store.annotation(aid)?.value, "159")
        XCTAssertEqual(try a.store.digest(), try b.store.digest())

        let peers = try a.store.peers()
        XCTAssertEqual(peers.first?.name, "bob")
        XCTAssertEqual(peers.first?.theirs.heads[a.store.node.id], try a.store.head(of: a.store.node.id))
    }

    func testRelayThroughAThirdNode() throws {
        let a = try node("a"), b = try node("b"), c = try node("c")
        let (rid, code) = try seed(a)
        _ = try a.store.annotate(record: rid, code: code, span: .quote("16個臨時黨支部", occurrence: nil), value: "16", note: nil)
        try b.sync(with: a)
        try c.sync(with: b)
        XCTAssertEqual(try c.store.versionVector().heads[a.store.node.id], try a.store.head(of: a.store.node.id))
        XCTAssertEqual(try c.store.digest(), try a.store.digest())
        XCTAssertTrue(try c.store.peers().allSatisfy { $0.id != a.store.node.id }, "no direct contact")
    }

    func testPullOnlyAndPushOnly() throws {
        let a = try node("a"), b = try node("b")
        _ = try seed(a)
        _ = try b.store.importReport(ReportDraft(body: "另一篇報告,共有80名黨員參加。"))
        let pull = try b.sync(with: a) { $0.sends = false }
        XCTAssertEqual(pull.sent, 0)
        XCTAssertGreaterThan(pull.received, 0)
        XCTAssertEqual(try a.store.status().records, 1)
        let push = try b.sync(with: a) { $0.receives = false }
        XCTAssertEqual(push.received, 0)
        XCTAssertGreaterThan(push.sent, 0)
        XCTAssertEqual(try a.store.digest(), try b.store.digest())
    }

    func testSecrets() throws {
        let secret = Array("correct horse battery staple".utf8)
        let a = try node("a") { $0.sync.secret = secret }
        let b = try node("b", serve: false)
        _ = try seed(a)
        XCTAssertThrowsError(try b.sync(with: a) { $0.secret = Array("wrong".utf8) }) { error in
            XCTAssertTrue("\(error)".contains("authentication failed"), "\(error)")
        }
        XCTAssertThrowsError(try b.sync(with: a)) { XCTAssertTrue("\($0)".contains("authentication failed"), "\($0)") }
        XCTAssertEqual(try b.store.status().changes, 0, "nothing crossed before authentication")
        XCTAssertTrue(a.log.wait { $0.contains("authentication failed") })
        XCTAssertNoThrow(try b.sync(with: a) { $0.secret = secret })
        XCTAssertEqual(try a.store.digest(), try b.store.digest())
        // A server without the secret cannot pass itself off to a client that has one.
        let open = try node("open")
        XCTAssertThrowsError(try b.sync(with: open) { $0.secret = secret }) { error in
            XCTAssertTrue("\(error)".contains("authentication failed"), "\(error)")
        }
    }

    func testRefusedConnectionIsOneClearError() throws {
        let b = try node("b", serve: false)
        let listener = try TCPListener(endpoint: Endpoint(host: "127.0.0.1", port: 0))
        let port = listener.endpoint.port
        listener.close()
        XCTAssertThrowsError(try SyncSession.sync(store: b.store, with: Endpoint(host: "127.0.0.1", port: port), options: SyncOptions())) { error in
            XCTAssertTrue("\(error)".contains("connection refused"), "\(error)")
        }
        XCTAssertThrowsError(try SyncSession.sync(store: b.store, with: Endpoint(host: "no-such-host.invalid", port: 1), options: SyncOptions())) { error in
            XCTAssertTrue("\(error)".contains("cannot resolve"), "\(error)")
        }
    }

    func testFarFutureChangesAreHeldBackAndDoNotDragTheClock() throws {
        let now = SystemClock().nowMilliseconds()
        let ahead = try node("ahead", wall: ManualClock(now + 86_400_000)) { $0.sync.wall = { now + 86_400_000 } }
        let b = try node("b", serve: false)
        _ = try seed(ahead)
        let report = try b.sync(with: ahead)
        XCTAssertGreaterThan(report.heldBack, 0)
        XCTAssertEqual(report.received, 0)
        XCTAssertTrue(report.warnings.contains { $0.contains("held back") })
        XCTAssertTrue(report.warnings.contains { $0.contains("ahead of") }, "the skew is named")
        XCTAssertLessThan(b.store.clockReading.milliseconds, now + 3_600_000, "the clock was not dragged forward")
        // Once this side's clock catches up (here: a looser bound), they are taken.
        let later = try b.sync(with: ahead) { $0.maxFuture = 2 * 86_400 }
        XCTAssertGreaterThan(later.received, 0)
        XCTAssertEqual(try b.store.digest(), try ahead.store.digest())
    }

    func testClockAheadOrBehindStillConverges() throws {
        let now = SystemClock().nowMilliseconds()
        let fast = try node("fast", wall: ManualClock(now + 86_400_000))
        let backwards = ManualClock(now)
        let slow = try node("slow", serve: false, wall: backwards)
        let (rid, code) = try seed(slow)
        let aid = try slow.store.annotate(record: rid, code: code, span: nil, value: "1", note: nil)
        try slow.sync(with: fast) { $0.maxFuture = 2 * 86_400 }
        backwards.now = now - 3_600_000   // the wall clock jumps back an hour
        try edit(slow.store, aid, value: "2")
        try edit(fast.store, aid, value: "3")
        try slow.sync(with: fast) { $0.maxFuture = 2 * 86_400 }
        XCTAssertEqual(try slow.store.digest(), try fast.store.digest())
        XCTAssertEqual(try slow.store.conflicts(includeResolved: false).count, 1)
        // The slow node's own later edit still beats its earlier one.
        try edit(slow.store, aid, value: "4")
        XCTAssertEqual(try slow.store.annotation(aid)?.value, "4")
    }

    func testServerServesConcurrentPeersWhileTheStoreIsEdited() throws {
        let hub = try node("hub")
        let (rid, code) = try seed(hub)
        let clients = try (0..<4).map { try node("c\($0)", serve: false) }
        for (i, c) in clients.enumerated() {
            _ = try c.store.importReport(ReportDraft(body: "第\(i)篇報告,共有\(i * 10)名黨員參加志願服務。"))
        }
        let group = DispatchGroup()
        let errors = LogLines()
        for c in clients {
            let dir = c.directory, endpoint = hub.endpoint
            group.enter()
            Thread.detachNewThread {
                defer { group.leave() }
                do {
                    let store = try Store(directory: dir)
                    for _ in 0..<3 { _ = try SyncSession.sync(store: store, with: endpoint, options: SyncOptions()) }
                } catch { errors.add("\(error)") }
            }
        }
        for i in 0..<20 {
            _ = try hub.store.annotate(record: rid, code: code, span: nil, value: "\(i)", note: "written while serving")
        }
        XCTAssertEqual(group.wait(timeout: .now() + 60), .success)
        XCTAssertEqual(errors.all, [])
        for c in clients { try c.sync(with: hub) }
        let digest = try hub.store.digest()
        for c in clients { XCTAssertEqual(try c.store.digest(), digest) }
        XCTAssertEqual(try hub.store.status().records, 5)
    }

    /// Observed in CI: four clients syncing three times each were refused
    /// "too many sessions from 127.0.0.1", because a session kept its slot
    /// while the server wrote down what the peer holds, after the peer had
    /// already finished and started its next session. A slot is held only
    /// while the server exchanges with the peer.
    func testASessionFreesItsSlotWhenTheExchangeEndsNotWhenTheServersBookkeepingDoes() throws {
        let hub = try node("hub") { $0.maxSessionsPerAddress = 1 }
        _ = try seed(hub)
        let b = try node("b", serve: false)
        try b.sync(with: hub)
        // Another writer holds the hub's store: the server's bookkeeping
        // after each exchange waits for it, the exchange itself does not.
        let lock = try WriteLock(on: hub.store)
        XCTAssertNoThrow(try b.sync(with: hub))
        XCTAssertNoThrow(try b.sync(with: hub), "the second session from this address finds the slot free")
        try lock.release()
        XCTAssertTrue(hub.log.wait { _ in hub.log.all.filter { $0.hasPrefix("synced with b") }.count == 3 }, "\(hub.log.all)")
        XCTAssertFalse(hub.log.all.contains { $0.contains("refused") }, "\(hub.log.all)")
    }

    /// A peer that finds every slot taken waits a moment for one rather
    /// than being refused at once.
    func testAPeerWaitsForASlotThatFreesWithinTheWait() throws {
        let held = try slotHeld(wait: 60)
        let second = syncInBackground(held.other, with: held.hub)
        XCTAssertTrue(until { held.server.waitingForSlot == 1 }, "the second peer waits for it")
        try held.lock.release()
        XCTAssertEqual(try held.first.result(), "ok")
        XCTAssertEqual(try second.result(), "ok")
        XCTAssertFalse(held.hub.log.all.contains { $0.contains("refused") }, "\(held.hub.log.all)")
    }

    /// When no slot frees within the wait, the peer is refused as busy.
    func testAPeerIsRefusedAsBusyWhenNoSlotFreesWithinTheWait() throws {
        let held = try slotHeld(wait: 0.2)
        XCTAssertThrowsError(try held.other.sync(with: held.hub)) { error in
            XCTAssertEqual("\(error)", "the peer refused: the server is busy (too many sessions from 127.0.0.1); try again")
        }
        try held.lock.release()
        XCTAssertEqual(try held.first.result(), "ok")
    }

    /// A hub with one session slot an address, held by a peer whose
    /// changes wait for the hub's store (`lock` holds it); `other` is a
    /// second peer on the same address.
    func slotHeld(wait: Double) throws -> (hub: TestNode, server: SyncServer, other: TestNode, lock: WriteLock, first: BackgroundSync) {
        let hub = try node("hub") { $0.maxSessionsPerAddress = 1; $0.slotWait = wait }
        let server = try XCTUnwrap(hub.server)
        _ = try seed(hub)
        let b = try node("b", serve: false), c = try node("c", serve: false)
        _ = try seed(b)
        let lock = try WriteLock(on: hub.store)
        let first = syncInBackground(b, with: hub)
        XCTAssertTrue(until { server.sessionsHoldingSlots == 1 }, "the first peer's session holds the slot")
        return (hub, server, c, lock, first)
    }

    /// The store's write lock, held by this connection until `release`
    /// (or rolled back when the test ends without it).
    final class WriteLock {
        private let store: Store
        private var held = true
        init(on store: Store) throws {
            self.store = store
            try store.db.execute("BEGIN IMMEDIATE")
        }
        func release() throws {
            held = false
            try store.db.execute("COMMIT")
        }
        deinit { if held { try? store.db.execute("ROLLBACK") } }
    }

    /// A sync run on its own thread, on its own connection to the store.
    final class BackgroundSync: @unchecked Sendable {
        private let done = DispatchSemaphore(value: 0)
        private var outcome = ""
        init(directory: String, endpoint: Endpoint) {
            Thread.detachNewThread { [self] in
                do {
                    _ = try SyncSession.sync(store: try Store(directory: directory), with: endpoint, options: SyncOptions())
                    outcome = "ok"
                } catch { outcome = "\(error)" }
                done.signal()
            }
        }
        /// "ok", or the error, once the sync has ended.
        func result() throws -> String {
            guard done.wait(timeout: .now() + 60) == .success else { throw SyncError(.timeout, "the sync did not end") }
            return outcome
        }
    }

    func syncInBackground(_ n: TestNode, with hub: TestNode) -> BackgroundSync {
        BackgroundSync(directory: n.directory, endpoint: hub.endpoint)
    }

    /// Polls `condition` until it holds (true) or 20 s pass (false).
    func until(_ condition: () -> Bool) -> Bool {
        let end = Date().addingTimeInterval(20)
        while Date() < end {
            if condition() { return true }
            usleep(5_000)
        }
        return false
    }

    func testStopEndsSessionsAndServerCanBeRestarted() throws {
        let a = try node("a")
        _ = try seed(a)
        a.stopServer()
        try a.startServer()
        let b = try node("b", serve: false)
        XCTAssertNoThrow(try b.sync(with: a))
    }
}
