import Foundation
@testable import MarginSQLite
import XCTest

final class DatabaseTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("margin-sqlite-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func path(_ name: String = "t.sqlite") -> String { dir.appendingPathComponent(name).path }

    /// Commits hand the WAL checkpoint to a connection of its own on
    /// another thread: the main file fills although this connection's own
    /// automatic checkpoint (at 1000 pages, far more than written here) is
    /// replaced; closing still leaves no log behind and loses nothing.
    func testCheckpointsRunInTheBackgroundAndCloseLeavesNoLog() throws {
        let db = try Database(path: path())
        try db.execute("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; CREATE TABLE t(v)")
        db.checkpointInBackground(afterPages: 4)
        let size = { (try? FileManager.default.attributesOfItem(atPath: self.path())[.size] as? Int) ?? 0 }
        let before = size()
        let blob = [UInt8](repeating: 7, count: 8192)
        for _ in 0..<100 { try db.transaction { try db.run("INSERT INTO t(v) VALUES(?)", .blob(blob)) } }
        db.waitForBackgroundCheckpoint()
        XCTAssertGreaterThan(size() - before, 90 * 8192, "the pages were copied into the main file")
        XCTAssertEqual(try db.scalar("SELECT count(*) FROM t").int, 100)
        db.close()
        XCTAssertFalse(FileManager.default.fileExists(atPath: path() + "-wal"), "the last connection's close checkpoints and removes the log")
        XCTAssertEqual(try Database(path: path()).scalar("SELECT count(*) FROM t").int, 100)
    }

    /// A long receive keeps its log in bounds between steps by copying it
    /// back and writing it again from its start, in the same file: the
    /// file is neither cut to nothing (so that the next frames are written
    /// over blocks the file system already holds, not appended to fresh
    /// ones) nor left to grow with everything written; once the log starts
    /// again it is cut back to the limit. Nothing committed is lost.
    func testARestartedLogIsWrittenAgainFromItsStartInTheSameFile() throws {
        let db = try Database(path: path())
        try db.execute("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA wal_autocheckpoint=0; CREATE TABLE t(v)")
        let blob = [UInt8](repeating: 7, count: 8192)
        let limit = 256 << 10
        for _ in 0..<100 { try db.transaction { try db.run("INSERT INTO t(v) VALUES(?)", .blob(blob)) } }
        let grown = db.walBytes
        XCTAssertGreaterThan(grown, 4 * limit)
        XCTAssertFalse(db.restartLog(over: grown), "a log within its limit is left alone")
        XCTAssertTrue(db.restartLog(over: limit))
        XCTAssertEqual(db.walBytes, grown, "the file is kept, not truncated")
        // The next commit writes from the log's start and cuts the file
        // back to the limit; the commits after it stay within it.
        for _ in 0..<5 { try db.transaction { try db.run("INSERT INTO t(v) VALUES(?)", .blob(blob)) } }
        XCTAssertEqual(db.walBytes, limit)
        XCTAssertEqual(try db.scalar("SELECT count(*) FROM t").int, 105)
        // A failed write's frames are still given back whole.
        XCTAssertTrue(db.truncateLog(over: 0))
        XCTAssertEqual(db.walBytes, 0)
        db.close()
        XCTAssertEqual(try Database(path: path()).scalar("SELECT count(*) FROM t").int, 105)
    }

    /// `check` stops its rebuild on another thread once a check has
    /// failed: a statement that would never end stops with SQLITE_INTERRUPT,
    /// and the connection serves the next one.
    func testAStatementIsInterruptedFromAnotherThread() throws {
        // The connection and what the worker found, handed to it whole.
        final class Shared: @unchecked Sendable {
            let db: Database
            var error: (any Error)?
            init(_ db: Database) { self.db = db }
        }
        let db = try Database(path: path())
        defer { db.close() }
        let outcome = Shared(db), done = DispatchGroup()
        done.enter()
        DispatchQueue.global().async {
            do {
                _ = try outcome.db.scalar("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c")
            } catch { outcome.error = error }
            done.leave()
        }
        var asked = 0
        while done.wait(timeout: .now() + .milliseconds(10)) == .timedOut {
            db.interrupt()
            asked += 1
            if asked > 3000 { return XCTFail("the statement was not interrupted in 30 s") }
        }
        XCTAssertEqual((outcome.error as? SQLiteError)?.primaryCode, 9, "\(String(describing: outcome.error))")
        XCTAssertEqual(try db.scalar("SELECT 41 + 1").int, 42)
    }

    /// SQLite's count of its memory takes a process-wide lock on every
    /// allocation; it is off from the first connection on.
    /// The counter sees what it is for: `field = ?` beside a partial index
    /// on `WHERE field = 'author'` is prepared again on every bind (SQLite
    /// substitutes the value to see whether that index applies); `+?` is
    /// not, and still searches by the index on the column.
    func testReprepareCountSeesAPartialIndexTakingPartInThePlan() throws {
        let db = try Database(path: path())
        try db.execute("""
            CREATE TABLE log(entity INTEGER, field TEXT, origin INTEGER, seq INTEGER);
            CREATE INDEX log_by_entity ON log(entity, field);
            CREATE INDEX log_authors ON log(origin, seq) WHERE field = 'author';
            """)
        for field in ["title", "author", "note", "title"] { _ = try db.rows("SELECT seq FROM log WHERE entity = ? AND field = ?", .integer(1), .text(field)) }
        XCTAssertEqual(db.reprepareCount, 4)
        for field in ["title", "author", "note", "title"] { _ = try db.rows("SELECT seq FROM log WHERE entity = ? AND field = +?", .integer(1), .text(field)) }
        XCTAssertEqual(db.reprepareCount, 4)
        let plan = try db.rows("EXPLAIN QUERY PLAN SELECT seq FROM log WHERE entity = ? AND field = +?", .integer(1), .text("x")).compactMap { $0.last?.string }
        XCTAssertEqual(plan, ["SEARCH log USING INDEX log_by_entity (entity=? AND field=?)"])
    }

    func testSQLiteDoesNotCountItsMemory() throws {
        let db = try Database(path: dir.appendingPathComponent("count.sqlite").path)
        try db.execute("CREATE TABLE t(x); INSERT INTO t VALUES(randomblob(100000))")
        XCTAssertEqual(try db.scalar("SELECT length(x) FROM t").int, 100_000)
        XCTAssertEqual(Database.memoryCounted, 0)
    }

    func testValuesRoundTripWithTheirStorageClass() throws {
        let db = try Database(path: path())
        try db.execute("CREATE TABLE t(v)")
        let values: [SQLValue] = [.null, .integer(-42), .real(1.5), .text("黨支部 𠀋 👍🏽"), .blob([0, 1, 255])]
        for v in values { try db.run("INSERT INTO t(v) VALUES(?)", v) }
        XCTAssertEqual(try db.rows("SELECT v FROM t ORDER BY rowid").map { $0[0] }, values)
    }

    /// Text is bound with its byte length: a NUL inside it (after 8 KB, or
    /// anywhere) used to cut it short, as a C string would.
    func testTextWithANULIsBoundWholeAndTheEmptyStringIsNotNull() throws {
        let db = try Database(path: path())
        try db.execute("CREATE TABLE t(v)")
        let long = String(repeating: "黨", count: 4000) + "\u{0}tail"
        for v in [long, "a\u{0}b", ""] { try db.run("INSERT INTO t(v) VALUES(?)", .text(v)) }
        let rows = try db.rows("SELECT v, length(CAST(v AS BLOB)), typeof(v) FROM t ORDER BY rowid")
        XCTAssertEqual(rows.map { $0[0] }, [.text(long), .text("a\u{0}b"), .text("")])
        XCTAssertEqual(rows.map { $0[1] }, [.integer(Int64(long.utf8.count)), .integer(3), .integer(0)])
        XCTAssertEqual(rows.map { $0[2] }, [.text("text"), .text("text"), .text("text")])
    }

    func testImmutableOpenReadsAnyPathAndRefusesWrites() throws {
        let odd = path("a ?b#c%d 黨.sqlite")
        let db = try Database(path: odd)
        try db.execute("PRAGMA journal_mode=WAL; CREATE TABLE t(v); INSERT INTO t VALUES('kept')")
        db.close()
        var options = Database.Options()
        options.immutable = true
        let reader = try Database(path: odd, options: options)
        XCTAssertEqual(try reader.scalar("SELECT v FROM t"), .text("kept"))
        XCTAssertThrowsError(try reader.execute("INSERT INTO t VALUES('no')")) { error in
            XCTAssertTrue((error as? SQLiteError)?.isReadOnly == true, "\(error)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: odd + "-shm"), "nothing was created beside the file")
    }

    /// An output read in several passes (the REFI export) sees one
    /// snapshot: another connection's commit between two reads is not
    /// seen inside, and is seen after.
    func testReadingOneSnapshotSeesNoCommitMadeMeanwhile() throws {
        let reader = try Database(path: path())
        try reader.execute("PRAGMA journal_mode=WAL; CREATE TABLE t(v); INSERT INTO t VALUES(1)")
        let writer = try Database(path: path())
        let count = { try reader.scalar("SELECT count(*) FROM t").int ?? -1 }
        let inside = try reader.readingOneSnapshot { () throws -> (Int64, Int64) in
            let first = try count()
            try writer.execute("INSERT INTO t VALUES(2)")
            return (first, try count())
        }
        XCTAssertEqual(inside.0, 1)
        XCTAssertEqual(inside.1, 1, "the commit made meanwhile is not seen")
        XCTAssertFalse(reader.isInTransaction)
        XCTAssertEqual(try count(), 2, "and is seen after")
        // A failure inside ends the read all the same.
        XCTAssertThrowsError(try reader.readingOneSnapshot { throw SQLiteError(code: 1, message: "x", sql: nil) })
        XCTAssertFalse(reader.isInTransaction)
    }

    func testTransactionRollsBackOnThrow() throws {
        let db = try Database(path: path())
        try db.execute("CREATE TABLE t(v INTEGER)")
        struct Boom: Error {}
        XCTAssertThrowsError(try db.transaction {
            try db.run("INSERT INTO t VALUES(1)")
            throw Boom()
        })
        XCTAssertEqual(try db.scalar("SELECT count(*) FROM t").int, 0)
        XCTAssertFalse(db.isInTransaction)
    }

    func testNestedTransactionIsASavepoint() throws {
        let db = try Database(path: path())
        try db.execute("CREATE TABLE t(v INTEGER)")
        struct Boom: Error {}
        try db.transaction {
            try db.run("INSERT INTO t VALUES(1)")
            XCTAssertThrowsError(try db.transaction {
                try db.run("INSERT INTO t VALUES(2)")
                throw Boom()
            })
            try db.run("INSERT INTO t VALUES(3)")
        }
        XCTAssertEqual(try db.rows("SELECT v FROM t ORDER BY v").map { $0[0] }, [.integer(1), .integer(3)])
    }

    func testErrorsCarryCodeAndMessage() throws {
        let db = try Database(path: path())
        try db.execute("CREATE TABLE t(v INTEGER PRIMARY KEY)")
        try db.run("INSERT INTO t VALUES(1)")
        do {
            try db.run("INSERT INTO t VALUES(1)")
            XCTFail("expected a constraint error")
        } catch let e as SQLiteError {
            XCTAssertTrue(e.isConstraint)
            XCTAssertTrue(e.message.contains("UNIQUE"), e.message)
        }
        XCTAssertThrowsError(try db.statement("SELEC nonsense")) { error in
            XCTAssertEqual((error as? SQLiteError)?.primaryCode, 1)
        }
    }

    func testStatementsAreCachedAndReusable() throws {
        let db = try Database(path: path())
        try db.execute("CREATE TABLE t(v INTEGER)")
        let s1 = try db.statement("INSERT INTO t VALUES(?)")
        let s2 = try db.statement("INSERT INTO t VALUES(?)")
        XCTAssertTrue(s1 === s2)
        for i in 0..<10 { try s1.run([.integer(Int64(i))]) }
        XCTAssertEqual(try db.scalar("SELECT sum(v) FROM t").int, 45)
    }

    func testMigrationsRunOnceAndRefuseNewerSchema() throws {
        let db = try Database(path: path())
        let migrations: [@Sendable (Database) throws -> Void] = [
            { try $0.execute("CREATE TABLE a(x)") },
            { try $0.execute("CREATE TABLE b(x)") },
        ]
        try db.migrate(migrations)
        try db.migrate(migrations)
        XCTAssertEqual(try db.userVersion, 2)
        XCTAssertThrowsError(try db.migrate(Array(migrations.prefix(1)))) { error in
            XCTAssertEqual(error as? MigrationError, .newerSchema(found: 2, known: 1))
        }
        // A failing migration leaves the version where it was.
        let failing: [@Sendable (Database) throws -> Void] = migrations + [{ try $0.execute("CREATE TABLE a(x)") }]
        XCTAssertThrowsError(try db.migrate(failing))
        XCTAssertEqual(try db.userVersion, 2)
    }

    func testNotADatabase() throws {
        let p = path("junk.sqlite")
        try Data("this is not a database, just some text that is long enough to be a header".utf8).write(to: URL(fileURLWithPath: p))
        let db = try Database(path: p)
        XCTAssertThrowsError(try db.userVersion) { error in
            XCTAssertTrue((error as? SQLiteError)?.isNotADatabase ?? false, "\(error)")
        }
    }

    func testFullDiskIsReported() throws {
        let db = try Database(path: path())
        try db.execute("CREATE TABLE t(v)")
        let pages = try db.scalar("PRAGMA page_count").int ?? 2
        try db.execute("PRAGMA max_page_count = \(pages + 1)")
        XCTAssertThrowsError(try db.transaction {
            for _ in 0..<100 { try db.run("INSERT INTO t VALUES(?)", .text(String(repeating: "x", count: 4000))) }
        }) { error in
            XCTAssertTrue((error as? SQLiteError)?.isFull ?? false, "\(error)")
        }
        XCTAssertEqual(try db.scalar("SELECT count(*) FROM t").int, 0)
    }
}
