import Foundation
@testable import MarginCore
import MarginSQLite
import XCTest

/// A node known only through relays is named by the author it last wrote
/// on an annotation, not the gold layer's, from `node_authors` (kept as
/// changes are logged) rather than an index of every `author` change.
final class NodeAuthorsTests: StoreTestCase {
    private func annotate(_ store: Store, _ record: String, _ code: String, author: String? = nil) throws {
        _ = try store.annotate(record: record, code: code, span: .range(2, 7), value: nil, note: nil, author: author)
    }

    func testANodeKnownThroughARelayIsNamedByTheLastAuthorItWrote() throws {
        let a = try makeStore("alice"), b = try makeStore("bob"), c = try makeStore("carol")
        let (record, _) = try b.importReport(ReportDraft(body: "共有159名黨員加入其中,成立16個臨時黨支部。", title: "t"))
        let code = try b.addCode(name: "party-members", description: nil, colour: nil, parent: nil)
        try annotate(b, record, code)
        try deliver(b, a)
        try deliver(a, c)
        // carol has never met bob: his name comes with his changes.
        XCTAssertEqual(try c.nodeName(of: b.node.id), "bob")
        // An author name written later, in one write with a gold one after
        // it: the later name counts, the gold layer's does not.
        try b.write {
            try annotate(b, record, code, author: "bob (field)")
            try annotate(b, record, code, author: Store.goldAuthor)
        }
        try deliver(b, a)
        try deliver(a, c)
        XCTAssertEqual(try c.nodeName(of: b.node.id), "bob (field)")
        XCTAssertEqual(try c.db.scalar("SELECT count(*) FROM node_authors").int, 1)
        // A node that wrote no annotation has no name this way.
        XCTAssertNil(try b.nodeName(of: a.node.id))
    }

    /// `check` names a kept name the log does not give, and a missing one.
    func testCheckNamesAKeptAuthorTheLogDoesNotGive() throws {
        checkStoresAtTheEnd = false
        let store = try makeStore("a")
        let (record, _) = try store.importReport(ReportDraft(body: "成立16個臨時黨支部。", title: "t"))
        let code = try store.addCode(name: "branches", description: nil, colour: nil, parent: nil)
        try annotate(store, record, code)
        try store.check()
        try store.db.run("UPDATE node_authors SET name = 'someone else'")
        XCTAssertThrowsError(try store.check()) { error in
            XCTAssertTrue("\(error)".contains("node_authors"), "\(error)")
            XCTAssertTrue("\(error)".contains("someone else"), "\(error)")
        }
        try store.db.run("DELETE FROM node_authors")
        XCTAssertThrowsError(try store.check()) { error in
            XCTAssertTrue("\(error)".contains("but none in node_authors"), "\(error)")
        }
    }

    /// A store of file version 17 (the index of `author` changes) gets its
    /// names on opening, and loses that index.
    func testAVersion17StoreGetsItsNamesOnOpening() throws {
        let dir = self.dir.appendingPathComponent("old").path
        do {
            let store = try Store.create(directory: dir, name: "old")
            let (record, _) = try store.importReport(ReportDraft(body: "成立16個臨時黨支部。", title: "t"))
            let code = try store.addCode(name: "branches", description: nil, colour: nil, parent: nil)
            try annotate(store, record, code, author: "first")
            try annotate(store, record, code, author: "second")
            try annotate(store, record, code, author: Store.goldAuthor)
            try store.db.execute("""
                DROP TABLE node_authors;
                CREATE INDEX log_authors ON log(origin, seq) WHERE field = 'author';
                PRAGMA user_version = 17;
                """)
            store.db.close()
        }
        let store = try Store(directory: dir)
        made.append(store)
        XCTAssertEqual(try store.db.scalar("SELECT count(*) FROM sqlite_master WHERE name = 'log_authors'").int, 0)
        XCTAssertEqual(try store.db.rows("SELECT name FROM node_authors").compactMap { $0[0].string }, ["second"])
    }
}
