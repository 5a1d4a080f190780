import Foundation
@testable import MarginCore
import MarginCrypto
@testable import MarginSync
import XCTest

final class ManualClock: WallClock, @unchecked Sendable {
    private let lock = NSLock()
    private var value: Int64
    init(_ now: Int64) { value = now }
    var now: Int64 { get { lock.withLock { value } } set { lock.withLock { value = newValue } } }
    func nowMilliseconds() -> Int64 { now }
}

/// Collects a server's log lines from its threads.
final class LogLines: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    func add(_ s: String) { lock.withLock { lines.append(s) } }
    var all: [String] { lock.withLock { lines } }
    /// Waits (bounded) until a line matching `predicate` has been logged:
    /// the server logs a session's end after it has closed the socket.
    func wait(for predicate: (String) -> Bool, timeout: Double = 10) -> Bool {
        let end = Date().addingTimeInterval(timeout)
        while Date() < end {
            if all.contains(where: predicate) { return true }
            usleep(10_000)
        }
        return false
    }
}

/// A store with a server on 127.0.0.1 (port chosen by the system).
final class TestNode {
    let name: String
    let directory: String
    private(set) var store: Store
    var server: SyncServer?
    let log = LogLines()
    private var done: DispatchSemaphore?

    init(_ name: String, in dir: URL, wall: any WallClock = SystemClock()) throws {
        self.name = name
        directory = dir.appendingPathComponent(name).path
        store = try Store.create(directory: directory, name: name, wall: wall)
    }

    /// A node made from a copy of another's store folder, as a user copies
    /// `.margin/` to a second laptop: the same node id.
    init(_ name: String, copyOf other: TestNode, in dir: URL) throws {
        self.name = name
        directory = dir.appendingPathComponent(name).path
        try FileManager.default.copyItem(atPath: other.directory, toPath: directory)
        store = try Store(directory: directory)
    }

    /// A node on a store folder that exists already.
    init(_ name: String, opening directory: String) throws {
        self.name = name
        self.directory = directory
        store = try Store(directory: directory)
    }

    /// Copies the store folder, as `cp -a .margin backup` does.
    func backup(to path: String) throws {
        try FileManager.default.copyItem(atPath: directory, toPath: path)
    }

    /// Puts a backup in place of the store folder and opens it again.
    func restore(from path: String) throws {
        store.db.close()
        try FileManager.default.removeItem(atPath: directory)
        try FileManager.default.copyItem(atPath: path, toPath: directory)
        store = try Store(directory: directory)
    }

    func startServer(_ configure: (inout SyncServer.Options) -> Void = { _ in }) throws {
        var options = SyncServer.Options()
        options.sync.idleTimeout = 5
        configure(&options)
        let log = self.log
        let server = try SyncServer(directory: directory, endpoint: Endpoint(host: "127.0.0.1", port: 0), options: options) { log.add($0) }
        self.server = server
        let sem = DispatchSemaphore(value: 0)
        done = sem
        Thread.detachNewThread {
            server.serve()
            sem.signal()
        }
    }

    var endpoint: Endpoint { server!.endpoint }

    func stopServer() {
        server?.stop()
        _ = done?.wait(timeout: .now() + 20)
        done = nil
        server = nil
    }

    /// Runs `margin sync` from this node to `peer`'s server.
    @discardableResult
    func sync(with peer: TestNode, _ configure: (inout SyncOptions) -> Void = { _ in }) throws -> SyncReport {
        var options = SyncOptions()
        options.idleTimeout = 5
        configure(&options)
        return try SyncSession.syncSettling(store: store, with: peer.endpoint, options: options)
    }

    deinit { stopServer() }
}

class SyncTestCase: XCTestCase {
    var dir: URL!
    var nodes: [TestNode] = []

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("margin-sync-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    /// Every node's store must pass `check` when the test ends.
    override func tearDownWithError() throws {
        defer { try? FileManager.default.removeItem(at: dir) }
        for n in nodes { n.stopServer() }
        let all = nodes
        nodes = []
        for n in all { try n.store.check() }
    }

    func node(_ name: String, serve: Bool = true, wall: any WallClock = SystemClock(),
              _ configure: (inout SyncServer.Options) -> Void = { _ in }) throws -> TestNode {
        let n = try TestNode(name, in: dir, wall: wall)
        if serve { try n.startServer(configure) }
        nodes.append(n)
        return n
    }

    static let body = "曲麻萊縣迅速成立了16個臨時黨支部,共有159名黨員加入其中。全縣共抽調354名幹部。"

    /// Imports a report and a code on `n`; returns (record, code).
    func seed(_ n: TestNode) throws -> (String, String) {
        let (r, _) = try n.store.importReport(ReportDraft(body: SyncTestCase.body, title: "曲麻萊縣"))
        let c = try n.store.addCode(name: "party-members", description: nil, colour: "red", parent: nil)
        return (r, c)
    }

    func edit(_ s: Store, _ annotation: String, value: String) throws {
        var e = Store.AnnotationEdit()
        e.value = .some(value)
        try s.edit(annotation: annotation, e, anyLayer: true)
    }
}

/// A node's key outside any store, for tests that speak the protocol by
/// hand: its id is derived from the key, and it signs what it sends.
struct TestSigner {
    let seed: [UInt8]
    init(_ byte: UInt8) { seed = [UInt8](repeating: byte, count: 32) }
    var publicKey: [UInt8] { Ed25519.publicKey(seed: seed) }
    var origin: NodeID { NodeKey.derivedID(publicKey) }

    /// Links `changes` (all of this origin, in order, from the chain's
    /// start) into one hash chain and signs the last.
    func chained(_ changes: [Change], prev start: [UInt8] = ChangeHash.genesis) -> (changes: [Change], signatures: [HeadSignature]) {
        var prev = start
        let linked = changes.map { c -> Change in
            var c = c
            c.prev = prev
            prev = c.hash
            return c
        }
        guard let last = linked.last else { return ([], []) }
        return (linked, [sign(last)])
    }

    func sign(_ c: Change) -> HeadSignature {
        HeadSignature(origin: c.id.origin, seq: c.id.seq, publicKey: publicKey,
                      signature: Ed25519.sign(NodeKey.message(origin: c.id.origin, seq: c.id.seq, hash: c.hash), seed: seed))
    }
}
