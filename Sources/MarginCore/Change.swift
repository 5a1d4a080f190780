import MarginSQLite

/// A node's identity: 8 bytes derived from its public key (random for a store
/// made before schema 3), written as 16 lower-case hex digits. A type of its
/// own, not a `String`, so that a node id cannot be passed where an entity id
/// or a name is meant, and so that one checked spelling is the only way in
/// from outside text.
public struct NodeID: Hashable, Comparable, Sendable, CustomStringConvertible, ExpressibleByStringLiteral {
    /// The 16 lower-case hex digits: the spelling in the change log, on the
    /// wire and in every output.
    public let hex: String

    /// Outside text (a peer's, a bundle's, a person's): nil unless it is
    /// 16 lower-case hex digits (`LowerHex`, the one id rule).
    public init?(_ text: some StringProtocol) {
        let s = String(text)
        guard LowerHex.matches(s, length: 16) else { return nil }
        hex = s
    }

    /// Text this store wrote itself (its own columns), checked when it came in.
    public init(stored: String) { hex = stored }

    /// A literal in the program's own text (tests, fixtures).
    public init(stringLiteral value: String) { hex = value }

    public var description: String { hex }

    /// Bytewise on the hex, as SQLite compares the `origin` column.
    public static func < (a: NodeID, b: NodeID) -> Bool { a.hex < b.hex }
}

/// An entity's id: lower-case hex, 32 digits for a record or an
/// annotation, 16 for a code or a conflict (`ChangeRules.isID`). A type of
/// its own, not a `String`, so that an entity id cannot be passed where a
/// node id, a field or a value is meant. The change codec reads any 1 to
/// 128 bytes into one; the receive rules refuse a change whose id does not
/// have its kind's form (PROTOCOL.md §4), so every id in a store has it.
public struct EntityID: Hashable, Comparable, Sendable, CustomStringConvertible, ExpressibleByStringLiteral {
    /// The id as the change log, the wire and every output spell it.
    public let text: String

    /// Text this store holds, or a received change's: the receive rules
    /// check its form before it is stored.
    public init(stored text: String) { self.text = text }

    /// Outside text that must name an entity of `kind`: nil unless it has
    /// that kind's form.
    public init?(_ text: some StringProtocol, of kind: EntityKind) {
        let s = String(text)
        guard ChangeRules.isID(s, of: kind) else { return nil }
        self.text = s
    }

    /// A literal in the program's own text (tests, fixtures).
    public init(stringLiteral value: String) { text = value }

    public var description: String { text }

    /// Bytewise on the text, as SQLite compares the `id` columns.
    public static func < (a: EntityID, b: EntityID) -> Bool { a.text < b.text }
}

/// Names one change everywhere: the node it was made on and its place in that
/// node's dense sequence (1, 2, 3, ...).
public struct ChangeID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var origin: NodeID
    public var seq: Int64

    public init(origin: NodeID, seq: Int64) {
        self.origin = origin
        self.seq = seq
    }

    public var description: String { "\(origin):\(seq)" }

    public init?(_ text: String) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let seq = Int64(parts[1]), seq > 0, let origin = NodeID(parts[0]) else { return nil }
        self.init(origin: origin, seq: seq)
    }

    public static func < (a: ChangeID, b: ChangeID) -> Bool { (a.origin, a.seq) < (b.origin, b.seq) }
}

/// What a change writes: a field value is text, an integer, or nothing.
public enum FieldValue: Hashable, Sendable, CustomStringConvertible {
    case null
    case int(Int64)
    case text(String)

    public var sql: SQLValue {
        switch self {
        case .null: return .null
        case .int(let v): return .integer(v)
        case .text(let v): return .text(v)
        }
    }

    public init(_ sql: SQLValue) throws {
        switch sql {
        case .null: self = .null
        case .integer(let v): self = .int(v)
        case .text(let v): self = .text(v)
        default: throw MarginError.corrupt("a change holds a value of an unsupported type")
        }
    }

