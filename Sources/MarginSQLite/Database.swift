import CSQLite
#if canImport(Glibc)
import Glibc
#endif

/// A value as SQLite stores it. Margin's change log keeps field values in a
/// column without type affinity, so the storage class is part of the value.
public enum SQLValue: Equatable, Hashable, Sendable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])

    public var int: Int64? { if case .integer(let v) = self { return v } else { return nil } }
    public var string: String? { if case .text(let v) = self { return v } else { return nil } }
    public var blob: [UInt8]? { if case .blob(let v) = self { return v } else { return nil } }
    public var isNull: Bool { self == .null }
}

extension SQLValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByNilLiteral {
    public init(stringLiteral value: String) { self = .text(value) }
    public init(integerLiteral value: Int64) { self = .integer(value) }
    public init(nilLiteral: ()) { self = .null }
}

public extension SQLValue {
    init(_ v: String?) { self = v.map { .text($0) } ?? .null }
    init(_ v: Int?) { self = v.map { .integer(Int64($0)) } ?? .null }
    init(_ v: Int64?) { self = v.map { .integer($0) } ?? .null }
}

/// An error from SQLite, carrying its result code so callers can tell a full
/// disk from a busy database from a file that is not a database.
public struct SQLiteError: Error, CustomStringConvertible, Sendable {
    public let code: Int32
    public let message: String
    public let sql: String?

    public var primaryCode: Int32 { code & 0xff }
    public var isNotADatabase: Bool { primaryCode == SQLITE_NOTADB }
    public var isConstraint: Bool { primaryCode == SQLITE_CONSTRAINT }
    /// A full disk: SQLITE_FULL from a write, or (SQLITE_IOERR_SHMSIZE,
    /// 4874) no room to make the shared-memory file even a read needs.
    public var isFull: Bool { primaryCode == SQLITE_FULL || code == 4874 }
    public var isReadOnly: Bool { primaryCode == SQLITE_READONLY }
    public var isCantOpen: Bool { primaryCode == SQLITE_CANTOPEN }

    public var description: String {
        "SQLite error \(code): \(message)"
    }
}

/// One connection to one SQLite file. This type and `Statement` are the only
/// code in Margin that touches the SQLite C API.
///
/// A connection is confined to the thread that uses it (it is not Sendable);
/// concurrent work opens its own connection, and WAL mode lets readers and
/// one writer proceed together.
public final class Database {
    private var handle: OpaquePointer?
    private var cache: [String: Statement] = [:]
    private var transactionDepth = 0
    public let path: String
    /// See `checkpointInBackground`; stopped before the connection closes.
    private var checkpointer: Checkpointer?
    /// What the commit hook calls, kept alive for as long as it is installed.
    private final class CommitHook {
        let checkpointer: Checkpointer
        let pages: Int32
        init(_ checkpointer: Checkpointer, pages: Int32) { self.checkpointer = checkpointer; self.pages = pages }
    }
    private var commitHook: CommitHook?

    public struct Options: Sendable {
        public var readOnly = false
        /// Read-only, and promise SQLite that nobody changes the file while
        /// it is open: lets a WAL database be read where its `-shm` file
        /// cannot be created (a folder the user cannot write).
        public var immutable = false
        public var create = true
        public var busyTimeoutMilliseconds: Int32 = 10_000
        /// Lets `attachReadOnly(_:as:immutable:)` attach a file for reading
        /// only (a `file:` URI, which SQLite takes only from a connection
        /// opened to take them; this one's own path is then given as one).
        public var attachesReadOnly = false
        public init() {}
    }

    /// Process-wide settings, made once before the first connection opens
    /// (SQLite takes them only before it is first used).
    private static let configured: Bool = {
        _ = margin_sqlite3_disable_memstatus()
        return true
    }()

    /// What SQLite counts as the memory it holds: 0 while the count is off.
    static var memoryCounted: Int64 { sqlite3_memory_used() }

