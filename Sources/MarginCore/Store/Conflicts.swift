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
            guard c.value == .int(1), let seen = c.seen else { return }
            let edits = try db.rows("""
                SELECT origin, seq, ms, ctr, del_origin, del_seq FROM changes
                WHERE kind = ? AND entity = ? AND field <> 'deleted'
                """, .text(c.kind.rawValue), .entity(c.entity))
            for row in edits {
                guard let origin = row[0].node, let seq = row[1].int else { continue }
                let edit = ChangeID(origin: origin, seq: seq)
                if seen.covers(edit) { continue }
                let base = row[4].node.flatMap { o in row[5].int.map { ChangeID(origin: o, seq: $0) } }
                if try saw(base, deletion: c.id) { continue }
                let stamp = Change.Stamp(hlc: HLC(milliseconds: row[2].int ?? 0, counter: row[3].int ?? 0), origin: origin, seq: seq)
                try addDeletionConflict(c.kind, c.entity, deletion: c.id, deletionMs: c.hlc.milliseconds, edit: edit, editStamp: stamp)
            }
        } else if entityEverDeleted {
            let deletions = try db.rows("""
                SELECT origin, seq, ms, seen FROM changes
                WHERE kind = ? AND entity = ? AND field = 'deleted' AND value = 1
                """, .text(c.kind.rawValue), .entity(c.entity))
            for row in deletions {
                guard let origin = row[0].node, let seq = row[1].int else { continue }
                let deletion = ChangeID(origin: origin, seq: seq)
                if let seen = row[3].string.flatMap({ VersionVector(parsing: $0) }), seen.covers(c.id) { continue }
                if try saw(c.deletionBase, deletion: deletion) { continue }
                try addDeletionConflict(c.kind, c.entity, deletion: deletion, deletionMs: row[2].int ?? 0, edit: c.id, editStamp: c.stamp)
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
        guard let text = try db.scalar("SELECT seen FROM changes WHERE origin = ? AND seq = ?",
                                       .node(base.origin), .integer(base.seq)).string,
              let seen = VersionVector(parsing: text) else { return false }
        return seen.covers(deletion)
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
