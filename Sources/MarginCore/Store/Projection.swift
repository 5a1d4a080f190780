import Foundation
import Glibc
import MarginCrypto
import MarginSQLite

/// What the projector's state holds, as the store's readers and its
/// import see it.
extension Store {
    /// The winning change of one field: its id, stamp and value.
    public struct Winner: Equatable, Sendable {
        public var id: ChangeID
        public var stamp: Change.Stamp
        public var value: FieldValue
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
        /// The id a release before data schema 6 gave this body (the hash
        /// of the body itself), made with `recordID`: an import looks for a
        /// record under it, and hashing a report on the writing core was a
        /// twentieth of an import's write.
        public let legacyRecordID: String?
        public let folded: String
        public let grams: String

        /// The text `received` was normalised from (nil: from the body),
        /// so that an import given the same can take `received` as it is.
        let receivedFrom: String?

        public init(title: String?, body: String, received: String? = nil, withRecordID: Bool = false) {
            self.title = title ?? ""
            // In NFC whatever the caller gave: an import takes it as the
            // body it stores when the draft's body has the same bytes.
            let body = TextNormalization.nfc(body)
            self.body = body
            let text = withRecordID ? Store.received(received ?? body) : nil
            self.received = text
            receivedFrom = withRecordID ? received : nil
            let id = text.map { Store.recordID(normalizedBody: $0) }
            recordID = id
            legacyRecordID = text.map { $0.hasSameBytes(as: body) ? id : Store.recordID(normalizedBody: body) } ?? nil
            folded = IndexEntry.folded(title: self.title, body: body)
            grams = GramIndex.grams(folded)
        }

        /// The text a record is searched in (`record_folded`): its title and
        /// body, folded to Simplified script.
        static func folded(title: String, body: String) -> String { ScriptFolding.fold(title + "\n" + body) }
    }

}

/// The state projector: the derived state as a pure function of the log.
/// Winners under LWW (`Change.wins`), entity rows, record metadata, done
/// marks and the full-text index. It appends each change it folds to the
/// log (`ChangeLog`) and hands it to the conflict rule (`ConflictFinder`).
///
/// What one write has moved (heads, records to reindex, index entries made
/// beforehand) is the write's, not the projector's: each call that needs it
/// is given the store's `WriteScope` (nil outside a write) and reads and
/// moves nothing else of the store. What the projector keeps is its own:
/// its prepared statements, and the entity row of a run of changes not
/// written yet (`beginCoalescing`).
///
/// About 500 lines: the fold, the row projection and the full-text index
/// share the pending row and its statements, and are one job (the derived
/// state).
final class Projector {
    let db: Database
    let keys: LocalKeys
    let changeLog: ChangeLog
    let conflictFinder: ConflictFinder
    /// See `statements()`.
    private var prepared: LogStatements?
    /// A pending row's upsert, per kind and set of columns (`flushPendingRow`).
    private var rowUpserts: [Int: Statement] = [:]
    /// Whether a run of changes is being coalesced, and the row of the
    /// entity it is writing, not yet written.
    private var coalescing = false
    private var pendingRow: PendingRow?
    /// A rebuild is folding changes the log already holds: no entity is new.
    var replayingLog = false
    /// What the last rebuild did to the log's winner flags: the fields it
    /// found a winner for (the rows flagged after it), and the flags it had
    /// to write because they were other than the log held (`foldField`).
    /// `check` reads them instead of comparing every winner again.
    var rebuiltWinners = (fields: 0, rewritten: 0)
    /// Whether a rebuild writes a winner flag it finds other than the log
    /// holds it. `check` rebuilds beside a log it only reads: it counts
    /// them instead, and keeps the first (`firstRewrittenFlag`) to name.
    var writesWinnerFlags = true
    /// The first flag a rebuild found other than the log holds it: the
    /// change's local keys, and the flag the log holds.
    var firstRewrittenFlag: (entity: Int64, field: String, origin: Int64, seq: Int64, stored: Bool)?
    /// Whether the full-text index (`record_grams`) is kept in step with
    /// the records. Only `check`'s scratch rebuild (`ScratchState`) goes
    /// without: its rebuilt state is compared without the index (which
    /// `check` verifies on the store itself), and rebuilding it was a
    /// ninth of the rebuild's work.
    var indexesFullText = true
    /// How many changes to codes this connection has folded: readers that
    /// cache what codes say (`Store.codeLinks`) compare it.
    private(set) var codeFolds = 0

