@testable import MarginCore
import XCTest

/// The vocabulary (`Vocabulary.fields`) against what reads it and what it
/// must agree with: the tables of a store made by this release, and the
/// rules as they stood when they were spelled out by hand.
final class VocabularyTests: StoreTestCase {
    func testEveryProjectedColumnIsInItsTableAndEveryFieldColumnIsDeclared() throws {
        let store = try makeStore("a")
        let bookkeeping: Set<String> = ["id", "key", "created_ms", "updated_ms", "ever_deleted", "folded", "stale"]
        for (kind, table) in [(EntityKind.record, "records"), (.annotation, "annotations"), (.code, "codes")] {
            let columns = Set(try store.db.rows("SELECT name FROM pragma_table_info(?)", .text(table)).compactMap { $0[0].string })
            XCTAssertFalse(columns.isEmpty, table)
            let declared = Set(Vocabulary.columns(of: kind).values)
            XCTAssertTrue(declared.isSubset(of: columns), "\(table) lacks \(declared.subtracting(columns))")
            XCTAssertEqual(columns.subtracting(bookkeeping), declared, "\(table) has columns the vocabulary does not project")
        }
    }

    func testTheDerivedRulesAreTheOnesSpelledOutBefore() {
        XCTAssertEqual(ChangeRules.multiline, ["body", "received", "note", "comment", "value", "description", "quote", "prefix", "suffix"])
        XCTAssertEqual(Record.metadataFields, ["title", "source", "published", "place", "url", "author", "editor"])
        XCTAssertEqual(Set(FieldSchema.recordFields.keys), ["body", "title", "source", "published", "place", "url", "author", "editor", "deleted", "received"])
        XCTAssertEqual(Set(FieldSchema.codeFields.keys), ["name", "description", "colour", "parent", "merged_into", "deleted", "triggers", "value_type"])
        XCTAssertEqual(Set(FieldSchema.conflictFields.keys), ["resolution", "comment", "resolver"])
        XCTAssertEqual(FieldSchema.annotationFields["start"], .int)
        XCTAssertEqual(FieldSchema.annotationFields[FieldSchema.deleted], .flag)
        XCTAssertEqual(Vocabulary.columns(of: .annotation)["end"], "span_end")
        XCTAssertEqual(ChangeRules.reference(.annotation, "record"), .record)
        XCTAssertEqual(ChangeRules.reference(.code, "merged_into"), .code)
        XCTAssertNil(ChangeRules.reference(.record, "source"))
        // Every field of a group is declared, and of the group's kind.
        for (kind, groups) in FieldSchema.groups {
            for field in groups.joined() { XCTAssertNotNil(FieldSchema.fields(of: kind)[field], "\(kind).\(field)") }
        }
    }

    /// A record and a draft hold each metadata field of the vocabulary as
    /// a property of the same name, and `metadata(_:)` reads that property:
    /// a field added to the vocabulary without its property, or mapped to
    /// another one, fails here.
    /// A rebuild empties a rowid table in batches and the others whole:
    /// the list of those without a rowid is the schema's.
    func testTheDerivedTablesWithoutARowidAreTheSchemas() throws {
        let s = try makeStore("a")
        var withoutRowid: Set<String> = []
        for table in Schema.derivedTables {
            let sql = try s.db.scalar("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", .text(table)).string
            XCTAssertNotNil(sql, table)
            if sql?.uppercased().contains("WITHOUT ROWID") == true { withoutRowid.insert(table) }
        }
        XCTAssertEqual(withoutRowid, Schema.derivedTablesWithoutRowid)
    }

    func testEachMetadataFieldIsThePropertyOfItsName() {
        var draft = ReportDraft(body: "正文")
        let values = Dictionary(uniqueKeysWithValues: Record.metadataFields.enumerated().map { ($1, "值\($0)") })
        draft.title = values["title"]; draft.source = values["source"]; draft.published = values["published"]
        draft.place = values["place"]; draft.url = values["url"]; draft.author = values["author"]; draft.editor = values["editor"]
        draft.meta = ["县": "曲麻莱县"]
        let record = Record(id: "r", title: draft.title, source: draft.source, published: draft.published, place: draft.place,
                            url: draft.url, author: draft.author, editor: draft.editor, body: draft.body, meta: draft.meta,
                            created: 0, updated: 0)
        for value in [draft as any RecordMetadata, record] {
            // The optional text properties, by name.
            let properties = Dictionary(uniqueKeysWithValues: Mirror(reflecting: value).children.compactMap { child -> (String, String?)? in
                guard let label = child.label, let text = child.value as? String? else { return nil }
                return (label, text)
            })
            for field in Record.metadataFields {
                XCTAssertTrue(properties.keys.contains(field), "\(type(of: value)) has no property \(field)")
                XCTAssertEqual(value.metadata(field), values[field], "\(type(of: value)).\(field)")
                XCTAssertEqual(properties[field].flatMap { $0 }, values[field], "\(type(of: value)).\(field)")
            }
            XCTAssertEqual(value.metadata("县"), "曲麻莱县")
        }
        XCTAssertEqual(draft.fields.map(\.field), Record.metadataFields)
        XCTAssertEqual(draft.fields.map(\.value), Record.metadataFields.map { values[$0] })
    }

    func testEachFieldIsDeclaredOnce() {
        var seen: Set<String> = []
        for f in Vocabulary.fields { XCTAssertTrue(seen.insert("\(f.kind).\(f.name)").inserted, "\(f.kind).\(f.name) twice") }
    }
}
