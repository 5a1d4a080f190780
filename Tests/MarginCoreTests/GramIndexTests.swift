import Foundation
@testable import MarginCore
import MarginSQLite
import XCTest

/// One- and two-character searches answered by the index of characters and
/// pairs, checked against a scan of the same text.
final class GramIndexTests: StoreTestCase {

    func testGramsFollowTheTokenizer() {
        XCTAssertEqual(GramIndex.grams("共有159名, ab"), "共 有 共有 1 有1 5 15 9 59 名 9名 a b ab ")
        XCTAssertEqual(GramIndex.grams("𠀀é-ß"), "𠀀 é 𠀀é ß ", "two-, three- and four-byte characters")
        XCTAssertEqual(GramIndex.grams("党党党员,党员"), "党 党党 员 党员 ", "each token once")
        XCTAssertEqual(GramIndex.grams("abab1ab"), "a b ab ba 1 b1 1a ", "each token once")
        XCTAssertNil(GramIndex.query([",", "。"]), "no letter or digit: the scan")
        XCTAssertEqual(GramIndex.query(["党", "员"]), "\"党员\"")
        XCTAssertEqual(GramIndex.query(["临", "时", "党"]), "\"临时\" AND \"时党\"")
        XCTAssertEqual(GramIndex.query(["a", "-", "1", "9"]), "\"a\" AND \"19\"")
        let long = Array("一二三四五六七八九十".unicodeScalars)
        XCTAssertEqual(GramIndex.query(long)?.components(separatedBy: " AND ").count, GramIndex.maxTerms)
    }

    /// The token set starts small and doubles as it fills: it answers as
    /// a set does through every growth, and a long text's grams are each
    /// token once, in first-seen order.
    func testTheTokenSetGrowsAndAnswersAsASet() {
        var generator = SystemRandomNumberGenerator()
        for capacity in [0, 1, 100, 1024] {
            var tokens = GramIndex.TokenSet(capacity: capacity), reference = Set<UInt64>()
            for _ in 0..<20_000 {
                let t = UInt64.random(in: 1...30_000, using: &generator) | (Bool.random(using: &generator) ? 1 << 63 : 0)
                XCTAssertEqual(tokens.insert(t), reference.insert(t).inserted)
            }
            XCTAssertEqual(tokens.count, reference.count)
        }
        var text = "", expected: [String] = [], seen = Set<String>()
        var previous: Character?
        for i in 0..<6000 {
            let c = Character(Unicode.Scalar(0x4E00 + UInt32((i * 7919) % 2500))!)
            text.append(c)
            for token in [String(c)] + (previous.map { [String($0) + String(c)] } ?? []) where seen.insert(token).inserted { expected.append(token) }
            previous = c
        }
        XCTAssertEqual(GramIndex.grams(text), expected.map { $0 + " " }.joined())
    }

    /// With `detail=none` a token's repeats change nothing in the index:
    /// an entry made from text with repeats (as the release before
    /// removing them made it) is removed by the same text without them.
    func testAnEntryMadeWithRepeatsIsRemovedWithoutThem() throws {
        let db = try Database(path: dir.appendingPathComponent("grams.sqlite").path)
        try db.execute(GramIndex.createTable)
        try db.run("INSERT INTO record_grams(rowid, grams) VALUES(1, ?)", .text("党 党 党党 员 党员 党 党员 "))
        try db.run("INSERT INTO record_grams(rowid, grams) VALUES(2, ?)", .text("员 "))
        XCTAssertEqual(try db.rows("SELECT rowid FROM record_grams WHERE record_grams MATCH '党员'").count, 1)
        try db.run("INSERT INTO record_grams(record_grams, rowid, grams) VALUES('delete', 1, ?)", .text(GramIndex.grams("党党党员,党员")))
        for token in ["党", "党党", "党员"] {
            XCTAssertEqual(try db.rows("SELECT rowid FROM record_grams WHERE record_grams MATCH ?", .text("\"\(token)\"")).count, 0, token)
        }
        XCTAssertEqual(try db.rows("SELECT rowid FROM record_grams WHERE record_grams MATCH '员'").map { $0[0].int }, [2])
        try db.execute("INSERT INTO record_grams(record_grams) VALUES('integrity-check')")
    }

