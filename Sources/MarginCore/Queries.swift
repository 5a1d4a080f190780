import Foundation
import MarginCrypto
import MarginSQLite

/// Reads of the current state. Deleted entities are hidden everywhere.
extension Store {
    // MARK: - Ids

    /// Expands an id prefix among live entities of one kind, as git does
    /// with commit ids.
    public func resolve(_ prefix: String, kind: EntityKind) throws -> String {
        let p = prefix.lowercased()
        guard !p.isEmpty, LowerHex.matches(p) else {
            throw MarginError.notFound("no \(kind.rawValue) with id '\(prefix)' (ids are hexadecimal)")
        }
        // Each kind's live ids, in order. Annotations' rows are keyed by
        // number: their ids are read in order from the index of entities.
        let from: String, id: String
        switch kind {
        case .record: (from, id) = ("records WHERE deleted = 0 AND body IS NOT NULL AND", "id")
        case .annotation:
            (from, id) = ("entities e CROSS JOIN annotations a ON a.key = e.key WHERE e.kind = 'annotation' AND a.deleted = 0 AND a.record IS NOT NULL AND", "e.id")
        case .code: (from, id) = ("codes WHERE deleted = 0 AND name IS NOT NULL AND", "id")
        case .conflict: (from, id) = ("conflicts WHERE", "id")
        }
        let rows = try db.rows("SELECT \(id) FROM \(from) \(id) >= ? AND \(id) < ? ORDER BY \(id) LIMIT 6", .text(p), .text(p + "g"))
        let ids = rows.compactMap { $0[0].string }
        guard let first = ids.first else { throw MarginError.notFound("no \(kind.rawValue) with id '\(prefix)'") }
        guard ids.count == 1 else {
            throw MarginError.ambiguous("\(kind.rawValue) id '\(prefix)' is ambiguous: \(ids.prefix(5).joined(separator: ", "))\(ids.count > 5 ? ", …" : "")")
        }
        return first
    }

    /// A code by exact name, else by id prefix. Merged codes resolve to the
    /// code they were merged into.
    public func resolveCode(_ nameOrID: String) throws -> String {
        let name = TextNormalization.nfc(nameOrID)
        let byName = try db.rows("SELECT id, merged_into IS NOT NULL FROM codes WHERE name = ? AND deleted = 0 ORDER BY 2, id", .text(name))
        let live = byName.filter { $0[1].int == 0 }.compactMap { $0[0].string }
        let id: String
        if live.count > 1 {
            throw MarginError.ambiguous("code name '\(nameOrID)' is used by several codes: \(live.joined(separator: ", ")); use an id")
        } else if let only = live.first ?? byName.first?[0].string {
            id = only
        } else {
            do { id = try resolve(nameOrID, kind: .code) } catch MarginError.notFound(_) {
                let names = try db.rows("SELECT name FROM codes WHERE deleted = 0 AND merged_into IS NULL AND name IS NOT NULL").compactMap { $0[0].string }
                let hint = Nearest.hint(nameOrID, among: names)
                throw MarginError.notFound("no code named '\(nameOrID)'\(hint.isEmpty ? " (see `margin codes list`)" : hint)")
            }
        }
        return try effectiveCode(id)
    }

    /// Code links (`parent` or `merged_into`) as every node reads them. Two
    /// people's concurrent edits can close a cycle (each made a code the
    /// other's parent, or merged two codes into each other); in each cycle
    /// the link with the newest stamp is ignored, so every node shows the
    /// same tree whatever order the changes came in (PROTOCOL.md §3).
    public func codeLinks(_ field: String) throws -> (links: [String: String], ignored: [String: String]) {
        // Cached until this connection changes a code or another commits.
        let version = try db.scalar("PRAGMA data_version").int ?? 0
        if let cached = codeLinkCache[field], cached.version == version, cached.codeFolds == projector.codeFolds { return cached.value }
        let value = try computeCodeLinks(field)
        codeLinkCache[field] = (version, projector.codeFolds, value)
        return value
    }

    private func computeCodeLinks(_ field: String) throws -> (links: [String: String], ignored: [String: String]) {
        var links: [String: (target: String, stamp: Change.Stamp)] = [:]
        // Written against the log's own tables, not the `fields` view: SQLite
        // planned the view's five-table join on every first use, a sixth of
        // the instructions of a `margin show`.
        for row in try db.rows("""
            SELECT e.id, l.value, l.ms, l.ctr, o.id, l.seq
            FROM entities e JOIN log l ON l.entity = e.key JOIN nodes o ON o.key = l.origin JOIN codes c ON c.id = e.id
            WHERE e.kind = 'code' AND l.field = +? AND l.current = 1 AND l.value IS NOT NULL AND c.deleted = 0
            """, .text(field)) {
            guard let id = row[0].string, let target = row[1].string, let origin = row[4].node, let seq = row[5].int else { continue }
            links[id] = (target, Change.Stamp(hlc: HLC(milliseconds: row[2].int ?? 0, counter: row[3].int ?? 0), origin: origin, seq: seq))
        }
        var ignored: [String: String] = [:]
        // Each code has at most one link, so every cycle is found by walking
        // from each code, and each code is walked once (a walk stops at a
        // code an earlier walk finished): linear however deep the tree.
        // In each cycle the newest link is broken.
        var finished: Set<String> = []
        for start in links.keys.sorted() where !finished.contains(start) {
            var path: [String] = [], onPath: [String: Int] = [:]
            var current = start
            while onPath[current] == nil, !finished.contains(current), let next = links[current]?.target {
                onPath[current] = path.count
                path.append(current)
                current = next
            }
            finished.formUnion(path)
            guard let from = onPath[current] else { continue }
            let cycle = path[from...]
            guard let newest = cycle.max(by: { a, b in
                guard let x = links[a]?.stamp, let y = links[b]?.stamp else { return a < b }
                return x < y
            }) else { continue }
            ignored[newest] = links[newest]?.target
            links[newest] = nil
        }
        return (links.mapValues(\.target), ignored)
    }

