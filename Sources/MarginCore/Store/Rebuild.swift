import Foundation
import Glibc
import MarginSQLite

/// Rebuilding the derived state from the log (the projector's fold over
/// every logged change), and reading it back to compare (`DerivedState`).
extension Store {
    /// Empties the derived tables and replays the whole log into them,
    /// with the 32 MB of pages a writing connection keeps. (`check`'s
    /// rebuild, `ScratchState`, keeps 16 MB.)
    public func rebuildState() throws {
        try raiseCacheForWriting()
        try inScope {
            try db.transaction {
                try projector.rebuild(scope: &scope)
                try NodeAuthors.rebuild(db)
            }
        }
    }

    /// Every derived row, as text lines in a stable order (see `DerivedState.dump`).
    public func dumpDerivedState() throws -> [String] { try DerivedState(db: db).dump() }
}

extension Projector {
    /// Empties the derived tables and folds every logged change into them
    /// again. Runs inside a transaction.
    func rebuild(scope: inout WriteScope?) throws {
        // A row still pending from changes folded before goes first, so
        // that nothing written before the rebuild outlives it.
        try flushPendingRow(scope: &scope)
        // The rebuild sets the winner flags with statements of its own:
        // what the write remembered about rows (the fields' histories, the
        // rules' last look-ups) is dropped, for a write that goes on
        // folding after it (a bundle's next batch after a fork recovery's
        // rebuild).
        scope?.forgetRules()
        // With foreign keys on, SQLite deletes row by row, and a statement
        // keeps the pages it changes to undo it (in memory, as temp_store
        // is): emptying `records` in one statement held 25 MB at a million
        // changes. A rowid table is emptied 256 rows at a time.
        for table in Schema.derivedTables {
            if Schema.derivedTablesWithoutRowid.contains(table) {
                try db.execute("DELETE FROM \(table)")
                continue
            }
            let batch = try db.statement("DELETE FROM \(table) WHERE rowid IN (SELECT rowid FROM \(table) LIMIT 256)")
            repeat {
                batch.reset()
                try batch.execute()
            } while db.changes > 0
        }
        if indexesFullText { try db.execute("INSERT INTO record_grams(record_grams) VALUES('delete-all')") }
        // Read in chunks in key order, each chunk whole before it is
        // folded: folding writes this same table, and SQLite leaves a scan
        // of a table the connection is changing undefined.
        let first = try db.statement("\(Store.logRows) ORDER BY l.entity, l.field, l.origin, l.seq LIMIT 4096")
        let next = try db.statement("""
            \(Store.logRows) WHERE (l.entity, l.field, l.origin, l.seq) > (?, ?, ?, ?)
            ORDER BY l.entity, l.field, l.origin, l.seq LIMIT 4096
            """)
        let setCurrent = try db.statement("UPDATE log SET current = ?5 WHERE entity = ?1 AND field = ?2 AND origin = ?3 AND seq = ?4")
        // An entity's changes are one run of the log's key order, so its
        // row is written once (coalesced), not upserted once per change.
        // Every change is logged already: no entity is fresh, and a field's
        // winner flags are kept here, a field at a time (`foldField`).
        replayingLog = true
        defer { replayingLog = false }
        rebuiltWinners = (0, 0)
        firstRewrittenFlag = nil
        let coalesces = beginCoalescing()
        defer { if coalesces { endCoalescing() } }
        var after: ReplayedChange?
        // The changes to the field the last chunk ended in: a field is
        // folded only once all its changes are read.
        var held: [ReplayedChange] = []
        let repeated = RepeatedStrings()
        while true {
            var chunk = held
            var read = 0
            let take = { (s: Statement) throws -> Bool in
                chunk.append(ReplayedChange(change: try Store.change(from: s, repeating: repeated), entity: s.int(15), origin: s.int(16), stored: s.int(17) == 1))
                read += 1
                return true
            }
            if let a = after {
                try next.forEach([.integer(a.entity), .text(a.change.field), .integer(a.origin), .integer(a.change.id.seq)], take)
            } else {
                try first.forEach([], take)
            }
            after = chunk.last
            let complete = read < 4096 ? chunk.endIndex
                : chunk.lastIndex { $0.entity != chunk.last?.entity || $0.change.field != chunk.last?.change.field }.map { $0 + 1 } ?? 0
            var start = chunk.startIndex
            while start < complete {
                var end = start + 1
                while end < complete, chunk[end].entity == chunk[start].entity, chunk[end].change.field == chunk[start].change.field { end += 1 }
                try foldField(chunk[start..<end], setCurrent: setCurrent, scope: &scope)
                start = end
            }
            held = Array(chunk[complete...])
            if read < 4096 { break }
        }
        if coalesces { try flushPendingRow(scope: &scope) }
        try flushReindex(scope: &scope)
    }

