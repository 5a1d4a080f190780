import Foundation
import MarginSQLite

/// The rules every change keeps, wherever it comes from: written here once,
/// enforced when a change is received (sync and bundles) and checked again
/// by `margin check`. PROTOCOL.md §1, "Rules", states them with their errors.
/// A change that breaks one is refused with the batch that holds it.
public enum ChangeRules {
    /// Clock readings stay within these bounds (milliseconds up to the year
    /// 6429, counters up to 2^32 - 1), so that no arithmetic on them can
    /// overflow, on any node they reach.
    public static let maxMilliseconds = HybridClock.maxMilliseconds
    public static let maxCounter = HybridClock.maxCounter

    /// Text fields that may run over lines (`meta.*` too); every other is
    /// one line (declared in `Vocabulary`).
    static let multiline = Vocabulary.multilineNames

    /// Fields whose value names another entity, and the kind it names.
    static func reference(_ kind: EntityKind, _ field: String) -> EntityKind? {
        Vocabulary.references(of: kind)[field]
    }

    /// The id form of each kind: lower-case hex of a fixed length.
    public static func idLength(_ kind: EntityKind) -> Int {
        switch kind {
        case .record, .annotation: 32
        case .code, .conflict: 16
        }
    }

    public static func isID(_ s: String, of kind: EntityKind) -> Bool {
        LowerHex.matches(s, length: idLength(kind))
    }

    /// The rules a change keeps on its own. Nil when it keeps them all.
    public static func problem(_ c: Change) -> String? {
        guard (0...maxMilliseconds).contains(c.hlc.milliseconds), (0...maxCounter).contains(c.hlc.counter) else {
            return "clock reading \(c.hlc) is out of bounds (ms 0…\(maxMilliseconds), counter 0…\(maxCounter))"
        }
        if let p = FieldSchema.problem(kind: c.kind, field: c.field, value: c.value) { return p }
        if (c.field == FieldSchema.deleted) != (c.seen != nil) { return "`seen` must be present exactly on changes to `deleted`" }
        guard isID(c.entity.text, of: c.kind) else {
            return "\(c.kind.rawValue) id '\(Printable.line(c.entity.text))' is not \(idLength(c.kind)) lower-case hex digits"
        }
        if c.field.hasPrefix(FieldSchema.metaPrefix) {
            if let p = FieldSchema.metaKeyProblem(String(c.field.dropFirst(FieldSchema.metaPrefix.count))) { return p }
        }
        if c.field.hasPrefix(FieldSchema.donePrefix) {
            let coder = String(c.field.dropFirst(FieldSchema.donePrefix.count))
            if TextRules.problem(inLine: coder) != nil || coder != coder.trimmingCharacters(in: .whitespaces) {
                return "the coder of a done mark '\(Printable.line(coder))' must be one line without surrounding spaces"
            }
        }
        guard case .text(let text) = c.value else {
            if (c.field == "start" || c.field == "end"), let n = c.value.int, n < 0 { return "\(c.field) must not be negative" }
            return nil
        }
        let isMultiline = multiline.contains(c.field) || c.field.hasPrefix(FieldSchema.metaPrefix)
        if let p = isMultiline ? TextRules.problem(inText: text) : TextRules.problem(inLine: text) { return "\(c.field) \(p)" }
        if let target = reference(c.kind, c.field) {
            guard isID(text, of: target) else { return "\(c.field) must name a \(target.rawValue) id, not '\(Printable.line(text))'" }
            if c.kind == .code && text == c.entity.text { return "a code cannot be its own \(c.field == "parent" ? "parent" : "merge target")" }
        }
        switch (c.kind, c.field) {
        case (.record, "body"):
            // Scalars, not String ==, which holds canonically equivalent texts equal.
            guard TextNormalization.nfc(text).hasSameBytes(as: text) else { return "a record body must be NFC-normalised" }
        case (.record, "received"):
            guard Store.received(text).hasSameBytes(as: text) else {
                return "a record's received text must be normalised (NFC, LF line ends, no white space around it)"
            }
            guard Store.recordID(received: text) == c.entity.text else { return "the received text does not hash to the record id \(c.entity)" }
        case (.annotation, "status"):
            guard ReviewStatus(rawValue: text) != nil else { return "unknown status '\(Printable.line(text))' (open, accepted, rejected or suggested)" }
        case (.code, "colour"):
            do { try Store.checkColour(text) } catch { return MarginError.message(for: error) }
        case (.code, "name"):
            do { try Store.checkCodeName(text) } catch { return MarginError.message(for: error) }
        case (.code, "value_type"):
            guard Store.valueTypes.contains(text) else { return "unknown value type '\(Printable.line(text))' (number or text)" }
        case (.conflict, "resolution"):
            guard ["winner", "other", "value"].contains(text) else { return "unknown resolution '\(Printable.line(text))'" }
        default: break
        }
        return nil
    }
}