    public init(path: String, options: Options = Options()) throws {
        _ = Database.configured
        self.path = path
        // A connection is used by one thread at a time (see the type's
        // documentation), so SQLite need not lock around every call.
        var flags = SQLITE_OPEN_NOMUTEX
        var name = path
        if options.immutable {
            flags |= SQLITE_OPEN_READONLY | SQLITE_OPEN_URI
            name = "file:" + Database.uriEscaped(path) + "?immutable=1"
        } else if options.readOnly {
            flags |= SQLITE_OPEN_READONLY
        } else {
            flags |= SQLITE_OPEN_READWRITE
            if options.create { flags |= SQLITE_OPEN_CREATE }
        }
        if options.attachesReadOnly && !options.immutable {
            flags |= SQLITE_OPEN_URI
            name = "file:" + Database.uriEscaped(path)
        }
        var db: OpaquePointer?
        let rc = sqlite3_open_v2(name, &db, flags, nil)
        guard rc == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open"
            sqlite3_close_v2(db)
            throw SQLiteError(code: rc, message: message, sql: nil)
        }
        handle = db
        sqlite3_extended_result_codes(db, 1)
        // SQLite's own busy handler sleeps longer and longer (up to 100 ms
        // a try), so a waiting CLI command keeps missing the moment between
        // two steps of a server applying a large batch. Trying every 2 ms
        // takes that moment. The time-out travels as the context pointer.
        let timeout = max(1, Int(options.busyTimeoutMilliseconds))
        sqlite3_busy_handler(db, { context, attempts in
            let limit = Int(bitPattern: context) * 1000 / Database.busyPollMicroseconds
            guard Int(attempts) < limit else { return 0 }
            usleep(useconds_t(Database.busyPollMicroseconds))
            return 1
        }, UnsafeMutableRawPointer(bitPattern: timeout))
    }

    static let busyPollMicroseconds = 2_000

    /// Attaches the database at `path` as `schema`, for reading only
    /// (`immutable`: as `Options.immutable` says). The connection must have
    /// been opened with `Options.attachesReadOnly`. Unqualified names are
    /// looked for in `main` first, then in what is attached.
    public func attachReadOnly(_ path: String, as schema: String, immutable: Bool = false) throws {
        let uri = "file:" + Database.uriEscaped(path) + (immutable ? "?immutable=1" : "?mode=ro")
        let quoted = String(schema.flatMap { $0 == "\"" ? ["\"", "\""] : [$0] })
        try run("ATTACH DATABASE ? AS \"\(quoted)\"", .text(uri))
    }

    /// A path as a `file:` URI path: `?`, `#` and `%` (and bytes outside
    /// printable ASCII) percent-encoded.
    static func uriEscaped(_ path: String) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        for b in path.utf8 {
            if b == UInt8(ascii: "?") || b == UInt8(ascii: "#") || b == UInt8(ascii: "%") || b < 0x21 || b > 0x7e {
                out += [UInt8(ascii: "%"), hex[Int(b >> 4)], hex[Int(b & 0xf)]]
            } else {
                out.append(b)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    deinit {
        checkpointer?.stop()
        for statement in cache.values { statement.finalize() }
        sqlite3_close_v2(handle)
    }

    /// Hands the WAL checkpoint to a background thread: after a commit that
    /// leaves `pages` or more pages in the log, committed pages are copied
    /// back into the database file while this connection goes on writing
    /// (SQLite's own automatic checkpoint, which does it inside the commit,
    /// is replaced). Durability is unchanged: a commit is durable once its
    /// log frames are synced, whoever copies them later.
    public func checkpointInBackground(afterPages pages: Int32 = 1000) {
        guard let handle, checkpointer == nil else { return }
        let checkpointer = Checkpointer(path: path)
        let hook = CommitHook(checkpointer, pages: pages)
        self.checkpointer = checkpointer
        commitHook = hook
        sqlite3_wal_hook(handle, { context, _, _, pages in
            if let context {
                let hook = Unmanaged<CommitHook>.fromOpaque(context).takeUnretainedValue()
                if pages >= hook.pages { hook.checkpointer.request() }
            }
            return SQLITE_OK
        }, Unmanaged.passUnretained(hook).toOpaque())
    }

    public var isOpen: Bool { handle != nil }

    /// The size of the write-ahead log file, in bytes (0 when there is none).
    public var walBytes: Int {
        var info = stat()
        return stat(path + "-wal", &info) == 0 ? Int(info.st_size) : 0
    }

    /// Copies the log back and truncates it, when it has grown past `limit`
    /// bytes: for a failed write, whose frames are given back (on a full
    /// disk, the room the next attempt needs). Call it between transactions.
    @discardableResult
    public func truncateLog(over limit: Int) -> Bool {
        guard !isInTransaction, walBytes > limit else { return false }
        return (try? execute("PRAGMA wal_checkpoint(TRUNCATE)")) != nil
    }

    /// Copies the log back and has the next commit write it again from its
    /// start, when it has grown past `limit` bytes: a writer that never
    /// pauses (a long receive) keeps a passive checkpoint from ever reaching
    /// the log's end, so the log would grow with everything written until
    /// the last connection closes. The file is kept (cut back to `limit`
    /// when the log starts again), not truncated: each frame is 24 bytes
    /// more than a page, so appending to a file cut to nothing made the
    /// file system allocate blocks and zero the part of each page a frame
    /// does not cover (a million changes received: about a second of the
    /// apply's eleven, in `ext4_da_write_begin`). Call it between
    /// transactions. A reader in the way only makes it copy less.
    @discardableResult
    public func restartLog(over limit: Int) -> Bool {
        guard !isInTransaction, walBytes > limit else { return false }
        if logSizeLimit != limit {
            guard (try? execute("PRAGMA journal_size_limit = \(limit)")) != nil else { return false }
            logSizeLimit = limit
        }
        return (try? execute("PRAGMA wal_checkpoint(RESTART)")) != nil
    }
    /// The `journal_size_limit` this connection has set (`restartLog`).
    private var logSizeLimit: Int?

    /// Returns once the background checkpoints requested so far are done:
    /// a checkpoint of one's own meanwhile finds the log busy and copies
    /// nothing (margin-bench empties the log before it times commands).
    public func waitForBackgroundCheckpoint() { checkpointer?.drain() }

    /// Stops the statement this connection is running, from another
    /// thread: it fails with SQLITE_INTERRUPT, and so does every statement
    /// started before the running ones have all ended. `check` stops its
    /// rebuild with it once another check has found damage. The caller
    /// keeps the connection open meanwhile.
    public func interrupt() {
        if let handle { sqlite3_interrupt(handle) }
    }

    /// Closes the connection now; later use throws.
    public func close() {
        checkpointer?.stop()
        for statement in cache.values { statement.finalize() }
        cache.removeAll()
        sqlite3_close_v2(handle)
        handle = nil
    }

    private func check(_ rc: Int32, sql: String? = nil) throws {
        guard rc == SQLITE_OK || rc == SQLITE_ROW || rc == SQLITE_DONE else {
            throw error(rc, sql: sql)
        }
    }

    func error(_ rc: Int32, sql: String?) -> SQLiteError {
        let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? "database is closed"
        return SQLiteError(code: rc, message: message, sql: sql)
    }

    /// Runs one or more statements that return no rows (schema, pragmas).
    public func execute(_ sql: String) throws {
        guard let handle else { throw SQLiteError(code: SQLITE_MISUSE, message: "database is closed", sql: sql) }
        var errmsg: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql, nil, nil, &errmsg)
        if rc != SQLITE_OK {
            let message = errmsg.map { String(cString: $0) } ?? String(cString: sqlite3_errmsg(handle))
            sqlite3_free(errmsg)
            throw SQLiteError(code: rc, message: message, sql: sql)
        }
    }

    /// A prepared statement for `sql`, prepared on first use and reused
    /// afterwards: Margin's hot paths run the same few statements many times.
    /// A hot path may hold the statement and bind it in place, without a
    /// lookup by SQL text per use; closing the connection finalizes it.
    public func statement(_ sql: String) throws -> Statement {
        // Reset happens in `bind`, once per use.
        if let cached = cache[sql] { return cached }
        guard let handle else { throw SQLiteError(code: SQLITE_MISUSE, message: "database is closed", sql: sql) }
        var stmt: OpaquePointer?
        let rc = sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &stmt, nil)
        guard rc == SQLITE_OK, let stmt else { throw error(rc, sql: sql) }
        let statement = Statement(database: self, handle: stmt, sql: sql)
        cache[sql] = statement
        return statement
    }

    /// How many times SQLite has prepared this connection's statements again
    /// (`SQLITE_STMTSTATUS_REPREPARE`, summed over every statement it holds).
    /// A statement prepared again on each use pays for parsing and planning
    /// every time. Besides a schema change, that happens when a bound value
    /// takes part in choosing the plan: a query's `column = ?` on a column
    /// that a partial index's `WHERE column = constant` names makes every
    /// bind of that parameter expire the statement, so such a term binds
    /// `+?` instead (the index on the column still serves it). Tests hold
    /// the hot paths to zero.
    public var reprepareCount: Int { summedStatementStatus(SQLITE_STMTSTATUS_REPREPARE) }

    /// How many virtual-machine steps this connection's statements have
    /// run (`SQLITE_STMTSTATUS_VM_STEP`, summed over every statement it
    /// holds): the work SQLite did, counted, not timed. A test compares
    /// it between a small and a large input to see how a path's cost grows,
    /// on any machine and under any load.
    public var virtualMachineSteps: Int { summedStatementStatus(SQLITE_STMTSTATUS_VM_STEP) }

    /// One `sqlite3_stmt_status` counter, summed over the statements the
    /// connection holds.
    private func summedStatementStatus(_ counter: Int32) -> Int {
        var total = 0
        var next = sqlite3_next_stmt(handle, nil)
        while let stmt = next {
            total += Int(sqlite3_stmt_status(stmt, counter, 0))
            next = sqlite3_next_stmt(handle, stmt)
        }
        return total
    }

    /// Runs a statement that returns no rows.
    public func run(_ sql: String, _ values: SQLValue...) throws {
        try statement(sql).run(values)
    }

    /// All rows of a query, each as an array of column values.
    public func rows(_ sql: String, _ values: SQLValue...) throws -> [[SQLValue]] {
        try statement(sql).all(values)
    }

    /// The first column of the first row, or `.null` when there is none.
    public func scalar(_ sql: String, _ values: SQLValue...) throws -> SQLValue {
        try statement(sql).all(values).first?.first ?? .null
    }

    public var changes: Int { Int(sqlite3_changes(handle)) }
    /// The rowid of the row this connection inserted last: a new row's
    /// number without a RETURNING clause, which SQLite runs through a
    /// temporary table.
    public var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }
    public var isInTransaction: Bool { sqlite3_get_autocommit(handle) == 0 }
    /// Rows inserted, updated or deleted through this connection since it
    /// opened: whether a piece of work wrote anything, without a savepoint.
    public var totalChanges: Int64 { sqlite3_total_changes64(handle) }

    /// Runs `body` in a transaction: committed when it returns, rolled back when
    /// it throws. Nested calls become savepoints, so a helper that needs
    /// atomicity can open one whether or not its caller already did.
    /// The outer transaction is IMMEDIATE so that a writer takes the write lock
    /// up front and waits on `busy_timeout` instead of failing mid-way.
    public func transaction<T>(_ body: () throws -> T) throws -> T {
        let depth = transactionDepth
        let savepoint = "sp\(depth)"
        if depth == 0 {
            try execute("BEGIN IMMEDIATE")
        } else {
            // Prepared once and reused: a nested write (one per imported
            // file, one per annotation) would otherwise parse it each time.
            try statement("SAVEPOINT \(savepoint)").run()
        }
        transactionDepth += 1
        defer { transactionDepth -= 1 }
        do {
            let result = try body()
            if depth == 0 {
                try execute("COMMIT")
            } else {
                try statement("RELEASE \(savepoint)").run()
            }
            return result
        } catch {
            if depth == 0 {
                try? execute("ROLLBACK")
            } else {
                try? execute("ROLLBACK TO \(savepoint); RELEASE \(savepoint)")
            }
            throw error
        }
    }

    /// Runs `body` on one snapshot of the file: a read transaction
    /// (deferred: no lock until the first read, none for writing), so that
    /// an output read in several passes sees no other process's commit
    /// between them. Inside a transaction already, `body` simply runs.
    public func readingOneSnapshot<T>(_ body: () throws -> T) throws -> T {
        guard !isInTransaction else { return try body() }
        try execute("BEGIN DEFERRED")
        transactionDepth += 1
        defer { transactionDepth -= 1 }
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }

    /// Schema version kept in `PRAGMA user_version`.
    public var userVersion: Int {
        get throws { Int(try scalar("PRAGMA user_version").int ?? 0) }
    }

    public func setUserVersion(_ version: Int) throws {
        try execute("PRAGMA user_version = \(version)")
    }

    public var applicationID: Int32 {
        get throws { Int32(truncatingIfNeeded: try scalar("PRAGMA application_id").int ?? 0) }
    }

    public func setApplicationID(_ id: Int32) throws {
        try execute("PRAGMA application_id = \(id)")
    }

    /// Applies the forward migrations above the stored `user_version`, each in
    /// its own transaction together with the version bump.
    /// Throws `MigrationError.newerSchema` for a file written by a newer program.
    public func migrate(_ migrations: [@Sendable (Database) throws -> Void]) throws {
        let current = try userVersion
        if current > migrations.count {
            throw MigrationError.newerSchema(found: current, known: migrations.count)
        }
        for version in current..<migrations.count {
            try transaction {
                try migrations[version](self)
                try setUserVersion(version + 1)
            }
        }
    }
}

