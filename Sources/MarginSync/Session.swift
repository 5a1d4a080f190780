import Foundation
import MarginCore
import MarginCrypto

/// Why a session ended early. The message is one line for the user.
public struct SyncError: Error, CustomStringConvertible, Sendable {
    public var code: ErrorCode
    public var message: String
    /// True when the peer sent this error (it is not echoed back).
    public var fromPeer = false
    public init(_ code: ErrorCode, _ message: String, fromPeer: Bool = false) {
        self.code = code; self.message = message; self.fromPeer = fromPeer
    }
    public var description: String { message }
}

/// The knobs of a session; each has a flag on `margin serve` / `margin sync`.
public struct SyncOptions: Sendable {
    /// The team secret (empty: none, and then only loopback is served).
    public var secret: [UInt8] = []
    /// Longest wait for the next bytes from the peer.
    public var idleTimeout: Double = 30
    /// Longest a whole session may take.
    public var sessionTimeout: Double = 3600
    /// Longest the HELLO and AUTH exchange may take, however steadily the
    /// peer trickles bytes: a peer without the secret cannot hold a session
    /// slot for longer than this.
    public var handshakeTimeout: Double = 10
    public var connectTimeout: Double = 10
    public var maxFrame = Wire.defaultMaxFrame
    public var batchBytes = Wire.batchTargetBytes
    /// Batches a sender may have in flight before it waits for an ACK.
    public var window = 8
    /// Changes stamped further than this ahead of the local clock are held back.
    public var maxFuture: Double = 3600
    /// A peer whose wall clock differs by more than this is warned about.
    public var skewWarning: Double = 300
    public var sends = true
    public var receives = true
    /// Wall-clock source; nil: the store's own.
    public var wall: (@Sendable () -> Int64)? = nil
    public init() {}
}

/// What a session moved.
public struct SyncReport: Sendable {
    public var peerID: NodeID = ""
    public var peerName = ""
    public var received = 0
    public var sent = 0
    public var records = 0
    public var annotations = 0
    public var newConflicts = 0
    public var heldBack = 0
    /// This store had been restored from a backup or copied; what it did.
    public var recovery: Store.ForkRecovery?
    /// This store's own changes it had lost and took back from the peer.
    public var tookBack = 0
    /// This store's own history forked and the next session locates it.
    public var ownForkPending = false
    public var warnings: [String] = []
}

/// Frames over a TCP connection, with the idle and session deadlines.
final class FramedConnection {
    let socket: TCPConnection
    var decoder: FrameDecoder
    let idle: Double
    let sessionDeadline: Date
    let handshakeTimeout: Double
    /// Until the peer has authenticated.
    private var handshakeDeadline: Date?
    private(set) var errorSent = false

    init(socket: TCPConnection, options: SyncOptions) {
        self.socket = socket
        decoder = FrameDecoder(maxFrame: options.maxFrame)
        idle = options.idleTimeout
        sessionDeadline = Date().addingTimeInterval(options.sessionTimeout)
        handshakeTimeout = options.handshakeTimeout
        handshakeDeadline = Date().addingTimeInterval(options.handshakeTimeout)
    }

    func authenticated() { handshakeDeadline = nil }

    var deadline: Date { min(Date().addingTimeInterval(idle), sessionDeadline, handshakeDeadline ?? .distantFuture) }

    /// Why a wait ran out: the deadline that was reached.
    func timeoutMessage() -> String {
        if let h = handshakeDeadline, h <= Date() { return "the peer did not complete the handshake within \(Int(handshakeTimeout)) s" }
        if sessionDeadline <= Date() { return "the session reached its time limit" }
        return "the peer went silent for \(Int(idle)) s"
    }

    @discardableResult
    func send(_ m: Message) throws -> [UInt8] {
        let f = Wire.frame(m)
        try sendRaw(f)
        return f
    }

    func sendRaw(_ frame: [UInt8]) throws {
        do { try socket.write(frame, until: deadline) } catch let e as NetworkError { throw SyncError(.timeout, e.kind == .timeout ? timeoutMessage() : e.message) }
    }

