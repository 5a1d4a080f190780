/// The Noise Protocol Framework (revision 34), for the one pattern Margin
/// uses: Noise_XXpsk3_25519_ChaChaPoly_SHA256. Each node proves its static
/// key (its node identity), the team secret is the pre-shared key mixed in
/// at the end, and the two transport keys have forward secrecy. Pure: bytes
/// in, bytes out; the socket is someone else's.
public enum Noise {
    public static let protocolName = "Noise_XXpsk3_25519_ChaChaPoly_SHA256"

    public struct HandshakeError: Error, Equatable, CustomStringConvertible {
        public var message: String
        public init(_ message: String) { self.message = message }
        public var description: String { message }
    }

    /// A key and a nonce counter (Noise §5.1).
    public struct CipherState: Sendable {
        var key: [UInt8]?
        var nonce: UInt64 = 0

        /// Without a key it passes messages through unchanged (Noise §5.1).
        public init(key: [UInt8]? = nil) { self.key = key }

        static func nonceBytes(_ n: UInt64) -> [UInt8] {
            [0, 0, 0, 0] + (0..<8).map { UInt8(truncatingIfNeeded: n >> UInt64(8 * $0)) }
        }

        public mutating func encrypt(_ plaintext: [UInt8], ad: [UInt8] = []) throws -> [UInt8] {
            guard let key else { return plaintext }
            guard nonce < UInt64.max else { throw HandshakeError("the session has used every nonce") }
            defer { nonce += 1 }
            return ChaChaPoly.seal(plaintext, key: key, nonce: CipherState.nonceBytes(nonce), aad: ad)
        }

        public mutating func decrypt(_ ciphertext: [UInt8], ad: [UInt8] = []) throws -> [UInt8] {
            guard let key else { return ciphertext }
            guard nonce < UInt64.max else { throw HandshakeError("the session has used every nonce") }
            guard let plaintext = ChaChaPoly.open(ciphertext, key: key, nonce: CipherState.nonceBytes(nonce), aad: ad) else {
                throw HandshakeError("a message failed authentication (altered, replayed, reordered or from someone without the key)")
            }
            nonce += 1
            return plaintext
        }
    }

    /// The chaining key, the handshake hash and the cipher (Noise §5.2).
    struct SymmetricState {
        var ck: [UInt8]
        var h: [UInt8]
        var cipher = CipherState()

        init(protocolName: String) {
            let name = Array(protocolName.utf8)
            h = name.count <= 32 ? name + [UInt8](repeating: 0, count: 32 - name.count) : SHA256.hash(name)
            ck = h
        }

        static func hkdf(_ ck: [UInt8], _ ikm: [UInt8], _ outputs: Int) -> [[UInt8]] {
            let out = HKDF.deriveKey(inputKeyMaterial: ikm, salt: ck, info: [], length: 32 * outputs)
            return (0..<outputs).map { Array(out[($0 * 32)..<($0 * 32 + 32)]) }
        }

        mutating func mixHash(_ data: [UInt8]) { h = SHA256.hash(h + data) }

        mutating func mixKey(_ ikm: [UInt8]) {
            let o = SymmetricState.hkdf(ck, ikm, 2)
            ck = o[0]
            cipher = CipherState(key: o[1])
        }

        mutating func mixKeyAndHash(_ ikm: [UInt8]) {
            let o = SymmetricState.hkdf(ck, ikm, 3)
            ck = o[0]
            mixHash(o[1])
            cipher = CipherState(key: o[2])
        }

        mutating func encryptAndHash(_ plaintext: [UInt8]) throws -> [UInt8] {
            let c = try cipher.encrypt(plaintext, ad: h)
            mixHash(c)
            return c
        }

        mutating func decryptAndHash(_ ciphertext: [UInt8]) throws -> [UInt8] {
            let p = try cipher.decrypt(ciphertext, ad: h)
            mixHash(ciphertext)
            return p
        }

        func split() -> (CipherState, CipherState) {
            let o = SymmetricState.hkdf(ck, [], 2)
            return (CipherState(key: o[0]), CipherState(key: o[1]))
        }
    }

    /// The XXpsk3 handshake, either side:
    ///
    ///     -> e
    ///     <- e, ee, s, es
    ///     -> s, se, psk
    ///
    /// With a pre-shared key, each `e` also mixes the ephemeral key into the
    /// cipher key (Noise §9.2), so even the first payload is encrypted.
    public struct Handshake {
        public let initiator: Bool
        var symmetric: SymmetricState
        let staticKey: [UInt8], staticPublic: [UInt8]
        let ephemeralKey: [UInt8], ephemeralPublic: [UInt8]
        let psk: [UInt8]
        public private(set) var remoteStatic: [UInt8]?
        var remoteEphemeral: [UInt8]?
        var step = 0

