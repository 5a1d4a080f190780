import Foundation

/// The analysis tables (`margin table`, the workspace's frequency chart):
/// which annotations a table reads, how they are grouped, and the counts.
/// One place, so that the CLI and the workspace show the same numbers.
extension Store {
    /// What a table's rows are grouped by.
    public enum TableGroup: String, CaseIterable, Sendable { case record, place, source, month }

    /// The annotations a table reads: one layer at a time, never the sum
    /// of several coders' copies of the same figure. With `coder`, that
    /// coder's layer (`gold`: the adjudicated layer); without it, the gold
    /// layer when it holds annotations of the codes counted, else each
    /// coder's layer. Suggestions are no one's coding and never count.
    public func tableAnnotations(code: String? = nil, coder: String? = nil) throws -> [Annotation] {
        try requireTableCoder(coder)
        var annotations: [Annotation] = []
        try forEachAnnotation(code: code) { a in
            if a.code != nil && a.layer != nil { annotations.append(a) }
            return true
        }
        return tableLayers(annotations, coder: coder) { $0.layer }
    }

    /// Fails, naming it, for a coder with no layer here.
    private func requireTableCoder(_ coder: String?) throws {
        if let coder, try !(coders() + [Store.goldAuthor]).contains(coder) {
            throw MarginError.notFound("no annotations by a coder named '\(coder)'")
        }
    }

    /// The layers a table reads, of `items` in every layer: `coder`'s, else
    /// the gold layer when it holds any, else all of them.
    private func tableLayers<T>(_ items: [T], coder: String?, layer: (T) -> String?) -> [T] {
        if let coder { return items.filter { layer($0) == coder } }
        if items.contains(where: { layer($0) == Store.goldAuthor }) { return items.filter { layer($0) == Store.goldAuthor } }
        return items
    }

    /// Groups annotations for a table: each annotation's group by `by`
    /// (months are the first seven characters of the published date), and
    /// each code as the code it is merged into, by its full path.
    public struct TableGrouping {
        let by: TableGroup?
        let records: [String: (place: String?, source: String?, published: String?)]
        let paths: [String: String]
        let store: Store
        var effective: [String: String] = [:]

        public init(_ store: Store, by: TableGroup?) throws {
            self.store = store
            self.by = by
            records = by == nil || by == .record ? [:] : try store.recordFacets()
            paths = try store.codePaths()
        }

        public func group(_ a: Annotation) -> String { group(record: a.record) }

        /// The group of an annotation on `record`.
        public func group(record: String) -> String {
            guard let by else { return "" }
            let r = records[record]
            switch by {
            case .record: return record
            case .place: return r?.place ?? "(no place)"
            case .source: return r?.source ?? "(no source)"
            case .month: return r?.published.map { String($0.prefix(7)) } ?? "(no date)"
            }
        }

        /// The code's path, as the code it is merged into.
        public mutating func code(_ a: Annotation) -> String { code(id: a.code ?? "") }

        /// `code(_:)` of a code's id.
        public mutating func code(id code: String) -> String {
            if let known = effective[code] { return paths[known] ?? known }
            let found = (try? store.effectiveCode(code)) ?? code
            effective[code] = found
            return paths[found] ?? found
        }
    }

    /// One row of `table codes`: a layer's annotations of a code in a group.
    public struct CodeCount: Equatable, Sendable {
        public var layer: String
        public var group: String?
        public var code: String
        public var annotations: Int
        public var records: Int
    }

    /// Annotations and records per code, per layer (and group), sorted by
    /// layer, group and code.
    public func codeCounts(code: String? = nil, by: TableGroup? = nil, coder: String? = nil) throws -> [CodeCount] {
        try requireTableCoder(coder)
        var grouping = try TableGrouping(self, by: by)
        // Counted by SQLite per record, code and layer; the layers then
        // chosen as `tableAnnotations` chooses them.
        var groups: [(record: String, code: String, layer: String, n: Int)] = []
        try forEachCodedGroup(code: code) { groups.append(($0, $1, $2, $3)) }
        var counts: [String: [String: [String: (n: Int, records: Set<String>)]]] = [:]
        for row in tableLayers(groups, coder: coder, layer: { $0.layer }) {
            let g = grouping.group(record: row.record), p = grouping.code(id: row.code)
            counts[row.layer, default: [:]][g, default: [:]][p, default: (0, [])].n += row.n
            counts[row.layer]?[g]?[p]?.records.insert(row.record)
        }
        var rows: [CodeCount] = []
        for layer in counts.keys.sorted() {
            for g in (counts[layer] ?? [:]).keys.sorted() {
                for (c, v) in (counts[layer]?[g] ?? [:]).sorted(by: { $0.key < $1.key }) {
                    rows.append(CodeCount(layer: layer, group: by == nil ? nil : g, code: c, annotations: v.n, records: v.records.count))
                }
            }
        }
        return rows
    }
}