    /// A logged change as the rebuild reads it: with its local keys and
    /// the winner flag the log held before the rebuild.
    struct ReplayedChange {
        var change: Change
        var entity: Int64
        var origin: Int64
        var stored: Bool
    }

    /// Folds every change to one field, in the log's order. The field's
    /// changes are all in hand, so what a fold would probe the log for (the
    /// winner so far and the change's siblings, `fieldChanges`) is taken
    /// from them, in the probe's order, and the winner flags are kept here:
    /// only a flag that ends up other than the log held it is written (none,
    /// when the state was sound). At a million changes this is most of a
    /// rebuild's time.
    private func foldField(_ run: ArraySlice<ReplayedChange>, setCurrent: Statement, scope: inout WriteScope?) throws {
        let base = run.startIndex
        var current: Int?
        var bySupersedes: [ChangeID?: [Int]] = [:]
        for i in run.indices { bySupersedes[run[i].change.supersedes, default: []].append(i - base) }
        func fieldChange(_ i: Int) -> FieldChange {
            let c = run[base + i].change
            return FieldChange(id: c.id, stamp: c.stamp, value: c.value, supersedes: c.supersedes, current: i == current)
        }
        for i in run.indices {
            let c = run[i].change
            // The entity's number, read with the change, for the fold's
            // look-ups of it (its row, the edits a deletion raced).
            keys.remember(c.kind, c.entity, key: run[i].entity)
            // As the probe reads them: the winner, and the changes that
            // supersede what this one does, in key order.
            var rows = bySupersedes[c.supersedes] ?? []
            if let current, !rows.contains(current) {
                rows.insert(current, at: rows.firstIndex { $0 > current } ?? rows.endIndex)
            }
            if try fold(c, hash: nil, logged: true, field: rows.map(fieldChange), scope: &scope) { current = i - base }
        }
        if current != nil { rebuiltWinners.fields += 1 }
        for i in run.indices where run[i].stored != (i - base == current) {
            rebuiltWinners.rewritten += 1
            guard writesWinnerFlags else {
                if firstRewrittenFlag == nil {
                    firstRewrittenFlag = (run[i].entity, run[i].change.field, run[i].origin, run[i].change.id.seq, run[i].stored)
                }
                continue
            }
            setCurrent.reset()
            try setCurrent.bind(1, run[i].entity); try setCurrent.bind(2, run[i].change.field)
            try setCurrent.bind(3, run[i].origin); try setCurrent.bind(4, run[i].change.id.seq)
            try setCurrent.bind(5, Int64(i - base == current ? 1 : 0))
            try setCurrent.execute()
        }
    }
}

/// `check`'s rebuild: the derived tables alone, made empty in a scratch
/// file and folded there from the log of the store, which the same
/// connection reads, attached for reading only as `store`. Unqualified
/// names are found in the scratch file first, so the fold writes the
/// derived tables there and reads the log, the entities and the nodes from
/// the store; the store's own derived tables, the live state, are read as
/// `store.<table>`, in the same snapshot as its log (one transaction from
/// `begin` to the end).
///
/// It replaced a copy of the whole store (`VACUUM INTO`), rebuilt in
/// place: at a million changes that copy was 0.76 s of the rebuild's core
/// and 325 MB written, as much free disk as the store; the derived tables
/// are a quarter of it (77 MB). The fold is `rebuildState`'s, foreign keys on, but it
/// keeps no full-text index (`Projector.indexesFullText`: `check`
/// verifies the store's own) and writes no winner flag: it counts the
/// flags it finds other than the log holds them (`Projector.writesWinnerFlags`).
/// The file keeps 16 MB of pages, not 2, so that fewer of the rebuild's
/// pages are spilled and read back: a bound, not a share of the store, so
/// `check`'s memory stays flat. Nothing is synced or journalled to disk:
/// the file is thrown away.
final class ScratchState {
    static let store = "store"
    let db: Database
    private let projector: Projector