    public var string: String? { if case .text(let s) = self { return s } else { return nil } }
    public var int: Int64? { if case .int(let v) = self { return v } else { return nil } }

    public var description: String {
        switch self {
        case .null: return "(none)"
        case .int(let v): return String(v)
        case .text(let s): return s
        }
    }
    /// The value as the id of an entity (a field that names one: an
    /// annotation's record, a code's parent).
    public var entityID: EntityID? { string.map { EntityID(stored: $0) } }
}

/// The kinds of entity the change log describes.
/// Not `RawRepresentable`, on purpose: a raw-valued enum hashes its name,
/// and kinds key the tables a change is applied through, once or more per
/// change. This one hashes its case; `rawValue` is its name on the wire.
public enum EntityKind: CaseIterable, Hashable, Sendable {
    case record, annotation, code, conflict

    public var rawValue: String {
        switch self {
        case .record: "record"
        case .annotation: "annotation"
        case .code: "code"
        case .conflict: "conflict"
        }
    }

    public init?(rawValue: String) {
        switch rawValue {
        case "record": self = .record
        case "annotation": self = .annotation
        case "code": self = .code
        case "conflict": self = .conflict
        default: return nil
        }
    }
}

/// One entry of the change log: one field of one entity set to one value.
///
/// `supersedes` is the change the writer saw as the field's current value
/// (nil for the first write); two changes that supersede the same base were
/// made without seeing each other. `deletionBase` is the winning change of the
/// entity's `deleted` field the writer saw (for changes to other fields), and
/// `seen` is the writer's version vector (for changes to `deleted`): with them
/// a delete racing an edit is recognised on every node alike.
public struct Change: Hashable, Sendable {
    public var id: ChangeID
    public var hlc: HLC
    public var kind: EntityKind
    public var entity: EntityID
    public var field: String
    public var value: FieldValue
    public var supersedes: ChangeID?
    public var deletionBase: ChangeID?
    public var seen: VersionVector?
    /// The hash of the origin's previous change (`ChangeHash.genesis` for
    /// its first): the link of the origin's hash chain.
    public var prev: [UInt8]

    public init(id: ChangeID, hlc: HLC, kind: EntityKind, entity: EntityID, field: String, value: FieldValue,
                supersedes: ChangeID? = nil, deletionBase: ChangeID? = nil, seen: VersionVector? = nil,
                prev: [UInt8] = ChangeHash.genesis) {
        self.id = id; self.hlc = hlc; self.kind = kind; self.entity = entity; self.field = field
        self.value = value; self.supersedes = supersedes; self.deletionBase = deletionBase; self.seen = seen
        self.prev = prev
    }

    /// This change's link in its origin's hash chain (see `ChangeHash`).
    public var hash: [UInt8] { ChangeHash.of(self) }

    /// The total order that decides every field: hybrid clock first, the
    /// origin node id breaking ties. Never the value, so every node, whatever
    /// order changes arrived in, picks the same winner.
    /// What LWW compares: the clock reading, then the origin, then the
    /// sequence number, so that the order is total even for a writer that
    /// stamps two changes to one field with the same reading.
    public struct Stamp: Comparable, Hashable, Sendable {
        public var hlc: HLC
        public var origin: NodeID
        public var seq: Int64
        public init(hlc: HLC, origin: NodeID, seq: Int64) { self.hlc = hlc; self.origin = origin; self.seq = seq }
        public static func < (a: Stamp, b: Stamp) -> Bool {
            if a.hlc != b.hlc { return a.hlc < b.hlc }
            if a.origin != b.origin { return a.origin < b.origin }
            return a.seq < b.seq
        }
    }

    public var stamp: Stamp { Stamp(hlc: hlc, origin: id.origin, seq: id.seq) }

    /// The last-writer-wins rule, the only place it is written: a change
    /// replaces the current value of its field when its stamp is higher.
    public static func wins(_ candidate: Stamp, over current: Stamp?) -> Bool {
        guard let current else { return true }
        return candidate > current
    }