    init(db: Database, keys: LocalKeys, changeLog: ChangeLog, conflictFinder: ConflictFinder) {
        self.db = db
        self.keys = keys
        self.changeLog = changeLog
        self.conflictFinder = conflictFinder
    }

    /// Whether the field has a winner, without reading its value (a
    /// record's body can be long).
    func hasWinner(_ kind: EntityKind, _ entity: EntityID, _ field: String, scope: inout WriteScope?) throws -> Bool {
        guard let key = try entityKey(kind, entity, create: false, scope: &scope) else { return false }
        let s = try statements().exists
        s.reset()
        defer { s.reset() }
        try s.bind(1, key); try s.bind(2, field)
        return try s.step()
    }

    func winner(_ kind: EntityKind, _ entity: EntityID, _ field: String, scope: inout WriteScope?) throws -> Store.Winner? {
        guard let key = try entityKey(kind, entity, create: false, scope: &scope) else { return nil }
        let s = try statements().winner
        s.reset()
        defer { s.reset() }
        try s.bind(1, key); try s.bind(2, field)
        guard try s.step(), let origin = s.node(0) else { return nil }
        return Store.Winner(id: ChangeID(origin: origin, seq: s.int(1)),
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
    func fieldChanges(_ kind: EntityKind, _ entity: EntityID, _ field: String, _ rows: FieldRows, scope: inout WriteScope?) throws -> [FieldChange] {
        var out: [FieldChange] = []
        // An entity first seen in this run of changes has no logged change
        // but the run's own: a field the run has not touched is empty, with
        // no probe (most of a received annotation's ten fields).
        if coalescing, let row = pendingRow, row.fresh, row.kind == kind, row.entity == entity, !row.fields.contains(field) {
            return out
        }
        // An entity without a key has no logged change at all.
        guard let key = try entityKey(kind, entity, create: false, scope: &scope) else { return out }
        let statements = try statements(), s: Statement
        let historyKey = FieldHistory.Key(entity: key, field: field)
        if case .near(let target) = rows, scope?.fieldHistories.isEmpty == false,
           let known = scope?.fieldHistories[historyKey]?.near(target) {
            return try known.map { row in
                FieldChange(id: row.id, stamp: row.stamp, value: try value(key, field, row), supersedes: row.supersedes, current: row.current)
            }
        }
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
                try s.bind(3, try keys.node(target.origin, create: false) ?? -1); try s.bind(4, target.seq)
            } else {
                try s.bind(3, SQLValue.null); try s.bind(4, SQLValue.null)
            }
        }
        while try s.step() {
            guard let origin = s.node(0) else { continue }
            let seq = s.int(1)
            out.append(FieldChange(id: ChangeID(origin: origin, seq: seq),
                                   stamp: Change.Stamp(hlc: HLC(milliseconds: s.int(2), counter: s.int(3)), origin: origin, seq: seq),
                                   value: try FieldValue(s.column(4)),
                                   supersedes: s.node(5).map { ChangeID(origin: $0, seq: s.int(6)) },
                                   current: s.int(7) == 1))
        }
        // A field found with logged changes a second time in one write gets
        // a history, from its winner just read (see `FieldHistory`).
        if case .near = rows, scope != nil, !out.isEmpty, scope?.fieldHistories[historyKey] == nil,
           scope?.fieldsWithHistory.insert(historyKey).inserted == false {
            var winner: FieldHistory.Row?
            if let c = out.first(where: \.current), let origin = try keys.node(c.id.origin, create: false) {
                winner = FieldHistory.Row(id: c.id, originKey: origin, stamp: c.stamp, supersedes: c.supersedes, current: true)
            }
            scope?.fieldHistories[historyKey] = FieldHistory(winner: winner)
        }
        return out
    }

    /// One logged change's value, by the log's key.
    private func value(_ entity: Int64, _ field: String, _ row: FieldHistory.Row) throws -> FieldValue {
        let s = try statements().valueByKey
        s.reset()
        defer { s.reset() }
        try s.bind(1, entity); try s.bind(2, field); try s.bind(3, row.originKey); try s.bind(4, row.id.seq)
        guard try s.step() else { throw MarginError.corrupt("change \(row.id) left the log during a write") }
        return try FieldValue(s.column(0))
    }