public enum MigrationError: Error, Equatable, Sendable {
    case newerSchema(found: Int, known: Int)
}

/// A prepared statement owned by its `Database`.
public final class Statement {
    private unowned let database: Database
    /// Nil once finalized (the connection closed): SQLite answers a NULL
    /// statement with SQLITE_MISUSE, never a crash.
    private var handle: OpaquePointer?
    public let sql: String

    init(database: Database, handle: OpaquePointer, sql: String) {
        self.database = database
        self.handle = handle
        self.sql = sql
    }

    deinit { sqlite3_finalize(handle) }

    func finalize() {
        sqlite3_finalize(handle)
        handle = nil
    }

    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    public func bind(_ values: [SQLValue]) throws {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
        for (offset, value) in values.enumerated() { try bind(Int32(offset + 1), value) }
    }

    /// Ends the current use, keeping the bindings: the start of binding in
    /// place (`bind(_:_:)` for each parameter, then `execute` or `step`).
    public func reset() { sqlite3_reset(handle) }

    public func bind(_ index: Int32, _ value: SQLValue) throws {
        switch value {
        case .null: try check(sqlite3_bind_null(handle, index))
        case .integer(let v): try bind(index, v)
        case .real(let v): try check(sqlite3_bind_double(handle, index, v))
        case .text(let v): try bind(index, v)
        case .blob(let v): try bind(index, v)
        }
    }

