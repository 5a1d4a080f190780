import Foundation
import MarginCore
import MarginCrypto

/// The wire format of Margin's sync protocol, byte for byte (PROTOCOL.md
/// describes the same thing in prose). Pure: bytes in, messages out, so it is
/// tested without sockets and fuzzed directly.
public enum Wire {
    public static let magic: [UInt8] = Array("MRGN".utf8)
    /// Bumped whenever a message's layout or meaning changes.
    public static let protocolVersion: UInt16 = 1
    /// Frames larger than this are refused before they are read.
    public static let defaultMaxFrame = 16 << 20
    /// A sender closes a batch once its encoded changes pass this size.
    public static let batchTargetBytes = 1 << 20
    public static let nonceLength = 32
    public static let macLength = 32
}

public enum MessageType: UInt8, Sendable {
    case hello = 1, auth = 2, have = 3, batch = 4, ack = 5, done = 6, error = 7
}

/// The first message each side sends.
public struct Hello: Equatable, Sendable {
    public var protocolVersion: UInt16
    public var schemaVersion: UInt16
    public var node: NodeID
    public var wallClock: Int64
    public var nonce: [UInt8]
    /// Whether this side will send its changes / wants the other's.
    public var sends: Bool
    public var receives: Bool
    public var name: String

    public init(protocolVersion: UInt16 = Wire.protocolVersion, schemaVersion: UInt16, node: NodeID, wallClock: Int64,
                nonce: [UInt8], sends: Bool, receives: Bool, name: String) {
        self.protocolVersion = protocolVersion; self.schemaVersion = schemaVersion; self.node = node
        self.wallClock = wallClock; self.nonce = nonce; self.sends = sends; self.receives = receives; self.name = name
    }
}

/// Error codes carried by ERROR messages.
public enum ErrorCode: UInt16, Sendable {
    case malformed = 1, version = 2, authentication = 3, refusedChange = 4, timeout = 5, busy = 6, shutdown = 7, internalError = 8
}

public enum Message: Equatable, Sendable {
    case hello(Hello)
    case auth(mac: [UInt8])
    case have(VersionVector)
    case batch(number: UInt64, changes: [Change])
    case ack(number: UInt64, applied: UInt64)
    case done(count: UInt64)
    case error(code: UInt16, message: String)

    public var type: MessageType {
        switch self {
        case .hello: return .hello
        case .auth: return .auth
        case .have: return .have
        case .batch: return .batch
        case .ack: return .ack
        case .done: return .done
        case .error: return .error
        }
    }
}

/// A malformed frame or message.
public struct WireError: Error, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

// MARK: - Primitives

/// Appends the protocol's primitive types to a byte buffer.
public struct ByteWriter {
    public private(set) var bytes: [UInt8] = []
    public init() {}

    public mutating func u8(_ v: UInt8) { bytes.append(v) }
    public mutating func u16(_ v: UInt16) { bytes.append(UInt8(v >> 8)); bytes.append(UInt8(v & 0xff)) }
    public mutating func u32(_ v: UInt32) { for s in stride(from: 24, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: v >> UInt32(s))) } }
    public mutating func i64(_ v: Int64) { let u = UInt64(bitPattern: v); for s in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: u >> UInt64(s))) } }
    /// Unsigned LEB128: 7 bits a byte, low first, high bit set on all but the last.
    public mutating func uvarint(_ v: UInt64) {
        var x = v
        while x >= 0x80 { bytes.append(UInt8(x & 0x7f) | 0x80); x >>= 7 }
        bytes.append(UInt8(x))
    }
    /// Zigzag then LEB128, for signed integers.
    public mutating func svarint(_ v: Int64) { uvarint(UInt64(bitPattern: (v << 1) ^ (v >> 63))) }
    public mutating func raw(_ b: [UInt8]) { bytes += b }
    public mutating func string(_ s: String) { uvarint(UInt64(s.utf8.count)); bytes += s.utf8 }
    public mutating func node(_ id: NodeID) { bytes += MarginCrypto.bytes(fromHex: id) ?? [UInt8](repeating: 0, count: 8) }
    public mutating func changeID(_ id: ChangeID) { node(id.origin); uvarint(UInt64(id.seq)) }
}

