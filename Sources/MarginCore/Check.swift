import Foundation
import MarginCrypto
import MarginSQLite
import Synchronization

extension Store {
    /// Verifies that the store is sound, from the file up: SQLite's own
    /// integrity check, the full-text index, the change log (dense per-origin
    /// sequences, heads, references, schema), the derived state (rebuilt from
    /// the log in a scratch file and compared with the live state), and every
    /// annotation's quote against its record's text.
    ///
    /// `passed` is called with one line per check that passed. The first
    /// inconsistency is thrown as `MarginError.corrupt` naming it. Nothing in
    /// the store is changed.
    public func check(passed: (String) -> Void = { _ in }) throws {
        try check(logPartSize: LogPassParts.partSize, passed: passed)
    }

    /// `check`, with the log pass in parts of `logPartSize` changes (tests
    /// make them small, so that parts end inside spans and chains).
    func check(logPartSize: Int64, passed: (String) -> Void = { _ in }) throws {
        do {
            // The state is rebuilt from the log on another core, into a
            // scratch file of the derived tables alone, while the file, the
            // log and the signatures are checked here; it is compared with
            // the live state, and its quotes checked, there. Each check
            // says what it found in its order. A file too damaged to read
            // is named by SQLite's check. (At a million changes: 20-25 s
            // with the file checked before a copy of the store, 10 s beside
            // it, with the rebuild folding a field's changes in hand; on a
            // team's store of a million changes, 13.3 s with the copy made
            // before the checks began, 11.5 s with it made on the rebuild's
            // core, 6.8 s before the copy gave way to the scratch file.)
            let rebuild: RebuildCheck, logParts: LogPassParts
            do {
                logParts = LogPassParts()
                rebuild = try RebuildCheck(store: self, helping: logParts)
            } catch {
                try checkFile(passed)
                throw error
            }
            // Once a check has failed, the rebuild is stopped, not awaited.
            defer { rebuild.finish() }
            try checkFile(passed)
            try checkLog(logParts, partSize: logPartSize, passed)
            try checkSignatures(passed)
            try rebuild.report(passed)
        } catch let e as SQLiteError where e.primaryCode == 11 {
            throw MarginError.corrupt("SQLite finds the file damaged: \(e.message)")
        }
    }

    private func checkFile(_ passed: (String) -> Void) throws {
        let result = try db.rows("PRAGMA integrity_check(1)").first?.first?.string ?? "no answer"
        guard result == "ok" else { throw MarginError.corrupt("SQLite integrity check failed: \(result)") }
        if let row = try db.rows("PRAGMA foreign_key_check").first {
            throw MarginError.corrupt("a row of \(row.first?.string ?? "a table") refers to a missing row")
        }
        passed("SQLite integrity check: ok")
        do {
            try db.execute("INSERT INTO record_grams(record_grams) VALUES('integrity-check')")
            passed("full-text index matches the records")
        } catch let e as SQLiteError where e.isReadOnly {
            passed("full-text index: not checked (the store is read-only)")
        } catch let e as SQLiteError where e.primaryCode == 11 {
            throw MarginError.corrupt("the full-text index does not match the records (\(e.message))")
        }
    }