    /// Follows `merged_into` to the code that stands for `id` now.
    public func effectiveCode(_ id: String) throws -> String {
        Store.followMerges(id, try codeLinks("merged_into").links)
    }

    /// The code `id` stands for under `merges` (code → code merged into),
    /// stopping at a code met twice: the one walk for every caller that
    /// reads the links once and follows them per annotation.
    static func followMerges(_ id: String, _ merges: [String: String]) -> String {
        var current = id
        var seen: Set<String> = [id]
        while let next = merges[current], seen.insert(next).inserted { current = next }
        return current
    }

    /// The ids whose annotations count as `code`: itself, codes merged into it,
    /// and its descendants.
    public func codeFamily(_ code: String, includeChildren: Bool) throws -> [String] {
        var below: [String: [String]] = [:]
        for (from, to) in try codeLinks("merged_into").links { below[to, default: []].append(from) }
        if includeChildren { for (child, parent) in try codeLinks("parent").links { below[parent, default: []].append(child) } }
        var family: Set<String> = [code]
        var frontier = [code]
        while let c = frontier.popLast() {
            for n in below[c] ?? [] where !family.contains(n) { family.insert(n); frontier.append(n) }
        }
        return family.sorted()
    }

    // MARK: - Records

    /// The fields tables group records by, for every live record, by id:
    /// one read of the rows' small columns instead of each record whole.
    public func recordFacets() throws -> [String: (place: String?, source: String?, published: String?)] {
        var out: [String: (place: String?, source: String?, published: String?)] = [:]
        try db.statement("SELECT id, place, source, published FROM records WHERE deleted = 0 AND body IS NOT NULL").forEach { s in
            if let id = s.text(0) { out[id] = (s.text(1), s.text(2), s.text(3)) }
            return true
        }
        return out
    }

    static let recordColumns = "id, title, source, published, place, url, author, editor, body, created_ms, updated_ms"

    func recordFrom(_ row: [SQLValue]) throws -> Record {
        guard let id = row[0].string else { throw MarginError.corrupt("record without id") }
        var meta: [String: String] = [:]
        for m in try db.rows("SELECT key, value FROM record_meta WHERE record = ?", .text(id)) {
            if let k = m[0].string, let v = m[1].string { meta[k] = v }
        }
        return Record(id: id, title: row[1].string, source: row[2].string, published: row[3].string, place: row[4].string,
                      url: row[5].string, author: row[6].string, editor: row[7].string, body: row[8].string ?? "",
                      meta: meta, created: row[9].int ?? 0, updated: row[10].int ?? 0)
    }

    public func record(_ id: String) throws -> Record? {
        let rows = try db.rows("SELECT \(Store.recordColumns) FROM records WHERE id = ? AND deleted = 0 AND body IS NOT NULL", .text(id))
        return try rows.first.map(recordFrom)
    }

    /// The body `record(id)` would hold, read alone: an export that writes
    /// a record's text and nothing else of it, or `search` cutting a hit's
    /// snippets from it, reads no metadata.
    public func recordBody(_ id: String) throws -> String? {
        var body: String?
        try db.statement("SELECT body FROM records WHERE id = ? AND deleted = 0 AND body IS NOT NULL").forEach([.text(id)]) { s in
            body = s.storageClass(0) == .text ? s.text(0) ?? "" : ""
            return false
        }
        return body
    }

    /// Each record `records()` lists, in its order, with its body: the
    /// order found first on the rows without their texts (a sort holding
    /// every report would hold the store's text), then each record read
    /// by its rowid.
    func forEachRecordBody(_ body: (_ id: String, _ text: String) throws -> Void) throws {
        var order: [Int64] = []
        try db.statement("SELECT r.rowid FROM records r WHERE r.deleted = 0 AND typeof(r.body) = 'text' ORDER BY \(Store.recordListOrder)").forEach { s in
            order.append(s.int(0))
            return true
        }
        let read = try db.statement("SELECT id, body FROM records WHERE rowid = ?")
        for rowid in order {
            var row: (String, String)?
            try read.forEach([.integer(rowid)]) { s in
                row = (s.text(0) ?? "", s.text(1) ?? "")
                return false
            }
            if let (id, text) = row { try body(id, text) }
        }
    }

    public struct RecordFilter: Sendable {
        public var code: String?
        public var status: ReviewStatus?
        public var text: String?
        public var limit: Int?
        /// Only this author's annotations are counted and filtered on
        /// (blind coding).
        public var onlyAuthor: String?
        /// Metadata filters: the place, source or report author contains
        /// the text (either script); published on or after `since`, on or
        /// before `until` (dates as the importer stores them, YYYY-MM-DD…;
        /// a shorter `until` such as 2022-11 takes the whole month).
        public var place: String?, source: String?, reportAuthor: String?
        public var since: String?, until: String?
        /// How many matching records to pass over before the first returned
        /// (a page of a long list).
        public var offset: Int = 0
        /// Records this coder coded (an annotation of theirs, not a
        /// suggestion), and records this coder marked done or did not.
        public var codedBy: String?, doneBy: String?, notDoneBy: String?
        public init(code: String? = nil, status: ReviewStatus? = nil, text: String? = nil, limit: Int? = nil) {
            self.code = code; self.status = status; self.text = text; self.limit = limit
        }
    }

    public struct RecordSummary: Equatable, Sendable {
        public var id: String
        public var title: String?
        public var published: String?
        public var place: String?
        public var annotations: Int
        public var open: Int
        /// The first words of the body, for a record without a title.
        public var opening: String? = nil
    }

