import Foundation
import MarginCrypto
import MarginSQLite

/// An origin's signature on one of its chain heads: the Ed25519 signature,
/// by the origin's key, of `SignedHead.message(origin, seq, hash)`. Since a
/// change's hash covers every change its origin made before it, one
/// signature vouches for the whole chain up to `seq`.
public struct HeadSignature: Equatable, Sendable {
    public var origin: NodeID
    public var seq: Int64
    public var publicKey: [UInt8]
    public var signature: [UInt8]

    public init(origin: NodeID, seq: Int64, publicKey: [UInt8], signature: [UInt8]) {
        self.origin = origin; self.seq = seq; self.publicKey = publicKey; self.signature = signature
    }
}

extension HeadSignature {
    /// The byte form of a list of signatures (PROTOCOL.md §5, BATCH; and
    /// bundles): `uvarint` count, then count × (node origin, uvarint seq,
    /// 32-byte public key, 64-byte signature).
    public static func encode(_ signatures: [HeadSignature], into w: inout ByteWriter) {
        w.uvarint(UInt64(signatures.count))
        for s in signatures {
            w.node(s.origin)
            w.uvarint(UInt64(max(0, s.seq)))
            w.raw(s.publicKey)
            w.raw(s.signature)
        }
    }

    public static func decodeList(_ r: inout ByteReader) throws -> [HeadSignature] {
        let n = try r.count(max: r.remaining / 105)
        var out: [HeadSignature] = []
        for _ in 0..<n {
            let origin = try r.node()
            let seq = try r.count()
            guard seq >= 1 else { throw WireError("a signature names sequence 0") }
            out.append(HeadSignature(origin: origin, seq: Int64(seq), publicKey: try r.raw(32), signature: try r.raw(64)))
        }
        return out
    }
}

/// A node's signing key, and how ids and signed messages derive from keys
/// (PROTOCOL.md §1, "Signatures").
public enum NodeKey {
    /// The 32-byte secret seed, in the store folder, mode 600. Never synced,
    /// never printed.
    public static let fileName = "node.key"

    /// A node id made from a public key: the first 8 bytes, hex, of its SHA-256.
    public static func derivedID(_ publicKey: [UInt8]) -> NodeID {
        NodeID(stored: Array(SHA256.hash(publicKey).prefix(8)).hex)
    }

    /// What an origin signs for its change `seq` with hash `hash`.
    public static func message(origin: NodeID, seq: Int64, hash: [UInt8]) -> [UInt8] {
        var w = ByteWriter()
        w.raw(Array("margin-head-v1\n".utf8))
        w.node(origin)
        w.i64(seq)
        w.raw(hash)
        return w.bytes
    }

    public static func randomSeed() -> [UInt8] {
        var g = SystemRandomNumberGenerator()
        return (0..<Ed25519.seedLength).map { _ in UInt8.random(in: 0...255, using: &g) }
    }

