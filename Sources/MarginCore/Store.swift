import Foundation
import Glibc
import MarginCrypto
import MarginSQLite

/// This node: the id (derived from its key) that names its changes
/// everywhere, and the name a person gave it.
public struct Node: Sendable, Equatable {
    public var id: NodeID
    public var name: String

    public static func isValidID(_ s: String) -> Bool {
        s.utf8.count == 16 && s.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }
}

/// A Margin store: one SQLite file holding the change log and the state
/// derived from it. Every write goes through `write`, which makes it one
/// transaction together with its change-log entries.
public final class Store {
    public static let fileName = "margin.sqlite"
    /// The data schema (fields, kinds and rules) this program writes; peers
    /// and bundles must match it. Local-only migrations (an index) do not
    /// change it: the file's own version is `Schema.fileVersion`.
    public static var schemaVersion: Int { Schema.dataVersion }

    public let directory: String
    public let db: Database
    /// This user may not write the store file or its folder.
    public let isReadOnly: Bool
    public internal(set) var node: Node
    /// This node's Ed25519 seed (`node.key`), nil for a store this user
    /// cannot write.
    var signingSeed: [UInt8]?
    var clock: HybridClock
    /// While a write or a received batch runs: the sequence heads and chain
    /// tips it has moved, written once at its end (same transaction).
    var pendingHeads: PendingHeads?
    /// This node's changes appended since its head was last signed, and
    /// their values' bytes: a long write signs every `Store.signEvery` of
    /// them, or every `Store.signEveryBytes`, so that no signed stretch of
    /// the log outgrows a batch (a sender closes batches only at signed
    /// changes, PROTOCOL.md §6).
    var unsignedOwnChanges = 0
    var unsignedOwnBytes = 0
    static let signEvery = 1000
    static let signEveryBytes = 256 << 10
    /// How far the write-ahead log may grow during a long receive before it
    /// is copied back and truncated between two steps (a test lowers it).
    nonisolated(unsafe) static var logLimitBytes = 64 << 20
    /// Records whose title or body changed in the current write; their
    /// full-text entries are refreshed once, at the end of that write.
    var pendingReindex: Set<String> = []
    /// Index entries made on another core for records this write imports,
    /// by record. `importReport` puts one here after writing the title and
    /// body it was made from; any later change to either removes it, so an
    /// entry here is always the record's current one.
    var preparedIndex: [String: IndexEntry] = [:]
    /// Records whose row was first written in this write with the folded
    /// text of their prepared entry: they have no index entry to remove.
    var foldedWithRow: Set<String> = []
    /// `codeLinks` per field, with the `PRAGMA data_version` it was read at;
    /// emptied whenever this connection folds in a change to a code.
    var codeLinkCache: [String: (version: Int64, value: (links: [String: String], ignored: [String: String]))] = [:]
    /// See `logStatements()`.
    var preparedLog: LogStatements?
    /// A pending row's upsert, per kind and set of columns (`flushPendingRow`).
    var rowUpserts: [Int: Statement] = [:]
    /// See `nodeKey`, `entityKey`.
    var nodeKeys: [NodeID: Int64] = [:]
    var lastEntityKey: (kind: EntityKind, id: String, key: Int64)?
    var lastMissingEntity: EntityRef?
    var lastNodeKey: (id: NodeID, key: Int64)?
    /// The last record an annotation's change was found to name rightly
    /// (it has a body), in the write under way; see `ruleProblem`.
    var lastRecordWithBody: String?
    /// The last annotation found to have its record, in the write under
    /// way; see `ruleProblem`.
    var lastAnnotationWithRecord: (annotation: String, record: String)?
    /// While a received batch is applied: the annotations whose `record`
    /// it sets, and the origin that sets it (see `receiveBatch`).
    var annotationsGivenRecords: Set<AnnotationByOrigin> = []
    var entityKeys: [EntityRef: Int64] = [:]
    /// Whether `coalescingRows` is running, and the row of the entity it
    /// is writing, not yet written.
    var coalescing = false
    /// `rebuildState` is folding changes the log already holds.
    var replayingLog = false
    var pendingRow: PendingRow?
    /// Whether the write under way gives nested writes savepoints, and the
    /// error of a nested write that failed after writing (see `write`).
    var isolatesNestedWrites = false
    /// False while `undoLast` and `redo` write: their writes are not steps
    /// of their own to undo.
    var recordsHistory = true
    /// The range of this node's changes the last write made (this process).
    var lastWriteRange: (Int64, Int64)?
    var failedNestedWrite: (any Error)?
    /// See `scalarText(of:)`.
    var lastBodyText: ScalarText?

    /// Opens the store in `directory`; it must exist.
    /// `busyTimeoutMilliseconds`: how long a write waits for another
    /// writer's lock before failing with "the store is busy" (10 s).
    public init(directory: String, wall: any WallClock = SystemClock(), busyTimeoutMilliseconds: Int32 = 10_000) throws {
        self.directory = directory
        let path = (directory as NSString).appendingPathComponent(Store.fileName)
        guard FileManager.default.fileExists(atPath: path) else {
            throw MarginError.store("no Margin store at \(directory) (run `margin init` to create one)")
        }
        var options = Database.Options()
        options.create = false
        options.busyTimeoutMilliseconds = busyTimeoutMilliseconds
        // A store this user cannot write is opened for reading only, so
        // that reading commands work and writing ones fail before starting.
        isReadOnly = access(path, W_OK) != 0 || access(directory, W_OK) != 0
        if isReadOnly {
            // With no -wal file nobody is writing; SQLite could not create
            // the -shm file it needs, so it is told the file will not change.
            if FileManager.default.fileExists(atPath: path + "-wal") { options.readOnly = true } else { options.immutable = true }
        }
        do {
            db = try Database(path: path, options: options)
            let appID = try db.applicationID
            guard appID == Schema.applicationID else {
                throw MarginError.store("\(path) is not a Margin store")
            }
        } catch let e as SQLiteError {
            if e.isNotADatabase {
                throw MarginError.store("\(path) is not a Margin store (\(e.message))")
            }
            if e.primaryCode == 11 {
                throw MarginError.corrupt("\(path) is damaged (\(e.message)): restore it from a backup, or create a new store and sync it from a colleague")
            }
            throw e
        }
        if !isReadOnly {
            try Store.configure(db)
            // A sync applying a million changes spent a seventh of its time
            // in SQLite's checkpoints; on the other core they cost it nothing.
            db.checkpointInBackground()
        }
        if isReadOnly, try db.userVersion < Schema.fileVersion {
            throw MarginError.store("the store at \(directory) needs upgrading to schema \(Schema.fileVersion), but this user cannot write it")
        }
        let found = try db.userVersion
        try db.migrate(Schema.migrations)
        let meta = try Store.readMeta(db)
        guard let id = meta["node_id"]?.string, let name = meta["node_name"]?.string else {
            throw MarginError.store("\(path) is not a Margin store (no node identity)")
        }
        node = Node(id: id, name: name)
        clock = HybridClock(last: HLC(milliseconds: meta["clock_ms"]?.int ?? 0, counter: meta["clock_ctr"]?.int ?? 0), wall: wall)
        // Schema 2 files conflicts by field group and by deletion, and tells
        // reviews that went stale: the derived state is folded anew.
        if found == 1 { try rebuildState() }
        try loadKey()
    }

    /// Loads the node key. A key rotated by a fork recovery that did not
    /// commit is dropped; one that did is moved into place. A store from
    /// before signatures (schema 2) gets a key for its node id now, and signs
    /// its history once.
    private func loadKey() throws {
        let next = (directory as NSString).appendingPathComponent(NodeKey.fileName + ".next")
        if let pending = try? NodeKey.load(from: directory, name: NodeKey.fileName + ".next") {
            if !isReadOnly, NodeKey.derivedID(Ed25519.publicKey(seed: pending)) == node.id {
                _ = Glibc.rename(next, (directory as NSString).appendingPathComponent(NodeKey.fileName))
            } else if !isReadOnly {
                unlink(next)
            }
        }
        signingSeed = try NodeKey.load(from: directory)
        guard !isReadOnly else { return }
        if signingSeed == nil {
            signingSeed = try NodeKey.create(in: directory)
        }
        // An earlier release could leave a head of 0 for an origin held
        // back (PROTOCOL.md §5 lists no origin at 0): dropped.
        if try db.scalar("SELECT 1 FROM heads WHERE seq <= 0 LIMIT 1").int != nil {
            try write { try db.run("DELETE FROM heads WHERE seq <= 0") }
        }
        // Only a store whose head is not signed yet (just upgraded) writes
        // here; opening a store to read it writes nothing.
        let head = try head(of: node.id)
        if head > 0, try db.scalar("SELECT 1 FROM signatures WHERE origin = ? AND seq = ?", .text(node.id), .integer(head)).int == nil {
            try write { try signOwnHead() }
        }
    }

