import Foundation
import MarginCore
import MarginCrypto
@testable import MarginSync
import XCTest

/// A hand-driven peer that can say anything: it speaks the handshake from
/// PROTOCOL.md with MarginCrypto's Noise, then seals whatever a test wants
/// to send, through the same sealed layer as margin (`SealedLayer`).
final class RawPeer {
    let conn: TCPConnection
    var layer = SealedLayer()
    var handshakeHash: [UInt8] = []

    init(_ endpoint: Endpoint) throws { conn = try TCPConnection.connect(to: endpoint, timeout: 5) }

    /// Connects from another loopback address (127.0.0.0/8 is all local on
    /// Linux), to stand for a different host.
    init(_ endpoint: Endpoint, from source: String) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw WireError("socket failed") }
        func address(_ host: String, _ port: UInt16) -> sockaddr_in {
            var a = sockaddr_in()
            a.sin_family = sa_family_t(AF_INET)
            a.sin_port = port.bigEndian
            inet_pton(AF_INET, host, &a.sin_addr)
            return a
        }
        var local = address(source, 0), remote = address(endpoint.host, endpoint.port)
        let size = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &local) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, size) } }
        let connected = withUnsafePointer(to: &remote) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, size) } }
        guard bound == 0, connected == 0 else {
            close(fd)
            throw WireError("cannot connect from \(source): \(String(cString: strerror(errno)))")
        }
        conn = TCPConnection(fd: fd, peer: "\(endpoint)", peerHost: endpoint.host)
    }
    deinit { conn.close() }

    func send(_ bytes: [UInt8]) throws { try conn.write(bytes, until: Date().addingTimeInterval(5)) }

    /// Sends `m` in clear before the handshake, sealed after it.
    @discardableResult
    func send(_ m: Message) throws -> [UInt8] {
        let f = Wire.frame(m)
        try send(sealed(f))
        return f
    }

    /// `frame` as it goes on the wire: itself before the handshake, else in
    /// SEALED frames of at most 65519 bytes of plaintext each.
    func sealed(_ frame: [UInt8]) throws -> [UInt8] { try layer.seal(frame) }

    /// The next message (opened, after the handshake), or nil once the
    /// server has closed the connection.
    func receive(timeout: Double = 10) throws -> (Message, [UInt8])? {
        while true {
            if let f = try layer.nextInner() { return (try Wire.decode(type: f.type, payload: f.payload), f.raw) }
            if let f = try layer.nextOuter() {
                if f.type == MessageType.sealed.rawValue, layer.established {
                    try layer.open(f.payload)
                    continue
                }
                return (try Wire.decode(type: f.type, payload: f.payload), f.raw)
            }
            let bytes = try conn.read(max: 65536, until: Date().addingTimeInterval(timeout))
            if bytes.isEmpty { return nil }
            layer.append(bytes)
        }
    }

    /// Reads to the end; returns the ERROR the server sent, if any.
    func errorThenClose() throws -> (code: UInt16, message: String)? {
        var found: (UInt16, String)?
        while let (m, _) = try? receive() {
            if case .error(let code, let message) = m { found = (code, message) }
        }
        return found
    }

    /// The Noise handshake as the client; afterwards `send` seals.
    func open(secret: [UInt8] = [], version: UInt16 = Wire.protocolVersion) throws {
        var hs = Noise.Handshake(initiator: true, prologue: SessionKeys.prologue, staticPrivateKey: NodeKey.randomSeed(),
                                 psk: SessionKeys.psk(secret))
        try send(.open(version: version, noise: try hs.writeMessage([])))
        guard let (m, _) = try receive() else { throw WireError("the server closed the connection") }
        guard case .handshake(let second) = m else { throw WireError("no HANDSHAKE but \(m)") }
        _ = try hs.readMessage(second)
        try send(.handshake(try hs.writeMessage([])))
        layer.establish(try hs.transport())
        handshakeHash = hs.handshakeHash
    }

    func hello(as signer: TestSigner) -> Hello {
        let message = SessionKeys.identityMessage(signerIsClient: true, handshakeHash: handshakeHash)
        return Hello(schemaVersion: UInt16(Store.schemaVersion), node: signer.origin, publicKey: signer.publicKey,
                     signature: Ed25519.sign(message, seed: signer.seed), wallClock: SystemClock().nowMilliseconds(),
                     sends: true, receives: true, name: "raw")
    }

    /// A correct session up to and including HAVE; returns the server's HAVE.
    func handshake(secret: [UInt8] = [], as signer: TestSigner = TestSigner(0x77)) throws -> VersionVector {
        try open(secret: secret)
        try send(.hello(hello(as: signer)))
        guard let (m, _) = try receive() else { throw WireError("the server closed the connection") }
        guard case .hello = m else { throw WireError("no HELLO but \(m)") }
        try send(.have(VersionVector()))
        guard let (h, _) = try receive(), case .have(let vv, _, _) = h else { throw WireError("no HAVE") }
        return vv
    }
}

