/// ChaCha20-Poly1305 (RFC 8439): the authenticated encryption of Noise's
/// cipher state, by hand as the project's rule is. No branch or table
/// look-up depends on the key, the plaintext or the tag.
public enum ChaChaPoly {
    public static let keyLength = 32
    public static let nonceLength = 12
    public static let tagLength = 16

    /// `plaintext` encrypted, then its 16-byte tag over `aad` and the ciphertext.
    public static func seal(_ plaintext: [UInt8], key: [UInt8], nonce: [UInt8], aad: [UInt8] = []) -> [UInt8] {
        precondition(key.count == keyLength && nonce.count == nonceLength, "ChaCha20-Poly1305 takes a 32-byte key and a 12-byte nonce")
        var out = plaintext
        out.reserveCapacity(plaintext.count + tagLength)
        ChaCha20.xorInPlace(&out, key: key, nonce: nonce, counter: 1)
        out += tag(key: key, nonce: nonce, aad: aad, ciphertext: out[...])
        return out
    }

    /// The plaintext of `sealed` (ciphertext then tag), or nil when the tag
    /// does not match: the message was altered, or sealed with another key,
    /// nonce or associated data.
    public static func open(_ sealed: [UInt8], key: [UInt8], nonce: [UInt8], aad: [UInt8] = []) -> [UInt8]? {
        guard key.count == keyLength, nonce.count == nonceLength, sealed.count >= tagLength else { return nil }
        let ciphertext = sealed[..<(sealed.count - tagLength)], given = Array(sealed.suffix(tagLength))
        guard HMACSHA256.constantTimeEqual(tag(key: key, nonce: nonce, aad: aad, ciphertext: ciphertext), given) else { return nil }
        var out = Array(ciphertext)
        ChaCha20.xorInPlace(&out, key: key, nonce: nonce, counter: 1)
        return out
    }

    static func tag(key: [UInt8], nonce: [UInt8], aad: [UInt8], ciphertext: ArraySlice<UInt8>) -> [UInt8] {
        let polyKey = Array(ChaCha20.block(key: key, nonce: nonce, counter: 0).prefix(32))
        var mac = Poly1305(key: polyKey)
        mac.update(aad[...])
        mac.update([UInt8](repeating: 0, count: (16 - aad.count % 16) % 16)[...])
        mac.update(ciphertext)
        mac.update([UInt8](repeating: 0, count: (16 - ciphertext.count % 16) % 16)[...])
        var lengths: [UInt8] = []
        for length in [UInt64(aad.count), UInt64(ciphertext.count)] {
            for i in 0..<8 { lengths.append(UInt8(truncatingIfNeeded: length >> UInt64(8 * i))) }
        }
        mac.update(lengths[...])
        return mac.finish()
    }
}

/// The ChaCha20 stream cipher (RFC 8439, section 2.3 and 2.4). The state
/// lives in sixteen local words and the data is XORed in place, a block at
/// a time: the whole cost of an encrypted session is here and in Poly1305.
public enum ChaCha20 {
    @inline(__always) static func rotl(_ x: UInt32, _ n: UInt32) -> UInt32 { (x << n) | (x >> (32 - n)) }

    static func word(_ b: [UInt8], _ i: Int) -> UInt32 {
        UInt32(b[i]) | UInt32(b[i + 1]) << 8 | UInt32(b[i + 2]) << 16 | UInt32(b[i + 3]) << 24
    }

