/// SHA-256 (FIPS 180-4). Margin uses it for content-derived ids and digests,
/// and, through HMAC, to authenticate peers; the toolchain on Linux has no
/// hash function of its own, and the project takes no third-party packages.
public struct SHA256: Sendable {
    private var state: (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32) =
        (0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19)
    private var buffer: [UInt8] = []
    private var length: UInt64 = 0

    public static let blockSize = 64
    public static let digestSize = 32

    private static let k: [UInt32] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
    ]

    public init() { buffer.reserveCapacity(SHA256.blockSize) }

    /// For `hash(contiguous:)`, which buffers nothing.
    private init(unbuffered: Void) {}

    /// Absorbs `bytes`: whole 64-byte blocks straight from contiguous
    /// storage (arrays, slices, native strings' UTF-8), the rest buffered.
    public mutating func update<Bytes: Sequence>(_ bytes: Bytes) where Bytes.Element == UInt8 {
        let done: Void? = bytes.withContiguousStorageIfAvailable { update(contiguous: UnsafeRawBufferPointer($0)) }
        if done != nil { return }
        for byte in bytes {
            buffer.append(byte)
            length &+= 1
            if buffer.count == SHA256.blockSize {
                buffer.withUnsafeBytes { if let p = $0.baseAddress { compress(p) } }
                buffer.removeAll(keepingCapacity: true)
            }
        }
    }

    private mutating func update(contiguous raw: UnsafeRawBufferPointer) {
        guard let base = raw.baseAddress, raw.count > 0 else { return }
        var offset = 0
        length &+= UInt64(raw.count)
        if !buffer.isEmpty {
            let take = min(SHA256.blockSize - buffer.count, raw.count)
            buffer.append(contentsOf: UnsafeRawBufferPointer(start: base, count: take))
            offset = take
            guard buffer.count == SHA256.blockSize else { return }
            buffer.withUnsafeBytes { if let p = $0.baseAddress { compress(p) } }
            buffer.removeAll(keepingCapacity: true)
        }
        while raw.count - offset >= SHA256.blockSize {
            compress(base + offset)
            offset += SHA256.blockSize
        }
        if offset < raw.count { buffer.append(contentsOf: UnsafeRawBufferPointer(start: base + offset, count: raw.count - offset)) }
    }

    public mutating func update(_ string: String) { update(string.utf8) }

    public mutating func finalize() -> [UInt8] {
        let bitLength = length &* 8
        buffer.append(0x80)
        if buffer.count > 56 {
            while buffer.count < 64 { buffer.append(0) }
            buffer.withUnsafeBytes { if let p = $0.baseAddress { compress(p) } }
            buffer.removeAll(keepingCapacity: true)
        }
        while buffer.count < 56 { buffer.append(0) }
        for shift in stride(from: 56, through: 0, by: -8) { buffer.append(UInt8(truncatingIfNeeded: bitLength >> UInt64(shift))) }
        buffer.withUnsafeBytes { if let p = $0.baseAddress { compress(p) } }
        buffer.removeAll()
        return digest
    }

    /// The state as the 32-byte digest, big-endian words.
    private var digest: [UInt8] {
        let words = state
        return [UInt8](unsafeUninitializedCapacity: SHA256.digestSize) { out, count in
            withUnsafeBytes(of: words) { raw in
                for i in 0..<8 {
                    let word = raw.load(fromByteOffset: i * 4, as: UInt32.self)
                    for j in 0..<4 { out[i * 4 + j] = UInt8(truncatingIfNeeded: word >> UInt32(24 - 8 * j)) }
                }
            }
            count = SHA256.digestSize
        }
    }

    public static func hash<Bytes: Sequence>(_ bytes: Bytes) -> [UInt8] where Bytes.Element == UInt8 {
        if let digest = bytes.withContiguousStorageIfAvailable({ hash(contiguous: UnsafeRawBufferPointer($0)) }) { return digest }
        var h = SHA256()
        h.update(bytes)
        return h.finalize()
    }

    /// A message in memory, hashed in one pass: its whole blocks read in
    /// place, the last one or two padded on the stack, nothing buffered on
    /// the heap (a change's hash is taken once per change logged or received).
    private static func hash(contiguous raw: UnsafeRawBufferPointer) -> [UInt8] {
        var h = SHA256(unbuffered: ())
        let whole = raw.count / blockSize * blockSize
        if let base = raw.baseAddress {
            for offset in stride(from: 0, to: whole, by: blockSize) { h.compress(base + offset) }
        }
        let rest = raw.count - whole
        // The rest, 0x80, zeros, and the length in bits: one block, or two
        // when fewer than nine bytes are left in the first.
        let padded = rest + 9 <= blockSize ? blockSize : 2 * blockSize
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 2 * blockSize) { tail in
            tail.initialize(repeating: 0)
            if rest > 0, let base = raw.baseAddress {
                for i in 0..<rest { tail[i] = base.load(fromByteOffset: whole + i, as: UInt8.self) }
            }
            tail[rest] = 0x80
            let bits = UInt64(raw.count) &* 8
            for i in 0..<8 { tail[padded - 1 - i] = UInt8(truncatingIfNeeded: bits >> UInt64(8 * i)) }
            guard let base = tail.baseAddress else { return }
            h.compress(UnsafeRawPointer(base))
            if padded > blockSize { h.compress(UnsafeRawPointer(base + blockSize)) }
        }
        return h.digest
    }

    public static func hash(_ string: String) -> [UInt8] { hash(string.utf8) }

    @inline(__always) private static func rotr(_ x: UInt32, _ n: UInt32) -> UInt32 { (x >> n) | (x << (32 - n)) }

    /// One round: `d` becomes the next `e`, `h` the next `a`.
    @inline(__always) private static func round(_ a: UInt32, _ b: UInt32, _ c: UInt32, _ d: inout UInt32,
                                                _ e: UInt32, _ f: UInt32, _ g: UInt32, _ h: inout UInt32, _ kw: UInt32) {
        let t1 = h &+ (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) &+ ((e & f) ^ (~e & g)) &+ kw
        let t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) &+ ((a & b) ^ (a & c) ^ (b & c))
        d = d &+ t1
        h = t1 &+ t2
    }

    /// One 64-byte block at `block`. The message schedule lives in a
    /// stack buffer: no allocation per block.
    private mutating func compress(_ block: UnsafeRawPointer) {
        withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 64) { w in
            compress(block, schedule: w)
        }
    }

    private mutating func compress(_ block: UnsafeRawPointer, schedule w: UnsafeMutableBufferPointer<UInt32>) {
        for i in 0..<16 {
            w[i] = UInt32(bigEndian: block.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self))
        }
        for i in 16..<64 {
            let s0 = SHA256.rotr(w[i - 15], 7) ^ SHA256.rotr(w[i - 15], 18) ^ (w[i - 15] >> 3)
            let s1 = SHA256.rotr(w[i - 2], 17) ^ SHA256.rotr(w[i - 2], 19) ^ (w[i - 2] >> 10)
            w[i] = w[i - 16] &+ s0 &+ w[i - 7] &+ s1
        }
        var (a, b, c, d, e, f, g, h) = state
        // Eight rounds an iteration, the working variables renamed instead
        // of moved: round i leaves its results in the variables round i + 1
        // reads as `d` and `h` (FIPS 180-4 §6.2.2, step 3).
        SHA256.k.withUnsafeBufferPointer { k in
            for i in stride(from: 0, to: 64, by: 8) {
                SHA256.round(a, b, c, &d, e, f, g, &h, k[i] &+ w[i])
                SHA256.round(h, a, b, &c, d, e, f, &g, k[i + 1] &+ w[i + 1])
                SHA256.round(g, h, a, &b, c, d, e, &f, k[i + 2] &+ w[i + 2])
                SHA256.round(f, g, h, &a, b, c, d, &e, k[i + 3] &+ w[i + 3])
                SHA256.round(e, f, g, &h, a, b, c, &d, k[i + 4] &+ w[i + 4])
                SHA256.round(d, e, f, &g, h, a, b, &c, k[i + 5] &+ w[i + 5])
                SHA256.round(c, d, e, &f, g, h, a, &b, k[i + 6] &+ w[i + 6])
                SHA256.round(b, c, d, &e, f, g, h, &a, k[i + 7] &+ w[i + 7])
            }
        }
        state = (state.0 &+ a, state.1 &+ b, state.2 &+ c, state.3 &+ d,
                 state.4 &+ e, state.5 &+ f, state.6 &+ g, state.7 &+ h)
    }
}

