import Foundation
import MarginCore
import MarginCrypto

/// The keys a session derives from the team secret.
public enum SessionKeys {
    /// Noise's pre-shared key: HKDF-SHA256 of the team secret (salt
    /// "margin team secret v1"), or 32 zero bytes without one, which is for
    /// loopback and for pipes that something else (ssh) already secures.
    public static func psk(_ secret: [UInt8]) -> [UInt8] {
        guard !secret.isEmpty else { return [UInt8](repeating: 0, count: 32) }
        return HKDF.deriveKey(inputKeyMaterial: secret, salt: Array("margin team secret v1".utf8), info: [], length: 32)
    }

    /// The Noise prologue: the first six bytes of OPEN, so that a version
    /// altered on the way breaks the handshake.
    public static var prologue: [UInt8] {
        var w = ByteWriter()
        w.raw(Wire.magic)
        w.u16(Wire.protocolVersion)
        return w.bytes
    }

    /// What a node's key signs in its HELLO: the role it plays, then the
    /// handshake hash, which no other session shares.
    public static func identityMessage(signerIsClient: Bool, handshakeHash: [UInt8]) -> [UInt8] {
        Array("margin-session-v4 \(signerIsClient ? "client" : "server")".utf8) + handshakeHash
    }
}

/// A session's frames over a byte stream: the Noise handshake in clear
/// frames of at most `Wire.handshakeMaxFrame` bytes, then every frame
/// encrypted, in SEALED frames that each carry one Noise transport message.
/// Frames cut, reordered, replayed or altered fail to open, and the session
/// ends before anything in them is used. Also keeps the idle, handshake and
/// session deadlines.
final class SecureChannel {
    let stream: any ByteStream
    /// The frames and their sealing, without I/O.
    private var layer: SealedLayer
    /// Set once the peer has proven the team secret (server) or once this
    /// side has sent its last handshake message (client).
    var established: Bool { layer.established }
    private(set) var handshakeHash: [UInt8] = []
    let encrypts: Bool
    let idle: Double
    let sessionDeadline: Date
    let handshakeTimeout: Double
    private var handshakeDeadline: Date?
    private(set) var errorSent = false

    init(stream: any ByteStream, options: SyncOptions) {
        self.stream = stream
        layer = SealedLayer(maxFrame: options.maxFrame)
        encrypts = options.encryptsTransport
        idle = options.idleTimeout
        sessionDeadline = Date().addingTimeInterval(options.sessionTimeout)
        handshakeTimeout = options.handshakeTimeout
        handshakeDeadline = Date().addingTimeInterval(options.handshakeTimeout)
    }

    var deadline: Date { min(Date().addingTimeInterval(idle), sessionDeadline, handshakeDeadline ?? .distantFuture) }

    /// Why a wait ran out: the deadline that was reached.
    func timeoutMessage() -> String {
        if let h = handshakeDeadline, h <= Date() { return "the peer did not complete the handshake within \(Int(handshakeTimeout)) s" }
        if sessionDeadline <= Date() { return "the session reached its time limit" }
        return "the peer went silent for \(Int(idle)) s"
    }

    // MARK: Handshake

    /// The client's side: OPEN, the server's HANDSHAKE, then its own; the
    /// server's first SEALED frame is what proves it knows the secret.
    func clientHandshake(psk: [UInt8]) throws {
        var hs = Noise.Handshake(initiator: true, prologue: SessionKeys.prologue, staticPrivateKey: NodeKey.randomSeed(), psk: psk)
        try sendClear(.open(version: Wire.protocolVersion, noise: try noise { try hs.writeMessage([]) }))
        guard case .handshake(let second) = try receiveClear("HANDSHAKE") else { throw SyncError(.malformed, "expected HANDSHAKE") }
        guard try noise({ try hs.readMessage(second) }).isEmpty else { throw SyncError(.malformed, "handshake message 2 carries a payload") }
        try sendClear(.handshake(try noise { try hs.writeMessage([]) }))
        try establish(hs)
    }

    /// The server's side, up to the client's proof of the secret. A wrong
    /// proof costs the client its connection: one guess per connection.
    func serverHandshake(psk: [UInt8]) throws {
        guard case .open(let version, let first) = try receiveClear("OPEN") else { throw SyncError(.malformed, "expected OPEN") }
        if version != Wire.protocolVersion {
            let newer = version > Wire.protocolVersion ? "server" : "client"
            throw SyncError(.version, "sync protocol mismatch: the server speaks version \(Wire.protocolVersion), the client version \(version): upgrade margin on the \(newer)")
        }
        var hs = Noise.Handshake(initiator: false, prologue: SessionKeys.prologue, staticPrivateKey: NodeKey.randomSeed(), psk: psk)
        guard try noise({ try hs.readMessage(first) }).isEmpty else { throw SyncError(.malformed, "handshake message 1 carries a payload") }
        try sendClear(.handshake(try noise { try hs.writeMessage([]) }))
        guard case .handshake(let third) = try receiveClear("HANDSHAKE") else { throw SyncError(.malformed, "expected HANDSHAKE") }
        do {
            guard try hs.readMessage(third).isEmpty else { throw SyncError(.malformed, "handshake message 3 carries a payload") }
        } catch is Noise.HandshakeError {
            throw SyncError(.authentication, "authentication failed: wrong or missing team secret")
        }
        // The handshake limit runs on until HELLO is in (`authenticated`):
        // a peer with the secret cannot hold a session without proving who it is.
        try establish(hs)
    }