    /// The log pass: every change, each origin's in sequence order, holds
    /// to its hash and its origin's chain, its sequence follows the one
    /// before (dense: a missing change is named as a gap, before the broken
    /// link it leaves), it names an entity and nodes the store has ids for,
    /// it keeps the rules a receiver enforces, and every span is whole;
    /// then each origin's last change is its head, and the saved clock is
    /// not behind this node's own changes. Run in parts (`LogPassParts`),
    /// on this core and, once its own work is done, the rebuild's; the
    /// first thing found wrong, in the log's order, is named.
    private func checkLog(_ parts: LogPassParts, partSize: Int64, _ passed: (String) -> Void) throws {
        // The heads, the plan of the parts, this core's parts and the saved
        // clock are read in one snapshot: a store being served is written
        // beside the check, and the heads read after the plan had moved on
        // from it. (The rebuild's core reads its parts in a later one: the
        // log only grows, and a part is a range of changes already logged.)
        try db.execute("SAVEPOINT check_log")
        defer { try? db.execute("RELEASE check_log") }
        let heads = Dictionary(uniqueKeysWithValues: try db.rows("SELECT origin, seq FROM heads").compactMap { row in
            row[0].string.map { ($0, row[1].int ?? 0) }
        })
        try parts.plan(db, partSize: partSize)
        inScope { parts.work(on: self) }
        var ownLatest = HLC(milliseconds: 0, counter: 0)
        // Span groups not yet whole at the end of a part: a write's five
        // fields may fall on both sides of a boundary.
        var openGroups: [SpanGroupKey: Int] = [:]
        // The name each origin last wrote as an author: its last part's.
        var authors: [Int64: (seq: Int64, name: String)] = [:]
        let planned = parts.parts
        for (i, finding) in parts.findings().enumerated() {
            let found = try finding.get()
            switch found.issue {
            case .unnamed(let origin, let seq)?:
                throw MarginError.corrupt("a change-log row (node number \(origin), change \(seq)) names an entity or node the store has no id for")
            case .gap(let key)?:
                let gapIn = try db.scalar("SELECT id FROM nodes WHERE key = ?", .integer(key)).string ?? "number \(key)"
                let row = try db.rows("SELECT count(*), min(seq), max(seq) FROM log WHERE origin = ?", .integer(key)).first ?? []
                throw MarginError.corrupt("the change log of node \(gapIn) has gaps: \(row.first?.int ?? 0) changes numbered \(row.dropFirst().first?.int ?? 0) to \(row.last?.int ?? 0)")
            case .problem(let problem)?:
                throw MarginError.corrupt(problem)
            case nil:
                if ownLatest < found.ownLatest { ownLatest = found.ownLatest }
                openGroups.merge(found.openGroups, uniquingKeysWith: +)
                if let a = found.author { authors[planned[i].origin] = a }
            }
        }
        var total: Int64 = 0
        let highs = parts.highs
        for (key, high) in highs {
            let origin = try db.scalar("SELECT id FROM nodes WHERE key = ?", .integer(key)).string ?? "?"
            total += high
            guard heads[origin] == high else {
                throw MarginError.corrupt("node \(origin): the log holds changes up to \(high) but its head says \(heads[origin].map(String.init) ?? "nothing")")
            }
        }
        let origins = highs.count
        if heads.count != origins, let origin = heads.keys.sorted().first(where: { (heads[$0] ?? 0) > 0 }) {
            throw MarginError.corrupt("node \(origin) has a head but no changes in the log")
        }
        let fields = Store.spanGroupFields.count
        if let (group, count) = openGroups.filter({ $0.value % fields != 0 }).min(by: { $0.key < $1.key }) {
            let entity = try db.scalar("SELECT id FROM entities WHERE key = ?", .integer(group.entity)).string ?? "?"
            let origin = try db.scalar("SELECT id FROM nodes WHERE key = ?", .integer(group.origin)).string ?? "?"
            throw MarginError.corrupt("annotation \(entity): a span written by \(origin) at \(group.hlc.milliseconds).\(group.hlc.counter) is torn (\(count % fields) of its \(fields) fields)")
        }
        try checkNodeAuthors(authors)
        let meta = try Store.readMeta(db)
        let saved = HLC(milliseconds: meta["clock_ms"]?.int ?? 0, counter: meta["clock_ctr"]?.int ?? 0)
        guard !(saved < ownLatest) else {
            throw MarginError.corrupt("the saved clock (\(saved)) is behind this node's latest change (\(ownLatest))")
        }
        passed("change log: \(total) changes from \(origins) node(s); sequences dense, hash chains intact, heads match, references present, authors kept beside it match")
    }

