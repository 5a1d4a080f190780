import Foundation

/// Working as a team: who coded what (an annotation's `author`, the name of
/// the node that made it), how far coders agree, where they differ, and the
/// adjudicated gold layer.
extension Store {
    /// The author of the gold layer: annotations `adjudicate` writes. No
    /// node may take this name (`Store.create`, `rename`).
    public static let goldAuthor = "gold"

    /// The coders of the store: every author of a live annotation that is
    /// coding (`Annotation.layer`), and every coder who marked a record
    /// done, gold excluded, in name order.
    public func coders() throws -> [String] {
        // `Annotation.layer` in SQL: the author of a live annotation that is
        // not a suggestion (one read of distinct names, not every annotation).
        var names = Set(try db.rows("""
            SELECT DISTINCT a.author FROM annotations a
            WHERE a.deleted = 0 AND a.record IS NOT NULL AND a.author IS NOT NULL AND a.status IS NOT 'suggested'
              AND EXISTS (SELECT 1 FROM records r WHERE r.id = a.record AND r.deleted = 0)
            """).compactMap { $0[0].string })
        for row in try db.rows("SELECT DISTINCT coder FROM record_done") { if let n = row[0].string { names.insert(n) } }
        return names.subtracting([Store.goldAuthor]).sorted()
    }

    // MARK: - Layers

    /// Fails unless this node may change `a`'s coding: its own annotation,
    /// one of the gold layer, or a suggestion (no one's coding yet). Another
    /// coder's annotation is theirs: changing it would credit them with what
    /// they did not code, in `agree`, `compare` and `adjudicate` alike.
    func requireOwnCoding(_ a: Annotation, _ action: String) throws {
        guard let author = a.author, author != node.name, author != Store.goldAuthor, a.status != .suggested else { return }
        throw MarginError.invalid("""
            annotation \(a.id.prefix(10)) is \(Printable.line(author))'s coding, and \(action) it would change what they coded: \
            review it instead (margin review \(a.id.prefix(10)) --reject --comment "…"), or copy it into your own layer (margin edit \(a.id.prefix(10)) --as-mine …)
            """)
    }

    /// Copies an annotation into this node's layer, with `edits` applied to
    /// the copy, in one write: the way to build on a colleague's coding
    /// without changing theirs. Returns the copy's id.
    @discardableResult
    public func copyAsMine(annotation id: String, _ e: AnnotationEdit = AnnotationEdit()) throws -> String {
        let a = try requireLiveAnnotation(id)
        let span: SpanRequest? = e.span ?? a.span.map { .range($0.start, $0.end) }
        let code = e.code ?? a.code, value = e.value ?? a.value, note = e.note ?? a.note
        if span == nil && code == nil && (note ?? "").isEmpty { throw MarginError.invalid("the copy would hold neither a code nor a note") }
        return try write { try annotate(record: a.record, code: code, span: span, value: value, note: note) }
    }

    /// A suggestion accepted becomes the accepting coder's own annotation
    /// (author this node, status open, as if they had made it), with `code`
    /// in place of the suggested one when given. A suggestion without a
    /// code cannot be accepted until one is chosen.
    func acceptSuggestion(_ a: Annotation, code: String?, comment: String?) throws {
        guard let chosen = code ?? a.code else {
            throw MarginError.invalid("suggestion \(a.id.prefix(10)) has no code: choose one to accept it (margin review \(a.id.prefix(10)) --accept --with-code CODE)")
        }
        try requireLiveCode(chosen)
        if let comment { try TextRules.requireText(comment, what: "the comment") }
        try write {
            if chosen != a.code { try set(.annotation, EntityID(stored: a.id), "code", .text(chosen)) }
            try set(.annotation, EntityID(stored: a.id), "author", .text(node.name))
            try setGroup(.annotation, EntityID(stored: a.id), [
                ("status", .text(ReviewStatus.open.rawValue)),
                ("comment", comment.flatMap { $0.isEmpty ? nil : FieldValue.text(TextNormalization.nfc($0)) } ?? .null),
                ("reviewer", .null), ("reviewed", .null),
            ], force: true)
        }
    }