    /// The sixteen keystream words of block `counter`.
    @inline(__always)
    static func keystream(_ s: (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32),
                          counter: UInt32, into out: UnsafeMutablePointer<UInt32>) {
        var x0: UInt32 = 0x61707865, x1: UInt32 = 0x3320646e, x2: UInt32 = 0x79622d32, x3: UInt32 = 0x6b206574
        var x4 = s.0, x5 = s.1, x6 = s.2, x7 = s.3, x8 = s.4, x9 = s.5, x10 = s.6, x11 = s.7
        var x12 = counter, x13 = s.8, x14 = s.9, x15 = s.10
        @inline(__always) func qr(_ a: inout UInt32, _ b: inout UInt32, _ c: inout UInt32, _ d: inout UInt32) {
            a &+= b; d ^= a; d = rotl(d, 16)
            c &+= d; b ^= c; b = rotl(b, 12)
            a &+= b; d ^= a; d = rotl(d, 8)
            c &+= d; b ^= c; b = rotl(b, 7)
        }
        for _ in 0..<10 {
            qr(&x0, &x4, &x8, &x12); qr(&x1, &x5, &x9, &x13); qr(&x2, &x6, &x10, &x14); qr(&x3, &x7, &x11, &x15)
            qr(&x0, &x5, &x10, &x15); qr(&x1, &x6, &x11, &x12); qr(&x2, &x7, &x8, &x13); qr(&x3, &x4, &x9, &x14)
        }
        out[0] = x0 &+ 0x61707865; out[1] = x1 &+ 0x3320646e; out[2] = x2 &+ 0x79622d32; out[3] = x3 &+ 0x6b206574
        out[4] = x4 &+ s.0; out[5] = x5 &+ s.1; out[6] = x6 &+ s.2; out[7] = x7 &+ s.3
        out[8] = x8 &+ s.4; out[9] = x9 &+ s.5; out[10] = x10 &+ s.6; out[11] = x11 &+ s.7
        out[12] = x12 &+ counter; out[13] = x13 &+ s.8; out[14] = x14 &+ s.9; out[15] = x15 &+ s.10
    }

    static func setup(key: [UInt8], nonce: [UInt8]) -> (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32) {
        (word(key, 0), word(key, 4), word(key, 8), word(key, 12), word(key, 16), word(key, 20), word(key, 24), word(key, 28),
         word(nonce, 0), word(nonce, 4), word(nonce, 8), 0)
    }

    /// One 64-byte keystream block.
    public static func block(key: [UInt8], nonce: [UInt8], counter: UInt32) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 64)
        xorInPlace(&out, key: key, nonce: nonce, counter: counter)
        return out
    }

    /// `data` XORed with the keystream from block `counter` on.
    public static func xor(_ data: [UInt8], key: [UInt8], nonce: [UInt8], counter: UInt32) -> [UInt8] {
        var out = data
        xorInPlace(&out, key: key, nonce: nonce, counter: counter)
        return out
    }

    public static func xorInPlace(_ data: inout [UInt8], key: [UInt8], nonce: [UInt8], counter: UInt32) {
        let s = setup(key: key, nonce: nonce)
        let stream = UnsafeMutablePointer<UInt32>.allocate(capacity: 16)
        defer { stream.deallocate() }
        var blockCounter = counter
        data.withUnsafeMutableBytes { buffer in
            guard let base = buffer.baseAddress else { return }
            let count = buffer.count
            var offset = 0
            while offset < count {
                keystream(s, counter: blockCounter, into: stream)
                let n = min(64, count - offset)
                if n == 64 {
                    for i in 0..<16 {
                        let at = base + offset + 4 * i
                        let v = at.loadUnaligned(as: UInt32.self)
                        at.storeBytes(of: v ^ UInt32(littleEndian: stream[i]).littleEndian, as: UInt32.self)
                    }
                } else {
                    for i in 0..<n {
                        let byte = UInt8(truncatingIfNeeded: stream[i / 4] >> UInt32(8 * (i % 4)))
                        base.storeBytes(of: base.load(fromByteOffset: offset + i, as: UInt8.self) ^ byte, toByteOffset: offset + i, as: UInt8.self)
                    }
                }
                offset += 64
                blockCounter &+= 1
            }
        }
    }
}

