import Foundation
import Glibc
import MarginCrypto
import MarginSQLite

/// This node: the id (derived from its key) that names its changes
/// everywhere, and the name a person gave it.
public struct Node: Sendable, Equatable {
    public var id: NodeID
    public var name: String
}

/// A Margin store: one SQLite file holding the change log and the state
/// derived from it. Every write goes through `write`, which makes it one
/// transaction together with its change-log entries.
///
/// The front of the store: it opens the file, runs writes, and holds the
/// parts. The parts are types of their own (`LocalKeys`, `ChangeLog`,
/// `ConflictFinder`, `Projector`, `Receiver`, `RecordSearch`, and the pure
/// `SpanLocation`); the one write in progress is this store's `scope`,
/// handed to the projector with each call. This file holds opening,
/// `write` and `set`.
///
/// Why the type is large: its public API is one entry point for the CLI,
/// the workspace and the tests, written as extensions by concern: the
/// local edits (Operations.swift), the reads (Queries.swift), team work
/// (TeamWork.swift), and what a peer is sent (Replication.swift). Each of
/// those methods is one transaction or one query through the parts and
/// keeps no state of its own; the state they share (the node, its key and
/// clock, the write in progress) is the front's, and a fork recovery
/// (`Receiver`) is the one place that moves the node to a new id.
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
    /// What the write under way keeps in memory; nil outside a write.
    var scope: WriteScope?
    static let signEvery = 1000
    static let signEveryBytes = 256 << 10
    /// How far the write-ahead log may grow during a long receive before it
    /// is copied back and started again between two steps (a test lowers it).
    nonisolated(unsafe) static var logLimitBytes = 64 << 20
    /// `codeLinks` per field, with the `PRAGMA data_version` it was read at
    /// and the projector's count of folded code changes then: a change to
    /// a code on this connection, or a commit by another, makes it stale.
    var codeLinkCache: [String: (version: Int64, codeFolds: Int, value: (links: [String: String], ignored: [String: String]))] = [:]
    /// The log's numbers for node ids and entities.
    let keys: LocalKeys
    /// The change log as stored.
    let changeLog: ChangeLog
    /// The conflict rule and the table it files into.
    let conflictFinder: ConflictFinder
    /// The derived state: folds each change into it.
    let projector: Projector
    /// False while `undoLast` and `redo` write: their writes are not steps
    /// of their own to undo.
    var recordsHistory = true
    /// See `scalarText(of:)`.
    var lastBodyText: ScalarText?

    /// Whether something is at `path` (links followed), by access(2):
    /// opening a store to read it asked Foundation's `FileManager`, whose
    /// first use sets up Foundation's file and process machinery, a
    /// thirtieth of `margin show`.
    public static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    /// Opens the store in `directory`; it must exist.
    /// `busyTimeoutMilliseconds`: how long a write waits for another
    /// writer's lock before failing with "the store is busy" (10 s).
    /// `readOnly`: opened as for a user who cannot write it, so that the
    /// opening writes nothing either (`check`'s second reader of the log).
    public init(directory: String, wall: any WallClock = SystemClock(), busyTimeoutMilliseconds: Int32 = 10_000, readOnly: Bool = false) throws {
        self.directory = directory
        let path = (directory as NSString).appendingPathComponent(Store.fileName)
        guard Store.exists(path) else {
            throw MarginError.store("no Margin store at \(directory) (run `margin init` to create one)")
        }
        var options = Database.Options()
        options.create = false
        options.busyTimeoutMilliseconds = busyTimeoutMilliseconds
        // A store this user cannot write is opened for reading only, so
        // that reading commands work and writing ones fail before starting.
        isReadOnly = readOnly || access(path, W_OK) != 0 || access(directory, W_OK) != 0
        if isReadOnly {
            // With no -wal file nobody is writing; SQLite could not create
            // the -shm file it needs, so it is told the file will not change.
            if Store.exists(path + "-wal") { options.readOnly = true } else { options.immutable = true }
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
        keys = LocalKeys(db)
        changeLog = ChangeLog(db, keys: keys)
        conflictFinder = ConflictFinder(db: db, changeLog: changeLog, keys: keys)
        projector = Projector(db: db, keys: keys, changeLog: changeLog, conflictFinder: conflictFinder)
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
        node = Node(id: NodeID(stored: id), name: name)
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
        if head > 0, try db.scalar("SELECT 1 FROM signatures WHERE origin = ? AND seq = ?", .node(node.id), .integer(head)).int == nil {
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
                try db.run(insert, "node_id", .node(NodeKey.derivedID(Ed25519.publicKey(seed: seed))))
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
    /// power cut. The page cache stays SQLite's 2 MB until the connection
    /// writes (`raiseCacheForWriting`).
    static func configure(_ db: Database) throws {
        try db.execute("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA temp_store=MEMORY;")
    }

    /// A connection that writes keeps 32 MB of pages, so that the log's
    /// indexes stay in memory while large batches are applied. One that
    /// only reads keeps SQLite's 2 MB: a command that reads a page once
    /// gains nothing from keeping it, and each page past 2 MB was fresh
    /// memory for the process (`conflicts` at a million changes, as a
    /// process: 4,100 page faults and 44 ms of CPU in the sqlite3 shell with
    /// the larger cache, 700 and 28 ms without). Raised once per connection.
    func raiseCacheForWriting() throws {
        guard !cacheRaised else { return }
        try db.execute("PRAGMA cache_size=-32768")
        cacheRaised = true
    }
    private var cacheRaised = false

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
        try write(opening: WriteScope(isolatesNestedWrites: isolatingNestedWrites), body)
    }

    /// `write`, with the scope it opens when it is the outermost one (a
    /// received batch's step opens one that saves its own heads).
    func write<T>(opening fresh: WriteScope, _ body: () throws -> T) throws -> T {
        try requireWritable()
        guard !db.isInTransaction else {
            return try scope?.isolatesNestedWrites == true ? writeInSavepoint(body) : writeWithoutSavepoint(body)
        }
        try raiseCacheForWriting()
        let saved = WriteMemory(of: self)
        scope = fresh
        defer { scope = nil }
        do {
            return try db.transaction {
                // The clock is loaded and saved once, by the outermost write:
                // another process may have written since this one opened.
                let meta = try Store.readMeta(db)
                clock.observe(HLC(milliseconds: meta["clock_ms"]?.int ?? 0, counter: meta["clock_ctr"]?.int ?? 0))
                // Another session may have moved this store to a new node id.
                if let id = meta["node_id"]?.node { node.id = id }
                if fresh.savesHeads {
                    let head = try head(of: node.id)
                    scope?.headAtStart = head
                }
                let result = try body()
                for step in WriteScope.EndStep.allCases { try end(step) }
                return result
            }
        } catch {
            let failedNested = scope?.failedNestedWrite
            saved.restore(into: self)
            forgetKeys()
            // What made the write fail is the nested write's error, not what
            // its half-done work led to afterwards.
            if let failedNested { throw failedNested }
            throw error
        }
    }

    /// One of the steps that end the outermost write (`WriteScope.EndStep`).
    private func end(_ step: WriteScope.EndStep) throws {
        // Each step reads what it needs from the scope as it stands (no
        // copy of the scope is held while a step changes it).
        guard let savesHeads = scope?.savesHeads else { return }
        switch step {
        case .failIfANestedWriteFailed:
            // A nested write failed after writing and its caller went on:
            // what it wrote cannot be undone alone.
            if let failed = scope?.failedNestedWrite { throw failed }
        case .recordUndoStep:
            if savesHeads, recordsHistory, let before = scope?.headAtStart, let now = scope?.heads.head(node.id), now > before {
                try recordWrite(from: before + 1, to: now)
            }
        case .saveHeads:
            guard savesHeads else { return }
            for (origin, seq) in (scope?.heads.all ?? [:]).sorted(by: { $0.key < $1.key }) where seq > 0 { try saveHead(origin, seq) }
            try scope?.nodeAuthors.save(db)
        case .reindex:
            try flushReindex()
        case .signHead:
            if (scope?.unsignedOwnChanges ?? 0) > 0 { try signOwnHead() }
        case .saveClock:
            try saveClock()
        }
    }

    /// A nested write in a write that isolates them: a savepoint, rolled
    /// back alone when it fails, and the scope put back as it was.
    private func writeInSavepoint<T>(_ body: () throws -> T) throws -> T {
        let saved = WriteMemory(of: self)
        do {
            return try db.transaction(body)
        } catch {
            saved.restore(into: self)
            forgetKeys()
            throw error
        }
    }

    /// A nested write in a write that does not isolate them (see `write`).
    private func writeWithoutSavepoint<T>(_ body: () throws -> T) throws -> T {
        if let failed = scope?.failedNestedWrite { throw failed }
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
                if scope?.failedNestedWrite == nil { scope?.failedNestedWrite = error }
            }
            throw error
        }
    }

    /// What a write keeps in memory and puts back when it fails: the
    /// clock, the node (a fork recovery moves it to a new id and key), the
    /// heads the scope has moved and its count of unsigned changes. Not the
    /// scope whole: a copy kept while a nested write adds to its sets (a
    /// record to reindex per imported file) would copy them each time.
    private struct WriteMemory {
        let clock: HybridClock, node: Node, seed: [UInt8]?
        let heads: PendingHeads?, authors: NodeAuthors?, unsigned: Int, unsignedBytes: Int
        init(of store: Store) {
            clock = store.clock
            node = store.node
            seed = store.signingSeed
            heads = store.scope?.heads
            authors = store.scope?.nodeAuthors
            unsigned = store.scope?.unsignedOwnChanges ?? 0
            unsignedBytes = store.scope?.unsignedOwnBytes ?? 0
        }
        func restore(into store: Store) {
            store.clock = clock
            store.node = node
            store.signingSeed = seed
            if let heads, let authors {
                store.scope?.heads = heads
                store.scope?.nodeAuthors = authors
                store.scope?.unsignedOwnChanges = unsigned
                store.scope?.unsignedOwnBytes = unsignedBytes
            }
        }
    }

    /// Runs `body` in the write's scope, or in one of its own outside a
    /// write (a rebuild on opening an old store), dropped when it returns.
    func inScope<T>(_ body: () throws -> T) rethrows -> T {
        guard scope == nil else { return try body() }
        scope = WriteScope()
        defer { scope = nil }
        return try body()
    }

    /// Whether this node's changes appended since its head was last signed
    /// are enough to sign it now (see `WriteScope.unsignedOwnChanges`).
    var ownChangesDueForSigning: Bool {
        guard let s = scope else { return false }
        return s.unsignedOwnChanges >= Store.signEvery || s.unsignedOwnBytes >= Store.signEveryBytes
    }

    /// Counts one change this node appended and has not signed yet.
    func countUnsigned(_ value: FieldValue) {
        scope?.unsignedOwnChanges += 1
        scope?.unsignedOwnBytes += value.string?.utf8.count ?? 8
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
    public func set(_ kind: EntityKind, _ entity: EntityID, _ field: String, _ value: FieldValue,
                    stamp: HLC? = nil, always: Bool = false) throws -> Change? {
        try set(kind, entity, field, value, stamp: stamp, always: always, checkedAlone: false)
    }

    /// `checkedAlone`: the caller has made the value so that it keeps
    /// `ChangeRules.problem` (an import hashes and normalises the body it
    /// writes; checking that again would hash it twice more).
    @discardableResult
    func set(_ kind: EntityKind, _ entity: EntityID, _ field: String, _ value: FieldValue,
             stamp: HLC?, always: Bool, checkedAlone: Bool) throws -> Change? {
        guard db.isInTransaction else { throw MarginError.invalid("internal: set outside a write transaction") }
        // Between changes (never inside a group written with one stamp).
        if stamp == nil, ownChangesDueForSigning { try signOwnHead() }
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
        countUnsigned(value)
        return change
    }

    // MARK: - Local keys

    /// The log's number for a node id (see `LocalKeys`).
    func nodeKey(_ id: NodeID, create: Bool) throws -> Int64? {
        try keys.node(id, create: create)
    }

    /// Forgets the numbers read or made, and what was remembered with them:
    /// after a rollback.
    func forgetKeys() {
        keys.forget()
        scope?.forgetRules()
        scope?.lastMissingEntity = nil
    }

}