/// A server with a seeded store, a colleague, and a check that an attack
/// left the server unchanged and still serving.
class HostileServerTestCase: SyncTestCase {
    var server: TestNode!
    var good: TestNode!
    /// The key an attacker signs its own changes with.
    let attacker = TestSigner(0x42)
    var before = ""

    override func setUpWithError() throws {
        try super.setUpWithError()
        server = try node("server") { $0.sync.idleTimeout = 1; $0.sync.maxFrame = 1 << 20 }
        _ = try seed(server)
        good = try node("good", serve: false)
        _ = try good.store.importReport(ReportDraft(body: "好的報告,共有12名黨員參加。"))
        before = try server.store.digest()
    }

    /// After each attack: the server logged why, applied nothing from the
    /// attacker, and still serves a well-behaved peer.
    /// `occurrence`: how many log lines must mention it by now, so a line
    /// left by an earlier attack in the same test does not count.
    func checkServerSurvives(_ mentions: String, occurrence: Int = 1, file: StaticString = #filePath, line: UInt = #line) throws {
        let log = server.log
        XCTAssertTrue(log.wait { _ in log.all.filter { $0.contains(mentions) }.count >= occurrence },
                      "server log lacks '\(mentions)' (\(occurrence)×): \(log.all)", file: file, line: line)
        XCTAssertEqual(try server.store.digest(), before, "nothing from the refused session was applied", file: file, line: line)
        XCTAssertNil(try server.store.versionVector().heads[attacker.origin], file: file, line: line)
        let r = try good.sync(with: server) { $0.receives = false; $0.sends = false }
        XCTAssertEqual(r.peerName, "server", file: file, line: line)
    }
}