/// The Poly1305 one-time authenticator (RFC 8439, section 2.5), in 26-bit
/// limbs with 64-bit products, fed incrementally so that a message is never
/// copied to be authenticated.
public struct Poly1305 {
    let r0: UInt64, r1: UInt64, r2: UInt64, r3: UInt64, r4: UInt64
    let s1: UInt64, s2: UInt64, s3: UInt64, s4: UInt64
    let pad: [UInt64]
    var h0: UInt64 = 0, h1: UInt64 = 0, h2: UInt64 = 0, h3: UInt64 = 0, h4: UInt64 = 0
    var partial: [UInt8] = []

    @inline(__always) static func le32(_ p: UnsafeRawPointer, _ i: Int) -> UInt64 {
        UInt64(UInt32(littleEndian: p.loadUnaligned(fromByteOffset: i, as: UInt32.self)))
    }

    public init(key: [UInt8]) {
        precondition(key.count == 32, "a Poly1305 key is 32 bytes")
        func le32(_ i: Int) -> UInt64 { UInt64(ChaCha20.word(key, i)) }
        // r, clamped, in five 26-bit limbs.
        r0 = le32(0) & 0x3ffffff
        r1 = (le32(3) >> 2) & 0x3ffff03
        r2 = (le32(6) >> 4) & 0x3ffc0ff
        r3 = (le32(9) >> 6) & 0x3f03fff
        r4 = (le32(12) >> 8) & 0x00fffff
        pad = (0..<4).map { le32(16 + 4 * $0) }
        s1 = r1 * 5; s2 = r2 * 5; s3 = r3 * 5; s4 = r4 * 5
    }

    /// Absorbs one 16-byte block; `hibit` is 1 << 24 for a full block.
    @inline(__always) mutating func block(_ p: UnsafeRawPointer, hibit: UInt64) {
        h0 += Poly1305.le32(p, 0) & 0x3ffffff
        h1 += (Poly1305.le32(p, 3) >> 2) & 0x3ffffff
        h2 += (Poly1305.le32(p, 6) >> 4) & 0x3ffffff
        h3 += (Poly1305.le32(p, 9) >> 6) & 0x3ffffff
        h4 += (Poly1305.le32(p, 12) >> 8) | hibit
        let d0 = h0 * r0 + h1 * s4 + h2 * s3 + h3 * s2 + h4 * s1
        var d1 = h0 * r1 + h1 * r0 + h2 * s4 + h3 * s3 + h4 * s2
        var d2 = h0 * r2 + h1 * r1 + h2 * r0 + h3 * s4 + h4 * s3
        var d3 = h0 * r3 + h1 * r2 + h2 * r1 + h3 * r0 + h4 * s4
        var d4 = h0 * r4 + h1 * r3 + h2 * r2 + h3 * r1 + h4 * r0
        var c = d0 >> 26; h0 = d0 & 0x3ffffff
        d1 += c; c = d1 >> 26; h1 = d1 & 0x3ffffff
        d2 += c; c = d2 >> 26; h2 = d2 & 0x3ffffff
        d3 += c; c = d3 >> 26; h3 = d3 & 0x3ffffff
        d4 += c; c = d4 >> 26; h4 = d4 & 0x3ffffff
        h0 += c * 5; c = h0 >> 26; h0 &= 0x3ffffff
        h1 += c
    }

    public mutating func update(_ bytes: ArraySlice<UInt8>) {
        var bytes = bytes
        if !partial.isEmpty {
            let take = min(16 - partial.count, bytes.count)
            partial += bytes.prefix(take)
            bytes = bytes.dropFirst(take)
            guard partial.count == 16 else { return }
            partial.withUnsafeBytes { if let p = $0.baseAddress { block(p, hibit: 1 << 24) } }
            partial = []
        }
        let whole = bytes.count / 16 * 16
        bytes.withUnsafeBytes { b in
            guard let base = b.baseAddress else { return }
            var offset = 0
            while offset < whole {
                block(base + offset, hibit: 1 << 24)
                offset += 16
            }
        }
        partial = Array(bytes.dropFirst(whole))
    }