    /// Creates a new store in `directory` with a fresh random node id.
    public static func create(directory: String, name: String, wall: any WallClock = SystemClock()) throws -> Store {
        let path = (directory as NSString).appendingPathComponent(fileName)
        if FileManager.default.fileExists(atPath: path) {
            throw MarginError.invalid("a Margin store already exists at \(directory)")
        }
        let trimmed = name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty, !trimmed.contains(where: \.isNewline) else {
            throw MarginError.invalid("the node name must be one non-empty line")
        }
        guard trimmed != goldAuthor else { throw MarginError.invalid("'\(goldAuthor)' names the adjudicated layer; choose another node name") }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        do {
            let db = try Database(path: path)
            try db.setApplicationID(Schema.applicationID)
            try configure(db)
            try db.migrate(Schema.migrations)
            try db.transaction {
                let insert = "INSERT INTO meta(key, value) VALUES(?, ?)"
                let seed = try NodeKey.create(in: directory)
                try db.run(insert, "node_id", .text(NodeKey.derivedID(Ed25519.publicKey(seed: seed))))
                try db.run(insert, "node_name", .text(trimmed))
                try db.run(insert, "created_ms", .integer(wall.nowMilliseconds()))
            }
            db.close()
        } catch {
            for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
            try? FileManager.default.removeItem(atPath: (directory as NSString).appendingPathComponent(NodeKey.fileName))
            throw error
        }
        return try Store(directory: directory, wall: wall)
    }

    /// WAL lets `serve` read while the CLI writes; synchronous=FULL makes a
    /// commit durable before it returns, so a committed annotation survives a
    /// power cut. A 32 MB page cache (SQLite's default is 2 MB) keeps the
    /// log's indexes in memory while large batches are applied.
    static func configure(_ db: Database) throws {
        try db.execute("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA cache_size=-32768; PRAGMA temp_store=MEMORY;")
    }

    static func readMeta(_ db: Database) throws -> [String: SQLValue] {
        var meta: [String: SQLValue] = [:]
        for row in try db.rows("SELECT key, value FROM meta") {
            if let k = row[0].string { meta[k] = row[1] }
        }
        return meta
    }

    public var path: String { db.path }

    // MARK: - Writing

    /// Runs `body` as one transaction. Everything `set` records inside it
    /// commits together or not at all, and the clock is saved with it.
    ///
    /// A write inside another (each `annotate` of a bulk command) opens no
    /// savepoint unless the outermost write asks for it: SQLite copies every
    /// page a savepoint's work touches to its statement journal, a sixth of
    /// a bulk write's time. So the outermost write is all or nothing: when a
    /// nested write fails after writing anything, the outermost write fails
    /// with its error and commits nothing, even if the caller caught it. A
    /// nested write that fails before writing (most refusals: its checks come
    /// first) leaves the rest of the write free to go on.
    /// `isolatingNestedWrites` (read from the outermost write only) gives
    /// each nested write a savepoint instead, so that a caller may catch one
    /// nested write's failure and keep the others: an import skips a bad
    /// file and keeps the rest of its chunk.
    public func write<T>(isolatingNestedWrites: Bool = false, _ body: () throws -> T) throws -> T {
        try requireWritable()
        let outermost = !db.isInTransaction
        if !outermost && !isolatesNestedWrites { return try writeWithoutSavepoint(body) }
        let saved = WriteMemory(of: self)
        if outermost { isolatesNestedWrites = isolatingNestedWrites; forgetWriteScope() }
        defer { if outermost { isolatesNestedWrites = false; forgetWriteScope() } }
        // Heads and chain tips are kept in memory through the write and
        // saved once at its end, as a received batch does (unless the write
        // is applying one, which saves its own).
        let keepsHeads = outermost && pendingHeads == nil
        var headAtStart: Int64?
        if keepsHeads { pendingHeads = PendingHeads() }
        defer { if keepsHeads { pendingHeads = nil } }
        do {
            return try db.transaction {
                // The clock is loaded and saved once, by the outermost write:
                // another process may have written since this one opened.
                if outermost {
                    let meta = try Store.readMeta(db)
                    clock.observe(HLC(milliseconds: meta["clock_ms"]?.int ?? 0, counter: meta["clock_ctr"]?.int ?? 0))
                    // Another session may have moved this store to a new node id.
                    if let id = meta["node_id"]?.string { node.id = id }
                    if keepsHeads { headAtStart = try head(of: node.id) }
                }
                let result = try body()
                // A nested write failed after writing and its caller went on:
                // what it wrote cannot be undone alone.
                if outermost, let failed = failedNestedWrite { throw failed }
                if keepsHeads {
                    // What this write added to this node's history, for `undo --last`.
                    if let before = headAtStart, let now = pendingHeads?.head(node.id), now > before {
                        lastWriteRange = (before + 1, now)
                        if recordsHistory { try recordWrite(from: before + 1, to: now) }
                    }
                    for (origin, seq) in (pendingHeads?.all ?? [:]).sorted(by: { $0.key < $1.key }) where seq > 0 { try saveHead(origin, seq) }
                }
                // The full-text entries are written once, by the outermost
                // write: FTS5 flushes what it holds at every savepoint, so
                // indexing inside each nested write (one per imported file)
                // cost a flush per document.
                if outermost {
                    try flushReindex()
                    if unsignedOwnChanges > 0 { try signOwnHead() }
                    try saveClock()
                }
                return result
            }
        } catch {
            // A nested write rolled back its savepoint: the heads it moved
            // in memory go back with it.
            saved.restore(into: self)
            forgetKeys()
            if outermost { pendingReindex.removeAll(); preparedIndex.removeAll(); foldedWithRow.removeAll() }
            // What made the write fail is the nested write's error, not what
            // its half-done work led to afterwards.
            if outermost, let failed = failedNestedWrite { throw failed }
            throw error
        }
    }

    /// A nested write in a write that does not isolate them (see `write`).
    private func writeWithoutSavepoint<T>(_ body: () throws -> T) throws -> T {
        if let failed = failedNestedWrite { throw failed }
        let saved = WriteMemory(of: self)
        let written = db.totalChanges
        do {
            return try body()
        } catch {
            if db.totalChanges == written {
                // Nothing was written: the write goes on as if this one had
                // not been tried.
                saved.restore(into: self)
            } else {
                // The memory stays as the half-done work left the file; the
                // outermost write rolls both back.
                failedNestedWrite = failedNestedWrite ?? error
            }
            throw error
        }
    }

    /// What a write keeps in memory and puts back when it fails: the
    /// clock, the node (a fork recovery moves it to a new id and key) and
    /// the heads moved.
    private struct WriteMemory {
        let clock: HybridClock, node: Node, seed: [UInt8]?, heads: PendingHeads?, unsigned: Int, unsignedBytes: Int
        init(of store: Store) {
            clock = store.clock
            node = store.node
            seed = store.signingSeed
            heads = store.pendingHeads
            unsigned = store.unsignedOwnChanges
            unsignedBytes = store.unsignedOwnBytes
        }
        func restore(into store: Store) {
            store.clock = clock
            store.node = node
            store.signingSeed = seed
            store.pendingHeads = heads
            store.unsignedOwnChanges = unsigned
            store.unsignedOwnBytes = unsignedBytes
        }
    }

    /// Forgets what one outermost write remembers for its own length.
    private func forgetWriteScope() {
        failedNestedWrite = nil
        lastMissingEntity = nil
        lastRecordWithBody = nil
        lastAnnotationWithRecord = nil
    }

    /// Fails, naming why, when this user cannot write the store.
    public func requireWritable() throws {
        guard !isReadOnly else {
            throw MarginError.store("the store at \(directory) is read-only for this user (no permission to write \(Store.fileName) or its folder); nothing was written")
        }
    }

    func saveClock() throws {
        let upsert = "INSERT INTO meta(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value"
        try db.run(upsert, "clock_ms", .integer(clock.last.milliseconds))
        try db.run(upsert, "clock_ctr", .integer(clock.last.counter))
    }

    public func rename(to name: String) throws {
        let trimmed = name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { throw MarginError.invalid("the node name must not be empty") }
        guard trimmed != Store.goldAuthor else { throw MarginError.invalid("'\(Store.goldAuthor)' names the adjudicated layer; choose another node name") }
        try db.run("UPDATE meta SET value = ? WHERE key = 'node_name'", .text(trimmed))
        node.name = trimmed
    }

    /// Records a local change to one field, unless the field already holds
    /// `value`. Must run inside `write`. Returns the change, or nil when
    /// nothing changed.
    ///
    /// Fields that only make sense together (a span's offsets, quote and
    /// context) are written with one shared `stamp` and `always`, even when a
    /// value is unchanged: then a concurrent write of the same group on
    /// another node either wins every field or loses every one, and the
    /// group is never torn between two writers.
    @discardableResult
    public func set(_ kind: EntityKind, _ entity: String, _ field: String, _ value: FieldValue,
                    stamp: HLC? = nil, always: Bool = false) throws -> Change? {
        try set(kind, entity, field, value, stamp: stamp, always: always, checkedAlone: false)
    }