final class HostilePeerTests: HostileServerTestCase {
    func testGarbage() throws {
        let p = try RawPeer(server.endpoint)
        try p.send(Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
        let e = try p.errorThenClose()
        XCTAssertEqual(e?.code, ErrorCode.malformed.rawValue)
        try checkServerSurvives("over the limit")
    }

    func testOversizedFrame() throws {
        let p = try RawPeer(server.endpoint)
        try p.send([0x00, 0x20, 0x00, 0x00, 1])   // 2 MiB declared, limit 1 MiB
        XCTAssertEqual(try p.errorThenClose()?.code, ErrorCode.malformed.rawValue)
        try checkServerSurvives("over the limit")
    }

    func testUnknownMessageType() throws {
        let p = try RawPeer(server.endpoint)
        try p.send([0, 0, 0, 1, 42])
        XCTAssertEqual(try p.errorThenClose()?.code, ErrorCode.malformed.rawValue)
        try checkServerSurvives("unknown message type 42")
    }

    func testTruncatedFrameThenHangUp() throws {
        let p = try RawPeer(server.endpoint)
        let open = Wire.frame(.open(version: Wire.protocolVersion, noise: Array(repeating: 1, count: 48)))
        try p.send(Array(open.dropLast(5)))
        p.conn.shutdown()
        try checkServerSurvives("middle of a frame")
    }

    /// A wrong secret, and a good client's handshake replayed, are both
    /// refused as authentication failures: the server's fresh ephemeral key
    /// makes a captured third message worthless.
    func testWrongSecretAndReplayedHandshake() throws {
        let secretServer = try node("locked") { $0.sync.secret = Array("s3cret".utf8) }
        let p = try RawPeer(secretServer.endpoint)
        try p.open(secret: Array("guess".utf8))
        XCTAssertEqual(try p.errorThenClose()?.code, ErrorCode.authentication.rawValue)
        XCTAssertTrue(secretServer.log.wait { $0.contains("authentication failed") })
        // Capture a good client's frames, then replay them verbatim.
        let honest = try RawPeer(secretServer.endpoint)
        var captured: [[UInt8]] = []
        var hs = Noise.Handshake(initiator: true, prologue: SessionKeys.prologue, staticPrivateKey: NodeKey.randomSeed(),
                                 psk: SessionKeys.psk(Array("s3cret".utf8)))
        captured.append(try honest.send(.open(version: Wire.protocolVersion, noise: try hs.writeMessage([]))))
        guard let (m, _) = try honest.receive(), case .handshake(let second) = m else { return XCTFail("no HANDSHAKE") }
        _ = try hs.readMessage(second)
        captured.append(try honest.send(.handshake(try hs.writeMessage([]))))
        let replay = try RawPeer(secretServer.endpoint)
        try replay.send(captured[0])
        _ = try replay.receive()            // the server's HANDSHAKE, with a fresh ephemeral key
        try replay.send(captured[1])        // the captured message 3 no longer fits
        XCTAssertEqual(try replay.errorThenClose()?.code, ErrorCode.authentication.rawValue)
        XCTAssertNil(try secretServer.store.versionVector().heads[TestSigner(0x77).origin])
    }

    func testSequenceGapIsRefusedAndNothingApplied() throws {
        let p = try RawPeer(server.endpoint)
        _ = try p.handshake()
        let origin = attacker.origin
        let c1 = Change(id: ChangeID(origin: origin, seq: 1), hlc: HLC(milliseconds: 1_000, counter: 0), kind: .code,
                        entity: "00000000000000aa", field: "name", value: .text("ok"))
        let c3 = Change(id: ChangeID(origin: origin, seq: 3), hlc: HLC(milliseconds: 1_001, counter: 0), kind: .code,
                        entity: "00000000000000aa", field: "description", value: .text("gap"))
        let (changes, signatures) = attacker.chained([c1, c3])
        try p.send(.batch(number: 1, changes: changes, signatures: signatures))
        let e = try p.errorThenClose()
        XCTAssertEqual(e?.code, ErrorCode.refusedChange.rawValue)
        XCTAssertTrue(e?.message.contains("sequence gap") ?? false, "\(String(describing: e))")
        try checkServerSurvives("sequence gap")
    }

    func testUnknownFieldsAndWrongTypesAreRefused() throws {
        let origin = attacker.origin
        let bad: [Change] = [
            Change(id: ChangeID(origin: origin, seq: 2), hlc: HLC(milliseconds: 1_000, counter: 1), kind: .annotation,
                   entity: "aa", field: "no_such_field", value: .text("x")),
            Change(id: ChangeID(origin: origin, seq: 2), hlc: HLC(milliseconds: 1_000, counter: 1), kind: .annotation,
                   entity: "aa", field: "start", value: .text("not a number")),
            Change(id: ChangeID(origin: origin, seq: 2), hlc: HLC(milliseconds: 1_000, counter: 1), kind: .record,
                   entity: "aa", field: "deleted", value: .int(7), seen: VersionVector()),
            Change(id: ChangeID(origin: origin, seq: 2), hlc: HLC(milliseconds: 1_000, counter: 1), kind: .record,
                   entity: "aa", field: "deleted", value: .int(1)),
        ]
        for (i, change) in bad.enumerated() {
            let p = try RawPeer(server.endpoint)
            _ = try p.handshake()
            let first = Change(id: ChangeID(origin: origin, seq: 1), hlc: HLC(milliseconds: 1_000, counter: 0), kind: .code,
                               entity: "00000000000000aa", field: "name", value: .text("would be fine alone"))
            let (changes, signatures) = attacker.chained([first, change])
            try p.send(.batch(number: 1, changes: changes, signatures: signatures))
            XCTAssertEqual(try p.errorThenClose()?.code, ErrorCode.refusedChange.rawValue, "case \(i)")
            try checkServerSurvives(["unknown field", "wrong value type", "wrong value type", "`seen` must be present"][i],
                                    occurrence: i == 2 ? 2 : 1)
        }
    }

    func testPeerThatClaimsAHugeBatchAndGoesSilent() throws {
        let p = try RawPeer(server.endpoint)
        _ = try p.handshake()
        try p.send(try p.sealed([0x00, 0x0f, 0x00, 0x00, MessageType.batch.rawValue, 1, 200]))   // ~1 MB promised, 2 bytes sent
        try checkServerSurvives("went silent")
    }

    func testSilentPeer() throws {
        let p = try RawPeer(server.endpoint)
        _ = p
        try checkServerSurvives("went silent")
    }

    func testOtherProtocolVersion() throws {
        let p = try RawPeer(server.endpoint)
        try p.send(.open(version: Wire.protocolVersion + 1, noise: []))
        let e = try p.errorThenClose()
        XCTAssertEqual(e?.code, ErrorCode.version.rawValue)
        XCTAssertTrue(e?.message.contains("upgrade margin on the server") ?? false, "\(String(describing: e))")
        let old = try RawPeer(server.endpoint)
        try old.send(.open(version: 3, noise: []))
        XCTAssertTrue(try old.errorThenClose()?.message.contains("upgrade margin on the client") ?? false)
        try checkServerSurvives("protocol mismatch")
    }

    /// While silent connections from several addresses flood the server,
    /// each reconnecting as soon as it is cut, a colleague's sync starts at
    /// once and completes: pending handshakes never take a session slot,
    /// and the oldest is cut to make room for a newcomer.
    func testFloodFromSeveralAddressesDoesNotStarveAColleague() throws {
        let target = try node("target") {
            $0.maxSessions = 2; $0.maxPending = 12; $0.maxPendingPerAddress = 4; $0.sync.idleTimeout = 30; $0.sync.handshakeTimeout = 30
        }
        _ = try seed(target)
        let endpoint = target.endpoint
        let stop = Flag()
        let flooders = (2...5).map { i -> Thread in
            let t = Thread {
                var held: [RawPeer] = []
                while !stop.isSet {
                    if let p = try? RawPeer(endpoint, from: "127.0.0.\(i)") { held.append(p) }
                    if held.count > 8 { held.removeFirst() }
                    usleep(2_000)
                }
            }
            t.start()
            return t
        }
        defer { stop.set() }
        for round in 0..<3 {
            _ = try good.store.importReport(ReportDraft(body: "第\(round + 1)輪:共有8名黨員值守卡點。"))
            let started = Date()
            let r = try good.sync(with: target) { $0.handshakeTimeout = 5 }
            XCTAssertGreaterThan(r.sent, 0)
            XCTAssertLessThan(Date().timeIntervalSince(started), 5, "round \(round): the colleague waited for the flood")
        }
        stop.set()
        XCTAssertEqual(try good.store.digest(), try target.store.digest())
        XCTAssertFalse(target.log.all.contains { $0.contains("busy") || $0.contains("refused") }, "\(target.log.all)")
        _ = flooders
    }

    /// A peer that trickles its handshake a byte at a time stays inside the
    /// idle limit but not the handshake limit.
    func testTricklingHandshakeIsCut() throws {
        let target = try node("target") { $0.sync.idleTimeout = 30; $0.sync.handshakeTimeout = 1 }
        let trickler = try RawPeer(target.endpoint, from: "127.0.0.3")
        let open = Wire.frame(.open(version: Wire.protocolVersion, noise: Array(repeating: 9, count: 48)))
        let slow = trickler.conn
        let trickled = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            for b in open {
                guard (try? slow.write([b], until: Date().addingTimeInterval(5))) != nil else { break }
                usleep(100_000)
            }
            trickled.signal()
        }
        XCTAssertTrue(target.log.wait { $0.contains("did not complete the handshake within 1 s") }, "\(target.log.all)")
        _ = trickled.wait(timeout: .now() + 30)
    }