    public mutating func finish() -> [UInt8] {
        if !partial.isEmpty {
            var last = partial + [1]
            last += [UInt8](repeating: 0, count: 16 - last.count)
            last.withUnsafeBytes { if let p = $0.baseAddress { block(p, hibit: 0) } }
            partial = []
        }
        // Full carry, then h - p where that does not go below zero, by mask.
        var c = h1 >> 26; h1 &= 0x3ffffff
        h2 += c; c = h2 >> 26; h2 &= 0x3ffffff
        h3 += c; c = h3 >> 26; h3 &= 0x3ffffff
        h4 += c; c = h4 >> 26; h4 &= 0x3ffffff
        h0 += c * 5; c = h0 >> 26; h0 &= 0x3ffffff
        h1 += c
        var g0 = h0 &+ 5; c = g0 >> 26; g0 &= 0x3ffffff
        var g1 = h1 &+ c; c = g1 >> 26; g1 &= 0x3ffffff
        var g2 = h2 &+ c; c = g2 >> 26; g2 &= 0x3ffffff
        var g3 = h3 &+ c; c = g3 >> 26; g3 &= 0x3ffffff
        let g4 = h4 &+ c &- (1 << 26)
        let useG = (g4 >> 63) &- 1   // all ones when g4 did not go below zero
        h0 = (h0 & ~useG) | (g0 & useG)
        h1 = (h1 & ~useG) | (g1 & useG)
        h2 = (h2 & ~useG) | (g2 & useG)
        h3 = (h3 & ~useG) | (g3 & useG)
        h4 = (h4 & ~useG) | (g4 & useG & 0x3ffffff)
        // h mod 2^128, plus s.
        let w0 = (h0 | h1 << 26) & 0xffffffff
        let w1 = (h1 >> 6 | h2 << 20) & 0xffffffff
        let w2 = (h2 >> 12 | h3 << 14) & 0xffffffff
        let w3 = (h3 >> 18 | h4 << 8) & 0xffffffff
        var out: [UInt8] = []
        var carry: UInt64 = 0
        for (i, w) in [w0, w1, w2, w3].enumerated() {
            let t = w + pad[i] + carry
            carry = t >> 32
            out += [UInt8(truncatingIfNeeded: t), UInt8(truncatingIfNeeded: t >> 8), UInt8(truncatingIfNeeded: t >> 16), UInt8(truncatingIfNeeded: t >> 24)]
        }
        return out
    }

    public static func authenticate(_ message: [UInt8], key: [UInt8]) -> [UInt8] {
        var mac = Poly1305(key: key)
        mac.update(message[...])
        return mac.finish()
    }
}

/// HKDF with HMAC-SHA256 (RFC 5869), as Noise uses it.
public enum HKDF {
    public static func extract(salt: [UInt8], inputKeyMaterial: [UInt8]) -> [UInt8] {
        HMACSHA256.authenticate(inputKeyMaterial, key: salt)
    }

    public static func expand(pseudoRandomKey prk: [UInt8], info: [UInt8], length: Int) -> [UInt8] {
        precondition(length <= 255 * 32, "HKDF-SHA256 gives at most 8160 bytes")
        var out: [UInt8] = [], t: [UInt8] = []
        var i: UInt8 = 1
        while out.count < length {
            t = HMACSHA256.authenticate(t + info + [i], key: prk)
            out += t
            i &+= 1
        }
        return Array(out.prefix(length))
    }

    public static func deriveKey(inputKeyMaterial: [UInt8], salt: [UInt8], info: [UInt8], length: Int) -> [UInt8] {
        expand(pseudoRandomKey: extract(salt: salt, inputKeyMaterial: inputKeyMaterial), info: info, length: length)
    }
}
