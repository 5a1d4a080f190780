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
    /// Longest the handshake may take, however steadily the peer trickles
    /// bytes: a peer without the secret cannot hold a connection longer.
    public var handshakeTimeout: Double = 10
    public var connectTimeout: Double = 10
    public var maxFrame = Wire.defaultMaxFrame
    public var batchBytes = Wire.batchTargetBytes
    /// A received batch is committed in steps that hold the store's write
    /// lock about this long, so local commands wait at most a moment.
    public var applyStepMilliseconds: Double = 150
    /// Batches a sender may have in flight before it waits for an ACK.
    public var window = 8
    /// Changes stamped further than this ahead of the local clock are held back.
    public var maxFuture: Double = 3600
    /// A peer whose wall clock differs by more than this is warned about.
    public var skewWarning: Double = 300
    public var sends = true
    public var receives = true
    /// Off only in `margin-bench`, to measure what encryption costs: frames
    /// then travel in SEALED frames without a cipher. Not on the wire and
    /// not in the CLI; both sides must agree.
    public var encryptsTransport = true
    /// Wall-clock source; nil: the store's own.
    public var wall: (@Sendable () -> Int64)? = nil
    /// Asked between the steps of a received batch: true once the session
    /// must end (a server stopping on SIGINT or SIGTERM), so a long batch
    /// rolls back its step under way instead of running on.
    public var cancelled: @Sendable () -> Bool = { false }
    /// Called as batches go out and come in, with the changes sent or
    /// received so far in this session (from the sending or the receiving
    /// side's thread): for a progress line.
    public var progress: (@Sendable (SyncProgress) -> Void)? = nil
    public init() {}
}

/// How far a session has come, for a progress line.
public enum SyncProgress: Sendable, Equatable {
    case sent(Int)
    case received(Int)
}

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

/// One sync session, either side: the loop that reads and writes the
/// channel and asks the store, around `SessionOrder`, which owns the
/// order of the messages (PROTOCOL.md §4). The Noise handshake (OPEN,
/// HANDSHAKE, HANDSHAKE) is the channel's; then, sealed, HELLO both ways
/// (client first), HAVE both ways, the client's changes to the server, the
/// server's to the client.
public final class SyncSession {
    public typealias Role = SessionOrder.Role

    let store: Store
    let conn: SecureChannel
    let options: SyncOptions
    let role: Role
    let address: String?
    var report = SyncReport()
    var order: SessionOrder
    /// Called once the peer has nothing more to send (see `serve`).
    var exchanged: () -> Void = {}

    func now() -> Int64 { options.wall?() ?? store.wallClock.nowMilliseconds() }

    init(store: Store, channel: SecureChannel, options: SyncOptions, role: Role, address: String?) {
        self.store = store
        conn = channel
        self.options = options
        self.role = role
        self.address = address
        order = SessionOrder(role: role, window: options.window)
    }

    /// Connects to a server and runs one session.
    public static func sync(store: Store, with endpoint: Endpoint, options: SyncOptions) throws -> SyncReport {
        let socket: TCPConnection
        do { socket = try TCPConnection.connect(to: endpoint, timeout: options.connectTimeout) } catch let e as NetworkError {
            throw SyncError(.internalError, e.message)
        }
        defer { socket.close() }
        return try sync(store: store, over: socket, options: options, address: endpoint.description)
    }

    /// Runs one session as the client over a stream already open (a TCP
    /// connection, or the pipes to `ssh host margin serve --stdio`).
    public static func sync(store: Store, over stream: any ByteStream, options: SyncOptions, address: String) throws -> SyncReport {
        let channel = SecureChannel(stream: stream, options: options)
        return try run(channel) {
            try channel.clientHandshake(psk: SessionKeys.psk(options.secret))
            return try SyncSession(store: store, channel: channel, options: options, role: .client, address: address).runUnchecked()
        }
    }

