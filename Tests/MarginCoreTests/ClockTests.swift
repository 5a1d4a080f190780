@testable import MarginCore
import MarginSQLite
import MarginTestSupport
import XCTest

final class ClockTests: XCTestCase {
    func testMonotonicWhenWallClockGoesBackwards() {
        let wall = ManualClock(10_000)
        var clock = HybridClock(wall: wall)
        let a = clock.tick()
        wall.now = 4_000   // an NTP step backwards
        let b = clock.tick()
        let c = clock.tick()
        wall.now = 10_000
        let d = clock.tick()
        wall.now = 10_001
        let e = clock.tick()
        XCTAssertLessThan(a, b)
        XCTAssertLessThan(b, c)
        XCTAssertLessThan(c, d)
        XCTAssertLessThan(d, e)
        XCTAssertEqual(b, HLC(milliseconds: 10_000, counter: 1))
        XCTAssertEqual(e, HLC(milliseconds: 10_001, counter: 0))
    }

    func testObserveMovesPastRemoteReadings() {
        let wall = ManualClock(1_000)
        var clock = HybridClock(wall: wall)
        clock.observe(HLC(milliseconds: 5_000, counter: 7))
        XCTAssertEqual(clock.tick(), HLC(milliseconds: 5_000, counter: 8))
        clock.observe(HLC(milliseconds: 2_000, counter: 0))
        XCTAssertEqual(clock.tick(), HLC(milliseconds: 5_000, counter: 9))
    }

    func testLWWHighestClockWinsThenNodeIDThenSeqBreakTies() {
        let early = Change.Stamp(hlc: HLC(milliseconds: 100, counter: 5), origin: "ffffffffffffffff", seq: 9)
        let late = Change.Stamp(hlc: HLC(milliseconds: 101, counter: 0), origin: "0000000000000000", seq: 1)
        XCTAssertTrue(Change.wins(late, over: early))
        XCTAssertFalse(Change.wins(early, over: late))
        let tieLow = Change.Stamp(hlc: HLC(milliseconds: 100, counter: 5), origin: "0000000000000001", seq: 7)
        let tieHigh = Change.Stamp(hlc: HLC(milliseconds: 100, counter: 5), origin: "0000000000000002", seq: 3)
        XCTAssertTrue(Change.wins(tieHigh, over: tieLow))
        XCTAssertFalse(Change.wins(tieLow, over: tieHigh))
        XCTAssertFalse(Change.wins(tieLow, over: tieLow), "a change does not beat itself")
        XCTAssertTrue(Change.wins(tieLow, over: nil))
        // Same reading and origin (a writer that broke the rule): seq decides.
        var again = tieLow
        again.seq += 1
        XCTAssertTrue(Change.wins(again, over: tieLow))
        XCTAssertFalse(Change.wins(tieLow, over: again))
    }

    func testVersionVectorTextForm() {
        let v = VersionVector(["bbbbbbbbbbbbbbbb": 3, "aaaaaaaaaaaaaaaa": 12])
        XCTAssertEqual(v.description, "aaaaaaaaaaaaaaaa:12,bbbbbbbbbbbbbbbb:3")
        XCTAssertEqual(VersionVector(parsing: v.description), v)
        XCTAssertTrue(v.covers(ChangeID(origin: "aaaaaaaaaaaaaaaa", seq: 12)))
        XCTAssertFalse(v.covers(ChangeID(origin: "aaaaaaaaaaaaaaaa", seq: 13)))
        XCTAssertFalse(v.covers(ChangeID(origin: "cccccccccccccccc", seq: 1)))
        XCTAssertNil(VersionVector(parsing: "nonsense"))
    }
}

/// A received reading near the bounds, and a local clock that sees it,
/// never trap (a counter of Int64.max once made every later write crash).
final class ClockBoundTests: XCTestCase {
    func testTheClockSaturatesInsteadOfOverflowing() {
        var clock = HybridClock(last: .zero, wall: ManualClock(ChangeRules.maxMilliseconds))
        clock.observe(HLC(milliseconds: Int64.max, counter: Int64.max))
        XCTAssertEqual(clock.last, HLC(milliseconds: ChangeRules.maxMilliseconds, counter: ChangeRules.maxCounter))
        let a = clock.tick(), b = clock.tick()
        XCTAssertEqual(a, b, "at the very last reading the clock stays")
        var near = HybridClock(last: HLC(milliseconds: 1_000, counter: ChangeRules.maxCounter - 1), wall: ManualClock(0))
        XCTAssertEqual(near.tick(), HLC(milliseconds: 1_000, counter: ChangeRules.maxCounter))
        XCTAssertEqual(near.tick(), HLC(milliseconds: 1_001, counter: 0), "a full counter moves on to the next millisecond")
        var backwards = HybridClock(last: .zero, wall: ManualClock(-5))
        XCTAssertEqual(backwards.tick(), HLC(milliseconds: 0, counter: 1), "a wall clock before 1970 reads as 0")
    }

