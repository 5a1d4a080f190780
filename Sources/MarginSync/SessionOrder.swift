import MarginCore

/// The order of a session once its channel is sealed (PROTOCOL.md §4), as a
/// pure state machine: each message received is checked against where the
/// session stands and handed back as what it means; each message about to be
/// sent moves the session on. It does no I/O and knows no store, so the
/// protocol's order lives here alone, and tests and fuzzers drive it without
/// sockets. `SyncSession` is the loop around it that reads, writes and asks
/// the store.
///
/// The steps, client first: HELLO out, HELLO in, HAVE out, HAVE in, its
/// changes out (BATCH… DONE, with the server's ACKs in), the server's changes
/// in (BATCH… DONE, each BATCH answered with ACK). The server runs the mirror
/// image. An ERROR may come at any step and ends the session.
public struct SessionOrder: Sendable {
    public enum Role: Sendable { case client, server }

    public enum Step: Equatable, Sendable {
        case sendHello, receiveHello, sendHave, receiveHave, sendChanges, receiveChanges, finished
    }

    /// What a received message means, once it was found in order.
    public enum Received: Equatable, Sendable {
        case hello(Hello)
        case have(VersionVector, tips: [NodeID: [UInt8]], resendFrom: UInt64)
        /// The peer acknowledged a batch; `heads` are the highest sequence
        /// numbers per origin that batch carried, now held by the peer.
        case ack(number: UInt64, heads: [NodeID: Int64])
        case batch(number: UInt64, changes: [Change], signatures: [HeadSignature])
        case done(count: UInt64)
    }

    public let role: Role
    /// Batches a sender may have unacknowledged before it waits for an ACK.
    public let window: Int
    private let steps: [Step]
    private var index = 0
    /// The step the session is at.
    public var step: Step { index < steps.count ? steps[index] : .finished }

    /// From the two HELLOs: whether this side sends its changes (it offers
    /// to and the peer takes them) and whether the peer may send.
    private var mySends: Bool?, myReceives: Bool?
    private var peerSends: Bool?, peerReceives: Bool?
    public var sendsChanges: Bool { (mySends ?? false) && (peerReceives ?? false) }
    public var receivesChanges: Bool { (peerSends ?? false) && (myReceives ?? false) }

    /// Sending: batches numbered from 1, how many are acknowledged, the
    /// origins' heads of those in flight, and whether DONE went out.
    public private(set) var batchesSent: UInt64 = 0
    public private(set) var batchesAcked: UInt64 = 0
    public private(set) var changesSent = 0
    private var inFlight: [UInt64: [NodeID: Int64]] = [:]
    private var doneSent = false
    /// Receiving: the next batch number, changes in the batches so far, and
    /// batches received and not yet acknowledged.
    private var expectedBatch: UInt64 = 1
    public private(set) var changesReceived: UInt64 = 0
    private var unacknowledged: [UInt64] = []

    public init(role: Role, window: Int = 8) {
        self.role = role
        self.window = max(1, window)
        steps = role == .client
            ? [.sendHello, .receiveHello, .sendHave, .receiveHave, .sendChanges, .receiveChanges]
            : [.receiveHello, .sendHello, .receiveHave, .sendHave, .receiveChanges, .sendChanges]
    }

    // MARK: Messages in

