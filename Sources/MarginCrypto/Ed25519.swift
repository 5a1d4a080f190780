/// Ed25519 signatures (RFC 8032, section 5.1), written by hand as the
/// project's rule is. Each Margin node signs its change log's chain heads
/// with its key; every node verifies them, so no peer or relay can forge or
/// alter a change.
///
/// Signing handles secrets (the seed, the scalar, the nonce) with fixed
/// sequences of operations: no branch and no table index depends on them.
/// Field elements are five 51-bit limbs; points use extended coordinates.
public enum Ed25519 {
    public static let seedLength = 32
    public static let publicKeyLength = 32
    public static let signatureLength = 64

    /// The public key of a 32-byte secret seed.
    public static func publicKey(seed: [UInt8]) -> [UInt8] {
        precondition(seed.count == seedLength, "an Ed25519 seed is 32 bytes")
        let (a, _) = expand(seed)
        return Point.baseMultiple(a).encoded()
    }

    /// The signature of `message` under the key of `seed`.
    /// `publicKey`, when the caller has it, saves computing it again.
    public static func sign(_ message: [UInt8], seed: [UInt8], publicKey known: [UInt8]? = nil) -> [UInt8] {
        precondition(seed.count == seedLength, "an Ed25519 seed is 32 bytes")
        let (a, prefix) = expand(seed)
        let publicKey = known ?? Point.baseMultiple(a).encoded()
        let r = Scalar.reduce(SHA512.hash(prefix + message))
        let rEncoded = Point.baseMultiple(r.bytes).encoded()
        let k = Scalar.reduce(SHA512.hash(rEncoded + publicKey + message))
        let s = Scalar.multiplyAdd(k, Scalar(bytes: a), r)
        return rEncoded + s.bytes
    }

    /// Whether `signature` is a valid signature of `message` by `publicKey`:
    /// S canonical (below the group order), A a valid point encoding, and
    /// the encoding of [S]B - [k]A equal to R, byte for byte.
    public static func verify(_ signature: [UInt8], of message: [UInt8], publicKey: [UInt8]) -> Bool {
        guard signature.count == signatureLength, publicKey.count == publicKeyLength else { return false }
        let rEncoded = Array(signature[0..<32]), sBytes = Array(signature[32..<64])
        guard Scalar.isCanonical(sBytes), let a = Point(decoding: publicKey) else { return false }
        let k = Scalar.reduce(SHA512.hash(rEncoded + publicKey + message))
        // S, k and A are public: the multiples are taken in variable time.
        let check = Point.publicBaseMultiple(sBytes).adding(a.negated().multiplied(byPublic: k.bytes))
        return check.encoded() == rEncoded
    }

    /// The clamped secret scalar and the nonce prefix (RFC 8032, 5.1.5).
    static func expand(_ seed: [UInt8]) -> (scalar: [UInt8], prefix: [UInt8]) {
        let h = SHA512.hash(seed)
        var a = Array(h[0..<32])
        a[0] &= 248
        a[31] &= 127
        a[31] |= 64
        return (a, Array(h[32..<64]))
    }
}

// MARK: - The field GF(2^255 - 19)

struct FieldElement {
    var v0, v1, v2, v3, v4: UInt64

    static let mask: UInt64 = (1 << 51) - 1
    static let zero = FieldElement(v0: 0, v1: 0, v2: 0, v3: 0, v4: 0)
    static let one = FieldElement(v0: 1, v1: 0, v2: 0, v3: 0, v4: 0)
    /// d = -121665/121666 and sqrt(-1), little-endian (checked in tests).
    static let d = FieldElement(bytes: hex("a3785913ca4deb75abd841414d0a700098e879777940c78c73fe6f2bee6c0352"))
    static let d2 = d.adding(d)
    static let sqrtMinusOne = FieldElement(bytes: hex("b0a00e4a271beec478e42fad0618432fa7d7fb3d99004d2b0bdfc14f8024832b"))

