import Foundation
import MarginCrypto
import MarginSQLite

/// A report ready to store: cleaned text plus the metadata found in it.
public struct ReportDraft: RecordMetadata, Equatable, Sendable {
    public var body: String
    public var title: String?
    public var source: String?
    public var published: String?
    public var place: String?
    public var url: String?
    public var author: String?
    public var editor: String?
    public var meta: [String: String] = [:]
    /// The report as received, before cleaning: what the record id is the
    /// hash of (`Store.recordID(received:)`). Nil: the body is that text.
    public var received: String?

    /// The metadata fields (`Record.metadataFields`, in their order) with
    /// their values: the one list an import, a reclean and a comparison read.
    public var fields: [(field: String, value: String?)] {
        Record.metadataFields.map { ($0, metadata($0)) }
    }

    public init(body: String, title: String? = nil, source: String? = nil, published: String? = nil,
                place: String? = nil, url: String? = nil, author: String? = nil, editor: String? = nil,
                meta: [String: String] = [:], received: String? = nil) {
        self.body = body; self.title = title; self.source = source; self.published = published
        self.place = place; self.url = url; self.author = author; self.editor = editor; self.meta = meta; self.received = received
    }
}

/// Where an annotation sits in its record's body.
public enum SpanRequest: Sendable {
    case quote(String, occurrence: Int?)
    case range(Int, Int)
}

/// The named write operations of Margin. Each runs in one transaction: it
/// either happens whole, with its change-log entries, or not at all.
extension Store {
    /// The record id of a report: a hash of the report as received,
    /// normalised (`received(_:)`), never of the cleaner's output, so the
    /// same file imported on two nodes, with this release's cleaner or an
    /// older or newer one, is one record, and a record can be cleaned again
    /// (`reclean`) without changing its id. (Data schema 6; before it the
    /// id was the hash of the NFC body, which such records keep.)
    public static func recordID(received text: String) -> String {
        recordID(normalizedBody: received(text))
    }

    /// The normal form of a report as received: NFC, LF line ends, no white
    /// space before the first character or after the last.
    public static func received(_ text: String) -> String {
        PageLines.trim(TextNormalization.unixNewlines(TextNormalization.nfc(text)))
    }

    /// The id a record had before data schema 6: the hash of its NFC body.
    public static func recordID(body: String) -> String {
        recordID(normalizedBody: TextNormalization.nfc(body))
    }

    public static func recordID(normalizedBody: String) -> String {
        Array(SHA256.hash(normalizedBody).prefix(16)).hex
    }

    /// A new annotation id: 128 random bits, in hex. People type ids by
    /// prefix, as in git, so the first digits must tell ids apart: an
    /// earlier form began with a time bucket, and every annotation of one
    /// sitting began with the same four digits. Locality in the store comes
    /// from the local integer keys (`entities`), numbered in arrival order,
    /// which the log is keyed by. `milliseconds` is kept for callers.
    public static func newAnnotationID(milliseconds: Int64) -> String {
        randomBytes(16).hex
    }

    public static func randomEntityID() -> String { randomBytes(16).hex }

    /// `count` bytes from the system's generator, eight per call (a call per
    /// byte costs an annotation a dozen system calls), written in place.
    static func randomBytes(_ count: Int) -> [UInt8] {
        var g = SystemRandomNumberGenerator()
        return [UInt8](unsafeUninitializedCapacity: count) { out, initialized in
            var i = 0
            while i < count {
                let word: UInt64 = g.next()
                withUnsafeBytes(of: word) { w in
                    for b in w where i < count {
                        out[i] = b
                        i += 1
                    }
                }
            }
            initialized = count
        }
    }

