import Foundation
import MarginCrypto

// The byte primitives of Margin's binary formats (PROTOCOL.md §4, "Primitive
// types"): the sync protocol, the hash chain of the change log and bundles
// all encode with these, so they live with the change log they encode.

/// A malformed frame or message.
public struct WireError: Error, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

// MARK: - Primitives

/// The one rule for Margin's ids (node, record, annotation, code and
/// conflict ids, and the prefixes people type for them): lower-case hex
/// digits only, so that an id has one spelling and compares bytewise.
public enum LowerHex {
    public static func isDigit(_ b: UInt8) -> Bool { (48...57).contains(b) || (97...102).contains(b) }

    /// Whether `s` is lower-case hex, of `length` digits when given.
    public static func matches(_ s: String, length: Int? = nil) -> Bool {
        var s = s
        return s.withUTF8 { bytes in (length.map { bytes.count == $0 } ?? true) && bytes.allSatisfy(isDigit) }
    }
}

/// Appends the protocol's primitive types to a byte buffer.
public struct ByteWriter {
    public private(set) var bytes: [UInt8] = []
    public init() {}
    /// With room for `capacity` bytes, for a buffer whose size is known
    /// beforehand (a change's byte form, made once per change sent,
    /// received or hashed).
    public init(capacity: Int) { bytes.reserveCapacity(capacity) }

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
    public mutating func node(_ id: NodeID) {
        // The usual id, 16 hex digits, straight into the buffer (once or
        // twice for every change encoded, so read from the string's bytes).
        var hex = id.hex
        var raw: UInt64 = 0
        let usual = hex.withUTF8 { digits in
            guard digits.count == 16 else { return false }
            for c in digits {
                guard let v = hexDigit(c) else { return false }
                raw = raw << 4 | UInt64(v)
            }
            return true
        }
        if usual {
            withUnsafeBytes(of: raw.bigEndian) { bytes.append(contentsOf: $0) }
        } else {
            bytes += MarginCrypto.bytes(fromHex: id.hex) ?? [UInt8](repeating: 0, count: 8)
        }
    }
    public mutating func changeID(_ id: ChangeID) { node(id.origin); uvarint(UInt64(id.seq)) }
}

/// Reads the protocol's primitive types, refusing anything out of bounds.
public struct ByteReader {
    let bytes: [UInt8]
    public private(set) var offset = 0
    /// The node id read last, raw and as hex: a batch names a few origins
    /// many times over.
    private var lastNode: (raw: UInt64, id: NodeID)?
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
        // Strict validation (no overlong forms, surrogates or values past
        // U+10FFFF), straight from the message's bytes.
        guard let s = String(validating: try take(n), as: UTF8.self) else { throw WireError("string is not valid UTF-8") }
        return s
    }
    public mutating func node() throws -> NodeID {
        let slice = try take(8)
        let raw = slice.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
        if let last = lastNode, last.raw == raw { return last.id }
        let id = NodeID(stored: Array(slice).hex)
        lastNode = (raw, id)
        return id
    }
    public mutating func changeID() throws -> ChangeID {
        let origin = try node()
        let seq = try count()
        guard seq >= 1 else { throw WireError("sequence numbers start at 1") }
        return ChangeID(origin: origin, seq: Int64(seq))
    }
    public func finish() throws { if remaining != 0 { throw WireError("\(remaining) unexpected bytes at the end of a message") } }
}

