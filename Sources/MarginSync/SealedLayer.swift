import MarginCrypto

/// The encrypted layer of a session (PROTOCOL.md §5), with no I/O: whole
/// frames in, the bytes of SEALED frames out; bytes from the wire in,
/// frames out. Before `establish` frames pass in clear (the handshake);
/// after it, each Noise transport message is one SEALED frame carrying at
/// most `Wire.sealedPlaintextMax` bytes of the frames inside. The socket
/// session (`SecureChannel`), the tests' hand-driven peer and the fuzzers
/// all use this one implementation.
public struct SealedLayer {
    private var outer = FrameDecoder(maxFrame: Wire.handshakeMaxFrame)
    private var inner: FrameDecoder
    private var sender = Noise.CipherState()
    private var receiver = Noise.CipherState()
    /// The handshake is over: frames are sealed and opened from now on.
    public private(set) var established = false
    /// A SEALED frame from the peer has opened: it knows the team secret.
    public private(set) var openedOne = false

    /// `maxFrame`: the largest frame inside the encryption.
    public init(maxFrame: Int = Wire.defaultMaxFrame) { inner = FrameDecoder(maxFrame: maxFrame) }

    /// Starts sealing with the handshake's transport keys (nil: a transport
    /// that something else secures, whose SEALED frames carry plaintext).
    public mutating func establish(_ keys: (send: Noise.CipherState, receive: Noise.CipherState)?) {
        if let keys { (sender, receiver) = keys }
        established = true
        outer.maxFrame = 1 + 65535
    }

    /// `frames` (whole frames, one or more) as they go on the wire.
    public mutating func seal(_ frames: [UInt8]) throws -> [UInt8] {
        guard established else { return frames }
        var out: [UInt8] = []
        out.reserveCapacity(frames.count + (frames.count / Wire.sealedPlaintextMax + 1) * 21)
        var offset = 0
        while offset < frames.count {
            let end = min(frames.count, offset + Wire.sealedPlaintextMax)
            let sealed = try sender.encrypt(Array(frames[offset..<end]))
            out += Wire.frameHeader(type: MessageType.sealed.rawValue, payloadCount: sealed.count)
            out += sealed
            offset = end
        }
        return out
    }

    /// Bytes read from the wire.
    public mutating func append(_ bytes: [UInt8]) { outer.append(bytes) }

    /// How many more bytes the next outer frame needs.
    public var wanted: Int { outer.wanted }
    /// Bytes held that are not yet a whole frame, outside and inside.
    public var buffered: (outer: Int, inner: Int) { (outer.buffered, inner.buffered) }

    /// The next frame on the wire (a SEALED one unopened), or nil when more
    /// bytes are needed. Throws `WireError` for a frame over the limit.
    public mutating func nextOuter() throws -> (type: UInt8, payload: [UInt8], raw: [UInt8])? { try outer.next() }

    /// The next frame from inside the encryption, or nil when the SEALED
    /// frames opened so far hold no whole one.
    public mutating func nextInner() throws -> (type: UInt8, payload: [UInt8], raw: [UInt8])? { try inner.next() }

    /// Opens a SEALED frame's payload into the frames inside. Throws
    /// `Noise.HandshakeError` when it fails authentication (altered,
    /// replayed, reordered or dropped, or sealed with another key).
    public mutating func open(_ payload: [UInt8]) throws {
        inner.append(try receiver.decrypt(payload))
        openedOne = true
    }
}
