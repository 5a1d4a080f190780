import Foundation
import Glibc
import MarginSQLite

/// Rebuilding the derived state from the log (the projector's fold over
/// every logged change), and reading it back to compare (`DerivedState`).
extension Store {
    /// Empties the derived tables and replays the whole log into them.
    /// `largeCache`: with the 32 MB of pages a writing connection keeps.
    /// `check`'s rebuild of its scratch copy does without: at a million
    /// changes it took as long with SQLite's 2 MB, and `check` held 48 MB
    /// instead of 100 (32 and 54 MB at 100,000 changes).
    public func rebuildState(largeCache: Bool = true) throws {
        if largeCache { try raiseCacheForWriting() }
        try inScope { try db.transaction { try projector.rebuild(scope: &scope) } }
    }

    /// `check`'s rebuild of its scratch copy, which is compared and thrown
    /// away. The derived tables are emptied first with foreign keys off, so
    /// that SQLite clears each in bulk (at a million changes, a second of
    /// the copy's eight when they were deleted row by row, as foreign keys
    /// make it). The full-text index is left as copied (see
    /// `Projector.indexesFullText`). The fold itself is `rebuildState`'s,
    /// foreign keys on. Returns what the fold found of the winner flags
    /// (`Projector.rebuiltWinners`): none rewritten means the winners are
    /// as copied, so the comparison need not read them again.
    ///
    /// The copy is thrown away once compared, so nothing it frees is
    /// overwritten (Debian's SQLite is built with `secure_delete` on), and
    /// its connection keeps 16 MB of pages, not 2, so that fewer of the
    /// rebuild's pages are spilled to the log and read back (on a team's
    /// store of a million changes, the rebuild took 4.99 s with neither and
    /// 4.25 s with both, the median of five runs each, alternately). A
    /// bound, not a share of the store: `check`'s memory stays flat.
    @discardableResult
    func rebuildScratchCopy() throws -> (fields: Int, rewritten: Int) {
        try db.execute("PRAGMA secure_delete=OFF; PRAGMA cache_size=-16384")
        try db.execute("PRAGMA foreign_keys=OFF")
        for table in Schema.derivedTables { try db.execute("DELETE FROM \(table)") }
        try db.execute("PRAGMA foreign_keys=ON")
        projector.indexesFullText = false
        defer { projector.indexesFullText = true }
        try rebuildState(largeCache: false)
        return projector.rebuiltWinners
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
        let coalesces = beginCoalescing()
        defer { if coalesces { endCoalescing() } }
        var after: ReplayedChange?
        // The changes to the field the last chunk ended in: a field is
        // folded only once all its changes are read.
        var held: [ReplayedChange] = []
        while true {
            var chunk = held
            var read = 0
            let take = { (s: Statement) throws -> Bool in
                chunk.append(ReplayedChange(change: try Store.change(from: s), entity: s.int(15), origin: s.int(16), stored: s.int(17) == 1))
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
            setCurrent.reset()
            try setCurrent.bind(1, run[i].entity); try setCurrent.bind(2, run[i].change.field)
            try setCurrent.bind(3, run[i].origin); try setCurrent.bind(4, run[i].change.id.seq)
            try setCurrent.bind(5, Int64(i - base == current ? 1 : 0))
            try setCurrent.execute()
        }
    }
}

/// The derived state as one value to compare: every derived row read back,
/// as lines, or row by row beside another state. It only reads; `check`
/// compares a store's with the same store rebuilt, and the tests compare
/// two nodes'.
struct DerivedState {
    let db: Database

    /// Every derived row, as text lines in a stable order: two stores whose
    /// dumps are equal hold the same derived state.
    func dump() throws -> [String] {
        var lines: [String] = []
        try forEachLine { lines.append($0) }
        return lines
    }

    /// The queries that read the derived state, in a stable order, the
    /// winners' first (`compared(with:sameWinners:)` may skip it).
    /// `inKeyOrder`: the winners in the log's own order (by local keys, no
    /// sort), which is stable within one store only, with their values as
    /// stored (`compared(with:)` compares each value's type and bytes; an
    /// SQL literal made of each, for a million winners, cost 0.3 s).
    private static func queries(inKeyOrder: Bool) -> [String] {
        let winners = inKeyOrder
            ? """
              SELECT e.kind, e.id, l.field, l.value, o.id, l.seq
              FROM log l JOIN entities e ON e.key = l.entity JOIN nodes o ON o.key = l.origin
              WHERE l.current = 1 ORDER BY l.entity, l.field
              """
            : "SELECT kind, entity, field, quote(value), origin, seq FROM fields ORDER BY 1, 2, 3"
        return [
            winners,
            """
            SELECT id, title, source, published, place, url, author, editor, body,
                (SELECT folded FROM record_folded f WHERE f.rowid = records.rowid), deleted, created_ms, updated_ms
            FROM records ORDER BY id
            """,
            "SELECT record, key, value FROM record_meta ORDER BY 1, 2",
            "SELECT record, coder FROM record_done ORDER BY 1, 2",
            "SELECT * FROM annotations ORDER BY id",
            "SELECT * FROM codes ORDER BY id",
            "SELECT * FROM conflicts ORDER BY id",
        ]
    }

    /// How many derived rows this state holds, and whether `other` holds
    /// the same, read a row at a time from both in step and compared by
    /// storage class and bytes, in key order. Both must be of one store
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
        let queries = DerivedState.queries(inKeyOrder: true)
        for q in sameWinners == nil ? queries[...] : queries.dropFirst() {
            let mine = try db.statement(q), theirs = try other.db.statement(q)
            try mine.bind([])
            try theirs.bind([])
            defer { mine.reset(); theirs.reset() }
            while true {
                let more = try mine.step()
                guard more == (try theirs.step()) else { return (rows, false) }
                guard more else { break }
                guard DerivedState.sameRow(mine, theirs) else { return (rows, false) }
                rows += 1
            }
        }
        return (rows, true)
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
    private func forEachLine(_ body: (String) throws -> Void) throws {
        let queries = DerivedState.queries(inKeyOrder: false)
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
