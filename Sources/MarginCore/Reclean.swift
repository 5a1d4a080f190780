/// Cleaning stored reports again with this release's rules, re-anchoring
/// their annotations, and finding reports whose cleaned text is the same.
/// A record's id is the hash of the report as received (data schema 6), so
/// none of this changes an id.
extension Store {
    /// What `reclean` did to one record.
    public struct RecleanOutcome: Equatable, Sendable {
        public var record: String
        /// The body changed.
        public var cleaned = false
        /// Metadata fields the record lacked and the cleaner now found.
        public var filled: [String] = []
        /// Annotations placed anew: their quote found in the new body.
        public var moved: [String] = []
        /// Annotations whose quote could not be placed exactly (not found,
        /// or found more than once with nothing to tell the places apart):
        /// kept where they were, for a person to place.
        public var orphaned: [String] = []
        /// Why the record was left as it is, if it was.
        public var skipped: String?
    }

    /// Cleans each record again from the report as received (the body, for
    /// a record of a release before schema 6) and writes the new body, the
    /// metadata the record lacked, and every annotation's span placed anew
    /// by its quote, prefix and suffix: one write, which syncs. A span that
    /// still holds stays; an annotation made on an earlier body (a
    /// colleague's, synced after a reclean) is placed too. A record
    /// imported with `--raw` (its body is the text as received) is left.
    public func reclean(records ids: [String]) throws -> [RecleanOutcome] {
        try write {
            try ids.map { try reclean(record: $0) }
        }
    }

    private func reclean(record id: String) throws -> RecleanOutcome {
        guard let body = try winner(.record, EntityID(stored: id), "body")?.value.string, try !isDeleted(.record, EntityID(stored: id)) else {
            throw MarginError.notFound("no record \(id)")
        }
        var outcome = RecleanOutcome(record: id)
        let storedReceived = try winner(.record, EntityID(stored: id), "received")?.value.string
        var newBody = body
        if let received = storedReceived, Store.received(body).hasSameBytes(as: received) {
            outcome.skipped = "imported as received (--raw): nothing to clean"
        } else {
            let result = ReportCleaner.clean(storedReceived ?? body)
            let cleanedBody = TextNormalization.nfc(result.draft.body)
            if !TextNormalization.hasText(cleanedBody) {
                outcome.skipped = "the rules of now would leave no text"
            } else if !cleanedBody.hasSameBytes(as: body) {
                if storedReceived == nil {
                    // The body was the text as received: kept as such, so the
                    // id still names what it is the hash of.
                    guard Store.recordID(received: body) == id else {
                        outcome.skipped = "its body is not in normal form, so it cannot be kept as the text received"
                        return try anchor(&outcome, on: body)
                    }
                    try set(.record, EntityID(stored: id), "received", .text(Store.received(body)))
                }
                try set(.record, EntityID(stored: id), "body", .text(cleanedBody))
                newBody = cleanedBody
                outcome.cleaned = true
            }
            if let record = try self.record(id) {
                let d = result.draft
                for (field, value) in d.fields {
                    guard let value, !value.isEmpty, record.metadata(field) == nil else { continue }
                    try set(.record, EntityID(stored: id), field, .text(TextNormalization.nfc(value)))
                    outcome.filled.append(field)
                }
                for (key, value) in d.meta.sorted(by: { $0.key < $1.key }) where record.meta[key] == nil && !value.isEmpty {
                    try set(.record, EntityID(stored: id), FieldSchema.metaPrefix + key, .text(TextNormalization.nfc(value)))
                    outcome.filled.append(key)
                }
            }
        }
        return try anchor(&outcome, on: newBody)
    }

    /// Places every annotation of the record whose span does not hold in
    /// `body`; a review that held before the move holds after it.
    private func anchor(_ outcome: inout RecleanOutcome, on body: String) throws -> RecleanOutcome {
        let text = ScalarText(body)
        for a in try annotations(record: outcome.record) {
            guard let span = a.span else { continue }
            if Span.holds(text, start: span.start, end: span.end, quote: span.quote, prefix: span.prefix, suffix: span.suffix) == (true, true) { continue }
            guard let start = Store.place(span, in: text), let placed = try? Span(in: text, start: start, end: start + span.quote.unicodeScalars.count) else {
                outcome.orphaned.append(a.id)
                continue
            }
            let reviewHeld = a.status != .open && a.staleReview == nil && a.reviewed != nil
            try setSpan(of: a.id, placed)
            if reviewHeld, let reviewer = a.reviewer {
                try setGroup(.annotation, EntityID(stored: a.id), [("status", .text(a.status.rawValue)), ("comment", a.comment.map(FieldValue.text) ?? .null),
                                                 ("reviewer", .text(reviewer)), ("reviewed", .text(try reviewSignature(a.id)))])
            }
            outcome.moved.append(a.id)
        }
        return outcome
    }