    func receive() throws -> (Message, [UInt8]) {
        while true {
            do {
                if let f = try decoder.next() { return (try Wire.decode(type: f.type, payload: f.payload), f.raw) }
            } catch let e as WireError {
                throw SyncError(.malformed, "malformed message: \(e.message)")
            }
            let bytes: [UInt8]
            do {
                bytes = try socket.read(max: min(max(decoder.wanted, 1 << 16), 1 << 20), until: deadline)
            } catch let e as NetworkError {
                throw SyncError(.timeout, e.kind == .timeout ? timeoutMessage() : e.message)
            }
            if bytes.isEmpty {
                throw SyncError(.malformed, decoder.buffered > 0 ? "the peer closed the connection in the middle of a frame"
                                                                 : "the peer closed the connection")
            }
            decoder.append(bytes)
        }
    }

    /// Tells the peer why the session ends; best effort, the peer may be gone.
    func fail(_ error: SyncError) -> SyncError {
        guard !errorSent, !error.fromPeer else { return error }
        errorSent = true
        _ = try? socket.write(Wire.frame(.error(code: error.code.rawValue, message: error.message)),
                              until: Date().addingTimeInterval(2))
        return error
    }
}

/// One sync session, either side. The sequence (PROTOCOL.md, "Session"):
/// HELLO both ways, AUTH both ways (client first), HAVE both ways, then the
/// client's changes to the server, then the server's to the client.
public final class SyncSession {
    public enum Role: Sendable { case client, server }

    let store: Store
    let conn: FramedConnection
    let options: SyncOptions
    let role: Role
    let address: String?
    var report = SyncReport()

    func now() -> Int64 { options.wall?() ?? store.wallClock.nowMilliseconds() }

    init(store: Store, socket: TCPConnection, options: SyncOptions, role: Role, address: String?) {
        self.store = store
        conn = FramedConnection(socket: socket, options: options)
        self.options = options
        self.role = role
        self.address = address
    }

    /// Connects to a server and runs one session.
    public static func sync(store: Store, with endpoint: Endpoint, options: SyncOptions) throws -> SyncReport {
        let socket: TCPConnection
        do { socket = try TCPConnection.connect(to: endpoint, timeout: options.connectTimeout) } catch let e as NetworkError {
            throw SyncError(.internalError, e.message)
        }
        defer { socket.close() }
        return try SyncSession(store: store, socket: socket, options: options, role: .client, address: endpoint.description).run()
    }

    /// What `margin sync` does: one session, and a second (at most two
    /// more) when the first found this store restored or copied, to send
    /// the changes it issued again under its new id, or to locate a fork of
    /// its own history. The reports are added up.
    public static func syncSettling(store: Store, with endpoint: Endpoint, options: SyncOptions) throws -> SyncReport {
        var total = try sync(store: store, with: endpoint, options: options)
        var last = total
        var rounds = 0
        while rounds < 2, (last.recovery != nil && options.sends) || last.ownForkPending {
            rounds += 1
            last = try sync(store: store, with: endpoint, options: options)
            total.recovery = total.recovery ?? last.recovery
            total.ownForkPending = last.ownForkPending
            total.tookBack += last.tookBack
            total.received += last.received
            total.sent += last.sent
            total.records += last.records
            total.annotations += last.annotations
            total.newConflicts += last.newConflicts
            total.heldBack += last.heldBack
            total.warnings = total.warnings.filter { !$0.hasPrefix("this store's own history forks") } + last.warnings
        }
        return total
    }

    /// Serves one session on an accepted connection.
    public static func serve(store: Store, connection: TCPConnection, options: SyncOptions) throws -> SyncReport {
        try SyncSession(store: store, socket: connection, options: options, role: .server, address: nil).run()
    }

    static func mac(_ secret: [UInt8], role: Role, transcript: [UInt8]) -> [UInt8] {
        HMACSHA256.authenticate(Array("margin-auth-v1 \(role == .client ? "client" : "server")".utf8) + transcript, key: secret)
    }

    /// The transcript hash both proofs cover: SHA-256 of the client's HELLO
    /// frame followed by the server's, exactly as sent.
    static func transcript(clientHello: [UInt8], serverHello: [UInt8]) -> [UInt8] {
        SHA256.hash(clientHello + serverHello)
    }

    func expect(_ m: Message, _ what: String) throws -> Message {
        if case .error(let code, let message) = m {
            throw SyncError(ErrorCode(rawValue: code) ?? .internalError, "the peer refused: \(message)", fromPeer: true)
        }
        return m
    }