    /// The names the log pass found each node last wrote as an author,
    /// against those kept beside the log (`node_authors`, `NodeAuthors`).
    private func checkNodeAuthors(_ found: [Int64: (seq: Int64, name: String)]) throws {
        var stored: [Int64: (seq: Int64, name: String)] = [:]
        for row in try db.rows("SELECT origin, seq, name FROM node_authors") {
            if let origin = row[0].int { stored[origin] = (row[1].int ?? 0, row[2].string ?? "") }
        }
        func shown(_ a: (seq: Int64, name: String)?) -> String? { a.map { "\"\($0.name)\" (change \($0.seq))" } }
        guard let origin = Set(stored.keys).union(found.keys).sorted().first(where: { shown(stored[$0]) != shown(found[$0]) }) else { return }
        let node = try db.scalar("SELECT id FROM nodes WHERE key = ?", .integer(origin)).string ?? "number \(origin)"
        throw MarginError.corrupt("the authors kept beside the log (node_authors) differ from it: node \(node) last wrote as author "
            + "\(shown(found[origin]) ?? "nothing"), the table says \(shown(stored[origin]) ?? "nothing")")
    }

    /// One part of the log pass: an origin's changes (by local key) from
    /// `first` to `last` in sequence order, `first` being 1 for its first
    /// part (which also reads any row numbered below 1, as a gap).
    struct LogPart: Sendable {
        var origin: Int64
        var first: Int64
        var last: Int64
    }

    /// What a part of the log pass found: the first thing wrong in it, or
    /// what the pass adds up over its parts.
    struct LogPartFinding: Sendable {
        enum Issue: Sendable {
            /// A row that names an entity or node the store has no id for:
            /// `changes` and every other reader join them, so it would
            /// drop out of everything else.
            case unnamed(origin: Int64, seq: Int64)
            case gap(origin: Int64)
            case problem(String)
        }
        var issue: Issue?
        var openGroups: [SpanGroupKey: Int] = [:]
        var ownLatest = HLC(milliseconds: 0, counter: 0)
        /// The part's last author name, as `node_authors` keeps them.
        var author: (seq: Int64, name: String)?
    }