    /// Stores a report. Returns its id and whether it was already present.
    /// `index`: the report's full-text entry, made beforehand (on another
    /// core); it is used only if made from the title and body stored.
    @discardableResult
    public func importReport(_ draft: ReportDraft, index: IndexEntry? = nil) throws -> (id: String, alreadyPresent: Bool) {
        // An entry made from this draft (its body, in NFC, has the draft's
        // bytes, and its received text was normalised from the draft's) has
        // the body and the received text this import would make: they are
        // taken from it, not normalised again on the writing core. (An
        // entry's body is in NFC, so a draft's body with its bytes is too.)
        let made = index.flatMap { e -> IndexEntry? in
            guard e.received != nil, e.body.hasSameBytes(as: draft.body) else { return nil }
            switch (e.receivedFrom, draft.received) {
            case (nil, nil): return e
            case let (from?, given?): return from.hasSameBytes(as: given) ? e : nil
            default: return nil
            }
        }
        let body = made?.body ?? TextNormalization.nfc(draft.body)
        guard TextNormalization.hasText(body) else {
            throw MarginError.invalid("the report has no text")
        }
        try TextRules.requireText(body, what: "the report")
        for (field, value) in draft.fields {
            if let value { try TextRules.requireLine(value, what: "the \(field)") }
        }
        // The entry's received text is taken, not hashed again: it is the record id's input.
        let received = made?.received ?? Store.received(draft.received ?? body)
        guard TextNormalization.hasText(received) else { throw MarginError.invalid("the report has no text") }
        try TextRules.requireText(received, what: "the report")
        let id = made?.recordID ?? Store.recordID(normalizedBody: received)
        let entity = EntityID(stored: id)
        // Reads from the log only, so the record's row is written once.
        return try write { try coalescingRows {
            if try hasWinner(.record, entity, "body"), try !isDeleted(.record, entity) {
                return (id, true)
            }
            // A record of a release before schema 6 holding this body is
            // this report, as that release would have found.
            let legacy = made?.legacyRecordID ?? Store.recordID(normalizedBody: body), former = EntityID(stored: legacy)
            if legacy != id, try hasWinner(.record, former, "body"), try !isDeleted(.record, former), try !hasWinner(.record, former, "received") {
                return (legacy, true)
            }
            // Both NFC, and the received text hashes to `id`, by construction here.
            try set(.record, entity, "body", .text(body), stamp: nil, always: false, checkedAlone: true)
            if !received.hasSameBytes(as: body) {
                try set(.record, entity, "received", .text(received), stamp: nil, always: false, checkedAlone: true)
            }
            try set(.record, entity, FieldSchema.deleted, .null)
            let fields = draft.fields
            for (field, value) in fields {
                if let v = value.map(TextNormalization.nfc), !v.isEmpty { try set(.record, entity, field, .text(v)) }
            }
            for (key, value) in draft.meta.sorted(by: { $0.key < $1.key }) {
                try setRecordMeta(id, key: key, value: value)
            }
            // The entry counts only if made from the title and body just written.
            let title = draft.title.map(TextNormalization.nfc) ?? ""
            if let made, made.title.hasSameBytes(as: title) { scope?.preparedIndex[entity] = made }
            return (id, false)
        } }
    }

    public func isDeleted(_ kind: EntityKind, _ id: EntityID) throws -> Bool {
        try winner(kind, id, FieldSchema.deleted)?.value == .int(1)
    }

    /// Sets a metadata field (title, source, ... or a free key). Nil clears it.
    public func setRecordField(_ record: String, field: String, value rawValue: String?) throws {
        var value = rawValue
        if field == "published", let raw = rawValue {
            // The formats the importer reads, stored the way it stores them.
            guard let date = ReportMetadata.normalizedDate(raw) else {
                throw MarginError.invalid("'\(raw)' is not a date margin reads: use 2022-09-23, 2022-09-23 14:54, 2022/9/23 or 2022年9月23日")
            }
            value = date
        }
        if let value {
            if Record.metadataFields.contains(field) { try TextRules.requireLine(value, what: "the \(field)") }
            else { try TextRules.requireText(value, what: "metadata '\(field)'") }
        }
        try write {
            let v: FieldValue = value.map { .text(TextNormalization.nfc($0)) } ?? .null
            if Record.metadataFields.contains(field) {
                try set(.record, EntityID(stored: record), field, v)
            } else {
                try setRecordMeta(record, key: field, value: value)
            }
        }
    }

    private func setRecordMeta(_ record: String, key: String, value: String?) throws {
        let k = key.trimmingCharacters(in: .whitespaces)
        if let p = FieldSchema.metaKeyProblem(k) { throw MarginError.invalid(p) }
        if k == "body" { throw MarginError.invalid("the body of a record cannot be changed") }
        try set(.record, EntityID(stored: record), FieldSchema.metaPrefix + k, value.map { .text(TextNormalization.nfc($0)) } ?? .null)
    }

    /// The scalars and character boundaries of a record's body, kept for
    /// the last body asked for: a bulk write of annotations on one report
    /// (an import, a bulk command) finds a long body's characters once, not
    /// once per annotation. Reused only for the same bytes.
    func scalarText(of body: String) -> ScalarText {
        if let last = lastBodyText, last.string.hasSameBytes(as: body) { return last }
        let text = ScalarText(body)
        lastBodyText = text
        return text
    }

