import Foundation
import MarginCore
import MarginSQLite
@testable import MarginSync
import XCTest

/// Two stores made by the release before signatures (the schema-1 store in
/// MarginCoreTests/Fixtures, as alice, and the same history as bob's own
/// store) are upgraded in place; each signs its own history once, and the
/// two sync, each binding the other's old id to the key it signed with.
final class UpgradeTests: SyncTestCase {
    func oldStore(_ name: String, as id: NodeID?) throws -> TestNode {
        let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("MarginCoreTests/Fixtures/schema1-alice.sql")
        let folder = dir.appendingPathComponent(name).path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let db = try Database(path: (folder as NSString).appendingPathComponent(Store.fileName))
        try db.execute(try String(contentsOf: fixture, encoding: .utf8))
        if let id {
            try db.run("UPDATE meta SET value = ? WHERE key = 'node_id'", .node(id))
            try db.run("UPDATE meta SET value = ? WHERE key = 'node_name'", .text(name))
        }
        db.close()
        let n = try TestNode(name, opening: folder)
        nodes.append(n)
        return n
    }

    func testTwoUpgradedStoresSignTheirHistoryAndSync() throws {
        let alice = try oldStore("alice", as: nil)
        let bob = try oldStore("bob", as: "c3073139cbf3f84c")   // bob's id in that history
        XCTAssertEqual(alice.store.node.id, "2ed032992d60da8c", "an upgraded store keeps its node id")
        XCTAssertNotNil(try alice.store.headSignature(alice.store.node.id, try alice.store.head(of: alice.store.node.id)),
                        "it signed its own history once")
        try alice.startServer()
        _ = try bob.store.annotate(record: try XCTUnwrap(try bob.store.records().first).id, code: nil, span: nil, value: nil,
                                   note: "bob, after the upgrade")
        _ = try alice.store.annotate(record: try XCTUnwrap(try alice.store.records().first).id, code: nil, span: nil, value: nil,
                                     note: "alice, after the upgrade")
        try bob.sync(with: alice)
        XCTAssertEqual(try bob.store.digest(), try alice.store.digest())
        XCTAssertNotNil(try bob.store.publicKey(of: alice.store.node.id), "bob bound alice's old id to her key")
        XCTAssertNotNil(try alice.store.publicKey(of: bob.store.node.id))

        // From now on, a change under alice's old id signed with another key is refused.
        let forger = TestSigner(0x55)
        let forged = Change(id: ChangeID(origin: alice.store.node.id, seq: try alice.store.head(of: alice.store.node.id) + 1),
                            hlc: HLC(milliseconds: 1_900_000_000_000, counter: 0), kind: .annotation,
                            entity: EntityID(stored: String(repeating: "ef", count: 16)), field: "status", value: .text("open"))
        try bob.startServer()
        let p = try RawPeer(bob.endpoint)
        _ = try p.handshake(as: forger)
        try p.send(.batch(number: 1, changes: [forged], signatures: [forger.sign(forged)]))
        let e = try p.errorThenClose()
        XCTAssertTrue(e?.message.contains("not \(alice.store.node.id)'s") ?? false, "\(String(describing: e))")
    }
}
