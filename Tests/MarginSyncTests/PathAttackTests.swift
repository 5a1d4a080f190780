import Foundation
import MarginCore
@testable import MarginSync
import XCTest

/// Someone on the path, on 127.0.0.1: forwards one connection to a server
/// frame by frame, records every byte, and lets a test rewrite, drop, repeat
/// or add frames in either direction.
final class FrameProxy: @unchecked Sendable {
    typealias Tamper = @Sendable (_ fromClient: Bool, _ index: Int, _ frame: [UInt8]) -> [[UInt8]]
    let listener: TCPListener
    let target: Endpoint
    let tamper: Tamper
    private let lock = NSLock()
    private var bytes: [UInt8] = []
    private let done = DispatchSemaphore(value: 0)

    init(to target: Endpoint, tamper: @escaping Tamper = { _, _, frame in [frame] }) throws {
        self.target = target
        self.tamper = tamper
        listener = try TCPListener(endpoint: Endpoint(host: "127.0.0.1", port: 0))
        Thread.detachNewThread { [self] in
            defer { done.signal() }
            guard let client = try? listener.accept(timeout: 30),
                  let server = try? TCPConnection.connect(to: target, timeout: 5) else { return }
            let pumps = DispatchGroup()
            for (from, to, fromClient) in [(client, server, true), (server, client, false)] {
                pumps.enter()
                Thread.detachNewThread { [self] in
                    pump(from, to, fromClient)
                    client.shutdown()
                    server.shutdown()
                    pumps.leave()
                }
            }
            pumps.wait()
            client.close()
            server.close()
        }
    }

    var endpoint: Endpoint { listener.endpoint }
    var captured: [UInt8] { lock.withLock { bytes } }

    /// Waits (bounded) until both directions have ended.
    func finish() { _ = done.wait(timeout: .now() + 30) }

    private func pump(_ from: TCPConnection, _ to: TCPConnection, _ fromClient: Bool) {
        var decoder = FrameDecoder(maxFrame: 1 << 20)
        var index = 0
        while let chunk = try? from.read(max: 1 << 16, until: Date().addingTimeInterval(20)), !chunk.isEmpty {
            lock.withLock { bytes += chunk }
            decoder.append(chunk)
            while let frame = try? decoder.next() {
                for out in tamper(fromClient, index, frame.raw) {
                    guard (try? to.write(out, until: Date().addingTimeInterval(5))) != nil else { return }
                }
                index += 1
            }
        }
    }
}

final class PathAttackTests: SyncTestCase {
    static let note = "隔離點共有38名工作人員值守,名單保密"

    /// Alice, with a report, a code and a span whose value is "38" and a
    /// note that must stay private; Bob, serving, with a report of his own.
    func pair() throws -> (alice: TestNode, bob: TestNode) {
        let bob = try node("bob")
        _ = try bob.store.importReport(ReportDraft(body: "稱多縣共有16個臨時黨支部。"))
        let alice = try node("alice", serve: false)
        let (record, code) = try seed(alice)
        _ = try alice.store.annotate(record: record, code: code, span: .quote("159名黨員", occurrence: nil), value: "38", note: PathAttackTests.note)
        return (alice, bob)
    }

    /// A frame's bytes with one bit flipped in its payload.
    static func flipped(_ frame: [UInt8], at offset: Int = 9) -> [UInt8] {
        var f = frame
        f[min(f.count - 1, offset)] ^= 0x01
        return f
    }

    /// The proxy rewrites a byte inside Alice's batch: Bob detects it, ends
    /// the session, applies nothing; a clean sync afterwards converges.
    func testAlteredFrameEndsTheSessionAndNothingIsApplied() throws {
        let (alice, bob) = try pair()
        let before = try bob.store.digest()
        // Client frames: 0 OPEN, 1 HANDSHAKE, 2 HELLO, 3 HAVE, 4 the batch.
        let proxy = try FrameProxy(to: bob.endpoint) { fromClient, index, frame in
            fromClient && index == 4 ? [PathAttackTests.flipped(frame, at: frame.count / 2)] : [frame]
        }
        XCTAssertThrowsError(try alice.store.sync(via: proxy.endpoint)) { e in
            XCTAssertTrue("\(e)".contains("failed authentication") || "\(e)".contains("closed"), "\(e)")
        }
        proxy.finish()
        XCTAssertTrue(bob.log.wait { $0.contains("a frame failed authentication") }, "\(bob.log.all)")
        XCTAssertEqual(try bob.store.digest(), before, "nothing from the altered session was applied")
        XCTAssertNil(try bob.store.versionVector().heads[alice.store.node.id])
        try alice.sync(with: bob)
        XCTAssertEqual(try alice.store.digest(), try bob.store.digest())
    }