    /// `checkedAlone`: the caller has made the value so that it keeps
    /// `ChangeRules.problem` (an import hashes and normalises the body it
    /// writes; checking that again would hash it twice more).
    @discardableResult
    func set(_ kind: EntityKind, _ entity: String, _ field: String, _ value: FieldValue,
             stamp: HLC?, always: Bool, checkedAlone: Bool) throws -> Change? {
        guard db.isInTransaction else { throw MarginError.invalid("internal: set outside a write transaction") }
        // Between changes (never inside a group written with one stamp).
        if stamp == nil, unsignedOwnChanges >= Store.signEvery || unsignedOwnBytes >= Store.signEveryBytes { try signOwnHead() }
        if let problem = FieldSchema.problem(kind: kind, field: field, value: value) { throw MarginError.invalid(problem) }
        let changes = try fieldChanges(kind, entity, field, .atWinner)
        let current = changes.first(where: \.current)
        if let current, current.value == value, !always { return nil }
        if current == nil && value == .null && !always { return nil }
        let head = try head(of: node.id)
        var change = Change(id: ChangeID(origin: node.id, seq: head + 1), hlc: stamp ?? clock.tick(),
                            kind: kind, entity: entity, field: field, value: value, supersedes: current?.id,
                            prev: try tip(of: node.id, head: head))
        var deletion: FieldChange?
        if field == FieldSchema.deleted {
            change.seen = try versionVector()
        } else {
            deletion = try fieldChanges(kind, entity, FieldSchema.deleted, .atWinner).first(where: \.current)
            change.deletionBase = deletion?.id
        }
        // A reading given by the caller (an import keeps the export's) still
        // comes after the changes this one names, so every node can apply
        // changes in reading order.
        if let r = current?.stamp.hlc, !(r < change.hlc) { change.hlc = clock.after(r) }
        if let r = deletion?.stamp.hlc, !(r < change.hlc) { change.hlc = clock.after(r) }
        if let problem = try ruleProblem(change, field: changes, checkedAlone: checkedAlone) { throw MarginError.invalid(problem) }
        try fold(change, hash: nil, logged: false, field: changes)
        // Only what this store wrote itself is signed by it: a change it
        // received, even under its own id, came with its own signature.
        unsignedOwnChanges += 1
        unsignedOwnBytes += value.string?.utf8.count ?? 8
        return change
    }

    /// What receiving one change found.
    enum Arrival: Equatable {
        case applied
        /// Already held: the same change (same hash) is in the log.
        case alreadyHeld
        /// The log holds a different change under this origin and sequence
        /// number, or the change does not continue the origin's chain as held
        /// here: the origin's history has forked. `exact` when the chains
        /// agree up to the change before, so the fork is at `change.id.seq`.
        case fork(exact: Bool)
    }

    /// Takes a change made on another node into the log and the state,
    /// checking it against the origin's hash chain. Refuses a change that
    /// would leave a gap in its origin's sequence or that does not fit the
    /// schema. Must run inside `write`.
    /// `hash`: the change's hash, when the caller has computed it already.
    /// `checkedAlone`: the caller has checked `ChangeRules.problem`.
    func arrive(_ change: Change, hash known: [UInt8]? = nil, checkedAlone: Bool = false) throws -> Arrival {
        let origin = change.id.origin
        let head = try head(of: origin)
        let hash = known ?? change.hash
        if change.id.seq <= head {
            if try storedHash(change.id) == hash { return .alreadyHeld }
            return .fork(exact: try tip(of: origin, head: change.id.seq - 1) == change.prev)
        }
        guard change.id.seq == head + 1 else {
            throw MarginError.invalid("change \(change.id) refused: sequence gap from \(origin): expected \(head + 1), got \(change.id.seq)")
        }
        let field = try fieldChanges(change.kind, change.entity, change.field, .near(change.supersedes))
        if let problem = try ruleProblem(change, field: field, checkedAlone: checkedAlone) { throw MarginError.invalid("change \(change.id) refused: \(problem)") }
        if try tip(of: origin, head: head) != change.prev { return .fork(exact: false) }
        try fold(change, hash: hash, logged: false, field: field)
        return .applied
    }

    /// `arrive` for callers that expect no fork: true when applied, false
    /// when already held.
    @discardableResult
    func receive(_ change: Change) throws -> Bool {
        switch try arrive(change) {
        case .applied: return true
        case .alreadyHeld: return false
        case .fork: throw MarginError.invalid("change \(change.id) forks the history of \(change.id.origin)")
        }
    }

    // MARK: - The change log

    /// Appends `c` to the log; `current` when it is its field's winner.
    /// Returns whether `c` is the first logged change of its entity.
    @discardableResult
    func appendToLog(_ c: Change, hash known: [UInt8]? = nil, current: Bool = false) throws -> Bool {
        let hash = known ?? c.hash
        func key(_ id: ChangeID?) throws -> SQLValue {
            guard let id, let k = try nodeKey(id.origin, create: true) else { return .null }
            return .integer(k)
        }
        guard let (entity, first) = try numberedEntity(c.kind, c.entity, create: true), let origin = try nodeKey(c.id.origin, create: true) else {
            throw MarginError.corrupt("could not number \(c.kind.rawValue) \(c.entity) or node \(c.id.origin) in the log")
        }
        let s = try logStatements().insert
        s.reset()
        try s.bind(1, entity); try s.bind(2, c.field); try s.bind(3, origin); try s.bind(4, c.id.seq)
        try s.bind(5, c.hlc.milliseconds); try s.bind(6, c.hlc.counter); try s.bind(7, c.value.sql)
        try s.bind(8, try key(c.supersedes)); try s.bind(9, c.supersedes.map { SQLValue.integer($0.seq) } ?? .null)
        try s.bind(10, try key(c.deletionBase)); try s.bind(11, c.deletionBase.map { SQLValue.integer($0.seq) } ?? .null)
        try s.bind(12, c.seen?.description); try s.bind(13, hash); try s.bind(14, Int64(current ? 1 : 0))
        try s.execute()
        if pendingHeads != nil {
            pendingHeads?.set(c.id.origin, c.id.seq, tip: hash)
        } else {
            try saveHead(c.id.origin, c.id.seq)
        }
        return first
    }

    /// Computes every origin's hash chain from the log's content and stores
    /// it: the schema-2 migration (and tests that alter the log on purpose).
    static func rehashLog(_ db: Database) throws {
        var hashes: [(ChangeID, [UInt8])] = []
        var origin = "", prev = ChangeHash.genesis
        try db.statement("SELECT \(Store.baseChangeColumns) FROM changes ORDER BY origin, seq").forEach { s in
            var c = try Store.change(from: s)
            if c.id.origin != origin { origin = c.id.origin; prev = ChangeHash.genesis }
            c.prev = prev
            prev = c.hash
            hashes.append((c.id, prev))
            return true
        }
        // Before file version 6 the log is the table `changes`.
        let keyed = try db.scalar("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'log'").int != nil
        let update = try db.statement(keyed ? "UPDATE log SET hash = ?1 WHERE origin = (SELECT key FROM nodes WHERE id = ?2) AND seq = ?3"
                                            : "UPDATE changes SET hash = ? WHERE origin = ? AND seq = ?")
        for (id, hash) in hashes { try update.run([.blob(hash), .text(id.origin), .integer(id.seq)]) }
    }

    /// The hash of `origin`'s change number `head` (the chain's genesis for 0).
    func tip(of origin: NodeID, head: Int64) throws -> [UInt8] {
        guard head > 0 else { return ChangeHash.genesis }
        if let cached = pendingHeads?.tip(origin, at: head) { return cached }
        return try storedHash(ChangeID(origin: origin, seq: head)) ?? ChangeHash.genesis
    }

    func storedHash(_ id: ChangeID) throws -> [UInt8]? {
        guard let origin = try nodeKey(id.origin, create: false) else { return nil }
        let s = try logStatements().hash
        s.reset()
        defer { s.reset() }
        try s.bind(1, origin); try s.bind(2, id.seq)
        guard try s.step() else { return nil }
        return s.column(0).blob
    }

    func saveHead(_ origin: NodeID, _ seq: Int64) throws {
        // A head of 0 holds nothing: no row, so that neither HAVE nor a
        // version vector ever lists an origin at 0 (one only looked up, or
        // held back, leaves no trace).
        guard seq > 0 else {
            try db.run("DELETE FROM heads WHERE origin = ?", .text(origin))
            return
        }
        try db.run("INSERT INTO heads(origin, seq) VALUES(?, ?) ON CONFLICT(origin) DO UPDATE SET seq = excluded.seq",
                   .text(origin), .integer(seq))
    }

    public func head(of origin: NodeID) throws -> Int64 {
        if let cached = pendingHeads?.head(origin) { return cached }
        let stored = try db.scalar("SELECT seq FROM heads WHERE origin = ?", .text(origin)).int ?? 0
        pendingHeads?.set(origin, stored, tip: nil)
        return stored
    }

    public func versionVector() throws -> VersionVector {
        var heads: [NodeID: Int64] = [:]
        for row in try db.rows("SELECT origin, seq FROM heads WHERE seq > 0") {
            if let o = row[0].string, let s = row[1].int { heads[o] = s }
        }
        // Inside a write or batch, the heads not saved yet.
        for (origin, seq) in pendingHeads?.all ?? [:] where seq > 0 { heads[origin] = seq }
        return VersionVector(heads)
    }

