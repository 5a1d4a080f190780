#if arch(x86_64)
import SHAExtensions
#endif

/// SHA-256 (FIPS 180-4). Margin uses it for content-derived ids and digests,
/// and, through HMAC, to authenticate peers; the toolchain on Linux has no
/// hash function of its own, and the project takes no third-party packages.
public struct SHA256: Sendable {
    private var state: (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32) =
        (0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19)
    private var buffer: [UInt8] = []
    private var length: UInt64 = 0
    /// Whether blocks go to the processor's SHA instructions
    /// (`SHAExtensions`) or to the portable function below.
    private var onExtensions = SHA256.extensionsAvailable

    public static let blockSize = 64
    public static let digestSize = 32

    public init() { buffer.reserveCapacity(SHA256.blockSize) }

    /// For `hash(contiguous:)`, which buffers nothing.
    private init(unbuffered: Void) {}

    #if arch(x86_64)
    static let extensionsAvailable = SHAExtensions.available
    #else
    static let extensionsAvailable = false
    #endif

    /// A hash that uses the portable block function whatever the
    /// processor has: for the tests that hold the two to the same digests.
    static func portable() -> SHA256 {
        var h = SHA256()
        h.onExtensions = false
        return h
    }

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
        let blocks = (raw.count - offset) / SHA256.blockSize
        if blocks > 0 {
            compress(base + offset, blocks: blocks)
            offset += blocks * SHA256.blockSize
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
        if let base = raw.baseAddress, whole > 0 { h.compress(base, blocks: whole / blockSize) }
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

    /// One round: `d` becomes the next `e`, `h` the next `a`. Ch and Maj
    /// in their forms with one operation fewer: g ^ (e & (f ^ g)) and
    /// (a & (b | c)) | (b & c).
    @inline(__always) private static func round(_ a: UInt32, _ b: UInt32, _ c: UInt32, _ d: inout UInt32,
                                                _ e: UInt32, _ f: UInt32, _ g: UInt32, _ h: inout UInt32, _ kw: UInt32) {
        let t1 = h &+ (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) &+ (g ^ (e & (f ^ g))) &+ kw
        let t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) &+ ((a & (b | c)) | (b & c))
        d = d &+ t1
        h = t1 &+ t2
    }

    /// One 64-byte block at `block`. The message schedule is a ring of 16
    /// words on the stack, each word made just before the round that reads
    /// it, and the 64 rounds are written out with their constants (FIPS
    /// 180-4 §4.2.2) in the code: 300 MB/s with a loop over a table and a
    /// 64-word schedule, 373 MB/s so, on this project's machine. Every
    /// change a store logs, receives or checks is hashed.
    private mutating func compress(_ block: UnsafeRawPointer) { compress(block, blocks: 1) }