    private func noise<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let e as Noise.HandshakeError { throw SyncError(.malformed, "handshake failed: \(e.message)") }
    }

    private func establish(_ hs: Noise.Handshake) throws {
        let keys = try noise { try hs.transport() }
        handshakeHash = hs.handshakeHash
        layer.establish(encrypts ? keys : nil)
    }

    /// The peer has proven who it is: the handshake time limit is over.
    func authenticated() { handshakeDeadline = nil }

    // MARK: Frames

    private func sendClear(_ m: Message) throws { try write(Wire.frame(m)) }

    private func write(_ bytes: [UInt8]) throws {
        do { try stream.write(bytes, until: deadline) } catch let e as NetworkError { throw SyncError(.timeout, e.kind == .timeout ? timeoutMessage() : e.message) }
    }

    @discardableResult
    func send(_ m: Message) throws -> [UInt8] {
        let f = Wire.frame(m)
        try sendFrame(f)
        return f
    }

    /// Sends whole frames (one or more, already encoded) through the cipher,
    /// cut into Noise transport messages.
    func sendFrame(_ frame: [UInt8]) throws {
        let out: [UInt8]
        do { out = try layer.seal(frame) } catch let e as Noise.HandshakeError { throw SyncError(.internalError, e.message) }
        try write(out)
    }

    /// The next outer frame, decoded, before the channel is established.
    private func receiveClear(_ what: String) throws -> Message {
        let m = try decodeOuter(try nextOuter())
        if case .error(let code, let message) = m {
            throw SyncError(ErrorCode(rawValue: code) ?? .internalError, "the peer refused: \(message)", fromPeer: true)
        }
        return m
    }

    private func decodeOuter(_ f: (type: UInt8, payload: [UInt8])) throws -> Message {
        do { return try Wire.decode(type: f.type, payload: f.payload) } catch let e as WireError {
            throw SyncError(.malformed, "malformed message: \(e.message)")
        }
    }

    private func nextOuter() throws -> (type: UInt8, payload: [UInt8]) {
        while true {
            do {
                if let f = try layer.nextOuter() { return (f.type, f.payload) }
            } catch let e as WireError {
                throw SyncError(.malformed, "malformed message: \(e.message)")
            }
            let bytes: [UInt8]
            do {
                bytes = try stream.read(max: min(max(layer.wanted, 1 << 16), 1 << 20), until: deadline)
            } catch let e as NetworkError {
                throw SyncError(.timeout, e.kind == .timeout ? timeoutMessage() : e.message)
            }
            if bytes.isEmpty {
                throw SyncError(.malformed, layer.buffered.outer > 0 || layer.buffered.inner > 0 ? "the peer closed the connection in the middle of a frame"
                                                                                                 : "the peer closed the connection")
            }
            layer.append(bytes)
        }
    }

    /// The next message from inside the encryption. Before the first SEALED
    /// frame has opened, a clear ERROR is the peer's refusal (a wrong secret,
    /// a full server); after it, any clear frame ends the session.
    func receive() throws -> Message {
        guard established else { return try receiveClear("message") }
        while true {
            do {
                if let f = try layer.nextInner() { return try Wire.decode(type: f.type, payload: f.payload) }
            } catch let e as WireError {
                throw SyncError(.malformed, "malformed message: \(e.message)")
            }
            let f = try nextOuter()
            guard f.type == MessageType.sealed.rawValue else {
                if !layer.openedOne, f.type == MessageType.error.rawValue, case .error(let code, let message) = try decodeOuter(f) {
                    throw SyncError(ErrorCode(rawValue: code) ?? .internalError, "the peer refused: \(message)", fromPeer: true)
                }
                throw SyncError(.malformed, "a frame outside the encryption (type \(f.type)) in the middle of the session")
            }
            do {
                try layer.open(f.payload)
            } catch {
                if !layer.openedOne {
                    throw SyncError(.authentication, "authentication failed: the peer does not share this team secret")
                }
                throw SyncError(.authentication, "a frame failed authentication: it was altered, replayed, reordered or dropped on the way")
            }
        }
    }

    /// Tells the peer why the session ends; best effort, the peer may be gone.
    func fail(_ error: SyncError) -> SyncError {
        guard !errorSent, !error.fromPeer else { return error }
        errorSent = true
        let frame = Wire.frame(.error(code: error.code.rawValue, message: error.message))
        // Sealed once the handshake is over, in clear before it.
        if let out = try? layer.seal(frame) { _ = try? stream.write(out, until: Date().addingTimeInterval(2)) }
        return error
    }
}