    func testAStoreThatSawAReadingAtTheBoundStillWrites() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("margin-clock-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let s = try Store.create(directory: dir.path, name: "n", wall: ManualClock(1_700_000_000_000))
        try s.write { s.clock.observe(HLC(milliseconds: ChangeRules.maxMilliseconds, counter: ChangeRules.maxCounter)) }
        _ = try s.addCode(name: "after", description: nil, colour: nil, parent: nil)
        _ = try s.addCode(name: "and-again", description: nil, colour: nil, parent: nil)
        XCTAssertEqual(try s.codes().count, 2)
        try s.check()
    }

    /// SQLite orders stamps as `Change.wins` does: the SQL spelling of the
    /// rule, `Change.sqlHighestFirst`, against the rule itself, on stamps
    /// that tie on the clock, on the origin, or on both.
    func testTheSQLOrderIsTheLWWOrder() throws {
        let path = NSTemporaryDirectory() + "lww-order-\(UUID().uuidString).sqlite"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let db = try Database(path: path)
        try db.execute("CREATE TABLE t(ms INTEGER, ctr INTEGER, origin TEXT, seq INTEGER)")
        var rng = SplitMix64(seed: 0x1A77)
        let origins: [NodeID] = ["0123456789abcdef", "0123456789abcdf0", "f000000000000000", "a0a0a0a0a0a0a0a0"]
        var stamps: [Change.Stamp] = []
        for _ in 0..<400 {
            let s = Change.Stamp(hlc: HLC(milliseconds: Int64(rng.next() % 4), counter: Int64(rng.next() % 3)),
                                 origin: origins[Int(rng.next() % 4)], seq: Int64(rng.next() % 5) + 1)
            if stamps.contains(s) { continue }
            stamps.append(s)
            try db.run("INSERT INTO t VALUES(?, ?, ?, ?)", .integer(s.hlc.milliseconds), .integer(s.hlc.counter), .node(s.origin), .integer(s.seq))
        }
        let sql = try db.rows("SELECT ms, ctr, origin, seq FROM t AS x ORDER BY \(Change.sqlHighestFirst("x"))").map { row in
            Change.Stamp(hlc: HLC(milliseconds: row[0].int ?? -1, counter: row[1].int ?? -1), origin: row[2].node ?? "", seq: row[3].int ?? -1)
        }
        XCTAssertEqual(sql, stamps.sorted(by: >))
        for (a, b) in zip(sql, sql.dropFirst()) { XCTAssertTrue(Change.wins(a, over: b)) }
    }
}

/// `VersionVector(parsing:)` reads its own column form byte by byte; on
/// any text it must give what splitting at commas and colons gives (the
/// reading kept here, as written before).
final class VersionVectorParsingTests: XCTestCase {
    static func reference(_ text: String) -> VersionVector? {
        var heads: [NodeID: Int64] = [:]
        if !text.isEmpty {
            for part in text.split(separator: ",") {
                let pieces = part.split(separator: ":", omittingEmptySubsequences: false)
                guard pieces.count == 2, let seq = Int64(pieces[1]), seq > 0, let origin = NodeID(pieces[0]) else { return nil }
                heads[origin] = seq
            }
        }
        return VersionVector(heads)
    }

    func testTheByteReadingEqualsTheSplitReading() {
        var generator = SystemRandomNumberGenerator()
        let hex = Array("0123456789abcdef")
        func origin() -> String { String((0..<16).map { _ in hex.randomElement(using: &generator) ?? "0" }) }
        // Written forms, then each bent one byte at a time.
        for _ in 0..<2000 {
            var heads: [NodeID: Int64] = [:]
            for _ in 0..<Int.random(in: 0...4, using: &generator) {
                heads[NodeID(stored: origin())] = Int64.random(in: 1...Int64.max, using: &generator) >> Int64.random(in: 0...62, using: &generator) | 1
            }
            let text = VersionVector(heads).description
            XCTAssertEqual(VersionVector(parsing: text), VersionVector(heads), text)
            var bytes = Array(text.utf8)
            let bends: [UInt8] = Array(":,+-0 A9g".utf8)
            if !bytes.isEmpty {
                let at = Int.random(in: 0..<bytes.count, using: &generator)
                switch Int.random(in: 0..<3, using: &generator) {
                case 0: bytes[at] = bends.randomElement(using: &generator) ?? 0x2c
                case 1: bytes.insert(bends.randomElement(using: &generator) ?? 0x2c, at: at)
                default: bytes.remove(at: at)
                }
            }
            let bent = String(decoding: bytes, as: UTF8.self)
            XCTAssertEqual(VersionVector(parsing: bent), Self.reference(bent), bent)
        }
        for odd in ["", ",", "0123456789abcdef:0", "0123456789abcdef:01", "0123456789abcdef:+1", "0123456789abcdef:99999999999999999999",
                    "0123456789abcdef:1,,0123456789abcdee:2", "0123456789ABCDEF:1", "0123456789abcdef:1,"] {
            XCTAssertEqual(VersionVector(parsing: odd), Self.reference(odd), odd)
        }
    }
}