    func versionProblem(_ peer: Hello) -> SyncError? {
        let me = role == .client ? "client" : "server", them = role == .client ? "server" : "client"
        if peer.protocolVersion != Wire.protocolVersion {
            let newer = peer.protocolVersion > Wire.protocolVersion ? me : them
            return SyncError(.version, "sync protocol mismatch: the \(me) speaks version \(Wire.protocolVersion), the \(them) version \(peer.protocolVersion): upgrade margin on the \(newer == me ? me : them)")
        }
        if Int(peer.schemaVersion) != Store.schemaVersion {
            let older = Int(peer.schemaVersion) < Store.schemaVersion ? them : me
            return SyncError(.version, "store schema mismatch: the \(me) has schema \(Store.schemaVersion), the \(them) schema \(peer.schemaVersion): upgrade margin on the \(older)")
        }
        return nil
    }

    func run() throws -> SyncReport {
        do {
            return try runUnchecked()
        } catch let e as SyncError {
            throw conn.fail(e)
        } catch {
            throw conn.fail(SyncError(.internalError, MarginError.message(for: error)))
        }
    }

    private func runUnchecked() throws -> SyncReport {
        var g = SystemRandomNumberGenerator()
        let nonce = (0..<Wire.nonceLength).map { _ in UInt8.random(in: 0...255, using: &g) }
        let mine = Hello(schemaVersion: UInt16(Store.schemaVersion), node: store.node.id, wallClock: now(),
                         nonce: nonce, sends: options.sends, receives: options.receives, name: store.node.name)

        // HELLO
        let peer: Hello
        let clientHello: [UInt8], serverHello: [UInt8]
        if role == .client {
            clientHello = try conn.send(.hello(mine))
            let (m, raw) = try conn.receive()
            guard case .hello(let h) = try expect(m, "HELLO") else { throw conn.fail(SyncError(.malformed, "expected HELLO")) }
            peer = h
            serverHello = raw
            if let problem = versionProblem(peer) { throw conn.fail(problem) }
        } else {
            let (m, raw) = try conn.receive()
            guard case .hello(let h) = try expect(m, "HELLO") else { throw conn.fail(SyncError(.malformed, "expected HELLO")) }
            peer = h
            clientHello = raw
            if let problem = versionProblem(peer) { throw conn.fail(problem) }
            serverHello = try conn.send(.hello(mine))
        }
        report.peerID = peer.node
        report.peerName = peer.name

        // AUTH: the client proves first; the server answers only a good proof.
        let transcript = SyncSession.transcript(clientHello: clientHello, serverHello: serverHello)
        let clientMAC = SyncSession.mac(options.secret, role: .client, transcript: transcript)
        let serverMAC = SyncSession.mac(options.secret, role: .server, transcript: transcript)
        if role == .client {
            try conn.send(.auth(mac: clientMAC))
            let (m, _) = try conn.receive()
            guard case .auth(let mac) = try expect(m, "AUTH") else { throw conn.fail(SyncError(.malformed, "expected AUTH")) }
            guard HMACSHA256.constantTimeEqual(mac, serverMAC) else {
                throw conn.fail(SyncError(.authentication, "authentication failed: the server does not know the team secret"))
            }
        } else {
            let (m, _) = try conn.receive()
            guard case .auth(let mac) = try expect(m, "AUTH") else { throw conn.fail(SyncError(.malformed, "expected AUTH")) }
            guard HMACSHA256.constantTimeEqual(mac, clientMAC) else {
                throw conn.fail(SyncError(.authentication, "authentication failed: wrong or missing team secret"))
            }
            try conn.send(.auth(mac: serverMAC))
        }
        conn.authenticated()
        if peer.node == store.node.id {
            throw conn.fail(SyncError(.refusedChange, "the peer is this very store (same node id)"))
        }
        let skew = Double(peer.wallClock - now()) / 1000
        if abs(skew) > options.skewWarning {
            report.warnings.append("the clock of \(peer.name) is \(Int(abs(skew) / 60)) minutes \(skew > 0 ? "ahead of" : "behind") this one")
        }

        // HAVE. The server answers the client's HAVE, so it can already ask
        // for its own history again if the client's shows it forked; a
        // client that finds so in the server's HAVE asks in the next session.
        let ours = try store.versionVector()
        func have(_ resendFrom: Int64) throws -> Message {
            .have(ours, tips: try store.tips(of: ours), resendFrom: UInt64(max(0, resendFrom)))
        }
        let theirs: VersionVector, theirTips: [NodeID: [UInt8]], peerResendFrom: UInt64
        var ownFork = false
        // Whether this side asks for all of its own history (0 with a head).
        var askedAll = false
        if role == .client {
            let from = try store.ownResendFrom()
            askedAll = from == 0 && ours.heads[store.node.id] != nil
            try conn.send(try have(from))
            (theirs, theirTips, peerResendFrom) = try receiveHave()
            if try store.ownForkSeen(in: theirs, tips: theirTips) {
                ownFork = true
                report.ownForkPending = true
            }
        } else {
            (theirs, theirTips, peerResendFrom) = try receiveHave()
            let forkedHere = try store.ownForkSeen(in: theirs, tips: theirTips)
            let from = forkedHere ? 0 : try store.ownResendFrom()
            askedAll = from == 0 && ours.heads[store.node.id] != nil
            try conn.send(try have(from))
        }
        // An origin whose change at the peer's head differs from ours here
        // has two histories: neither side sends or takes it in this session.
        let forked = try store.forks(in: theirs, tips: theirTips, peerID: peer.node, peer: peer.name)
        var delta = theirs
        for f in forked {
            report.warnings.append(forkWarning(f, peerName: peer.name))
            if let mine = try store.versionVector().heads[f.origin] { delta.heads[f.origin] = max(delta.heads[f.origin] ?? 0, mine) }
        }
        // The peer's own origin: sent from where it asks; all of it when the
        // change it lists as its head differs from ours (its store was
        // restored or copied, and it needs our history to find the split).
        if let held = theirs.heads[peer.node] {
            if try store.holdsOther(than: theirTips[peer.node], at: ChangeID(origin: peer.node, seq: held)) {
                delta.heads[peer.node] = nil
            } else if UInt64(held) > peerResendFrom {
                delta.heads[peer.node] = peerResendFrom > 0 ? Int64(peerResendFrom) : nil
            }
        }
        // Our own origin, when we know it forked: nothing of it goes out until
        // the next session has located the split.
        if ownFork { delta.heads[store.node.id] = ours.heads[store.node.id] }

        let openBefore = Set(try store.conflicts(includeResolved: false).map(\.id))
        var theyHave = theirs
        let iSend = mine.sends && peer.receives
        let theySend = peer.sends && mine.receives
        if role == .client {
            try sendChanges(above: delta, enabled: iSend, into: &theyHave)
            try receiveChanges(allowed: theySend, peerName: peer.name, holding: Set(forked.map(\.origin)))
        } else {
            try receiveChanges(allowed: theySend, peerName: peer.name, holding: Set(forked.map(\.origin)))
            try sendChanges(above: delta, enabled: iSend, into: &theyHave)
        }
        // Asked for all of our own history and found no fork left to locate:
        // the next sessions ask for nothing again.
        if askedAll && !report.ownForkPending && theySend { try store.clearOwnRewind() }
        // New means open now and not before: a conflict that arrived already
        // resolved is not news.
        report.newConflicts = Set(try store.conflicts(includeResolved: false).map(\.id)).subtracting(openBefore).count
        try store.write {
            try store.recordPeer(id: peer.node, name: peer.name, address: role == .client ? address : conn.socket.peer,
                                 theirs: theyHave, ours: try store.versionVector(), at: now())
        }
        return report
    }

