import Foundation

extension Store {
    /// A change named as the log shows it: `origin:seq`, the origin given
    /// by any unique prefix of its id.
    public func resolveChange(_ text: String) throws -> ChangeID {
        let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
        guard parts.count == 2, let seq = Int64(parts[1]), seq > 0, !parts[0].isEmpty else {
            throw MarginError.invalid("'\(Printable.line(text))' is not a change id (ORIGIN:SEQ, as `margin log` shows them)")
        }
        let origins = try versionVector().heads.keys.filter { $0.hasPrefix(parts[0].lowercased()) }
        guard origins.count == 1, let origin = origins.first else {
            throw origins.isEmpty ? MarginError.notFound("no node id starts with '\(Printable.line(parts[0]))'")
                                  : MarginError.ambiguous("node id prefix '\(Printable.line(parts[0]))' is ambiguous: \(origins.sorted().joined(separator: ", "))")
        }
        let id = ChangeID(origin: origin, seq: seq)
        guard try change(id) != nil else { throw MarginError.notFound("no change \(id) in the log") }
        return id
    }

    /// This node's changes of its last write (`write` notes them).
    public func lastWrite() throws -> [ChangeID] {
        guard let text = try db.scalar("SELECT value FROM meta WHERE key = 'last_write'").string else { return [] }
        let parts = text.split(separator: ":").map(String.init)
        guard parts.count == 3, let from = Int64(parts[1]), let to = Int64(parts[2]), from <= to else { return [] }
        return (from...to).map { ChangeID(origin: parts[0], seq: $0) }
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
        struct Key: Hashable { var kind: EntityKind; var entity: String }
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
                        throw MarginError.invalid("cannot undo \(pair.last.id): \(key.kind.rawValue) \(key.entity.prefix(10)) \(field) was changed since, by \(w.id); undo that first (nothing was changed)")
                    }
                }
                // Created by these changes: the undo is a deletion.
                if let creator = creators[key.kind], let c = changed[creator], c.first.supersedes == nil {
                    if try !isDeleted(key.kind, key.entity) {
                        if key.kind == .record { try delete(record: key.entity) } else { try set(key.kind, key.entity, "deleted", .int(1)) }
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