    /// Creates an annotation: a coded span, a record-level tag (no span) or a
    /// note (no code).
    @discardableResult
    /// `author`: this node's name unless given (the gold layer's is `goldAuthor`).
    /// `status`: open, or `suggested` for what `margin suggest` proposes.
    /// `id`: the annotation's id when it has one already (an export's, so
    /// that importing a colleague's export and then syncing with them does
    /// not make every annotation twice); a new one otherwise.
    /// `times`: when the annotation was made and last changed (an export's,
    /// in milliseconds), so the import shows them and exports them again;
    /// its fields are written with those readings (never a future one), the
    /// author last. Nil: now.
    public func annotate(record: String, code: String?, span: SpanRequest?, value: String?, note: String?, author: String? = nil,
                         status: ReviewStatus = .open, id given: String? = nil, times: (created: Int64, modified: Int64)? = nil) throws -> String {
        guard let body = try winner(.record, EntityID(stored: record), "body")?.value.string, try !isDeleted(.record, EntityID(stored: record)) else {
            throw MarginError.notFound("no record \(record)")
        }
        if let code { try requireLiveCode(code) }
        if let value { try TextRules.requireText(value, what: "the value") }
        if let note { try TextRules.requireText(note, what: "the note") }
        let located = try span.map { try SpanLocation.locate($0, in: scalarText(of: body)) }
        if let given {
            guard let checked = EntityID(given, of: .annotation) else { throw MarginError.invalid("annotation id '\(Printable.line(given))' is not 32 lower-case hex digits") }
            guard try !hasWinner(.annotation, checked, "record") else { throw MarginError.invalid("annotation \(given) exists already") }
        }
        let id = given ?? Store.newAnnotationID(milliseconds: clock.wall.nowMilliseconds())
        let entity = EntityID(stored: id)
        // Reads from the log only, so the annotation's row is written once.
        try write { try coalescingRows {
            // A fresh id (128 random bits) is no entity's yet: its number is
            // made without searching the ids for it first. Were it one's,
            // making it would break the ids' uniqueness and fail the write,
            // instead of writing into that annotation.
            if given == nil { scope?.lastMissingEntity = EntityRef(kind: .annotation, id: entity) }
            var first: HLC?, last: HLC?
            if let times {
                let now = clock.tick()
                func reading(_ ms: Int64) -> HLC { let r = HLC(milliseconds: max(0, ms), counter: 0); return r < now ? r : now }
                first = reading(times.created); last = reading(max(times.created, times.modified))
            }
            try set(.annotation, entity, "record", .text(record), stamp: first)
            if let code { try set(.annotation, entity, "code", .text(code), stamp: first) }
            if let s = located { try setSpan(of: id, s, reading: first) }
            if let value, !value.isEmpty { try set(.annotation, entity, "value", .text(TextNormalization.nfc(value)), stamp: first) }
            if let note, !note.isEmpty { try set(.annotation, entity, "note", .text(TextNormalization.nfc(note)), stamp: first) }
            try set(.annotation, entity, "status", .text(status.rawValue), stamp: first)
            try set(.annotation, entity, "author", .text(author ?? node.name), stamp: last)
        } }
        return id
    }

    /// Changes to an annotation; nil leaves a field as it is, `.some(nil)` clears it.
    public struct AnnotationEdit: Sendable {
        public var code: String?? = nil
        public var span: SpanRequest? = nil
        public var value: String?? = nil
        public var note: String?? = nil
        public init() {}
    }

    /// Refused for another coder's annotation (`requireOwnCoding`).
    public func edit(annotation id: String, _ e: AnnotationEdit) throws { try edit(annotation: id, e, anyLayer: false) }

    /// `anyLayer`: as a peer may (the rule is this node's user's, not a
    /// receive rule): tests make concurrent edits of one annotation so.
    func edit(annotation id: String, _ e: AnnotationEdit, anyLayer: Bool) throws {
        let a = try requireLiveAnnotation(id)
        if !anyLayer { try requireOwnCoding(a, "editing") }
        // The value, as it will be, against the code, as it will be.
        if e.value != nil || e.code != nil {
            let value = e.value ?? a.value, code = e.code ?? a.code
            if !anyLayer { try requireValue(value ?? nil, fits: code ?? nil) }
        }
        if case .some(.some(let code)) = e.code { try requireLiveCode(code) }
        if case .some(.some(let value)) = e.value { try TextRules.requireText(value, what: "the value") }
        if case .some(.some(let note)) = e.note { try TextRules.requireText(note, what: "the note") }
        var located: Span?
        if let request = e.span {
            guard let body = try winner(.record, EntityID(stored: a.record), "body")?.value.string else { throw MarginError.notFound("no record \(a.record)") }
            located = try SpanLocation.locate(request, in: scalarText(of: body))
        }
        try write {
            if let code = e.code { try set(.annotation, EntityID(stored: id), "code", code.map { .text($0) } ?? .null) }
            if let value = e.value { try set(.annotation, EntityID(stored: id), "value", value.map { .text(TextNormalization.nfc($0)) } ?? .null) }
            if let note = e.note { try set(.annotation, EntityID(stored: id), "note", note.map { .text(TextNormalization.nfc($0)) } ?? .null) }
            if let s = located { try setSpan(of: id, s) }
        }
    }

