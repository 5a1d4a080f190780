import Foundation
@testable import MarginCore
import MarginSQLite
import XCTest

/// A wall clock the test sets by hand.
final class ManualClock: WallClock, @unchecked Sendable {
    var now: Int64
    init(_ now: Int64) { self.now = now }
    func nowMilliseconds() -> Int64 { now }
}

enum Paths {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let samples = repo.appendingPathComponent("Samples")
    static let seeds = repo.deletingLastPathComponent().appendingPathComponent("shared/seeds")
}

class StoreTestCase: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("margin-core-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    /// Stores made by the test; each must pass `check` when it ends.
    var made: [Store] = []
    /// Off for tests that damage their stores on purpose.
    var checkStoresAtTheEnd = true

    override func tearDownWithError() throws {
        defer { try? FileManager.default.removeItem(at: dir) }
        if checkStoresAtTheEnd { for s in made where s.db.isOpen { try s.check() } }
        made = []
    }

    func makeStore(_ name: String, wall: any WallClock = SystemClock()) throws -> Store {
        let s = try Store.create(directory: dir.appendingPathComponent(name).path, name: name, wall: wall)
        made.append(s)
        return s
    }

    /// Copies into `to` every change `from` holds that `to` lacks, in order:
    /// the exchange the sync protocol performs, without the network.
    func deliver(_ from: Store, _ to: Store) throws {
        let theirs = try to.versionVector()
        var missing = try from.log(limit: nil).filter { !theirs.covers($0.id) }
        missing.sort { $0.hlc != $1.hlc ? $0.hlc < $1.hlc : $0.id < $1.id }
        try to.write {
            for c in missing { try to.receive(c) }
        }
    }

    func exchange(_ a: Store, _ b: Store) throws {
        try deliver(a, b)
        try deliver(b, a)
    }
}

extension StoreTestCase {
    /// A store made by the release before the clustered log (file version
    /// 4): Fixtures/schema4-bob.sql is `sqlite3 .dump` of bob's store at the
    /// end of that release's demo (conflicts, a resolution, a restored
    /// backup's fork recovery), schema4-bob.key its node key. `alter` may
    /// turn the file into an older one before the store opens it.
    /// `fixture`: a dump of bob's store (schema4-bob.sql, or the same
    /// store as a later release left it), at file version `version`.
    func schema4Store(fixture: String = "schema4-bob.sql", version: Int = 4, key keyFixture: String = "schema4-bob.key", folder name: String = "bob",
                      alter: (Database) throws -> Void = { _ in }) throws -> Store {
        let fixtures = Paths.repo.appendingPathComponent("Tests/MarginCoreTests/Fixtures")
        let folder = dir.appendingPathComponent(name).path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let path = (folder as NSString).appendingPathComponent(Store.fileName)
        let load = try Database(path: path)
        try load.execute(try String(contentsOf: fixtures.appendingPathComponent(fixture), encoding: .utf8))
        load.close()
        // Opened again: the dump writes the full-text tables into the schema directly.
        let db = try Database(path: path)
        XCTAssertEqual(try db.userVersion, version)
        try alter(db)
        db.close()
        let key = (folder as NSString).appendingPathComponent(NodeKey.fileName)
        try FileManager.default.copyItem(atPath: fixtures.appendingPathComponent(keyFixture).path, toPath: key)
        // git keeps no file modes but the executable bit: the key is made private again, as margin requires.
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: key)
        let s = try Store(directory: folder)
        made.append(s)
        return s
    }
}