    static let baseChangeColumns = "origin, seq, ms, ctr, kind, entity, field, value, sup_origin, sup_seq, del_origin, del_seq, seen"
    /// The log's rows with their public ids, in `baseChangeColumns`' order,
    /// then NULL (no `prev`), the hash and the row's keys (entity, origin):
    /// for the paths that read the log in bulk, by key.
    static let logRows = """
        SELECT o.id, l.seq, l.ms, l.ctr, e.kind, e.id, l.field, l.value, so.id, l.sup_seq, d.id, l.del_seq, l.seen,
            NULL, l.hash, l.entity, l.origin
        FROM log l JOIN nodes o ON o.key = l.origin JOIN entities e ON e.key = l.entity
            LEFT JOIN nodes so ON so.key = l.sup_origin LEFT JOIN nodes d ON d.key = l.del_origin
        """
    /// A change with its chain link: `prev` is the hash of the origin's
    /// change before it (a primary-key probe).
    static let changeColumns = baseChangeColumns
        + ", (SELECT p.hash FROM changes p WHERE p.origin = changes.origin AND p.seq = changes.seq - 1)"

    static func change(from s: Statement) throws -> Change {
        guard let origin = s.text(0), let kindName = s.text(4), let kind = EntityKind(rawValue: kindName),
              let entity = s.text(5), let field = s.text(6) else {
            throw MarginError.corrupt("a change-log row is malformed")
        }
        func id(_ o: Int, _ q: Int) -> ChangeID? {
            guard let origin = s.text(o), !s.isNull(q) else { return nil }
            return ChangeID(origin: origin, seq: s.int(q))
        }
        return Change(id: ChangeID(origin: origin, seq: s.int(1)),
                      hlc: HLC(milliseconds: s.int(2), counter: s.int(3)),
                      kind: kind, entity: entity, field: field, value: try FieldValue(s.column(7)),
                      supersedes: id(8, 9), deletionBase: id(10, 11),
                      seen: s.text(12).flatMap { VersionVector(parsing: $0) },
                      prev: s.columnCount > 13 && !s.isNull(13) ? (s.column(13).blob ?? ChangeHash.genesis) : ChangeHash.genesis)
    }

    public func change(_ id: ChangeID) throws -> Change? {
        var found: Change?
        try db.statement("SELECT \(Store.changeColumns) FROM changes WHERE origin = ? AND seq = ?")
            .forEach([.text(id.origin), .integer(id.seq)]) { s in
                found = try Store.change(from: s)
                return false
            }
        return found
    }

    /// The winning change of one field: its id, stamp and value.
    public struct Winner: Equatable, Sendable {
        public var id: ChangeID
        public var stamp: Change.Stamp
        public var value: FieldValue
    }

    /// Whether the field has a winner, without reading its value (a
    /// record's body can be long).
    func hasWinner(_ kind: EntityKind, _ entity: String, _ field: String) throws -> Bool {
        guard let key = try entityKey(kind, entity, create: false) else { return false }
        let s = try logStatements().exists
        s.reset()
        defer { s.reset() }
        try s.bind(1, key); try s.bind(2, field)
        return try s.step()
    }

    public func winner(_ kind: EntityKind, _ entity: String, _ field: String) throws -> Winner? {
        guard let key = try entityKey(kind, entity, create: false) else { return nil }
        let s = try logStatements().winner
        s.reset()
        defer { s.reset() }
        try s.bind(1, key); try s.bind(2, field)
        guard try s.step(), let origin = s.text(0) else { return nil }
        return Winner(id: ChangeID(origin: origin, seq: s.int(1)),
                      stamp: Change.Stamp(hlc: HLC(milliseconds: s.int(2), counter: s.int(3)), origin: origin, seq: s.int(1)),
                      value: try FieldValue(s.column(4)))
    }

    // MARK: - State: a pure function of the log

    /// One logged change to a field, as the range probe of its field reads it.
    struct FieldChange {
        var id: ChangeID
        var stamp: Change.Stamp
        var value: FieldValue
        var supersedes: ChangeID?
        var current: Bool
    }

    /// Which of a field's changes to read. A write, an arrival and a fold
    /// need only the winner and the changes that supersede one given change
    /// (its siblings), never the field's whole history: a field changed
    /// thousands of times does not build thousands of rows per change.
    enum FieldRows {
        /// The winner, and the changes that supersede the given one (nil:
        /// first writes).
        case near(ChangeID?)
        /// The winner, and the changes that supersede it.
        case atWinner
    }

    /// A field's logged changes that `rows` asks for.
    func fieldChanges(_ kind: EntityKind, _ entity: String, _ field: String, _ rows: FieldRows) throws -> [FieldChange] {
        var out: [FieldChange] = []
        // An entity first seen in this run of changes has no logged change
        // but the run's own: a field the run has not touched is empty, with
        // no probe (most of a received annotation's ten fields).
        if coalescing, let row = pendingRow, row.fresh, row.kind == kind, row.entity == entity, !row.fields.contains(field) {
            return out
        }
        // An entity without a key has no logged change at all.
        guard let key = try entityKey(kind, entity, create: false) else { return out }
        let statements = try logStatements(), s: Statement
        switch rows {
        case .near: s = statements.fieldNear
        case .atWinner: s = statements.fieldAtWinner
        }
        s.reset()
        defer { s.reset() }
        try s.bind(1, key); try s.bind(2, field)
        if case .near(let target) = rows {
            if let target {
                // An origin with no number has no change here: nothing supersedes it.
                try s.bind(3, try nodeKey(target.origin, create: false) ?? -1); try s.bind(4, target.seq)
            } else {
                try s.bind(3, SQLValue.null); try s.bind(4, SQLValue.null)
            }
        }
        while try s.step() {
            guard let origin = s.text(0) else { continue }
            let seq = s.int(1)
            out.append(FieldChange(id: ChangeID(origin: origin, seq: seq),
                                   stamp: Change.Stamp(hlc: HLC(milliseconds: s.int(2), counter: s.int(3)), origin: origin, seq: seq),
                                   value: try FieldValue(s.column(4)),
                                   supersedes: s.text(5).map { ChangeID(origin: $0, seq: s.int(6)) },
                                   current: s.int(7) == 1))
        }
        return out
    }

    /// The log's statements that run once or more per change, prepared once
    /// per connection and bound in place.
    final class LogStatements {
        let insert: Statement
        /// A field's winning change and the changes that supersede one
        /// given change (none: `?3`, `?4` null): all a write or an arrival
        /// needs, however many changes the field has had.
        let fieldNear: Statement
        /// A field's winning change and the changes that supersede it: what
        /// a local write reads, in one statement.
        let fieldAtWinner: Statement
        let setCurrent: Statement
        let winner: Statement
        let exists: Statement
        let hash: Statement
        /// Local keys (`nodes`, `entities`): look-up, and numbering a new id.
        let nodeKey, newNode, entityKey, newEntity: Statement
        /// Per kind with a table: whether the entity has a row, and
        /// whether it was ever deleted.
        let recordRow, annotationRow, codeRow: Statement
        func entityRow(_ kind: EntityKind) -> Statement? {
            switch kind {
            case .record: recordRow
            case .annotation: annotationRow
            case .code: codeRow
            case .conflict: nil
            }
        }

        init(_ db: Database) throws {
            insert = try db.statement("""
                INSERT INTO log(entity, field, origin, seq, ms, ctr, value, sup_origin, sup_seq, del_origin, del_seq, seen, hash, current)
                VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
                """)
            fieldNear = try db.statement("""
                SELECT o.id, l.seq, l.ms, l.ctr, l.value, so.id, l.sup_seq, l.current
                FROM log l JOIN nodes o ON o.key = l.origin LEFT JOIN nodes so ON so.key = l.sup_origin
                WHERE l.entity = ?1 AND l.field = ?2 AND (l.current = 1 OR (l.sup_origin IS ?3 AND l.sup_seq IS ?4))
                """)
            fieldAtWinner = try db.statement("""
                SELECT o.id, l.seq, l.ms, l.ctr, l.value, so.id, l.sup_seq, l.current
                FROM log l JOIN nodes o ON o.key = l.origin LEFT JOIN nodes so ON so.key = l.sup_origin
                WHERE l.entity = ?1 AND l.field = ?2 AND (l.current = 1 OR (l.sup_origin, l.sup_seq) =
                    (SELECT w.origin, w.seq FROM log w WHERE w.entity = ?1 AND w.field = ?2 AND w.current = 1))
                """)
            setCurrent = try db.statement("UPDATE log SET current = ?5 WHERE entity = ?1 AND field = ?2 AND origin = ?3 AND seq = ?4")
            winner = try db.statement("""
                SELECT o.id, l.seq, l.ms, l.ctr, l.value FROM log l JOIN nodes o ON o.key = l.origin
                WHERE l.entity = ?1 AND l.field = ?2 AND l.current = 1
                """)
            exists = try db.statement("SELECT 1 FROM log WHERE entity = ?1 AND field = ?2 AND current = 1")
            hash = try db.statement("SELECT hash FROM log WHERE origin = ?1 AND seq = ?2")
            nodeKey = try db.statement("SELECT key FROM nodes WHERE id = ?1")
            newNode = try db.statement("INSERT INTO nodes(id) VALUES(?1)")
            entityKey = try db.statement("SELECT key FROM entities WHERE kind = ?1 AND id = ?2")
            newEntity = try db.statement("INSERT INTO entities(kind, id) VALUES(?1, ?2)")
            recordRow = try db.statement("SELECT ever_deleted FROM records WHERE id = ?1")
            annotationRow = try db.statement("SELECT ever_deleted FROM annotations WHERE id = ?1")
            codeRow = try db.statement("SELECT ever_deleted FROM codes WHERE id = ?1")
        }
    }

