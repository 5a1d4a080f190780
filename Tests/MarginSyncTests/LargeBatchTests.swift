import Foundation
import MarginCore
@testable import MarginSync
import XCTest

/// A peer's very large batch is applied in short steps: the CLI on the
/// same store keeps writing meanwhile, and never meets "the store is busy".
final class LargeBatchTests: SyncTestCase {
    func testLocalWritesGoOnWhileALargeBatchIsApplied() throws {
        let server = try node("server") { $0.sync.idleTimeout = 120 }
        let peer = TestSigner(0x61)
        let n = 30_000
        let origin = peer.origin
        let changes = (1...n).map { i in
            Change(id: ChangeID(origin: origin, seq: Int64(i)), hlc: HLC(milliseconds: 1_700_000_000_000 + Int64(i), counter: 0),
                   kind: .code, entity: EntityID(stored: String(repeating: "0", count: 16 - String(i, radix: 16).count) + String(i, radix: 16)), field: "name", value: .text("code-\(i)"))
        }
        let (chained, signatures) = peer.chained(changes)
        let p = try RawPeer(server.endpoint)
        _ = try p.handshake(as: peer)

        // The CLI's side: its own connection, which gives up on the write
        // lock after one second (the real CLI waits ten).
        let directory = server.directory
        let stop = Flag()
        let results = Results()
        let writer = Thread {
            guard let cli = try? Store(directory: directory, busyTimeoutMilliseconds: 1_000) else { return results.add("cannot open") }
            var i = 0
            while !stop.isSet {
                i += 1
                do {
                    _ = try cli.addCode(name: "local-\(i)", description: nil, colour: nil, parent: nil)
                    results.add(nil)
                } catch {
                    results.add(MarginError.message(for: error))
                }
                usleep(20_000)   // a person's pace, not a lock-hogging loop
            }
        }
        try p.send(.batch(number: 1, changes: chained, signatures: signatures))
        try p.send(.done(count: UInt64(n)))
        writer.start()
        guard let (m, _) = try p.receive(timeout: 300), case .ack(1, let applied) = m else { return XCTFail("no ACK") }
        stop.set()
        p.conn.close()
        XCTAssertEqual(applied, UInt64(n))
        while !writer.isFinished { usleep(10_000) }
        XCTAssertEqual(results.failures, [], "local writes failed while the batch was applied")
        XCTAssertGreaterThanOrEqual(results.successes, 3, "local writes went on during the batch")
        XCTAssertEqual(try server.store.versionVector().heads[peer.origin], Int64(n))
    }
}

/// Outcomes collected from another thread.
final class Results: @unchecked Sendable {
    private let lock = NSLock()
    private var ok = 0
    private var failed: [String] = []
    func add(_ failure: String?) { lock.withLock { if let failure { failed.append(failure) } else { ok += 1 } } }
    var successes: Int { lock.withLock { ok } }
    var failures: [String] { lock.withLock { failed } }
}