    /// `blocks` consecutive blocks from `first`: on the processor's SHA
    /// instructions where it has them (about four times as fast), else
    /// one at a time here.
    private mutating func compress(_ first: UnsafeRawPointer, blocks: Int) {
        #if arch(x86_64)
        if onExtensions {
            withUnsafeMutableBytes(of: &state) { words in
                if let state = words.baseAddress { SHAExtensions.compress(state: state, blocks: first, count: blocks) }
            }
            return
        }
        #endif
        withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 16) { w in
            for i in 0..<blocks { compress(first + i * SHA256.blockSize, schedule: w) }
        }
    }

    @inline(__always) private static func sigma0(_ x: UInt32) -> UInt32 { rotr(x, 7) ^ rotr(x, 18) ^ (x >> 3) }
    @inline(__always) private static func sigma1(_ x: UInt32) -> UInt32 { rotr(x, 17) ^ rotr(x, 19) ^ (x >> 10) }

    /// Round i leaves its results in the variables round i + 1 reads as
    /// `d` and `h`: the working variables are renamed, not moved (§6.2.2,
    /// step 3); from round 16, word i of the schedule replaces word i - 16.
    private mutating func compress(_ block: UnsafeRawPointer, schedule w: UnsafeMutableBufferPointer<UInt32>) {
        for i in 0..<16 {
            w[i] = UInt32(bigEndian: block.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self))
        }
        var (a, b, c, d, e, f, g, h) = state
        SHA256.round(a, b, c, &d, e, f, g, &h, 0x428a2f98 &+ w[0])
        SHA256.round(h, a, b, &c, d, e, f, &g, 0x71374491 &+ w[1])
        SHA256.round(g, h, a, &b, c, d, e, &f, 0xb5c0fbcf &+ w[2])
        SHA256.round(f, g, h, &a, b, c, d, &e, 0xe9b5dba5 &+ w[3])
        SHA256.round(e, f, g, &h, a, b, c, &d, 0x3956c25b &+ w[4])
        SHA256.round(d, e, f, &g, h, a, b, &c, 0x59f111f1 &+ w[5])
        SHA256.round(c, d, e, &f, g, h, a, &b, 0x923f82a4 &+ w[6])
        SHA256.round(b, c, d, &e, f, g, h, &a, 0xab1c5ed5 &+ w[7])

        SHA256.round(a, b, c, &d, e, f, g, &h, 0xd807aa98 &+ w[8])
        SHA256.round(h, a, b, &c, d, e, f, &g, 0x12835b01 &+ w[9])
        SHA256.round(g, h, a, &b, c, d, e, &f, 0x243185be &+ w[10])
        SHA256.round(f, g, h, &a, b, c, d, &e, 0x550c7dc3 &+ w[11])
        SHA256.round(e, f, g, &h, a, b, c, &d, 0x72be5d74 &+ w[12])
        SHA256.round(d, e, f, &g, h, a, b, &c, 0x80deb1fe &+ w[13])
        SHA256.round(c, d, e, &f, g, h, a, &b, 0x9bdc06a7 &+ w[14])
        SHA256.round(b, c, d, &e, f, g, h, &a, 0xc19bf174 &+ w[15])

        w[0] = w[0] &+ SHA256.sigma0(w[1]) &+ w[9] &+ SHA256.sigma1(w[14])
        SHA256.round(a, b, c, &d, e, f, g, &h, 0xe49b69c1 &+ w[0])
        w[1] = w[1] &+ SHA256.sigma0(w[2]) &+ w[10] &+ SHA256.sigma1(w[15])
        SHA256.round(h, a, b, &c, d, e, f, &g, 0xefbe4786 &+ w[1])
        w[2] = w[2] &+ SHA256.sigma0(w[3]) &+ w[11] &+ SHA256.sigma1(w[0])
        SHA256.round(g, h, a, &b, c, d, e, &f, 0x0fc19dc6 &+ w[2])
        w[3] = w[3] &+ SHA256.sigma0(w[4]) &+ w[12] &+ SHA256.sigma1(w[1])
        SHA256.round(f, g, h, &a, b, c, d, &e, 0x240ca1cc &+ w[3])
        w[4] = w[4] &+ SHA256.sigma0(w[5]) &+ w[13] &+ SHA256.sigma1(w[2])
        SHA256.round(e, f, g, &h, a, b, c, &d, 0x2de92c6f &+ w[4])
        w[5] = w[5] &+ SHA256.sigma0(w[6]) &+ w[14] &+ SHA256.sigma1(w[3])
        SHA256.round(d, e, f, &g, h, a, b, &c, 0x4a7484aa &+ w[5])
        w[6] = w[6] &+ SHA256.sigma0(w[7]) &+ w[15] &+ SHA256.sigma1(w[4])
        SHA256.round(c, d, e, &f, g, h, a, &b, 0x5cb0a9dc &+ w[6])
        w[7] = w[7] &+ SHA256.sigma0(w[8]) &+ w[0] &+ SHA256.sigma1(w[5])
        SHA256.round(b, c, d, &e, f, g, h, &a, 0x76f988da &+ w[7])

        w[8] = w[8] &+ SHA256.sigma0(w[9]) &+ w[1] &+ SHA256.sigma1(w[6])
        SHA256.round(a, b, c, &d, e, f, g, &h, 0x983e5152 &+ w[8])
        w[9] = w[9] &+ SHA256.sigma0(w[10]) &+ w[2] &+ SHA256.sigma1(w[7])
        SHA256.round(h, a, b, &c, d, e, f, &g, 0xa831c66d &+ w[9])
        w[10] = w[10] &+ SHA256.sigma0(w[11]) &+ w[3] &+ SHA256.sigma1(w[8])
        SHA256.round(g, h, a, &b, c, d, e, &f, 0xb00327c8 &+ w[10])
        w[11] = w[11] &+ SHA256.sigma0(w[12]) &+ w[4] &+ SHA256.sigma1(w[9])
        SHA256.round(f, g, h, &a, b, c, d, &e, 0xbf597fc7 &+ w[11])
        w[12] = w[12] &+ SHA256.sigma0(w[13]) &+ w[5] &+ SHA256.sigma1(w[10])
        SHA256.round(e, f, g, &h, a, b, c, &d, 0xc6e00bf3 &+ w[12])
        w[13] = w[13] &+ SHA256.sigma0(w[14]) &+ w[6] &+ SHA256.sigma1(w[11])
        SHA256.round(d, e, f, &g, h, a, b, &c, 0xd5a79147 &+ w[13])
        w[14] = w[14] &+ SHA256.sigma0(w[15]) &+ w[7] &+ SHA256.sigma1(w[12])
        SHA256.round(c, d, e, &f, g, h, a, &b, 0x06ca6351 &+ w[14])
        w[15] = w[15] &+ SHA256.sigma0(w[0]) &+ w[8] &+ SHA256.sigma1(w[13])
        SHA256.round(b, c, d, &e, f, g, h, &a, 0x14292967 &+ w[15])

        w[0] = w[0] &+ SHA256.sigma0(w[1]) &+ w[9] &+ SHA256.sigma1(w[14])
        SHA256.round(a, b, c, &d, e, f, g, &h, 0x27b70a85 &+ w[0])
        w[1] = w[1] &+ SHA256.sigma0(w[2]) &+ w[10] &+ SHA256.sigma1(w[15])
        SHA256.round(h, a, b, &c, d, e, f, &g, 0x2e1b2138 &+ w[1])
        w[2] = w[2] &+ SHA256.sigma0(w[3]) &+ w[11] &+ SHA256.sigma1(w[0])
        SHA256.round(g, h, a, &b, c, d, e, &f, 0x4d2c6dfc &+ w[2])
        w[3] = w[3] &+ SHA256.sigma0(w[4]) &+ w[12] &+ SHA256.sigma1(w[1])
        SHA256.round(f, g, h, &a, b, c, d, &e, 0x53380d13 &+ w[3])
        w[4] = w[4] &+ SHA256.sigma0(w[5]) &+ w[13] &+ SHA256.sigma1(w[2])
        SHA256.round(e, f, g, &h, a, b, c, &d, 0x650a7354 &+ w[4])
        w[5] = w[5] &+ SHA256.sigma0(w[6]) &+ w[14] &+ SHA256.sigma1(w[3])
        SHA256.round(d, e, f, &g, h, a, b, &c, 0x766a0abb &+ w[5])
        w[6] = w[6] &+ SHA256.sigma0(w[7]) &+ w[15] &+ SHA256.sigma1(w[4])
        SHA256.round(c, d, e, &f, g, h, a, &b, 0x81c2c92e &+ w[6])
        w[7] = w[7] &+ SHA256.sigma0(w[8]) &+ w[0] &+ SHA256.sigma1(w[5])
        SHA256.round(b, c, d, &e, f, g, h, &a, 0x92722c85 &+ w[7])

        w[8] = w[8] &+ SHA256.sigma0(w[9]) &+ w[1] &+ SHA256.sigma1(w[6])
        SHA256.round(a, b, c, &d, e, f, g, &h, 0xa2bfe8a1 &+ w[8])
        w[9] = w[9] &+ SHA256.sigma0(w[10]) &+ w[2] &+ SHA256.sigma1(w[7])
        SHA256.round(h, a, b, &c, d, e, f, &g, 0xa81a664b &+ w[9])
        w[10] = w[10] &+ SHA256.sigma0(w[11]) &+ w[3] &+ SHA256.sigma1(w[8])
        SHA256.round(g, h, a, &b, c, d, e, &f, 0xc24b8b70 &+ w[10])
        w[11] = w[11] &+ SHA256.sigma0(w[12]) &+ w[4] &+ SHA256.sigma1(w[9])
        SHA256.round(f, g, h, &a, b, c, d, &e, 0xc76c51a3 &+ w[11])
        w[12] = w[12] &+ SHA256.sigma0(w[13]) &+ w[5] &+ SHA256.sigma1(w[10])
        SHA256.round(e, f, g, &h, a, b, c, &d, 0xd192e819 &+ w[12])
        w[13] = w[13] &+ SHA256.sigma0(w[14]) &+ w[6] &+ SHA256.sigma1(w[11])
        SHA256.round(d, e, f, &g, h, a, b, &c, 0xd6990624 &+ w[13])
        w[14] = w[14] &+ SHA256.sigma0(w[15]) &+ w[7] &+ SHA256.sigma1(w[12])
        SHA256.round(c, d, e, &f, g, h, a, &b, 0xf40e3585 &+ w[14])
        w[15] = w[15] &+ SHA256.sigma0(w[0]) &+ w[8] &+ SHA256.sigma1(w[13])
        SHA256.round(b, c, d, &e, f, g, h, &a, 0x106aa070 &+ w[15])

        w[0] = w[0] &+ SHA256.sigma0(w[1]) &+ w[9] &+ SHA256.sigma1(w[14])
        SHA256.round(a, b, c, &d, e, f, g, &h, 0x19a4c116 &+ w[0])
        w[1] = w[1] &+ SHA256.sigma0(w[2]) &+ w[10] &+ SHA256.sigma1(w[15])
        SHA256.round(h, a, b, &c, d, e, f, &g, 0x1e376c08 &+ w[1])
        w[2] = w[2] &+ SHA256.sigma0(w[3]) &+ w[11] &+ SHA256.sigma1(w[0])
        SHA256.round(g, h, a, &b, c, d, e, &f, 0x2748774c &+ w[2])
        w[3] = w[3] &+ SHA256.sigma0(w[4]) &+ w[12] &+ SHA256.sigma1(w[1])
        SHA256.round(f, g, h, &a, b, c, d, &e, 0x34b0bcb5 &+ w[3])
        w[4] = w[4] &+ SHA256.sigma0(w[5]) &+ w[13] &+ SHA256.sigma1(w[2])
        SHA256.round(e, f, g, &h, a, b, c, &d, 0x391c0cb3 &+ w[4])
        w[5] = w[5] &+ SHA256.sigma0(w[6]) &+ w[14] &+ SHA256.sigma1(w[3])
        SHA256.round(d, e, f, &g, h, a, b, &c, 0x4ed8aa4a &+ w[5])
        w[6] = w[6] &+ SHA256.sigma0(w[7]) &+ w[15] &+ SHA256.sigma1(w[4])
        SHA256.round(c, d, e, &f, g, h, a, &b, 0x5b9cca4f &+ w[6])
        w[7] = w[7] &+ SHA256.sigma0(w[8]) &+ w[0] &+ SHA256.sigma1(w[5])
        SHA256.round(b, c, d, &e, f, g, h, &a, 0x682e6ff3 &+ w[7])

        w[8] = w[8] &+ SHA256.sigma0(w[9]) &+ w[1] &+ SHA256.sigma1(w[6])
        SHA256.round(a, b, c, &d, e, f, g, &h, 0x748f82ee &+ w[8])
        w[9] = w[9] &+ SHA256.sigma0(w[10]) &+ w[2] &+ SHA256.sigma1(w[7])
        SHA256.round(h, a, b, &c, d, e, f, &g, 0x78a5636f &+ w[9])
        w[10] = w[10] &+ SHA256.sigma0(w[11]) &+ w[3] &+ SHA256.sigma1(w[8])
        SHA256.round(g, h, a, &b, c, d, e, &f, 0x84c87814 &+ w[10])
        w[11] = w[11] &+ SHA256.sigma0(w[12]) &+ w[4] &+ SHA256.sigma1(w[9])
        SHA256.round(f, g, h, &a, b, c, d, &e, 0x8cc70208 &+ w[11])
        w[12] = w[12] &+ SHA256.sigma0(w[13]) &+ w[5] &+ SHA256.sigma1(w[10])
        SHA256.round(e, f, g, &h, a, b, c, &d, 0x90befffa &+ w[12])
        w[13] = w[13] &+ SHA256.sigma0(w[14]) &+ w[6] &+ SHA256.sigma1(w[11])
        SHA256.round(d, e, f, &g, h, a, b, &c, 0xa4506ceb &+ w[13])
        w[14] = w[14] &+ SHA256.sigma0(w[15]) &+ w[7] &+ SHA256.sigma1(w[12])
        SHA256.round(c, d, e, &f, g, h, a, &b, 0xbef9a3f7 &+ w[14])
        w[15] = w[15] &+ SHA256.sigma0(w[0]) &+ w[8] &+ SHA256.sigma1(w[13])
        SHA256.round(b, c, d, &e, f, g, h, &a, 0xc67178f2 &+ w[15])
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
