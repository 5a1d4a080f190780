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
        let ciphertext = ChaCha20.xor(plaintext, key: key, nonce: nonce, counter: 1)
        return ciphertext + tag(key: key, nonce: nonce, aad: aad, ciphertext: ciphertext)
    }

    /// The plaintext of `sealed` (ciphertext then tag), or nil when the tag
    /// does not match: the message was altered, or sealed with another key,
    /// nonce or associated data.
    public static func open(_ sealed: [UInt8], key: [UInt8], nonce: [UInt8], aad: [UInt8] = []) -> [UInt8]? {
        guard key.count == keyLength, nonce.count == nonceLength, sealed.count >= tagLength else { return nil }
        let ciphertext = Array(sealed.dropLast(tagLength)), given = Array(sealed.suffix(tagLength))
        guard HMACSHA256.constantTimeEqual(tag(key: key, nonce: nonce, aad: aad, ciphertext: ciphertext), given) else { return nil }
        return ChaCha20.xor(ciphertext, key: key, nonce: nonce, counter: 1)
    }

    static func tag(key: [UInt8], nonce: [UInt8], aad: [UInt8], ciphertext: [UInt8]) -> [UInt8] {
        let polyKey = Array(ChaCha20.block(key: key, nonce: nonce, counter: 0).prefix(32))
        var data = aad
        data += [UInt8](repeating: 0, count: (16 - aad.count % 16) % 16)
        data += ciphertext
        data += [UInt8](repeating: 0, count: (16 - ciphertext.count % 16) % 16)
        for length in [UInt64(aad.count), UInt64(ciphertext.count)] {
            for i in 0..<8 { data.append(UInt8(truncatingIfNeeded: length >> UInt64(8 * i))) }
        }
        return Poly1305.authenticate(data, key: polyKey)
    }
}

/// The ChaCha20 stream cipher (RFC 8439, section 2.3 and 2.4).
public enum ChaCha20 {
    @inline(__always) static func rotl(_ x: UInt32, _ n: UInt32) -> UInt32 { (x << n) | (x >> (32 - n)) }

    static func word(_ b: [UInt8], _ i: Int) -> UInt32 {
        UInt32(b[i]) | UInt32(b[i + 1]) << 8 | UInt32(b[i + 2]) << 16 | UInt32(b[i + 3]) << 24
    }

    /// One 64-byte keystream block.
    public static func block(key: [UInt8], nonce: [UInt8], counter: UInt32) -> [UInt8] {
        var s: [UInt32] = [0x61707865, 0x3320646e, 0x79622d32, 0x6b206574]
        for i in 0..<8 { s.append(word(key, i * 4)) }
        s.append(counter)
        for i in 0..<3 { s.append(word(nonce, i * 4)) }
        var x = s
        @inline(__always) func quarter(_ a: Int, _ b: Int, _ c: Int, _ d: Int) {
            x[a] &+= x[b]; x[d] ^= x[a]; x[d] = rotl(x[d], 16)
            x[c] &+= x[d]; x[b] ^= x[c]; x[b] = rotl(x[b], 12)
            x[a] &+= x[b]; x[d] ^= x[a]; x[d] = rotl(x[d], 8)
            x[c] &+= x[d]; x[b] ^= x[c]; x[b] = rotl(x[b], 7)
        }
        for _ in 0..<10 {
            quarter(0, 4, 8, 12); quarter(1, 5, 9, 13); quarter(2, 6, 10, 14); quarter(3, 7, 11, 15)
            quarter(0, 5, 10, 15); quarter(1, 6, 11, 12); quarter(2, 7, 8, 13); quarter(3, 4, 9, 14)
        }
        var out: [UInt8] = []
        out.reserveCapacity(64)
        for i in 0..<16 {
            let v = x[i] &+ s[i]
            out += [UInt8(truncatingIfNeeded: v), UInt8(truncatingIfNeeded: v >> 8), UInt8(truncatingIfNeeded: v >> 16), UInt8(truncatingIfNeeded: v >> 24)]
        }
        return out
    }

    /// `data` XORed with the keystream from block `counter` on.
    public static func xor(_ data: [UInt8], key: [UInt8], nonce: [UInt8], counter: UInt32) -> [UInt8] {
        var out = data
        var blockCounter = counter
        var offset = 0
        while offset < data.count {
            let stream = block(key: key, nonce: nonce, counter: blockCounter)
            for i in 0..<min(64, data.count - offset) { out[offset + i] ^= stream[i] }
            offset += 64
            blockCounter &+= 1
        }
        return out
    }
}

/// The Poly1305 one-time authenticator (RFC 8439, section 2.5), in 26-bit
/// limbs with 64-bit products.
public enum Poly1305 {
    public static func authenticate(_ message: [UInt8], key: [UInt8]) -> [UInt8] {
        precondition(key.count == 32, "a Poly1305 key is 32 bytes")
        func le32(_ b: [UInt8], _ i: Int) -> UInt64 {
            UInt64(b[i]) | UInt64(b[i + 1]) << 8 | UInt64(b[i + 2]) << 16 | UInt64(b[i + 3]) << 24
        }
        // r, clamped, in five 26-bit limbs.
        let r0 = le32(key, 0) & 0x3ffffff
        let r1 = (le32(key, 3) >> 2) & 0x3ffff03
        let r2 = (le32(key, 6) >> 4) & 0x3ffc0ff
        let r3 = (le32(key, 9) >> 6) & 0x3f03fff
        let r4 = (le32(key, 12) >> 8) & 0x00fffff
        let s1 = r1 * 5, s2 = r2 * 5, s3 = r3 * 5, s4 = r4 * 5
        var h0: UInt64 = 0, h1: UInt64 = 0, h2: UInt64 = 0, h3: UInt64 = 0, h4: UInt64 = 0
        var offset = 0
        while offset < message.count {
            var block = [UInt8](repeating: 0, count: 17)
            let n = min(16, message.count - offset)
            for i in 0..<n { block[i] = message[offset + i] }
            block[n] = 1
            let hibit = UInt64(block[16]) << 24
            h0 += le32(block, 0) & 0x3ffffff
            h1 += (le32(block, 3) >> 2) & 0x3ffffff
            h2 += (le32(block, 6) >> 4) & 0x3ffffff
            h3 += (le32(block, 9) >> 6) & 0x3ffffff
            h4 += (le32(block, 12) >> 8) | hibit
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
            offset += 16
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
            let t = w + le32(key, 16 + i * 4) + carry
            carry = t >> 32
            out += [UInt8(truncatingIfNeeded: t), UInt8(truncatingIfNeeded: t >> 8), UInt8(truncatingIfNeeded: t >> 16), UInt8(truncatingIfNeeded: t >> 24)]
        }
        return out
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