    public func bind(_ index: Int32, _ value: Int64) throws {
        try check(sqlite3_bind_int64(handle, index, value))
    }

    public func bind(_ index: Int32, _ value: String?) throws {
        guard var text = value else { return try check(sqlite3_bind_null(handle, index)) }
        // With its byte length, never as a C string: a NUL inside the text
        // must not cut it short.
        try check(text.withUTF8 { utf8 in
            guard utf8.count > 0 else { return sqlite3_bind_text(handle, index, "", 0, Statement.transient) }
            return utf8.withMemoryRebound(to: CChar.self) {
                sqlite3_bind_text(handle, index, $0.baseAddress, Int32($0.count), Statement.transient)
            }
        })
    }

    public func bind(_ index: Int32, _ value: [UInt8]) throws {
        try check(value.withUnsafeBytes { sqlite3_bind_blob(handle, index, $0.baseAddress, Int32($0.count), Statement.transient) })
    }

    private func check(_ rc: Int32) throws {
        if rc != SQLITE_OK { throw database.error(rc, sql: sql) }
    }

    /// Runs a statement bound in place to completion.
    public func execute() throws {
        while try step() {}
    }

    /// Advances one row; false when the statement is done.
    public func step() throws -> Bool {
        let rc = sqlite3_step(handle)
        switch rc {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default:
            let err = database.error(rc, sql: sql)
            sqlite3_reset(handle)
            throw err
        }
    }

