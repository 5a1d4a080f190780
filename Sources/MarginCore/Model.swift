import Foundation

/// A report as the store shows it now.
public struct Record: Equatable, Sendable {
    public var id: String
    public var title: String?
    public var source: String?
    public var published: String?
    public var place: String?
    public var url: String?
    public var author: String?
    public var editor: String?
    public var body: String
    public var meta: [String: String]
    public var created: Int64
    public var updated: Int64

    /// The editable metadata fields (the body changes only by `reclean`).
    public static let metadataFields = Vocabulary.metadataFields
}

extension Record {
    /// A record known by its id and text alone (what an export of texts reads).
    init(id: String, body: String) {
        self.init(id: id, title: nil, source: nil, published: nil, place: nil, url: nil, author: nil, editor: nil,
                  body: body, meta: [:], created: 0, updated: 0)
    }
}

/// What a record and a report about to be stored share: the metadata
/// fields (`Record.metadataFields`) as properties, and free metadata in
/// `meta`. The one place a field's name is mapped to its property.
public protocol RecordMetadata {
    var title: String? { get }
    var source: String? { get }
    var published: String? { get }
    var place: String? { get }
    var url: String? { get }
    var author: String? { get }
    var editor: String? { get }
    var meta: [String: String] { get }
}

extension RecordMetadata {
    /// A metadata field's value by its name; any other name is free metadata.
    public func metadata(_ field: String) -> String? {
        switch field {
        case "title": return title
        case "source": return source
        case "published": return published
        case "place": return place
        case "url": return url
        case "author": return author
        case "editor": return editor
        default: return meta[field]
        }
    }
}

extension Record: RecordMetadata {}

public enum ReviewStatus: String, CaseIterable, Sendable {
    case open, accepted, rejected
    /// Proposed by `margin suggest` (schema 4), not yet taken by a coder.
    case suggested
}

/// A coded span, record-level tag or note, as the store shows it now.
public struct Annotation: Equatable, Sendable {
    public var id: String
    public var record: String
    public var code: String?
    public var codeName: String?
    public var span: Span?
    public var value: String?
    public var note: String?
    public var status: ReviewStatus
    public var comment: String?
    public var reviewer: String?
    public var author: String?
    public var created: Int64
    public var updated: Int64
    /// The review (accepted or rejected) that went stale: the code, span or
    /// value changed after, or concurrently with, it. `status` is then open.
    public var staleReview: ReviewStatus? = nil
    /// What the review reviewed (PROTOCOL.md §1, "Field groups").
    public var reviewed: String? = nil

    public var kindLabel: String { span != nil ? "span" : (code != nil ? "tag" : "note") }

    /// Whose coding this annotation is: its author's (the gold layer's for
    /// `adjudicate`'s copies), nil for a suggestion, which is no one's until
    /// a coder accepts it (then it is the accepter's). Reviews never change
    /// it: a colleague's or an adjudicator's verdict on what a coder coded
    /// does not change what they coded, so agreement reads the same before
    /// and after adjudication. A rejected suggestion is deleted.
    public var layer: String? { status == .suggested ? nil : author }
}

/// A codebook entry. `mergedInto` points at the code that replaced it.
public struct Code: Equatable, Sendable {
    public var id: String
    public var name: String
    public var description: String?
    public var colour: String?
    public var parent: String?
    public var mergedInto: String?
    public var count: Int
    /// A link this code's changes set but that is ignored because it closes
    /// a cycle (see `Store.codeLinks`), for display.
    public var ignoredLink: String? = nil
}

/// A pair of concurrent changes that the store keeps for review.
/// `winner` and `loser` are the two changes as shown: every field but the
/// chain link (`prev` is the genesis link) and what each writer had seen
/// (`seen` is nil), which a conflict, read to be reviewed and never sent,
/// does not need (`Store.change(_:)` reads both). Parsing `seen` was a
/// tenth of `margin conflicts` at a million changes.
public struct Conflict: Equatable, Sendable {
    public var id: String
    public var kind: EntityKind
    public var entity: String
    public var field: String
    public var winner: Change
    public var loser: Change
    public var detectedMilliseconds: Int64
    public var resolution: String?
    public var comment: String?
    public var resolver: String?
    public var isOpen: Bool { resolution == nil }
}