    /// Checks one part of the log (see `checkLog`), on this store's
    /// connection, in the rules' scope the caller opened: the rules' caches
    /// (the annotation whose record was just found, the record whose body
    /// is held) then spare a look-up for each of an annotation's changes.
    /// Nothing is written, so nothing they remember goes stale.
    func checkLogPart(_ part: LogPart) throws -> LogPartFinding {
        var found = LogPartFinding()
        // The hash of the change before the part's first, which the first
        // links to (a missing one is the previous part's gap).
        var previous = part.first == 1 ? ChangeHash.genesis
            : try db.statement("SELECT hash FROM log WHERE origin = ? AND seq = ?").all([.integer(part.origin), .integer(part.first - 1)]).first?.first?.blob ?? []
        var expected = part.first
        // The log names nodes and entities by number. Their ids are looked
        // up here, once a part each, not joined to every row: joined, each
        // row's ids were read and made Strings again (a node's on every row
        // of its part), about a tenth of the pass. A number that names
        // nothing is a row every other reader's joins would drop.
        var nodes: [Int64: NodeID] = [:]
        for row in try db.rows("SELECT key, id FROM nodes") {
            if let key = row[0].int, let id = row[1].string { nodes[key] = NodeID(stored: id) }
        }
        var entities: [Int64: (kind: EntityKind, id: EntityID)] = [:]
        let entity = try db.statement("SELECT kind, id FROM entities WHERE key = ?")
        func named(_ key: Int64) throws -> (kind: EntityKind, id: EntityID)? {
            if let known = entities[key] { return known }
            guard let row = try entity.all([.integer(key)]).first, let id = row[1].string else { return nil }
            guard let name = row[0].string, let kind = EntityKind(rawValue: name) else { throw MarginError.corrupt("a change-log row is malformed") }
            entities[key] = (kind, EntityID(stored: id))
            return entities[key]
        }
        let rows = try db.statement("""
            SELECT seq, ms, ctr, entity, field, value, sup_origin, sup_seq, del_origin, del_seq, seen, hash
            FROM log WHERE origin = ? AND seq BETWEEN ? AND ? ORDER BY seq
            """)
        try rows.forEach([.integer(part.origin), .integer(part.first == 1 ? Int64.min : part.first), .integer(part.last)]) { s in
            let seq = s.int(0), entityKey = s.int(3)
            func nodeIn(_ column: Int) -> NodeID?? { s.isNull(column) ? .some(nil) : nodes[s.int(column)].map { .some($0) } }
            guard let origin = nodes[part.origin], let target = try named(entityKey),
                  let supersedes = nodeIn(6), let deletionBase = nodeIn(8) else {
                found.issue = .unnamed(origin: part.origin, seq: seq)
                return false
            }
            guard let field = s.text(4) else { throw MarginError.corrupt("a change-log row is malformed") }
            guard seq == expected else { found.issue = .gap(origin: part.origin); return false }
            expected += 1
            let stored = s.column(11).blob
            let c = Change(id: ChangeID(origin: origin, seq: seq), hlc: HLC(milliseconds: s.int(1), counter: s.int(2)),
                           kind: target.kind, entity: target.id, field: field, value: try FieldValue(s.column(5)),
                           supersedes: supersedes.map { ChangeID(origin: $0, seq: s.int(7)) },
                           deletionBase: deletionBase.map { ChangeID(origin: $0, seq: s.int(9)) },
                           seen: s.text(10).flatMap { VersionVector(parsing: $0) }, prev: previous)
            previous = stored ?? []
            if c.kind == .annotation, Store.spanGroupFields.contains(c.field) {
                let key = SpanGroupKey(entity: entityKey, origin: part.origin, hlc: c.hlc)
                let count = found.openGroups[key, default: 0] + 1
                found.openGroups[key] = count == Store.spanGroupFields.count ? nil : count
            }
            // The hash covers the change and its link to the one before, so
            // this checks each origin's whole chain.
            guard stored == c.hash else {
                found.issue = .problem("change \(c.id) does not match its hash: its content or its origin's chain was altered in this store")
                return false
            }
            // The same rules a receiver enforces (ChangeRules). The row's
            // entity number is taken for the rules' look-ups of this entity.
            projector.keys.remember(c.kind, c.entity, key: entityKey)
            if let p = try ruleProblem(c) {
                found.issue = .problem("change \(c.id) breaks a rule: \(p)")
                return false
            }
            if c.id.origin == node.id && found.ownLatest < c.hlc { found.ownLatest = c.hlc }
            if let name = NodeAuthors.named(by: c) { found.author = (seq, name) }
            return true
        }
        if found.issue == nil, expected != part.last + 1 { found.issue = .gap(origin: part.origin) }
        return found
    }

    /// The fields of a span, which one write sets together
    /// (`FieldSchema.groups`): `check` finds each span whole.
    static let spanGroupFields = Set(FieldSchema.groups[.annotation]?.first ?? [])

    /// A span group as `check` counts it: an annotation's fields written by
    /// one origin with one reading of its clock (local keys).
    struct SpanGroupKey: Hashable, Comparable, Sendable {
        var entity: Int64
        var origin: Int64
        var hlc: HLC
        static func < (a: SpanGroupKey, b: SpanGroupKey) -> Bool {
            (a.entity, a.origin) != (b.entity, b.origin) ? (a.entity, a.origin) < (b.entity, b.origin) : a.hlc < b.hlc
        }
    }