    /// Checks that `m` may come now and moves the session on. Throws the
    /// error the session ends with: the peer's own ERROR (`fromPeer`), or
    /// `malformed` for a message out of order.
    public mutating func receive(_ m: Message) throws(SyncError) -> Received {
        if case .error(let code, let message) = m {
            throw SyncError(ErrorCode(rawValue: code) ?? .internalError, "the peer refused: \(message)", fromPeer: true)
        }
        switch step {
        case .receiveHello:
            guard case .hello(let h) = m else { throw SyncError(.malformed, "expected HELLO") }
            peerSends = h.sends
            peerReceives = h.receives
            index += 1
            return .hello(h)
        case .receiveHave:
            guard case .have(let vv, let tips, let resendFrom) = m else { throw SyncError(.malformed, "expected HAVE") }
            index += 1
            return .have(vv, tips: tips, resendFrom: resendFrom)
        case .sendChanges:
            guard case .ack(let n, _) = m else { throw SyncError(.malformed, "expected ACK") }
            guard n == batchesAcked + 1, n <= batchesSent else {
                throw SyncError(.malformed, "ACK for batch \(n), expected \(batchesAcked + 1)")
            }
            batchesAcked = n
            let heads = inFlight.removeValue(forKey: n) ?? [:]
            finishSendingIfDone()
            return .ack(number: n, heads: heads)
        case .receiveChanges:
            switch m {
            case .batch(let number, let changes, let signatures):
                guard receivesChanges else { throw SyncError(.malformed, "changes sent to a side that asked not to receive them") }
                guard number == expectedBatch else { throw SyncError(.malformed, "batch \(number) out of order (expected \(expectedBatch))") }
                expectedBatch += 1
                changesReceived += UInt64(changes.count)
                unacknowledged.append(number)
                return .batch(number: number, changes: changes, signatures: signatures)
            case .done(let total):
                guard total == changesReceived else {
                    throw SyncError(.malformed, "DONE says \(total) changes were sent; the batches held \(changesReceived)")
                }
                index += 1
                return .done(count: total)
            default:
                throw SyncError(.malformed, "unexpected \(m.type) message")
            }
        case .sendHello, .sendHave, .finished:
            throw SyncError(.malformed, "unexpected \(m.type) message")
        }
    }

    // MARK: Messages out

    /// Moves the session past sending this side's HELLO.
    public mutating func sendHello(_ h: Hello) throws(SyncError) {
        try expectStep(.sendHello, "HELLO")
        mySends = h.sends
        myReceives = h.receives
        index += 1
    }

    /// Moves the session past sending this side's HAVE.
    public mutating func sendHave() throws(SyncError) {
        try expectStep(.sendHave, "HAVE")
        index += 1
    }

    /// Whether this side must read an ACK before it sends another batch.
    public var mustAwaitAck: Bool { batchesSent - batchesAcked >= UInt64(window) }
    /// Whether batches sent are still unacknowledged.
    public var awaitsAck: Bool { batchesAcked < batchesSent }

    /// Numbers the next batch, which carries `count` changes up to `heads`.
    public mutating func sendBatch(count: Int, heads: [NodeID: Int64]) throws(SyncError) -> UInt64 {
        try expectStep(.sendChanges, "BATCH")
        guard sendsChanges, !doneSent else { throw SyncError(.internalError, "internal: a batch sent out of order") }
        guard !mustAwaitAck else { throw SyncError(.internalError, "internal: a batch sent beyond the window") }
        batchesSent += 1
        changesSent += count
        inFlight[batchesSent] = heads
        return batchesSent
    }

    /// The DONE this side sends after its last batch.
    public mutating func sendDone() throws(SyncError) -> Message {
        try expectStep(.sendChanges, "DONE")
        guard !doneSent else { throw SyncError(.internalError, "internal: DONE sent twice") }
        doneSent = true
        finishSendingIfDone()
        return .done(count: UInt64(changesSent))
    }

    /// The ACK for the oldest batch received and not yet acknowledged,
    /// sent once that batch is applied.
    public mutating func sendAck(applied: UInt64) throws(SyncError) -> Message {
        try expectStep(.receiveChanges, "ACK")
        guard !unacknowledged.isEmpty else { throw SyncError(.internalError, "internal: ACK with no batch to acknowledge") }
        return .ack(number: unacknowledged.removeFirst(), applied: applied)
    }

    private mutating func finishSendingIfDone() {
        if doneSent && batchesAcked == batchesSent { index += 1 }
    }

    private func expectStep(_ s: Step, _ what: String) throws(SyncError) {
        guard step == s else { throw SyncError(.internalError, "internal: \(what) sent at step \(step)") }
    }
}