    /// `file`: the scratch file to make; `store`: the store's file, as
    /// `Store` opens it (`immutable` where it cannot be written and no one
    /// writes it).
    init(file: String, store: String, immutable: Bool) throws {
        var options = Database.Options()
        options.attachesReadOnly = true
        db = try Database(path: file, options: options)
        try db.execute("PRAGMA journal_mode=MEMORY; PRAGMA synchronous=OFF; PRAGMA cache_size=-16384; PRAGMA foreign_keys=ON")
        try db.attachReadOnly(store, as: ScratchState.store, immutable: immutable)
        let keys = LocalKeys(db), changeLog = ChangeLog(db, keys: keys)
        projector = Projector(db: db, keys: keys, changeLog: changeLog, conflictFinder: ConflictFinder(db: db, changeLog: changeLog, keys: keys))
        projector.indexesFullText = false
        projector.writesWinnerFlags = false
    }

    /// Begins the one read of the store that everything after it reads,
    /// and makes the derived tables as the store defines them, empty, with
    /// the indexes the rebuild needs (`scratchIndexes`).
    func begin() throws {
        try db.execute("BEGIN")
        let tables = Schema.derivedTables.map { "'\($0)'" }.joined(separator: ", ")
        let definitions = try db.rows("""
            SELECT sql FROM \(ScratchState.store).sqlite_master
            WHERE tbl_name IN (\(tables)) AND type IN ('table', 'index') AND sql IS NOT NULL
              AND (type = 'table' OR \(ScratchState.scratchIndexes))
            ORDER BY type = 'index', rowid
            """).compactMap { $0[0].string }
        for sql in definitions { try db.execute(sql) }
    }

    /// The store's indexes a scratch state is given: the unique ones, which
    /// decide what an insert does, and the one the quote check reads its
    /// annotations by. The others serve the commands' queries; the rows
    /// are compared table by table, and SQLite's own check finds each of
    /// the store's indexes true to its table. (Inserting into all of them
    /// was about a tenth of the rebuild on a team's store of a million
    /// changes.)
    static let scratchIndexes = "(sql LIKE 'CREATE UNIQUE INDEX%' OR name = 'annotations_by_record')"

    /// Folds the store's log into the scratch tables. Returns what the fold
    /// found of the winner flags (`Projector.rebuiltWinners`): none other
    /// than the log holds them means the winners are the store's own.
    func rebuild() throws -> (fields: Int, rewritten: Int) {
        var scope: WriteScope? = WriteScope()
        try projector.rebuild(scope: &scope)
        return projector.rebuiltWinners
    }

    /// The first winner flag the fold found other than the store holds it,
    /// as a row of the live state's winners (`DerivedState.dump`'s line):
    /// held by the live state and not given by the log, or the other way.
    func flagDifference() throws -> (liveHolds: Bool, line: String)? {
        guard let f = projector.firstRewrittenFlag else { return nil }
        let s = ScratchState.store
        let line = try db.rows("""
            SELECT e.kind, e.id, l.field, quote(l.value), o.id, l.seq
            FROM \(s).log l JOIN \(s).entities e ON e.key = l.entity JOIN \(s).nodes o ON o.key = l.origin
            WHERE l.entity = ? AND l.field = ? AND l.origin = ? AND l.seq = ?
            """, .integer(f.entity), .text(f.field), .integer(f.origin), .integer(f.seq)).first.map(DerivedState.line) ?? "?"
        return (f.stored, line)
    }
}