    /// Records matching every given filter: coded with `code` (or a code
    /// merged into it or below it), holding an annotation in `status`, or
    /// containing `text` (script-insensitive).
    public func records(_ filter: RecordFilter = RecordFilter()) throws -> [RecordSummary] {
        let (conditions, values, authorCondition) = try recordSelection(filter)
        var sql = Store.recordListSQL(conditions, annotationCondition: authorCondition)
        if filter.limit != nil || filter.offset > 0 { sql += " LIMIT \(max(0, filter.limit ?? -1)) OFFSET \(max(0, filter.offset))" }
        var out: [RecordSummary] = []
        try db.statement(sql).forEach(values) { s in
            out.append(RecordSummary(id: s.text(0) ?? "", title: s.text(1), published: s.text(2), place: s.text(3),
                                     annotations: Int(s.int(4)), open: Int(s.int(5)),
                                     opening: s.text(6).map { String($0.split(whereSeparator: \.isNewline).first ?? "") }))
            return true
        }
        return out
    }

    /// How many records `records(filter)` would list without its limit and
    /// offset: a page's "of N".
    public func recordCount(_ filter: RecordFilter = RecordFilter()) throws -> Int {
        let (conditions, values, _) = try recordSelection(filter)
        return Int(try db.statement("SELECT count(*) FROM records r WHERE \(conditions.joined(separator: " AND "))").all(values).first?.first?.int ?? 0)
    }

