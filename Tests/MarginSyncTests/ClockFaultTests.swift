import Foundation
import MarginCore
@testable import MarginSync
import XCTest

/// A team where one laptop's clock runs a day ahead, one's jumps back an
/// hour, and one stamps its changes decades ahead, all syncing through a hub.
final class ClockFaultTests: SyncTestCase {
    /// The clock as saved in the store (server sessions use their own
    /// connection, so the test's `Store` object may not have seen it).
    func savedClock(_ n: TestNode) throws -> Int64 {
        try Store(directory: n.directory).clockReading.milliseconds
    }

    func testDayAheadBackwardsAndFarFutureClocks() throws {
        let now = SystemClock().nowMilliseconds()
        let hour: Int64 = 3_600_000, day: Int64 = 86_400_000
        let wallHub = ManualClock(now), wallBack = ManualClock(now)
        // The hub's server sessions read the same hand-set wall clock.
        let hub = try node("hub", wall: wallHub) { $0.sync.wall = { wallHub.now } }
        let back = try node("back", serve: false, wall: wallBack)
        let ahead = try node("ahead", serve: false, wall: ManualClock(now + day))
        let future = try node("future", serve: false, wall: ManualClock(now + 80 * 365 * day))
        let (rid, code) = try seed(hub)
        let aid = try hub.store.annotate(record: rid, code: code, span: .quote("159名黨員", occurrence: nil), value: "159", note: nil)
        for n in [back, ahead, future] {
            let r = try n.sync(with: hub)
            XCTAssertGreaterThan(r.received, 0, "\(n.name) gets the hub's changes whatever its own clock says")
        }

        wallBack.now = now - hour   // this wall clock jumps back an hour
        try edit(back.store, aid, value: "from back")
        XCTAssertEqual(try back.store.annotation(aid)?.value, "from back", "a later edit wins locally even with the wall clock behind")
        try edit(ahead.store, aid, value: "from ahead")
        try edit(future.store, aid, value: "from future")
        _ = try ahead.store.annotate(record: rid, code: code, span: .quote("354名幹部", occurrence: nil), value: "354", note: nil)

        for n in [back, ahead, future, back] { try n.sync(with: hub) }
        XCTAssertTrue(hub.log.wait { $0.contains("held back") && $0.contains(String(ahead.store.node.id.hex.prefix(8))) }, "\(hub.log.all)")
        XCTAssertTrue(hub.log.wait { $0.contains("held back") && $0.contains(String(future.store.node.id.hex.prefix(8))) }, "\(hub.log.all)")
        XCTAssertEqual(try hub.store.digest(), try back.store.digest(), "the nodes with sane clocks converge")
        XCTAssertEqual(try hub.store.annotation(aid)?.value, "from back")
        for n in [hub, back] {
            XCTAssertLessThanOrEqual(try savedClock(n), now + hour, "\(n.name)'s clock was not dragged forward")
        }

        // A day later the hub's clock has caught up with the fast laptop:
        // its changes are taken; the far-future ones still are not.
        wallHub.now = now + day
        wallBack.now = now + day - hour
        for n in [ahead, future, back, ahead] { try n.sync(with: hub) }
        XCTAssertEqual(try hub.store.digest(), try back.store.digest())
        XCTAssertEqual(try hub.store.digest(), try ahead.store.digest())
        XCTAssertEqual(try hub.store.annotation(aid)?.value, "from ahead", "the fast laptop's edit is the latest by its stamp")
        XCTAssertEqual(try hub.store.conflicts(includeResolved: false).map(\.field), ["value"], "the lost edit is kept for review")
        XCTAssertFalse(try hub.store.log(limit: nil).contains { $0.id.origin == future.store.node.id && $0.field == "value" },
                       "no far-future change was applied")
        for n in [hub, back] {
            XCTAssertLessThanOrEqual(try savedClock(n), now + day + hour, "\(n.name)'s clock was not dragged forward")
        }
        for n in [hub, back, ahead, future] { try n.store.check() }
    }
}