    /// Every signature the store holds verifies, under its origin's key,
    /// against the hash of the change it names, and this node's own head is
    /// signed: with the hash chains checked above, every change of a signed
    /// origin up to its signed head is as its origin wrote it.
    private func checkSignatures(_ passed: (String) -> Void) throws {
        var signed: [(signature: HeadSignature, hash: [UInt8])] = []
        for row in try db.rows("SELECT origin, seq, signature FROM signatures ORDER BY origin, seq") {
            guard let origin = row[0].node, let seq = row[1].int, let signature = row[2].blob else { continue }
            guard let hash = try storedHash(ChangeID(origin: origin, seq: seq)) else {
                throw MarginError.corrupt("a signature names \(origin):\(seq), which is not in the log")
            }
            guard let key = try publicKey(of: origin) else { throw MarginError.corrupt("no key is known for \(origin), whose changes are signed") }
            let s = HeadSignature(origin: origin, seq: seq, publicKey: key, signature: signature)
            if let problem = try signatureKeyProblem(s) { throw MarginError.corrupt(problem) }
            signed.append((s, hash))
        }
        // The verifications read nothing, so they run on every core: by
        // now the rebuild's core has often finished (1,606 signatures were
        // 0.31 s of a team's store of a million changes on one core). The
        // first one in order that fails is named.
        let all = signed, parts = min(ProcessInfo.processInfo.activeProcessorCount, max(1, all.count / 16))
        let failed = Mutex<[Int: String]>([:])
        DispatchQueue.concurrentPerform(iterations: parts) { part in
            for i in (all.count * part / parts)..<(all.count * (part + 1) / parts) {
                if let problem = Store.verificationProblem(all[i].signature, hash: all[i].hash) {
                    failed.withLock { $0[i] = problem }
                    return
                }
            }
        }
        if let (_, problem) = failed.withLock({ $0.min { $0.key < $1.key } }) { throw MarginError.corrupt(problem) }
        let count = signed.count
        let head = try head(of: node.id)
        if head > 0, !isReadOnly, try db.scalar("SELECT 1 FROM signatures WHERE origin = ? AND seq = ?", .node(node.id), .integer(head)).int == nil {
            throw MarginError.corrupt("this node's latest change \(node.id):\(head) is not signed")
        }
        passed("signatures: \(count) verified")
    }

    /// The name of `check`'s scratch folders, inside the store's folder.
    static let checkScratchPrefix = ".check-"

    /// The first difference between the live state and the state its log
    /// gives (`scratch`'s, rebuilt), as `check` names it: a winner flag the
    /// fold found other than the store holds it, else the first row the
    /// live state holds that the rebuilt one does not, else one it lacks.
    /// Only once the comparison has found them differ: it holds both
    /// states' rows in memory.
    fileprivate static func difference(in scratch: ScratchState) throws -> String {
        func clip(_ line: String) -> String { line.count <= 120 ? line : String(line.prefix(120)) + "…" }
        if let flag = try scratch.flagDifference() {
            return flag.liveHolds ? "the live state holds a row the log does not give: \(clip(flag.line))"
                : "the live state lacks a row the log gives: \(clip(flag.line))"
        }
        let liveRows = try DerivedState(db: scratch.db, schema: ScratchState.store).dump(winners: false, numbered: true)
        let rebuiltRows = try DerivedState(db: scratch.db).dump(winners: false, numbered: true)
        let liveSet = Set(liveRows), rebuiltSet = Set(rebuiltRows)
        if let extra = liveRows.first(where: { !rebuiltSet.contains($0) }) {
            return "the live state holds a row the log does not give: \(clip(extra))"
        }
        if let missing = rebuiltRows.first(where: { !liveSet.contains($0) }) {
            return "the live state lacks a row the log gives: \(clip(missing))"
        }
        return "the live state differs from the state its log gives"
    }