    /// A span is five fields: the position and the quote with its context,
    /// written as one group.
    func setSpan(of annotation: String, _ s: Span, reading: HLC? = nil) throws {
        try setGroup(.annotation, EntityID(stored: annotation), [
            ("start", .int(Int64(s.start))), ("end", .int(Int64(s.end))),
            ("quote", .text(s.quote)), ("prefix", .text(s.prefix)), ("suffix", .text(s.suffix)),
        ], reading: reading)
    }

    /// Writes a field group (`FieldSchema.groups`): every field, with one
    /// clock reading, unless every field already holds its value.
    /// `reading`: the group's reading, when the caller has one (an import
    /// keeps the export's); moved past what the group supersedes if need be.
    func setGroup(_ kind: EntityKind, _ entity: EntityID, _ fields: [(String, FieldValue)], force: Bool = false, reading: HLC? = nil) throws {
        var unchanged = !force
        // The fields' current changes, through the range probe (which an
        // entity new to this write answers without a look-up).
        func current(_ field: String) throws -> FieldChange? { try fieldChanges(kind, entity, field, .atWinner).first(where: \.current) }
        for (field, value) in fields where unchanged {
            if try current(field)?.value ?? .null != value { unchanged = false }
        }
        if unchanged { return }
        // One reading for the whole group, after every change the group's
        // fields supersede (so `set` never has to move one field's reading).
        var stamp = reading ?? clock.tick()
        for field in fields.map(\.0) + [FieldSchema.deleted] {
            if let w = try current(field), !(w.stamp.hlc < stamp) { stamp = clock.after(w.stamp.hlc) }
        }
        for (field, value) in fields { try set(kind, entity, field, value, stamp: stamp, always: true) }
    }

    /// What a review reviews: the winning changes of the annotation's code,
    /// span and value, as `code/start/value` change ids (`-` for none).
    func reviewSignature(_ annotation: String) throws -> String {
        try ["code", "start", "value"].map { try winner(.annotation, EntityID(stored: annotation), $0)?.id.description ?? "-" }.joined(separator: "/")
    }

    /// Withdraws a record imported by mistake: the record and each of its
    /// live annotations become tombstones, in one write, so the deletion
    /// syncs. Returns how many annotations went with it.
    @discardableResult
    public func delete(record id: String) throws -> Int {
        guard try hasWinner(.record, EntityID(stored: id), "body"), try !isDeleted(.record, EntityID(stored: id)) else { throw MarginError.notFound("no record \(id)") }
        let live = try annotations(record: id)
        try write {
            for a in live { try set(.annotation, EntityID(stored: a.id), FieldSchema.deleted, .int(1)) }
            try set(.record, EntityID(stored: id), FieldSchema.deleted, .int(1))
        }
        return live.count
    }

    /// Refused for another coder's annotation (`requireOwnCoding`).
    public func delete(annotation id: String) throws { try delete(annotation: id, anyLayer: false) }

    func delete(annotation id: String, anyLayer: Bool) throws {
        let a = try requireLiveAnnotation(id)
        if !anyLayer { try requireOwnCoding(a, "deleting") }
        _ = try write { try set(.annotation, EntityID(stored: id), FieldSchema.deleted, .int(1)) }
    }

    /// Reviews an annotation. Status, comment, reviewer and what was
    /// reviewed are one group, written together with one stamp: concurrent
    /// reviews make one conflict, and a resolution never mixes one person's
    /// status with another's comment. A review is of the code, span and
    /// value the reviewer saw; when any of them changes later, the
    /// annotation shows as open again ("changed since accepted by …").
    ///
    /// A suggestion is decided, not reviewed, the same way from every
    /// command: accepted, it becomes this coder's own annotation
    /// (`acceptSuggestion`; `code` chooses its code); rejected, it is
    /// deleted (so `suggest` does not propose it again).
    public func review(annotation id: String, status: ReviewStatus, comment: String?, code: String? = nil) throws {
        let a = try requireLiveAnnotation(id)
        if a.status == .suggested {
            switch status {
            case .accepted: return try acceptSuggestion(a, code: code, comment: comment)
            case .rejected: return try delete(annotation: id)
            case .open, .suggested: throw MarginError.invalid("annotation \(id.prefix(10)) is a suggestion: accept it or reject it")
            }
        }
        if code != nil { throw MarginError.invalid("--with-code chooses the code of a suggestion; annotation \(id.prefix(10)) is not one (margin edit changes a code)") }
        if let comment { try TextRules.requireText(comment, what: "the comment") }
        try write {
            try setGroup(.annotation, EntityID(stored: id), [
                ("status", .text(status.rawValue)),
                ("comment", comment.flatMap { $0.isEmpty ? nil : FieldValue.text(TextNormalization.nfc($0)) } ?? .null),
                ("reviewer", status == .open ? .null : .text(node.name)),
                ("reviewed", status == .open ? .null : .text(try reviewSignature(id))),
            ], force: true)
        }
    }