    func logStatements() throws -> LogStatements {
        if let prepared = preparedLog { return prepared }
        let prepared = try LogStatements(db)
        preparedLog = prepared
        return prepared
    }

    // MARK: - Local keys

    /// The log's number for a node id (`nodes`); with `create`, a new id is
    /// numbered. Numbers are never changed or reused, so one read (or made
    /// and committed) stays true for every connection; `write` forgets the
    /// cache when a transaction rolls back, taking new numbers with it.
    func nodeKey(_ id: NodeID, create: Bool) throws -> Int64? {
        // Changes come in runs of one origin.
        if let last = lastNodeKey, last.id == id { return last.key }
        if let key = nodeKeys[id] {
            lastNodeKey = (id, key)
            return key
        }
        let statements = try logStatements()
        guard let key = try number(statements.nodeKey, statements.newNode, [.text(id)], create: create) else { return nil }
        nodeKeys[id] = key
        lastNodeKey = (id, key)
        return key
    }

    /// The log's number for an entity (`entities`), as `nodeKey`. The last
    /// entity is kept apart (changes come in runs of one entity), the others
    /// up to 4,096, about a 1 MB batch's entities (its span checks look its
    /// annotations up again): enough for a batch, flat in memory for a sync.
    func entityKey(_ kind: EntityKind, _ id: String, create: Bool) throws -> Int64? {
        try numberedEntity(kind, id, create: create)?.key
    }

    /// `entityKey`, and whether this call numbered the entity: then it had
    /// no logged change before, so it has no row either.
    ///
    /// An entity looked for in a write and not found is remembered (the
    /// last one) until the write ends: a new entity's first change asks for
    /// its number three times (its field, its deletion, its log row), each
    /// a descent of the random ids' index.
    func numberedEntity(_ kind: EntityKind, _ id: String, create: Bool) throws -> (key: Int64, made: Bool)? {
        if let last = lastEntityKey, last.kind == kind, last.id == id { return (last.key, false) }
        let ref = EntityRef(kind: kind, id: id)
        if let key = entityKeys[ref] {
            lastEntityKey = (kind, id, key)
            return (key, false)
        }
        let statements = try logStatements()
        let values: [SQLValue] = [.text(kind.rawValue), .text(id)]
        let knownMissing = lastMissingEntity == ref && db.isInTransaction
        var key = knownMissing ? nil : try find(statements.entityKey, values)
        var made = false
        if key == nil {
            guard create else {
                if db.isInTransaction { lastMissingEntity = ref }
                return nil
            }
            key = try make(statements.newEntity, values)
            made = true
        }
        guard let key else { return nil }
        if lastMissingEntity == ref { lastMissingEntity = nil }
        lastEntityKey = (kind, id, key)
        if entityKeys.count >= 4096 { entityKeys.removeAll(keepingCapacity: true) }
        entityKeys[ref] = key
        return (key, made)
    }
    struct EntityRef: Hashable {
        var kind: EntityKind
        var id: String
    }

    private func number(_ find: Statement, _ make: Statement, _ values: [SQLValue], create: Bool) throws -> Int64? {
        if let key = try self.find(find, values) { return key }
        return create ? try self.make(make, values) : nil
    }

    private func find(_ find: Statement, _ values: [SQLValue]) throws -> Int64? {
        find.reset()
        defer { find.reset() }
        for (i, v) in values.enumerated() { try find.bind(Int32(i + 1), v) }
        return try find.step() ? find.int(0) : nil
    }

    private func make(_ make: Statement, _ values: [SQLValue]) throws -> Int64 {
        make.reset()
        for (i, v) in values.enumerated() { try make.bind(Int32(i + 1), v) }
        try make.execute()
        return db.lastInsertRowID
    }

    /// Forgets the numbers read or made, and what was remembered with them:
    /// after a rollback.
    func forgetKeys() {
        nodeKeys.removeAll()
        lastNodeKey = nil
        lastRecordWithBody = nil
        lastAnnotationWithRecord = nil
        entityKeys.removeAll()
        lastEntityKey = nil
        lastMissingEntity = nil
    }

    /// Folds one change into the derived state, appending it to the log
    /// first unless it is `logged` already (a rebuild). The result does not
    /// depend on the order changes arrive in: the change becomes its field's
    /// winner (`current`) only if it wins under LWW, times are minima and
    /// maxima, and conflicts are pairs found from whichever member arrives
    /// second.
    /// `field`: the field's logged changes, when the caller has read them.
    func fold(_ c: Change, hash: [UInt8]?, logged: Bool, field: [FieldChange]? = nil) throws {
        if c.kind == .code { codeLinkCache.removeAll() }
        let others = try (field ?? fieldChanges(c.kind, c.entity, c.field, .near(c.supersedes))).filter { $0.id != c.id }
        let current = others.first(where: \.current)
        let wins = Change.wins(c.stamp, over: current?.stamp)
        var firstOfEntity = false
        if !logged {
            firstOfEntity = try appendToLog(c, hash: hash, current: wins)
        } else if wins {
            try setCurrent(c.kind, c.entity, c.field, c.id, true)
        }
        if wins, let current { try setCurrent(c.kind, c.entity, c.field, current.id, false) }
        let everDeleted = try touchEntity(c, wins: wins, firstOfEntity: firstOfEntity)
        if wins { try projectOutsideRow(c) }
        try detectConflicts(c, siblings: others.filter { $0.supersedes == c.supersedes }, entityEverDeleted: everDeleted)
    }

    private func setCurrent(_ kind: EntityKind, _ entity: String, _ field: String, _ id: ChangeID, _ current: Bool) throws {
        guard let key = try entityKey(kind, entity, create: false), let origin = try nodeKey(id.origin, create: false) else {
            throw MarginError.corrupt("change \(id) is not numbered in the log")
        }
        let s = try logStatements().setCurrent
        s.reset()
        try s.bind(1, key); try s.bind(2, field); try s.bind(3, origin); try s.bind(4, id.seq); try s.bind(5, Int64(current ? 1 : 0))
        try s.execute()
    }

    /// The table of a kind's entity rows (switched, not looked up: it is
    /// asked once or more per change).
    private static func table(of kind: EntityKind) -> String? {
        switch kind {
        case .record: "records"
        case .annotation: "annotations"
        case .code: "codes"
        case .conflict: nil
        }
    }

    private static let recordFieldColumns = ["title": "title", "source": "source", "published": "published", "place": "place", "url": "url",
                                             "author": "author", "editor": "editor", "body": "body", FieldSchema.deleted: "deleted"]
    private static let annotationFieldColumns = ["record": "record", "code": "code", "start": "span_start", "end": "span_end", "quote": "quote",
                                                 "prefix": "prefix", "suffix": "suffix", "value": "value", "note": "note", "status": "status",
                                                 "comment": "comment", "reviewer": "reviewer", "reviewed": "reviewed", "author": "author",
                                                 FieldSchema.deleted: "deleted"]
    private static let codeFieldColumns = ["name": "name", "description": "description", "colour": "colour", "parent": "parent",
                                           "merged_into": "merged_into", FieldSchema.deleted: "deleted"]
    /// The columns a kind's fields are projected into, by field.
    private static func fieldColumns(of kind: EntityKind) -> [String: String] {
        switch kind {
        case .record: recordFieldColumns
        case .annotation: annotationFieldColumns
        case .code: codeFieldColumns
        case .conflict: [:]
        }
    }

    /// A kind's row columns in a fixed order (the projected fields', and a
    /// record's folded text), so that a pending row holds its values in
    /// slots and names the columns it sets by a bit mask.
    private static let recordRowColumns = Set(recordFieldColumns.values).union(["folded"]).sorted()
    private static let annotationRowColumns = Set(annotationFieldColumns.values).sorted()
    private static let codeRowColumns = Set(codeFieldColumns.values).sorted()
    private static func rowColumns(of kind: EntityKind) -> [String] {
        switch kind {
        case .record: recordRowColumns
        case .annotation: annotationRowColumns
        case .code: codeRowColumns
        case .conflict: []
        }
    }
    private static func slots(_ kind: EntityKind) -> [String: Int] {
        let columns = rowColumns(of: kind)
        return fieldColumns(of: kind).compactMapValues { columns.firstIndex(of: $0) }
    }
    private static let recordSlots = slots(.record), annotationSlots = slots(.annotation), codeSlots = slots(.code)
    /// The slot of the column a kind's field is projected into, if any.
    private static func slot(of kind: EntityKind, _ field: String) -> Int? {
        switch kind {
        case .record: recordSlots[field]
        case .annotation: annotationSlots[field]
        case .code: codeSlots[field]
        case .conflict: nil
        }
    }
    private static let foldedSlot = recordRowColumns.firstIndex(of: "folded") ?? 0