/// Reads the protocol's primitive types, refusing anything out of bounds.
public struct ByteReader {
    let bytes: [UInt8]
    public private(set) var offset = 0
    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    public var remaining: Int { bytes.count - offset }

    mutating func take(_ n: Int) throws -> ArraySlice<UInt8> {
        guard n >= 0, n <= remaining else { throw WireError("message truncated") }
        defer { offset += n }
        return bytes[offset..<(offset + n)]
    }

    public mutating func u8() throws -> UInt8 { try take(1).first ?? 0 }
    public mutating func u16() throws -> UInt16 { try take(2).reduce(0) { $0 << 8 | UInt16($1) } }
    public mutating func i64() throws -> Int64 { Int64(bitPattern: try take(8).reduce(0) { $0 << 8 | UInt64($1) }) }
    public mutating func uvarint() throws -> UInt64 {
        var result: UInt64 = 0
        for i in 0..<10 {
            let b = try u8()
            if i == 9 && b > 1 { throw WireError("varint overflows 64 bits") }
            result |= UInt64(b & 0x7f) << UInt64(7 * i)
            if b & 0x80 == 0 {
                if i > 0 && b == 0 { throw WireError("varint is not minimally encoded") }
                return result
            }
        }
        throw WireError("varint too long")
    }
    public mutating func svarint() throws -> Int64 {
        let u = try uvarint()
        return Int64(bitPattern: (u >> 1) ^ (0 &- (u & 1)))
    }
    /// A non-negative integer that fits Int64.
    public mutating func count(max: Int? = nil) throws -> Int {
        let v = try uvarint()
        guard v <= UInt64(Int64.max), max.map({ v <= UInt64($0) }) ?? true else { throw WireError("count out of range") }
        return Int(v)
    }
    public mutating func raw(_ n: Int) throws -> [UInt8] { Array(try take(n)) }
    public mutating func string() throws -> String {
        let n = try count(max: remaining)
        guard let s = TextNormalization.decodeUTF8(Data(try take(n))) else { throw WireError("string is not valid UTF-8") }
        return s
    }
    public mutating func node() throws -> NodeID { Array(try take(8)).hex }
    public mutating func changeID() throws -> ChangeID {
        let origin = try node()
        let seq = try count()
        guard seq >= 1 else { throw WireError("sequence numbers start at 1") }
        return ChangeID(origin: origin, seq: Int64(seq))
    }
    public func finish() throws { if remaining != 0 { throw WireError("\(remaining) unexpected bytes at the end of a message") } }
}

// MARK: - Messages

extension Wire {
    static let kindCodes: [EntityKind: UInt8] = [.record: 1, .annotation: 2, .code: 3, .conflict: 4]
    static let kindsByCode: [UInt8: EntityKind] = [1: .record, 2: .annotation, 3: .code, 4: .conflict]

    public static func encode(_ c: Change, into w: inout ByteWriter) {
        w.changeID(c.id)
        w.uvarint(UInt64(max(0, c.hlc.milliseconds)))
        w.uvarint(UInt64(max(0, c.hlc.counter)))
        w.u8(kindCodes[c.kind] ?? 0)
        w.string(c.entity)
        w.string(c.field)
        switch c.value {
        case .null: w.u8(0)
        case .int(let v): w.u8(1); w.svarint(v)
        case .text(let t): w.u8(2); w.string(t)
        }
        var flags: UInt8 = 0
        if c.supersedes != nil { flags |= 1 }
        if c.deletionBase != nil { flags |= 2 }
        if c.seen != nil { flags |= 4 }
        w.u8(flags)
        if let s = c.supersedes { w.changeID(s) }
        if let d = c.deletionBase { w.changeID(d) }
        if let seen = c.seen {
            let entries = seen.heads.sorted { $0.key < $1.key }
            w.uvarint(UInt64(entries.count))
            for (origin, seq) in entries { w.node(origin); w.uvarint(UInt64(seq)) }
        }
    }