    @discardableResult
    func requireLiveAnnotation(_ id: String) throws -> Annotation {
        guard let a = try annotation(id) else { throw MarginError.notFound("no annotation \(id)") }
        return a
    }

    func requireLiveCode(_ id: String) throws {
        guard try hasWinner(.code, EntityID(stored: id), "name"), try !isDeleted(.code, EntityID(stored: id)) else { throw MarginError.notFound("no code \(id)") }
    }

    // MARK: - Codebook

    static let namedColours: Set<String> = ["black", "red", "green", "yellow", "blue", "magenta", "cyan", "white", "orange", "purple", "grey", "gray",
                                            "bright-black", "bright-red", "bright-green", "bright-yellow", "bright-blue", "bright-magenta",
                                            "bright-cyan", "bright-white"]

    /// The number of a 256-colour palette name, `colour0` … `colour255`
    /// (also spelled `color`), or nil.
    public static func paletteIndex(_ colour: String) -> Int? {
        for prefix in ["colour", "color"] where colour.hasPrefix(prefix) {
            let digits = colour.dropFirst(prefix.count)
            guard !digits.isEmpty, digits.count <= 3, digits.utf8.allSatisfy({ (48...57).contains($0) }), let n = Int(digits), (0...255).contains(n) else { return nil }
            return n
        }
        return nil
    }

    /// PROTOCOL.md §1: a name, `colour`/`color` and 1 to 3 ASCII digits
    /// (0 to 255), or `#` and 6 ASCII hex digits; ASCII letters of either case.
    static func checkColour(_ colour: String) throws {
        let c = String(String.UnicodeScalarView(colour.unicodeScalars.map { ("A"..."Z").contains($0) ? Unicode.Scalar(UInt8($0.value + 32)) : $0 }))
        if namedColours.contains(c) || paletteIndex(c) != nil { return }
        let hex = Array(c.utf8)
        if hex.count == 7, hex[0] == UInt8(ascii: "#"), hex.dropFirst().allSatisfy(LowerHex.isDigit) { return }
        throw MarginError.invalid("unknown colour '\(colour)': use a name (\(namedColours.sorted().joined(separator: ", "))), a 256-colour palette entry colour0…colour255, or #rrggbb")
    }

    static func checkCodeName(_ name: String) throws {
        // Counted in Unicode scalars, as every length in PROTOCOL.md is.
        let n = name.trimmingCharacters(in: .whitespaces)
        guard !n.isEmpty, n.unicodeScalars.count <= 80, !n.contains(where: { $0.isNewline || $0 == "\t" }) else {
            throw MarginError.invalid("a code name must be one line of 1 to 80 characters (Unicode scalars)")
        }
    }

    /// Adds a code. Its id comes from its first name, so the same codebook
    /// loaded on two nodes independently gives the same ids.
    @discardableResult
    public func addCode(name rawName: String, description: String?, colour: String?, parent: String?, triggers: String? = nil,
                        valueType: String? = nil) throws -> String {
        if let valueType { try Store.checkValueType(valueType) }
        let name = TextNormalization.nfc(rawName.trimmingCharacters(in: .whitespaces))
        try Store.checkCodeName(name)
        if let colour { try Store.checkColour(colour) }
        if try liveCodeID(named: name) != nil { throw MarginError.invalid("a code named '\(name)' already exists") }
        if let parent {
            try requireLiveCode(parent)
            try requireRoomBelow(parent)
        }
        var id = Array(SHA256.hash("code\n" + name).prefix(8)).hex
        if try winner(.code, EntityID(stored: id), "name") != nil { id = String(Store.randomEntityID().prefix(16)) }
        try write {
            try set(.code, EntityID(stored: id), "name", .text(name))
            if let d = description, !d.isEmpty { try set(.code, EntityID(stored: id), "description", .text(TextNormalization.nfc(d))) }
            if let colour { try set(.code, EntityID(stored: id), "colour", .text(colour.lowercased())) }
            if let parent { try set(.code, EntityID(stored: id), "parent", .text(parent)) }
            if let t = triggers?.trimmingCharacters(in: .whitespaces), !t.isEmpty {
                try TextRules.requireLine(t, what: "the trigger words")
                try set(.code, EntityID(stored: id), "triggers", .text(TextNormalization.nfc(t)))
            }
            if let valueType { try set(.code, EntityID(stored: id), "value_type", .text(valueType)) }
        }
        return id
    }