    /// What a scan of the folded text finds, newest first: the reference.
    func scan(_ s: Store, _ text: String) throws -> [String] {
        let key = RecordSearch.searchKey(text)
        var v = String.UnicodeScalarView()
        v.append(contentsOf: key)
        return try s.db.rows("""
            SELECT r.id FROM records r JOIN record_folded f ON f.rowid = r.rowid
            WHERE r.deleted = 0 AND r.body IS NOT NULL AND instr(f.folded, ?) > 0 ORDER BY r.rowid DESC
            """,
                             .text(String(v))).compactMap { $0[0].string }
    }

    func testIndexAnswersAsTheScanDoesAndFollowsEdits() throws {
        let s = try Store.create(directory: dir.path, name: "t")
        var ids: [String] = []
        let bodies = ["曲麻萊縣成立16個臨時黨支部,159名黨員參加。", "玛多县组建党员突击队3支。", "Covid-19 test: 12 teams, 黨員 x2",
                      "疫情防控:网格员102名。", "没有匹配的字。"]
        for (i, b) in bodies.enumerated() { ids.append(try s.importReport(ReportDraft(body: b, title: "報告\(i)")).id) }
        let queries = ["黨", "党员", "黨員", "1", "16", "9", "x", "X2", "co", "疫", ":", "員參", "。", "名黨", "報", "zz",
                       "臨時黨支部", "covid-19", "12 teams", ": 12", "159名黨員參加", "网格员102名", "不在任何報告裡", "報告1"]
        for q in queries { XCTAssertEqual(try s.search(q).map(\.record), try scan(s, q), q) }
        // An edited title is followed: the old one's pairs are gone.
        try s.setRecordField(ids[4], field: "title", value: "黨的報告")
        XCTAssertEqual(try s.search("黨的").map(\.record), [ids[4]])
        XCTAssertEqual(try s.search("報告4").map(\.record), [])
        for q in queries { XCTAssertEqual(try s.search(q).map(\.record), try scan(s, q), q) }
        // A deleted record drops out, of the ranking too (which reads the
        // folded texts and the metadata's index, not the records' rows).
        _ = try s.delete(record: ids[1])
        for q in queries {
            XCTAssertEqual(try s.search(q).map(\.record), try scan(s, q), q)
            XCTAssertEqual(try s.rankedSearch(q, order: .imported).map(\.record), try scan(s, q), "ranked: \(q)")
        }
        XCTAssertNoThrow(try s.check())
        // Rebuilt from the log, the index answers the same.
        try s.rebuildState()
        for q in queries { XCTAssertEqual(try s.search(q).map(\.record), try scan(s, q), "after rebuild: \(q)") }
    }

