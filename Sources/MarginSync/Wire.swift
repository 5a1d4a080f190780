import Foundation
import MarginCore
import MarginCrypto

/// The wire format of Margin's sync protocol, byte for byte (PROTOCOL.md
/// describes the same thing in prose). Pure: bytes in, messages out, so it is
/// tested without sockets and fuzzed directly.
public enum Wire {
    public static let magic: [UInt8] = Array("MRGN".utf8)
    /// Bumped whenever a message's layout or meaning changes.
    public static let protocolVersion: UInt16 = 4
    /// Frames larger than this are refused before they are read.
    public static let defaultMaxFrame = 16 << 20
    /// The limit on every frame before the peer has proven the team secret:
    /// the handshake's messages are under 200 bytes.
    public static let handshakeMaxFrame = 4096
    /// A Noise transport message is at most 65535 bytes, its tag included
    /// (Noise §3), so a SEALED frame carries at most this much plaintext.
    public static let sealedPlaintextMax = 65535 - 16
    /// A sender closes a batch once its encoded changes pass this size.
    public static let batchTargetBytes = 1 << 20
    public static let signatureLength = 64
}

public enum MessageType: UInt8, Sendable {
    /// In clear: OPEN, HANDSHAKE and SEALED, and ERROR before the handshake
    /// completes. Inside SEALED: HELLO, HAVE, BATCH, ACK, DONE, ERROR.
    case open = 1, handshake = 2, have = 3, batch = 4, ack = 5, done = 6, error = 7, hello = 8, sealed = 9
}

/// What each side says first inside the encrypted channel: who it is, proven
/// by its node key's signature over the handshake hash (PROTOCOL.md §4).
public struct Hello: Equatable, Sendable {
    public var schemaVersion: UInt16
    public var node: NodeID
    public var publicKey: [UInt8]
    public var signature: [UInt8]
    public var wallClock: Int64
    /// Whether this side will send its changes / wants the other's.
    public var sends: Bool
    public var receives: Bool
    public var name: String

    public init(schemaVersion: UInt16, node: NodeID, publicKey: [UInt8], signature: [UInt8], wallClock: Int64,
                sends: Bool, receives: Bool, name: String) {
        self.schemaVersion = schemaVersion; self.node = node; self.publicKey = publicKey; self.signature = signature
        self.wallClock = wallClock; self.sends = sends; self.receives = receives; self.name = name
    }
}

/// Error codes carried by ERROR messages.
public enum ErrorCode: UInt16, Sendable {
    case malformed = 1, version = 2, authentication = 3, refusedChange = 4, timeout = 5, busy = 6, shutdown = 7, internalError = 8
}

public enum Message: Equatable, Sendable {
    /// The client's first frame, the only one whose layout never changes:
    /// the magic, the protocol version, then Noise message 1. A version other
    /// than this one decodes with `noise` empty.
    case open(version: UInt16, noise: [UInt8])
    /// Noise handshake message 2 (server) or 3 (client).
    case handshake([UInt8])
    /// One Noise transport message: a piece of the encrypted frame stream.
    case sealed([UInt8])
    case hello(Hello)
    /// The sender's version vector, for each origin in it the hash of the
    /// change at that sequence number, and the sequence number after which
    /// the sender asks for its own origin's changes again (PROTOCOL.md §6).
    case have(VersionVector, tips: [NodeID: [UInt8]] = [:], resendFrom: UInt64 = 0)
    /// Changes, then the signatures that vouch for them: for every origin in
    /// the batch, at least its signature on its last change here.
    case batch(number: UInt64, changes: [Change], signatures: [HeadSignature] = [])
    case ack(number: UInt64, applied: UInt64)
    case done(count: UInt64)
    case error(code: UInt16, message: String)

    public var type: MessageType {
        switch self {
        case .open: return .open
        case .handshake: return .handshake
        case .sealed: return .sealed
        case .hello: return .hello
        case .have: return .have
        case .batch: return .batch
        case .ack: return .ack
        case .done: return .done
        case .error: return .error
        }
    }
}

// MARK: - Messages

extension Wire {
    /// The payload of a message (without the frame header).
    public static func payload(_ m: Message) -> [UInt8] {
        var w = ByteWriter()
        switch m {
        case .open(let version, let noise):
            w.raw(magic)
            w.u16(version)
            w.raw(noise)
        case .handshake(let noise), .sealed(let noise):
            w.raw(noise)
        case .hello(let h):
            w.u16(h.schemaVersion)
            w.node(h.node)
            w.raw(h.publicKey)
            w.raw(h.signature)
            w.i64(h.wallClock)
            w.u8((h.sends ? 1 : 0) | (h.receives ? 2 : 0))
            w.string(h.name)
        case .have(let vv, let tips, let resendFrom):
            let entries = vv.heads.sorted { $0.key < $1.key }
            w.uvarint(UInt64(entries.count))
            for (origin, seq) in entries {
                w.node(origin)
                w.uvarint(UInt64(seq))
                w.raw(tips[origin] ?? ChangeHash.genesis)
            }
            w.uvarint(resendFrom)
        case .batch(let number, let changes, let signatures):
            w.uvarint(number)
            w.uvarint(UInt64(changes.count))
            for c in changes { ChangeCodec.encode(c, into: &w) }
            HeadSignature.encode(signatures, into: &w)
        case .ack(let number, let applied):
            w.uvarint(number)
            w.uvarint(applied)
        case .done(let count):
            w.uvarint(count)
        case .error(let code, let message):
            w.u16(code)
            w.string(message)
        }
        return w.bytes
    }