    /// The value types a code may declare (schema 5).
    public static let valueTypes: Set<String> = ["number", "text"]

    static func checkValueType(_ t: String) throws {
        guard valueTypes.contains(t) else { throw MarginError.invalid("a value type is number or text, not '\(Printable.line(t))'") }
    }

    /// The value type a code declares, if any.
    public func valueType(of code: String) throws -> String? {
        try winner(.code, EntityID(stored: code), "value_type")?.value.string
    }

    /// A number as a value: Arabic digits, with `,` grouping thousands and
    /// a decimal point allowed, an optional sign, and an optional 萬/万
    /// (10,000) or 億/亿 (100,000,000) after: 38, 1,500, 1.2, 1.2萬.
    public static func isNumber(_ value: String) -> Bool {
        var s = Substring(value.trimmingCharacters(in: .whitespaces))
        if let last = s.last, "萬万億亿".contains(last) { s = s.dropLast() }
        if let first = s.first, first == "-" || first == "+" { s = s.dropFirst() }
        let parts = s.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count <= 2, let whole = parts.first, !whole.isEmpty else { return false }
        if parts.count == 2 { guard !parts[1].isEmpty, parts[1].allSatisfy({ $0.isASCII && $0.isNumber }) else { return false } }
        let groups = whole.split(separator: ",", omittingEmptySubsequences: false)
        guard groups.allSatisfy({ !$0.isEmpty && $0.allSatisfy { $0.isASCII && $0.isNumber } }) else { return false }
        if groups.count > 1 { return groups[0].count <= 3 && groups.dropFirst().allSatisfy { $0.count == 3 } }
        return true
    }

    /// Fails when `value` does not fit the type `code` declares.
    public func requireValue(_ value: String?, fits code: String?) throws {
        guard let value, !value.isEmpty, let code, try valueType(of: code) == "number", !Store.isNumber(value) else { return }
        let name = try winner(.code, EntityID(stored: code), "name")?.value.string ?? code
        throw MarginError.invalid("the code \(Printable.line(name)) takes a number as its value (38, 1,500, 1.2, 1.2萬), not '\(Printable.line(value))'")
    }

    /// How deep the code tree may grow by this node's own writes (a root
    /// code is at depth 1). Readers stay linear however deep a tree a peer
    /// sends; paths past this depth are shown by their last levels.
    public static let maxCodeDepth = 64

    /// Refuses a child of `parent` (or `moving`, with its subtree, under
    /// `parent`) that would sit deeper than `maxCodeDepth`.
    func requireRoomBelow(_ parent: String, moving code: String? = nil) throws {
        let parents = try codeLinks("parent").links
        var depth = 1, cursor = parent
        while let next = parents[cursor], depth <= Store.maxCodeDepth { depth += 1; cursor = next }
        var below = 0
        if let code {
            var children: [String: [String]] = [:]
            for (child, p) in parents { children[p, default: []].append(child) }
            var frontier = [(code, 1)]
            while let (c, d) = frontier.popLast() {
                below = max(below, d)
                if d <= Store.maxCodeDepth { for child in children[c] ?? [] { frontier.append((child, d + 1)) } }
            }
        } else {
            below = 1
        }
        guard depth + below <= Store.maxCodeDepth else {
            throw MarginError.invalid("the code tree would be more than \(Store.maxCodeDepth) levels deep there")
        }
    }

    public func renameCode(_ id: String, to rawName: String) throws {
        let name = TextNormalization.nfc(rawName.trimmingCharacters(in: .whitespaces))
        try Store.checkCodeName(name)
        try requireLiveCode(id)
        if let other = try liveCodeID(named: name), other != id { throw MarginError.invalid("a code named '\(name)' already exists") }
        _ = try write { try set(.code, EntityID(stored: id), "name", .text(name)) }
    }

