import Foundation
import Glibc
import MarginCrypto
import MarginSQLite

/// The change log as stored: its rows (table `log`, Schema.swift; a
/// change's bytes and hash are in ChangeCodec.swift), the saved heads, and
/// reading changes back. It knows nothing of writes in progress: `Store`
/// keeps the heads and chain tips a write has moved in its `WriteScope` and
/// saves them through here when the write ends.
final class ChangeLog {
    let db: Database
    let keys: LocalKeys
    /// Prepared once per connection and bound in place: they run once or
    /// more per change.
    private var prepared: (insert: Statement, hash: Statement)?

    init(_ db: Database, keys: LocalKeys) {
        self.db = db
        self.keys = keys
    }

    private func statements() throws -> (insert: Statement, hash: Statement) {
        if let prepared { return prepared }
        let made = (insert: try db.statement("""
                        INSERT INTO log(entity, field, origin, seq, ms, ctr, value, sup_origin, sup_seq, del_origin, del_seq, seen, hash, current)
                        VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
                        """),
                    hash: try db.statement("SELECT hash FROM log WHERE origin = ?1 AND seq = ?2"))
        prepared = made
        return made
    }

    /// Appends `c`, whose entity and origin are numbered `entity` and
    /// `origin`, with its hash; `current` when it is its field's winner.
    func append(_ c: Change, entity: Int64, origin: Int64, hash: [UInt8], current: Bool) throws {
        func key(_ id: ChangeID?) throws -> SQLValue {
            guard let id, let k = try keys.node(id.origin, create: true) else { return .null }
            return .integer(k)
        }
        let s = try statements().insert
        s.reset()
        try s.bind(1, entity); try s.bind(2, c.field); try s.bind(3, origin); try s.bind(4, c.id.seq)
        try s.bind(5, c.hlc.milliseconds); try s.bind(6, c.hlc.counter); try s.bind(7, c.value.sql)
        try s.bind(8, try key(c.supersedes)); try s.bind(9, c.supersedes.map { SQLValue.integer($0.seq) } ?? .null)
        try s.bind(10, try key(c.deletionBase)); try s.bind(11, c.deletionBase.map { SQLValue.integer($0.seq) } ?? .null)
        try s.bind(12, c.seen?.description); try s.bind(13, hash); try s.bind(14, Int64(current ? 1 : 0))
        try s.execute()
    }

    /// The stored hash of a change, nil when the log does not hold it.
    func storedHash(_ id: ChangeID) throws -> [UInt8]? {
        guard let origin = try keys.node(id.origin, create: false) else { return nil }
        let s = try statements().hash
        s.reset()
        defer { s.reset() }
        try s.bind(1, origin); try s.bind(2, id.seq)
        guard try s.step() else { return nil }
        return s.column(0).blob
    }

    /// An origin's saved head (0: none held).
    func savedHead(_ origin: NodeID) throws -> Int64 {
        try db.scalar("SELECT seq FROM heads WHERE origin = ?", .node(origin)).int ?? 0
    }

    /// Every origin's saved head.
    func savedHeads() throws -> [NodeID: Int64] {
        var heads: [NodeID: Int64] = [:]
        for row in try db.rows("SELECT origin, seq FROM heads WHERE seq > 0") {
            if let o = row[0].node, let s = row[1].int { heads[o] = s }
        }
        return heads
    }

    func saveHead(_ origin: NodeID, _ seq: Int64) throws {
        // A head of 0 holds nothing: no row, so that neither HAVE nor a
        // version vector ever lists an origin at 0 (one only looked up, or
        // held back, leaves no trace).
        guard seq > 0 else {
            try db.run("DELETE FROM heads WHERE origin = ?", .node(origin))
            return
        }
        try db.run("INSERT INTO heads(origin, seq) VALUES(?, ?) ON CONFLICT(origin) DO UPDATE SET seq = excluded.seq",
                   .node(origin), .integer(seq))
    }

    func change(_ id: ChangeID) throws -> Change? {
        var found: Change?
        try db.statement("SELECT \(Store.changeColumns) FROM changes WHERE origin = ? AND seq = ?")
            .forEach([.node(id.origin), .integer(id.seq)]) { s in
                found = try Store.change(from: s)
                return false
            }
        return found
    }
}

/// The log as the store's writes and readers see it: what the write under
/// way has moved (its scope) over what is saved.
extension Store {

    /// Appends `c` to the log without folding it (a fork recovery's
    /// reissued changes, folded by the rebuild that follows).
    func appendToLog(_ c: Change) throws {
        try projector.appendToLog(c, hash: c.hash, current: false, scope: &scope)
    }

    /// Computes every origin's hash chain from the log's content and stores
    /// it: the schema-2 migration (and tests that alter the log on purpose).
    static func rehashLog(_ db: Database) throws {
        var hashes: [(ChangeID, [UInt8])] = []
        var origin = NodeID(stored: ""), prev = ChangeHash.genesis
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
        for (id, hash) in hashes { try update.run([.blob(hash), .node(id.origin), .integer(id.seq)]) }
    }

    /// The hash of `origin`'s change number `head` (the chain's genesis for 0).
    func tip(of origin: NodeID, head: Int64) throws -> [UInt8] {
        guard head > 0 else { return ChangeHash.genesis }
        if let cached = scope?.heads.tip(origin, at: head) { return cached }
        return try storedHash(ChangeID(origin: origin, seq: head)) ?? ChangeHash.genesis
    }

    func storedHash(_ id: ChangeID) throws -> [UInt8]? { try changeLog.storedHash(id) }

    func saveHead(_ origin: NodeID, _ seq: Int64) throws { try changeLog.saveHead(origin, seq) }