    /// The same order in SQL, highest stamp first, over a row's `ms`, `ctr`,
    /// `origin` (the node id's text) and `seq` columns, of the table or
    /// alias `table` when given: for queries that pick a winner or list
    /// changes newest first in SQLite. SQLite compares text bytewise, as
    /// `Stamp` compares the lower-case hex node ids.
    public static func sqlHighestFirst(_ table: String? = nil) -> String {
        let p = table.map { $0 + "." } ?? ""
        return "\(p)ms DESC, \(p)ctr DESC, \(p)origin DESC, \(p)seq DESC"
    }
}

/// Per origin node, the highest sequence number held (all lower ones are held too).
public struct VersionVector: Hashable, Sendable, CustomStringConvertible {
    public var heads: [NodeID: Int64]

    public init(_ heads: [NodeID: Int64] = [:]) { self.heads = heads }

    public func covers(_ id: ChangeID) -> Bool { (heads[id.origin] ?? 0) >= id.seq }

    /// "origin:seq,origin:seq" in origin order: the change-log column form.
    public var description: String {
        heads.sorted { $0.key < $1.key }.map { "\($0.key):\($0.value)" }.joined(separator: ",")
    }

    public init?(parsing text: String) {
        // The column's own form, read byte by byte: splitting the text and
        // each part again was a sixth of `margin conflicts` (every deletion
        // carries one). Anything else takes the general reading below.
        if let canonical = VersionVector.canonicalHeads(text) {
            self.init(canonical)
            return
        }
        var heads: [NodeID: Int64] = [:]
        if !text.isEmpty {
            for part in text.split(separator: ",") {
                guard let id = ChangeID(String(part)) else { return nil }
                heads[id.origin] = id.seq
            }
        }
        self.init(heads)
    }

    /// The heads of text in exactly the form `description` writes (16
    /// lower-case hex digits, a colon, a positive decimal without sign or
    /// leading zero, parts joined by single commas); nil for anything else.
    static func canonicalHeads(_ text: String) -> [NodeID: Int64]? {
        var heads: [NodeID: Int64] = [:]
        let bytes = text.utf8
        var i = bytes.startIndex
        guard i != bytes.endIndex else { return heads }
        while true {
            let start = i
            for _ in 0..<16 {
                guard i != bytes.endIndex else { return nil }
                let b = bytes[i]
                guard LowerHex.isDigit(b) else { return nil }
                bytes.formIndex(after: &i)
            }
            let origin = NodeID(stored: String(Substring(text.utf8[start..<i])))
            guard i != bytes.endIndex, bytes[i] == 0x3a else { return nil }
            bytes.formIndex(after: &i)
            var seq: Int64 = 0, digits = 0
            while i != bytes.endIndex, bytes[i] >= 0x30, bytes[i] <= 0x39 {
                if digits == 0 && bytes[i] == 0x30 { return nil }
                digits += 1
                guard digits <= 18 else { return nil }
                seq = seq * 10 + Int64(bytes[i] - 0x30)
                bytes.formIndex(after: &i)
            }
            guard digits > 0 else { return nil }
            heads[origin] = seq
            if i == bytes.endIndex { return heads }
            guard bytes[i] == 0x2c else { return nil }
            bytes.formIndex(after: &i)
        }
    }
}

/// Which fields each kind has and what type each holds. Changes are checked
/// against it wherever they come from, so the state tables never hold a field
/// they do not know.
public enum FieldSchema {
    public enum ValueType: Sendable { case text, int, flag }

    /// The field every kind has: 1 makes the entity a tombstone, null or 0
    /// brings it back (PROTOCOL.md §3). The one spelling of its name.
    public static let deleted = "deleted"

    /// Each kind's fields and their types (declared in `Vocabulary`).
    public static let recordFields = Vocabulary.types(of: .record)
    public static let annotationFields = Vocabulary.types(of: .annotation)
    public static let codeFields = Vocabulary.types(of: .code)
    public static let conflictFields = Vocabulary.types(of: .conflict)