    /// An import may bring the record's index entry made beforehand (on the
    /// core that cleans files). It is used only for the title and body it
    /// was made from: stale, or overtaken by a later change in the same
    /// write, it is not, and the index follows what the record holds.
    func testAnEntryMadeBeforehandIsUsedOnlyForTheTextItWasMadeFrom() throws {
        let s = try makeStore("prepared")
        func imported(_ body: String, title: String, entryTitle: String) throws -> String {
            try s.importReport(ReportDraft(body: body, title: title),
                               index: Store.IndexEntry(title: entryTitle, body: body, withRecordID: true)).id
        }
        let fresh = try imported("玛多县组建党员突击队3支。", title: "突击队报告", entryTitle: "突击队报告")
        XCTAssertEqual(try s.search("突击队报").map(\.record), [fresh])
        // Made from another title: not used.
        let stale = try imported("泽库县设立交通卡点12个。", title: "卡点报告", entryTitle: "旧的标题")
        XCTAssertEqual(try s.search("卡点报").map(\.record), [stale])
        XCTAssertEqual(try s.search("旧的").map(\.record), [])
        // Overtaken in the same write: the title set after the import wins.
        var overtaken = ""
        try s.write {
            overtaken = try imported("同仁县网格员102名包户到人。", title: "网格报告", entryTitle: "网格报告")
            try s.setRecordField(overtaken, field: "title", value: "包户名单")
        }
        XCTAssertEqual(try s.search("包户名").map(\.record), [overtaken])
        XCTAssertEqual(try s.search("网格报").map(\.record), [])
        // A deleted record imported again under a new title: its old entry
        // is removed, the new one made beforehand is used.
        _ = try s.delete(record: fresh)
        XCTAssertEqual(try imported("玛多县组建党员突击队3支。", title: "重新导入", entryTitle: "重新导入"), fresh)
        XCTAssertEqual(try s.search("重新导").map(\.record), [fresh])
        XCTAssertEqual(try s.search("突击队报").map(\.record), [])
        for q in ["突击队", "卡点", "网格", "包户", "党员", "旧的", "重新"] {
            XCTAssertEqual(try s.search(q).map(\.record), try scan(s, q), q)
        }
        // `check` (at tear-down) rebuilds the folded text and the index from
        // the log and compares; so does this, by search.
        try s.rebuildState()
        for q in ["突击队", "卡点", "网格", "包户", "重新"] { XCTAssertEqual(try s.search(q).map(\.record), try scan(s, q), "after rebuild: \(q)") }
    }

    /// A store as the previous release wrote it (file version 3, no
    /// character index) is upgraded in place on opening.
    func testAStoreFromThePreviousReleaseGetsTheIndex() throws {
        // As the release before the character index left its files: a
        // trigram index over the records (file version 3).
        let upgraded = try schema4Store { db in
            try db.execute("""
                DROP TABLE record_grams;
                CREATE VIRTUAL TABLE record_fts USING fts5(folded, content='records', content_rowid='rowid', tokenize='trigram');
                INSERT INTO record_fts(record_fts) VALUES('rebuild');
                PRAGMA user_version = 3;
                """)
        }
        let id = try XCTUnwrap(try upgraded.search("瑪多").first?.record)
        XCTAssertEqual(try upgraded.db.userVersion, Schema.fileVersion)
        XCTAssertEqual(try upgraded.search("黨").count, Int(try upgraded.status().records), "every sample report names the party")
        XCTAssertEqual(try upgraded.search("瑪多").map(\.record), [id])
        XCTAssertNoThrow(try upgraded.check())
        XCTAssertNil(try upgraded.db.scalar("SELECT name FROM sqlite_master WHERE name = 'record_fts'").string, "the trigram index is gone")
        XCTAssertEqual(Store.schemaVersion, 6, "the schema peers exchange moves with its rules (4: suggestions, 5: done marks, 6: received text), not with local indexes")
    }
}