    static func hex(_ s: String) -> [UInt8] { MarginCrypto.bytes(fromHex: s) ?? [] }

    init(v0: UInt64, v1: UInt64, v2: UInt64, v3: UInt64, v4: UInt64) {
        self.v0 = v0; self.v1 = v1; self.v2 = v2; self.v3 = v3; self.v4 = v4
    }

    /// The low 255 bits of 32 little-endian bytes (the top bit is ignored).
    init(bytes b: [UInt8]) {
        func word(_ i: Int) -> UInt64 {
            var w: UInt64 = 0
            for j in (0..<8).reversed() { w = w << 8 | UInt64(b[i * 8 + j]) }
            return w
        }
        let w0 = word(0), w1 = word(1), w2 = word(2), w3 = word(3)
        let m = FieldElement.mask
        self.init(v0: w0 & m, v1: (w0 >> 51 | w1 << 13) & m, v2: (w1 >> 38 | w2 << 26) & m,
                  v3: (w2 >> 25 | w3 << 39) & m, v4: (w3 >> 12) & m)
    }

    /// Carries each limb's excess into the next, the top one's times 19.
    func carried() -> FieldElement {
        let m = FieldElement.mask
        var r = self
        var c = r.v0 >> 51; r.v0 &= m; r.v1 &+= c
        c = r.v1 >> 51; r.v1 &= m; r.v2 &+= c
        c = r.v2 >> 51; r.v2 &= m; r.v3 &+= c
        c = r.v3 >> 51; r.v3 &= m; r.v4 &+= c
        c = r.v4 >> 51; r.v4 &= m; r.v0 &+= c &* 19
        c = r.v0 >> 51; r.v0 &= m; r.v1 &+= c
        return r
    }

    func adding(_ b: FieldElement) -> FieldElement {
        FieldElement(v0: v0 &+ b.v0, v1: v1 &+ b.v1, v2: v2 &+ b.v2, v3: v3 &+ b.v3, v4: v4 &+ b.v4).carried()
    }

    /// a - b, computed as a + 4p - b so no limb goes below zero.
    func subtracting(_ b: FieldElement) -> FieldElement {
        let b = b.carried()
        let p0: UInt64 = 0x1F_FFFF_FFFF_FFB4, pi: UInt64 = 0x1F_FFFF_FFFF_FFFC
        return FieldElement(v0: v0 &+ p0 &- b.v0, v1: v1 &+ pi &- b.v1, v2: v2 &+ pi &- b.v2,
                            v3: v3 &+ pi &- b.v3, v4: v4 &+ pi &- b.v4).carried()
    }

    func negated() -> FieldElement { FieldElement.zero.subtracting(self) }

    func multiplied(by b: FieldElement) -> FieldElement {
        let a = carried(), b = b.carried()
        @inline(__always) func m(_ x: UInt64, _ y: UInt64) -> UInt128 { UInt128(x) &* UInt128(y) }
        let b1 = b.v1 &* 19, b2 = b.v2 &* 19, b3 = b.v3 &* 19, b4 = b.v4 &* 19
        var r0 = m(a.v0, b.v0) &+ m(a.v1, b4) &+ m(a.v2, b3) &+ m(a.v3, b2) &+ m(a.v4, b1)
        var r1 = m(a.v0, b.v1) &+ m(a.v1, b.v0) &+ m(a.v2, b4) &+ m(a.v3, b3) &+ m(a.v4, b2)
        var r2 = m(a.v0, b.v2) &+ m(a.v1, b.v1) &+ m(a.v2, b.v0) &+ m(a.v3, b4) &+ m(a.v4, b3)
        var r3 = m(a.v0, b.v3) &+ m(a.v1, b.v2) &+ m(a.v2, b.v1) &+ m(a.v3, b.v0) &+ m(a.v4, b4)
        var r4 = m(a.v0, b.v4) &+ m(a.v1, b.v3) &+ m(a.v2, b.v2) &+ m(a.v3, b.v1) &+ m(a.v4, b.v0)
        let mask = UInt128(FieldElement.mask)
        r1 &+= r0 >> 51; r0 &= mask
        r2 &+= r1 >> 51; r1 &= mask
        r3 &+= r2 >> 51; r2 &= mask
        r4 &+= r3 >> 51; r3 &= mask
        let top = r4 >> 51; r4 &= mask
        r0 &+= top &* 19
        return FieldElement(v0: UInt64(truncatingIfNeeded: r0), v1: UInt64(truncatingIfNeeded: r1), v2: UInt64(truncatingIfNeeded: r2),
                            v3: UInt64(truncatingIfNeeded: r3), v4: UInt64(truncatingIfNeeded: r4)).carried()
    }