    /// Folds one change into the derived state, appending it to the log
    /// first unless it is `logged` already (a rebuild). The result does not
    /// depend on the order changes arrive in: the change becomes its field's
    /// winner (`current`) only if it wins under LWW, times are minima and
    /// maxima, and conflicts are pairs found from whichever member arrives
    /// second.
    /// `field`: the field's logged changes, when the caller has read them.
    /// Returns whether the change won its field. A rebuild
    /// (`replayingLog`) keeps the winner flags itself (`foldField`).
    @discardableResult
    func fold(_ c: Change, hash: [UInt8]?, logged: Bool, field: [FieldChange]? = nil, scope: inout WriteScope?) throws -> Bool {
        if c.kind == .code { codeFolds &+= 1 }
        let others = try (field ?? fieldChanges(c.kind, c.entity, c.field, .near(c.supersedes), scope: &scope)).filter { $0.id != c.id }
        let current = others.first(where: \.current)
        let wins = Change.wins(c.stamp, over: current?.stamp)
        var firstOfEntity = false
        if !logged {
            firstOfEntity = try appendToLog(c, hash: hash ?? c.hash, current: wins, scope: &scope)
        } else if wins, !replayingLog {
            try setCurrent(c.kind, c.entity, c.field, c.id, true, scope: &scope)
        }
        if wins, let current, !replayingLog { try setCurrent(c.kind, c.entity, c.field, current.id, false, scope: &scope) }
        let everDeleted = try touchEntity(c, wins: wins, firstOfEntity: firstOfEntity, scope: &scope)
        if wins, c.kind == .annotation, Projector.reviewedFields.contains(c.field) {
            if coalescing {
                pendingRow?.reviewTouched = true
            } else if let number = try entityKey(c.kind, c.entity, create: false, scope: &scope) {
                try refreshStaleReview(number)
            }
        }
        if wins { try projectOutsideRow(c, scope: &scope) }
        try conflictFinder.detect(c, siblings: others.filter { $0.supersedes == c.supersedes }, entityEverDeleted: everDeleted)
        return wins
    }

    /// The annotation fields a review's staleness depends on: those its
    /// signature names (`currentSignatureSQL`) and the review's own.
    static let reviewedFields: Set<String> = ["code", "start", "value", "status", "reviewed"]

    /// Projects whether the annotation's review is stale (its `stale`
    /// column), after a change to one of `reviewedFields` won. Only a
    /// reviewed annotation, or one stale before, is looked at: a suggestion
    /// or an open annotation costs one row probe.
    private func refreshStaleReview(_ annotation: Int64) throws {
        let s = try statements().refreshStale
        s.reset()
        try s.bind(1, annotation)
        try s.execute()
    }

