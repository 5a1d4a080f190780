import Foundation

extension Store {
    /// A change named as the log shows it: `origin:seq`, the origin given
    /// by any unique prefix of its id.
    public func resolveChange(_ text: String) throws -> ChangeID {
        let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
        guard parts.count == 2, let seq = Int64(parts[1]), seq > 0, !parts[0].isEmpty else {
            throw MarginError.invalid("'\(Printable.line(text))' is not a change id (ORIGIN:SEQ, as `margin log` shows them)")
        }
        let origins = try versionVector().heads.keys.filter { $0.hex.hasPrefix(parts[0].lowercased()) }
        guard origins.count == 1, let origin = origins.first else {
            throw origins.isEmpty ? MarginError.notFound("no node id starts with '\(Printable.line(parts[0]))'")
                                  : MarginError.ambiguous("node id prefix '\(Printable.line(parts[0]))' is ambiguous: \(origins.sorted().map(\.hex).joined(separator: ", "))")
        }
        let id = ChangeID(origin: origin, seq: seq)
        guard try change(id) != nil else { throw MarginError.notFound("no change \(id) in the log") }
        return id
    }

    /// How many writes `undo --last N` can reach back.
    static let historyLength = 1000

    /// Notes a write of this node's (`write` calls it): a new step to undo,
    /// after which nothing undone can be redone.
    func recordWrite(from first: Int64, to last: Int64) throws {
        try db.run("DELETE FROM write_history WHERE undone = 1")
        try db.run("INSERT INTO write_history(origin, first, last) VALUES(?, ?, ?)", .node(node.id), .integer(first), .integer(last))
        try db.run("DELETE FROM write_history WHERE n <= (SELECT max(n) FROM write_history) - ?", .integer(Int64(Store.historyLength)))
    }

    /// This node's changes of its last write not undone.
    public func lastWrite() throws -> [ChangeID] {
        try writesToUndo(1).first ?? []
    }

    /// The last `count` writes of this node not undone, newest first.
    func writesToUndo(_ count: Int) throws -> [[ChangeID]] {
        try db.rows("SELECT origin, first, last FROM write_history WHERE undone = 0 AND origin = ? ORDER BY n DESC LIMIT ?",
                    .node(node.id), .integer(Int64(count))).compactMap { row in
            guard let origin = row[0].node, let first = row[1].int, let last = row[2].int, first <= last else { return nil }
            return (first...last).map { ChangeID(origin: origin, seq: $0) }
        }
    }

    /// Undoes this node's last `steps` writes, newest first, in one write;
    /// each can be redone (`redo`) until a new write is made. Returns the
    /// changes undone and the fields written.
    public func undoLast(_ steps: Int) throws -> (changes: Int, fields: Int) {
        guard steps >= 1 else { throw MarginError.invalid("the number of steps to undo must be at least 1") }
        let rows = try db.rows("SELECT n, origin, first, last FROM write_history WHERE undone = 0 AND origin = ? ORDER BY n DESC LIMIT ?",
                               .node(node.id), .integer(Int64(steps)))
        guard !rows.isEmpty else { throw MarginError.invalid("this store has no write of its own to undo") }
        guard rows.count == steps else {
            throw MarginError.invalid("this store has \(rows.count) write\(rows.count == 1 ? "" : "s") of its own to undo, not \(steps); nothing was undone")
        }
        var changes = 0, fields = 0
        recordsHistory = false
        defer { recordsHistory = true }
        try write {
            for row in rows {
                guard let n = row[0].int, let origin = row[1].node, let first = row[2].int, let last = row[3].int else { continue }
                let before = try head(of: node.id)
                fields += try undo((first...last).map { ChangeID(origin: origin, seq: $0) })
                changes += Int(last - first + 1)
                let after = try head(of: node.id)
                try db.run("UPDATE write_history SET undone = 1, undo_first = ?, undo_last = ? WHERE n = ?",
                           after > before ? .integer(before + 1) : .null, after > before ? .integer(after) : .null, .integer(n))
            }
        }
        return (changes, fields)
    }