    /// This coder's live annotation of `record` with the same code and span
    /// (or the same tag: code and no span), if any: the same coding twice,
    /// which the CLI refuses unless asked (`--again`).
    public func sameCoding(record: String, code: String, span: SpanRequest?) throws -> Annotation? {
        var located: Span?
        if let span {
            guard let body = try winner(.record, EntityID(stored: record), "body")?.value.string else { return nil }
            located = try SpanLocation.locate(span, in: scalarText(of: body))
        }
        return try annotations(record: record).first {
            $0.layer == node.name && $0.code == code && $0.span?.start == located?.start && $0.span?.end == located?.end
        }
    }

    /// Coding the same span with the same code a second time (or the same
    /// tag), refused unless asked for (`again`).
    public struct SameCoding: Error, Sendable {
        /// This coder's annotation that codes it already.
        public let existing: Annotation
    }

    /// A coder's coding, as `annotate` and `tag` make it (and the
    /// workspace): the value checked against the code's value type, and
    /// the same coding twice refused with `SameCoding` unless `again`.
    public func code(record: String, code: String, span: SpanRequest?, value: String?, note: String?, again: Bool) throws -> String {
        if !again, let same = try sameCoding(record: record, code: code, span: span) { throw SameCoding(existing: same) }
        try requireValue(value, fits: code)
        return try annotate(record: record, code: code, span: span, value: value, note: note)
    }

    // MARK: - Done marks

    /// Marks a record as coded by this node's coder (`done` true), or takes
    /// the mark back: the record field `done.<name>`, which syncs. `agree`
    /// counts a coder on exactly the records they marked done.
    public func markDone(record id: String, _ done: Bool = true, as coder: String? = nil) throws {
        guard try hasWinner(.record, EntityID(stored: id), "body"), try !isDeleted(.record, EntityID(stored: id)) else { throw MarginError.notFound("no record \(id)") }
        _ = try write { try set(.record, EntityID(stored: id), FieldSchema.donePrefix + (coder ?? node.name), done ? .int(1) : .null) }
    }

    /// The coders who marked `record` done, in name order.
    public func doneCoders(record id: String) throws -> [String] {
        try db.rows("SELECT coder FROM record_done WHERE record = ? ORDER BY coder", .text(id)).compactMap { $0[0].string }
    }

    /// Every live record's done marks: record → coders.
    public func doneMarks() throws -> [String: Set<String>] {
        var out: [String: Set<String>] = [:]
        for row in try db.rows("""
            SELECT d.record, d.coder FROM record_done d JOIN records r ON r.id = d.record
            WHERE r.deleted = 0 AND r.body IS NOT NULL
            """) {
            if let r = row[0].string, let c = row[1].string { out[r, default: []].insert(c) }
        }
        return out
    }

    // MARK: - Blind coding

    /// Blind coding: this store shows its own coder only their own layer
    /// (and suggestions they have to decide), so that coders code
    /// independently. A setting of this store alone, never synced.
    public var isBlind: Bool {
        get throws { try db.scalar("SELECT value FROM local_settings WHERE key = 'blind'").int == 1 }
    }