    private func setCurrent(_ kind: EntityKind, _ entity: EntityID, _ field: String, _ id: ChangeID, _ current: Bool, scope: inout WriteScope?) throws {
        guard let key = try entityKey(kind, entity, create: false, scope: &scope), let origin = try keys.node(id.origin, create: false) else {
            throw MarginError.corrupt("change \(id) is not numbered in the log")
        }
        let s = try statements().setCurrent
        s.reset()
        try s.bind(1, key); try s.bind(2, field); try s.bind(3, origin); try s.bind(4, id.seq); try s.bind(5, Int64(current ? 1 : 0))
        try s.execute()
        if scope?.fieldHistories.isEmpty == false {
            let historyKey = FieldHistory.Key(entity: key, field: field)
            scope?.fieldHistories[historyKey]?.setCurrent(id, current)
            if scope?.fieldHistories[historyKey]?.isStale == true { scope?.fieldHistories[historyKey] = nil }
        }
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

    private static let recordFieldColumns = Vocabulary.columns(of: .record)
    private static let annotationFieldColumns = Vocabulary.columns(of: .annotation)
    private static let codeFieldColumns = Vocabulary.columns(of: .code)
    /// The columns a kind's fields are projected into, by field.
    private static func fieldColumns(of kind: EntityKind) -> [String: String] {
        switch kind {
        case .record: recordFieldColumns
        case .annotation: annotationFieldColumns
        case .code: codeFieldColumns
        case .conflict: [:]
        }
    }

    /// A kind's row columns in a fixed order (the projected fields'), so
    /// that a pending row holds its values in slots and names the columns
    /// it sets by a bit mask.
    private static let recordRowColumns = Set(recordFieldColumns.values).sorted()
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

    /// Whether a kind's rows are keyed by the entity's number
    /// (`entities.key`) rather than by its id: annotations', the many
    /// (file version 17), so that a new one's row appends instead of
    /// landing at a random place in an index of random ids. Each write
    /// of such a row binds the number as well as the id.
    static func keyedByNumber(_ kind: EntityKind) -> Bool { kind == .annotation }

    /// The column a kind's row is found by in an upsert, and the
    /// parameter list's start for it (`keyParameter`: the number, when
    /// the row is keyed by it).
    private static func rowKey(_ kind: EntityKind, keyParameter: Int) -> (columns: String, values: String, target: String) {
        keyedByNumber(kind) ? ("key, id", "?\(keyParameter), ?1", "key") : ("id", "?1", "id")
    }

    /// Per kind: the upsert that creates an entity's row and widens its
    /// times, returning whether the entity was ever deleted. A row keyed
    /// by number takes it as ?3.
    private static let entityRowSQL: [EntityKind: String] = EntityKind.allCases.reduce(into: [:]) { out, kind in
        guard let table = table(of: kind) else { return }
        let key = rowKey(kind, keyParameter: 3)
        out[kind] = """
        INSERT INTO \(table)(\(key.columns), created_ms, updated_ms) VALUES(\(key.values), ?2, ?2)
        ON CONFLICT(\(key.target)) DO UPDATE SET created_ms = min(created_ms, ?2), updated_ms = max(updated_ms, ?2)
        RETURNING ever_deleted
        """
    }

    /// Per kind and field: the same upsert, also projecting the field into
    /// its column when the change wins (?4), and noting a deletion (?5).
    /// One statement where there were two: this is the hot path of a sync.
    /// A row keyed by number takes it as ?6.
    private static let rowAndColumnSQL: [EntityKind: [String: String]] = EntityKind.allCases.reduce(into: [:]) { out, kind in
        guard let table = table(of: kind) else { return }
        let key = rowKey(kind, keyParameter: 6)
        out[kind] = fieldColumns(of: kind).mapValues { column in
            let fresh = column == "deleted" ? "CASE WHEN ?4 THEN ?3 ELSE 0 END" : "CASE WHEN ?4 THEN ?3 END"
            return """
                INSERT INTO \(table)(\(key.columns), created_ms, updated_ms, \(column), ever_deleted) VALUES(\(key.values), ?2, ?2, \(fresh), ?5)
                ON CONFLICT(\(key.target)) DO UPDATE SET created_ms = min(created_ms, ?2), updated_ms = max(updated_ms, ?2),
                    \(column) = CASE WHEN ?4 THEN ?3 ELSE \(column) END, ever_deleted = max(ever_deleted, ?5)
                RETURNING ever_deleted
                """
        }
    }

    /// An entity's row as a run of changes to it leaves it, written once
    /// when the run ends (see `coalescingRows`).
    struct PendingRow {
        var kind: EntityKind
        var entity: EntityID
        /// The entity's number, for a kind keyed by it (`keyedByNumber`).
        var number: Int64?
        var createdMs: Int64
        var updatedMs: Int64
        var everDeleted: Bool
        /// The entity had no row when the run began, so it has no logged
        /// change but those of `fields`, the fields the run has changed.
        var fresh: Bool
        /// The entity had no row when the run began (as `fresh`, or in a
        /// rebuild, whose run of an entity holds every change it has).
        var made: Bool
        var fields: [String] = []
        /// The winning values of the run, by slot (`rowColumns`), and the
        /// slots set.
        var values: [SQLValue]
        var set: UInt32 = 0
        /// A change to one of `reviewedFields` won: the review's staleness
        /// is projected again once the row is written.
        var reviewTouched = false
    }

    /// Starts writing each entity's row once per run of consecutive
    /// changes to that entity instead of once per change: a received
    /// annotation's ten fields then cost one row write, not ten. While it
    /// lasts, projections of the entity being written may lag behind the
    /// log, so a caller must read state from the log only (as applying a
    /// batch does). False when a run is already going (nested: the outer
    /// one ends it). `Store.coalescingRows` is the one caller.
    func beginCoalescing() -> Bool {
        guard !coalescing else { return false }
        coalescing = true
        return true
    }

    /// Ends the run `beginCoalescing` started; a row still pending is
    /// dropped (`flushPendingRow` writes it first, when the run succeeded).
    func endCoalescing() {
        coalescing = false
        pendingRow = nil
    }

    func flushPendingRow(scope: inout WriteScope?) throws {
        guard let row = pendingRow, let table = Projector.table(of: row.kind) else { return }
        pendingRow = nil
        let key = Int(ChangeCodec.kindCode(row.kind)) << 32 | Int(row.set)
        let s: Statement
        if let held = rowUpserts[key] {
            s = held
        } else {
            let columns = Projector.rowColumns(of: row.kind).enumerated().filter { row.set & (1 << UInt32($0.offset)) != 0 }.map(\.element)
            // A row keyed by number takes it as ?5, its columns after.
            let rowKey = Projector.rowKey(row.kind, keyParameter: 5), first = Projector.keyedByNumber(row.kind) ? 6 : 5
            var sql = "INSERT INTO \(table)(\(rowKey.columns), created_ms, updated_ms, ever_deleted"
            for column in columns { sql += ", " + column }
            sql += ") VALUES(\(rowKey.values), ?2, ?3, ?4"
            for i in columns.indices { sql += ", ?\(i + first)" }
            sql += ") ON CONFLICT(\(rowKey.target)) DO UPDATE SET created_ms = min(created_ms, ?2), updated_ms = max(updated_ms, ?3), ever_deleted = max(ever_deleted, ?4)"
            for column in columns { sql += ", \(column) = excluded.\(column)" }
            s = try db.statement(sql)
            rowUpserts[key] = s
        }
        s.reset()
        try s.bind(1, row.entity); try s.bind(2, row.createdMs); try s.bind(3, row.updatedMs); try s.bind(4, Int64(row.everDeleted ? 1 : 0))
        var parameter: Int32 = 5
        if let number = row.number {
            try s.bind(5, number)
            parameter = 6
        }
        for (i, value) in row.values.enumerated() where row.set & (1 << UInt32(i)) != 0 {
            try s.bind(parameter, value)
            parameter += 1
        }
        try s.execute()
        // A row made just now is not stale, and only a review (`reviewed`
        // set) can make it so: a new row that has none is not looked up
        // again (most of a rebuild's annotations: suggestions and open ones).
        if row.reviewTouched, !(row.made && !Projector.holdsValue(row, "reviewed")), let number = row.number { try refreshStaleReview(number) }
    }

    /// Whether the pending row sets `field` to something other than NULL.
    private static func holdsValue(_ row: PendingRow, _ field: String) -> Bool {
        guard let i = slot(of: row.kind, field), row.set & (1 << UInt32(i)) != 0 else { return false }
        return row.values[i] != .null
    }

    /// Creates or updates the entity's row for change `c`; returns whether a
    /// deletion of the entity has ever been folded in. `firstOfEntity`: `c`
    /// is the entity's first logged change, so it has no row to look for.
    private func touchEntity(_ c: Change, wins: Bool, firstOfEntity: Bool, scope: inout WriteScope?) throws -> Bool {
        // The entity's number, for a row keyed by it, asked only where a
        // row is begun or written (a pending row holds it): the log row
        // just written or read named it, so it is the one cached.
        func entityNumber() throws -> Int64? {
            guard Projector.keyedByNumber(c.kind) else { return nil }
            guard let key = try entityKey(c.kind, c.entity, create: false, scope: &scope) else {
                throw MarginError.corrupt("\(c.kind.rawValue) \(c.entity) is not numbered in the log")
            }
            return key
        }
        if coalescing, let probe = try statements().entityRow(c.kind) {
            if let pending = pendingRow, pending.kind != c.kind || pending.entity != c.entity { try flushPendingRow(scope: &scope) }
            var row: PendingRow
            if let pending = pendingRow {
                row = pending
                pendingRow = nil  // the one copy, changed in place below
            } else {
                let number = try entityNumber()
                var exists = false, everDeleted = false
                if !firstOfEntity {
                    probe.reset()
                    defer { probe.reset() }
                    if let number { try probe.bind(1, number) } else { try probe.bind(1, c.entity) }
                    exists = try probe.step()
                    everDeleted = exists && probe.int(0) == 1
                }
                row = PendingRow(kind: c.kind, entity: c.entity, number: number, createdMs: c.hlc.milliseconds, updatedMs: c.hlc.milliseconds,
                                 everDeleted: everDeleted, fresh: !exists && !replayingLog, made: !exists,
                                 values: Array(repeating: .null, count: Projector.rowColumns(of: c.kind).count))
            }
            if row.fresh && !row.fields.contains(c.field) { row.fields.append(c.field) }
            row.createdMs = min(row.createdMs, c.hlc.milliseconds)
            row.updatedMs = max(row.updatedMs, c.hlc.milliseconds)
            if c.field == FieldSchema.deleted && c.value == .int(1) { row.everDeleted = true }
            if wins, let slot = Projector.slot(of: c.kind, c.field) {
                row.values[slot] = (c.field == FieldSchema.deleted && c.value == .null) ? .integer(0) : c.value.sql
                row.set |= 1 << UInt32(slot)
            }
            pendingRow = row
            return row.everDeleted
        }
        let row: [[SQLValue]]
        let number = try entityNumber()
        if let sql = Projector.rowAndColumnSQL[c.kind]?[c.field] {
            let value: SQLValue = (c.field == FieldSchema.deleted && c.value == .null) ? .integer(0) : c.value.sql
            let deletes: Int64 = c.field == FieldSchema.deleted && c.value == .int(1) ? 1 : 0
            row = try db.statement(sql).all([.entity(c.entity), .integer(c.hlc.milliseconds), value,
                                             .integer(wins ? 1 : 0), .integer(deletes)] + (number.map { [.integer($0)] } ?? []))
        } else if let sql = Projector.entityRowSQL[c.kind] {
            row = try db.statement(sql).all([.entity(c.entity), .integer(c.hlc.milliseconds)] + (number.map { [.integer($0)] } ?? []))
        } else {
            return false
        }
        return row.first?.first?.int == 1
    }

    /// What a winning change projects beyond its entity's row: free record
    /// metadata, and the full-text index for a title or body.
    private func projectOutsideRow(_ c: Change, scope: inout WriteScope?) throws {
        guard c.kind == .record else { return }
        if c.field.hasPrefix(FieldSchema.metaPrefix) {
            // record_meta refers to the record's row: it must exist first.
            try flushPendingRow(scope: &scope)
            let key = String(c.field.dropFirst(FieldSchema.metaPrefix.count))
            if c.value == .null {
                try db.run("DELETE FROM record_meta WHERE record = ? AND key = ?", .entity(c.entity), .text(key))
            } else {
                try db.run("""
                    INSERT INTO record_meta(record, key, value) VALUES(?, ?, ?)
                    ON CONFLICT(record, key) DO UPDATE SET value = excluded.value
                    """, .entity(c.entity), .text(key), c.value.sql)
            }
        } else if c.field.hasPrefix(FieldSchema.donePrefix) {
            let coder = String(c.field.dropFirst(FieldSchema.donePrefix.count))
            if c.value == .int(1) {
                try db.run("INSERT OR IGNORE INTO record_done(record, coder) VALUES(?, ?)", .entity(c.entity), .text(coder))
            } else {
                try db.run("DELETE FROM record_done WHERE record = ? AND coder = ?", .entity(c.entity), .text(coder))
            }
        } else if c.field == "title" || c.field == "body" {
            scope?.reindex.insert(c.entity)
            // An entry made beforehand is for the title and body it was
            // made from: a later change to either makes it stale.
            scope?.preparedIndex[c.entity] = nil
        }
    }

    func flushReindex(scope: inout WriteScope?) throws {
        let records = scope?.reindex ?? []
        scope?.reindex.removeAll()
        defer { scope?.preparedIndex.removeAll() }
        for id in records.sorted() { try reindex(record: id, scope: &scope) }
    }

    /// Keeps the full-text index (over the Simplified-folded title and body)
    /// and the folded text it is made from (`record_folded`) in step with a
    /// record's title and body.
    private func reindex(record id: EntityID, scope: inout WriteScope?) throws {
        let prepared = scope?.preparedIndex[id]
        // With an entry made beforehand, the title and body are not read back.
        let rows = try db.rows(prepared == nil
            ? "SELECT r.rowid, f.folded, r.title, r.body FROM records r LEFT JOIN record_folded f ON f.rowid = r.rowid WHERE r.id = ?"
            : "SELECT r.rowid, f.folded FROM records r LEFT JOIN record_folded f ON f.rowid = r.rowid WHERE r.id = ?", .entity(id))
        guard let row = rows.first, let rowid = row[0].int else { return }
        guard indexesFullText else {
            let folded = prepared?.folded ?? Store.IndexEntry.folded(title: row[2].string ?? "", body: row[3].string ?? "")
            try db.run("INSERT OR REPLACE INTO record_folded(rowid, folded) VALUES(?, ?)", .integer(rowid), .text(folded))
            return
        }
        // The old entry is removed with the text it was indexed from; a record
        // indexed for the first time has none.
        if let old = row[1].string {
            try db.run("INSERT INTO record_grams(record_grams, rowid, grams) VALUES('delete', ?, ?)", .integer(rowid), .text(GramIndex.grams(old)))
        }
        let entry = prepared ?? Store.IndexEntry(title: row[2].string, body: row[3].string ?? "")
        try db.run("INSERT OR REPLACE INTO record_folded(rowid, folded) VALUES(?, ?)", .integer(rowid), .text(entry.folded))
        try db.run("INSERT INTO record_grams(rowid, grams) VALUES(?, ?)", .integer(rowid), .text(entry.grams))
    }

    /// The projector's statements that run once or more per change, prepared
    /// once per connection and bound in place.
    final class LogStatements {
        /// A field's winning change and the changes that supersede one
        /// given change (none: `?3`, `?4` null): all a write or an arrival
        /// needs, however many changes the field has had.
        let fieldNear: Statement
        /// A field's winning change and the changes that supersede it: what
        /// a local write reads, in one statement.
        let fieldAtWinner: Statement
        let setCurrent: Statement
        /// One change's value by key (`FieldHistory`).
        let valueByKey: Statement
        let winner: Statement
        let exists: Statement
        let refreshStale: Statement
        /// Per kind with a table: whether the entity has a row, and
        /// whether it was ever deleted (by id, or by number for a kind
        /// keyed by it).
        let recordRow, annotationRow, codeRow: Statement
        func entityRow(_ kind: EntityKind) -> Statement? {
            switch kind {
            case .record: recordRow
            case .annotation: annotationRow
            case .code: codeRow
            case .conflict: nil
            }
        }

        /// `field = +?`, not `field = ?`: beside the partial index
        /// `log_authors` (`WHERE field = 'author'`), a bare parameter makes
        /// SQLite prepare the statement again on every bind, to see whether
        /// that index applies (`Database.reprepareCount`).
        init(_ db: Database) throws {
            fieldNear = try db.statement("""
                SELECT o.id, l.seq, l.ms, l.ctr, l.value, so.id, l.sup_seq, l.current
                FROM log l JOIN nodes o ON o.key = l.origin LEFT JOIN nodes so ON so.key = l.sup_origin
                WHERE l.entity = ?1 AND l.field = +?2 AND (l.current = 1 OR (l.sup_origin IS ?3 AND l.sup_seq IS ?4))
                """)
            fieldAtWinner = try db.statement("""
                SELECT o.id, l.seq, l.ms, l.ctr, l.value, so.id, l.sup_seq, l.current
                FROM log l JOIN nodes o ON o.key = l.origin LEFT JOIN nodes so ON so.key = l.sup_origin
                WHERE l.entity = ?1 AND l.field = +?2 AND (l.current = 1 OR (l.sup_origin, l.sup_seq) =
                    (SELECT w.origin, w.seq FROM log w WHERE w.entity = ?1 AND w.field = +?2 AND w.current = 1))
                """)
            setCurrent = try db.statement("UPDATE log SET current = ?5 WHERE entity = ?1 AND field = +?2 AND origin = ?3 AND seq = ?4")
            valueByKey = try db.statement("SELECT value FROM log WHERE entity = ?1 AND field = +?2 AND origin = ?3 AND seq = ?4")
            winner = try db.statement("""
                SELECT o.id, l.seq, l.ms, l.ctr, l.value FROM log l JOIN nodes o ON o.key = l.origin
                WHERE l.entity = ?1 AND l.field = +?2 AND l.current = 1
                """)
            exists = try db.statement("SELECT 1 FROM log WHERE entity = ?1 AND field = +?2 AND current = 1")
            refreshStale = try db.statement("""
                UPDATE annotations AS a SET stale = \(Store.staleReviewSQL)
                WHERE a.key = ?1 AND (a.stale = 1 OR (a.status <> 'open' AND a.reviewed IS NOT NULL))
                """)
            recordRow = try db.statement("SELECT ever_deleted FROM records WHERE id = ?1")
            annotationRow = try db.statement("SELECT ever_deleted FROM annotations WHERE key = ?1")
            codeRow = try db.statement("SELECT ever_deleted FROM codes WHERE id = ?1")
        }
    }

    private func statements() throws -> LogStatements {
        if let prepared { return prepared }
        let made = try LogStatements(db)
        prepared = made
        return made
    }

    // MARK: - The log and its keys, as a write sees them

    /// Appends `c` to the log; `current` when it is its field's winner.
    /// Returns whether `c` is the first logged change of its entity. The
    /// head it moves is kept in the write's scope, saved when the write
    /// ends (outside a write, at once).
    @discardableResult
    func appendToLog(_ c: Change, hash: [UInt8], current: Bool, scope: inout WriteScope?) throws -> Bool {
        guard let (entity, first) = try numberedEntity(c.kind, c.entity, create: true, scope: &scope),
              let origin = try keys.node(c.id.origin, create: true) else {
            throw MarginError.corrupt("could not number \(c.kind.rawValue) \(c.entity) or node \(c.id.origin) in the log")
        }
        try changeLog.append(c, entity: entity, origin: origin, hash: hash, current: current)
        if scope?.fieldHistories.isEmpty == false {
            scope?.fieldHistories[FieldHistory.Key(entity: entity, field: c.field)]?.append(
                FieldHistory.Row(id: c.id, originKey: origin, stamp: c.stamp, supersedes: c.supersedes, current: current))
        }
        let author = NodeAuthors.named(by: c)
        if scope != nil {
            scope?.heads.set(c.id.origin, c.id.seq, tip: hash)
            if let author { scope?.nodeAuthors.take(origin: origin, seq: c.id.seq, name: author) }
        } else {
            try changeLog.saveHead(c.id.origin, c.id.seq)
            if let author {
                var authors = NodeAuthors()
                authors.take(origin: origin, seq: c.id.seq, name: author)
                try authors.save(db)
            }
        }
        return first
    }

    /// The log's number for an entity (see `LocalKeys`).
    func entityKey(_ kind: EntityKind, _ id: EntityID, create: Bool, scope: inout WriteScope?) throws -> Int64? {
        try numberedEntity(kind, id, create: create, scope: &scope)?.key
    }

    /// `entityKey`, and whether this call numbered the entity: then it had
    /// no logged change before, so it has no row either.
    ///
    /// An entity looked for in a write and not found is remembered (the
    /// last one) until the write ends: a new entity's first change asks for
    /// its number three times (its field, its deletion, its log row), each
    /// a descent of the random ids' index.
    private func numberedEntity(_ kind: EntityKind, _ id: EntityID, create: Bool, scope: inout WriteScope?) throws -> (key: Int64, made: Bool)? {
        if let key = keys.cachedEntity(kind, id) { return (key, false) }
        let ref = EntityRef(kind: kind, id: id)
        let missing = scope?.lastMissingEntity == ref
        let found = try keys.entity(kind, id, create: create, knownMissing: missing)
        if found == nil {
            scope?.lastMissingEntity = ref
        } else if missing {
            scope?.lastMissingEntity = nil
        }
        return found
    }
}

/// The store's side of the projector: each call gives it the write's scope.
extension Store {
    typealias FieldChange = Projector.FieldChange