    /// `triggers`: the code's trigger words for `suggest` (empty clears them).
    /// `valueType`: number or text; empty clears it.
    public func describeCode(_ id: String, description: String?, colour: String??, parent: String??, triggers: String? = nil,
                             valueType: String? = nil) throws {
        try requireLiveCode(id)
        if let valueType, !valueType.isEmpty { try Store.checkValueType(valueType) }
        if case .some(.some(let c)) = colour { try Store.checkColour(c) }
        if case .some(.some(let p)) = parent {
            try requireLiveCode(p)
            var cursor: String? = p
            var steps = 0
            while let c = cursor, steps <= Store.maxCodeDepth {
                if c == id { throw MarginError.invalid("a code cannot be its own ancestor") }
                cursor = try winner(.code, EntityID(stored: c), "parent")?.value.string
                steps += 1
            }
            try requireRoomBelow(p, moving: id)
        }
        try write {
            if let description { try set(.code, EntityID(stored: id), "description", description.isEmpty ? .null : .text(TextNormalization.nfc(description))) }
            if let colour { try set(.code, EntityID(stored: id), "colour", colour.map { .text($0.lowercased()) } ?? .null) }
            if let parent { try set(.code, EntityID(stored: id), "parent", parent.map { .text($0) } ?? .null) }
            if let t = triggers?.trimmingCharacters(in: .whitespaces) {
                if !t.isEmpty { try TextRules.requireLine(t, what: "the trigger words") }
                try set(.code, EntityID(stored: id), "triggers", t.isEmpty ? .null : .text(TextNormalization.nfc(t)))
            }
            if let valueType { try set(.code, EntityID(stored: id), "value_type", valueType.isEmpty ? .null : .text(valueType)) }
        }
    }

    /// Merges `source` into `target`: the annotations coded `source` are
    /// recoded, children move to `target`, and `source` points at `target` so
    /// annotations that arrive later from other nodes follow it too.
    public func mergeCode(_ source: String, into target: String) throws -> Int {
        guard source != target else { throw MarginError.invalid("cannot merge a code into itself") }
        try requireLiveCode(source)
        try requireLiveCode(target)
        return try write {
            let annotations = try db.rows("SELECT id FROM annotations WHERE code = ? AND deleted = 0", .text(source)).compactMap { $0[0].string }
            for a in annotations { try set(.annotation, EntityID(stored: a), "code", .text(target)) }
            let children = try db.rows("SELECT id FROM codes WHERE parent = ? AND deleted = 0", .text(source)).compactMap { $0[0].string }
            for c in children where c != target { try set(.code, EntityID(stored: c), "parent", .text(target)) }
            try set(.code, EntityID(stored: source), "merged_into", .text(target))
            return annotations.count
        }
    }

    /// Loads a codebook: one code a line, `name<TAB>parent<TAB>colour<TAB>description`,
    /// `#` comments. Codes already present by name are left as they are.
    /// Imports a codebook: TSV or CSV (RFC 4180 quoting) with the columns
    /// NAME, PARENT, COLOUR, DESCRIPTION, TRIGGERS (only NAME needed). The separator
    /// is the first line's: a tab if it has one, else a comma. A first row
    /// whose first cell is `name` or `code` is a header: it maps the columns
    /// by name (in any order; an unknown name is an error). Lines
    /// starting with # are comments. A parent must come before its children.
    public func importCodebook(_ text: String) throws -> (added: Int, existing: Int) {
        var added = 0, existing = 0
        // A REFI-QDA codebook (.qdc).
        if text.drop(while: { $0 == "\u{FEFF}" || $0.isWhitespace }).hasPrefix("<") {
            let root = try XML.parse(text)
            guard root.name == "CodeBook" || root.name == "Project" else {
                throw MarginError.invalid("not a REFI-QDA codebook: the root element is <\(root.name)>")
            }
            try write {
                for c in REFI.codes(in: root) {
                    if try liveCodeID(named: c.name) != nil { existing += 1; continue }
                    let parent = try c.parent.flatMap { try liveCodeID(named: $0) }
                    let colour = c.colour.flatMap { (try? Store.checkColour($0)) == nil ? nil : $0 }
                    try addCode(name: c.name, description: c.description, colour: colour, parent: parent)
                    added += 1
                }
            }
            return (added, existing)
        }
        let firstLine = text.split(separator: "\n").first { !$0.hasPrefix("#") && !$0.trimmingCharacters(in: .whitespaces).isEmpty } ?? ""
        let separator: Character = firstLine.contains("\t") || !firstLine.contains(",") ? "\t" : ","
        let rows = try DelimitedText.rows(text, separator: separator)
        // Columns by position, unless a header row names them.
        let columns = ["name", "parent", "colour", "description", "triggers", "value_type"]
        var position = Dictionary(uniqueKeysWithValues: columns.enumerated().map { ($1, $0) })
        try write {
            var first = true
            for (n, row) in rows {
                let cols = row.map { $0.trimmingCharacters(in: .whitespaces) }
                if cols.allSatisfy(\.isEmpty) || (cols.first?.hasPrefix("#") ?? false) { continue }
                defer { first = false }
                if first, ["name", "code"].contains(cols[0].lowercased()) {
                    position = [:]
                    for (i, raw) in cols.enumerated() {
                        let h = raw.lowercased()
                        let column = h == "code" ? "name" : h == "color" ? "colour" : h
                        guard columns.contains(column) else {
                            throw MarginError.invalid("codebook line \(n): unknown column '\(raw)' (name, parent, colour, description, triggers, value_type)")
                        }
                        guard position[column] == nil else { throw MarginError.invalid("codebook line \(n): column '\(raw)' is named twice") }
                        position[column] = i
                    }
                    continue
                }
                func cell(_ column: String) -> String? {
                    guard let i = position[column], i < cols.count, !cols[i].isEmpty else { return nil }
                    return cols[i]
                }
                guard let name = cell("name") else { continue }
                do {
                    if try liveCodeID(named: name) != nil { existing += 1; continue }
                    var parent: String?
                    if let given = cell("parent") {
                        guard let p = try liveCodeID(named: given) else { throw MarginError.notFound("unknown parent code '\(given)'") }
                        parent = p
                    }
                    let colour = cell("colour"), description = cell("description"), triggers = cell("triggers")
                    try addCode(name: name, description: description, colour: colour, parent: parent, triggers: triggers, valueType: cell("value_type"))
                    added += 1
                } catch {
                    throw MarginError.invalid("codebook line \(n): \(MarginError.message(for: error))")
                }
            }
        }
        return (added, existing)
    }