    /// Writes a new seed to `directory`/node.key, readable by its owner only.
    static func create(in directory: String, name: String = fileName) throws -> [UInt8] {
        let seed = randomSeed()
        let path = (directory as NSString).appendingPathComponent(name)
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard fd >= 0 else { throw MarginError.store("cannot write the node key \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let text = Array((seed.hex + "\n").utf8)
        let written = text.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == text.count, fsync(fd) == 0 else { throw MarginError.store("cannot write the node key \(path)") }
        return seed
    }

    /// The seed in `directory`, or nil when there is none. A key readable by
    /// group or others is refused, as ssh refuses such a key.
    static func load(from directory: String, name: String = fileName) throws -> [UInt8]? {
        let path = (directory as NSString).appendingPathComponent(name)
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        // Another user's store, opened to read: its key is not this user's to use.
        if access(path, R_OK) != 0 { return nil }
        if st.st_mode & 0o077 != 0 {
            throw MarginError.store("the node key \(path) is readable by others; run `chmod 600 \(path)`")
        }
        // Read with the system's calls: every command opens the key, and
        // Foundation's file and character-set machinery was a thirtieth of
        // `margin show`'s CPU. The file is 64 hex digits and a newline.
        var raw = [UInt8](repeating: 0, count: 512)
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        let count = fd < 0 ? -1 : raw.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if fd >= 0 { close(fd) }
        // A longer file is not a key; whitespace around the digits is allowed.
        var text = count > 0 && count < raw.count ? raw[..<count] : []
        let isSpace = { (b: UInt8) in b == 0x20 || (0x09...0x0d).contains(b) }
        while let b = text.first, isSpace(b) { text.removeFirst() }
        while let b = text.last, isSpace(b) { text.removeLast() }
        guard let seed = bytes(fromHex: String(decoding: text, as: UTF8.self)), seed.count == Ed25519.seedLength else {
            throw MarginError.store("the node key \(path) is damaged: restore it from a backup (it cannot be made again)")
        }
        return seed
    }
}

extension Store {
    /// Signs this node's chain head, once per local write transaction (and
    /// after a fork recovery): what lets every other node accept its changes.
    func signOwnHead() throws {
        guard let seed = signingSeed else { return }
        let head = try head(of: node.id)
        guard head > 0 else { return }
        scope?.unsignedOwnChanges = 0
        scope?.unsignedOwnBytes = 0
        if try db.scalar("SELECT 1 FROM signatures WHERE origin = ? AND seq = ?", .node(node.id), .integer(head)).int != nil { return }
        let hash = try tip(of: node.id, head: head)
        let publicKey = try self.publicKey(of: node.id) ?? Ed25519.publicKey(seed: seed)
        let signature = Ed25519.sign(NodeKey.message(origin: node.id, seq: head, hash: hash), seed: seed, publicKey: publicKey)
        try pin(node.id, publicKey)
        try db.run("INSERT INTO signatures(origin, seq, signature) VALUES(?, ?, ?)", .node(node.id), .integer(head), .blob(signature))
    }

    /// Records the key an origin signs with. An id derived from a key needs
    /// no more; an older random id (schema 2) is bound to the first key
    /// that signs for it here, and only to that one afterwards.
    func pin(_ origin: NodeID, _ publicKey: [UInt8]) throws {
        try db.run("INSERT OR IGNORE INTO keys(origin, public_key) VALUES(?, ?)", .node(origin), .blob(publicKey))
    }

    public func publicKey(of origin: NodeID) throws -> [UInt8]? {
        try db.scalar("SELECT public_key FROM keys WHERE origin = ?", .node(origin)).blob
    }

    /// Why `s` cannot vouch for `origin`'s change with hash `hash`, or nil.
    func signatureProblem(_ s: HeadSignature, hash: [UInt8]) throws -> String? {
        try signatureKeyProblem(s) ?? Store.verificationProblem(s, hash: hash)
    }

    /// Why `s`'s key cannot vouch for its origin, or nil: what
    /// `signatureProblem` looks up in the store.
    func signatureKeyProblem(_ s: HeadSignature) throws -> String? {
        guard s.publicKey.count == Ed25519.publicKeyLength else { return "a public key is 32 bytes" }
        // A key vouches for the id derived from it; a schema-2 id, for the
        // first key seen signing for it, only.
        if NodeKey.derivedID(s.publicKey) != s.origin {
            if let pinned = try publicKey(of: s.origin) {
                guard pinned == s.publicKey else { return "signed with a key that is not \(s.origin)'s" }
            } else {
                guard try db.scalar("SELECT 1 FROM legacy_origins WHERE origin = ?", .node(s.origin)).int != nil else {
                    return "signed with a key that is not \(s.origin)'s"
                }
            }
        }
        return nil
    }

    /// Why `s` does not verify against the change with hash `hash`, or nil:
    /// what `signatureProblem` computes, reading nothing.
    static func verificationProblem(_ s: HeadSignature, hash: [UInt8]) -> String? {
        guard Ed25519.verify(s.signature, of: NodeKey.message(origin: s.origin, seq: s.seq, hash: hash), publicKey: s.publicKey) else {
            return "the signature of \(s.origin):\(s.seq) does not verify (the change was altered, or forged)"
        }
        return nil
    }

    /// Signs `message` (a session's handshake hash) with this node's key:
    /// how a peer learns, inside the encryption, which node it talks to.
    public func signSession(_ message: [UInt8]) -> (publicKey: [UInt8], signature: [UInt8])? {
        guard let seed = signingSeed else { return nil }
        let key = Ed25519.publicKey(seed: seed)
        return (key, Ed25519.sign(message, seed: seed, publicKey: key))
    }

    /// Why `publicKey`'s `signature` on `message` does not prove `node`,
    /// or nil: the same rule as for change signatures (the id is derived
    /// from the key, or it is an older id bound to this key here, or a
    /// trusted legacy id not yet bound to any key).
    public func identityProblem(node: NodeID, publicKey: [UInt8], signature: [UInt8], message: [UInt8]) throws -> String? {
        guard publicKey.count == Ed25519.publicKeyLength else { return "a public key is 32 bytes" }
        if NodeKey.derivedID(publicKey) != node {
            if let pinned = try self.publicKey(of: node) {
                guard pinned == publicKey else { return "the key it signed with is not \(node)'s" }
            } else if try db.scalar("SELECT 1 FROM legacy_origins WHERE origin = ?", .node(node)).int == nil {
                return "the key it signed with is not \(node)'s"
            }
        }
        guard Ed25519.verify(signature, of: message, publicKey: publicKey) else { return "its signature over the handshake does not verify" }
        return nil
    }

    /// The signature this store holds on `origin`'s change `seq`.
    public func headSignature(_ origin: NodeID, _ seq: Int64) throws -> HeadSignature? {
        guard let sig = try db.scalar("SELECT signature FROM signatures WHERE origin = ? AND seq = ?", .node(origin), .integer(seq)).blob,
              let key = try publicKey(of: origin) else { return nil }
        return HeadSignature(origin: origin, seq: seq, publicKey: key, signature: sig)
    }

    /// An origin this store held before signatures (schema 2) whose key it
    /// has not seen: its changes still travel unsigned until its node, once
    /// upgraded, signs them (PROTOCOL.md §1, "Signatures").
    public func isUnsignedLegacy(_ origin: NodeID) throws -> Bool {
        try db.scalar("SELECT 1 FROM legacy_origins WHERE origin = ?", .node(origin)).int != nil
            && publicKey(of: origin) == nil
    }

    /// The schema-2 node ids this store held when it was upgraded.
    public func legacyOrigins() throws -> [NodeID] {
        try db.rows("SELECT origin FROM legacy_origins ORDER BY origin").compactMap { $0[0].node }
    }

    /// Trusts the schema-2 node ids another store of this user's trusts
    /// (`margin init --from` a store folder), before taking its changes.
    public func trustLegacyOrigins(_ origins: [NodeID]) throws {
        try write {
            // Another store's column: checked again, as any text from outside.
            for o in origins where NodeID(o.hex) != nil {
                try db.run("INSERT OR IGNORE INTO legacy_origins(origin) VALUES(?)", .node(o))
            }
        }
    }

    /// Per origin, the highest change this store holds a signature for:
    /// what it can pass on (a change is sent only with a signature at or
    /// after it in the same batch).
    public func signedHeads() throws -> VersionVector {
        var heads: [NodeID: Int64] = [:]
        for row in try db.rows("SELECT origin, max(seq) FROM signatures GROUP BY origin") {
            if let o = row[0].node, let s = row[1].int { heads[o] = s }
        }
        return VersionVector(heads)
    }
}

/// Groups changes into batches the way every sender does (PROTOCOL.md §6,
/// "Batches and acknowledgement"): a batch closes once it reaches its target
/// size, but only where every origin's last change in it is signed (or is
/// unsigned schema-2 history), and never inside a field group (changes of
/// one origin with one reading).
public struct SignedBatcher {
    public let targetBytes: Int
    public private(set) var changes: [Change] = []
    public private(set) var signatures: [HeadSignature] = []
    public private(set) var encoded = ByteWriter()
    private var unsigned: Set<NodeID> = []
    private var legacy: [NodeID: Bool] = [:]

    public init(targetBytes: Int) { self.targetBytes = targetBytes }

    /// Whether the batch may close before `next` is added.
    public func mayClose(before next: Change) -> Bool {
        guard encoded.bytes.count >= targetBytes, unsigned.isEmpty, let last = changes.last else { return false }
        return last.id.origin != next.id.origin || last.hlc != next.hlc
    }

    public mutating func add(_ c: Change, signature: HeadSignature?, in store: Store) throws {
        try add(c, encoded: ChangeCodec.encoded(c), signature: signature, in: store)
    }

    /// `encoded`: the change's byte form (`ChangeCodec`), made already.
    mutating func add(_ c: Change, encoded bytes: [UInt8], signature: HeadSignature?, in store: Store) throws {
        encoded.raw(bytes)
        changes.append(c)
        if let signature {
            signatures.append(signature)
            unsigned.remove(c.id.origin)
        } else {
            let isLegacy = try legacy[c.id.origin] ?? store.isUnsignedLegacy(c.id.origin)
            legacy[c.id.origin] = isLegacy
            if !isLegacy { unsigned.insert(c.id.origin) }
        }
    }

    /// Takes the batch, leaving the batcher empty.
    public mutating func take() -> (changes: [Change], signatures: [HeadSignature], encoded: [UInt8]) {
        defer { changes = []; signatures = []; encoded = ByteWriter() }
        return (changes, signatures, encoded.bytes)
    }
}

extension Store {
    /// Every change above `theirs` that this store may pass on, in batches
    /// of about `targetBytes` closed as `SignedBatcher` says.
    public func forEachSignedBatch(above theirs: VersionVector, targetBytes: Int,
                                   _ body: ([Change], [HeadSignature], [UInt8]) throws -> Void) throws {
        var batcher = SignedBatcher(targetBytes: targetBytes)
        try forEachSignedChange(above: theirs) { c, encoded, signature in
            if batcher.mayClose(before: c) {
                let b = batcher.take()
                try body(b.changes, b.signatures, b.encoded)
            }
            try batcher.add(c, encoded: encoded, signature: signature, in: self)
            return true
        }
        let b = batcher.take()
        if !b.changes.isEmpty { try body(b.changes, b.signatures, b.encoded) }
    }
}