    /// Every live annotation's quote, prefix and suffix against its
    /// record's text at its offsets, read through `db` (`check`'s scratch
    /// connection, whose rebuilt tables it reads once they are found the
    /// same as the store's).
    static func checkSpans(in db: Database, _ passed: (String) -> Void) throws {
        var checked = 0
        var unanchored: [(String, String)] = []
        var currentRecord: String?
        var text: ScalarText?
        var problem: String?
        // A record's text is read once, when its first annotation comes:
        // joined, it was read and made a String again for each annotation
        // (78 MB of text for 95,882 annotations on a team's store).
        let body = try db.statement("SELECT body FROM records WHERE id = ?")
        try db.statement("""
            SELECT id, record, span_start, span_end, quote, prefix, suffix
            FROM annotations WHERE deleted = 0 ORDER BY record
            """).forEach { s in
            let id = s.text(0) ?? "?"
            let record = s.text(1)
            if record != currentRecord {
                currentRecord = record
                text = try record.flatMap { try body.all([.text($0)]).first?.first?.string }.map { ScalarText($0, boundaries: false) }
            }
            guard let record, text != nil else {
                problem = "annotation \(id) refers to a record that is not in the store"
                return false
            }
            // A record-level code or note has no span at all.
            if s.isNull(2) && s.isNull(3) && s.isNull(4) { return true }
            guard let text, !s.isNull(2), !s.isNull(3) else {
                problem = "annotation \(id) has part of a span"
                return false
            }
            let start = Int(s.int(2)), end = Int(s.int(3))
            let stored = [s.text(4) ?? "", s.text(5) ?? "", s.text(6) ?? ""]
            var mismatch: String?
            if 0 <= start, start < end, end <= text.count {
                let expected = [text.slice(start, end),
                                text.slice(max(0, start - Span.contextLength), start),
                                text.slice(end, min(text.count, end + Span.contextLength))]
                // Compared scalar by scalar: String == would take canonically
                // equivalent texts as equal.
                if let i = (0..<3).first(where: { !stored[$0].hasSameBytes(as: expected[$0]) }) {
                    mismatch = "annotation \(id): its \(["quote", "prefix", "suffix"][i]) no longer matches the record text at \(start)..<\(end)"
                }
            } else {
                mismatch = "annotation \(id): span \(start)..<\(end) is outside its record (\(text.count) characters)"
            }
            if let mismatch {
                // Placed on a body the record had before a reclean: not
                // damage, but not anchored in the text of now either.
                let earlier = (try? Store.loggedBodies(of: EntityID(stored: record), in: db)) ?? []
                if earlier.contains(where: { Store.spanProblem(in: ScalarText($0), Int64(start), Int64(end), quote: stored[0], prefix: stored[1], suffix: stored[2]) == nil }) {
                    unanchored.append((id, record))
                    return true
                }
                problem = mismatch
                return false
            }
            checked += 1
            return true
        }
        if let problem { throw MarginError.corrupt(problem) }
        passed("annotations: \(checked) quotes match their records' text at their offsets")
        if let first = unanchored.first {
            let records = Set(unanchored.map(\.1)).sorted()
            throw MarginError.invalid("\(unanchored.count) annotation\(unanchored.count == 1 ? " is" : "s are") not anchored in the text of now "
                + "(placed on an earlier cleaning of \(records.count) record\(records.count == 1 ? "" : "s"), e.g. \(first.0) on \(first.1)): "
                + "run margin reclean \(records.prefix(3).joined(separator: " ")) to place them, or place an orphan by hand with margin edit ID --quote")
        }
    }
}

/// `check`'s rebuild, on another core while this one checks the file and
/// the log: the derived state folded again from the store's log into a
/// scratch file of the derived tables alone (`ScratchState`), then
/// compared, row by row, with the store's own derived tables read in the
/// same snapshot as the log, then its annotations' quotes checked against
/// its records. The scratch file holds records' texts, so it lives inside
/// the store's own folder (mode 700), never in a shared temporary folder;
/// one that a killed check left behind is removed first.
private final class RebuildCheck: @unchecked Sendable {
    private let scratch: String
    private let parent: String
    /// The scratch connection the worker made: set on the worker while
    /// `made` is held, read here only after `made.wait()` has returned,
    /// closed by `finish` (so that `finish` may interrupt it).
    private var state: ScratchState?
    private var makeError: (any Error)?
    private let made = DispatchGroup()
    private let done = DispatchGroup()
    /// The connection the worker is running a statement on, for `finish`
    /// to interrupt (`runningLock` held for each use).
    private var running: Database?
    private let runningLock = NSLock()
    /// Written once, on the worker, before `done` is left; read only after
    /// `done.wait()` has returned: the rows found the same, or the first
    /// difference, named.
    private var result: Result<(rows: Int, difference: String?), any Error>?
    /// The quotes' check, as `result`: what it passed, or what it found.
    private var spans: Result<[String], any Error>?

    /// The log pass's parts, which the worker helps with once its own
    /// work is done.
    private let logParts: LogPassParts