    public var columnCount: Int { Int(sqlite3_column_count(handle)) }

    public func column(_ i: Int) -> SQLValue {
        switch storageClass(i) {
        case .integer: return .integer(int(i))
        case .real: return .real(double(i))
        case .text: return .text(text(i) ?? "")
        case .blob: return .blob(withColumnBytes(i) { Array($0) })
        case .null: return .null
        }
    }

    public func text(_ i: Int) -> String? {
        guard let c = sqlite3_column_text(handle, Int32(i)) else { return nil }
        let count = Int(sqlite3_column_bytes(handle, Int32(i)))
        // Copy, then validate in place: the stdlib's fast path for UTF-8.
        return String(unsafeUninitializedCapacity: count) { buffer in
            buffer.initialize(from: UnsafeBufferPointer(start: c, count: count)).1
        }
    }

    public func int(_ i: Int) -> Int64 { sqlite3_column_int64(handle, Int32(i)) }

    /// SQLite's storage classes: how a column's value is held.
    public enum StorageClass: UInt8, Sendable { case integer = 1, real, text, blob, null }

    /// Column `i`'s storage class.
    public func storageClass(_ i: Int) -> StorageClass {
        switch sqlite3_column_type(handle, Int32(i)) {
        case SQLITE_INTEGER: .integer
        case SQLITE_FLOAT: .real
        case SQLITE_TEXT: .text
        case SQLITE_BLOB: .blob
        default: .null
        }
    }