/// The ranked search counts matches on UTF-8 bytes; the walk by scalars
/// (`ScalarText.forEachOccurrence`) is the second computation it must equal.
final class ByteOccurrenceTests: XCTestCase {
    /// Scalars counted eight bytes at a time against Swift's own count, at
    /// every length and alignment around a word.
    func testScalarCountEqualsSwiftsCount() {
        let alphabet: [Unicode.Scalar] = ["党", "a", "𠀀", "é", "\n", "😷", "\u{7F}", "\u{80}"]
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<500 {
            let text = String(String.UnicodeScalarView((0..<Int.random(in: 0...40, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! }))
            let bytes = Array(text.utf8)
            for start in 0..<min(bytes.count, 9) where bytes[start] & 0xC0 != 0x80 {
                let tail = String(decoding: bytes[start...], as: UTF8.self)
                bytes[start...].withUnsafeBytes { XCTAssertEqual(RecordSearch.scalarCount($0), tail.unicodeScalars.count, tail) }
            }
        }
    }

    func testCountingOnBytesEqualsCountingOnScalars() {
        let alphabet: [Unicode.Scalar] = ["党", "員", "员", "a", "𠀀", "😷", "名", "\n", "1", "é"]
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<500 {
            let hay = (0..<Int.random(in: 0...60, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! }
            let needle = (0..<Int.random(in: 1...3, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! }
            var byScalars = 0
            ScalarText(String(String.UnicodeScalarView(hay)), boundaries: false).forEachOccurrence(of: needle) { _ in byScalars += 1; return true }
            let bytes = Array(String(String.UnicodeScalarView(hay)).utf8)
            let byBytes = bytes.withUnsafeBytes { RecordSearch.occurrences(of: Array(String(String.UnicodeScalarView(needle)).utf8), in: $0) }
            XCTAssertEqual(byBytes, byScalars, "\(hay) / \(needle)")
        }
        // Overlapping matches count, as a search counts them.
        XCTAssertEqual(Array("党党党".utf8).withUnsafeBytes { RecordSearch.occurrences(of: Array("党党".utf8), in: $0) }, 2)
    }

    /// Texts long enough for the counts' 32-byte blocks and their partial
    /// sums (255 blocks), with matches placed across every block edge.
    func testLongTextsCountAsTheWalkByScalars() {
        let alphabet: [Unicode.Scalar] = ["党", "员", "a", "𠀀", "😷", "名", "\n", "1", "é", "黨"]
        var generator = SystemRandomNumberGenerator()
        for length in [31, 32, 33, 95, 96, 97, 2_000, 9_000, 20_000] {
            let hay = (0..<length).map { _ in alphabet.randomElement(using: &generator)! }
            let text = String(String.UnicodeScalarView(hay))
            let bytes = Array(text.utf8)
            XCTAssertEqual(bytes.withUnsafeBytes { RecordSearch.scalarCount($0) }, length)
            for needle in [["党", "员"], ["党"], ["a", "𠀀", "😷"], ["员", "员"], ["1"]] as [[Unicode.Scalar]] {
                var byScalars = 0
                ScalarText(text, boundaries: false).forEachOccurrence(of: needle) { _ in byScalars += 1; return true }
                let byBytes = bytes.withUnsafeBytes { RecordSearch.occurrences(of: Array(String(String.UnicodeScalarView(needle)).utf8), in: $0) }
                XCTAssertEqual(byBytes, byScalars, "length \(length), needle \(needle)")
            }
        }
        // One scalar over and over: with 4-byte scalars, six byte lanes
        // of every word are continuations, the most each set of counts
        // takes before it is summed.
        for scalar in ["😷", "𠀀", "党", "é", "a"] as [Unicode.Scalar] {
            for length in [503, 504, 505, 3_000] {
                let bytes = Array(String(repeating: String(scalar), count: length).utf8)
                XCTAssertEqual(bytes.withUnsafeBytes { RecordSearch.scalarCount($0) }, length, "\(scalar) × \(length)")
            }
        }
        // A match ending on the last byte, and one starting on the first.
        let edge = Array(("党员" + String(repeating: "a", count: 61) + "党员").utf8)
        XCTAssertEqual(edge.withUnsafeBytes { RecordSearch.occurrences(of: Array("党员".utf8), in: $0) }, 2)
    }
}

/// A search's first N, in each order, are the first N of all its hits
/// sorted: `RecordSearch.first` (kept in order as the hits go by) against a full
/// sort, and `rankedSearch` with and without a limit.
final class RankedSearchLimitTests: StoreTestCase {
    func testTheFirstKAreThePrefixOfTheStableSort() {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<300 {
            let items = (0..<Int.random(in: 0...40, using: &rng)).map { i in (key: Int.random(in: 0...5, using: &rng), at: i) }
            let sorted = items.sorted { $0.key > $1.key || ($0.key == $1.key && $0.at < $1.at) }
            for k in 0...(items.count + 1) {
                let first = RecordSearch.first(k, of: items) { $0.key > $1.key }
                XCTAssertEqual(first.map(\.at), sorted.prefix(k).map(\.at), "k \(k) of \(items.map(\.key))")
            }
        }
    }

    func testALimitedSearchIsThePrefixOfTheWholeRanking() throws {
        let store = try makeStore("a")
        var rng = SystemRandomNumberGenerator()
        for n in 0..<24 {
            let times = Int.random(in: 1...4, using: &rng)
            let body = String(repeating: "全縣黨員\(n)名參加。", count: times) + String(repeating: "其他工作。", count: Int.random(in: 0...6, using: &rng))
            let month = Int.random(in: 1...3, using: &rng)
            _ = try store.importReport(ReportDraft(body: body, title: "報道 \(n)", published: "2022-0\(month)-1\(n % 3)"))
        }
        // A record that holds the text in its place only, in the other script.
        _ = try store.importReport(ReportDraft(body: "防疫工作。", title: "其他", published: "2022-02-02", place: "党员之家"))
        for order in Store.SearchOrder.allCases {
            let all = try store.rankedSearch("党员", order: order)
            XCTAssertEqual(all.count, 25, "\(order)")
            XCTAssertEqual(all.first { $0.metadata == ["place"] }?.published, "2022-02-02")
            switch order {
            case .relevance: XCTAssertEqual(all.map(\.score), all.map(\.score).sorted(by: >))
            case .published: XCTAssertEqual(all.map { $0.published ?? "" }, all.map { $0.published ?? "" }.sorted(by: >))
            case .imported: break
            }
            for k in [0, 1, 5, 24, 25, 30] {
                XCTAssertEqual(try store.rankedSearch("党员", order: order, limit: k), Array(all.prefix(k)), "\(order), \(k)")
            }
        }
    }

    /// A metadata value's answer is worked out once and found again by its
    /// bytes wherever they lie; another value, even of the same length, is
    /// worked out for itself.
    func testAMetadataValueIsWorkedOutOncePerValue() {
        var known = RecordSearch.KnownValues()
        var worked: [String] = []
        func ask(_ value: String, _ answer: Bool) -> Bool {
            let bytes = Array(value.utf8)  // a buffer of its own each time, as SQLite's rows are
            return bytes.withUnsafeBytes { known.answer(for: $0) { worked.append(value); return answer } }
        }
        XCTAssertTrue(ask("黨員之家", true))
        XCTAssertTrue(ask("黨員之家", false), "the answer kept, not worked out again")
        XCTAssertFalse(ask("黨校之家", false), "same length, other bytes: its own answer")
        XCTAssertFalse(ask("", false))
        XCTAssertFalse(ask("", true), "the empty value kept too")
        XCTAssertEqual(worked, ["黨員之家", "黨校之家", ""])
        // Thousands of values, past every growth of the table, each of
        // them worked out once and answered as it was the first time.
        worked = []
        let values = (0..<3000).map { "縣委黨校第\($0)分校" + String(repeating: "站", count: $0 % 11) }
        for (n, v) in values.enumerated() { XCTAssertEqual(ask(v, n % 3 == 0), n % 3 == 0) }
        for (n, v) in values.enumerated().reversed() { XCTAssertEqual(ask(v, n % 3 != 0), n % 3 == 0, v) }
        XCTAssertEqual(worked, values)
        XCTAssertNotEqual(RecordSearch.KnownValues.hash(UnsafeRawBufferPointer(start: nil, count: 0)),
                          Array("a".utf8).withUnsafeBytes { RecordSearch.KnownValues.hash($0) })
    }

    /// Many records sharing metadata values, in both scripts: each record
    /// whose place holds the text is a hit, and no other.
    func testRecordsSharingAPlaceAreEachFoundByIt() throws {
        let store = try makeStore("a")
        let places = ["黨員之家", "党员之家", "縣委黨校", "县委党校"]
        for n in 0..<40 {
            _ = try store.importReport(ReportDraft(body: "防疫工作第\(n)天。", title: "報道 \(n)", published: "2022-01-01", place: places[n % 4]))
        }
        let hits = try store.rankedSearch("党员", order: .imported)
        XCTAssertEqual(hits.count, 20)
        XCTAssertTrue(hits.allSatisfy { $0.metadata == ["place"] })
        XCTAssertEqual(try store.rankedSearch("党校", order: .imported).count, 20)
    }
}
