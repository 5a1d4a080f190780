import Foundation
import MarginSQLite

/// What the sync module needs from a store: the delta another node lacks, in
/// an order that keeps every prefix causally complete, and atomic application
/// of received batches.
extension Store {
    /// Calls `body` with every change above `theirs`, in hybrid-clock order
    /// across origins (each origin's changes are already in clock order by
    /// sequence number, so this is a merge of one index range per origin).
    /// Sending in this order means that a receiver cut off at any point holds
    /// a dense prefix of every origin and everything each held change had seen.
    /// `body` returns false to stop early.
    public func forEachChange(above theirs: VersionVector, _ body: (Change) throws -> Bool) throws {
        let mine = try versionVector()
        var cursors: [(origin: NodeID, next: Int64, last: Int64)] = mine.heads.compactMap { origin, head in
            let from = (theirs.heads[origin] ?? 0) + 1
            return from <= head ? (origin, from, head) : nil
        }
        guard !cursors.isEmpty else { return }
        // Read each origin in chunks; merge the chunk heads by stamp.
        let chunk: Int64 = 512
        var buffers: [[Change]] = Array(repeating: [], count: cursors.count)
        let sql = "SELECT \(Store.changeColumns) FROM changes WHERE origin = ? AND seq >= ? AND seq <= ? ORDER BY seq"
        func refill(_ i: Int) throws {
            guard buffers[i].isEmpty, cursors[i].next <= cursors[i].last else { return }
            let upper = min(cursors[i].last, cursors[i].next + chunk - 1)
            var rows: [Change] = []
            try db.statement(sql).forEach([.text(cursors[i].origin), .integer(cursors[i].next), .integer(upper)]) { s in
                rows.append(try Store.change(from: s))
                return true
            }
            guard rows.count == Int(upper - cursors[i].next + 1) else {
                throw MarginError.corrupt("the change log of \(cursors[i].origin) has a gap below \(upper)")
            }
            cursors[i].next = upper + 1
            buffers[i] = rows.reversed()
        }
        for i in cursors.indices { try refill(i) }
        while true {
            var best: Int?
            for i in buffers.indices {
                guard let c = buffers[i].last else { continue }
                if let b = best, let current = buffers[b].last, !(c.stamp < current.stamp) { continue }
                best = i
            }
            guard let i = best, let change = buffers[i].popLast() else { return }
            if try !body(change) { return }
            try refill(i)
        }
    }

    /// What one received batch did.
    public struct BatchOutcome: Equatable, Sendable {
        public var applied = 0
        public var skipped = 0
        public var records: Set<String> = []
        public var annotations: Set<String> = []
        public var maxHLC: HLC = .zero
    }

    /// Applies a batch from a peer in one transaction: every change is checked
    /// (schema, density) before any is kept, and the clock moves past the
    /// batch only once it has committed.
    public func receiveBatch(_ changes: [Change]) throws -> BatchOutcome {
        var outcome = BatchOutcome()
        batchHeads = [:]
        defer { batchHeads = nil }
        try write {
            for c in changes {
                if try receive(c) {
                    outcome.applied += 1
                    if c.hlc > outcome.maxHLC { outcome.maxHLC = c.hlc }
                    switch c.kind {
                    case .record: outcome.records.insert(c.entity)
                    case .annotation: outcome.annotations.insert(c.entity)
                    default: break
                    }
                } else {
                    outcome.skipped += 1
                }
            }
            for (origin, seq) in batchHeads ?? [:] { try saveHead(origin, seq) }
            // Saved with the batch; `write` restores the reading if the commit fails.
            clock.observe(outcome.maxHLC)
        }
        return outcome
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

    public func recordPeer(id: NodeID, name: String, address: String?, theirs: VersionVector, ours: VersionVector, at ms: Int64) throws {
        try db.run("""
            INSERT INTO peers(id, name, address, last_sync_ms, their_vv, our_vv) VALUES(?, ?, ?, ?, ?, ?)
            ON CONFLICT(id) DO UPDATE SET name = excluded.name, address = coalesce(excluded.address, peers.address),
                last_sync_ms = excluded.last_sync_ms, their_vv = excluded.their_vv, our_vv = excluded.our_vv
            """, .text(id), .text(name), SQLValue(address), .integer(ms), .text(theirs.description), .text(ours.description))
    }

    public func peers() throws -> [Peer] {
        try db.rows("SELECT id, name, address, last_sync_ms, their_vv, our_vv FROM peers ORDER BY last_sync_ms DESC").map { row in
            Peer(id: row[0].string ?? "", name: row[1].string ?? "", address: row[2].string, lastSync: row[3].int,
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