    public func double(_ i: Int) -> Double { sqlite3_column_double(handle, Int32(i)) }

    /// A text or blob column's bytes where SQLite holds them, valid only
    /// inside `body`: for reading many values without a copy of each (a
    /// digest of a whole table). Check `storageClass` first: SQLite would
    /// convert a number to text.
    public func withColumnBytes<T>(_ i: Int, _ body: (UnsafeRawBufferPointer) throws -> T) rethrows -> T {
        let base = sqlite3_column_blob(handle, Int32(i))
        let count = Int(sqlite3_column_bytes(handle, Int32(i)))
        return try body(UnsafeRawBufferPointer(start: base, count: base == nil ? 0 : count))
    }

    public func isNull(_ i: Int) -> Bool { storageClass(i) == .null }

    /// Whether column `i` is text with exactly `text`'s bytes: a reader of
    /// many rows that repeat a string asks this before making it again.
    public func textEquals(_ i: Int, _ text: String) -> Bool {
        guard storageClass(i) == .text else { return false }
        var text = text
        return text.withUTF8 { mine in
            withColumnBytes(i) { theirs in
                guard mine.count == theirs.count else { return false }
                guard let a = mine.baseAddress, let b = theirs.baseAddress else { return true }
                return memcmp(a, b, mine.count) == 0
            }
        }
    }

    public func row() -> [SQLValue] { (0..<columnCount).map(column) }

    /// Runs to completion. A statement that has returned SQLITE_DONE holds
    /// no cursor or lock, so it is reset only when next bound.
    public func run(_ values: [SQLValue] = []) throws {
        try bind(values)
        while try step() {}
    }

    public func all(_ values: [SQLValue] = []) throws -> [[SQLValue]] {
        try bind(values)
        var result: [[SQLValue]] = []
        while try step() { result.append(row()) }
        return result
    }

    /// Streams rows to `body` without collecting them; `body` returns false to stop.
    public func forEach(_ values: [SQLValue] = [], _ body: (Statement) throws -> Bool) throws {
        try bind(values)
        defer { sqlite3_reset(handle) }
        while try step() {
            if try !body(self) { break }
        }
    }
}