    /// Where `span`'s quote stands in `text`: its one occurrence, or the one
    /// whose surroundings agree best with the stored prefix and suffix when
    /// that one is better than every other; nil when it cannot be told.
    static func place(_ span: Span, in text: ScalarText) -> Int? {
        let quote = Array(span.quote.unicodeScalars)
        let hits = text.occurrences(of: quote)
        if hits.count == 1 { return hits[0] }
        guard hits.count > 1 else { return nil }
        let prefix = Array(span.prefix.unicodeScalars), suffix = Array(span.suffix.unicodeScalars)
        func agreement(_ at: Int) -> Int {
            var n = 0
            while n < prefix.count, at - n - 1 >= 0, text.scalars[at - n - 1] == prefix[prefix.count - n - 1] { n += 1 }
            var m = 0
            let end = at + quote.count
            while m < suffix.count, end + m < text.count, text.scalars[end + m] == suffix[m] { m += 1 }
            return n + m
        }
        let scored = hits.map { (at: $0, score: agreement($0)) }.sorted { $0.score > $1.score }
        return scored[0].score > scored[1].score ? scored[0].at : nil
    }

    /// Annotations whose span does not hold in their record's body of now
    /// (placed on an earlier cleaning, or orphaned by a reclean), by record.
    public func unanchoredAnnotations(record: String? = nil) throws -> [Annotation] {
        var out: [Annotation] = []
        // Annotations come by record: one record's text is held at a time.
        var current: (record: String, text: ScalarText?)?
        try forEachAnnotation(record: record) { a in
            guard let span = a.span else { return true }
            if current?.record != a.record { current = (a.record, try currentBody(a.record).map { ScalarText($0, boundaries: false) }) }
            if let text = current?.text, !Store.isAnchored(span, in: text) { out.append(a) }
            return true
        }
        return out
    }

    /// The ids of those of `annotations` whose spans do not hold in `body`,
    /// a record's text of now as `record(_:)` gives it: what
    /// `unanchoredAnnotations(record:)` finds, for a reader that holds the
    /// record and its annotations already (`show`), without reading them
    /// again.
    public static func unanchored(_ annotations: [Annotation], in body: String) -> Set<String> {
        let text = ScalarText(body, boundaries: false)
        return Set(annotations.compactMap { a in a.span.flatMap { isAnchored($0, in: text) ? nil : a.id } })
    }

    /// Whether a span still holds in its record's text of now: its offsets
    /// in range and its quote, prefix and suffix there. Scalars are
    /// compared, so `text` needs no character boundaries (`boundaries:
    /// false` spares working them out over every body an export reads).
    static func isAnchored(_ span: Span, in text: ScalarText) -> Bool {
        span.end <= text.count && span.start < span.end
            && Span.holds(text, start: span.start, end: span.end, quote: span.quote, prefix: span.prefix, suffix: span.suffix) == (true, true)
    }

    /// A record's winning body (what spans are anchored in), or nil.
    func currentBody(_ record: String) throws -> String? {
        try winner(.record, EntityID(stored: record), "body")?.value.string
    }

    /// The records whose body is the same as this one's (a report reposted
    /// with other furniture, cleaned to the same text), this one left out.
    public func recordsWithSameBody(as id: String) throws -> [String] {
        try db.rows("""
            SELECT b.id FROM records a JOIN records b
              ON length(b.body) = length(a.body) AND substr(b.body, 1, 64) = substr(a.body, 1, 64) AND b.body = a.body
            WHERE a.id = ? AND b.id <> a.id AND b.deleted = 0 ORDER BY b.id
            """, .text(id)).compactMap { $0[0].string }
    }

    /// Every set of two or more live records with the same body, each set
    /// sorted, sets in order of their first id.
    public func duplicateRecords() throws -> [[String]] {
        var groups: [String: [String]] = [:]
        for row in try db.rows("""
            SELECT a.id, b.id FROM records a JOIN records b
              ON length(b.body) = length(a.body) AND substr(b.body, 1, 64) = substr(a.body, 1, 64) AND b.body = a.body AND b.id > a.id
            WHERE a.deleted = 0 AND b.deleted = 0
            """) {
            guard let a = row[0].string, let b = row[1].string else { continue }
            groups[a, default: [a]].append(b)
        }
        // A set of three shows as pairs from each member: keep the set of its least id.
        let members = Set(groups.values.flatMap { $0.dropFirst() })
        return groups.filter { !members.contains($0.key) }.values.map { Array(Set($0)).sorted() }.sorted { $0[0] < $1[0] }
    }
}