extension Store {
    /// The rules a change keeps against the log it joins: what it names is
    /// held. Nil when it keeps them. `field`: the logged changes to the
    /// change's field, when the caller has read them; what it supersedes is
    /// then looked for there first.
    /// `checkedAlone`: `ChangeRules.problem` has passed already (a batch
    /// checks it first; a body's NFC and hash checks are worth not repeating).
    func ruleProblem(_ c: Change, field: [FieldChange]? = nil, checkedAlone: Bool = false) throws -> String? {
        if !checkedAlone, let p = ChangeRules.problem(c) { return p }
        // Most changes name neither: no look-up, and nothing allocated.
        if let target = c.supersedes {
            if let known = field?.first(where: { $0.id == target }) {
                if !(known.stamp.hlc < c.hlc) { return Store.readsLower(c, "supersedes", target, known.stamp.hlc) }
            } else if let problem = try referenceProblem(c, "supersedes", target) {
                return problem
            }
        }
        if let target = c.deletionBase, let problem = try referenceProblem(c, "deletion_base", target) { return problem }
        if c.kind == .annotation { return try annotationRecordProblem(c) }
        return nil
    }

    /// An annotation belongs to one record for good: its first change sets
    /// `record`, to a record whose body is held, and no later change moves
    /// it (its span, quote and context are in that record's body), so every
    /// other change to an annotation finds its record held.
    private func annotationRecordProblem(_ c: Change) throws -> String? {
        guard c.field == "record" else {
            if c.entity == scope?.lastAnnotationWithRecord?.annotation { return nil }
            guard let held = try winner(.annotation, c.entity, "record")?.value.entityID else {
                // Its record set later in the same received batch, by the
                // same origin (and so in the same step).
                if scope?.annotationsGivenRecords.contains(AnnotationByOrigin(annotation: c.entity, origin: c.id.origin)) == true { return nil }
                return "annotation \(c.entity) has no record: an annotation's first change sets its `record`"
            }
            scope?.lastAnnotationWithRecord = (c.entity, held)
            return nil
        }
        guard let record = c.value.entityID else { return "an annotation's record cannot be cleared" }
        if record != scope?.lastRecordWithBody {
            guard try hasWinner(.record, record, "body") else { return "record \(record) is not held" }
            // A body, once logged, stays for the write: the next annotation
            // on the same record is not looked up again.
            scope?.lastRecordWithBody = record
        }
        let known = scope?.lastAnnotationWithRecord?.annotation == c.entity ? scope?.lastAnnotationWithRecord?.record : nil
        if let held = try known ?? winner(.annotation, c.entity, "record")?.value.entityID, held != record {
            return "annotation \(c.entity) is on record \(held); an annotation's record is set once and never moved"
        }
        scope?.lastAnnotationWithRecord = (c.entity, record)
        return nil
    }

    /// Whether the change `c` names as its `role` is held, and is a change
    /// to the same field (`supersedes`) or the entity's deletion
    /// (`deletion_base`).
    ///
    /// Read by the log's numbers, from its index by origin: no id is
    /// joined or made (a review or an edit names the change it
    /// supersedes, and `check` asks this of every one).
    private func referenceProblem(_ c: Change, _ role: String, _ target: ChangeID) throws -> String? {
        guard let origin = try projector.keys.node(target.origin, create: false),
              let row = try db.statement("SELECT entity, field, ms, ctr FROM log WHERE origin = ?1 AND seq = ?2")
                .all([.integer(origin), .integer(target.seq)]).first else {
            return "\(role) \(target) is not held"
        }
        // An entity without a number yet has no change to name.
        let entity = try entityKey(c.kind, c.entity, create: false)
        guard entity != nil, row[0].int == entity, row[1].string == (role == "supersedes" ? c.field : FieldSchema.deleted) else {
            return role == "supersedes" ? "supersedes \(target), a change to another field"
                                        : "deletion_base \(target) is not a deletion of the same entity"
        }
        let named = HLC(milliseconds: row[2].int ?? 0, counter: row[3].int ?? 0)
        if !(named < c.hlc) { return Store.readsLower(c, role, target, named) }
        return nil
    }

    /// PROTOCOL.md §1: a change reads higher than every change it names, so
    /// that sending in reading order sends what a change names before it.
    static func readsLower(_ c: Change, _ role: String, _ target: ChangeID, _ named: HLC) -> String {
        "it reads \(c.hlc), not higher than \(target) (\(named)) that it names in \(role)"
    }