        /// `ephemeral` is for tests that replay published vectors; a session
        /// takes a fresh one.
        public init(initiator: Bool, prologue: [UInt8], staticPrivateKey: [UInt8], psk: [UInt8], ephemeral: [UInt8]? = nil) {
            precondition(psk.count == 32 && staticPrivateKey.count == 32, "Noise keys are 32 bytes")
            self.initiator = initiator
            symmetric = SymmetricState(protocolName: Noise.protocolName)
            symmetric.mixHash(prologue)
            staticKey = staticPrivateKey
            staticPublic = X25519.publicKey(privateKey: staticPrivateKey)
            var g = SystemRandomNumberGenerator()
            ephemeralKey = ephemeral ?? (0..<32).map { _ in UInt8.random(in: 0...255, using: &g) }
            ephemeralPublic = X25519.publicKey(privateKey: ephemeralKey)
            self.psk = psk
        }

        /// Whether the three messages have been exchanged.
        public var isComplete: Bool { step == 3 }
        /// The handshake hash, which both sides share once it is complete.
        public var handshakeHash: [UInt8] { symmetric.h }

        func dh(_ privateKey: [UInt8], _ publicKey: [UInt8]?) throws -> [UInt8] {
            guard let publicKey else { throw HandshakeError("a handshake key is missing") }
            let shared = X25519.sharedSecret(privateKey: privateKey, publicKey: publicKey)
            guard !X25519.isAllZero(shared) else { throw HandshakeError("the peer sent a key of small order") }
            return shared
        }

        public mutating func writeMessage(_ payload: [UInt8]) throws -> [UInt8] {
            var out: [UInt8] = []
            switch (step, initiator) {
            case (0, true):
                out += ephemeralPublic
                symmetric.mixHash(ephemeralPublic)
                symmetric.mixKey(ephemeralPublic)
            case (1, false):
                out += ephemeralPublic
                symmetric.mixHash(ephemeralPublic)
                symmetric.mixKey(ephemeralPublic)
                symmetric.mixKey(try dh(ephemeralKey, remoteEphemeral))      // ee
                out += try symmetric.encryptAndHash(staticPublic)            // s
                symmetric.mixKey(try dh(staticKey, remoteEphemeral))         // es
            case (2, true):
                out += try symmetric.encryptAndHash(staticPublic)            // s
                symmetric.mixKey(try dh(staticKey, remoteEphemeral))         // se
                symmetric.mixKeyAndHash(psk)                                 // psk
            default:
                throw HandshakeError("no handshake message to write now")
            }
            out += try symmetric.encryptAndHash(payload)
            step += 1
            return out
        }

        public mutating func readMessage(_ message: [UInt8]) throws -> [UInt8] {
            var rest = message[...]
            func take(_ n: Int) throws -> [UInt8] {
                guard rest.count >= n else { throw HandshakeError("a handshake message is too short") }
                defer { rest = rest.dropFirst(n) }
                return Array(rest.prefix(n))
            }
            switch (step, initiator) {
            case (0, false):
                let re = try take(32)
                remoteEphemeral = re
                symmetric.mixHash(re)
                symmetric.mixKey(re)
            case (1, true):
                let re = try take(32)
                remoteEphemeral = re
                symmetric.mixHash(re)
                symmetric.mixKey(re)
                symmetric.mixKey(try dh(ephemeralKey, re))                   // ee
                remoteStatic = try symmetric.decryptAndHash(try take(48))    // s
                symmetric.mixKey(try dh(ephemeralKey, remoteStatic))         // es
            case (2, false):
                remoteStatic = try symmetric.decryptAndHash(try take(48))    // s
                symmetric.mixKey(try dh(ephemeralKey, remoteStatic))         // se
                symmetric.mixKeyAndHash(psk)                                 // psk
            default:
                throw HandshakeError("no handshake message to read now")
            }
            let payload = try symmetric.decryptAndHash(Array(rest))
            step += 1
            return payload
        }

        /// The transport keys, once the handshake is complete: what this
        /// side sends with, and what it receives with.
        public func transport() throws -> (send: CipherState, receive: CipherState) {
            guard isComplete else { throw HandshakeError("the handshake is not complete") }
            let (c1, c2) = symmetric.split()
            return initiator ? (c1, c2) : (c2, c1)
        }
    }
}