    func fold(_ c: Change, hash: [UInt8]?, logged: Bool, field: [FieldChange]? = nil) throws {
        try projector.fold(c, hash: hash, logged: logged, field: field, scope: &scope)
    }

    func fieldChanges(_ kind: EntityKind, _ entity: EntityID, _ field: String, _ rows: Projector.FieldRows) throws -> [FieldChange] {
        try projector.fieldChanges(kind, entity, field, rows, scope: &scope)
    }

    /// Whether the field has a winner, without reading its value (a
    /// record's body can be long).
    func hasWinner(_ kind: EntityKind, _ entity: EntityID, _ field: String) throws -> Bool {
        try projector.hasWinner(kind, entity, field, scope: &scope)
    }

    public func winner(_ kind: EntityKind, _ entity: EntityID, _ field: String) throws -> Winner? {
        try projector.winner(kind, entity, field, scope: &scope)
    }

    /// The log's number for an entity (see `LocalKeys`).
    func entityKey(_ kind: EntityKind, _ id: EntityID, create: Bool) throws -> Int64? {
        try projector.entityKey(kind, id, create: create, scope: &scope)
    }

    /// Runs `body`, writing each entity's row once per run of consecutive
    /// changes to that entity (see `Projector.beginCoalescing`); the row is
    /// written when the run ends or `body` returns.
    func coalescingRows<T>(_ body: () throws -> T) throws -> T {
        guard projector.beginCoalescing() else { return try body() }
        defer { projector.endCoalescing() }
        let result = try body()
        try projector.flushPendingRow(scope: &scope)
        return result
    }

    func flushPendingRow() throws { try projector.flushPendingRow(scope: &scope) }

    func flushReindex() throws { try projector.flushReindex(scope: &scope) }
}