    func liveCodeID(named name: String) throws -> String? {
        try db.scalar("SELECT id FROM codes WHERE name = ? AND deleted = 0 AND merged_into IS NULL ORDER BY id LIMIT 1",
                      .text(TextNormalization.nfc(name))).string
    }

    // MARK: - Conflicts

    public enum Resolution: Sendable {
        case keepWinner
        case keepOther
        case value(String)
    }

    /// Settles a conflict with an ordinary change (it syncs like any other):
    /// the chosen value is written over the field's current value, and the
    /// conflict entity records how it was settled.
    public func resolve(conflict id: String, _ resolution: Resolution, comment: String?) throws {
        guard let c = try conflict(id) else { throw MarginError.notFound("no conflict \(id)") }
        guard c.isOpen else { throw MarginError.invalid("conflict \(id) is already resolved") }
        let isDeletion = c.field == FieldSchema.deleted
        let resolutionName: String
        switch resolution {
        case .keepWinner: resolutionName = "winner"
        case .keepOther: resolutionName = "other"
        case .value: resolutionName = "value"
        }
        if let comment { try TextRules.requireText(comment, what: "the comment") }
        try write {
            switch resolution {
            case .keepWinner:
                break
            case .keepOther:
                if isDeletion {
                    // The edits survive: the entity comes back, with them in place.
                    try set(c.kind, EntityID(stored: c.entity), FieldSchema.deleted, .int(0))
                } else if let group = FieldSchema.group(of: c.kind, field: c.field) {
                    // The other writer's whole group, never a mix of the two.
                    try setGroup(c.kind, EntityID(stored: c.entity), try group.map { ($0, try groupValue($0, of: c.loser) ?? .null) })
                } else {
                    try set(c.kind, EntityID(stored: c.entity), c.field, c.loser.value)
                }
            case .value(let v):
                guard !isDeletion else { throw MarginError.invalid("a delete-versus-edit conflict takes --keep winner or --keep other") }
                guard FieldSchema.group(of: c.kind, field: c.field) == nil else {
                    throw MarginError.invalid("a conflict over a \(c.field == "start" ? "span" : "review") takes --keep winner or --keep other")
                }
                let value: FieldValue
                switch FieldSchema.type(of: c.kind, field: c.field) {
                case .int?, .flag?:
                    guard let n = Int64(v) else { throw MarginError.invalid("\(c.field) takes a whole number") }
                    value = .int(n)
                default: value = .text(TextNormalization.nfc(v))
                }
                if let problem = FieldSchema.problem(kind: c.kind, field: c.field, value: value) { throw MarginError.invalid(problem) }
                try set(c.kind, EntityID(stored: c.entity), c.field, value)
            }
            try setGroup(.conflict, EntityID(stored: id), [
                ("resolution", .text(resolutionName)),
                ("comment", comment.flatMap { $0.isEmpty ? nil : FieldValue.text(TextNormalization.nfc($0)) } ?? .null),
                ("resolver", .text(node.name)),
            ], force: true)
        }
    }
}