    /// A frame's header, the one place it is written: the 4-byte
    /// big-endian length of what follows (the type byte and the payload),
    /// then the type byte.
    public static func frameHeader(type: UInt8, payloadCount: Int) -> [UInt8] {
        var w = ByteWriter()
        w.u32(UInt32(payloadCount + 1))
        w.u8(type)
        return w.bytes
    }

    /// A whole frame: its header, then the payload.
    public static func frame(_ m: Message) -> [UInt8] {
        let body = payload(m)
        return frameHeader(type: m.type.rawValue, payloadCount: body.count) + body
    }

    public static func decode(type: UInt8, payload: [UInt8]) throws -> Message {
        guard let t = MessageType(rawValue: type) else { throw WireError("unknown message type \(type)") }
        var r = ByteReader(payload)
        let m: Message
        switch t {
        case .open:
            guard try r.raw(4) == magic else { throw WireError("not a Margin peer (bad magic)") }
            let version = try r.u16()
            // Everything after the version may change between versions.
            if version != protocolVersion { return .open(version: version, noise: []) }
            m = .open(version: version, noise: try r.raw(r.remaining))
        case .handshake:
            m = .handshake(try r.raw(r.remaining))
        case .sealed:
            m = .sealed(try r.raw(r.remaining))
        case .hello:
            let sv = try r.u16()
            let node = try r.node()
            let key = try r.raw(Ed25519.publicKeyLength)
            let signature = try r.raw(signatureLength)
            let wall = try r.i64()
            let flags = try r.u8()
            guard flags & ~3 == 0 else { throw WireError("unknown hello flags \(flags)") }
            let name = try r.string()
            m = .hello(Hello(schemaVersion: sv, node: node, publicKey: key, signature: signature, wallClock: wall,
                             sends: flags & 1 != 0, receives: flags & 2 != 0, name: name))
        case .have:
            let n = try r.count(max: max(0, r.remaining - 1) / (9 + ChangeHash.length))
            var heads: [NodeID: Int64] = [:], tips: [NodeID: [UInt8]] = [:]
            for _ in 0..<n {
                let o = try r.node()
                let s = try r.count()
                guard s >= 1 else { throw WireError("HAVE lists \(o) with sequence 0") }
                guard heads[o] == nil else { throw WireError("origin listed twice in HAVE") }
                heads[o] = Int64(s)
                tips[o] = try r.raw(ChangeHash.length)
            }
            m = .have(VersionVector(heads), tips: tips, resendFrom: try r.uvarint())
        case .batch:
            let number = try r.uvarint()
            let n = try r.count(max: r.remaining / 48)
            var changes: [Change] = []
            changes.reserveCapacity(n)
            for _ in 0..<n { changes.append(try ChangeCodec.decode(&r)) }
            m = .batch(number: number, changes: changes, signatures: try HeadSignature.decodeList(&r))
        case .ack:
            m = .ack(number: try r.uvarint(), applied: try r.uvarint())
        case .done:
            m = .done(count: try r.uvarint())
        case .error:
            m = .error(code: try r.u16(), message: try r.string())
        }
        try r.finish()
        return m
    }
}

/// Splits a byte stream into frames. Feed it what the socket gives; it never
/// buffers more than one frame, and refuses a frame whose declared length is
/// over the limit before reading its body.
public struct FrameDecoder {
    /// Changes when a session moves from its handshake to its encrypted frames.
    public var maxFrame: Int
    private var buffer: [UInt8] = []
    private var start = 0

    public init(maxFrame: Int = Wire.defaultMaxFrame) { self.maxFrame = maxFrame }

    public mutating func append<Bytes: Sequence>(_ bytes: Bytes) where Bytes.Element == UInt8 {
        if start > 0 && start >= buffer.count / 2 {
            buffer.removeFirst(start)
            start = 0
        }
        buffer.append(contentsOf: bytes)
    }

    public var buffered: Int { buffer.count - start }

    /// How many more bytes the decoder needs before it can return a frame.
    public var wanted: Int {
        guard buffered >= 4 else { return 4 - buffered }
        return max(0, 4 + Int(declaredLength) - buffered)
    }

    private var declaredLength: UInt32 {
        buffer[start..<(start + 4)].reduce(0) { $0 << 8 | UInt32($1) }
    }

    /// The next complete frame (its type, payload and raw bytes), or nil when
    /// more bytes are needed.
    public mutating func next() throws -> (type: UInt8, payload: [UInt8], raw: [UInt8])? {
        guard buffered >= 4 else { return nil }
        let length = Int(declaredLength)
        guard length >= 1 else { throw WireError("empty frame") }
        guard length <= maxFrame else { throw WireError("frame of \(length) bytes is over the limit of \(maxFrame)") }
        guard buffered >= 4 + length else { return nil }
        let raw = Array(buffer[start..<(start + 4 + length)])
        start += 4 + length
        return (raw[4], Array(raw[5...]), raw)
    }
}
