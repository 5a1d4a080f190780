import Foundation
import Glibc
import MarginCrypto
import MarginSQLite

/// Conflicts: the conflict rule, and the `conflicts` table it fills as
/// changes fold, whichever member of a pair arrives second. It reads the
/// log and writes that table and nothing else; the projector calls it once
/// per folded change (`Store.fold`), and the readers of conflicts
/// (`Queries.swift`) and `resolve` (`Operations.swift`) read what it filed.
public struct ConflictFinder {
    let db: Database
    let changeLog: ChangeLog
    let keys: LocalKeys

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
    /// yet; a deletion arriving later finds the edits.
    ///
    /// A deletion reads only the edits its `seen` lacks, and an edit only
    /// the deletions its `deletionBase` had not seen, each by origin and
    /// sequence number: an entity deleted and restored, or edited,
    /// thousands of times costs each change what it raced, not its history.
    func detect(_ c: Change, siblings: [Projector.FieldChange], entityEverDeleted: Bool) throws {
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
            guard c.value == .int(1), let seen = c.seen, let entity = try entityKey(c.kind, c.entity) else { return }
            // The edits the deletion had not seen, and then only those
            // whose writers had not seen it.
            var bases: [ChangeID: Bool] = [:]
            try forEachEdit(of: entity, notCoveredBy: seen) { edit, stamp, base in
                if let base {
                    if bases[base] == nil { bases[base] = try saw(base, deletion: c.id) }
                    if bases[base] == true { return }
                }
                try addDeletionConflict(c.kind, c.entity, deletion: c.id, deletionMs: c.hlc.milliseconds, edit: edit, editStamp: stamp)
            }
        } else if entityEverDeleted, let entity = try entityKey(c.kind, c.entity) {
            // The deletions the edit's writer had not seen: none its view of
            // `deleted` (`deletionBase`) had seen, nor that view itself.
            // Of those, the ones whose writers had not seen the edit.
            let baseSeen = try c.deletionBase.map { try seen(of: $0) ?? VersionVector() }
            try forEachDeletion(of: entity, notCoveredBy: baseSeen) { deletion, ms, seen in
                if deletion == c.deletionBase { return }
                if let seen, seen.covers(c.id) { return }
                try addDeletionConflict(c.kind, c.entity, deletion: deletion, deletionMs: ms, edit: c.id, editStamp: c.stamp)
            }
        }
    }

    // MARK: - Racing deletions and edits, found by origin and sequence

    /// The log's number for an entity, if it has one.
    private func entityKey(_ kind: EntityKind, _ entity: EntityID) throws -> Int64? {
        if let key = keys.cachedEntity(kind, entity) { return key }
        return try keys.entity(kind, entity, create: false, knownMissing: false)?.key
    }

    /// What the writer of a change to `deleted` had seen.
    private func seen(of change: ChangeID) throws -> VersionVector? {
        try db.scalar("SELECT seen FROM changes WHERE origin = ? AND seq = ?", .node(change.origin), .integer(change.seq))
            .string.flatMap { VersionVector(parsing: $0) }
    }

    /// How many of an entity's changes to other fields are read in one scan
    /// before they are looked up by field and origin instead.
    static let editsScanned = 64
    /// How many of an entity's changes to `deleted` are read in one scan
    /// before they are looked up by origin instead.
    static let deletionsScanned = 16

    /// Each change to the entity's fields other than `deleted` that
    /// `seen` does not cover, with its stamp and its `deletionBase`.
    ///
    /// An entity with a few edits has them read in one scan. One with many
    /// (a value edited over and over, or a peer's long run of edits, each
    /// then followed by a deletion that had seen them all) has them read by
    /// field and origin, from the first sequence number `seen` lacks: a
    /// deletion costs what it raced, not the entity's history.
    private func forEachEdit(of entity: Int64, notCoveredBy seen: VersionVector,
                             _ body: (ChangeID, Change.Stamp, ChangeID?) throws -> Void) throws {
        let columns = """
            SELECT o.id, l.seq, l.ms, l.ctr, d.id, l.del_seq
            FROM log l JOIN nodes o ON o.key = l.origin LEFT JOIN nodes d ON d.key = l.del_origin
            """
        typealias Edit = (id: ChangeID, stamp: Change.Stamp, base: ChangeID?)
        func edit(_ s: Statement) -> Edit? {
            guard let origin = s.node(0) else { return nil }
            let id = ChangeID(origin: origin, seq: s.int(1))
            let base = s.node(4).flatMap { o in s.isNull(5) ? nil : ChangeID(origin: o, seq: s.int(5)) }
            return (id, Change.Stamp(hlc: HLC(milliseconds: s.int(2), counter: s.int(3)), origin: origin, seq: id.seq), base)
        }
        // The fields before `deleted` and after it: two ranges of the key
        // (one condition with OR is one scan of the entity, its deletions
        // too), read up to one more than a scan takes (a count of each
        // range first, then the scans, were four statements a deletion).
        var few: [Edit] = []
        var more = false
        for range in ["l.field < 'deleted'", "l.field > 'deleted'"] where !more {
            let scan = try db.statement(columns + " WHERE l.entity = ?1 AND \(range) LIMIT ?2")
            try scan.forEach([.integer(entity), .integer(Int64(Self.editsScanned - few.count + 1))]) { s in
                if let e = edit(s) { few.append(e) }
                return true
            }
            more = few.count > Self.editsScanned
        }
        if !more {
            for e in few where !seen.covers(e.id) { try body(e.id, e.stamp, e.base) }
            return
        }
        func each(_ s: Statement) throws -> Bool {
            guard let e = edit(s), !seen.covers(e.id) else { return true }
            try body(e.id, e.stamp, e.base)
            return true
        }
        // Each field, then each origin in it, found by a seek of the key
        // (a condition on the pair, `(field, origin) > (?, ?)`, is a scan
        // from the field on).
        let nextField = try db.statement("SELECT field FROM log WHERE entity = ?1 AND field > ?2 ORDER BY field LIMIT 1")
        let nextOrigin = try db.statement("""
            SELECT l.origin, o.id FROM log l JOIN nodes o ON o.key = l.origin
            WHERE l.entity = ?1 AND l.field = ?2 AND l.origin > ?3 ORDER BY l.origin LIMIT 1
            """)
        let range = try db.statement(columns + " WHERE l.entity = ?1 AND l.field = ?2 AND l.origin = ?3 AND l.seq > ?4")
        var field = ""
        while let found = try nextField.all([.integer(entity), .text(field)]).first?.first?.string {
            field = found
            if field == FieldSchema.deleted { continue }
            var origin: Int64 = -1
            while let row = try nextOrigin.all([.integer(entity), .text(field), .integer(origin)]).first,
                  let key = row[0].int, let id = row[1].node {
                origin = key
                try range.forEach([.integer(entity), .text(field), .integer(key), .integer(seen.heads[id] ?? 0)], each)
            }
        }
    }

    /// Each deletion of the entity (its `deleted` set to 1) that `seen`
    /// does not cover (nil: every deletion), with its time and what its
    /// writer had seen: by origin, from the first sequence number `seen`
    /// lacks, so an edit costs what it raced, not the entity's deletions.
    private func forEachDeletion(of entity: Int64, notCoveredBy seen: VersionVector?,
                                 _ body: (ChangeID, Int64, VersionVector?) throws -> Void) throws {
        // Most entities have a change or two to `deleted`: read in one
        // scan, in the key's order (by origin, then sequence), up to one
        // more than a scan takes. Looked up by origin, each edit of an
        // entity ever deleted took a statement per origin and one more
        // (at a million changes, a tenth of `check`'s rebuild).
        let scan = try db.statement("""
            SELECT o.id, l.seq, l.ms, l.seen, l.value = 1 FROM log l JOIN nodes o ON o.key = l.origin
            WHERE l.entity = ?1 AND l.field = 'deleted' LIMIT \(Self.deletionsScanned + 1)
            """)
        var few: [(id: ChangeID, ms: Int64, seen: String?, deletes: Bool)] = []
        try scan.forEach([.integer(entity)]) { s in
            if let origin = s.node(0) { few.append((ChangeID(origin: origin, seq: s.int(1)), s.int(2), s.text(3), s.int(4) == 1)) }
            return true
        }
        if few.count <= Self.deletionsScanned {
            for d in few where d.deletes && d.id.seq > seen?.heads[d.id.origin] ?? 0 {
                try body(d.id, d.ms, d.seen.flatMap { VersionVector(parsing: $0) })
            }
            return
        }
        let next = try db.statement("""
            SELECT l.origin, o.id FROM log l JOIN nodes o ON o.key = l.origin
            WHERE l.entity = ?1 AND l.field = 'deleted' AND l.origin > ?2 ORDER BY l.origin LIMIT 1
            """)
        let range = try db.statement("""
            SELECT seq, ms, seen FROM log WHERE entity = ?1 AND field = 'deleted' AND origin = ?2 AND seq > ?3 AND value = 1
            """)
        var after: Int64 = -1
        while let row = try next.all([.integer(entity), .integer(after)]).first, let origin = row[0].int, let id = row[1].node {
            after = origin
            try range.forEach([.integer(entity), .integer(origin), .integer(seen?.heads[id] ?? 0)]) { s in
                try body(ChangeID(origin: id, seq: s.int(0)), s.int(1), s.text(2).flatMap { VersionVector(parsing: $0) })
                return true
            }
        }
    }

    /// The change to `field` written with the same reading by the same
    /// origin, to the same entity, as another field of its group.
    func groupLead(_ field: String, of kind: EntityKind, _ entity: EntityID, stamp: Change.Stamp) throws -> ChangeID? {
        try db.scalar("""
            SELECT seq FROM changes WHERE origin = ? AND kind = ? AND entity = ? AND field = +? AND ms = ? AND ctr = ?
            ORDER BY seq LIMIT 1
            """, .node(stamp.origin), .text(kind.rawValue), .entity(entity), .text(field),
            .integer(stamp.hlc.milliseconds), .integer(stamp.hlc.counter)).int.map { ChangeID(origin: stamp.origin, seq: $0) }
    }

    /// The value `field` got in the same group write as `change`.
    func groupValue(_ field: String, of change: Change) throws -> FieldValue? {
        if field == change.field { return change.value }
        guard let id = try groupLead(field, of: change.kind, change.entity, stamp: change.stamp) else { return nil }
        return try changeLog.change(id)?.value
    }

    /// Whether a writer whose view of the entity's `deleted` field was `base`
    /// had seen `deletion`: base is the deletion itself, or a later change to
    /// `deleted` whose writer had it.
    private func saw(_ base: ChangeID?, deletion: ChangeID) throws -> Bool {
        guard let base else { return false }
        if base == deletion { return true }
        return try seen(of: base)?.covers(deletion) ?? false
    }

    /// A pair's conflict id: the same on every node, whichever change came first.
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
            """, .text(ConflictFinder.conflictID(winner, loser)), .text(c.kind.rawValue), .entity(c.entity), .text(field),
            .node(winner.origin), .integer(winner.seq), .node(loser.origin), .integer(loser.seq), .integer(ms))
    }

    /// Files, or widens, the conflict of a deletion with the edits it raced:
    /// its `other` is the racing edit with the highest stamp and its time
    /// the latest of them, so the row is the same whatever order they came in.
    private func addDeletionConflict(_ kind: EntityKind, _ entity: EntityID, deletion: ChangeID, deletionMs: Int64,
                                     edit: ChangeID, editStamp: Change.Stamp) throws {
        let id = ConflictFinder.deletionConflictID(deletion)
        let ms = max(deletionMs, editStamp.hlc.milliseconds)
        // Schema 1 filed one conflict per racing edit, under the pair's id; a
        // resolution written under that id still settles this conflict.
        try db.run("INSERT OR IGNORE INTO conflict_aliases(alias, id) VALUES(?, ?)", .text(ConflictFinder.conflictID(deletion, edit)), .text(id))
        if let row = try db.rows("""
            SELECT c.loser_origin, c.loser_seq, l.ms, l.ctr FROM conflicts c
            JOIN changes l ON l.origin = c.loser_origin AND l.seq = c.loser_seq WHERE c.id = ?
            """, .text(id)).first, let lo = row[0].node, let ls = row[1].int {
            let current = Change.Stamp(hlc: HLC(milliseconds: row[2].int ?? 0, counter: row[3].int ?? 0), origin: lo, seq: ls)
            let newer = Change.wins(editStamp, over: current)
            try db.run("""
                UPDATE conflicts SET loser_origin = CASE WHEN ?2 THEN ?3 ELSE loser_origin END,
                    loser_seq = CASE WHEN ?2 THEN ?4 ELSE loser_seq END, ms = max(ms, ?5) WHERE id = ?1
                """, .text(id), .integer(newer ? 1 : 0), .node(edit.origin), .integer(edit.seq), .integer(ms))
            return
        }
        try db.run("""
            INSERT INTO conflicts(id, kind, entity, field, winner_origin, winner_seq, loser_origin, loser_seq, ms)
            VALUES(?, ?, ?, 'deleted', ?, ?, ?, ?, ?)
            """, .text(id), .text(kind.rawValue), .entity(entity), .node(deletion.origin), .integer(deletion.seq),
            .node(edit.origin), .integer(edit.seq), .integer(ms))
    }

    /// What each side of a conflict wrote, in full, a line per field: the
    /// value, a whole group (span or review) field by field, or the
    /// deletion and the edit it raced. What `conflicts show`, `review` and
    /// the workspace show side by side.
    func sides(_ c: Conflict) throws -> (winner: [String], other: [String]) {
        if let group = FieldSchema.group(of: c.kind, field: c.field) {
            func lines(_ change: Change) throws -> [String] {
                try group.map { f in "\(f): \(try groupValue(f, of: change).map { $0 == .null ? "(none)" : $0.description } ?? "(none)")" }
            }
            return (try lines(c.winner), try lines(c.loser))
        }
        if c.field == FieldSchema.deleted {
            return (["deleted"], ["edited \(c.loser.field): \(c.loser.value)"])
        }
        return ([c.winner.value.description], [c.loser.value.description])
    }
}

extension Store {
    /// What each side of a conflict wrote, in full, a line per field (see
    /// `ConflictFinder.sides`).
    public func conflictSides(_ c: Conflict) throws -> (winner: [String], other: [String]) {
        try conflictFinder.sides(c)
    }

    /// The value `field` got in the same group write as `change`.
    public func groupValue(_ field: String, of change: Change) throws -> FieldValue? {
        try conflictFinder.groupValue(field, of: change)
    }
}