    /// A span group (PROTOCOL.md §1) as received: all five fields, from one
    /// writer with one reading, making a span that fits its record's body.
    /// `texts`: the bodies' scalar views already built in this batch, by
    /// record (a batch checks many spans on one body). `record`: the
    /// annotation's record, when the caller applied the change that set it
    /// (it is set once, so that is the record the log holds).
    func spanGroupProblem(annotation: EntityID, _ fields: [String: FieldValue], record known: EntityID? = nil,
                          texts: inout [EntityID: ScalarText]) throws -> String? {
        let names = FieldSchema.groups[.annotation]?.first ?? []
        guard names.allSatisfy({ fields[$0] != nil }) else { return "annotation \(annotation): a span must arrive whole (start, end, quote, prefix, suffix together)" }
        if names.allSatisfy({ fields[$0] == .null }) { return nil }
        guard let s = fields["start"]?.int, let e = fields["end"]?.int, let quote = fields["quote"]?.string,
              let prefix = fields["prefix"]?.string, let suffix = fields["suffix"]?.string else {
            return "annotation \(annotation): a span needs start, end, quote, prefix and suffix"
        }
        guard let record = try known ?? winner(.annotation, annotation, "record")?.value.entityID else {
            return "annotation \(annotation): a span needs the annotation's record"
        }
        // A record's body is read once per batch, not once per span on it.
        let text: ScalarText
        if let seen = texts[record] {
            text = seen
        } else {
            guard let body = try winner(.record, record, "body")?.value.string else {
                return "annotation \(annotation): a span needs the annotation's record"
            }
            text = ScalarText(body)
            texts[record] = text
        }
        let problem = Self.spanProblem(in: text, s, e, quote: quote, prefix: prefix, suffix: suffix)
        guard let problem else { return nil }
        // A span placed on a body the record had before a reclean (schema
        // 6) is the coder's work on that text: it is taken, and `reclean`
        // places it on the body of now.
        for earlier in try loggedBodies(of: record) where !earlier.hasSameBytes(as: text.string) {
            if Self.spanProblem(in: ScalarText(earlier), s, e, quote: quote, prefix: prefix, suffix: suffix) == nil { return nil }
        }
        return "annotation \(annotation): \(problem)"
    }

    /// Why the span does not hold in `text`, or nil when it does.
    static func spanProblem(in text: ScalarText, _ s: Int64, _ e: Int64, quote: String, prefix: String, suffix: String) -> String? {
        guard s >= 0, e > s, e <= Int64(text.count) else { return "span \(s)..\(e) is not within the body (0..\(text.count))" }
        do { try Span.checkRange(in: text, start: Int(s), end: Int(e)) } catch { return MarginError.message(for: error) }
        let held = Span.holds(text, start: Int(s), end: Int(e), quote: quote, prefix: prefix, suffix: suffix)
        guard held.quote else { return "the quote does not match the body at \(s)..\(e)" }
        guard held.context else { return "the prefix or suffix does not match the body around \(s)..\(e)" }
        return nil
    }

    /// Every body a record's log holds, the winner's and those a reclean replaced.
    func loggedBodies(of record: EntityID) throws -> [String] { try Store.loggedBodies(of: record, in: db) }

    static func loggedBodies(of record: EntityID, in db: Database) throws -> [String] {
        try db.rows("""
            SELECT DISTINCT l.value FROM log l JOIN entities e ON e.key = l.entity
            WHERE e.kind = 'record' AND e.id = ? AND l.field = 'body'
            """, .entity(record)).compactMap { $0[0].string }
    }
}

/// Text that came from a peer, a file or another person, made safe to show
/// on a terminal or in a log: C0 and C1 control characters (ESC among them),
/// DEL and the bidirectional controls are shown as `\u{…}` instead of acting
/// on the terminal, so nothing a peer sends can colour, move, retitle or
/// forge lines of the user's screen or log.
public enum Printable {
    static func isUnsafe(_ u: Unicode.Scalar) -> Bool {
        let v = u.value
        return v < 0x20 || (0x7f...0x9f).contains(v) || v == 0x061c || v == 0x200e || v == 0x200f
            || (0x202a...0x202e).contains(v) || (0x2066...0x2069).contains(v)
    }

    static func escape(_ s: String, keepingLineBreaks: Bool, max: Int?) -> String {
        // Most text has nothing to escape or cut: it is returned as it is,
        // without building a copy scalar by scalar.
        var seen = 0, unchanged = true
        for u in s.unicodeScalars {
            if let max, seen >= max { unchanged = false; break }
            seen += 1
            if !(keepingLineBreaks && (u == "\n" || u == "\t")) && isUnsafe(u) { unchanged = false; break }
        }
        if unchanged { return s }
        var out = String.UnicodeScalarView()
        var count = 0
        for u in s.unicodeScalars {
            if let max, count >= max { return String(out) + "…" }
            count += 1
            if keepingLineBreaks && (u == "\n" || u == "\t") || !isUnsafe(u) {
                out.append(u)
            } else {
                out.append(contentsOf: String(format: "\\u{%X}", u.value).unicodeScalars)
            }
        }
        return String(out)
    }

    /// One line: line breaks escaped too.
    public static func line(_ s: String, max: Int? = 40) -> String { escape(s, keepingLineBreaks: false, max: max) }

    /// Text shown as text (a report's body): tabs and line feeds kept.
    public static func text(_ s: String) -> String { escape(s, keepingLineBreaks: true, max: nil) }
}