    /// Redoes the last `steps` writes `undoLast` undid, the most recently
    /// undone first, by undoing their undo. One write.
    public func redo(_ steps: Int) throws -> (changes: Int, fields: Int) {
        guard steps >= 1 else { throw MarginError.invalid("the number of steps to redo must be at least 1") }
        let rows = try db.rows("SELECT n, undo_first, undo_last FROM write_history WHERE undone = 1 AND origin = ? ORDER BY undo_last DESC, n ASC LIMIT ?",
                               .node(node.id), .integer(Int64(steps)))
        guard !rows.isEmpty else { throw MarginError.invalid("nothing to redo: no undo since this store's last write") }
        guard rows.count == steps else {
            throw MarginError.invalid("there \(rows.count == 1 ? "is" : "are") \(rows.count) undone write\(rows.count == 1 ? "" : "s") to redo, not \(steps); nothing was redone")
        }
        var changes = 0, fields = 0
        recordsHistory = false
        defer { recordsHistory = true }
        try write {
            for row in rows {
                guard let n = row[0].int else { continue }
                if let first = row[1].int, let last = row[2].int, first <= last {
                    fields += try undo((first...last).map { ChangeID(origin: node.id, seq: $0) })
                    changes += Int(last - first + 1)
                }
                try db.run("UPDATE write_history SET undone = 0, undo_first = NULL, undo_last = NULL WHERE n = ?", .integer(n))
            }
        }
        return (changes, fields)
    }

    /// Undoes changes by writing their inverse as new changes, which sync
    /// like any other (nothing leaves the log). An entity the changes
    /// created is deleted; otherwise each field they set goes back to the
    /// value it had before the first of them, a field group (a span, a
    /// review) as a whole. Refused, changing nothing, when a field has been
    /// changed since by another change: undo that one first. Returns the
    /// number of fields written.
    @discardableResult
    public func undo(_ ids: [ChangeID]) throws -> Int {
        var changes: [Change] = []
        for id in ids { guard let c = try change(id) else { throw MarginError.notFound("no change \(id) in the log") }; changes.append(c) }
        guard !changes.isEmpty else { throw MarginError.invalid("nothing to undo") }
        // Per entity, per field: the earliest and the latest of the changes.
        struct Key: Hashable { var kind: EntityKind; var entity: EntityID }
        var fields: [Key: [String: (first: Change, last: Change)]] = [:]
        for c in changes.sorted(by: { $0.stamp < $1.stamp }) {
            let k = Key(kind: c.kind, entity: c.entity)
            if let seen = fields[k]?[c.field] { fields[k]?[c.field] = (seen.first, c) } else { fields[k, default: [:]][c.field] = (c, c) }
        }
        var written = 0
        let creators: [EntityKind: String] = [.record: "body", .annotation: "record", .code: "name"]
        try write {
            for (key, changed) in fields.sorted(by: { ($0.key.kind.rawValue, $0.key.entity) < ($1.key.kind.rawValue, $1.key.entity) }) {
                for (field, pair) in changed {
                    if let w = try winner(key.kind, key.entity, field), w.id != pair.last.id {
                        throw MarginError.invalid("cannot undo \(pair.last.id): \(key.kind.rawValue) \(key.entity.text.prefix(10)) \(field) was changed since, by \(w.id); undo that first (nothing was changed)")
                    }
                }
                // Created by these changes: the undo is a deletion.
                if let creator = creators[key.kind], let c = changed[creator], c.first.supersedes == nil {
                    if try !isDeleted(key.kind, key.entity) {
                        if key.kind == .record { try delete(record: key.entity.text) } else { try set(key.kind, key.entity, FieldSchema.deleted, .int(1)) }
                        written += 1
                    }
                    continue
                }
                func before(_ c: Change) throws -> FieldValue {
                    guard let s = c.supersedes else { return .null }
                    return try change(s)?.value ?? .null
                }
                var done = Set<String>()
                for (field, pair) in changed.sorted(by: { $0.key < $1.key }) where !done.contains(field) {
                    if let group = FieldSchema.group(of: key.kind, field: field) {
                        var values: [(String, FieldValue)] = []
                        for f in group {
                            if let p = changed[f] { values.append((f, try before(p.first))) } else { values.append((f, try winner(key.kind, key.entity, f)?.value ?? .null)) }
                            done.insert(f)
                        }
                        try setGroup(key.kind, key.entity, values, force: true)
                        written += values.count
                    } else {
                        if try set(key.kind, key.entity, field, try before(pair.first)) != nil { written += 1 }
                        done.insert(field)
                    }
                }
            }
        }
        return written
    }
}