    /// Failed authentications from one address are logged once per burst
    /// and slow that address down; another address is not affected.
    func testFailedAuthenticationsAreSlowedAndLoggedOncePerBurst() throws {
        let locked = try node("locked") { $0.sync.secret = Array("s3cret".utf8); $0.freeFailures = 3 }
        var refusedAtOnce = 0
        for _ in 0..<12 {
            let p = try RawPeer(locked.endpoint, from: "127.0.0.9")
            do {
                try p.open(secret: Array("guess".utf8))
                _ = try p.errorThenClose()
            } catch {
                refusedAtOnce += 1   // closed before the handshake: the address is waiting out its penalty
            }
        }
        XCTAssertGreaterThan(refusedAtOnce, 0, "repeated failures were not slowed")
        let lines = locked.log.all.filter { $0.contains("127.0.0.9") }
        XCTAssertEqual(lines.count, 1, "one line per burst: \(lines)")
        // Another address authenticates at once.
        let other = try node("colleague", serve: false)
        let r = try other.sync(with: locked) { $0.secret = Array("s3cret".utf8) }
        XCTAssertEqual(r.peerName, "locked")
    }

    func testBusyServerRefusesBeyondItsLimit() throws {
        let small = try node("small") { $0.maxSessions = 1; $0.sync.idleTimeout = 3 }
        let hog = try RawPeer(small.endpoint)
        _ = try hog.handshake()   // the session is now open and waiting
        let second = try RawPeer(small.endpoint)
        try second.open()
        try second.send(.hello(second.hello(as: TestSigner(0x78))))
        XCTAssertEqual(try second.errorThenClose()?.code, ErrorCode.busy.rawValue)
        // Unauthenticated connections never count against the limit.
        let idle = try (0..<4).map { _ in try RawPeer(small.endpoint) }
        hog.conn.close()
        XCTAssertTrue(small.log.wait { $0.contains("went silent") || $0.contains("closed") }, "\(small.log.all)")
        let r = try good.sync(with: small)
        XCTAssertEqual(r.peerName, "small")
        _ = idle
    }
}

/// A flag threads can set and read.
final class Flag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    var isSet: Bool { lock.withLock { value } }
    func set() { lock.withLock { value = true } }
}
