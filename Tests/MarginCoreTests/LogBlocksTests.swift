import Foundation
@testable import MarginCore
import MarginSQLite
import XCTest

/// `log -n N` finds the newest changes from the highest reading of each
/// block of 1,024 changes (`LogBlocks`), not from an index of every change
/// by reading. Each test holds its answer against the whole log sorted by
/// SQLite (`log` without a limit), a second computation that reads no block.
final class LogBlocksTests: StoreTestCase {
    /// The order `log` shows, computed by SQLite over the whole log.
    private func sorted(_ store: Store) throws -> [ChangeID] {
        try store.log(limit: nil).map(\.id)
    }

    /// Readings in any order along each origin's sequence (as values
    /// imported from an export keep theirs), ties of reading between
    /// origins, and origins of one block and of several.
    func testTheNewestChangesAreThoseTheWholeLogSortedBeginsWith() throws {
        checkStoresAtTheEnd = false  // rows written straight into the log hold no hash chain
        let store = try makeStore("a")
        // Numbered in another order than their ids sort in: the log's
        // order breaks a tie of readings by id, its tables by number.
        let origins = ["ffffffffffffff01", "00000000000000aa", "00000000000000bb"]
        let counts = [40, 3_000, 1_500]
        let code = "0123456789abcdef"
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next(_ bound: Int64) -> Int64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int64((state >> 33) % UInt64(bound))
        }
        var highs: [String: HLC] = [:]
        try store.db.transaction {
            try store.db.run("INSERT INTO entities(kind, id) VALUES('code', ?)", .text(code))
            let entity = store.db.lastInsertRowID
            for (origin, count) in zip(origins, counts) {
                try store.db.run("INSERT INTO nodes(id) VALUES(?)", .text(origin))
                let key = store.db.lastInsertRowID
                for seq in 1...Int64(count) {
                    // Readings that rise along the sequence, as a clock's
                    // do, by steps small enough to tie within and across
                    // origins; one in 37 older (a value imported from an
                    // export keeps its reading); and every origin's last
                    // change at one reading, the highest.
                    let rising = 1_000 + seq * 7 / 10 + next(2)
                    let hlc = seq == Int64(count) ? HLC(milliseconds: 9_999, counter: 0)
                        : HLC(milliseconds: seq % 37 == 0 ? 1_000 + next(rising - 1_000 + 1) : rising, counter: next(2))
                    try store.db.run("INSERT INTO log(entity, field, origin, seq, ms, ctr, value) VALUES(?, ?, ?, ?, ?, ?, ?)",
                                     .integer(entity), .text("f\(seq)"), .integer(key), .integer(seq),
                                     .integer(hlc.milliseconds), .integer(hlc.counter), .integer(seq))
                    let block = "\(key)/\(seq >> 10)"
                    if highs[block].map({ $0 < hlc }) ?? true { highs[block] = hlc }
                }
            }
            for (block, high) in highs {
                let parts = block.split(separator: "/").compactMap { Int64($0) }
                try store.db.run("INSERT INTO log_blocks(origin, block, ms, ctr) VALUES(?, ?, ?, ?)",
                                 .integer(parts[0]), .integer(parts[1]), .integer(high.milliseconds), .integer(high.counter))
            }
        }
        let all = try sorted(store)
        XCTAssertEqual(all.count, counts.reduce(0, +))
        for n in Array(1...80) + [500, 1_023, 1_024, 1_025, 3_000, all.count, all.count + 10] {
            XCTAssertEqual(try store.log(limit: n).map(\.id), Array(all.prefix(n)), "n = \(n)")
        }
        XCTAssertTrue(try store.log(limit: 0).isEmpty)
    }

    /// What writes and a sync keep: two nodes whose clocks disagree, one
    /// writing more than a block; then `check` (at the end of the test)
    /// finds every change under its block's high.
    func testWritesAndASyncKeepEveryChangeUnderItsBlocksHigh() throws {
        let early = ManualClock(1_700_000_000_000), late = ManualClock(1_800_000_000_000)
        let a = try makeStore("a", wall: late), b = try makeStore("b", wall: early)
        let (record, _) = try a.importReport(ReportDraft(body: "共有159名黨員加入其中,成立16個臨時黨支部。", title: "t"))
        let code = try a.addCode(name: "party-members", description: nil, colour: nil, parent: nil)
        try a.write {
            for i in 0..<110 { _ = try a.annotate(record: record, code: code, span: .range(2, 7), value: "\(i)", note: nil) }
        }
        try exchange(a, b)
        // b's clock is behind: its new changes read lower than most of a's,
        // and arrive at a after them.
        try b.write {
            for i in 0..<5 { _ = try b.annotate(record: record, code: code, span: .range(2, 7), value: "b\(i)", note: nil) }
        }
        try exchange(a, b)
        for store in [a, b] {
            XCTAssertGreaterThan(try store.db.scalar("SELECT count(*) FROM log_blocks").int ?? 0, 2)
            let all = try sorted(store)
            for n in [1, 20, 50, 1_100] { XCTAssertEqual(try store.log(limit: n).map(\.id), Array(all.prefix(n)), "n = \(n)") }
        }
    }

    /// A block whose high is below one of its changes is named by `check`
    /// (`log -n` would pass over that change).
    func testCheckNamesABlockWhoseHighIsBelowOneOfItsChanges() throws {
        checkStoresAtTheEnd = false
        let store = try makeStore("a")
        _ = try store.addCode(name: "figure", description: nil, colour: nil, parent: nil)
        try store.check()
        try store.db.run("UPDATE log_blocks SET ms = ms - 1")
        XCTAssertThrowsError(try store.check()) { error in
            XCTAssertTrue("\(error)".contains("log_blocks"), "\(error)")
        }
        try store.db.run("DELETE FROM log_blocks")
        XCTAssertThrowsError(try store.check()) { error in
            XCTAssertTrue("\(error)".contains("says nothing"), "\(error)")
        }
    }

    /// A store of file version 16 (the index of every change by reading)
    /// gets its blocks on opening, and loses that index.
    func testAVersion16StoreGetsItsBlocksOnOpening() throws {
        let dir = self.dir.appendingPathComponent("old").path
        var expected: [ChangeID] = []
        do {
            let store = try Store.create(directory: dir, name: "old")
            let (record, _) = try store.importReport(ReportDraft(body: "成立16個臨時黨支部。", title: "t"))
            let code = try store.addCode(name: "branches", description: nil, colour: nil, parent: nil)
            try store.write {
                for i in 0..<120 { _ = try store.annotate(record: record, code: code, span: .range(2, 4), value: "\(i)", note: nil) }
            }
            expected = try sorted(store)
            try store.db.execute("""
                DROP TABLE log_blocks;
                CREATE INDEX log_by_time ON log(ms, ctr);
                DROP TABLE node_authors;
                CREATE INDEX log_authors ON log(origin, seq) WHERE field = 'author';
                PRAGMA user_version = 16;
                """)
            store.db.close()
        }
        let store = try Store(directory: dir)
        made.append(store)
        XCTAssertEqual(try store.db.scalar("SELECT count(*) FROM sqlite_master WHERE name = 'log_by_time'").int, 0)
        XCTAssertEqual(try store.db.scalar("SELECT count(*) FROM log_blocks").int, Int64(expected.count >> 10) + 1)
        XCTAssertEqual(try store.log(limit: 30).map(\.id), Array(expected.prefix(30)))
    }
}