/// The derived state as one value to compare: every derived row read back,
/// as lines, or row by row beside another state. It only reads; `check`
/// compares a store's with the same store rebuilt, and the tests compare
/// two nodes'.
struct DerivedState {
    let db: Database
    /// The schema its tables are read from: `main`, or the store `check`
    /// attaches beside its scratch tables (`ScratchState.store`).
    var schema = "main"

    /// Every derived row, as text lines in a stable order: two stores whose
    /// dumps are equal hold the same derived state. `winners`: with the
    /// fields' winners first (a scratch state has none of its own).
    /// `numbered`: with the local numbers rows are keyed by, for a dump
    /// compared with one of the same store only.
    func dump(winners: Bool = true, numbered: Bool = false) throws -> [String] {
        var lines: [String] = []
        try forEachLine(winners: winners, numbered: numbered) { lines.append($0) }
        return lines
    }

    /// The queries that read the derived state, in a stable order, the
    /// winners' first (`compared(with:sameWinners:)` may skip it).
    /// `inKeyOrder`: the winners in the log's own order (by local keys, no
    /// sort), which is stable within one store only, with their values as
    /// stored (`compared(with:)` compares each value's type and bytes; an
    /// SQL literal made of each, for a million winners, cost 0.3 s).
    /// `numbered`: with the local numbers rows are keyed by, which only
    /// rows of one store share.
    private func queries(inKeyOrder: Bool, numbered: Bool) -> [String] { readings(inKeyOrder: inKeyOrder, numbered: numbered).map(\.sql) }

    /// One query of the derived state: `sql` in the order of its key, and,
    /// for a table whose rows are stored in the order of their entities'
    /// numbers (a row is made with its entity's first change, and a
    /// rebuild folds by entity), `storedOrder`, the same ordered by rowid.
    private struct Reading {
        var sql: String
        var storedOrder: String?
        init(_ select: String, orderBy key: String, rowid: String? = nil) {
            sql = select + " ORDER BY " + key
            storedOrder = rowid.map { select + " ORDER BY " + $0 }
        }
    }

    private func readings(inKeyOrder: Bool, numbered: Bool) -> [Reading] {
        let s = schema
        let winners = inKeyOrder
            ? (select: """
              SELECT e.kind, e.id, l.field, l.value, o.id, l.seq
              FROM \(s).log l JOIN \(s).entities e ON e.key = l.entity JOIN \(s).nodes o ON o.key = l.origin
              WHERE l.current = 1
              """, key: "l.entity, l.field")
            : (select: "SELECT kind, entity, field, quote(value), origin, seq FROM \(s).fields", key: "1, 2, 3")
        return [
            Reading(winners.select, orderBy: winners.key),
            Reading("""
                SELECT id, title, source, published, place, url, author, editor, body,
                    (SELECT folded FROM \(s).record_folded f WHERE f.rowid = r.rowid), deleted, created_ms, updated_ms
                FROM \(s).records r
                """, orderBy: "r.id", rowid: "r.rowid"),
            Reading("SELECT record, key, value FROM \(s).record_meta", orderBy: "1, 2"),
            Reading("SELECT record, coder FROM \(s).record_done", orderBy: "1, 2"),
            // Within one store (`numbered`), with each row's entity number
            // last: another node's store numbers its entities otherwise.
            Reading("SELECT \(Schema.annotationColumnsButKey.joined(separator: ", "))\(numbered ? ", key" : "") FROM \(s).annotations",
                    orderBy: "id", rowid: "key"),
            Reading("SELECT * FROM \(s).codes", orderBy: "id", rowid: "rowid"),
            Reading("SELECT * FROM \(s).conflicts", orderBy: "id"),
        ]
    }