    /// Fields that are only meaningful together. A writer writes all of a
    /// group's fields every time, with one clock reading, so a concurrent
    /// write of the same group elsewhere wins every field or none, and the
    /// group is never torn between two writers. A group's first field stands
    /// for it in conflicts.
    public static let groups: [EntityKind: [[String]]] = [
        .annotation: [["start", "end", "quote", "prefix", "suffix"], ["status", "comment", "reviewer", "reviewed"]],
        .conflict: [["resolution", "comment", "resolver"]],
    ]

    /// The group `field` belongs to, if any.
    public static func group(of kind: EntityKind, field: String) -> [String]? {
        groups[kind]?.first { $0.contains(field) }
    }

    /// Free record metadata lives in fields named `meta.<key>`.
    public static let metaPrefix = "meta."

    /// The one rule for a metadata key (PROTOCOL.md §1): 1 to 59 bytes, one
    /// line with no control character, no `=`, no spaces around it. Nil
    /// when `key` keeps it; what the write, the import and the receiver
    /// each say when it does not.
    public static func metaKeyProblem(_ key: String) -> String? {
        if key.isEmpty || key.utf8.count > 59 { return "metadata key '\(Printable.line(key))' must be 1 to 59 bytes" }
        if TextRules.problem(inLine: key) != nil || key.contains("=") || key != key.trimmingCharacters(in: .whitespaces) {
            return "metadata key '\(Printable.line(key))' must be one line without '=' or surrounding spaces"
        }
        return nil
    }
    /// Schema 5: a coder's mark that they finished coding a record lives in
    /// the record field `done.<coder>` (1, or null once taken back). Per
    /// coder, so two coders' marks never conflict.
    public static let donePrefix = "done."

    public static func fields(of kind: EntityKind) -> [String: ValueType] {
        switch kind {
        case .record: return recordFields
        case .annotation: return annotationFields
        case .code: return codeFields
        case .conflict: return conflictFields
        }
    }

    public static func type(of kind: EntityKind, field: String) -> ValueType? {
        if kind == .record, field.hasPrefix(metaPrefix), field.count > metaPrefix.count, field.utf8.count <= 64 { return .text }
        if kind == .record, field.hasPrefix(donePrefix), field.count > donePrefix.count, field.utf8.count <= 64 { return .flag }
        return fields(of: kind)[field]
    }

    /// The most bytes of UTF-8 one text value holds (PROTOCOL.md §1), so
    /// that every change fits a batch, and a batch a frame, on every node.
    public static let maxTextBytes = 4 << 20

    /// Nil when the change fits the schema, else why not.
    public static func problem(kind: EntityKind, field: String, value: FieldValue) -> String? {
        guard let type = type(of: kind, field: field) else { return "unknown field \(kind.rawValue).\(field)" }
        if case .text(let s) = value, s.utf8.count > maxTextBytes {
            return "\(kind.rawValue).\(field) holds \(s.utf8.count) bytes, over the \(maxTextBytes) bytes (4 MiB) one value may hold"
        }
        switch (type, value) {
        case (_, .null): return nil
        case (.text, .text): return nil
        case (.int, .int): return nil
        case (.flag, .int(let v)) where v == 0 || v == 1: return nil
        default: return "wrong value type for \(kind.rawValue).\(field)"
        }
    }
}

extension SQLValue {
    /// A node id as the store's `origin` and `id` columns hold it.
    public static func node(_ id: NodeID) -> SQLValue { .text(id.hex) }
    /// A node id column this store wrote (checked when it came in).
    public var node: NodeID? { string.map(NodeID.init(stored:)) }
    /// An entity id as the store's `id` and `entity` columns hold it.
    public static func entity(_ id: EntityID) -> SQLValue { .text(id.text) }
}

extension Statement {
    /// Column `i` as a node id this store wrote.
    func node(_ i: Int) -> NodeID? { text(i).map(NodeID.init(stored:)) }
    func bind(_ i: Int32, _ id: EntityID) throws { try bind(i, id.text) }
}
