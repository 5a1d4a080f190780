import Foundation
import MarginCore
@testable import MarginSync
import XCTest

/// A TCP proxy on 127.0.0.1 that forwards both ways and cuts the connection
/// once `cutAfter` bytes have gone in the chosen direction.
final class CuttingProxy: @unchecked Sendable {
    let listener: TCPListener
    let target: Endpoint
    let cutAfter: Int
    let serverToClient: Bool
    private let lock = NSLock()
    private var forwarded = 0
    private var stopped = false

    init(to target: Endpoint, cutAfter: Int, serverToClient: Bool) throws {
        listener = try TCPListener(endpoint: Endpoint(host: "127.0.0.1", port: 0))
        self.target = target
        self.cutAfter = cutAfter
        self.serverToClient = serverToClient
        Thread.detachNewThread { [self] in
            guard let client = try? listener.accept(timeout: 10),
                  let server = try? TCPConnection.connect(to: target, timeout: 5) else { return }
            let group = DispatchGroup()
            for (from, to, counted) in [(client, server, !serverToClient), (server, client, serverToClient)] {
                group.enter()
                Thread.detachNewThread { [self] in
                    defer { group.leave(); from.shutdown(); to.shutdown() }
                    while true {
                        guard let bytes = try? from.read(max: 4096, until: Date().addingTimeInterval(10)), !bytes.isEmpty else { return }
                        var chunk = bytes
                        var cut = false
                        if counted {
                            lock.withLock {
                                let room = max(0, cutAfter - forwarded)
                                if chunk.count >= room { chunk = Array(chunk.prefix(room)); cut = true }
                                forwarded += chunk.count
                            }
                        }
                        if !chunk.isEmpty { try? to.write(chunk, until: Date().addingTimeInterval(10)) }
                        if cut { return }
                    }
                }
            }
            group.wait()
            client.close()
            server.close()
        }
    }

    var endpoint: Endpoint { listener.endpoint }
    var bytesForwarded: Int { lock.withLock { forwarded } }
}

final class InterruptionTests: SyncTestCase {
    /// A store of a few thousand changes; small batches so a cut lands mid-stream.
    func bigNode(_ name: String) throws -> TestNode {
        let n = try node(name) { $0.sync.batchBytes = 2048 }
        let (rid, code) = try seed(n)
        try n.store.write {
            for i in 0..<250 {
                _ = try n.store.annotate(record: rid, code: code, span: .quote("159名黨員", occurrence: nil), value: "\(i)", note: "note \(i)")
            }
        }
        return n
    }

    func checkConsistent(_ s: Store, file: StaticString = #filePath, line: UInt = #line) throws {
        let dump = try s.dumpDerivedState()
        try s.rebuildState()
        let rebuilt = try s.dumpDerivedState()
        XCTAssertTrue(rebuilt == dump, "state differs from the replay of the log, first at: \(zip(rebuilt, dump).first { $0 != $1 }.map { "\($0.0)" } ?? "length \(rebuilt.count) vs \(dump.count)")", file: file, line: line)
        for (origin, head) in try s.versionVector().heads {
            let count = try s.db.scalar("SELECT count(*) FROM changes WHERE origin = ?", .node(origin)).int
            XCTAssertEqual(count, head, "dense sequence for \(origin)", file: file, line: line)
        }
    }

    func testCutWhileReceivingLosesNothing() throws {
        let a = try bigNode("a")
        let total = try a.store.status().changes
        XCTAssertGreaterThan(total, 2500)
        for cut in [10, 150, 3_000, 40_000, 150_000] {
            let b = try node("b\(cut)", serve: false)
            let proxy = try CuttingProxy(to: a.endpoint, cutAfter: cut, serverToClient: true)
            var options = SyncOptions()
            options.idleTimeout = 5
            XCTAssertThrowsError(try SyncSession.sync(store: b.store, with: proxy.endpoint, options: options), "cut at \(cut)")
            try checkConsistent(b.store)
            let partial = try b.store.status().changes
            XCTAssertLessThan(partial, total)
            let r = try b.sync(with: a)
            XCTAssertEqual(r.received, total - partial, "the next sync resumes where the cut one stopped")
            XCTAssertEqual(try b.store.digest(), try a.store.digest())
        }
    }

    func testCutWhileSendingLosesNothing() throws {
        let a = try bigNode("a")
        let hub = try node("hub")
        for (i, cut) in [60, 2_000, 50_000].enumerated() {
            let proxy = try CuttingProxy(to: hub.endpoint, cutAfter: cut, serverToClient: false)
            var options = SyncOptions()
            options.idleTimeout = 5
            options.batchBytes = 2048
            XCTAssertThrowsError(try SyncSession.sync(store: a.store, with: proxy.endpoint, options: options))
            // The server notices the cut and ends the session; then its store is checked.
            XCTAssertTrue(hub.log.wait { _ in hub.log.all.filter { $0.contains("ended") }.count > i })
            try checkConsistent(hub.store)
        }
        try a.sync(with: hub)
        XCTAssertEqual(try hub.store.digest(), try a.store.digest())
    }
}