    /// A frame repeated, a frame dropped, or a frame added in clear: each
    /// ends the session on the side that receives it, and nothing of the
    /// batch it belongs to is applied.
    func testReplayedDroppedAndInjectedFramesAreRefused() throws {
        let (alice, bob) = try pair()
        let before = try bob.store.digest()
        let attacks: [(String, FrameProxy.Tamper)] = [
            ("replayed", { fromClient, index, frame in fromClient && index == 3 ? [frame, frame] : [frame] }),
            ("dropped", { fromClient, index, frame in fromClient && index == 3 ? [] : [frame] }),
            ("injected", { fromClient, index, frame in
                fromClient && index == 4 ? [Wire.frame(.done(count: 0)), frame] : [frame] }),
        ]
        for (name, tamper) in attacks {
            let proxy = try FrameProxy(to: bob.endpoint, tamper: tamper)
            XCTAssertThrowsError(try alice.store.sync(via: proxy.endpoint), name)
            proxy.finish()
            XCTAssertEqual(try bob.store.digest(), before, "\(name): nothing applied")
        }
        try alice.sync(with: bob)
        XCTAssertEqual(try alice.store.digest(), try bob.store.digest())
    }

    /// Everything a listener on the path sees of a whole session: none of
    /// the note, the reports, the node names or ids in clear.
    func testCaptureHoldsNoPlaintext() throws {
        let (alice, bob) = try pair()
        let proxy = try FrameProxy(to: bob.endpoint)
        let r = try alice.store.sync(via: proxy.endpoint)
        proxy.finish()
        XCTAssertGreaterThan(r.sent, 0)
        XCTAssertEqual(try alice.store.digest(), try bob.store.digest())
        let captured = proxy.captured
        XCTAssertGreaterThan(captured.count, 1000)
        func contains(_ needle: [UInt8]) -> Bool {
            guard needle.count <= captured.count else { return false }
            return (0...(captured.count - needle.count)).contains { captured[$0..<($0 + needle.count)].elementsEqual(needle) }
        }
        for secret in [PathAttackTests.note, "159名黨員", "16個臨時黨支部", "party-members", "alice", "bob",
                       alice.store.node.id.hex, bob.store.node.id.hex] {
            XCTAssertFalse(contains(Array(secret.utf8)), "'\(secret)' crossed the wire in clear")
        }
        // Nor the node ids as the 8 raw bytes HELLO carries them.
        for id in [alice.store.node.id, bob.store.node.id] {
            let hex = Array(id.hex.utf8)
            let raw = stride(from: 0, to: hex.count, by: 2).compactMap { UInt8(String(decoding: hex[$0..<$0 + 2], as: UTF8.self), radix: 16) }
            XCTAssertEqual(raw.count, 8)
            XCTAssertFalse(contains(raw), "node id \(id) crossed the wire in clear")
        }
    }

    /// A client that does not hold the secret learns nothing about the node:
    /// the server's only words to it are the handshake and "authentication
    /// failed".
    func testNothingAboutTheNodeBeforeAuthentication() throws {
        let locked = try node("locked-server-name") { $0.sync.secret = Array("s3cret".utf8) }
        let p = try RawPeer(locked.endpoint)
        try p.open(secret: Array("wrong".utf8))
        var heard: [UInt8] = [], types: [MessageType] = []
        while let (m, raw) = try? p.receive() {
            heard += raw
            types.append(m.type)
            if case .error(let code, _) = m { XCTAssertEqual(code, ErrorCode.authentication.rawValue) }
        }
        XCTAssertEqual(types, [.error], "after its handshake message, only the refusal")
        let text = String(decoding: heard, as: UTF8.self)
        XCTAssertFalse(text.contains("locked-server-name"))
        XCTAssertFalse(text.contains(locked.store.node.id.hex))
    }
}

extension Store {
    /// One client session with default options through `endpoint`.
    @discardableResult
    func sync(via endpoint: Endpoint) throws -> SyncReport {
        var options = SyncOptions()
        options.idleTimeout = 5
        return try SyncSession.sync(store: self, with: endpoint, options: options)
    }
}