    public func setBlind(_ on: Bool) throws {
        try db.run("INSERT INTO local_settings(key, value) VALUES('blind', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                   .integer(on ? 1 : 0))
    }

    /// Whether this node's user may see `a` now: always, unless blind
    /// coding is on and `a` is another coder's (or gold's).
    public func isVisible(_ a: Annotation, blind: Bool) -> Bool { isVisible(author: a.author, blind: blind) }

    /// `isVisible` for an annotation known by its author alone.
    public func isVisible(author: String?, blind: Bool) -> Bool {
        !blind || author == nil || author == node.name
    }

    /// Checks a list of coders against the store's; nil means all of them.
    public func requireCoders(_ names: [String]?, atLeast: Int = 2) throws -> [String] {
        let known = try coders()
        let chosen = names ?? known
        for name in chosen where !known.contains(name) && name != Store.goldAuthor {
            throw MarginError.notFound("no annotations by a coder named '\(Printable.line(name))' (coders: \(known.isEmpty ? "none" : known.joined(separator: ", ")))")
        }
        guard Set(chosen).count >= atLeast else {
            throw MarginError.invalid("agreement needs at least \(atLeast) coders; this store has \(known.isEmpty ? "none" : known.joined(separator: ", "))")
        }
        return Array(Set(chosen)).sorted()
    }

    // MARK: - Agreement

    public struct AgreementReport: Sendable {
        /// One code's (or all codes') record-level tag agreement.
        public struct TagRow: Sendable {
            public var code: String
            /// Records two or more of the coders coded.
            public var units: Int
            /// Cohen's κ (two coders) or Fleiss' κ (more), over the records
            /// every coder coded.
            public var kappa: Agreement.Coefficient?
            /// Krippendorff's α (nominal), missing data allowed.
            public var alpha: Agreement.Coefficient?
            public var alphaInterval: (low: Double, high: Double)?
        }
        /// One code's (or all codes') span agreement between coders.
        public struct SpanRow: Sendable {
            public var code: String
            /// Spans of this code per coder, on the records compared.
            public var spans: [String: Int]
            public var exactF1: Double?
            public var overlapF1: Double?
            public var overlapInterval: (low: Double, high: Double)?
        }
        /// Two coders' values on one pair of matched spans, where they differ.
        public struct ValueDisagreement: Sendable {
            public var record: String
            public var code: String
            public var quote: String
            public var values: [String: String]
        }
        public var coders: [String]
        /// Records two or more of the coders marked done (the units).
        public var records: Int
        /// Records with some of the coders' coding or done marks that fewer
        /// than two of them marked done: left out.
        public var leftOut: Int = 0
        /// Annotations of the coders on records their author did not mark
        /// done: not counted.
        public var notDoneAnnotations: Int = 0
        public var tags: [TagRow]
        public var spans: [SpanRow]
        /// Matched span pairs (overlap rule) where at least one coder gave a value.
        public var valuePairs: Int
        public var valueAgreements: Int
        public var valueDisagreements: [ValueDisagreement]
    }

    /// Agreement between `coders` on the records `records` names (nil: all),
    /// for the codes `codes` names (nil: every code used).
    ///
    /// What counts (README, "Working as a team"): a coder is present on a
    /// record exactly when they marked it done (`markDone`); there, each of
    /// their annotations that is coding (`Annotation.layer`: suggestions are
    /// not) is a "yes", and every code they did not use a "no". A record is
    /// a unit when two or more of the coders marked it done; the others are
    /// left out and counted.
    public func agreement(coders names: [String]? = nil, codes codeIDs: [String]? = nil, records recordIDs: Set<String>? = nil) throws -> AgreementReport {
        let coders = try requireCoders(names)
        let allCodes = try codes(includeMerged: true, counted: false)
        let codeNames = Dictionary(uniqueKeysWithValues: allCodes.map { ($0.id, $0.name) })
        // Each code's merge target, once (asked per annotation and code below).
        let effective = Dictionary(uniqueKeysWithValues: try allCodes.map { ($0.id, try effectiveCode($0.id)) })
        var family: Set<String>?
        if let codeIDs { family = Set(try codeIDs.flatMap { try codeFamily($0, includeChildren: true) }) }
        let chosen = Set(coders)
        var done: [String: Set<String>] = [:]
        for (record, marks) in try doneMarks() where recordIDs?.contains(record) ?? true {
            let present = marks.intersection(chosen)
            if !present.isEmpty { done[record] = present }
        }
        // record → coder → annotations, for the coders present there
        var byRecord: [String: [String: [Annotation]]] = [:]
        var touched = Set(done.keys), notDone = 0
        // Only the chosen coders' coding is read (suggestions, the bulk of
        // a store after `suggest`, are left in SQL).
        try forEachAnnotation(coding: chosen) { a in
            guard let layer = a.layer, chosen.contains(layer), recordIDs?.contains(a.record) ?? true else { return true }
            touched.insert(a.record)
            if done[a.record]?.contains(layer) == true { byRecord[a.record, default: [:]][layer, default: []].append(a) } else { notDone += 1 }
            return true
        }
        for (record, present) in done { for coder in present where byRecord[record]?[coder] == nil { byRecord[record, default: [:]][coder] = [] } }
        let units = byRecord.filter { $0.value.count >= 2 }.sorted { $0.key < $1.key }
        func codeUsed(_ a: Annotation) -> String? {
            guard let c = a.code.map({ effective[$0] ?? ((try? effectiveCode($0)) ?? $0) }) else { return nil }
            if let family, !family.contains(c) { return nil }
            return c
        }
        let name = { (id: String) in codeNames[id] ?? id }

        // Tags: per code, each unit's value per coder: yes, no, or missing.
        var tagCodes = Set<String>()
        for (_, coded) in units { for list in coded.values { for a in list where a.span == nil { if let c = codeUsed(a) { tagCodes.insert(c) } } } }
        typealias TagUnit = [String?]
        // One unit per record, for one code; grouped by record, so that the
        // pooled row's interval resamples records, not code × record rows.
        func tagUnits(_ code: String) -> [[TagUnit]] {
            units.map { _, coded in
                [coders.map { coder -> String? in
                    guard let list = coded[coder] else { return nil }
                    return list.contains { $0.span == nil && codeUsed($0) == code } ? "yes" : "no"
                }]
            }
        }
        func tagRow(_ label: String, _ groups: [[TagUnit]]) -> AgreementReport.TagRow {
            let rows = groups.flatMap { $0 }
            let complete = rows.filter { $0.allSatisfy { $0 != nil } }.map { $0.compactMap { $0 } }
            let kappa: Agreement.Coefficient?
            if coders.count == 2 {
                kappa = Agreement.cohenKappa(complete.map { ($0[0], $0[1]) })
            } else {
                kappa = Agreement.fleissKappa(complete.map { u in ["yes", "no"].map { v in u.filter { $0 == v }.count } })
            }
            let alpha = Agreement.krippendorffAlpha(rows)
            let interval = Agreement.bootstrapInterval(groups) { Agreement.krippendorffAlpha($0.flatMap { $0 })?.value }
            return .init(code: label, units: rows.filter { $0.compactMap { $0 }.count >= 2 }.count, kappa: kappa, alpha: alpha, alphaInterval: interval)
        }
        var tags = tagCodes.sorted { name($0) < name($1) }.map { tagRow(name($0), tagUnits($0)) }
        if tagCodes.count > 1 {
            let perCode = tagCodes.sorted().map(tagUnits)
            tags.append(tagRow("(all codes)", units.indices.map { i in perCode.flatMap { $0[i] } }))
        }

        // Spans: per code, every pair of coders, on every record both coded.
        func items(_ list: [Annotation]?) -> [Agreement.SpanItem] {
            (list ?? []).compactMap { a in
                guard let s = a.span, let c = codeUsed(a) else { return nil }
                return Agreement.SpanItem(id: a.id, code: c, start: s.start, end: s.end, value: a.value)
            }
        }
        struct PairCounts { var a = 0, b = 0, exact = 0, overlap = 0 }
        var spanCodes = Set<String>()
        var perRecord: [(record: String, counts: [String: PairCounts])] = []
        var perCoderSpans: [String: [String: Int]] = [:]
        var valuePairs = 0, valueAgreements = 0
        var valueDisagreements: [AgreementReport.ValueDisagreement] = []
        for (record, coded) in units {
            var counts: [String: PairCounts] = [:]
            for coder in coders { for s in items(coded[coder]) { perCoderSpans[s.code, default: [:]][coder, default: 0] += 1 } }
            for (i, x) in coders.enumerated() {
                for y in coders[(i + 1)...] {
                    guard coded[x] != nil, coded[y] != nil else { continue }
                    let a = items(coded[x]), b = items(coded[y])
                    for s in a { spanCodes.insert(s.code); counts[s.code, default: PairCounts()].a += 1 }
                    for s in b { spanCodes.insert(s.code); counts[s.code, default: PairCounts()].b += 1 }
                    for (p, _) in Agreement.match(a, b, rule: .exact) { counts[a[p].code, default: PairCounts()].exact += 1 }
                    for (p, q) in Agreement.match(a, b, rule: .overlap) {
                        counts[a[p].code, default: PairCounts()].overlap += 1
                        let va = a[p].value.map { TextNormalization.nfc($0).trimmingCharacters(in: .whitespaces) } ?? ""
                        let vb = b[q].value.map { TextNormalization.nfc($0).trimmingCharacters(in: .whitespaces) } ?? ""
                        guard !va.isEmpty || !vb.isEmpty else { continue }
                        valuePairs += 1
                        if va == vb {
                            valueAgreements += 1
                        } else {
                            let quote = coded[x]?.first { $0.id == a[p].id }?.span?.quote ?? ""
                            valueDisagreements.append(.init(record: record, code: name(a[p].code), quote: quote, values: [x: va, y: vb]))
                        }
                    }
                }
            }
            perRecord.append((record, counts))
        }
        func spanRow(_ label: String, _ codes: Set<String>) -> AgreementReport.SpanRow {
            // Each record's counts for these codes, summed once: the
            // bootstrap's thousand resamples then add integers, not look
            // codes up in each record's table.
            let totals: [PairCounts] = perRecord.map { r in
                var t = PairCounts()
                for (c, n) in r.counts where codes.contains(c) { t.a += n.a; t.b += n.b; t.exact += n.exact; t.overlap += n.overlap }
                return t
            }
            func f1(_ records: [PairCounts], exact: Bool) -> Double? {
                var pairs = 0, a = 0, b = 0
                for n in records { pairs += exact ? n.exact : n.overlap; a += n.a; b += n.b }
                return Agreement.f1(pairs: pairs, a, b)
            }
            var spans: [String: Int] = [:]
            for c in codes { for (coder, n) in perCoderSpans[c] ?? [:] { spans[coder, default: 0] += n } }
            return .init(code: label, spans: spans, exactF1: f1(totals, exact: true), overlapF1: f1(totals, exact: false),
                         overlapInterval: Agreement.bootstrapInterval(totals) { f1($0, exact: false) })
        }
        var spans = spanCodes.sorted { name($0) < name($1) }.map { spanRow(name($0), [$0]) }
        if spanCodes.count > 1 { spans.append(spanRow("(all codes)", spanCodes)) }
        return AgreementReport(coders: coders, records: units.count, leftOut: touched.count - units.count, notDoneAnnotations: notDone, tags: tags, spans: spans, valuePairs: valuePairs,
                               valueAgreements: valueAgreements, valueDisagreements: valueDisagreements)
    }

    // MARK: - Compare and adjudicate

    /// Where two coders differ on one record.
    public struct Disagreement: Sendable {
        public enum Kind: String, Sendable {
            /// Only the first coder marked it.
            case onlyFirst = "only-first"
            /// Only the second coder marked it.
            case onlySecond = "only-second"
            /// Both marked overlapping spans (or the same tag) differing in
            /// code, span or value.
            case differ
        }
        public var kind: Kind
        public var first: Annotation?
        public var second: Annotation?
        /// What differs: "code", "span", "value".
        public var fields: [String]
        /// Both coders' annotations have been reviewed (by `adjudicate`).
        public var settled: Bool {
            [first, second].compactMap { $0 }.allSatisfy { $0.status != .open }
        }
    }

    /// The annotations two coders agree on (same code, span and value) and
    /// those they differ on, for one record. Spans are paired by overlap
    /// whatever their code (largest overlap first), tags by code; notes
    /// without a code are not compared.
    public func compare(record: String, coders pair: (String, String)) throws -> (agreed: [(Annotation, Annotation)], differ: [Disagreement]) {
        guard try self.record(record) != nil else { throw MarginError.notFound("no record \(record)") }
        let all = try annotations(record: record).filter { $0.code != nil }
        let a = all.filter { $0.layer == pair.0 }, b = all.filter { $0.layer == pair.1 }
        var agreed: [(Annotation, Annotation)] = [], differ: [Disagreement] = []
        // Spans: pair by overlap regardless of code.
        let sa = a.filter { $0.span != nil }, sb = b.filter { $0.span != nil }
        let items = { (list: [Annotation]) in list.map { Agreement.SpanItem(id: $0.id, code: "", start: $0.span?.start ?? 0, end: $0.span?.end ?? 0, value: $0.value) } }
        let pairs = Agreement.match(items(sa), items(sb), rule: .overlap)
        var pairedA = Set<Int>(), pairedB = Set<Int>()
        for (i, j) in pairs {
            pairedA.insert(i); pairedB.insert(j)
            let x = sa[i], y = sb[j]
            var fields: [String] = []
            if x.code != y.code { fields.append("code") }
            if x.span?.start != y.span?.start || x.span?.end != y.span?.end { fields.append("span") }
            if (x.value ?? "") != (y.value ?? "") { fields.append("value") }
            if fields.isEmpty { agreed.append((x, y)) } else { differ.append(Disagreement(kind: .differ, first: x, second: y, fields: fields)) }
        }
        for (i, x) in sa.enumerated() where !pairedA.contains(i) { differ.append(Disagreement(kind: .onlyFirst, first: x, second: nil, fields: [])) }
        for (j, y) in sb.enumerated() where !pairedB.contains(j) { differ.append(Disagreement(kind: .onlySecond, first: nil, second: y, fields: [])) }
        // Tags: by code.
        let ta = a.filter { $0.span == nil }, tb = b.filter { $0.span == nil }
        for x in ta {
            if let y = tb.first(where: { $0.code == x.code }) {
                if (x.value ?? "") == (y.value ?? "") { agreed.append((x, y)) } else { differ.append(Disagreement(kind: .differ, first: x, second: y, fields: ["value"])) }
            } else {
                differ.append(Disagreement(kind: .onlyFirst, first: x, second: nil, fields: []))
            }
        }
        for y in tb where !ta.contains(where: { $0.code == y.code }) {
            differ.append(Disagreement(kind: .onlySecond, first: nil, second: y, fields: []))
        }
        differ.sort { ($0.first?.span?.start ?? $0.second?.span?.start ?? Int.max) < ($1.first?.span?.start ?? $1.second?.span?.start ?? Int.max) }
        return (agreed, differ)
    }

    /// An adjudicator's decision on one disagreement.
    public enum Decision: String, CaseIterable, Sendable {
        case first, second, both, neither
    }

    /// The gold annotations of a record.
    public func goldAnnotations(record: String) throws -> [Annotation] {
        try annotations(record: record).filter { $0.author == Store.goldAuthor }
    }

    /// Copies an annotation into the gold layer (unless gold holds the same
    /// code on the same span already): an accepted annotation whose author
    /// is `goldAuthor`, reviewed by this node. Must run inside `write`.
    func copyToGold(_ a: Annotation, comment: String) throws {
        let gold = try goldAnnotations(record: a.record)
        if gold.contains(where: { $0.code == a.code && $0.span?.start == a.span?.start && $0.span?.end == a.span?.end }) { return }
        let id = try annotate(record: a.record, code: a.code, span: a.span.map { .range($0.start, $0.end) }, value: a.value, note: a.note,
                              author: Store.goldAuthor)
        try review(annotation: id, status: .accepted, comment: comment)
    }

    /// Settles one disagreement: the annotations taken are copied into the
    /// gold layer, and every annotation involved is reviewed (accepted if
    /// taken, rejected if not) with a comment naming the decision, so the
    /// disagreement shows as settled everywhere. All of it is one write of
    /// ordinary changes, which sync.
    public func adjudicate(_ d: Disagreement, _ decision: Decision, coders pair: (String, String)) throws {
        try write {
            let taken: [Annotation?]
            switch decision {
            case .first: taken = [d.first]
            case .second: taken = [d.second]
            case .both: taken = [d.first, d.second]
            case .neither: taken = []
            }
            let label: String
            switch decision {
            case .first: label = "took \(pair.0)'s"
            case .second: label = "took \(pair.1)'s"
            case .both: label = "took both"
            case .neither: label = "took neither"
            }
            let takenIDs = Set(taken.compactMap { $0?.id })
            for a in taken.compactMap({ $0 }) { try copyToGold(a, comment: "adjudicated: \(label)") }
            for a in [d.first, d.second].compactMap({ $0 }) {
                try review(annotation: a.id, status: takenIDs.contains(a.id) ? .accepted : .rejected, comment: "adjudicated: \(label)")
            }
        }
    }

    /// Copies what two coders agree on into the gold layer; returns how
    /// many agreed pairs there were.
    @discardableResult
    public func adoptAgreements(record: String, coders pair: (String, String)) throws -> Int {
        let (agreed, _) = try compare(record: record, coders: pair)
        try write { for (a, _) in agreed { try copyToGold(a, comment: "adjudicated: \(pair.0) and \(pair.1) agree") } }
        return agreed.count
    }
}

extension Store {
    /// The human name of the node that wrote under `origin`: this node's
    /// own, a peer's as its HELLO gave it, or, for a node known only through
    /// relays, the author it wrote on its annotations (names travel inside
    /// the changes, so they sync). Nil when none is known.
    public func nodeName(of origin: NodeID) throws -> String? {
        if origin == node.id { return node.name }
        if let name = try db.scalar("SELECT name FROM peers WHERE id = ?", .node(origin)).string { return name }
        return try db.scalar(Store.authorNameSQL, .node(origin)).string
    }

    /// The name a node last wrote as an annotation's author (not the gold
    /// layer's), kept beside the log (`node_authors`, see `NodeAuthors`).
    static let authorNameSQL = "SELECT a.name FROM node_authors a JOIN nodes o ON o.key = a.origin WHERE o.id = ?"
}