    func squared() -> FieldElement { multiplied(by: self) }

    func squared(times n: Int) -> FieldElement {
        var r = self
        for _ in 0..<n { r = r.squared() }
        return r
    }

    /// self^(2^250 - 1) and self^11, the shared start of both exponent chains.
    private func chain250() -> (FieldElement, FieldElement) {
        let z2 = squared()
        let z9 = z2.squared(times: 2).multiplied(by: self)
        let z11 = z9.multiplied(by: z2)
        let z2_5 = z11.squared().multiplied(by: z9)
        let z2_10 = z2_5.squared(times: 5).multiplied(by: z2_5)
        let z2_20 = z2_10.squared(times: 10).multiplied(by: z2_10)
        let z2_40 = z2_20.squared(times: 20).multiplied(by: z2_20)
        let z2_50 = z2_40.squared(times: 10).multiplied(by: z2_10)
        let z2_100 = z2_50.squared(times: 50).multiplied(by: z2_50)
        let z2_200 = z2_100.squared(times: 100).multiplied(by: z2_100)
        let z2_250 = z2_200.squared(times: 50).multiplied(by: z2_50)
        return (z2_250, z11)
    }

    /// self^(p - 2) = 1/self (0 for 0).
    func inverted() -> FieldElement {
        let (z2_250, z11) = chain250()
        return z2_250.squared(times: 5).multiplied(by: z11)
    }

    /// self^((p - 5) / 8) = self^(2^252 - 3), for square roots.
    func powP58() -> FieldElement {
        chain250().0.squared(times: 2).multiplied(by: self)
    }

    /// The canonical 32-byte little-endian encoding (fully reduced mod p).
    var bytes: [UInt8] {
        var t = carried().carried()
        // t < 2p here; subtract p once if t >= p, without branching.
        var q = (t.v0 &+ 19) >> 51
        q = (t.v1 &+ q) >> 51
        q = (t.v2 &+ q) >> 51
        q = (t.v3 &+ q) >> 51
        q = (t.v4 &+ q) >> 51
        t.v0 &+= 19 &* q
        let m = FieldElement.mask
        t.v1 &+= t.v0 >> 51; t.v0 &= m
        t.v2 &+= t.v1 >> 51; t.v1 &= m
        t.v3 &+= t.v2 >> 51; t.v2 &= m
        t.v4 &+= t.v3 >> 51; t.v3 &= m
        t.v4 &= m
        let words = [t.v0 | t.v1 << 51, t.v1 >> 13 | t.v2 << 38, t.v2 >> 26 | t.v3 << 25, t.v3 >> 39 | t.v4 << 12]
        var out: [UInt8] = []
        out.reserveCapacity(32)
        for w in words { for j in 0..<8 { out.append(UInt8(truncatingIfNeeded: w >> UInt64(8 * j))) } }
        return out
    }

    var isNegative: Bool { bytes[0] & 1 == 1 }
    var isZero: Bool { bytes.allSatisfy { $0 == 0 } }

