import Foundation
@testable import MarginCore
import MarginSQLite
import XCTest

/// A store made by the release before schema 2 (Fixtures/schema1-alice.sql,
/// `sqlite3 .dump` of a real store) upgrades in place: hash chains computed,
/// conflicts filed by the new rules, schema-1 resolutions kept.
final class MigrationTests: StoreTestCase {
    /// The upgraded store writes and syncs with a store of this release.
    func assertWritesAndSyncs(_ s: Store, file: StaticString = #filePath, line: UInt = #line) throws {
        let fresh = try makeStore("fresh")
        try exchange(s, fresh)
        let id = try XCTUnwrap(try s.annotations().first, file: file, line: line).id
        try s.review(annotation: id, status: .rejected, comment: "after the upgrade")
        try exchange(s, fresh)
        XCTAssertEqual(try fresh.digest(), try s.digest(), file: file, line: line)
        XCTAssertEqual(try fresh.annotation(id)?.status, .rejected, file: file, line: line)
        try fresh.check()
    }

    func schema1Store() throws -> Store {
        let sql = try String(contentsOf: Paths.repo.appendingPathComponent("Tests/MarginCoreTests/Fixtures/schema1-alice.sql"), encoding: .utf8)
        let folder = dir.appendingPathComponent("alice").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let db = try Database(path: (folder as NSString).appendingPathComponent(Store.fileName))
        try db.execute(sql)
        XCTAssertEqual(try db.userVersion, 1)
        db.close()
        let s = try Store(directory: folder)
        made.append(s)
        return s
    }

    func testASchema1StoreUpgradesInPlace() throws {
        let s = try schema1Store()
        XCTAssertEqual(try s.db.userVersion, Schema.fileVersion)
        XCTAssertEqual(try s.db.scalar("SELECT count(*) FROM changes WHERE hash IS NULL").int, 0, "every change hashed")
        try s.check()
        XCTAssertEqual(try s.status().records, 1)
        XCTAssertEqual(try s.status().annotations, 3, "the annotation restored by bob's --keep other is live")
        // Schema 1 had three conflicts: a value conflict and one per field bob
        // edited on the annotation alice deleted; bob resolved one of those.
        // Now the deletion is one conflict, settled by that resolution.
        let open = try s.conflicts(includeResolved: false)
        XCTAssertEqual(open.map(\.field), ["value"])
        let all = try s.conflicts(includeResolved: true)
        XCTAssertEqual(all.count, 2)
        let deletion = try XCTUnwrap(all.first { $0.field == "deleted" })
        XCTAssertEqual(deletion.resolution, "other")
        XCTAssertEqual(deletion.resolver, "bob")

        try assertWritesAndSyncs(s)
    }

    func testAStoreOfTheReleaseBeforeTheClusteredLogUpgradesInPlace() throws {
        let s = try schema4Store()
        XCTAssertEqual(try s.db.userVersion, Schema.fileVersion)
        // What that release's `margin digest` printed for this store.
        XCTAssertEqual(try s.digest(), "b4fba0f71786909ddfe010125d2b128669ea86dcbae2ebd56e9867b78bc389a7")
        XCTAssertEqual(try s.db.scalar("SELECT count(*) FROM changes").int, 120, "every change kept")
        XCTAssertEqual(try s.conflictCount(), 2)
        XCTAssertNil(try s.db.scalar("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'fields'").string,
                     "the winners are flags on the log, not a copy")
        try s.check()

        try assertWritesAndSyncs(s)
    }

    /// A store written by the release before local keys (file version 5:
    /// Fixtures/schema5-bob.sql, the schema-4 fixture upgraded and written
    /// to by that release's `margin`, then dumped) keeps every change, its
    /// hash chain and its state.
    func testAStoreOfTheReleaseBeforeLocalKeysUpgradesInPlace() throws {
        let s = try schema4Store(fixture: "schema5-bob.sql", version: 5)
        XCTAssertEqual(try s.db.userVersion, Schema.fileVersion)
        // What that release's `margin digest` printed for this store.
        XCTAssertEqual(try s.digest(), "9fd0ed283b994872fd2b80b24e4c1a405795502c3ce5dfb5ec3dd7c1c9b22afc")
        XCTAssertEqual(try s.db.scalar("SELECT count(*) FROM log").int, 138, "every change kept")
        XCTAssertEqual(try s.db.scalar("SELECT count(*) FROM changes").int, 138, "every change named by its ids")
        XCTAssertEqual(try s.db.scalar("SELECT count(*) FROM nodes").int, 3)
        XCTAssertEqual(try s.status().annotations, 6)
        XCTAssertEqual(try s.conflictCount(), 2, "one open, one resolved")
        XCTAssertNil(try s.db.scalar("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'changes'").string,
                     "the log is keyed; `changes` is a view")
        try s.check()

        try assertWritesAndSyncs(s)
    }
}
