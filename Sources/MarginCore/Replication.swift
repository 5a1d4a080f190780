import Foundation
import Glibc
import MarginCrypto
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
        let mine = try versionVector(), signed = try signedHeads()
        var keys: [NodeID: [UInt8]] = [:]
        var cursors: [(origin: NodeID, next: Int64, last: Int64)] = []
        for (origin, head) in mine.heads.sorted(by: { $0.key < $1.key }) {
            let last = try isUnsignedLegacy(origin) ? head : min(head, signed.heads[origin] ?? 0)
            let from = (theirs.heads[origin] ?? 0) + 1
            if from <= last { cursors.append((origin, from, last)) }
            keys[origin] = try publicKey(of: origin)
        }
        guard !cursors.isEmpty else { return }
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
            try db.statement(rowsSQL).forEach([.node(origin), .integer(first), .integer(upper)]) { s in
                var change = try Store.change(from: s)
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

    /// What one received batch did.
    public struct BatchOutcome: Equatable, Sendable {
        public var applied = 0
        public var skipped = 0
        public var records: Set<String> = []
        public var annotations: Set<String> = []
        public var maxHLC: HLC = .zero
        /// Changes not applied because their origin is held back (see `held`).
        public var heldBack = 0
        /// Origins held back from here on: a change stamped beyond the
        /// horizon, or a fork. The caller passes them to later batches of
        /// the same session, so each origin stays dense.
        public var held: Set<NodeID> = []
        /// Origins held back for a far-future stamp.
        public var future: Set<NodeID> = []
        /// Forks of other nodes' histories met in this batch.
        public var forks: [ChangeID] = []
        /// This store's own changes it had lost (restored from a backup) and took back.
        public var tookBack = 0
        /// This store had been restored or copied and had written on: what it did.
        public var recovery: ForkRecovery?
        /// This store's own history forked, but the batch did not show where:
        /// the next session asks for all of it again (see `ownResendFrom`).
        public var ownForkPending = false
    }

    /// A store that learned it had been restored from a backup, or copied,
    /// after writing under sequence numbers its old self had already used.
    public struct ForkRecovery: Equatable, Sendable {
        /// The node id the store wrote under until now.
        public var formerID: NodeID
        /// The fresh node id it writes under from now on.
        public var newID: NodeID
        /// The first sequence number of `formerID` that had two histories.
        public var from: Int64
        /// This store's divergent changes, issued again as `newID`:1…`reissued`.
        public var reissued: Int

        public var summary: String {
            "this store was restored from a backup or copied: node \(formerID) had already written changes from \(from) on elsewhere; "
                + "took those back, and issued this copy's \(reissued) change\(reissued == 1 ? "" : "s") again as new node \(newID)"
        }
    }

    /// Applies a batch from a peer (or a bundle): each origin's signature on
    /// its last change here is verified first, then every change is checked
    /// (rules, density, hash chain) before it is kept, and the clock moves
    /// past the changes only once they have committed.
    ///
    /// Without `stepMilliseconds` the batch is one transaction. With it, the
    /// batch is committed in steps sized to hold the write lock about that
    /// long, so that the CLI on the same store never waits more than a
    /// moment behind a peer's large batch; a step never ends inside a
    /// one-reading group. Every step is a prefix of chains whose signatures
    /// have already verified, so a change refused in a later step leaves the
    /// earlier steps true and complete.
    ///
    /// Changes of an origin in `holding`, or stamped after `horizon` (ms),
    /// are not applied, and neither is anything after them from the same
    /// origin. A fork of another node's history is held back the same way
    /// and recorded. A fork of this node's own history means this store was
    /// restored or copied: it takes the peer's history of its node id, and
    /// issues its own divergent changes again under a fresh node id
    /// (`ForkRecovery`); nothing is lost.
    /// `hashes`: each change's hash (`Change.hash`), when the caller has
    /// taken them already.
    public func receiveBatch(_ changes: [Change], hashes known: [[UInt8]]? = nil, signatures: [HeadSignature] = [], horizon: Int64? = nil,
                             holding: Set<NodeID> = [], peer: String? = nil, stepMilliseconds: Double? = nil,
                             cancelled: () -> Bool = { false }) throws -> BatchOutcome {
        var outcome = BatchOutcome()
        outcome.held = holding
        // Each change hashed once, for the chain, the signatures and the log:
        // here, or beforehand by the caller (a session, on the thread that
        // reads ahead).
        let hashes = known.flatMap { $0.count == changes.count ? $0 : nil } ?? ChangeHash.of(changes)
        let verified = try verifiedSignatures(changes, hashes, signatures)
        // Annotations whose `record` this batch sets: their other changes
        // may come first (a JSON Lines import by an earlier release wrote
        // an annotation's fields in name order, `code` before `record`).
        var recordsSet: Set<AnnotationByOrigin> = []
        for c in changes where c.kind == .annotation && c.field == "record" && c.value != .null {
            recordsSet.insert(AnnotationByOrigin(annotation: c.entity, origin: c.id.origin))
        }
        var start = 0
        var size = stepMilliseconds == nil ? changes.count : 256
        repeat {
            // Steps committed so far stay (each is whole and verified).
            if start > 0, cancelled() { throw MarginError.store("stopped while applying a batch; the steps applied so far are kept") }
            var end = min(changes.count, start + max(1, size))
            while end < changes.count && !Store.mayEndStep(between: changes[end - 1], and: changes[end]) { end += 1 }
            let began = DispatchTime.now().uptimeNanoseconds
            try applyStep(changes[start..<end], hashes[start..<end], verified: verified, givingRecords: recordsSet, horizon: horizon, peer: peer, into: &outcome)
            if let budget = stepMilliseconds {
                let took = max(0.05, Double(DispatchTime.now().uptimeNanoseconds - began) / 1e6)
                size = min(50_000, max(16, Int(Double(end - start) * budget / took)))
            }
            start = end
            // Between steps, the log is kept from growing with the receive.
            db.truncateLog(over: Store.logLimitBytes)
            // A breath between steps, longer than the 2 ms a waiting
            // writer's busy handler sleeps, so that it gets its turn.
            if stepMilliseconds != nil && start < changes.count { usleep(5_000) }
        } while start < changes.count
        return outcome
    }

    /// Whether a step may end between `a` and `b`: not between two changes
    /// of one annotation from one origin (a span reading travels whole, and
    /// an annotation's record is in the same step as its other fields).
    static func mayEndStep(between a: Change, and b: Change) -> Bool {
        !(a.kind == .annotation && b.kind == .annotation && a.entity == b.entity && a.id.origin == b.id.origin)
    }

    /// One step of a received batch: one write, whose scope saves the heads
    /// in the step itself (with what a fork recovery moved). `givingRecords`:
    /// the annotations whose `record` the batch sets (see `receiveBatch`).
    private func applyStep(_ changes: ArraySlice<Change>, _ hashes: ArraySlice<[UInt8]>, verified: [HeadSignature],
                           givingRecords: Set<AnnotationByOrigin>, horizon: Int64?, peer: String?, into outcome: inout BatchOutcome) throws {
        let recoveredBefore = outcome.recovery != nil
        let nextKey = (directory as NSString).appendingPathComponent(NodeKey.fileName + ".next")
        // Inside a write already (a bundle's batches, in the import's one
        // transaction), the step takes that write's scope: it starts with
        // no heads of its own and saves the ones it moves; the write then
        // goes on from the saved heads, and does not count the step as its
        // own to undo.
        // (Only what is put back is kept: a copy of the whole scope would be
        // copied again as the step adds to its sets.)
        let outerGiven = db.isInTransaction ? scope?.annotationsGivenRecords : nil
        if outerGiven != nil {
            scope?.annotationsGivenRecords = givingRecords
            scope?.heads = PendingHeads()
        }
        defer {
            if let outerGiven {
                scope?.annotationsGivenRecords = outerGiven
                scope?.heads = PendingHeads()
                scope?.headAtStart = nil
            }
        }
        do {
            try write(opening: WriteScope(savesHeads: false, annotationsGivenRecords: givingRecords)) {
                try receiveBatchUnchecked(changes, hashes, verified: verified, horizon: horizon, peer: peer, into: &outcome)
            }
        } catch {
            unlink(nextKey)
            // What the failed step wrote to the log is given back (on a full
            // disk, the room the next attempt needs).
            db.truncateLog(over: 0)
            throw error
        }
        if outcome.recovery != nil && !recoveredBefore {
            _ = Glibc.rename(nextKey, (directory as NSString).appendingPathComponent(NodeKey.fileName))
        }
    }

    /// Checks that every origin's changes in a batch come with its signature
    /// on the last of them, verifying one signature per origin; returns the
    /// verified signatures, to keep.
    private func verifiedSignatures(_ changes: [Change], _ hashes: [[UInt8]], _ signatures: [HeadSignature]) throws -> [HeadSignature] {
        // Each origin's last change so far, by index; the origin of the
        // run under way is checked first (changes come in runs of one origin).
        var last: [NodeID: Int] = [:]
        var run: (origin: NodeID, index: Int)?
        for i in changes.indices {
            let id = changes[i].id
            let previous: Int?
            if let r = run, r.origin == id.origin { previous = r.index } else { previous = last[id.origin] }
            // Within the batch each origin's changes come in their order,
            // one after the other, and form one chain: so the signature on
            // an origin's last change here covers every change of it here.
            if let p = previous {
                guard id.seq == changes[p].id.seq + 1 else {
                    if id.seq > changes[p].id.seq {
                        throw MarginError.invalid("change \(id) refused: sequence gap from \(id.origin): expected \(changes[p].id.seq + 1), got \(id.seq)")
                    }
                    throw MarginError.invalid("change \(id) refused: it comes after \(changes[p].id) in the batch; an origin's changes come in sequence, each once")
                }
                guard changes[i].prev == hashes[p] else {
                    throw MarginError.invalid("change \(id) refused: it does not follow \(changes[p].id) in its origin's hash chain")
                }
            }
            if let r = run, r.origin != id.origin { last[r.origin] = r.index }
            run = (id.origin, i)
        }
        if let r = run { last[r.origin] = r.index }
        var verified: [HeadSignature] = []
        // An origin whose last change here is already held (same hash) brings
        // nothing new; every other one, a fork's other branch included, must
        // come signed.
        for (origin, i) in last.sorted(by: { $0.key < $1.key }) where try storedHash(changes[i].id) != hashes[i] {
            let c = changes[i], hash = hashes[i]
            guard let s = signatures.first(where: { $0.origin == origin && $0.seq == c.id.seq }) else {
                // Schema 2 history whose node has not signed it yet, here.
                if try isUnsignedLegacy(origin) { continue }
                throw MarginError.invalid("change \(c.id) refused: the batch carries no signature of \(origin) on it")
            }
            if let problem = try signatureProblem(s, hash: hash) { throw MarginError.invalid("change \(c.id) refused: \(problem)") }
            verified.append(s)
        }
        return verified
    }

    private func receiveBatchUnchecked(_ changes: ArraySlice<Change>, _ hashes: ArraySlice<[UInt8]>, verified: [HeadSignature],
                                       horizon: Int64?, peer: String?, into outcome: inout BatchOutcome) throws {
        do {
            var parked: [Change] = []
            /// One span group: an annotation's span fields from one origin with one reading.
            struct SpanKey: Hashable, Comparable {
                var entity: EntityID, origin: NodeID, ms: Int64, ctr: Int64
                static func < (a: SpanKey, b: SpanKey) -> Bool { (a.entity, a.origin, a.ms, a.ctr) < (b.entity, b.origin, b.ms, b.ctr) }
            }
            var spans: [SpanKey: (annotation: EntityID, first: ChangeID, fields: [String: FieldValue])] = [:]
            let spanFields = Set(FieldSchema.groups[.annotation]?.first ?? [])
            var lastEntity: EntityID = "", lastKind = EntityKind.conflict
            // The loop reads state from the log only, so entity rows are
            // written once per run of changes to one entity.
            try coalescingRows {
                for (c, hash) in zip(changes, hashes) {
                    let origin = c.id.origin
                    if !outcome.held.isEmpty && outcome.held.contains(origin) { outcome.heldBack += 1; continue }
                    // A reading out of bounds breaks a rule; one merely far ahead waits.
                    if let problem = ChangeRules.problem(c) { throw MarginError.invalid("change \(c.id) refused: \(problem)") }
                    if let horizon, c.hlc.milliseconds > horizon {
                        outcome.held.insert(origin)
                        outcome.future.insert(origin)
                        outcome.heldBack += 1
                        continue
                    }
                    // A change naming a change of a held-back origin that is not
                    // here waits with it, rather than breaking a rule.
                    if !outcome.held.isEmpty {
                        for ref in [c.supersedes, c.deletionBase].compactMap({ $0 }) where outcome.held.contains(ref.origin) {
                            if try head(of: ref.origin) < ref.seq { outcome.held.insert(origin) }
                        }
                        // So does a change to an annotation whose record, or
                        // whose record's body, may be among what waits.
                        if c.kind == .annotation, try annotationWaits(c) { outcome.held.insert(origin) }
                        if outcome.held.contains(origin) { outcome.heldBack += 1; continue }
                    }
                    var arrival = try arrive(c, hash: hash, checkedAlone: true)
                    if case .fork(let exact) = arrival {
                        if origin == node.id && exact && outcome.recovery == nil {
                            parked = try park(from: c.id.seq)
                            let former = node.id
                            try adoptNewKey()
                            outcome.recovery = ForkRecovery(formerID: former, newID: node.id, from: c.id.seq, reissued: parked.count)
                            arrival = try arrive(c, hash: hash, checkedAlone: true)
                        } else if origin == node.id {
                            try setMeta("own_rewind", .integer(0))
                            outcome.ownForkPending = true
                        } else {
                            try recordFork(c.id, theirs: hash, peer: peer)
                            outcome.forks.append(c.id)
                        }
                    }
                    switch arrival {
                    case .applied:
                        if c.kind == .annotation, spanFields.contains(c.field) {
                            let key = SpanKey(entity: c.entity, origin: c.id.origin, ms: c.hlc.milliseconds, ctr: c.hlc.counter)
                            spans[key, default: (c.entity, c.id, [:])].fields[c.field] = c.value
                        }
                        outcome.applied += 1
                        if c.hlc > outcome.maxHLC { outcome.maxHLC = c.hlc }
                        if origin == node.id || origin == outcome.recovery?.formerID { outcome.tookBack += 1 }
                        // Once per run of changes to one entity, not per change.
                        if c.entity != lastEntity || c.kind != lastKind {
                            lastEntity = c.entity
                            lastKind = c.kind
                            switch c.kind {
                            case .record: outcome.records.insert(c.entity.text)
                            case .annotation: outcome.annotations.insert(c.entity.text)
                            default: break
                            }
                        }
                    case .alreadyHeld:
                        outcome.skipped += 1
                    case .fork:
                        outcome.held.insert(origin)
                        outcome.heldBack += 1
                    }
                }
            }
            var texts: [EntityID: ScalarText] = [:]
            for (_, group) in spans.sorted(by: { $0.key < $1.key }) {
                if let problem = try spanGroupProblem(annotation: group.annotation, group.fields, texts: &texts) {
                    throw MarginError.invalid("change \(group.first) refused: \(problem)")
                }
            }
            if let recovery = outcome.recovery {
                try reissue(parked, from: recovery)
                try setMeta("own_rewind", .null)
            }
            for (origin, seq) in scope?.heads.all ?? [:] where seq > 0 || origin == outcome.recovery?.formerID { try saveHead(origin, seq) }
            // Parked changes left the log: the state is folded anew from it.
            if outcome.recovery != nil { try rebuildState() }
            // Keep each verified signature whose change this batch applied.
            for s in verified where try head(of: s.origin) >= s.seq && storedHash(ChangeID(origin: s.origin, seq: s.seq)) != nil {
                try pin(s.origin, s.publicKey)
                try db.run("INSERT OR IGNORE INTO signatures(origin, seq, signature) VALUES(?, ?, ?)",
                           .node(s.origin), .integer(s.seq), .blob(s.signature))
            }
            // Saved with the batch; `write` restores the reading if the commit fails.
            clock.observe(outcome.maxHLC)
        }
    }

    /// Whether an annotation's change lacks what a held-back change may
    /// bring: the annotation's record, or that record's body.
    private func annotationWaits(_ c: Change) throws -> Bool {
        if c.field == "record", let record = c.value.entityID { return try !hasWinner(.record, record, "body") }
        return try scope?.annotationsGivenRecords.contains(AnnotationByOrigin(annotation: c.entity, origin: c.id.origin)) != true
            && !hasWinner(.annotation, c.entity, "record")
    }

    /// Takes this node's own changes from `seq` on out of the log (they are
    /// issued again under a new id by `reissue`).
    private func park(from seq: Int64) throws -> [Change] {
        var parked: [Change] = []
        try db.statement("SELECT \(Store.changeColumns) FROM changes WHERE origin = ? AND seq >= ? ORDER BY seq")
            .forEach([.node(node.id), .integer(seq)]) { s in
                parked.append(try Store.change(from: s))
                return true
            }
        try db.run("DELETE FROM log WHERE origin = (SELECT key FROM nodes WHERE id = ?) AND seq >= ?", .node(node.id), .integer(seq))
        // A record whose body was among them may hold none now.
        scope?.forgetRules()
        try db.run("DELETE FROM signatures WHERE origin = ? AND seq >= ?", .node(node.id), .integer(seq))
        scope?.heads.set(node.id, seq - 1, tip: nil)
        return parked
    }

    /// Starts writing under a fresh node id; the former ones are remembered.
    /// Moves to a fresh key and the node id derived from it. The key is
    /// written beside the old one and put in its place only once the batch
    /// has committed (see `receiveBatch`, `loadKey`).
    private func adoptNewKey() throws {
        let seed = try NodeKey.create(in: directory, name: NodeKey.fileName + ".next")
        let id = NodeKey.derivedID(Ed25519.publicKey(seed: seed))
        let former = try db.scalar("SELECT value FROM meta WHERE key = 'former_ids'").string
        try setMeta("former_ids", .text(former.map { $0 + "," + node.id.hex } ?? node.id.hex))
        try setMeta("node_id", .node(id))
        node.id = id
        signingSeed = seed
    }

    func setMeta(_ key: String, _ value: SQLValue) throws {
        if value == .null {
            try db.run("DELETE FROM meta WHERE key = ?", .text(key))
        } else {
            try db.run("INSERT INTO meta(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                       .text(key), value)
        }
    }

    /// Issues parked changes again, in their order and with their clock
    /// readings, as the new node's 1, 2, 3, …; references among them (what
    /// they superseded, the deletion they saw, the conflicts they resolved,
    /// the vectors of deletions) follow them to their new ids.
    private func reissue(_ parked: [Change], from r: ForkRecovery) throws {
        func moved(_ id: ChangeID?) -> ChangeID? {
            guard let id, id.origin == r.formerID, id.seq >= r.from else { return id }
            return ChangeID(origin: r.newID, seq: id.seq - r.from + 1)
        }
        var prev = ChangeHash.genesis
        var previousHLC: HLC?
        for p in parked {
            var c = p
            c.id = ChangeID(origin: r.newID, seq: p.id.seq - r.from + 1)
            c.supersedes = moved(p.supersedes)
            c.deletionBase = moved(p.deletionBase)
            if var seen = c.seen, let s = seen.heads[r.formerID], s >= r.from {
                seen.heads[r.formerID] = r.from - 1
                seen.heads[r.newID] = s - r.from + 1
                c.seen = seen
            }
            if c.kind == .conflict, let pair = try db.rows("SELECT winner_origin, winner_seq, loser_origin, loser_seq, field FROM conflicts WHERE id = ?",
                                                            .entity(c.entity)).first,
               let wo = pair[0].node, let ws = pair[1].int, let lo = pair[2].node, let ls = pair[3].int,
               let winner = moved(ChangeID(origin: wo, seq: ws)), let loser = moved(ChangeID(origin: lo, seq: ls)) {
                c.entity = EntityID(stored: pair[4].string == FieldSchema.deleted ? ConflictFinder.deletionConflictID(winner) : ConflictFinder.conflictID(winner, loser))
            }
            if ownChangesDueForSigning, let last = previousHLC, last != c.hlc { try signOwnHead() }
            c.prev = prev
            prev = c.hash
            try appendToLog(c)
            countUnsigned(c.value)
            previousHLC = c.hlc
        }
    }

    private func recordFork(_ id: ChangeID, theirs: [UInt8], peer: String?) throws {
        try db.run("""
            INSERT OR IGNORE INTO forks(origin, seq, peer, ours, theirs, detected_ms) VALUES(?, ?, ?, ?, ?, ?)
            """, .node(id.origin), .integer(id.seq), SQLValue(peer), try storedHash(id).map { SQLValue.blob($0) } ?? .null,
            .blob(theirs), .integer(clock.wall.nowMilliseconds()))
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