    public func head(of origin: NodeID) throws -> Int64 {
        if let cached = scope?.heads.head(origin) { return cached }
        let stored = try changeLog.savedHead(origin)
        scope?.heads.set(origin, stored, tip: nil)
        return stored
    }

    public func versionVector() throws -> VersionVector {
        var heads = try changeLog.savedHeads()
        // Inside a write or batch, the heads not saved yet.
        for (origin, seq) in scope?.heads.all ?? [:] where seq > 0 { heads[origin] = seq }
        return VersionVector(heads)
    }

    static let baseChangeColumns = "origin, seq, ms, ctr, kind, entity, field, value, sup_origin, sup_seq, del_origin, del_seq, seen"
    /// The log's rows with their public ids, in `baseChangeColumns`' order,
    /// then NULL (no `prev`), the hash and the row's keys (entity, origin):
    /// for the paths that read the log in bulk, by key.
    static let logRows = """
        SELECT o.id, l.seq, l.ms, l.ctr, e.kind, e.id, l.field, l.value, so.id, l.sup_seq, d.id, l.del_seq, l.seen,
            NULL, l.hash, l.entity, l.origin, l.current
        FROM log l JOIN nodes o ON o.key = l.origin JOIN entities e ON e.key = l.entity
            LEFT JOIN nodes so ON so.key = l.sup_origin LEFT JOIN nodes d ON d.key = l.del_origin
        """
    /// A change with its chain link: `prev` is the hash of the origin's
    /// change before it (a primary-key probe).
    static let changeColumns = baseChangeColumns
        + ", (SELECT p.hash FROM changes p WHERE p.origin = changes.origin AND p.seq = changes.seq - 1)"

    /// `changeColumns` prefixed with a table's alias, for a query that
    /// reads changes beside other columns (`change(from:at:)` reads them).
    /// `withChainLink: false` reads NULL for the link (a change read to be
    /// shown, never hashed or sent: the link is a second probe of the log).
    /// `withSeen: false` reads NULL for `seen` too (what the writer had
    /// seen, a version vector parsed for each change, which nothing shown
    /// uses).
    static func changeColumns(of table: String, withChainLink: Bool = true, withSeen: Bool = true) -> String {
        baseChangeColumns.split(separator: ",").map { column in
            let name = column.trimmingCharacters(in: .whitespaces)
            return !withSeen && name == "seen" ? "NULL" : "\(table).\(name)"
        }.joined(separator: ", ")
            + (withChainLink ? ", (SELECT p.hash FROM changes p WHERE p.origin = \(table).origin AND p.seq = \(table).seq - 1)" : ", NULL")
    }

    /// A change from `baseChangeColumns` (then, optionally, the link to the
    /// change before) starting at column `base`.
    /// `repeating`: the strings of the row read before, reused where this
    /// row repeats them (see `RepeatedStrings`).
    static func change(from s: Statement, at base: Int = 0, repeating last: RepeatedStrings? = nil) throws -> Change {
        guard let origin = last?.node(s, base) ?? s.node(base), let kind = last?.kind(s, base + 4) ?? s.text(base + 4).flatMap(EntityKind.init(rawValue:)),
              let entity = last?.entity(s, base + 5) ?? s.text(base + 5).map(EntityID.init(stored:)),
              let field = last?.field(s, base + 6) ?? s.text(base + 6) else {
            throw MarginError.corrupt("a change-log row is malformed")
        }
        last?.keep(origin: origin, kind: kind, entity: entity, field: field)
        func id(_ o: Int, _ q: Int) -> ChangeID? {
            guard let origin = last?.node(s, base + o) ?? s.node(base + o), !s.isNull(base + q) else { return nil }
            return ChangeID(origin: origin, seq: s.int(base + q))
        }
        return Change(id: ChangeID(origin: origin, seq: s.int(base + 1)),
                      hlc: HLC(milliseconds: s.int(base + 2), counter: s.int(base + 3)),
                      kind: kind, entity: entity, field: field, value: try FieldValue(s.column(base + 7)),
                      supersedes: id(8, 9), deletionBase: id(10, 11),
                      seen: s.text(base + 12).flatMap { VersionVector(parsing: $0) },
                      prev: s.columnCount > base + 13 && !s.isNull(base + 13) ? (s.column(base + 13).blob ?? ChangeHash.genesis) : ChangeHash.genesis)
    }

    public func change(_ id: ChangeID) throws -> Change? { try changeLog.change(id) }
}

/// The strings of the last log row read, which the next row often repeats
/// (in the log's key order an entity's changes come together and a field's
/// in a run; in an origin's order, its id on every row): compared in
/// place, they are not made again. A rebuild reads every change, and
/// making its strings was about a tenth of its work; a sync sends every
/// change once.
final class RepeatedStrings {
    private var origin: NodeID?
    private var kindName: EntityKind?
    private var entityID: EntityID?
    private var fieldName: String?

    /// A node id column (the origin, or a referenced origin) that repeats
    /// the last origin.
    func node(_ s: Statement, _ i: Int) -> NodeID? {
        guard let origin, s.textEquals(i, origin.hex) else { return nil }
        return origin
    }
    func kind(_ s: Statement, _ i: Int) -> EntityKind? {
        guard let kindName, s.textEquals(i, kindName.rawValue) else { return nil }
        return kindName
    }
    func entity(_ s: Statement, _ i: Int) -> EntityID? {
        guard let entityID, s.textEquals(i, entityID.text) else { return nil }
        return entityID
    }
    func field(_ s: Statement, _ i: Int) -> String? {
        guard let fieldName, s.textEquals(i, fieldName) else { return nil }
        return fieldName
    }
    func keep(origin: NodeID, kind: EntityKind, entity: EntityID, field: String) {
        (self.origin, kindName, entityID, fieldName) = (origin, kind, entity, field)
    }
}
