import Foundation
import Glibc
import MarginCrypto
import MarginSQLite

/// What the sync module needs from a store: the delta another node lacks, in
/// an order that keeps every prefix causally complete, and atomic application
/// of received batches.
extension Store {
    /// What `forEachSignedChange` reads of each origin's log above
    /// `theirs`, by origin: up to its last signed change (its head, for a
    /// legacy origin that signs nothing).
    func signedRanges(above theirs: VersionVector) throws -> [(origin: NodeID, next: Int64, last: Int64)] {
        let mine = try versionVector(), signed = try signedHeads()
        var ranges: [(origin: NodeID, next: Int64, last: Int64)] = []
        for (origin, head) in mine.heads.sorted(by: { $0.key < $1.key }) {
            let last = try isUnsignedLegacy(origin) ? head : min(head, signed.heads[origin] ?? 0)
            let from = (theirs.heads[origin] ?? 0) + 1
            if from <= last { ranges.append((origin, from, last)) }
        }
        return ranges
    }

    /// Calls `body` with every change above `theirs`, in hybrid-clock order
    /// across origins (each origin's changes are already in clock order by
    /// sequence number, so this is a merge of one index range per origin).
    /// Sending in this order means that a receiver cut off at any point holds
    /// a dense prefix of every origin and everything each held change had seen.
    /// `body` returns false to stop early.
    public func forEachChange(above theirs: VersionVector, _ body: (Change) throws -> Bool) throws {
        try forEachSignedChange(above: theirs) { c, _ in try body(c) }
    }

    /// The same, stopping each origin at the last change this store holds a
    /// signature for (an origin's changes travel only under its signature;
    /// unsigned schema-2 history excepted), and giving each change's
    /// signature where it has one.
    public func forEachSignedChange(above theirs: VersionVector, _ body: (Change, HeadSignature?) throws -> Bool) throws {
        try forEachSignedChange(above: theirs) { c, _, signature in try body(c, signature) }
    }

    /// The same, with each change's byte form (`ChangeCodec`), made once:
    /// its hash is checked against the stored one, and a sender sends it.
    func forEachSignedChange(above theirs: VersionVector, _ body: (Change, [UInt8], HeadSignature?) throws -> Bool) throws {
        var cursors = try signedRanges(above: theirs)
        guard !cursors.isEmpty else { return }
        // The keys of the origins whose changes are read: their signatures'.
        var keys: [NodeID: [UInt8]] = [:]
        for c in cursors { keys[c.origin] = try publicKey(of: c.origin) }
        // Read each origin in chunks; merge the chunk heads by stamp. A
        // chunk is one range of the log by (origin, seq), its signatures one
        // range of theirs; each change's `prev` is the hash of the row read
        // before it (the first one's, a look-up).
        let chunk: Int64 = 512
        var buffers: [[(Change, [UInt8], [UInt8]?)]] = Array(repeating: [], count: cursors.count)
        let rowsSQL = "\(Store.logRows) WHERE o.id = ? AND l.seq >= ? AND l.seq <= ? ORDER BY l.seq"
        let signaturesSQL = "SELECT seq, signature FROM signatures WHERE origin = ? AND seq >= ? AND seq <= ?"
        func refill(_ i: Int) throws {
            guard buffers[i].isEmpty, cursors[i].next <= cursors[i].last else { return }
            let origin = cursors[i].origin, first = cursors[i].next
            let upper = min(cursors[i].last, first + chunk - 1)
            var signatures: [Int64: [UInt8]] = [:]
            try db.statement(signaturesSQL).forEach([.node(origin), .integer(first), .integer(upper)]) { s in
                signatures[s.int(0)] = s.column(1).blob
                return true
            }
            var prev = try tip(of: origin, head: first - 1)
            var rows: [(Change, [UInt8], [UInt8]?)] = []
            let repeated = RepeatedStrings()
            try db.statement(rowsSQL).forEach([.node(origin), .integer(first), .integer(upper)]) { s in
                var change = try Store.change(from: s, repeating: repeated)
                change.prev = prev
                let encoded = ChangeCodec.encoded(change)
                // A change altered at rest is never passed on as sound.
                guard let stored = s.column(14).blob, SHA256.hash(encoded) == stored else {
                    throw MarginError.corrupt("change \(change.id) does not match its hash: this store is damaged (run `margin check`); it was not sent")
                }
                prev = stored
                rows.append((change, encoded, signatures[change.id.seq]))
                return true
            }
            guard rows.count == Int(upper - first + 1) else {
                throw MarginError.corrupt("the change log of \(origin) has a gap below \(upper)")
            }
            cursors[i].next = upper + 1
            buffers[i] = rows.reversed()
        }
        for i in cursors.indices { try refill(i) }
        var cursorOf: [NodeID: Int] = [:]
        for (i, c) in cursors.enumerated() { cursorOf[c.origin] = i }
        while true {
            var best: Int?
            for i in buffers.indices {
                guard let c = buffers[i].last?.0 else { continue }
                if let b = best, let current = buffers[b].last?.0, !(c.stamp < current.stamp) { continue }
                best = i
            }
            // What a change names goes first, whatever the readings say (a
            // store from before the rule that a change reads higher than
            // what it names may hold one that reads lower): each hop moves
            // to an origin whose next change is at or below one named.
            var hops = 0
            while let b = best, hops < buffers.count, let c = buffers[b].last?.0 {
                let waits = [c.supersedes, c.deletionBase].lazy.compactMap { $0 }.first { ref in
                    guard ref.origin != c.id.origin, let j = cursorOf[ref.origin], let next = buffers[j].last?.0 else { return false }
                    return next.id.seq <= ref.seq
                }
                guard let ref = waits, let j = cursorOf[ref.origin] else { break }
                best = j
                hops += 1
            }
            guard let i = best, let (change, encoded, sig) = buffers[i].popLast() else { return }
            let signature = sig.flatMap { s in keys[change.id.origin].map { HeadSignature(origin: change.id.origin, seq: change.id.seq, publicKey: $0, signature: s) } }
            if try !body(change, encoded, signature) { return }
            try refill(i)
        }
    }

