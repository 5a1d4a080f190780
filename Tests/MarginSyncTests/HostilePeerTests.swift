import Foundation
import MarginCore
@testable import MarginSync
import XCTest

/// A hand-driven peer that can say anything.
final class RawPeer {
    let conn: TCPConnection
    var decoder = FrameDecoder()
    var sent: [[UInt8]] = []

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

    @discardableResult
    func send(_ m: Message) throws -> [UInt8] {
        let f = Wire.frame(m)
        sent.append(f)
        try send(f)
        return f
    }

    /// The next message, or nil once the server has closed the connection.
    func receive(timeout: Double = 10) throws -> (Message, [UInt8])? {
        while true {
            if let f = try decoder.next() { return (try Wire.decode(type: f.type, payload: f.payload), f.raw) }
            let bytes = try conn.read(max: 65536, until: Date().addingTimeInterval(timeout))
            if bytes.isEmpty { return nil }
            decoder.append(bytes)
        }
    }

    /// Reads to the end; returns the ERROR the server sent, if any.
    func errorThenClose() throws -> (code: UInt16, message: String)? {
        var found: (UInt16, String)?
        while let (m, _) = try receive() {
            if case .error(let code, let message) = m { found = (code, message) }
        }
        return found
    }

    static func hello(node: NodeID = "0123456789abcdef", version: UInt16 = Wire.protocolVersion) -> Hello {
        Hello(protocolVersion: version, schemaVersion: UInt16(Store.schemaVersion), node: node,
              wallClock: SystemClock().nowMilliseconds(), nonce: Array(repeating: 7, count: 32), sends: true, receives: true, name: "raw")
    }

    /// A correct handshake up to and including HAVE; returns the server's HAVE.
    func handshake(secret: [UInt8] = [], node: NodeID = "0123456789abcdef") throws -> VersionVector {
        let clientHello = try send(.hello(RawPeer.hello(node: node)))
        guard let (m, serverHello) = try receive(), case .hello = m else { throw WireError("no HELLO") }
        let transcript = SyncSession.transcript(clientHello: clientHello, serverHello: serverHello)
        try send(.auth(mac: SyncSession.mac(secret, role: .client, transcript: transcript)))
        guard let (a, _) = try receive(), case .auth = a else { throw WireError("no AUTH") }
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
        let hello = Wire.frame(.hello(RawPeer.hello()))
        try p.send(Array(hello.dropLast(5)))
        p.conn.shutdown()
        try checkServerSurvives("middle of a frame")
    }

    func testWrongSecretAndReplayedHandshake() throws {
        let secretServer = try node("locked") { $0.sync.secret = Array("s3cret".utf8) }
        let p = try RawPeer(secretServer.endpoint)
        XCTAssertThrowsError(try p.handshake(secret: Array("guess".utf8)))
        XCTAssertTrue(secretServer.log.wait { $0.contains("authentication failed") })
        // Capture a good client's HELLO and AUTH, then replay them verbatim.
        let honest = try RawPeer(secretServer.endpoint)
        _ = try honest.handshake(secret: Array("s3cret".utf8))
        let replay = try RawPeer(secretServer.endpoint)
        try replay.send(honest.sent[0])
        _ = try replay.receive()            // the server's HELLO, with a fresh nonce
        try replay.send(honest.sent[1])     // the captured proof no longer fits
        let e = try replay.errorThenClose()
        XCTAssertEqual(e?.code, ErrorCode.authentication.rawValue)
        // A second refusal in the log: the wrong secret's, then the replay's.
        let log = secretServer.log
        XCTAssertTrue(log.wait { _ in log.all.filter { $0.contains("authentication failed") }.count >= 2 }, "\(log.all)")
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
        try p.send([0x00, 0x0f, 0x00, 0x00, MessageType.batch.rawValue, 1, 200])   // ~1 MB promised, 2 bytes sent
        try checkServerSurvives("went silent")
    }

    func testSilentPeer() throws {
        let p = try RawPeer(server.endpoint)
        _ = p
        try checkServerSurvives("went silent")
    }

    func testOtherProtocolVersion() throws {
        let p = try RawPeer(server.endpoint)
        try p.send(.hello(RawPeer.hello(version: Wire.protocolVersion + 1)))
        let e = try p.errorThenClose()
        XCTAssertEqual(e?.code, ErrorCode.version.rawValue)
        XCTAssertTrue(e?.message.contains("upgrade margin on the server") ?? false, "\(String(describing: e))")
        let old = try RawPeer(server.endpoint)
        try old.send(.hello(RawPeer.hello(version: 0)))
        XCTAssertTrue(try old.errorThenClose()?.message.contains("upgrade margin on the client") ?? false)
        try checkServerSurvives("protocol mismatch")
    }

    /// While a flood of silent connections from one host and a peer that
    /// trickles its handshake hold sessions open, a well-behaved peer syncs
    /// real changes, and nothing from the attackers is applied.
    func testAttackersDoNotStarveAWellBehavedPeer() throws {
        let target = try node("target") { $0.maxSessions = 8; $0.maxSessionsPerAddress = 3; $0.sync.idleTimeout = 30; $0.sync.handshakeTimeout = 1 }
        _ = try seed(target)
        let flood = try (0..<6).map { _ in try RawPeer(target.endpoint, from: "127.0.0.2") }
        // Three are admitted and sit silent; the rest are refused at once.
        var refused = 0
        for p in flood.suffix(3) where try p.errorThenClose()?.code == ErrorCode.busy.rawValue { refused += 1 }
        XCTAssertEqual(refused, 3)
        XCTAssertTrue(target.log.wait { $0.contains("too many sessions from 127.0.0.2") }, "\(target.log.all)")

        // A peer that trickles a byte at a time stays inside the idle limit
        // but not the handshake limit.
        let trickler = try RawPeer(target.endpoint, from: "127.0.0.3")
        let hello = Wire.frame(.hello(RawPeer.hello(node: "aaaaaaaaaaaaaaaa")))
        let trickled = DispatchSemaphore(value: 0)
        let slow = trickler.conn
        Thread.detachNewThread {
            for b in hello {
                guard (try? slow.write([b], until: Date().addingTimeInterval(5))) != nil else { break }
                usleep(100_000)
            }
            trickled.signal()
        }

        // Meanwhile the colleague's sync goes through, both ways.
        _ = try good.store.importReport(ReportDraft(body: "同時進行:共有8名黨員值守卡點。"))
        let r = try good.sync(with: target)
        XCTAssertGreaterThan(r.sent, 0)
        XCTAssertGreaterThan(r.received, 0)
        XCTAssertEqual(try good.store.digest(), try target.store.digest())

        XCTAssertTrue(target.log.wait { $0.contains("did not complete the handshake within 1 s") }, "\(target.log.all)")
        _ = trickled.wait(timeout: .now() + 30)
        for origin in ["0123456789abcdef", "aaaaaaaaaaaaaaaa"] {
            XCTAssertNil(try target.store.versionVector().heads[origin], "nothing from an attacker was applied")
        }
        _ = (flood, trickler)
    }

    func testBusyServerRefusesBeyondItsLimit() throws {
        let small = try node("small") { $0.maxSessions = 1; $0.sync.idleTimeout = 3 }
        let hog = try RawPeer(small.endpoint)
        try hog.send(.hello(RawPeer.hello()))
        _ = try hog.receive()   // the session is now open and waiting
        let second = try RawPeer(small.endpoint)
        XCTAssertEqual(try second.errorThenClose()?.code, ErrorCode.busy.rawValue)
    }
}
