import Foundation
import Glibc
import MarginCrypto
import MarginSQLite

/// What a received batch did, and the call that applies one.
extension Store {
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
        try Receiver(store: self).receive(changes, hashes: known, signatures: signatures, horizon: horizon, holding: holding, peer: peer,
                                          stepMilliseconds: stepMilliseconds, cancelled: cancelled)
    }
}

/// The receiving side of sync and bundles: a batch's signatures verified,
/// each change checked (rules, density, hash chain) and kept, held back or
/// recorded as a fork, and, when a restored or copied store finds its own
/// history forked, its changes taken back and its own issued again under a
/// fresh node id (`Store.ForkRecovery`).
///
/// A type of its own on the store. It writes only inside the store's
/// `write`: each change through the arrival (`Store.arrive`: the rules and
/// the fold a local write uses too), and beside it the batch's signatures,
/// the forks it met, and, in a fork recovery, the parked changes' removal
/// from the log. It holds nothing between batches.
/// It is the one place that changes the store's node id and key, which is
/// why it reaches the store's `node` and `signingSeed`.
struct Receiver {
    let store: Store

    func receive(_ changes: [Change], hashes known: [[UInt8]]?, signatures: [HeadSignature], horizon: Int64?,
                 holding: Set<NodeID>, peer: String?, stepMilliseconds: Double?, cancelled: () -> Bool) throws -> Store.BatchOutcome {
        // Only as a write of its own, or inside one made for received
        // batches (see `WriteScope.holdsReceivedBatches`).
        if let scope = store.scope, !scope.holdsReceivedBatches {
            throw MarginError.invalid("changes from \(peer ?? "a peer") are applied as a write of their own, not inside another")
        }
        var outcome = Store.BatchOutcome()
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
            while end < changes.count && !Receiver.mayEndStep(between: changes[end - 1], and: changes[end]) { end += 1 }
            let began = DispatchTime.now().uptimeNanoseconds
            try applyStep(changes[start..<end], hashes[start..<end], verified: verified, givingRecords: recordsSet, horizon: horizon, peer: peer, into: &outcome)
            if let budget = stepMilliseconds {
                let took = max(0.05, Double(DispatchTime.now().uptimeNanoseconds - began) / 1e6)
                size = min(50_000, max(16, Int(Double(end - start) * budget / took)))
            }
            start = end
            // Between steps, the log is kept from growing with the receive.
            store.db.restartLog(over: Store.logLimitBytes)
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
                           givingRecords: Set<AnnotationByOrigin>, horizon: Int64?, peer: String?, into outcome: inout Store.BatchOutcome) throws {
        let recoveredBefore = outcome.recovery != nil
        let nextKey = (store.directory as NSString).appendingPathComponent(NodeKey.fileName + ".next")
        // Inside a write already (a bundle's batches, in the import's one
        // transaction), the step takes that write's scope: it starts with
        // no heads of its own and saves the ones it moves; the write then
        // goes on from the saved heads, and does not count the step as its
        // own to undo.
        // (Only what is put back is kept: a copy of the whole scope would be
        // copied again as the step adds to its sets.)
        let outerGiven = store.db.isInTransaction ? store.scope?.annotationsGivenRecords : nil
        if outerGiven != nil {
            store.scope?.annotationsGivenRecords = givingRecords
            store.scope?.heads = PendingHeads()
        }
        defer {
            if let outerGiven {
                store.scope?.annotationsGivenRecords = outerGiven
                store.scope?.heads = PendingHeads()
                store.scope?.headAtStart = nil
                // The fields' histories are the step's: a bundle of a
                // million changes in one transaction holds one batch's.
                store.scope?.fieldHistories.removeAll()
                store.scope?.fieldsWithHistory.removeAll()
            }
        }
        do {
            try store.write(opening: WriteScope(savesHeads: false, annotationsGivenRecords: givingRecords)) {
                try applyChanges(changes, hashes, verified: verified, horizon: horizon, peer: peer, into: &outcome)
            }
        } catch {
            unlink(nextKey)
            // What the failed step wrote to the log is given back (on a full
            // disk, the room the next attempt needs).
            store.db.truncateLog(over: 0)
            throw error
        }
        if outcome.recovery != nil && !recoveredBefore {
            _ = Glibc.rename(nextKey, (store.directory as NSString).appendingPathComponent(NodeKey.fileName))
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
        for (origin, i) in last.sorted(by: { $0.key < $1.key }) where try store.storedHash(changes[i].id) != hashes[i] {
            let c = changes[i], hash = hashes[i]
            guard let s = signatures.first(where: { $0.origin == origin && $0.seq == c.id.seq }) else {
                // Schema 2 history whose node has not signed it yet, here.
                if try store.isUnsignedLegacy(origin) { continue }
                throw MarginError.invalid("change \(c.id) refused: the batch carries no signature of \(origin) on it")
            }
            if let problem = try store.signatureProblem(s, hash: hash) { throw MarginError.invalid("change \(c.id) refused: \(problem)") }
            verified.append(s)
        }
        return verified
    }

    private func applyChanges(_ changes: ArraySlice<Change>, _ hashes: ArraySlice<[UInt8]>, verified: [HeadSignature],
                                       horizon: Int64?, peer: String?, into outcome: inout Store.BatchOutcome) throws {
        do {
            var parked: [Change] = []
            /// One span group: an annotation's span fields from one origin with one reading.
            struct SpanKey: Hashable, Comparable {
                var entity: EntityID, origin: NodeID, ms: Int64, ctr: Int64
                static func < (a: SpanKey, b: SpanKey) -> Bool { (a.entity, a.origin, a.ms, a.ctr) < (b.entity, b.origin, b.ms, b.ctr) }
            }
            // The span groups in the order first seen, found by key. A
            // group's five fields come one after another (one write), so
            // the last group is asked first: one look-up by key a group,
            // not one a field.
            var spans: [(key: SpanKey, annotation: EntityID, first: ChangeID, fields: [String: FieldValue])] = []
            var spanIndex: [SpanKey: Int] = [:]
            var lastSpan: (key: SpanKey, index: Int)?
            let spanFields = Set(FieldSchema.groups[.annotation]?.first ?? [])
            var lastEntity: EntityID = "", lastKind = EntityKind.conflict
            // The records this step's applied changes set, by annotation:
            // a record is set once, so each is what the log holds, and the
            // span checks below need not look it up.
            var appliedRecords: [EntityID: EntityID] = [:]
            // The loop reads state from the log only, so entity rows are
            // written once per run of changes to one entity.
            try store.coalescingRows {
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
                            if try store.head(of: ref.origin) < ref.seq { outcome.held.insert(origin) }
                        }
                        // So does a change to an annotation whose record, or
                        // whose record's body, may be among what waits.
                        if c.kind == .annotation, try annotationWaits(c) { outcome.held.insert(origin) }
                        if outcome.held.contains(origin) { outcome.heldBack += 1; continue }
                    }
                    var arrival = try store.arrive(c, hash: hash, checkedAlone: true)
                    if case .fork(let exact) = arrival {
                        if origin == store.node.id && exact && outcome.recovery == nil {
                            parked = try park(from: c.id.seq)
                            let former = store.node.id
                            try adoptNewKey()
                            outcome.recovery = Store.ForkRecovery(formerID: former, newID: store.node.id, from: c.id.seq, reissued: parked.count)
                            arrival = try store.arrive(c, hash: hash, checkedAlone: true)
                        } else if origin == store.node.id {
                            try store.setMeta("own_rewind", .integer(0))
                            outcome.ownForkPending = true
                        } else {
                            try recordFork(c.id, theirs: hash, peer: peer)
                            outcome.forks.append(c.id)
                        }
                    }
                    switch arrival {
                    case .applied:
                        if c.kind == .annotation, c.field == "record", let record = c.value.entityID { appliedRecords[c.entity] = record }
                        if c.kind == .annotation, spanFields.contains(c.field) {
                            let key = SpanKey(entity: c.entity, origin: c.id.origin, ms: c.hlc.milliseconds, ctr: c.hlc.counter)
                            let index: Int
                            if let last = lastSpan, last.key == key {
                                index = last.index
                            } else if let known = spanIndex[key] {
                                index = known
                            } else {
                                index = spans.count
                                spans.append((key, c.entity, c.id, Dictionary(minimumCapacity: spanFields.count)))
                                spanIndex[key] = index
                            }
                            lastSpan = (key, index)
                            spans[index].fields[c.field] = c.value
                        }
                        outcome.applied += 1
                        if c.hlc > outcome.maxHLC { outcome.maxHLC = c.hlc }
                        if origin == store.node.id || origin == outcome.recovery?.formerID { outcome.tookBack += 1 }
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
            for group in spans.sorted(by: { $0.key < $1.key }) {
                if let problem = try store.spanGroupProblem(annotation: group.annotation, group.fields, record: appliedRecords[group.annotation],
                                                            texts: &texts) {
                    throw MarginError.invalid("change \(group.first) refused: \(problem)")
                }
            }
            if let recovery = outcome.recovery {
                try reissue(parked, from: recovery)
                try store.setMeta("own_rewind", .null)
            }
            for (origin, seq) in store.scope?.heads.all ?? [:] where seq > 0 || origin == outcome.recovery?.formerID { try store.saveHead(origin, seq) }
            try store.scope?.nodeAuthors.save(store.db)
            // Parked changes left the log: the state is folded anew from it.
            if outcome.recovery != nil { try store.rebuildState() }
            // Keep each verified signature whose change this batch applied.
            for s in verified where try store.head(of: s.origin) >= s.seq && store.storedHash(ChangeID(origin: s.origin, seq: s.seq)) != nil {
                try store.pin(s.origin, s.publicKey)
                try store.db.run("INSERT OR IGNORE INTO signatures(origin, seq, signature) VALUES(?, ?, ?)",
                           .node(s.origin), .integer(s.seq), .blob(s.signature))
            }
            // Saved with the batch; `write` restores the reading if the commit fails.
            store.clock.observe(outcome.maxHLC)
        }
    }

    /// Whether an annotation's change lacks what a held-back change may
    /// bring: the annotation's record, or that record's body.
    private func annotationWaits(_ c: Change) throws -> Bool {
        if c.field == "record", let record = c.value.entityID { return try !store.hasWinner(.record, record, "body") }
        return try store.scope?.annotationsGivenRecords.contains(AnnotationByOrigin(annotation: c.entity, origin: c.id.origin)) != true
            && !store.hasWinner(.annotation, c.entity, "record")
    }

    /// Takes this node's own changes from `seq` on out of the log (they are
    /// issued again under a new id by `reissue`).
    private func park(from seq: Int64) throws -> [Change] {
        var parked: [Change] = []
        try store.db.statement("SELECT \(Store.changeColumns) FROM changes WHERE origin = ? AND seq >= ? ORDER BY seq")
            .forEach([.node(store.node.id), .integer(seq)]) { s in
                parked.append(try Store.change(from: s))
                return true
            }
        try store.db.run("DELETE FROM log WHERE origin = (SELECT key FROM nodes WHERE id = ?) AND seq >= ?", .node(store.node.id), .integer(seq))
        // A record whose body was among them may hold none now.
        store.scope?.forgetRules()
        try store.db.run("DELETE FROM signatures WHERE origin = ? AND seq >= ?", .node(store.node.id), .integer(seq))
        store.scope?.heads.set(store.node.id, seq - 1, tip: nil)
        return parked
    }

    /// Starts writing under a fresh node id; the former ones are remembered.
    /// Moves to a fresh key and the node id derived from it. The key is
    /// written beside the old one and put in its place only once the batch
    /// has committed (see `receiveBatch`, `loadKey`).
    private func adoptNewKey() throws {
        let seed = try NodeKey.create(in: store.directory, name: NodeKey.fileName + ".next")
        let id = NodeKey.derivedID(Ed25519.publicKey(seed: seed))
        let former = try store.db.scalar("SELECT value FROM meta WHERE key = 'former_ids'").string
        try store.setMeta("former_ids", .text(former.map { $0 + "," + store.node.id.hex } ?? store.node.id.hex))
        try store.setMeta("node_id", .node(id))
        store.node.id = id
        store.signingSeed = seed
    }

    /// Issues parked changes again, in their order and with their clock
    /// readings, as the new node's 1, 2, 3, …; references among them (what
    /// they superseded, the deletion they saw, the conflicts they resolved,
    /// the vectors of deletions) follow them to their new ids.
    private func reissue(_ parked: [Change], from r: Store.ForkRecovery) throws {
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
            if c.kind == .conflict, let pair = try store.db.rows("SELECT winner_origin, winner_seq, loser_origin, loser_seq, field FROM conflicts WHERE id = ?",
                                                            .entity(c.entity)).first,
               let wo = pair[0].node, let ws = pair[1].int, let lo = pair[2].node, let ls = pair[3].int,
               let winner = moved(ChangeID(origin: wo, seq: ws)), let loser = moved(ChangeID(origin: lo, seq: ls)) {
                c.entity = EntityID(stored: pair[4].string == FieldSchema.deleted ? ConflictFinder.deletionConflictID(winner) : ConflictFinder.conflictID(winner, loser))
            }
            if store.ownChangesDueForSigning, let last = previousHLC, last != c.hlc { try store.signOwnHead() }
            c.prev = prev
            prev = c.hash
            try store.appendToLog(c)
            store.countUnsigned(c.value)
            previousHLC = c.hlc
        }
    }

    private func recordFork(_ id: ChangeID, theirs: [UInt8], peer: String?) throws {
        try store.db.run("""
            INSERT OR IGNORE INTO forks(origin, seq, peer, ours, theirs, detected_ms) VALUES(?, ?, ?, ?, ?, ?)
            """, .node(id.origin), .integer(id.seq), SQLValue(peer), try store.storedHash(id).map { SQLValue.blob($0) } ?? .null,
            .blob(theirs), .integer(store.clock.wall.nowMilliseconds()))
    }
}