    /// What `margin sync` does: one session, and a second (at most two
    /// more) when the first found this store restored or copied, to send
    /// the changes it issued again under its new id, or to locate a fork of
    /// its own history. The reports are added up. `connect` opens a fresh
    /// stream for each session.
    public static func syncSettling(store: Store, options: SyncOptions, address: String,
                                    connect: () throws -> any ByteStream) throws -> SyncReport {
        func once() throws -> SyncReport {
            let stream = try connect()
            defer { stream.close() }
            return try sync(store: store, over: stream, options: options, address: address)
        }
        var total = try once()
        var last = total
        var rounds = 0
        while rounds < 2, (last.recovery != nil && options.sends) || last.ownForkPending {
            rounds += 1
            last = try once()
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

    public static func syncSettling(store: Store, with endpoint: Endpoint, options: SyncOptions) throws -> SyncReport {
        try syncSettling(store: store, options: options, address: endpoint.description) {
            do {
                return try TCPConnection.connect(to: endpoint, timeout: options.connectTimeout, loopbackOnly: options.secret.isEmpty)
            } catch let e as NetworkError {
                throw SyncError(.internalError, e.message)
            }
        }
    }

    /// Serves one session on an accepted stream. The store is opened only
    /// once the peer has proven the team secret, and `admit` is asked then
    /// for a session slot (nil: admitted; else why not): a peer without the
    /// secret costs a thread and a few hundred bytes, nothing more.
    /// `exchanged` is called once the peer has sent its last message:
    /// what follows (counting new conflicts, noting what the peer holds)
    /// is this side's alone, so a server frees the session's slot there,
    /// and a peer that syncs again at once is not refused as busy.
    public static func serve(stream: any ByteStream, options: SyncOptions, admit: () -> String? = { nil },
                             exchanged: @escaping () -> Void = {},
                             openStore: () throws -> Store) throws -> SyncReport {
        let channel = SecureChannel(stream: stream, options: options)
        return try run(channel) {
            try channel.serverHandshake(psk: SessionKeys.psk(options.secret))
            if let refusal = admit() { throw SyncError(.busy, "the server is busy (\(refusal)); try again") }
            let store = try openStore()
            let session = SyncSession(store: store, channel: channel, options: options, role: .server, address: nil)
            session.exchanged = exchanged
            return try session.runUnchecked()
        }
    }

    /// Serves one session on a store already open.
    public static func serve(store: Store, connection: any ByteStream, options: SyncOptions) throws -> SyncReport {
        try serve(stream: connection, options: options) { store }
    }

    private static func run(_ channel: SecureChannel, _ body: () throws -> SyncReport) throws -> SyncReport {
        do {
            return try body()
        } catch let e as SyncError {
            throw channel.fail(e)
        } catch {
            throw channel.fail(SyncError(.internalError, MarginError.message(for: error)))
        }
    }

    /// The next message from the peer, checked against the session's order.
    func receive() throws -> SessionOrder.Received {
        try order.receive(try conn.receive())
    }

    /// This side's HELLO: its node key signs the handshake hash.
    func hello() throws -> Hello {
        guard let proof = store.signSession(SessionKeys.identityMessage(signerIsClient: role == .client, handshakeHash: conn.handshakeHash)) else {
            throw SyncError(.internalError, "this store has no node key to prove who it is (is it read-only?)")
        }
        return Hello(schemaVersion: UInt16(Store.schemaVersion), node: store.node.id, publicKey: proof.publicKey, signature: proof.signature,
                     wallClock: now(), sends: options.sends, receives: options.receives, name: store.node.name)
    }

    /// Why the peer's HELLO cannot be accepted, or nil.
    func helloProblem(_ peer: Hello) throws -> SyncError? {
        let me = role == .client ? "client" : "server", them = role == .client ? "server" : "client"
        if Int(peer.schemaVersion) != Store.schemaVersion {
            let older = Int(peer.schemaVersion) < Store.schemaVersion ? them : me
            return SyncError(.version, "store schema mismatch: the \(me) has schema \(Store.schemaVersion), the \(them) schema \(peer.schemaVersion): upgrade margin on the \(older)")
        }
        let message = SessionKeys.identityMessage(signerIsClient: role == .server, handshakeHash: conn.handshakeHash)
        if let problem = try store.identityProblem(node: peer.node, publicKey: peer.publicKey, signature: peer.signature, message: message) {
            return SyncError(.authentication, "the \(them) did not prove its node id: \(problem)")
        }
        if peer.node == store.node.id {
            return SyncError(.refusedChange, "the peer is this very store (same node id)")
        }
        return nil
    }

    func receiveHello() throws -> Hello {
        guard case .hello(let h) = try receive() else { throw SyncError(.internalError, "internal: expected HELLO") }
        if let problem = try helloProblem(h) { throw problem }
        return h
    }

    func sendHello(_ h: Hello) throws {
        try order.sendHello(h)
        try conn.send(.hello(h))
    }

    func runUnchecked() throws -> SyncReport {
        let mine = try hello()
        let peer: Hello
        if role == .client {
            try sendHello(mine)
            peer = try receiveHello()
        } else {
            peer = try receiveHello()
            try sendHello(mine)
        }
        conn.authenticated()
        report.peerID = peer.node
        report.peerName = peer.name
        let skew = Double(peer.wallClock - now()) / 1000
        if abs(skew) > options.skewWarning {
            report.warnings.append("the clock of \(peer.name) is \(Int(abs(skew) / 60)) minutes \(skew > 0 ? "ahead of" : "behind") this one")
        }

        // HAVE. The server answers the client's HAVE, so it can already ask
        // for its own history again if the client's shows it forked; a
        // client that finds so in the server's HAVE asks in the next session.
        let ours = try store.versionVector()
        func sendHave(_ resendFrom: Int64) throws {
            let m = Message.have(ours, tips: try store.tips(of: ours), resendFrom: UInt64(max(0, resendFrom)))
            try order.sendHave()
            try conn.send(m)
        }
        let theirs: VersionVector, theirTips: [NodeID: [UInt8]], peerResendFrom: UInt64
        var ownFork = false
        // Whether this side asks for all of its own history (0 with a head).
        var askedAll = false
        if role == .client {
            let from = try store.ownResendFrom()
            askedAll = from == 0 && ours.heads[store.node.id] != nil
            try sendHave(from)
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
            try sendHave(from)
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

        // The ids of the open conflicts only, not each with the two changes
        // it names (what `conflicts` loads, twice per sync before).
        let openBefore = Set(try store.openConflictIDs())
        var theyHave = theirs
        if role == .client {
            try sendChanges(above: delta, into: &theyHave)
            try receiveChanges(peerName: peer.name, holding: Set(forked.map(\.origin)))
        } else {
            try receiveChanges(peerName: peer.name, holding: Set(forked.map(\.origin)))
            try sendChanges(above: delta, into: &theyHave)
        }
        exchanged()
        // Asked for all of our own history and found no fork left to locate:
        // the next sessions ask for nothing again.
        if askedAll && !report.ownForkPending && order.receivesChanges { try store.clearOwnRewind() }
        // New means open now and not before: a conflict that arrived already
        // resolved is not news.
        report.newConflicts = Set(try store.openConflictIDs()).subtracting(openBefore).count
        try store.write {
            try store.recordPeer(id: peer.node, name: peer.name, address: role == .client ? address : conn.stream.peer,
                                 theirs: theyHave, ours: try store.versionVector(), at: now())
        }
        return report
    }

    func receiveHave() throws -> (VersionVector, [NodeID: [UInt8]], UInt64) {
        guard case .have(let vv, let tips, let resendFrom) = try receive() else { throw SyncError(.internalError, "internal: expected HAVE") }
        return (vv, tips, resendFrom)
    }

    func forkWarning(_ f: ChangeID, peerName: String) -> String {
        "the history of node \(f.origin) forks at or before change \(f.seq): \(peerName) holds a different change there than this store; that node's changes are held back (its store was restored from a backup or copied; see README, Backups)"
    }

    /// Streams every change above `theirs` in batches, keeping up to
    /// `window` batches in flight, then DONE; returns when all are acknowledged.
    func sendChanges(above theirs: VersionVector, into theyHave: inout VersionVector) throws {
        var acknowledged = theyHave
        func awaitAck() throws {
            guard case .ack(_, let heads) = try receive() else { throw SyncError(.internalError, "internal: expected ACK") }
            for (o, s) in heads { acknowledged.heads[o] = max(acknowledged.heads[o] ?? 0, s) }
        }
        if order.sendsChanges {
            try store.forEachSignedBatch(above: theirs, targetBytes: options.batchBytes) { changes, signatures, encoded in
                // A stretch signed only as a whole (a log written before
                // writers signed every 256 KiB) cannot be cut: said here,
                // rather than as a frame the peer refuses.
                guard encoded.count + 1024 <= Wire.defaultMaxFrame else {
                    let origins = Set(changes.map(\.id.origin)).sorted().map(\.hex).joined(separator: ", ")
                    throw SyncError(.internalError, "the changes of \(origins) from here on are signed only as one stretch of \(encoded.count) bytes, over the \(Wire.defaultMaxFrame) bytes a batch may hold; they cannot be sent until their node signs them again with this release")
                }
                var heads: [NodeID: Int64] = [:]
                for c in changes { heads[c.id.origin] = max(heads[c.id.origin] ?? 0, c.id.seq) }
                let number = try order.sendBatch(count: changes.count, heads: heads)
                try conn.sendFrame(Wire.batchFrame(number: number, count: changes.count, encodedChanges: encoded, signatures: signatures))
                options.progress?(.sent(order.changesSent))
                while order.mustAwaitAck { try awaitAck() }
            }
        }
        try conn.send(try order.sendDone())
        while order.awaitsAck { try awaitAck() }
        report.sent = order.changesSent
        theyHave = acknowledged
    }

    /// Applies the peer's batches, each in short steps, acknowledging each
    /// after its last step commits; returns at DONE.
    func receiveChanges(peerName: String, holding: Set<NodeID>) throws {
        var held = holding, future: Set<NodeID> = []
        var forks: [ChangeID] = []
        // Only how many distinct ones: kept as hashes, so that a sync of a
        // million changes does not hold every id it touched.
        var records: Set<Int> = [], annotations: Set<Int> = []
        // The next batches are read, decoded and their changes hashed while
        // this one is applied: hashing is a tenth of an apply's work, and
        // needs nothing from the store.
        let incoming = ReadAhead<(Message, hashes: [[UInt8]]?)>(
            depth: 2, idle: conn.idle,
            receive: { [conn] in
                let m = try conn.receive()
                if case .batch(_, let changes, _) = m { return (m, changes.map(\.hash)) }
                return (m, nil)
            },
            isLast: { if case .batch = $0.0 { false } else { true } },
            mayRetry: { [conn] in ($0 as? SyncError)?.code == .timeout && Date() < conn.sessionDeadline })
        incoming.start()
        defer { incoming.cancel() }
        while true {
            let (m, hashes) = try incoming.next()
            switch try order.receive(m) {
            case .batch(let number, let changes, let signatures):
                // Far in the future: not applied (it would drag this clock
                // forward); nor is anything after it from the same origin.
                let horizon = now() + Int64(options.maxFuture * 1000)
                let outcome: Store.BatchOutcome
                do {
                    outcome = try store.receiveBatch(changes, hashes: hashes, signatures: signatures, horizon: horizon, holding: held,
                                                     peer: peerName, stepMilliseconds: options.applyStepMilliseconds,
                                                     cancelled: options.cancelled)
                } catch {
                    throw SyncError(.refusedChange, "batch \(number) refused: \(MarginError.message(for: error))")
                }
                held = outcome.held
                future.formUnion(outcome.future)
                forks += outcome.forks
                report.heldBack += outcome.heldBack
                report.received += outcome.applied
                options.progress?(.received(report.received))
                report.tookBack += outcome.tookBack
                if let r = outcome.recovery { report.recovery = r }
                if outcome.ownForkPending { report.ownForkPending = true }
                records.formUnion(outcome.records.lazy.map(\.hashValue))
                annotations.formUnion(outcome.annotations.lazy.map(\.hashValue))
                try conn.send(try order.sendAck(applied: UInt64(outcome.applied)))
            case .done:
                report.records = records.count
                report.annotations = annotations.count
                if !future.isEmpty {
                    let names = future.map { String($0.hex.prefix(8)) }.sorted().joined(separator: ", ")
                    report.warnings.append("held back changes stamped more than \(Int(options.maxFuture)) s in the future (from \(names)); they will be taken once this clock catches up")
                }
                for f in forks { report.warnings.append(forkWarning(f, peerName: peerName)) }
                if report.ownForkPending {
                    report.warnings.append("this store's own history forks (it was restored from a backup or copied); the next sync finds where and repairs it")
                }
                return
            case .hello, .have, .ack:
                throw SyncError(.internalError, "internal: the session order let \(m.type) through while receiving changes")
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
        w.raw(frameHeader(type: MessageType.batch.rawValue, payloadCount: head.bytes.count + encodedChanges.count + tail.bytes.count))
        w.raw(head.bytes)
        w.raw(encodedChanges)
        w.raw(tail.bytes)
        return w.bytes
    }
}