    init(store: Store, helping logParts: LogPassParts) throws {
        self.logParts = logParts
        let fm = FileManager.default
        parent = store.isReadOnly ? NSTemporaryDirectory() : store.directory
        for stale in (try? fm.contentsOfDirectory(atPath: parent)) ?? [] where stale.hasPrefix(Store.checkScratchPrefix) {
            try? fm.removeItem(atPath: (parent as NSString).appendingPathComponent(stale))
        }
        scratch = (parent as NSString).appendingPathComponent(Store.checkScratchPrefix + Store.randomEntityID())
        try fm.createDirectory(atPath: scratch, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        // The store is read as `Store` opens it: immutable where no -wal
        // file says anyone writes and the folder cannot hold the -shm file.
        let immutable = store.isReadOnly && !fm.fileExists(atPath: store.path + "-wal")
        let path = store.path, directory = store.directory, file = (scratch as NSString).appendingPathComponent(Store.fileName)
        made.enter()
        done.enter()
        DispatchQueue.global().async { [self] in
            defer { done.leave() }
            let state: ScratchState
            do {
                state = try ScratchState(file: file, store: path, immutable: immutable)
                self.state = state
                try state.begin()
            } catch {
                makeError = error
                made.leave()
                return
            }
            made.leave()
            runningLock.withLock { running = state.db }
            defer { runningLock.withLock { running = nil } }
            result = Result {
                // A winner flag the fold found other than the log holds it
                // is a difference; none, and the winners are the store's.
                let winners = try state.rebuild()
                let compared = winners.rewritten == 0
                    ? try DerivedState(db: state.db, schema: ScratchState.store).compared(with: DerivedState(db: state.db), sameWinners: winners.fields)
                    : (rows: 0, same: false)
                return (compared.rows, compared.same ? nil : try Store.difference(in: state))
            }
            // The quotes are checked here too, once the state is found
            // the same as the store's (so the rebuilt tables are read):
            // this core finishes its part before the other has checked the
            // log.
            if case .success(let compared)? = result, compared.difference == nil {
                spans = Result {
                    var lines: [String] = []
                    try Store.checkSpans(in: state.db) { lines.append($0) }
                    return lines
                }
            }
            // Then the log pass's parts still to take, on a reader of the
            // store's own, opened for reading only, so that opening it
            // writes nothing.
            guard logParts.waitForWork(), let reader = try? Store(directory: directory, readOnly: true) else { return }
            runningLock.withLock { running = reader.db }
            reader.inScope { logParts.work(on: reader) }
            runningLock.withLock { running = nil }
            reader.db.close()
        }
    }

    /// Waits for the rebuild and its comparison; passes, or throws what it
    /// found.
    func report(_ passed: (String) -> Void) throws {
        made.wait()
        guard makeError == nil, state != nil else {
            throw MarginError.store("could not make a scratch file in \(parent): \(makeError.map(MarginError.message(for:)) ?? "no file")")
        }
        done.wait()
        guard let result else { throw MarginError.store("the rebuild check did not finish") }
        let compared = try result.get()
        if let difference = compared.difference { throw MarginError.corrupt(difference) }
        passed("state rebuilt from the log matches the live state (\(compared.rows) rows)")
        guard let spans else { throw MarginError.store("the quote check did not finish") }
        try spans.get().forEach(passed)
    }

    /// Stops the rebuild if it is still running (a check has failed, or
    /// `report` has read its result), and removes the scratch file.
    func finish() {
        logParts.stop()
        // An interrupt stops the statement running, and those begun before
        // the connection is idle; between two statements it may find none,
        // so it is asked again until the worker has stopped.
        while done.wait(timeout: .now() + .milliseconds(20)) == .timedOut {
            runningLock.withLock { running?.interrupt() }
        }
        state?.db.close()
        try? FileManager.default.removeItem(atPath: scratch)
    }
}

/// The log pass's parts (`Store.checkLogPart`), taken in order by whichever
/// core is free: `check`'s own from the start, the rebuild's once its own
/// work is done (on a team's store of a million changes it finished about
/// a second before a log pass on one core did, and waited). Each part
/// links to the part before it through the stored hash of the change
/// before its first, so the parts of one origin's chain can be checked
/// apart; the pass stops taking parts after one that found something.
final class LogPassParts: Sendable {
    /// About this many changes a part: enough that reading the hash the
    /// part begins from is nothing beside it, few enough that the two cores
    /// end together.
    static let partSize: Int64 = 16_384