    public static func decodeChange(_ r: inout ByteReader) throws -> Change {
        let id = try r.changeID()
        let ms = try r.count(), counter = try r.count()
        let kindCode = try r.u8()
        guard let kind = kindsByCode[kindCode] else { throw WireError("unknown entity kind \(kindCode)") }
        let entity = try r.string(), field = try r.string()
        guard !entity.isEmpty, entity.utf8.count <= 128 else { throw WireError("entity id must be 1 to 128 bytes") }
        let value: FieldValue
        switch try r.u8() {
        case 0: value = .null
        case 1: value = .int(try r.svarint())
        case 2: value = .text(try r.string())
        case let t: throw WireError("unknown value tag \(t)")
        }
        let flags = try r.u8()
        guard flags & ~7 == 0 else { throw WireError("unknown change flags \(flags)") }
        let supersedes = flags & 1 != 0 ? try r.changeID() : nil
        let deletionBase = flags & 2 != 0 ? try r.changeID() : nil
        var seen: VersionVector?
        if flags & 4 != 0 {
            let n = try r.count(max: r.remaining / 9)
            var heads: [NodeID: Int64] = [:]
            for _ in 0..<n { let o = try r.node(); heads[o] = Int64(try r.count()) }
            seen = VersionVector(heads)
        }
        return Change(id: id, hlc: HLC(milliseconds: Int64(ms), counter: Int64(counter)), kind: kind, entity: entity,
                      field: field, value: value, supersedes: supersedes, deletionBase: deletionBase, seen: seen)
    }

    /// The payload of a message (without the frame header).
    public static func payload(_ m: Message) -> [UInt8] {
        var w = ByteWriter()
        switch m {
        case .hello(let h):
            w.raw(magic)
            w.u16(h.protocolVersion)
            w.u16(h.schemaVersion)
            w.node(h.node)
            w.i64(h.wallClock)
            w.raw(h.nonce)
            w.u8((h.sends ? 1 : 0) | (h.receives ? 2 : 0))
            w.string(h.name)
        case .auth(let mac):
            w.raw(mac)
        case .have(let vv):
            let entries = vv.heads.sorted { $0.key < $1.key }
            w.uvarint(UInt64(entries.count))
            for (origin, seq) in entries { w.node(origin); w.uvarint(UInt64(seq)) }
        case .batch(let number, let changes):
            w.uvarint(number)
            w.uvarint(UInt64(changes.count))
            for c in changes { encode(c, into: &w) }
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

    /// A whole frame: 4-byte big-endian length of what follows, the type
    /// byte, the payload.
    public static func frame(_ m: Message) -> [UInt8] {
        let body = payload(m)
        var w = ByteWriter()
        w.u32(UInt32(body.count + 1))
        w.u8(m.type.rawValue)
        w.raw(body)
        return w.bytes
    }

    public static func decode(type: UInt8, payload: [UInt8]) throws -> Message {
        guard let t = MessageType(rawValue: type) else { throw WireError("unknown message type \(type)") }
        var r = ByteReader(payload)
        let m: Message
        switch t {
        case .hello:
            guard try r.raw(4) == magic else { throw WireError("not a Margin peer (bad magic)") }
            let pv = try r.u16()
            // Everything after the version may change between versions.
            if pv != protocolVersion {
                return .hello(Hello(protocolVersion: pv, schemaVersion: 0, node: "0000000000000000", wallClock: 0,
                                    nonce: [], sends: false, receives: false, name: ""))
            }
            let sv = try r.u16()
            let node = try r.node()
            let wall = try r.i64()
            let nonce = try r.raw(nonceLength)
            let flags = try r.u8()
            guard flags & ~3 == 0 else { throw WireError("unknown hello flags \(flags)") }
            let name = try r.string()
            m = .hello(Hello(protocolVersion: pv, schemaVersion: sv, node: node, wallClock: wall, nonce: nonce,
                             sends: flags & 1 != 0, receives: flags & 2 != 0, name: name))
        case .auth:
            m = .auth(mac: try r.raw(macLength))
        case .have:
            let n = try r.count(max: r.remaining / 9)
            var heads: [NodeID: Int64] = [:]
            for _ in 0..<n {
                let o = try r.node()
                let s = try r.count()
                guard heads[o] == nil else { throw WireError("origin listed twice in HAVE") }
                heads[o] = Int64(s)
            }
            m = .have(VersionVector(heads))
        case .batch:
            let number = try r.uvarint()
            let n = try r.count(max: r.remaining / 16)
            var changes: [Change] = []
            changes.reserveCapacity(n)
            for _ in 0..<n { changes.append(try decodeChange(&r)) }
            m = .batch(number: number, changes: changes)
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
    public let maxFrame: Int
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