/// HMAC (RFC 2104) over SHA-256: how two peers prove they hold the team
/// secret without sending it.
public enum HMACSHA256 {
    public static func authenticate<Key: Collection, Message: Sequence>(_ message: Message, key: Key) -> [UInt8]
    where Key.Element == UInt8, Message.Element == UInt8 {
        var k = Array(key)
        if k.count > SHA256.blockSize { k = SHA256.hash(k) }
        k += [UInt8](repeating: 0, count: SHA256.blockSize - k.count)
        var inner = SHA256()
        inner.update(k.map { $0 ^ 0x36 })
        inner.update(message)
        let innerDigest = inner.finalize()
        var outer = SHA256()
        outer.update(k.map { $0 ^ 0x5c })
        outer.update(innerDigest)
        return outer.finalize()
    }

    /// Compares two MACs in time that depends only on their length, so a
    /// peer cannot learn a correct prefix from how fast it is refused.
    public static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var diff: UInt8 = 0
        for i in 0..<a.count { diff |= a[i] ^ b[i] }
        return diff == 0
    }
}

public extension Sequence where Element == UInt8 {
    /// Lower-case hexadecimal, two digits a byte.
    var hex: String {
        // Written straight into the string's storage: ids and hashes are
        // shown and stored in hex, one or more per change.
        let fast = withContiguousStorageIfAvailable { bytes in
            String(unsafeUninitializedCapacity: bytes.count * 2) { out in
                for (i, byte) in bytes.enumerated() {
                    out[2 * i] = lowerHexDigit(of: byte >> 4)
                    out[2 * i + 1] = lowerHexDigit(of: byte & 0x0f)
                }
                return bytes.count * 2
            }
        }
        return fast ?? Array(self).hex
    }
}

@inline(__always) private func lowerHexDigit(of nibble: UInt8) -> UInt8 { nibble < 10 ? 0x30 + nibble : 0x57 + nibble }

/// The value of one hexadecimal digit (either case), nil for any other byte.
/// Inlinable: other modules decode ids a digit at a time with it.
@inlinable public func hexDigit(_ c: UInt8) -> UInt8? {
    switch c {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
    default: return nil
    }
}

public func bytes(fromHex hex: String) -> [UInt8]? {
    let chars = Array(hex.utf8)
    guard chars.count % 2 == 0 else { return nil }
    let nibble = hexDigit
    var out: [UInt8] = []
    out.reserveCapacity(chars.count / 2)
    var i = 0
    while i < chars.count {
        guard let hi = nibble(chars[i]), let lo = nibble(chars[i + 1]) else { return nil }
        out.append(hi << 4 | lo)
        i += 2
    }
    return out
}