    /// Per kind: the upsert that creates an entity's row and widens its
    /// times, returning whether the entity was ever deleted.
    private static let entityRowSQL: [EntityKind: String] = EntityKind.allCases.reduce(into: [:]) { out, kind in
        guard let table = table(of: kind) else { return }
        out[kind] = """
        INSERT INTO \(table)(id, created_ms, updated_ms) VALUES(?1, ?2, ?2)
        ON CONFLICT(id) DO UPDATE SET created_ms = min(created_ms, ?2), updated_ms = max(updated_ms, ?2)
        RETURNING ever_deleted
        """
    }

    /// Per kind and field: the same upsert, also projecting the field into
    /// its column when the change wins (?4), and noting a deletion (?5).
    /// One statement where there were two: this is the hot path of a sync.
    private static let rowAndColumnSQL: [EntityKind: [String: String]] = EntityKind.allCases.reduce(into: [:]) { out, kind in
        guard let table = table(of: kind) else { return }
        out[kind] = fieldColumns(of: kind).mapValues { column in
            let fresh = column == "deleted" ? "CASE WHEN ?4 THEN ?3 ELSE 0 END" : "CASE WHEN ?4 THEN ?3 END"
            return """
                INSERT INTO \(table)(id, created_ms, updated_ms, \(column), ever_deleted) VALUES(?1, ?2, ?2, \(fresh), ?5)
                ON CONFLICT(id) DO UPDATE SET created_ms = min(created_ms, ?2), updated_ms = max(updated_ms, ?2),
                    \(column) = CASE WHEN ?4 THEN ?3 ELSE \(column) END, ever_deleted = max(ever_deleted, ?5)
                RETURNING ever_deleted
                """
        }
    }

    /// An entity's row as a run of changes to it leaves it, written once
    /// when the run ends (see `coalescingRows`).
    struct PendingRow {
        var kind: EntityKind
        var entity: String
        var createdMs: Int64
        var updatedMs: Int64
        var everDeleted: Bool
        /// The entity had no row when the run began, so it has no logged
        /// change but those of `fields`, the fields the run has changed.
        var fresh: Bool
        var fields: [String] = []
        /// The winning values of the run, by slot (`rowColumns`), and the
        /// slots set.
        var values: [SQLValue]
        var set: UInt32 = 0
    }

    /// Runs `body`, writing each entity's row once per run of consecutive
    /// changes to that entity instead of once per change: a received
    /// annotation's ten fields then cost one row write, not ten. Inside
    /// `body`, projections of the entity being written may lag behind the
    /// log, so `body` must read state from the log only (as applying a batch
    /// does); the row is written when the run ends or `body` returns.
    func coalescingRows<T>(_ body: () throws -> T) throws -> T {
        guard !coalescing else { return try body() }
        coalescing = true
        defer { coalescing = false; pendingRow = nil }
        let result = try body()
        try flushPendingRow()
        return result
    }

    private func flushPendingRow() throws {
        guard var row = pendingRow, let table = Store.table(of: row.kind) else { return }
        pendingRow = nil
        // A new record's row takes its folded text now, not in a second
        // write of the whole row when the index is brought up to date.
        if row.kind == .record, row.fresh, let entry = preparedIndex[row.entity] {
            row.values[Store.foldedSlot] = .text(entry.folded)
            row.set |= 1 << UInt32(Store.foldedSlot)
            foldedWithRow.insert(row.entity)
        }
        let key = Int(ChangeCodec.kindCode(row.kind)) << 32 | Int(row.set)
        let s: Statement
        if let held = rowUpserts[key] {
            s = held
        } else {
            let columns = Store.rowColumns(of: row.kind).enumerated().filter { row.set & (1 << UInt32($0.offset)) != 0 }.map(\.element)
            var sql = "INSERT INTO \(table)(id, created_ms, updated_ms, ever_deleted"
            for column in columns { sql += ", " + column }
            sql += ") VALUES(?1, ?2, ?3, ?4"
            for i in columns.indices { sql += ", ?\(i + 5)" }
            sql += ") ON CONFLICT(id) DO UPDATE SET created_ms = min(created_ms, ?2), updated_ms = max(updated_ms, ?3), ever_deleted = max(ever_deleted, ?4)"
            for column in columns { sql += ", \(column) = excluded.\(column)" }
            s = try db.statement(sql)
            rowUpserts[key] = s
        }
        s.reset()
        try s.bind(1, row.entity); try s.bind(2, row.createdMs); try s.bind(3, row.updatedMs); try s.bind(4, Int64(row.everDeleted ? 1 : 0))
        var parameter: Int32 = 5
        for (i, value) in row.values.enumerated() where row.set & (1 << UInt32(i)) != 0 {
            try s.bind(parameter, value)
            parameter += 1
        }
        try s.execute()
    }

    /// Creates or updates the entity's row for change `c`; returns whether a
    /// deletion of the entity has ever been folded in. `firstOfEntity`: `c`
    /// is the entity's first logged change, so it has no row to look for.
    private func touchEntity(_ c: Change, wins: Bool, firstOfEntity: Bool) throws -> Bool {
        if coalescing, let probe = try logStatements().entityRow(c.kind) {
            if let pending = pendingRow, pending.kind != c.kind || pending.entity != c.entity { try flushPendingRow() }
            var row: PendingRow
            if let pending = pendingRow {
                row = pending
                pendingRow = nil  // the one copy, changed in place below
            } else {
                var exists = false, everDeleted = false
                if !firstOfEntity {
                    probe.reset()
                    defer { probe.reset() }
                    try probe.bind(1, c.entity)
                    exists = try probe.step()
                    everDeleted = exists && probe.int(0) == 1
                }
                row = PendingRow(kind: c.kind, entity: c.entity, createdMs: c.hlc.milliseconds, updatedMs: c.hlc.milliseconds,
                                 everDeleted: everDeleted, fresh: !exists && !replayingLog,
                                 values: Array(repeating: .null, count: Store.rowColumns(of: c.kind).count))
            }
            if row.fresh && !row.fields.contains(c.field) { row.fields.append(c.field) }
            row.createdMs = min(row.createdMs, c.hlc.milliseconds)
            row.updatedMs = max(row.updatedMs, c.hlc.milliseconds)
            if c.field == FieldSchema.deleted && c.value == .int(1) { row.everDeleted = true }
            if wins, let slot = Store.slot(of: c.kind, c.field) {
                row.values[slot] = (c.field == FieldSchema.deleted && c.value == .null) ? .integer(0) : c.value.sql
                row.set |= 1 << UInt32(slot)
            }
            pendingRow = row
            return row.everDeleted
        }
        let row: [[SQLValue]]
        if let sql = Store.rowAndColumnSQL[c.kind]?[c.field] {
            let value: SQLValue = (c.field == FieldSchema.deleted && c.value == .null) ? .integer(0) : c.value.sql
            let deletes: Int64 = c.field == FieldSchema.deleted && c.value == .int(1) ? 1 : 0
            row = try db.statement(sql).all([.text(c.entity), .integer(c.hlc.milliseconds), value,
                                             .integer(wins ? 1 : 0), .integer(deletes)])
        } else if let sql = Store.entityRowSQL[c.kind] {
            row = try db.statement(sql).all([.text(c.entity), .integer(c.hlc.milliseconds)])
        } else {
            return false
        }
        return row.first?.first?.int == 1
    }

    /// What a winning change projects beyond its entity's row: free record
    /// metadata, and the full-text index for a title or body.
    private func projectOutsideRow(_ c: Change) throws {
        guard c.kind == .record else { return }
        if c.field.hasPrefix(FieldSchema.metaPrefix) {
            // record_meta refers to the record's row: it must exist first.
            try flushPendingRow()
            let key = String(c.field.dropFirst(FieldSchema.metaPrefix.count))
            if c.value == .null {
                try db.run("DELETE FROM record_meta WHERE record = ? AND key = ?", .text(c.entity), .text(key))
            } else {
                try db.run("""
                    INSERT INTO record_meta(record, key, value) VALUES(?, ?, ?)
                    ON CONFLICT(record, key) DO UPDATE SET value = excluded.value
                    """, .text(c.entity), .text(key), c.value.sql)
            }
        } else if c.field.hasPrefix(FieldSchema.donePrefix) {
            let coder = String(c.field.dropFirst(FieldSchema.donePrefix.count))
            if c.value == .int(1) {
                try db.run("INSERT OR IGNORE INTO record_done(record, coder) VALUES(?, ?)", .text(c.entity), .text(coder))
            } else {
                try db.run("DELETE FROM record_done WHERE record = ? AND coder = ?", .text(c.entity), .text(coder))
            }
        } else if c.field == "title" || c.field == "body" {
            pendingReindex.insert(c.entity)
            // An entry made beforehand is for the title and body it was
            // made from: a later change to either makes it stale.
            preparedIndex[c.entity] = nil
        }
    }

    func flushReindex() throws {
        let records = pendingReindex
        pendingReindex.removeAll()
        defer { preparedIndex.removeAll(); foldedWithRow.removeAll() }
        for id in records.sorted() { try reindex(record: id) }
    }