    private struct State {
        /// Planned once, by `plan`, before any part is taken.
        var planned = false
        var parts: [Store.LogPart] = []
        /// Each origin's highest sequence, by local key, in key order: its
        /// count, once the pass has found its sequence dense.
        var highs: [(origin: Int64, high: Int64)] = []
        var next = 0
        var firstIssue = Int.max
        var stopped = false
    }
    private let state = Mutex(State())
    private let found = Mutex<[Int: Result<Store.LogPartFinding, any Error>]>([:])
    private let working = DispatchGroup()
    /// Left once the parts are planned, or the pass stopped.
    private let planning = DispatchGroup()

    init() { planning.enter() }

    /// Plans the parts from the log's origins and each one's highest
    /// sequence (look-ups in the index by origin, not a scan), in the
    /// snapshot `db` reads.
    func plan(_ db: Database, partSize: Int64 = LogPassParts.partSize) throws {
        var parts: [Store.LogPart] = []
        var highs: [(Int64, Int64)] = []
        let size = max(1, partSize)
        let nextOrigin = try db.statement("SELECT min(origin) FROM log WHERE origin > ?")
        let high = try db.statement("SELECT max(seq) FROM log WHERE origin = ?")
        var after = Int64.min
        while let origin = try nextOrigin.all([.integer(after)]).first?.first?.int {
            after = origin
            let last = try high.all([.integer(origin)]).first?.first?.int ?? 0
            highs.append((origin, last))
            var first: Int64 = 1
            repeat {
                parts.append(Store.LogPart(origin: origin, first: first, last: min(last, first + size - 1)))
                first += size
            } while first <= last
        }
        let first = state.withLock { s in
            let first = !s.planned
            (s.parts, s.highs, s.planned) = (parts, highs, true)
            return first
        }
        if first { planning.leave() }
    }

    /// The parts planned.
    var parts: [Store.LogPart] { state.withLock { $0.parts } }
    var highs: [(origin: Int64, high: Int64)] { state.withLock { $0.highs } }

    /// Waits until the parts are planned (or the pass stopped); then
    /// whether one is left for a core to take.
    func waitForWork() -> Bool {
        planning.wait()
        return state.withLock { !$0.stopped && $0.next < min($0.parts.count, $0.firstIssue) }
    }

    /// Checks parts on `store`'s connection until none is left to take.
    func work(on store: Store) {
        while let (i, part) = take() {
            let result = Result { try store.checkLogPart(part) }
            let issue: Bool
            switch result {
            case .success(let f): issue = f.issue != nil
            case .failure: issue = true
            }
            found.withLock { $0[i] = result }
            if issue { state.withLock { $0.firstIssue = min($0.firstIssue, i) } }
            working.leave()
        }
    }

    private func take() -> (Int, Store.LogPart)? {
        state.withLock { s in
            guard s.planned, !s.stopped, s.next < s.parts.count, s.next < s.firstIssue else { return nil }
            working.enter()
            s.next += 1
            return (s.next - 1, s.parts[s.next - 1])
        }
    }

    /// No part is taken after this (a check has failed elsewhere).
    func stop() {
        let first = state.withLock { s in
            let first = !s.planned
            (s.stopped, s.planned) = (true, true)
            return first
        }
        if first { planning.leave() }
    }

    /// Waits for every part taken; their findings in order, up to the
    /// first that found something.
    func findings() -> [Result<Store.LogPartFinding, any Error>] {
        working.wait()
        let count = parts.count
        return found.withLock { f in
            var out: [Result<Store.LogPartFinding, any Error>] = []
            for i in 0..<count {
                guard let r = f[i] else { break }
                out.append(r)
                if case .success(let finding) = r, finding.issue == nil { continue }
                break
            }
            return out
        }
    }
}