    /// `b` where `flag` is 1, `a` where it is 0, with no branch on `flag`.
    static func select(_ a: FieldElement, _ b: FieldElement, _ flag: UInt64) -> FieldElement {
        let m = 0 &- flag
        return FieldElement(v0: a.v0 ^ (m & (a.v0 ^ b.v0)), v1: a.v1 ^ (m & (a.v1 ^ b.v1)), v2: a.v2 ^ (m & (a.v2 ^ b.v2)),
                            v3: a.v3 ^ (m & (a.v3 ^ b.v3)), v4: a.v4 ^ (m & (a.v4 ^ b.v4)))
    }
}

// MARK: - The curve (twisted Edwards, extended coordinates)

struct Point {
    var x, y, z, t: FieldElement

    static let identity = Point(x: .zero, y: .one, z: .one, t: .zero)
    /// B: y = 4/5, x positive.
    static let base: Point = {
        guard let b = Point(decoding: FieldElement.hex("5866666666666666666666666666666666666666666666666666666666666666")) else {
            preconditionFailure("the Ed25519 base point must decode")
        }
        return b
    }()

    init(x: FieldElement, y: FieldElement, z: FieldElement, t: FieldElement) {
        self.x = x; self.y = y; self.z = z; self.t = t
    }

    /// RFC 8032, 5.1.3. Nil for an encoding of no point, or a y ≥ p.
    init?(decoding b: [UInt8]) {
        guard b.count == 32 else { return nil }
        let y = FieldElement(bytes: b)
        var canonical = y.bytes
        canonical[31] |= b[31] & 0x80
        guard canonical == b else { return nil }
        let sign = UInt64(b[31] >> 7)
        let yy = y.squared()
        let u = yy.subtracting(.one)
        let v = yy.multiplied(by: .d).adding(.one)
        let v3 = v.squared().multiplied(by: v)
        var x = u.multiplied(by: v3).multiplied(by: u.multiplied(by: v3.squared().multiplied(by: v)).powP58())
        let vxx = v.multiplied(by: x.squared())
        if vxx.subtracting(u).isZero {
            // x is a root
        } else if vxx.adding(u).isZero {
            x = x.multiplied(by: .sqrtMinusOne)
        } else {
            return nil
        }
        if x.isZero && sign == 1 { return nil }
        if (x.isNegative ? 1 : 0) != sign { x = x.negated() }
        self.init(x: x, y: y, z: .one, t: x.multiplied(by: y))
    }

    func encoded() -> [UInt8] {
        let zi = z.inverted()
        let xa = x.multiplied(by: zi), ya = y.multiplied(by: zi)
        var out = ya.bytes
        out[31] ^= (xa.isNegative ? 1 : 0) << 7
        return out
    }

    func negated() -> Point { Point(x: x.negated(), y: y, z: z, t: t.negated()) }

    /// RFC 8032, 5.1.4 (add-2008-hwcd-3).
    func adding(_ q: Point) -> Point {
        let a = y.subtracting(x).multiplied(by: q.y.subtracting(q.x))
        let b = y.adding(x).multiplied(by: q.y.adding(q.x))
        let c = t.multiplied(by: FieldElement.d2).multiplied(by: q.t)
        let d = z.adding(z).multiplied(by: q.z)
        let e = b.subtracting(a), f = d.subtracting(c), g = d.adding(c), h = b.adding(a)
        return Point(x: e.multiplied(by: f), y: g.multiplied(by: h), z: f.multiplied(by: g), t: e.multiplied(by: h))
    }

    /// RFC 8032, 5.1.4 (dbl-2008-hwcd).
    func doubled() -> Point {
        let a = x.squared(), b = y.squared()
        let c = z.squared().adding(z.squared())
        let h = a.adding(b)
        let e = h.subtracting(x.adding(y).squared())
        let g = a.subtracting(b)
        let f = c.adding(g)
        return Point(x: e.multiplied(by: f), y: g.multiplied(by: h), z: f.multiplied(by: g), t: e.multiplied(by: h))
    }

