@testable import MarginCore
import MarginSQLite
import XCTest

/// The vocabulary (`Vocabulary.fields`) against what reads it and what it
/// must agree with: the tables of a store made by this release, and the
/// rules as they stood when they were spelled out by hand.
final class VocabularyTests: StoreTestCase {
    func testEveryProjectedColumnIsInItsTableAndEveryFieldColumnIsDeclared() throws {
        let store = try makeStore("a")
        let bookkeeping: Set<String> = ["id", "created_ms", "updated_ms", "ever_deleted", "folded"]
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

    func testEachFieldIsDeclaredOnce() {
        var seen: Set<String> = []
        for f in Vocabulary.fields { XCTAssertTrue(seen.insert("\(f.kind).\(f.name)").inserted, "\(f.kind).\(f.name) twice") }
    }
}

/// Queries whose cost must follow what they return, not the store: their
/// plans, as SQLite chooses them on a store of this release.
final class QueryPlanTests: StoreTestCase {
    /// On a connection of its own, so the store's stays as it was.
    func plan(_ store: Store, _ sql: String, _ values: SQLValue...) throws -> String {
        let db = try Database(path: store.path)
        defer { db.close() }
        return try db.statement("EXPLAIN QUERY PLAN " + sql).all(values).compactMap { $0[3].string }.joined(separator: "\n")
    }

    /// `log -n N` reads the log by clock reading and sorts only the ties
    /// (observed: 2.9 s at 1M changes, sorting the whole log).
    func testTheNewestChangesAreReadByTheTimeIndex() throws {
        let store = try makeStore("a")
        let p = try plan(store, Store.logSQL(limit: 20, entity: false))
        XCTAssertTrue(p.contains("USING INDEX log_by_time"), p)
        XCTAssertTrue(p.contains("RIGHT PART OF ORDER BY"), p)
        // One entity's log is found by its key, not by the time index.
        let one = try plan(store, Store.logSQL(limit: 20, entity: true), .text("x"))
        XCTAssertFalse(one.contains("log_by_time"), one)
        XCTAssertTrue(one.contains("PRIMARY KEY (entity=?)"), one)
    }

    /// The order `log` prints stays the LWW order, ties included.
    func testTheLogIsNewestFirstInTheLWWOrder() throws {
        let store = try makeStore("a")
        let code = try store.addCode(name: "甲", description: nil, colour: nil, parent: nil)
        try store.write { for i in 0..<30 { _ = try store.addCode(name: "code \(i)", description: "d", colour: nil, parent: nil) } }
        try store.renameCode(code, to: "乙")
        let all = try store.log(limit: nil)
        XCTAssertEqual(all.map(\.stamp), all.map(\.stamp).sorted(by: >))
        XCTAssertEqual(try store.log(limit: 7).map(\.id), Array(all.prefix(7)).map(\.id))
    }
}
