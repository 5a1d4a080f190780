/// X25519 Diffie-Hellman (RFC 7748), over the same field as Ed25519: the key
/// agreement of the Noise handshake that encrypts sync sessions. The
/// Montgomery ladder swaps with masks, so its work does not depend on the
/// secret scalar.
public enum X25519 {
    public static let keyLength = 32
    /// The u-coordinate of the base point, 9.
    public static let basePoint: [UInt8] = [9] + [UInt8](repeating: 0, count: 31)

    /// The public key of a 32-byte private key.
    public static func publicKey(privateKey: [UInt8]) -> [UInt8] {
        scalarMultiply(privateKey, basePoint)
    }

    /// The shared secret of `privateKey` and a peer's `publicKey`. All zero
    /// when the peer's key is a point of small order; callers that must
    /// refuse that check `isAllZero`.
    public static func sharedSecret(privateKey: [UInt8], publicKey: [UInt8]) -> [UInt8] {
        scalarMultiply(privateKey, publicKey)
    }

    public static func isAllZero(_ b: [UInt8]) -> Bool { b.reduce(0) { $0 | $1 } == 0 }

    /// RFC 7748, section 5: clamp the scalar, ladder over bits 254 … 0.
    static func scalarMultiply(_ scalar: [UInt8], _ u: [UInt8]) -> [UInt8] {
        precondition(scalar.count == 32 && u.count == 32, "X25519 takes 32-byte inputs")
        var k = scalar
        k[0] &= 248
        k[31] &= 127
        k[31] |= 64
        let x1 = FieldElement(bytes: u)
        var x2 = FieldElement.one, z2 = FieldElement.zero, x3 = x1, z3 = FieldElement.one
        var swap: UInt64 = 0
        let a24 = FieldElement(v0: 121665, v1: 0, v2: 0, v3: 0, v4: 0)
        for t in stride(from: 254, through: 0, by: -1) {
            let bit = UInt64((k[t >> 3] >> UInt8(t & 7)) & 1)
            swap ^= bit
            (x2, x3) = (FieldElement.select(x2, x3, swap), FieldElement.select(x3, x2, swap))
            (z2, z3) = (FieldElement.select(z2, z3, swap), FieldElement.select(z3, z2, swap))
            swap = bit
            let a = x2.adding(z2), aa = a.squared()
            let b = x2.subtracting(z2), bb = b.squared()
            let e = aa.subtracting(bb)
            let c = x3.adding(z3), d = x3.subtracting(z3)
            let da = d.multiplied(by: a), cb = c.multiplied(by: b)
            x3 = da.adding(cb).squared()
            z3 = x1.multiplied(by: da.subtracting(cb).squared())
            x2 = aa.multiplied(by: bb)
            z2 = e.multiplied(by: aa.adding(a24.multiplied(by: e)))
        }
        (x2, x3) = (FieldElement.select(x2, x3, swap), FieldElement.select(x3, x2, swap))
        (z2, z3) = (FieldElement.select(z2, z3, swap), FieldElement.select(z3, z2, swap))
        return x2.multiplied(by: z2.inverted()).bytes
    }
}