    static func select(_ a: Point, _ b: Point, _ flag: UInt64) -> Point {
        Point(x: .select(a.x, b.x, flag), y: .select(a.y, b.y, flag), z: .select(a.z, b.z, flag), t: .select(a.t, b.t, flag))
    }

    /// j · 16^i · B for i in 0..<64, j in 0..<16: the base point's multiples
    /// by each 4-bit digit at each position, computed once.
    static let baseTable: [[Point]] = {
        var table: [[Point]] = []
        var power = base
        for _ in 0..<64 {
            var row = [identity]
            for _ in 1..<16 { row.append(row[row.count - 1].adding(power)) }
            table.append(row)
            for _ in 0..<4 { power = power.doubled() }
        }
        return table
    }()

    /// [k]B by 4-bit digits from the table: each digit's entry is taken by
    /// a scan that touches all sixteen, so which one is taken leaves no
    /// trace in time or memory access.
    static func baseMultiple(_ k: [UInt8]) -> Point {
        var q = identity
        for i in 0..<64 {
            let digit = UInt64((k[i >> 1] >> UInt8((i & 1) * 4)) & 0x0f)
            var entry = identity
            for (j, candidate) in baseTable[i].enumerated() {
                let equal = UInt64(truncatingIfNeeded: ((UInt64(j) ^ digit) &- 1) >> 63)
                entry = select(entry, candidate, equal)
            }
            q = q.adding(entry)
        }
        return q
    }

    /// [k]B for a public scalar (a signature's S): each nonzero 4-bit
    /// digit's entry read straight from the table. Its time depends on k:
    /// for verification only, never for a secret (`baseMultiple`).
    static func publicBaseMultiple(_ k: [UInt8]) -> Point {
        var q = identity
        for i in 0..<64 {
            let digit = Int((k[i >> 1] >> UInt8((i & 1) * 4)) & 0x0f)
            if digit != 0 { q = q.adding(baseTable[i][digit]) }
        }
        return q
    }

    /// [k]self for a public scalar (a verification's k): by 4-bit digits
    /// from the top, four doublings and at most one addition of a
    /// precomputed multiple per digit (about 250 doublings and 80
    /// additions where `multiplied(by:)` does 256 of each). Its time
    /// depends on k: never for a secret.
    func multiplied(byPublic k: [UInt8]) -> Point {
        var multiples = [Point.identity, self]
        for _ in 2..<16 { multiples.append(multiples[multiples.count - 1].adding(self)) }
        var q = Point.identity
        var started = false
        for i in stride(from: 63, through: 0, by: -1) {
            if started { q = q.doubled().doubled().doubled().doubled() }
            let digit = Int((k[i >> 1] >> UInt8((i & 1) * 4)) & 0x0f)
            if digit != 0 {
                q = q.adding(multiples[digit])
                started = true
            }
        }
        return q
    }

    /// [k]self for a 32-byte little-endian scalar: double and always add,
    /// keeping the sum only where the bit is set, so the work done does not
    /// depend on the scalar.
    func multiplied(by k: [UInt8]) -> Point {
        var q = Point.identity
        for i in stride(from: 255, through: 0, by: -1) {
            q = q.doubled()
            let bit = UInt64((k[i >> 3] >> UInt8(i & 7)) & 1)
            q = Point.select(q, q.adding(self), bit)
        }
        return q
    }
}

// MARK: - Scalars modulo the group order L

struct Scalar {
    /// Four 64-bit limbs, little-endian, below L.
    var limbs: [UInt64]

    /// L = 2^252 + 27742317777372353535851937790883648493.
    static let order: [UInt64] = [0x5812631a5cf5d3ed, 0x14def9dea2f79cd6, 0, 0x1000000000000000]

    init(limbs: [UInt64]) { self.limbs = limbs }

    /// Reads 32 little-endian bytes as they are (a clamped secret scalar).
    init(bytes b: [UInt8]) {
        limbs = (0..<4).map { i in (0..<8).reversed().reduce(UInt64(0)) { $0 << 8 | UInt64(b[i * 8 + $1]) } }
    }

