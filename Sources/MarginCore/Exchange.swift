import Foundation

/// The JSON Lines export format: one object a line, `"type"` first among
/// `code`, `record`, `annotation`, fields named as in the change log, absent
/// fields left out. Importing an export into an empty store gives a store with
/// the same digest.
extension Store {
    public static func jsonLine(_ object: [String: Any]) throws -> String {
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        return String(decoding: data, as: UTF8.self)
    }

    private func liveFields(_ kind: EntityKind, _ id: String) throws -> [String: FieldValue] {
        var out: [String: FieldValue] = [:]
        for row in try db.rows("SELECT field, value FROM fields WHERE kind = ? AND entity = ? AND value IS NOT NULL",
                               .text(kind.rawValue), .text(id)) {
            if let f = row[0].string, f != "deleted" { out[f] = try FieldValue(row[1]) }
        }
        return out
    }

    private func object(_ kind: EntityKind, _ id: String) throws -> [String: Any] {
        var obj: [String: Any] = ["type": kind.rawValue, "id": id]
        var meta: [String: String] = [:]
        for (field, value) in try liveFields(kind, id) {
            let v: Any
            switch value {
            case .int(let n): v = n
            case .text(let t): v = t
            case .null: continue
            }
            if field.hasPrefix(FieldSchema.metaPrefix) {
                meta[String(field.dropFirst(FieldSchema.metaPrefix.count))] = value.string
            } else {
                obj[field] = v
            }
        }
        if !meta.isEmpty { obj["meta"] = meta }
        return obj
    }

    /// Every live code, record and annotation, one JSON object a line.
    public func exportLines() throws -> [String] {
        var lines: [String] = []
        let groups: [(EntityKind, String)] = [
            (.code, "SELECT id FROM codes WHERE deleted = 0 AND name IS NOT NULL ORDER BY id"),
            (.record, "SELECT id FROM records WHERE deleted = 0 AND body IS NOT NULL ORDER BY id"),
            (.annotation, "SELECT id FROM annotations WHERE deleted = 0 AND record IS NOT NULL ORDER BY record, span_start, id"),
        ]
        for (kind, sql) in groups {
            for row in try db.rows(sql) {
                guard let id = row[0].string else { continue }
                lines.append(try Store.jsonLine(try object(kind, id)))
            }
        }
        return lines
    }

    public struct ExchangeCounts: Equatable, Sendable {
        public var records = 0, annotations = 0, codes = 0, unchanged = 0
    }

    /// Imports an export. The whole text is one transaction: a bad line
    /// leaves the store as it was.
    public func importJSONLines(_ text: String) throws -> ExchangeCounts {
        var counts = ExchangeCounts()
        try write {
            for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                let line = raw.trimmingCharacters(in: .whitespacesAndNewlines)
                if line.isEmpty { continue }
                do {
                    guard let obj = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                        throw MarginError.invalid("not a JSON object")
                    }
                    guard let typeName = obj["type"] as? String, let kind = EntityKind(rawValue: typeName), kind != .conflict else {
                        throw MarginError.invalid("\"type\" must be code, record or annotation")
                    }
                    let changed = try importObject(kind, obj)
                    if !changed { counts.unchanged += 1 } else {
                        switch kind {
                        case .record: counts.records += 1
                        case .annotation: counts.annotations += 1
                        case .code: counts.codes += 1
                        case .conflict: break
                        }
                    }
                } catch {
                    throw MarginError.invalid("line \(n + 1): \(MarginError.message(for: error))")
                }
            }
        }
        return counts
    }

    private func importObject(_ kind: EntityKind, _ obj: [String: Any]) throws -> Bool {
        var id = obj["id"] as? String
        var values: [(String, FieldValue)] = []
        for (key, raw) in obj where key != "type" && key != "id" && key != "meta" {
            guard let type = FieldSchema.type(of: kind, field: key), key != "deleted" else {
                throw MarginError.invalid("unknown \(kind.rawValue) field '\(key)'")
            }
            switch (type, raw) {
            case (.text, let s as String): values.append((key, .text(TextNormalization.nfc(s))))
            case (.int, let n as NSNumber) where Double(n.int64Value) == n.doubleValue && !(raw is Bool):
                values.append((key, .int(n.int64Value)))
            default: throw MarginError.invalid("field '\(key)' has the wrong type")
            }
        }
        if let meta = obj["meta"] {
            guard kind == .record, let m = meta as? [String: String] else { throw MarginError.invalid("\"meta\" must be an object of strings") }
            for (k, v) in m { values.append((FieldSchema.metaPrefix + k, .text(TextNormalization.nfc(v)))) }
        }
        let field = Dictionary(values, uniquingKeysWith: { a, _ in a })
        switch kind {
        case .record:
            guard let body = field["body"]?.string, !body.isEmpty else { throw MarginError.invalid("a record needs a body") }
            let derived = Store.recordID(body: body)
            if let given = id, given != derived { throw MarginError.invalid("record id \(given) does not match its body") }
            id = derived
        case .annotation:
            guard let given = id, Store.isEntityID(given) else { throw MarginError.invalid("an annotation needs a hexadecimal id") }
            guard let record = field["record"]?.string, let body = try winner(.record, record, "body")?.value.string, try !isDeleted(.record, record) else {
                throw MarginError.notFound("annotation \(given) refers to a record that is not in the store")
            }
            if let code = field["code"]?.string, try winner(.code, code, "name") == nil {
                throw MarginError.notFound("annotation \(given) refers to unknown code \(code)")
            }
            if let s = field["status"]?.string, ReviewStatus(rawValue: s) == nil { throw MarginError.invalid("unknown status '\(s)'") }
            let hasStart = field["start"] != nil, hasEnd = field["end"] != nil
            if hasStart || hasEnd {
                guard let s = field["start"]?.int, let e = field["end"]?.int, let quote = field["quote"]?.string else {
                    throw MarginError.invalid("annotation \(given) has an incomplete span")
                }
                let span = try Span(in: ScalarText(body), start: Int(s), end: Int(e))
                guard span.quote == quote else { throw MarginError.invalid("annotation \(given): the quote does not match the record at \(s)..\(e)") }
            }
        case .code:
            guard let given = id, Store.isEntityID(given) else { throw MarginError.invalid("a code needs a hexadecimal id") }
            guard let name = field["name"]?.string else { throw MarginError.invalid("a code needs a name") }
            try Store.checkCodeName(name)
            if let colour = field["colour"]?.string { try Store.checkColour(colour) }
        case .conflict:
            throw MarginError.invalid("conflicts are not imported")
        }
        guard let entity = id else { throw MarginError.invalid("missing id") }
        var changed = false
        if try isDeleted(kind, entity) { changed = try set(kind, entity, "deleted", .int(0)) != nil || changed }
        for (f, v) in values.sorted(by: { $0.0 < $1.0 }) {
            if try set(kind, entity, f, v) != nil { changed = true }
        }
        return changed
    }

    static func isEntityID(_ s: String) -> Bool {
        (8...64).contains(s.utf8.count) && s.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }
}