    func setMeta(_ key: String, _ value: SQLValue) throws {
        if value == .null {
            try db.run("DELETE FROM meta WHERE key = ?", .text(key))
        } else {
            try db.run("INSERT INTO meta(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                       .text(key), value)
        }
    }

    /// For each origin of `vector`, the hash of the change at that sequence
    /// number: what HAVE carries, so that two histories of one origin are
    /// told apart even when neither side has changes the other lacks.
    public func tips(of vector: VersionVector) throws -> [NodeID: [UInt8]] {
        var out: [NodeID: [UInt8]] = [:]
        for (origin, seq) in vector.heads { out[origin] = try tip(of: origin, head: seq) }
        return out
    }

    /// Origins of third nodes whose change at the peer's head (`theirs`,
    /// `tips`) differs from the change this store holds at that sequence
    /// number: forks, as the peer's HAVE claims them. This node's own origin and the
    /// peer's are left to the changes the two send each other (see
    /// `resendFrom`): that is where a restored or copied store repairs itself.
    public func forks(in theirs: VersionVector, tips: [NodeID: [UInt8]], peerID: NodeID, peer: String) throws -> [ChangeID] {
        var found: [ChangeID] = []
        let mine = try versionVector()
        for (origin, seq) in theirs.heads.sorted(by: { $0.key < $1.key }) where origin != node.id && origin != peerID {
            guard seq <= (mine.heads[origin] ?? 0), let tip = tips[origin] else { continue }
            let id = ChangeID(origin: origin, seq: seq)
            if try storedHash(id) != tip { found.append(id) }
        }
        // Not recorded: a HAVE proves nothing (any peer can list any hash),
        // so only a fork met in signed changes (`receiveBatch`) is kept for
        // `margin status`; this one is reported for the session.
        return found
    }

    /// The sequence number after which this node asks a peer, in HAVE, to
    /// send this node's own changes: its head, normally (nothing more to
    /// send); 0 once it has seen that its own history forked somewhere it
    /// could not locate, so that the peer sends its whole history of this id
    /// and the store finds the exact point where the two split.
    public func ownResendFrom() throws -> Int64 {
        if try db.scalar("SELECT value FROM meta WHERE key = 'own_rewind'").int != nil { return 0 }
        return try head(of: node.id)
    }

    /// Whether a peer's HAVE shows this node's own history forked: the peer
    /// holds a change of this node's id, at or below this store's head, that
    /// differs from the one here. The next session asks for it all again
    /// (`ownResendFrom`).
    public func ownForkSeen(in theirs: VersionVector, tips: [NodeID: [UInt8]]) throws -> Bool {
        guard let seq = theirs.heads[node.id], seq <= (try head(of: node.id)), let tip = tips[node.id] else { return false }
        guard try storedHash(ChangeID(origin: node.id, seq: seq)) != tip else { return false }
        try write { try setMeta("own_rewind", .integer(0)) }
        return true
    }

    public func clearOwnRewind() throws {
        try write { try setMeta("own_rewind", .null) }
    }

    /// Whether this store holds a change of `origin` at `seq` that differs
    /// from the one whose hash is `tip`.
    public func holdsOther(than tip: [UInt8]?, at id: ChangeID) throws -> Bool {
        guard let tip, let mine = try storedHash(id) else { return false }
        return mine != tip
    }

    /// The node ids this store wrote under before, oldest first.
    public func formerNodeIDs() throws -> [NodeID] {
        (try db.scalar("SELECT value FROM meta WHERE key = 'former_ids'").string ?? "").split(separator: ",").map { NodeID(stored: String($0)) }
    }

    /// Forks of other nodes' histories this store has met, newest first.
    public func forks() throws -> [(origin: NodeID, seq: Int64, peer: String?, detected: Int64)] {
        try db.rows("SELECT origin, seq, peer, detected_ms FROM forks ORDER BY detected_ms DESC").compactMap { row in
            guard let o = row[0].node, let s = row[1].int else { return nil }
            return (o, s, row[2].string, row[3].int ?? 0)
        }
    }

    // MARK: - Peers

    public struct Peer: Equatable, Sendable {
        public var id: NodeID
        public var name: String
        public var address: String?
        public var lastSync: Int64?
        /// What the peer held of each origin at the end of the last session.
        public var theirs: VersionVector
        /// What this store held at that time.
        public var ours: VersionVector
    }

    public func recordPeer(id: NodeID, name rawName: String, address: String?, theirs: VersionVector, ours: VersionVector, at ms: Int64) throws {
        // A peer's name is its own to choose: control and bidi characters
        // never enter the store, and it stays one short line.
        let name = String(String.UnicodeScalarView(rawName.unicodeScalars.filter { !Printable.isUnsafe($0) }.prefix(80)))
        try db.run("""
            INSERT INTO peers(id, name, address, last_sync_ms, their_vv, our_vv) VALUES(?, ?, ?, ?, ?, ?)
            ON CONFLICT(id) DO UPDATE SET name = excluded.name, address = coalesce(excluded.address, peers.address),
                last_sync_ms = excluded.last_sync_ms, their_vv = excluded.their_vv, our_vv = excluded.our_vv
            """, .node(id), .text(name), SQLValue(address), .integer(ms), .text(theirs.description), .text(ours.description))
    }

    public func peers() throws -> [Peer] {
        try db.rows("SELECT id, name, address, last_sync_ms, their_vv, our_vv FROM peers ORDER BY last_sync_ms DESC").map { row in
            Peer(id: NodeID(stored: row[0].string ?? ""), name: row[1].string ?? "", address: row[2].string, lastSync: row[3].int,
                 theirs: row[4].string.flatMap { VersionVector(parsing: $0) } ?? VersionVector(),
                 ours: row[5].string.flatMap { VersionVector(parsing: $0) } ?? VersionVector())
        }
    }

    public func conflictCount() throws -> Int {
        Int(try db.scalar("SELECT count(*) FROM conflicts").int ?? 0)
    }

    public var clockReading: HLC { clock.last }
    public var wallClock: any WallClock { clock.wall }
}
