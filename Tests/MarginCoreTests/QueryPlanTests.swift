@testable import MarginCore
import MarginSQLite
import XCTest

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

    /// A node known by its bundles is named from its last annotation's
    /// author, found by the index of author changes (observed: `log -n 20`
    /// walked back through every change the node made since it last
    /// annotated, 40 ms on a 340,000-change store).
    func testANodesNameIsReadFromTheIndexOfAuthors() throws {
        let store = try makeStore("a")
        let p = try plan(store, Store.authorNameSQL, .text("x"), .text(Store.goldAuthor))
        XCTAssertTrue(p.contains("USING INDEX log_authors (origin=?)"), p)
        XCTAssertFalse(p.contains("TEMP B-TREE"), p)
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