    /// The conditions on `records r` that select what `filter` asks for,
    /// their values, and the condition on annotations of blind coding.
    private func recordSelection(_ filter: RecordFilter) throws -> ([String], [SQLValue], String?) {
        // typeof() is read from the row header; `body IS NOT NULL` would load
        // every report's text from its overflow pages.
        var conditions = ["r.deleted = 0", "typeof(r.body) = 'text'"]
        var values: [SQLValue] = []
        var annotationConditions = ["a.record = r.id", "a.deleted = 0"]
        let authorCondition = filter.onlyAuthor.map { "a.author = '\($0.replacingOccurrences(of: "'", with: "''"))'" }
        if let authorCondition { annotationConditions.append(authorCondition) }
        if let code = filter.code {
            let family = try codeFamily(code, includeChildren: true)
            annotationConditions.append("a.code IN (\(family.map { _ in "?" }.joined(separator: ",")))")
            values += family.map { .text($0) }
        }
        if let status = filter.status {
            annotationConditions.append("\(Store.effectiveStatusSQL) = ?")
            values.append(.text(status.rawValue))
        }
        if filter.code != nil || filter.status != nil {
            conditions.append("EXISTS (SELECT 1 FROM annotations a WHERE \(annotationConditions.joined(separator: " AND ")))")
        }
        if let coder = filter.codedBy {
            conditions.append("EXISTS (SELECT 1 FROM annotations a WHERE a.record = r.id AND a.deleted = 0 AND a.author = ? AND a.status <> 'suggested')")
            values.append(.text(coder))
        }
        if let coder = filter.doneBy { conditions.append("EXISTS (SELECT 1 FROM record_done d WHERE d.record = r.id AND d.coder = ?)"); values.append(.text(coder)) }
        if let coder = filter.notDoneBy { conditions.append("NOT EXISTS (SELECT 1 FROM record_done d WHERE d.record = r.id AND d.coder = ?)"); values.append(.text(coder)) }
        if let since = filter.since { conditions.append("r.published >= ?"); values.append(.text(since)) }
        if let until = filter.until { conditions.append("substr(r.published, 1, \(until.utf8.count)) <= ?"); values.append(.text(until)) }
        let metadata = [("place", filter.place), ("source", filter.source), ("author", filter.reportAuthor)].compactMap { f, v in v.map { (f, ScriptFolding.fold($0)) } }
        if !metadata.isEmpty {
            var ids: [String] = []
            let sql = "SELECT id, \(metadata.map(\.0).joined(separator: ", ")) FROM records WHERE deleted = 0 AND typeof(body) = 'text'"
            for row in try db.rows(sql) {
                let matches = metadata.enumerated().allSatisfy { i, m in row[i + 1].string.map { ScriptFolding.fold($0).contains(m.1) } ?? false }
                if matches, let id = row[0].string { ids.append(id) }
            }
            conditions.append("r.id IN (SELECT value FROM json_each(?))")
            values.append(.text(Store.jsonArray(ids)))
        }
        if let text = filter.text {
            var ids: [String] = []
            try forEachSearchHit(text) { ids.append($0.record); return true }
            conditions.append("r.id IN (SELECT value FROM json_each(?))")
            values.append(.text(Store.jsonArray(ids)))
        }
        return (conditions, values, authorCondition)
    }

    /// The query behind `margin list` (public so the benchmark can give
    /// `sqlite3` exactly the same SQL).
    public static func recordListSQL(_ conditions: [String] = ["r.deleted = 0", "typeof(r.body) = 'text'"], annotationCondition: String? = nil) -> String {
        let only = annotationCondition.map { " AND " + $0 } ?? ""
        return """
        SELECT r.id, r.title, r.published, r.place,
            (SELECT count(*) FROM annotations a WHERE a.record = r.id AND a.deleted = 0\(only)),
            (SELECT count(*) FROM annotations a WHERE a.record = r.id AND a.deleted = 0 AND \(effectiveStatusSQL) = 'open'\(only)),
            CASE WHEN r.title IS NULL THEN substr(r.body, 1, 40) END
        FROM records r WHERE \(conditions.joined(separator: " AND "))
        ORDER BY \(recordListOrder)
        """
    }

    /// How records are listed: newest publication first, then by title and id.
    static let recordListOrder = "coalesce(r.published, '') DESC, r.title, r.id"

    static func jsonArray(_ strings: [String]) -> String {
        (try? JSONText.encode(strings)) ?? "[]"
    }

    // MARK: - Annotations

    /// What a review of annotation `a` would record now (see `reviewSignature`).
    static let currentSignatureSQL = ["code", "start", "value"].map {
        "coalesce((SELECT f.origin || ':' || f.seq FROM fields f WHERE f.kind = 'annotation' AND f.entity = a.id AND f.field = '\($0)'), '-')"
    }.joined(separator: " || '/' || ")

    /// An accepted or rejected annotation whose code, span or value changed
    /// after (or concurrently with) its review. Projected into the
    /// annotation's `stale` column by the projector (`refreshStaleReview`),
    /// which readers use instead: it is asked of every annotation.
    /// A CASE, not an AND: SQLite evaluates both sides of an AND in a
    /// result column, so the three look-ups would run for every annotation,
    /// reviewed or not; a CASE's condition is tested first.
    static let staleReviewSQL = "(CASE WHEN a.status <> 'open' AND a.reviewed IS NOT NULL THEN a.reviewed <> \(currentSignatureSQL) ELSE 0 END)"

    /// The condition that finds annotation `a` by its id (one parameter):
    /// through the index of entities, since its row is keyed by number
    /// (`Projector.keyedByNumber`).
    static let annotationByID = "a.key = (SELECT key FROM entities WHERE kind = 'annotation' AND id = ?)"

    /// The status a person sees: a stale review counts as open.
    public static let effectiveStatusSQL = "(CASE WHEN a.stale THEN 'open' ELSE a.status END)"

    static let annotationColumns = """
        a.id, a.record, a.code, c.name, a.span_start, a.span_end, a.quote, a.prefix, a.suffix, a.value, a.note,
        a.status, a.comment, a.reviewer, a.author, a.created_ms, a.updated_ms, a.status, a.stale, a.reviewed
        """

    /// `annotationColumns` in the same places, with only what locates an
    /// annotation read (the rest NULL): no code row joined.
    static let locatedAnnotationColumns = """
        a.id, a.record, a.code, NULL, a.span_start, a.span_end, a.quote, a.prefix, a.suffix, NULL, NULL,
        a.status, NULL, NULL, a.author, NULL, NULL, a.status, a.stale, NULL
        """

    /// Turns `annotationColumns` rows into annotations, with each code
    /// shown as the code it is merged into: the merge links read once per
    /// query and each merged code's name once, not per annotation.
    struct AnnotationReader {
        let store: Store
        let merges: [String: String]
        var names: [String: String?] = [:]

        init(_ store: Store) throws {
            self.store = store
            merges = try store.codeLinks("merged_into").links
        }

        /// The annotation in the statement's current row (`annotationColumns`),
        /// read column by column: not made a row of values first, which cost
        /// a whole-store listing an array and a value per column.
        mutating func annotation(_ s: Statement) throws -> Annotation {
            // As `SQLValue`'s readings: a text or an integer, else nil.
            func string(_ i: Int) -> String? { s.storageClass(i) == .text ? s.text(i) : nil }
            func int(_ i: Int) -> Int64? { s.storageClass(i) == .integer ? s.int(i) : nil }
            var span: Span?
            if let start = int(4), let end = int(5) {
                span = Span(start: Int(start), end: Int(end), quote: string(6) ?? "", prefix: string(7) ?? "", suffix: string(8) ?? "")
            }
            var code = string(2)
            var codeName = string(3)
            if let c = code, merges[c] != nil {
                let effective = Store.followMerges(c, merges)
                if effective != c {
                    code = effective
                    if names[effective] == nil {
                        names[effective] = .some(try store.db.scalar("SELECT name FROM codes WHERE id = ?", .text(effective)).string)
                    }
                    codeName = names[effective] ?? nil
                }
            }
            return Annotation(id: string(0) ?? "", record: string(1) ?? "", code: code, codeName: codeName, span: span,
                              value: string(9), note: string(10),
                              // A stale review shows as open (`effectiveStatusSQL`), decided
                              // here from the stale column: SQLite would run the test twice.
                              status: int(18) == 1 ? .open : string(11).flatMap(ReviewStatus.init(rawValue:)) ?? .open,
                              comment: string(12), reviewer: string(13), author: string(14),
                              created: int(15) ?? 0, updated: int(16) ?? 0,
                              staleReview: int(18) == 1 ? string(17).flatMap(ReviewStatus.init(rawValue:)) : nil,
                              reviewed: string(19))
        }
    }

    /// A live annotation; with `includingDeleted`, also one that is deleted
    /// (to show what a conflict is about).
    public func annotation(_ id: String, includingDeleted: Bool = false) throws -> Annotation? {
        var reader = try AnnotationReader(self)
        var found: Annotation?
        try db.statement("""
            SELECT \(Store.annotationColumns) FROM annotations a LEFT JOIN codes c ON c.id = a.code
            WHERE \(Store.annotationByID) AND (a.deleted = 0 OR ?) AND a.record IS NOT NULL
            """).forEach([.text(id), .integer(includingDeleted ? 1 : 0)]) { s in
            found = try reader.annotation(s)
            return false
        }
        return found
    }

    /// What changed since a stale review: for code, span and value whose
    /// winning change is not the one reviewed, the reviewed value and the
    /// current one (the span as its quote).
    public func reviewDrift(_ a: Annotation) throws -> [(field: String, then: String, now: String)] {
        guard a.staleReview != nil, let reviewed = a.reviewed else { return [] }
        let ids = reviewed.split(separator: "/").map(String.init)
        var out: [(String, String, String)] = []
        for (i, field) in ["code", "start", "value"].enumerated() where i < ids.count {
            let current = try winner(.annotation, EntityID(stored: a.id), field)
            if current?.id.description ?? "-" == ids[i] { continue }
            func shown(_ c: Change?) throws -> String {
                guard let c else { return "(none)" }
                switch field {
                case "code": return try c.value.string.flatMap { try db.scalar("SELECT name FROM codes WHERE id = ?", .text($0)).string } ?? "(none)"
                case "start": return try groupValue("quote", of: c)?.string.map { "\"\($0)\"" } ?? "(none)"
                default: return c.value == .null ? "(none)" : c.value.description
                }
            }
            let then = try ChangeID(ids[i]).flatMap { try change($0) }
            let now = try current.flatMap { try change($0.id) }
            out.append((field == "start" ? "span" : field, try shown(then), try shown(now)))
        }
        return out
    }

    /// Annotations of one record, or of all records, filtered; spans in body
    /// order. `limit`: the first that many (in that order), read alone.
    public func annotations(record: String? = nil, code: String? = nil, status: ReviewStatus? = nil, limit: Int? = nil) throws -> [Annotation] {
        var out: [Annotation] = []
        try forEachAnnotation(record: record, code: code, status: status, limit: limit) { out.append($0); return true }
        return out
    }

    /// The annotations `annotations` returns, handed to `body` one at a
    /// time as they are read (false stops): whole-store outputs hold one
    /// annotation, not the store's.
    /// `exportOrder`: in the order exports write them (`exportOrder(_:)`):
    /// by record, then span, then id.
    /// `coding`: only these coders' coding (`Annotation.layer`: their
    /// annotations that are not suggestions), chosen in SQL.
    public func forEachAnnotation(record: String? = nil, code: String? = nil, status: ReviewStatus? = nil, limit: Int? = nil,
                                  coding: Set<String>? = nil, exportOrder: Bool = false,
                                  _ body: (Annotation) throws -> Bool) throws {
        try forEachAnnotation(record: record, code: code, status: status, limit: limit, coding: coding, exportOrder: exportOrder,
                              locatedOnly: false, body)
    }

    /// `forEachAnnotation`, and with `locatedOnly` only what places a code
    /// on a text is read: id, record, code, span with its quote and
    /// context, author and status. The code's name, value, note, review
    /// and times are left empty (an export of spans alone reads 8 of 20
    /// columns, and no code row).
    func forEachAnnotation(record: String? = nil, code: String? = nil, status: ReviewStatus? = nil, limit: Int? = nil,
                           coding: Set<String>? = nil, exportOrder: Bool = false, locatedOnly: Bool,
                           _ body: (Annotation) throws -> Bool) throws {
        let (conditions, values) = try annotationConditions(record: record, code: code, status: status, coding: coding)
        let sql = """
            SELECT \(locatedOnly ? Store.locatedAnnotationColumns + " FROM annotations a"
                                  : Store.annotationColumns + " FROM annotations a LEFT JOIN codes c ON c.id = a.code")
            WHERE \(conditions.joined(separator: " AND "))
            ORDER BY \(Store.annotationOrder(exportOrder: exportOrder))
            """ + (limit.map { " LIMIT \(max(0, $0))" } ?? "")
        var reader = try AnnotationReader(self)
        try db.statement(sql).forEach(values) { s in try body(try reader.annotation(s)) }
    }

    /// The order `forEachAnnotation` reads in: by record, then span (spans
    /// in body order, record-level ones last), then creation, then id.
    private static func annotationOrder(exportOrder: Bool) -> String {
        "a.record, a.span_start IS NULL, a.span_start, a.span_end, \(exportOrder ? "" : "a.created_ms, ")a.id"
    }

    /// The annotations `forEachAnnotation` gives, in its order, as their
    /// id, author and record alone: for a walk that reads each annotation
    /// when it comes to it (`margin review`). Observed: `review` read every
    /// annotation whole to list the ids it walks, 2.5 s and 136 MB before
    /// its first item on a team's store of a million changes.
    public func forEachAnnotationID(record: String? = nil, code: String? = nil, status: ReviewStatus? = nil,
                                    _ body: (_ id: String, _ author: String?, _ record: String) throws -> Void) throws {
        let (conditions, values) = try annotationConditions(record: record, code: code, status: status, coding: nil)
        let sql = """
            SELECT a.id, a.author, a.record FROM annotations a WHERE \(conditions.joined(separator: " AND "))
            ORDER BY \(Store.annotationOrder(exportOrder: false))
            """
        try db.statement(sql).forEach(values) { s in
            try body(s.text(0) ?? "", s.text(1), s.text(2) ?? "")
            return true
        }
    }

    /// Live coded annotations counted in SQLite by record, code (as
    /// stored, not yet followed through merges) and layer (the author; a
    /// suggestion is no one's layer and is left out), with the conditions
    /// of `forEachAnnotation`: what a count of codes needs, without
    /// reading each annotation.
    func forEachCodedGroup(code: String?, _ body: (_ record: String, _ code: String, _ layer: String, _ count: Int) throws -> Void) throws {
        var (conditions, values) = try annotationConditions(record: nil, code: code, status: nil, coding: nil)
        conditions += ["a.code IS NOT NULL", "a.author IS NOT NULL", "\(Store.effectiveStatusSQL) IS NOT 'suggested'"]
        let sql = """
            SELECT a.record, a.code, a.author, count(*) FROM annotations a
            WHERE \(conditions.joined(separator: " AND ")) GROUP BY a.record, a.code, a.author
            """
        try db.statement(sql).forEach(values) { s in
            try body(s.text(0) ?? "", s.text(1) ?? "", s.text(2) ?? "", Int(s.int(3)))
            return true
        }
    }

    /// The WHERE conditions (and their values) of `forEachAnnotation`.
    private func annotationConditions(record: String?, code: String?, status: ReviewStatus?, coding: Set<String>?) throws -> ([String], [SQLValue]) {
        var conditions = ["a.deleted = 0", "a.record IS NOT NULL",
                          "EXISTS (SELECT 1 FROM records r WHERE r.id = a.record AND r.deleted = 0)"]
        var values: [SQLValue] = []
        if let record { conditions.append("a.record = ?"); values.append(.text(record)) }
        if let code {
            let family = try codeFamily(code, includeChildren: true)
            conditions.append("a.code IN (\(family.map { _ in "?" }.joined(separator: ",")))")
            values += family.map { .text($0) }
        }
        if let status { conditions.append("\(Store.effectiveStatusSQL) = ?"); values.append(.text(status.rawValue)) }
        if let coding {
            conditions.append("a.author IN (\(coding.map { _ in "?" }.joined(separator: ","))) AND coalesce(\(Store.effectiveStatusSQL), 'open') <> 'suggested'")
            values += coding.sorted().map { .text($0) }
        }
        return (conditions, values)
    }

    // MARK: - Codes

    /// Every code's full path (`mobilisation/party-members`, written by
    /// `CodePath`), by id: how tables and exports name codes. A parent cycle two people's edits
    /// made stops at the code met twice.
    public func codePaths() throws -> [String: String] {
        let codes = try self.codes(includeMerged: true, counted: false)
        let byID = Dictionary(uniqueKeysWithValues: codes.map { ($0.id, $0) })
        // Each code's last `maxCodeDepth` names, from its parent's: linear
        // however deep a tree a peer sent (a deeper path starts with `…`).
        var parts: [String: (names: [String], cut: Bool)] = [:]
        for c in codes where parts[c.id] == nil {
            var chain: [String] = [], seen: Set<String> = []
            var cursor: String? = c.id
            while let id = cursor, parts[id] == nil, let code = byID[id], seen.insert(id).inserted {
                chain.append(id)
                cursor = code.parent
            }
            var above = cursor.flatMap { parts[$0] } ?? ([], false)
            for id in chain.reversed() {
                var names = above.names + [byID[id]?.name ?? id]
                var cut = above.cut
                if names.count > Store.maxCodeDepth { names.removeFirst(); cut = true }
                above = (names, cut)
                parts[id] = above
            }
        }
        return parts.mapValues { ($0.cut ? "…/" : "") + CodePath.join($0.names) }
    }

    /// One code, its count left 0 (see `codes(counted:)`).
    public func code(_ id: String) throws -> Code? {
        try codes(includeMerged: true, counted: false).first { $0.id == id }
    }

    /// All live codes with the number of live annotations each holds
    /// (including those of codes merged into it).
    /// `counted`: false leaves every count 0 and reads no annotation: for
    /// callers that want names, colours or the tree (counting reads every
    /// annotation in the store).
    public func codes(includeMerged: Bool = false, counted: Bool = true) throws -> [Code] {
        let count = counted ? """
            (SELECT count(*) FROM annotations a WHERE a.code = c.id AND a.deleted = 0
                AND EXISTS (SELECT 1 FROM records r WHERE r.id = a.record AND r.deleted = 0))
            """ : "0"
        let rows = try db.rows("""
            SELECT c.id, c.name, c.description, c.colour, c.parent, c.merged_into, \(count)
            FROM codes c WHERE c.deleted = 0 AND c.name IS NOT NULL ORDER BY c.name, c.id
            """)
        let parents = try codeLinks("parent"), merges = try codeLinks("merged_into")
        var all = rows.map { row -> Code in
            let id = row[0].string ?? ""
            return Code(id: id, name: row[1].string ?? "", description: row[2].string, colour: row[3].string,
                        parent: parents.links[id], mergedInto: merges.links[id], count: Int(row[6].int ?? 0),
                        ignoredLink: parents.ignored[id].map { "parent \($0)" } ?? merges.ignored[id].map { "merge into \($0)" })
        }
        // Fold the counts of merged codes into the codes they now stand for.
        var extra: [String: Int] = [:]
        for c in all where c.mergedInto != nil {
            extra[try effectiveCode(c.id), default: 0] += c.count
        }
        for i in all.indices { all[i].count += extra[all[i].id] ?? 0 }
        return includeMerged ? all : all.filter { $0.mergedInto == nil }
    }

    // MARK: - Log, status, conflicts

    /// The change log, newest first.
    public func log(limit: Int?, entity: String? = nil) throws -> [Change] {
        var out: [Change] = []
        try db.statement(Store.logSQL(limit: limit, entity: entity != nil)).forEach(entity.map { [.text($0)] } ?? []) { s in
            out.append(try Store.change(from: s))
            return true
        }
        return out
    }

    /// The query `log` runs: newest first by the LWW order, read from the
    /// index by clock reading (`log_by_time`) when not for one entity, so
    /// that `-n N` reads N changes and the ties at the edge, not the log.
    static func logSQL(limit: Int?, entity: Bool) -> String {
        var rows = "SELECT \(Store.baseChangeColumns) FROM changes"
        // Every kind named, so that the entities' key (kind, id) finds the entity.
        if entity {
            rows += " WHERE kind IN (\(EntityKind.allCases.map { "'\($0.rawValue)'" }.joined(separator: ", "))) AND entity = ?"
        }
        let order = " ORDER BY " + Change.sqlHighestFirst()
        rows += order
        if let limit { rows += " LIMIT \(max(0, limit))" }
        // Each change's link to the one before is looked up for the rows
        // shown only, not for every row the sort reads.
        return """
            SELECT c.*, (SELECT p.hash FROM changes p WHERE p.origin = c.origin AND p.seq = c.seq - 1)
            FROM (\(rows)) c\(order)
            """
    }

    public struct Status: Equatable, Sendable {
        public var node: Node
        public var records: Int
        public var annotations: Int
        public var codes: Int
        public var open: Int
        public var accepted: Int
        public var rejected: Int
        /// Suggestions (`margin suggest`) not yet accepted or rejected.
        public var suggested: Int
        public var changes: Int
        public var ownChanges: Int
        public var openConflicts: Int
    }

    /// How many changes the store holds (every origin's head summed): any
    /// write here or arrival from a peer moves it, so a page that polls it
    /// knows when to read again.
    public func changeCount() throws -> Int {
        Int(try db.scalar("SELECT coalesce(sum(seq), 0) FROM heads").int ?? 0)
    }

    /// The live annotations counted by stored status, with how many of
    /// each are stale reviews (shown as open). Suggestions count by their
    /// stored status. Counted per record and status from the index
    /// `annotations_counted` first, so that each record is asked once (not
    /// once per annotation) whether it is deleted, through `records_alive`.
    /// MATERIALIZED keeps SQLite from flattening the count into the outer
    /// query, which would ask per annotation again.
    static let statusCountSQL = """
        WITH counted AS MATERIALIZED (
            SELECT a.record, a.status, count(*) AS n, sum(a.stale) AS stale FROM annotations a
            WHERE a.deleted = 0 AND a.record IS NOT NULL GROUP BY a.record, a.status)
        SELECT status, sum(n), sum(stale) FROM counted
        WHERE EXISTS (SELECT 1 FROM records r WHERE r.id = counted.record AND r.deleted = 0)
        GROUP BY status
        """

    public func status() throws -> Status {
        func count(_ sql: String, _ values: SQLValue...) throws -> Int { Int(try db.statement(sql).all(values).first?.first?.int ?? 0) }
        var stored: [String: (count: Int, stale: Int)] = [:]
        for row in try db.statement(Store.statusCountSQL).all() {
            stored[row[0].string ?? ""] = (Int(row[1].int ?? 0), Int(row[2].int ?? 0))
        }
        let total = stored.values.reduce(0) { $0 + $1.count }, stale = stored.values.reduce(0) { $0 + $1.stale }
        func shown(_ status: String) -> Int { (stored[status]?.count ?? 0) - (stored[status]?.stale ?? 0) }
        return Status(
            node: node,
            records: try count("SELECT count(*) FROM records WHERE deleted = 0 AND body IS NOT NULL"),
            annotations: total,
            codes: try count("SELECT count(*) FROM codes WHERE deleted = 0 AND name IS NOT NULL AND merged_into IS NULL"),
            open: (stored["open"]?.count ?? 0) + stale,
            accepted: shown("accepted"),
            rejected: shown("rejected"),
            suggested: stored["suggested"]?.count ?? 0,
            changes: try count("SELECT coalesce(sum(seq), 0) FROM heads"),
            ownChanges: Int(try head(of: node.id)),
            openConflicts: try count("SELECT count(*) FROM conflicts c WHERE \(Store.openConflictSQL)"))
    }

    /// A conflict with no resolution under its id or an alias: open.
    ///
    /// The settled conflicts are listed once, from the resolutions (by
    /// their ids, and through the aliases they were filed under), and each
    /// conflict is looked up in that list: the cost follows the conflicts
    /// and the resolutions, not their product. Before, one condition with
    /// `OR` per conflict (`f.entity = c.id OR f.entity IN (aliases of
    /// c.id)`) had SQLite go through every resolved conflict, and every
    /// alias for each, for every conflict (observed: `margin conflicts` ran
    /// for over a quarter of an hour once 20 of 4,700 conflicts were
    /// resolved; with 785 resolved the count took 4.2 s, then 20 ms as two
    /// look-ups per conflict, and 5 ms this way).
    static let openConflictSQL = """
        c.id NOT IN (
            SELECT f.entity FROM fields f WHERE f.kind = 'conflict' AND f.field = 'resolution' AND f.value IS NOT NULL
            UNION ALL
            SELECT a.id FROM fields f JOIN conflict_aliases a ON a.alias = f.entity
                WHERE f.kind = 'conflict' AND f.field = 'resolution' AND f.value IS NOT NULL)
        """

    /// The same question as `openConflictSQL`, asked of one conflict by
    /// key: its own id's resolution, then its aliases' (through
    /// `conflict_aliases_by_id`). For a page of conflicts, which asks it of
    /// the page alone, where listing every settled conflict first would
    /// cost more than the page (`conflicts -n 20`).
    static let openConflictByKeySQL = """
        NOT EXISTS (SELECT 1 FROM fields f WHERE f.kind = 'conflict' AND f.entity = c.id AND f.field = 'resolution' AND f.value IS NOT NULL)
        AND NOT EXISTS (SELECT 1 FROM conflict_aliases a JOIN fields f ON f.kind = 'conflict' AND f.entity = a.alias
            AND f.field = 'resolution' AND f.value IS NOT NULL WHERE a.id = c.id)
        """

    /// The entity holding conflict `c`'s resolution: its own id's or an
    /// alias's, the newest group when both have one (a deletion conflict
    /// filed by schema 1 under each racing edit). Looked up by key: by the
    /// conflict's id, and through its aliases by the conflict they name
    /// (`conflict_aliases_by_id`).
    static let resolutionEntitySQL = """
        (SELECT r.entity FROM (
            SELECT f.entity, f.ms, f.ctr, f.origin, f.seq FROM fields f
                WHERE f.kind = 'conflict' AND f.entity = c.id AND f.field = 'resolution' AND f.value IS NOT NULL
            UNION ALL
            SELECT f.entity, f.ms, f.ctr, f.origin, f.seq FROM conflict_aliases a JOIN fields f ON f.kind = 'conflict'
                AND f.entity = a.alias AND f.field = 'resolution' AND f.value IS NOT NULL WHERE a.id = c.id) r
         ORDER BY \(Change.sqlHighestFirst("r")) LIMIT 1)
        """

    /// The ids of open conflicts, sorted, without the two changes each
    /// names (what `conflicts` loads): for counts, the digest and a sync's news.
    /// `newestFirst`: in the order `conflicts` lists them.
    public func openConflictIDs(newestFirst: Bool = false) throws -> [String] {
        try db.statement("SELECT c.id FROM conflicts c WHERE \(Store.openConflictSQL) ORDER BY \(newestFirst ? "c.ms DESC, c.id" : "c.id")")
            .all([]).compactMap { $0[0].string }
    }

    public func conflict(_ id: String) throws -> Conflict? {
        try conflicts(includeResolved: true, id: id).first
    }

    /// Conflicts, newest first.
    public func conflicts(includeResolved: Bool, id: String? = nil) throws -> [Conflict] {
        var out: [Conflict] = []
        try forEachConflict(includeResolved: includeResolved, id: id) { out.append($0); return true }
        return out
    }

    /// Conflicts, newest first, each handed to `body` in turn (false
    /// stops): the two changes a conflict names are read only as it is
    /// handed on, and resolved conflicts are left out in SQL unless asked for.
    /// `limit`: the newest that many, taken in SQL (the first page of a
    /// long list reads no other conflict).
    public func forEachConflict(includeResolved: Bool, id: String? = nil, limit: Int? = nil, _ body: (Conflict) throws -> Bool) throws {
        // The resolution is the conflict entity's resolution group; for a
        // deletion conflict, the newest group under its id or an alias.
        let entity = Store.resolutionEntitySQL
        // An open conflict has no resolution group (`openConflictSQL`): its
        // three columns are NULL without looking.
        let resolution = includeResolved ? """
                (SELECT value FROM fields g WHERE g.kind = 'conflict' AND g.entity = \(entity) AND g.field = 'resolution'),
                (SELECT value FROM fields g WHERE g.kind = 'conflict' AND g.entity = \(entity) AND g.field = 'comment'),
                (SELECT value FROM fields g WHERE g.kind = 'conflict' AND g.entity = \(entity) AND g.field = 'resolver')
            """ : "NULL, NULL, NULL"
        var sql = """
            SELECT c.id, c.kind, c.entity, c.field, c.winner_origin, c.winner_seq, c.loser_origin, c.loser_seq, c.ms,
                \(resolution),
                \(Store.changeColumns(of: "w", withChainLink: false, withSeen: false)), \(Store.changeColumns(of: "l", withChainLink: false, withSeen: false))
            FROM conflicts c
            JOIN changes w ON w.origin = c.winner_origin AND w.seq = c.winner_seq
            JOIN changes l ON l.origin = c.loser_origin AND l.seq = c.loser_seq
            """
        var values: [SQLValue] = []
        var conditions: [String] = []
        if let id { conditions.append("c.id = ?"); values.append(.text(id)) }
        if !includeResolved { conditions.append(limit == nil && id == nil ? Store.openConflictSQL : Store.openConflictByKeySQL) }
        let condition = conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND ")
        sql += condition + " ORDER BY c.ms DESC, c.id"
        var counted = "SELECT count(*) FROM conflicts c" + condition
        if let limit {
            sql += " LIMIT \(max(0, limit))"
            counted = "SELECT count(*) FROM (SELECT 1 FROM conflicts c\(condition) LIMIT \(max(0, limit)))"
        }
        // The two changes each conflict names come in the same row (one
        // query, not two more per conflict; an inner join, as SQLite would
        // copy the whole log to join its view on the right of a LEFT JOIN).
        // Read whole before `body` runs: a statement stays open while it
        // runs otherwise.
        var found: [Conflict] = []
        var rows = 0
        let sides = 12, width = 14
        try db.statement(sql).forEach(values) { s in
            rows += 1
            guard let kind = s.text(1).flatMap(EntityKind.init(rawValue:)) else {
                throw MarginError.corrupt("conflict \(s.text(0) ?? "") has no kind")
            }
            let c = Conflict(id: s.text(0) ?? "", kind: kind, entity: s.text(2) ?? "", field: s.text(3) ?? "",
                             winner: try Store.change(from: s, at: sides), loser: try Store.change(from: s, at: sides + width),
                             detectedMilliseconds: s.isNull(8) ? 0 : s.int(8),
                             resolution: s.text(9), comment: s.text(10), resolver: s.text(11))
            if includeResolved || c.isOpen { found.append(c) }
            return true
        }
        // A conflict whose changes the log does not hold drops out of the
        // join: counted without it, it is named.
        if try db.statement(counted).all(values).first?.first?.int != Int64(rows) {
            let missing = try db.statement("""
                SELECT c.id FROM conflicts c\(condition.isEmpty ? " WHERE " : condition + " AND ")
                    (NOT EXISTS (SELECT 1 FROM changes w WHERE w.origin = c.winner_origin AND w.seq = c.winner_seq)
                     OR NOT EXISTS (SELECT 1 FROM changes l WHERE l.origin = c.loser_origin AND l.seq = c.loser_seq))
                """).all(values).first?.first?.string
            throw MarginError.corrupt("conflict \(missing ?? "?") names changes the log does not hold")
        }
        for c in found { guard try body(c) else { return } }
    }

    // MARK: - Digest

    /// A hash of the visible state: the field values of every live record,
    /// annotation and code, and the ids of open conflicts. Two stores with the
    /// same digest show the same thing. Times are left out, so an export
    /// imported elsewhere has the digest of its source.
    public func digest() throws -> String {
        var h = SHA256()
        func put(_ s: String) { h.update("\(s.utf8.count):"); h.update(s) }
        try db.statement("""
            SELECT f.kind, f.entity, f.field, f.value FROM fields f
            WHERE f.kind IN ('record', 'annotation', 'code') AND f.field <> 'deleted' AND f.value IS NOT NULL
              AND NOT EXISTS (SELECT 1 FROM fields d WHERE d.kind = f.kind AND d.entity = f.entity AND d.field = 'deleted' AND d.value = 1)
            ORDER BY f.kind, f.entity, f.field
            """).forEach { s in
            put(s.text(0) ?? ""); put(s.text(1) ?? ""); put(s.text(2) ?? "")
            switch s.column(3) {
            case .integer(let v): put("i"); put(String(v))
            case .text(let t): put("t"); put(t)
            default: put("n")
            }
            return true
        }
        h.update("conflicts\n")
        for id in try openConflictIDs() { put(id) }
        return h.finalize().hex
    }
}

/// A code's path, its names from the top of the tree joined by `/`: how
/// tables and every export name a code, and how W3C import reads one. A
/// `/` inside a name is written `\/` and a `\` as `\\`, so a code named
/// `a/b` is never read back as `b` under `a`.
public enum CodePath {
    public static func join(_ names: [String]) -> String {
        names.map { $0.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "/", with: "\\/") }.joined(separator: "/")
    }

    /// The names of a path. A `\` before any character takes it as it is;
    /// a trailing lone `\` is kept.
    public static func split(_ path: String) -> [String] {
        var names: [String] = [], current = "", escaped = false
        for c in path.unicodeScalars {
            if escaped { current.unicodeScalars.append(c); escaped = false; continue }
            switch c {
            case "\\": escaped = true
            case "/": names.append(current); current = ""
            default: current.unicodeScalars.append(c)
            }
        }
        if escaped { current.append("\\") }
        names.append(current)
        return names.filter { !$0.isEmpty }
    }
}