    /// A record's full-text entry, made from its title and (NFC) body: the
    /// Simplified-folded text (kept for search's final check) and its
    /// characters and pairs (what the index holds), with the record's id.
    /// Pure, so an import makes it on the core that cleans the files.
    public struct IndexEntry: Equatable, Sendable {
        public let title: String
        public let body: String
        /// Made only when asked for: a reindex has the id already.
        public let recordID: String?
        /// The report as received (normalised) the id was made from.
        public let received: String?
        public let folded: String
        public let grams: String

        public init(title: String?, body: String, received: String? = nil, withRecordID: Bool = false) {
            self.title = title ?? ""
            self.body = body
            let text = withRecordID ? Store.received(received ?? body) : nil
            self.received = text
            recordID = text.map { Store.recordID(normalizedBody: $0) }
            folded = ScriptFolding.fold(self.title + "\n" + body)
            grams = GramIndex.grams(folded)
        }
    }

    /// Keeps the full-text index (over the Simplified-folded title and body)
    /// in step with a record's title and body.
    private func reindex(record id: String) throws {
        let prepared = preparedIndex[id]
        // A row first written in this write has no index entry yet, whatever
        // its folded column holds.
        let indexedBefore = !foldedWithRow.contains(id)
        // With an entry made beforehand, the title and body are not read
        // back; nor is the folded text when there is no entry to remove.
        let rows = try db.rows(prepared == nil ? "SELECT rowid, folded, title, body FROM records WHERE id = ?"
                               : indexedBefore ? "SELECT rowid, folded FROM records WHERE id = ?"
                                               : "SELECT rowid FROM records WHERE id = ?", .text(id))
        guard let row = rows.first, let rowid = row[0].int else { return }
        // The old entry is removed with the text it was indexed from; a record
        // indexed for the first time has none.
        if indexedBefore, let old = row[1].string {
            try db.run("INSERT INTO record_grams(record_grams, rowid, grams) VALUES('delete', ?, ?)", .integer(rowid), .text(GramIndex.grams(old)))
        }
        let entry = prepared ?? IndexEntry(title: row[2].string, body: row[3].string ?? "")
        if !(prepared != nil && !indexedBefore) {
            try db.run("UPDATE records SET folded = ? WHERE rowid = ?", .text(entry.folded), .integer(rowid))
        }
        try db.run("INSERT INTO record_grams(rowid, grams) VALUES(?, ?)", .integer(rowid), .text(entry.grams))
    }

    // MARK: - Conflicts

    /// The conflict rule. Two changes conflict when
    ///  - they set the same field of the same entity to different values and
    ///    supersede the same base (neither writer had seen the other), or
    ///  - one deletes an entity and the other edits it, and neither writer
    ///    had seen the other (the deletion's `seen` vector does not cover the
    ///    edit, and the edit's `deletionBase` does not lead to the deletion).
    /// Both are decided from the changes alone, so every node holding them
    /// finds the same conflicts.
    ///
    /// `siblings`: the other logged changes to the field that supersede the
    /// same base. `entityEverDeleted` false means no deletion to race with
    /// yet; a deletion arriving later scans the edits.
    private func detectConflicts(_ c: Change, siblings: [FieldChange], entityEverDeleted: Bool) throws {
        // Resolutions are settled by LWW alone: two people resolving one
        // conflict at once is not a conflict about the conflict (the values
        // they wrote to the field conflict, if they differ).
        guard c.kind != .conflict else { return }
        for sibling in siblings where sibling.value != c.value {
            let other = sibling.id, otherStamp = sibling.stamp
            let cWins = Change.wins(c.stamp, over: otherStamp)
            // A field of a group is filed under the group's first field, so
            // two concurrent reviews or span edits are one conflict.
            var field = c.field, mine = c.id, theirs = other
            if let lead = FieldSchema.group(of: c.kind, field: c.field)?.first, lead != c.field {
                field = lead
                mine = try groupLead(lead, of: c.kind, c.entity, stamp: c.stamp) ?? c.id
                theirs = try groupLead(lead, of: c.kind, c.entity, stamp: otherStamp) ?? other
            }
            try addConflict(c, field: field, winner: cWins ? mine : theirs, loser: cWins ? theirs : mine,
                            ms: max(c.hlc.milliseconds, otherStamp.hlc.milliseconds))
        }
        if c.field == FieldSchema.deleted {
            guard c.value == .int(1), let seen = c.seen else { return }
            let edits = try db.rows("""
                SELECT origin, seq, ms, ctr, del_origin, del_seq FROM changes
                WHERE kind = ? AND entity = ? AND field <> 'deleted'
                """, .text(c.kind.rawValue), .text(c.entity))
            for row in edits {
                guard let origin = row[0].string, let seq = row[1].int else { continue }
                let edit = ChangeID(origin: origin, seq: seq)
                if seen.covers(edit) { continue }
                let base = row[4].string.flatMap { o in row[5].int.map { ChangeID(origin: o, seq: $0) } }
                if try saw(base, deletion: c.id) { continue }
                let stamp = Change.Stamp(hlc: HLC(milliseconds: row[2].int ?? 0, counter: row[3].int ?? 0), origin: origin, seq: seq)
                try addDeletionConflict(c.kind, c.entity, deletion: c.id, deletionMs: c.hlc.milliseconds, edit: edit, editStamp: stamp)
            }
        } else if entityEverDeleted {
            let deletions = try db.rows("""
                SELECT origin, seq, ms, seen FROM changes
                WHERE kind = ? AND entity = ? AND field = 'deleted' AND value = 1
                """, .text(c.kind.rawValue), .text(c.entity))
            for row in deletions {
                guard let origin = row[0].string, let seq = row[1].int else { continue }
                let deletion = ChangeID(origin: origin, seq: seq)
                if let seen = row[3].string.flatMap({ VersionVector(parsing: $0) }), seen.covers(c.id) { continue }
                if try saw(c.deletionBase, deletion: deletion) { continue }
                try addDeletionConflict(c.kind, c.entity, deletion: deletion, deletionMs: row[2].int ?? 0, edit: c.id, editStamp: c.stamp)
            }
        }
    }

    /// The change to `field` written with the same reading by the same
    /// origin, to the same entity, as another field of its group.
    func groupLead(_ field: String, of kind: EntityKind, _ entity: String, stamp: Change.Stamp) throws -> ChangeID? {
        try db.scalar("""
            SELECT seq FROM changes WHERE origin = ? AND kind = ? AND entity = ? AND field = ? AND ms = ? AND ctr = ?
            ORDER BY seq LIMIT 1
            """, .text(stamp.origin), .text(kind.rawValue), .text(entity), .text(field),
            .integer(stamp.hlc.milliseconds), .integer(stamp.hlc.counter)).int.map { ChangeID(origin: stamp.origin, seq: $0) }
    }

    /// The value `field` got in the same group write as `change`.
    public func groupValue(_ field: String, of change: Change) throws -> FieldValue? {
        if field == change.field { return change.value }
        guard let id = try groupLead(field, of: change.kind, change.entity, stamp: change.stamp) else { return nil }
        return try self.change(id)?.value
    }

    /// Whether a writer whose view of the entity's `deleted` field was `base`
    /// had seen `deletion`: base is the deletion itself, or a later change to
    /// `deleted` whose writer had it.
    private func saw(_ base: ChangeID?, deletion: ChangeID) throws -> Bool {
        guard let base else { return false }
        if base == deletion { return true }
        guard let text = try db.scalar("SELECT seen FROM changes WHERE origin = ? AND seq = ?",
                                       .text(base.origin), .integer(base.seq)).string,
              let seen = VersionVector(parsing: text) else { return false }
        return seen.covers(deletion)
    }

    public static func conflictID(_ a: ChangeID, _ b: ChangeID) -> String {
        let (x, y) = a < b ? (a, b) : (b, a)
        return Array(SHA256.hash("conflict\n\(x)\n\(y)").prefix(8)).hex
    }

    /// A deletion that raced edits is one conflict, whatever it raced.
    public static func deletionConflictID(_ deletion: ChangeID) -> String {
        Array(SHA256.hash("conflict\n\(deletion)\ndeleted").prefix(8)).hex
    }