    func receiveHave() throws -> (VersionVector, [NodeID: [UInt8]], UInt64) {
        let (m, _) = try conn.receive()
        guard case .have(let vv, let tips, let resendFrom) = try expect(m, "HAVE") else { throw conn.fail(SyncError(.malformed, "expected HAVE")) }
        return (vv, tips, resendFrom)
    }

    func forkWarning(_ f: ChangeID, peerName: String) -> String {
        "the history of node \(f.origin) forks at or before change \(f.seq): \(peerName) holds a different change there than this store; that node's changes are held back (its store was restored from a backup or copied; see README, Backups)"
    }

    /// Streams every change above `theirs` in batches, keeping up to
    /// `window` batches in flight, then DONE; returns when all are acknowledged.
    func sendChanges(above theirs: VersionVector, enabled: Bool, into theyHave: inout VersionVector) throws {
        var number: UInt64 = 0, acked: UInt64 = 0
        var total = 0
        var inFlight: [UInt64: [NodeID: Int64]] = [:]
        var acknowledged = theyHave

        func awaitAck() throws {
            let (m, _) = try conn.receive()
            guard case .ack(let n, _) = try expect(m, "ACK") else { throw conn.fail(SyncError(.malformed, "expected ACK")) }
            guard n == acked + 1 else { throw conn.fail(SyncError(.malformed, "ACK for batch \(n), expected \(acked + 1)")) }
            acked = n
            for (o, s) in inFlight.removeValue(forKey: n) ?? [:] { acknowledged.heads[o] = max(acknowledged.heads[o] ?? 0, s) }
        }

        if enabled {
            try store.forEachSignedBatch(above: theirs, targetBytes: options.batchBytes) { changes, signatures, encoded in
                number += 1
                var heads: [NodeID: Int64] = [:]
                for c in changes { heads[c.id.origin] = max(heads[c.id.origin] ?? 0, c.id.seq) }
                inFlight[number] = heads
                try conn.sendRaw(Wire.batchFrame(number: number, count: changes.count, encodedChanges: encoded, signatures: signatures))
                total += changes.count
                while number - acked >= UInt64(options.window) { try awaitAck() }
            }
        }
        try conn.send(.done(count: UInt64(total)))
        while acked < number { try awaitAck() }
        report.sent = total
        theyHave = acknowledged
    }