    /// How many derived rows this state holds, and whether `other` holds
    /// the same, read a row at a time from both in step and compared by
    /// storage class and bytes, in the order rows were stored where that
    /// finds them the same, else in key order. Both must be of one store
    /// (`check`: its copy before and after the rebuild, on the rebuild's
    /// core; the SHA-256 digests of each it took before were about 2.6 s
    /// of a million-change check, half of it hashing). Stops at the first
    /// difference (`rows` then counts the rows found equal).
    ///
    /// `sameWinners`: the number of winners, when they are known to be the
    /// same in both (a rebuild that rewrote no winner flag: the winners'
    /// other columns are the log's own, which a rebuild never writes).
    /// Their pass, nearly every row of the log read on both sides, is
    /// then skipped (at a million changes, about a second of the rebuild's
    /// core).
    func compared(with other: DerivedState, sameWinners: Int? = nil) throws -> (rows: Int, same: Bool) {
        var rows = sameWinners ?? 0
        let mine = readings(inKeyOrder: true, numbered: true), theirs = other.readings(inKeyOrder: true, numbered: true)
        for (q, r) in zip(mine, theirs).dropFirst(sameWinners == nil ? 0 : 1) {
            // First in the order the rows were stored, read in place rather
            // than through the index of ids (on a team's store of a million
            // changes, its annotations by id read in 0.77 s, by rowid in
            // 0.05 s): the same rows in the same order are the same rows.
            // At any difference there, the order of ids decides.
            if let a = q.storedOrder, let b = r.storedOrder {
                let stored = try DerivedState.compare(db.statement(a), other.db.statement(b))
                if stored.same {
                    rows += stored.rows
                    continue
                }
            }
            let outcome = try DerivedState.compare(db.statement(q.sql), other.db.statement(r.sql))
            rows += outcome.rows
            if !outcome.same { return (rows, false) }
        }
        return (rows, true)
    }

    /// Reads two statements in step: how many rows were equal before the
    /// first difference, and whether there was none.
    private static func compare(_ mine: Statement, _ theirs: Statement) throws -> (rows: Int, same: Bool) {
        try mine.bind([])
        try theirs.bind([])
        defer { mine.reset(); theirs.reset() }
        var rows = 0
        while true {
            let more = try mine.step()
            guard more == (try theirs.step()) else { return (rows, false) }
            guard more else { return (rows, true) }
            guard sameRow(mine, theirs) else { return (rows, false) }
            rows += 1
        }
    }

    private static func sameRow(_ a: Statement, _ b: Statement) -> Bool {
        guard a.columnCount == b.columnCount else { return false }
        for i in 0..<a.columnCount {
            let type = a.storageClass(i)
            guard type == b.storageClass(i) else { return false }
            switch type {
            case .integer: guard a.int(i) == b.int(i) else { return false }
            case .real: guard a.double(i).bitPattern == b.double(i).bitPattern else { return false }
            case .text, .blob:
                let equal = a.withColumnBytes(i) { x in
                    b.withColumnBytes(i) { y in
                        guard x.count == y.count, let p = x.baseAddress, let q = y.baseAddress else { return x.count == y.count }
                        return memcmp(p, q, x.count) == 0
                    }
                }
                guard equal else { return false }
            case .null: break
            }
        }
        return true
    }

    /// `dump`'s lines, one at a time.
    private func forEachLine(winners: Bool, numbered: Bool, _ body: (String) throws -> Void) throws {
        for q in queries(inKeyOrder: false, numbered: numbered).dropFirst(winners ? 0 : 1) {
            try db.statement(q).forEach { s in
                try body(DerivedState.line((0..<s.columnCount).map(s.column)))
                return true
            }
        }
    }

    /// A row as a dump's line: each value as an SQL literal, so that two
    /// lines are equal exactly when the rows are (and without
    /// `String(describing:)`, whose reflection had been half the time of
    /// `check`).
    static func line(_ row: [SQLValue]) -> String {
        func cell(_ v: SQLValue) -> String {
            switch v {
            case .null: "NULL"
            case .integer(let i): String(i)
            case .real(let d): d.description
            case .text(let t): t.utf8.contains(39) ? "'\(t.replacingOccurrences(of: "'", with: "''"))'" : "'\(t)'"
            case .blob(let b): "X'\(b.hex)'"
            }
        }
        return row.map(cell).joined(separator: "|")
    }
}