    var bytes: [UInt8] { limbs.flatMap { w in (0..<8).map { UInt8(truncatingIfNeeded: w >> UInt64(8 * $0)) } } }

    /// Whether 32 bytes encode a number below L (public data only).
    static func isCanonical(_ b: [UInt8]) -> Bool {
        let s = Scalar(bytes: b).limbs
        for i in (0..<4).reversed() where s[i] != order[i] { return s[i] < order[i] }
        return false
    }

    /// A 64-byte little-endian number modulo L.
    static func reduce(_ b: [UInt8]) -> Scalar {
        let words = (0..<8).map { i in (0..<8).reversed().reduce(UInt64(0)) { $0 << 8 | UInt64(b[i * 8 + $1]) } }
        return reduce(words)
    }

    /// Eight 64-bit limbs modulo L, by binary long division: at each shift,
    /// subtract L·2^shift and keep the difference only where it did not go
    /// below zero. Every step runs whatever the number, so secret scalars
    /// and nonces are reduced in constant time.
    static func reduce(_ x: [UInt64]) -> Scalar {
        // The number, L shifted and the difference in stack buffers, not
        // arrays made at each of the 260 steps (a signature reduces twice).
        withUnsafeTemporaryAllocation(of: UInt64.self, capacity: 27) { buffer in
            let r = UnsafeMutableBufferPointer(rebasing: buffer[0..<9])
            let shifted = UnsafeMutableBufferPointer(rebasing: buffer[9..<18])
            let difference = UnsafeMutableBufferPointer(rebasing: buffer[18..<27])
            for i in 0..<9 { r[i] = i < x.count ? x[i] : 0 }
            for shift in stride(from: 259, through: 0, by: -1) {
                // L shifted left by `shift` bits, over nine limbs.
                for i in 0..<9 { shifted[i] = 0 }
                let limbShift = shift / 64, bitShift = UInt64(shift % 64)
                for i in 0..<4 {
                    shifted[i + limbShift] |= order[i] << bitShift
                    if bitShift > 0 && i + limbShift + 1 < 9 { shifted[i + limbShift + 1] |= order[i] >> (64 - bitShift) }
                }
                var borrow: UInt64 = 0
                for i in 0..<9 {
                    // In 128 bits, so the borrow is arithmetic, not a flag.
                    let d = UInt128(r[i]) &- UInt128(shifted[i]) &- UInt128(borrow)
                    difference[i] = UInt64(truncatingIfNeeded: d)
                    borrow = UInt64(truncatingIfNeeded: d >> 127)
                }
                let keep = 0 &- (1 &- borrow)   // all ones when no borrow: r >= L·2^shift
                for i in 0..<9 { r[i] = r[i] ^ (keep & (r[i] ^ difference[i])) }
            }
            return Scalar(limbs: [r[0], r[1], r[2], r[3]])
        }
    }

    /// (k·a + r) mod L, in constant time.
    static func multiplyAdd(_ k: Scalar, _ a: Scalar, _ r: Scalar) -> Scalar {
        var product = [UInt64](repeating: 0, count: 8)
        for i in 0..<4 {
            var carry: UInt128 = 0
            for j in 0..<4 {
                let t = UInt128(k.limbs[i]) &* UInt128(a.limbs[j]) &+ UInt128(product[i + j]) &+ carry
                product[i + j] = UInt64(truncatingIfNeeded: t)
                carry = t >> 64
            }
            product[i + 4] = UInt64(truncatingIfNeeded: carry)
        }
        var carry: UInt128 = 0
        for i in 0..<8 {
            let s = UInt128(product[i]) &+ UInt128(i < 4 ? r.limbs[i] : 0) &+ carry
            product[i] = UInt64(truncatingIfNeeded: s)
            carry = s >> 64
        }
        return reduce(product)
    }
}