    /// Applies the peer's batches, each in one transaction, acknowledging
    /// each after it commits; returns at DONE.
    func receiveChanges(allowed: Bool, peerName: String, holding: Set<NodeID>) throws {
        var expected: UInt64 = 1
        var held = holding, future: Set<NodeID> = []
        var forks: [ChangeID] = []
        var records: Set<String> = [], annotations: Set<String> = []
        while true {
            let (m, _) = try conn.receive()
            switch try expect(m, "BATCH") {
            case .batch(let number, let changes, let signatures):
                guard allowed else { throw conn.fail(SyncError(.malformed, "changes sent to a side that asked not to receive them")) }
                guard number == expected else { throw conn.fail(SyncError(.malformed, "batch \(number) out of order (expected \(expected))")) }
                expected += 1
                // Far in the future: not applied (it would drag this clock
                // forward); nor is anything after it from the same origin.
                let horizon = now() + Int64(options.maxFuture * 1000)
                let outcome: Store.BatchOutcome
                do {
                    outcome = try store.receiveBatch(changes, signatures: signatures, horizon: horizon, holding: held, peer: peerName)
                } catch {
                    throw conn.fail(SyncError(.refusedChange, "batch \(number) refused: \(MarginError.message(for: error))"))
                }
                held = outcome.held
                future.formUnion(outcome.future)
                forks += outcome.forks
                report.heldBack += outcome.heldBack
                report.received += outcome.applied
                report.tookBack += outcome.tookBack
                if let r = outcome.recovery { report.recovery = r }
                if outcome.ownForkPending { report.ownForkPending = true }
                records.formUnion(outcome.records)
                annotations.formUnion(outcome.annotations)
                try conn.send(.ack(number: number, applied: UInt64(outcome.applied)))
            case .done:
                report.records = records.count
                report.annotations = annotations.count
                if !future.isEmpty {
                    let names = future.map { String($0.prefix(8)) }.sorted().joined(separator: ", ")
                    report.warnings.append("held back changes stamped more than \(Int(options.maxFuture)) s in the future (from \(names)); they will be taken once this clock catches up")
                }
                for f in forks { report.warnings.append(forkWarning(f, peerName: peerName)) }
                if report.ownForkPending {
                    report.warnings.append("this store's own history forks (it was restored from a backup or copied); the next sync finds where and repairs it")
                }
                return
            default:
                throw conn.fail(SyncError(.malformed, "unexpected \(m.type) message"))
            }
        }
    }
}

extension Wire {
    /// A BATCH frame around changes already encoded, so a sender encodes each
    /// change once while measuring the batch.
    public static func batchFrame(number: UInt64, count: Int, encodedChanges: [UInt8], signatures: [HeadSignature]) -> [UInt8] {
        var head = ByteWriter()
        head.uvarint(number)
        head.uvarint(UInt64(count))
        var tail = ByteWriter()
        HeadSignature.encode(signatures, into: &tail)
        var w = ByteWriter()
        w.u32(UInt32(head.bytes.count + encodedChanges.count + tail.bytes.count + 1))
        w.u8(MessageType.batch.rawValue)
        w.raw(head.bytes)
        w.raw(encodedChanges)
        w.raw(tail.bytes)
        return w.bytes
    }
}