    private func addConflict(_ c: Change, field: String, winner: ChangeID, loser: ChangeID, ms: Int64) throws {
        try db.run("""
            INSERT OR IGNORE INTO conflicts(id, kind, entity, field, winner_origin, winner_seq, loser_origin, loser_seq, ms)
            VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, .text(Store.conflictID(winner, loser)), .text(c.kind.rawValue), .text(c.entity), .text(field),
            .text(winner.origin), .integer(winner.seq), .text(loser.origin), .integer(loser.seq), .integer(ms))
    }

    /// Files, or widens, the conflict of a deletion with the edits it raced:
    /// its `other` is the racing edit with the highest stamp and its time
    /// the latest of them, so the row is the same whatever order they came in.
    private func addDeletionConflict(_ kind: EntityKind, _ entity: String, deletion: ChangeID, deletionMs: Int64,
                                     edit: ChangeID, editStamp: Change.Stamp) throws {
        let id = Store.deletionConflictID(deletion)
        let ms = max(deletionMs, editStamp.hlc.milliseconds)
        // Schema 1 filed one conflict per racing edit, under the pair's id; a
        // resolution written under that id still settles this conflict.
        try db.run("INSERT OR IGNORE INTO conflict_aliases(alias, id) VALUES(?, ?)", .text(Store.conflictID(deletion, edit)), .text(id))
        if let row = try db.rows("""
            SELECT c.loser_origin, c.loser_seq, l.ms, l.ctr FROM conflicts c
            JOIN changes l ON l.origin = c.loser_origin AND l.seq = c.loser_seq WHERE c.id = ?
            """, .text(id)).first, let lo = row[0].string, let ls = row[1].int {
            let current = Change.Stamp(hlc: HLC(milliseconds: row[2].int ?? 0, counter: row[3].int ?? 0), origin: lo, seq: ls)
            let newer = Change.wins(editStamp, over: current)
            try db.run("""
                UPDATE conflicts SET loser_origin = CASE WHEN ?2 THEN ?3 ELSE loser_origin END,
                    loser_seq = CASE WHEN ?2 THEN ?4 ELSE loser_seq END, ms = max(ms, ?5) WHERE id = ?1
                """, .text(id), .integer(newer ? 1 : 0), .text(edit.origin), .integer(edit.seq), .integer(ms))
            return
        }
        try db.run("""
            INSERT INTO conflicts(id, kind, entity, field, winner_origin, winner_seq, loser_origin, loser_seq, ms)
            VALUES(?, ?, ?, 'deleted', ?, ?, ?, ?, ?)
            """, .text(id), .text(kind.rawValue), .text(entity), .text(deletion.origin), .integer(deletion.seq),
            .text(edit.origin), .integer(edit.seq), .integer(ms))
    }

    // MARK: - Rebuilding

    /// Empties the derived tables and replays the whole log into them.
    public func rebuildState() throws {
        try db.transaction {
            // A row still pending from changes folded before goes first, so
            // that nothing written before the rebuild outlives it.
            try flushPendingRow()
            for table in Schema.derivedTables { try db.execute("DELETE FROM \(table)") }
            try db.execute("UPDATE log SET current = 0 WHERE current <> 0")
            try db.execute("INSERT INTO record_grams(record_grams) VALUES('delete-all')")
            // Read in chunks in key order, each chunk whole before it is
            // folded: folding sets winner flags in this same table, and
            // SQLite leaves a scan of a table the connection is changing
            // undefined.
            var after: (entity: Int64, field: String, origin: Int64, seq: Int64)?
            let first = try db.statement("\(Store.logRows) ORDER BY l.entity, l.field, l.origin, l.seq LIMIT 4096")
            let next = try db.statement("""
                \(Store.logRows) WHERE (l.entity, l.field, l.origin, l.seq) > (?, ?, ?, ?)
                ORDER BY l.entity, l.field, l.origin, l.seq LIMIT 4096
                """)
            // An entity's changes are one run of the log's key order, so its
            // row is written once (`coalescingRows`), not upserted once per
            // change. Every change is logged already: no entity is fresh.
            replayingLog = true
            defer { replayingLog = false }
            try coalescingRows { while true {
                var chunk: [Change] = []
                var last: (entity: Int64, field: String, origin: Int64, seq: Int64)?
                let read = { (s: Statement) throws -> Bool in
                    let c = try Store.change(from: s)
                    chunk.append(c)
                    last = (s.int(15), c.field, s.int(16), c.id.seq)
                    return true
                }
                if let a = after {
                    try next.forEach([.integer(a.entity), .text(a.field), .integer(a.origin), .integer(a.seq)], read)
                } else {
                    try first.forEach([], read)
                }
                guard let last else { break }
                for c in chunk { try fold(c, hash: nil, logged: true) }
                after = last
            } }
            try flushReindex()
        }
    }

    /// Every derived row, as text lines in a stable order: two stores whose
    /// dumps are equal hold the same derived state.
    public func dumpDerivedState() throws -> [String] {
        var lines: [String] = []
        try forEachDerivedLine { lines.append($0) }
        return lines
    }

    /// The queries that read the derived state, in a stable order.
    /// `inKeyOrder`: the winners in the log's own order (by local keys, no
    /// sort), which is stable within one store only.
    private static func derivedStateQueries(inKeyOrder: Bool) -> [String] {
        let winners = inKeyOrder
            ? """
              SELECT e.kind, e.id, l.field, quote(l.value), o.id, l.seq
              FROM log l JOIN entities e ON e.key = l.entity JOIN nodes o ON o.key = l.origin
              WHERE l.current = 1 ORDER BY l.entity, l.field
              """
            : "SELECT kind, entity, field, quote(value), origin, seq FROM fields ORDER BY 1, 2, 3"
        return [
            winners,
            "SELECT id, title, source, published, place, url, author, editor, body, folded, deleted, created_ms, updated_ms FROM records ORDER BY id",
            "SELECT record, key, value FROM record_meta ORDER BY 1, 2",
            "SELECT record, coder FROM record_done ORDER BY 1, 2",
            "SELECT * FROM annotations ORDER BY id",
            "SELECT * FROM codes ORDER BY id",
            "SELECT * FROM conflicts ORDER BY id",
        ]
    }

    /// A digest of every derived row and how many there are, read a row at
    /// a time and hashed from SQLite's own bytes: for comparing a store with
    /// itself rebuilt (`check`), whatever its size, in little memory.
    func derivedStateDigest() throws -> (rows: Int, digest: [UInt8]) {
        var h = SHA256(), rows = 0
        for q in Store.derivedStateQueries(inKeyOrder: true) {
            // Each table's rows end with a mark (no storage class is 0xff)
            // and the count of rows so far, so no row can pass for one of
            // another table.
            defer {
                h.update(CollectionOfOne(UInt8(0xff)))
                withUnsafeBytes(of: UInt64(rows).littleEndian) { h.update($0) }
            }
            try db.statement(q).forEach { s in
                // Each value as its type, then its length and bytes or its
                // number: no two different rows hash alike.
                for i in 0..<s.columnCount {
                    let type = s.storageClass(i)
                    h.update(CollectionOfOne(type.rawValue))
                    switch type {
                    case .integer: withUnsafeBytes(of: s.int(i).littleEndian) { h.update($0) }
                    case .real: withUnsafeBytes(of: s.double(i).bitPattern.littleEndian) { h.update($0) }
                    case .text, .blob:
                        s.withColumnBytes(i) { bytes in
                            withUnsafeBytes(of: UInt64(bytes.count).littleEndian) { h.update($0) }
                            h.update(bytes)
                        }
                    case .null: break
                    }
                }
                rows += 1
                return true
            }
        }
        return (rows, h.finalize())
    }

    /// `dumpDerivedState`'s lines, one at a time.
    private func forEachDerivedLine(_ body: (String) throws -> Void) throws {
        let queries = Store.derivedStateQueries(inKeyOrder: false)
        // Each value as an SQL literal, so that two lines are equal exactly
        // when the rows are (and without `String(describing:)`, whose
        // reflection had been half the time of `check`).
        func cell(_ v: SQLValue) -> String {
            switch v {
            case .null: "NULL"
            case .integer(let i): String(i)
            case .real(let d): d.description
            case .text(let t): t.utf8.contains(39) ? "'\(t.replacingOccurrences(of: "'", with: "''"))'" : "'\(t)'"
            case .blob(let b): "X'\(b.hex)'"
            }
        }
        for q in queries {
            try db.statement(q).forEach { s in
                var line = ""
                for i in 0..<s.columnCount {
                    if i > 0 { line += "|" }
                    line += cell(s.column(i))
                }
                try body(line)
                return true
            }
        }
    }
}

/// The sequence heads and chain tips a write (or a received batch) has
/// moved, kept in memory and saved once at its end. The origin moved last is
/// kept apart from the others: changes come in runs of one origin, so most
/// of them cost no hashing of a node id.
struct PendingHeads {
    private var heads: [NodeID: Int64] = [:]
    private var tips: [NodeID: [UInt8]] = [:]
    private var last: (origin: NodeID, seq: Int64, tip: [UInt8]?)?

    func head(_ origin: NodeID) -> Int64? {
        if let last, last.origin == origin { return last.seq }
        return heads[origin]
    }

    /// The hash of `origin`'s change number `seq`, when it is the head
    /// held here and its hash is known.
    func tip(_ origin: NodeID, at seq: Int64) -> [UInt8]? {
        if let last, last.origin == origin { return last.seq == seq ? last.tip : nil }
        return heads[origin] == seq ? tips[origin] : nil
    }

    /// Moves `origin`'s head to `seq`; `tip`: the hash of that change, nil
    /// when not known here.
    mutating func set(_ origin: NodeID, _ seq: Int64, tip: [UInt8]?) {
        if let last, last.origin != origin {
            heads[last.origin] = last.seq
            tips[last.origin] = last.tip
        }
        last = (origin, seq, tip)
    }

    /// Every origin's head held here.
    var all: [NodeID: Int64] {
        var out = heads
        if let last { out[last.origin] = last.seq }
        return out
    }
}

/// An annotation and an origin that writes to it.
struct AnnotationByOrigin: Hashable {
    var annotation: String
    var origin: NodeID
}
