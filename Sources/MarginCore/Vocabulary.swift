/// The data vocabulary, declared once: every field of every kind, with the
/// type of its value, whether its text may run over lines, the column of
/// the entity's row it is projected into, the kind of entity its value
/// names, and whether it is a record's metadata. `FieldSchema` (what a
/// change may carry), `ChangeRules` (multiline text, references), the
/// projection of rows (`Store.fold`) and `Record.metadataFields` are read
/// from here; `VocabularyTests` checks the schema's tables against it.
///
/// Adding a field is a new data schema (`Schema.dataVersion`): peers and
/// bundles of another schema are refused, so every node knows every field.
public struct FieldSpec: Sendable {
    public let kind: EntityKind
    public let name: String
    public let type: FieldSchema.ValueType
    /// Its text may hold tab and line breaks (every other text is one line).
    public let multiline: Bool
    /// The column of the entity's row that holds its winning value.
    public let column: String?
    /// The kind of entity its value names, by id.
    public let names: EntityKind?
    /// One of a record's editable metadata fields (`Record.metadataFields`).
    public let metadata: Bool

    init(_ kind: EntityKind, _ name: String, _ type: FieldSchema.ValueType, multiline: Bool = false,
         column: String? = nil, names: EntityKind? = nil, metadata: Bool = false) {
        self.kind = kind; self.name = name; self.type = type; self.multiline = multiline
        self.column = column; self.names = names; self.metadata = metadata
    }
}

public enum Vocabulary {
    /// In the order metadata is shown; `deleted` is every kind's tombstone
    /// flag (PROTOCOL.md §3). Free metadata (`meta.<key>`) and done marks
    /// (`done.<coder>`) are families of record fields, in `FieldSchema`.
    public static let fields: [FieldSpec] = [
        FieldSpec(.record, "title", .text, column: "title", metadata: true),
        FieldSpec(.record, "source", .text, column: "source", metadata: true),
        FieldSpec(.record, "published", .text, column: "published", metadata: true),
        FieldSpec(.record, "place", .text, column: "place", metadata: true),
        FieldSpec(.record, "url", .text, column: "url", metadata: true),
        FieldSpec(.record, "author", .text, column: "author", metadata: true),
        FieldSpec(.record, "editor", .text, column: "editor", metadata: true),
        FieldSpec(.record, "body", .text, multiline: true, column: "body"),
        // Schema 6: the report as received (`Store.received`), which the
        // record id is the hash of; the body may then be cleaned again.
        FieldSpec(.record, "received", .text, multiline: true),
        FieldSpec(.record, FieldSchema.deleted, .flag, column: "deleted"),

        FieldSpec(.annotation, "record", .text, column: "record", names: .record),
        FieldSpec(.annotation, "code", .text, column: "code", names: .code),
        FieldSpec(.annotation, "start", .int, column: "span_start"),
        FieldSpec(.annotation, "end", .int, column: "span_end"),
        FieldSpec(.annotation, "quote", .text, multiline: true, column: "quote"),
        FieldSpec(.annotation, "prefix", .text, multiline: true, column: "prefix"),
        FieldSpec(.annotation, "suffix", .text, multiline: true, column: "suffix"),
        FieldSpec(.annotation, "value", .text, multiline: true, column: "value"),
        FieldSpec(.annotation, "note", .text, multiline: true, column: "note"),
        FieldSpec(.annotation, "status", .text, column: "status"),
        FieldSpec(.annotation, "comment", .text, multiline: true, column: "comment"),
        FieldSpec(.annotation, "reviewer", .text, column: "reviewer"),
        FieldSpec(.annotation, "reviewed", .text, column: "reviewed"),
        FieldSpec(.annotation, "author", .text, column: "author"),
        FieldSpec(.annotation, FieldSchema.deleted, .flag, column: "deleted"),

        FieldSpec(.code, "name", .text, column: "name"),
        FieldSpec(.code, "description", .text, multiline: true, column: "description"),
        FieldSpec(.code, "colour", .text, column: "colour"),
        FieldSpec(.code, "parent", .text, column: "parent", names: .code),
        FieldSpec(.code, "merged_into", .text, column: "merged_into", names: .code),
        // Schema 4: words that suggest the code (`margin suggest`), comma-separated.
        FieldSpec(.code, "triggers", .text),
        // Schema 5: what the code's values are, `number` or `text`.
        FieldSpec(.code, "value_type", .text),
        FieldSpec(.code, FieldSchema.deleted, .flag, column: "deleted"),

        FieldSpec(.conflict, "resolution", .text),
        FieldSpec(.conflict, "comment", .text, multiline: true),
        FieldSpec(.conflict, "resolver", .text),
    ]

    /// A kind's fields and their types.
    static func types(of kind: EntityKind) -> [String: FieldSchema.ValueType] {
        Dictionary(uniqueKeysWithValues: fields.filter { $0.kind == kind }.map { ($0.name, $0.type) })
    }

    /// A kind's projected fields and the column each is projected into.
    static func columns(of kind: EntityKind) -> [String: String] {
        Dictionary(uniqueKeysWithValues: fields.filter { $0.kind == kind }.compactMap { f in f.column.map { (f.name, $0) } })
    }

    /// The names of fields whose text may run over lines, of any kind.
    static let multilineNames = Set(fields.filter(\.multiline).map(\.name))

    /// What a field's value names, by kind and field.
    private static let references: [EntityKind: [String: EntityKind]] = fields.reduce(into: [:]) { out, f in
        if let target = f.names { out[f.kind, default: [:]][f.name] = target }
    }
    private static let recordReferences = references[.record] ?? [:], annotationReferences = references[.annotation] ?? [:]
    private static let codeReferences = references[.code] ?? [:], conflictReferences = references[.conflict] ?? [:]
    /// A kind's references, switched rather than looked up by kind: every
    /// text value a receiver takes asks it.
    static func references(of kind: EntityKind) -> [String: EntityKind] {
        switch kind {
        case .record: recordReferences
        case .annotation: annotationReferences
        case .code: codeReferences
        case .conflict: conflictReferences
        }
    }

    /// The record's editable metadata fields, in the order shown.
    static let metadataFields = fields.filter { $0.kind == .record && $0.metadata }.map(\.name)
}
