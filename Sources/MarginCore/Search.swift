import Foundation
import MarginSQLite

/// What `margin search` and the workspace's search ask of the store: the
/// results' shapes, and the calls, each handed to a `RecordSearch` on the
/// store's connection.
extension Store {
    public struct SearchHit: Equatable, Sendable {
        public var record: String
        public var title: String?
        /// How many times the text occurs in the body.
        public var matchCount: Int
        /// Scalar offsets of the first matches in the body (at most
        /// `matchesKept`); `forEachMatch` gives every one.
        public var matches: [Int]
        public var matchLength: Int
        /// The body's folded text and the folded query, to walk all matches.
        let folded: ScalarText
        let key: [Unicode.Scalar]

        public static let matchesKept = 3

        /// Every match offset, in order, until `body` returns false.
        public func forEachMatch(_ body: (Int) throws -> Bool) rethrows {
            try folded.forEachOccurrence(of: key, body)
        }

        public static func == (a: SearchHit, b: SearchHit) -> Bool {
            a.record == b.record && a.title == b.title && a.matchCount == b.matchCount && a.matches == b.matches && a.matchLength == b.matchLength
        }
    }

    /// The longest search text, in characters: a phrase, not a document.
    /// Longer queries cost memory in the full-text index for nothing.
    public static let maxSearchLength = 200

    /// The index query a search for `text` runs before checking candidates
    /// (for the benchmark's bare-index baseline), or nil when it scans.
    public static func indexQuery(_ text: String) -> String? { GramIndex.query(RecordSearch.searchKey(text)) }

    /// What the index holds for a folded text (for the benchmark's floor).
    public static func indexedGrams(_ folded: String) -> String { GramIndex.grams(folded) }

    /// The length of `text` as a search counts it (characters, once normalised).
    public static func searchLength(_ text: String) -> Int { RecordSearch.searchKey(text).count }

    /// How search results are ordered.
    public enum SearchOrder: String, CaseIterable, Sendable {
        /// BM25 over the body and title (title matches count double), a
        /// match in the metadata counting once; ties by published date.
        case relevance
        /// Newest publication first.
        case published
        /// Most recently imported first (streams: the first hits come at once).
        case imported
    }

    /// One ranked result: enough to order them, one record at a time.
    public struct RankedHit: Equatable, Sendable {
        public var record: String
        public var score: Double
        public var published: String?
        /// The metadata fields holding the text (place, source, …).
        public var metadata: [String]
    }

    /// Calls `body` with each live record containing `text`, most recently
    /// imported first, until it returns false or `limit` records have
    /// matched. Holds one record at a time: memory depends on neither the
    /// number of hits nor the length of the query. Newest-first (rather than
    /// by rank) lets the index stop early instead of scoring every report
    /// that contains a common phrase.
    public func forEachSearchHit(_ text: String, limit: Int? = nil, _ body: (SearchHit) throws -> Bool) throws {
        try RecordSearch(db: db).forEachHit(text, limit: limit, body)
    }

    /// Records holding `text` in their body, title or metadata (place,
    /// source, url, author, editor, free keys), ordered by `order`, at most
    /// `limit`. Memory is a few numbers per hit, never the texts: the
    /// caller reads each record it shows.
    public func rankedSearch(_ text: String, order: SearchOrder, limit: Int? = nil) throws -> [RankedHit] {
        try RecordSearch(db: db).ranked(text, order: order, limit: limit)
    }

    /// One record's matches of `text` as a hit (after `rankedSearch`).
    public func searchHit(_ text: String, record id: String) throws -> SearchHit? {
        try RecordSearch(db: db).hit(text, record: id)
    }

    /// Every hit, collected (for tests and the benchmark; the CLI streams).
    public func search(_ text: String, limit: Int? = nil) throws -> [SearchHit] {
        var hits: [SearchHit] = []
        try forEachSearchHit(text, limit: limit) { hits.append($0); return true }
        return hits
    }
}

/// Full-text search over the records: the query's folding, the candidates
/// the gram index gives (`GramIndex`), each candidate's text checked and
/// counted on its bytes, the metadata looked in, and the BM25 ranking.
/// It reads the database and nothing else of the store (no write, no
/// cache, no node), so it is a type of its own on the store's connection.
struct RecordSearch {
    let db: Database

    /// Normalises a query as the index text is normalised.
    static func searchKey(_ text: String) -> [Unicode.Scalar] {
        ScriptFolding.fold(Array(TextNormalization.nfc(text).unicodeScalars))
    }

    /// The query's normalised scalars, or the reason it cannot be searched for.
    static func checkedSearchKey(_ text: String) throws -> [Unicode.Scalar] {
        let key = RecordSearch.searchKey(text)
        guard !key.isEmpty else { throw MarginError.invalid("the search text is empty") }
        guard key.count <= Store.maxSearchLength else {
            throw MarginError.invalid("the search text is \(key.count) characters long; at most \(Store.maxSearchLength) are allowed (search for a distinctive part of it)")
        }
        return key
    }

    /// Scalars `from` up to `to` (or the end) of a stored folded text, as a
    /// String: its UTF-8 copied at once, not rebuilt a scalar at a time
    /// (which cost a search most of its time).
    static func foldedPart(_ folded: String, from: Int, to: Int? = nil) -> String {
        let view = folded.unicodeScalars
        let start = view.index(view.startIndex, offsetBy: max(0, from), limitedBy: view.endIndex) ?? view.endIndex
        let end = to.map { view.index(view.startIndex, offsetBy: max(0, $0), limitedBy: view.endIndex) ?? view.endIndex } ?? view.endIndex
        return start < end ? String(Substring(view[start..<end])) : ""
    }

    /// See `Store.forEachSearchHit`.
    func forEachHit(_ text: String, limit: Int? = nil, _ body: (Store.SearchHit) throws -> Bool) throws {
        let key = try RecordSearch.checkedSearchKey(text)
        if let limit, limit <= 0 { return }
        try mapFile()
        let (sql, values) = RecordSearch.searchCandidates(key)
        var found = 0
        try db.statement(sql).forEach(values) { row in
            guard let id = row.column(0).string, let foldedText = row.column(2).string else { return true }
            let title = row.column(1).string
            // The stored folded text is fold(title) + "\n" + fold(body), and
            // folding keeps lengths, so offsets after the title are body offsets.
            let skip = (title ?? "").unicodeScalars.count + 1
            let bodyText = ScalarText(RecordSearch.foldedPart(foldedText, from: skip), boundaries: false)
            var count = 0
            var first: [Int] = []
            bodyText.forEachOccurrence(of: key) { offset in
                if first.count < Store.SearchHit.matchesKept { first.append(offset) }
                count += 1
                return true
            }
            // A candidate from the index may hold the pairs but not the
            // text; it counts only if the body or the title holds the text.
            if count == 0 {
                let titleText = ScalarText(RecordSearch.foldedPart(foldedText, from: 0, to: skip - 1), boundaries: false)
                var inTitle = false
                titleText.forEachOccurrence(of: key) { _ in inTitle = true; return false }
                guard inTitle else { return true }
            }
            found += 1
            let hit = Store.SearchHit(record: id, title: title, matchCount: count, matches: first, matchLength: key.count, folded: bodyText, key: key)
            guard try body(hit) else { return false }
            return limit.map { found < $0 } ?? true
        }
    }

    /// See `Store.rankedSearch`.
    func ranked(_ text: String, order: Store.SearchOrder, limit: Int? = nil) throws -> [Store.RankedHit] {
        let key = try RecordSearch.checkedSearchKey(text)
        try mapFile()
        let needle = Array(String(String.UnicodeScalarView(key)).utf8)
        // Body and title matches, counted on each folded text's bytes where
        // SQLite holds them, by rowid (the record's). The text is
        // fold(title) + "\n" + fold(body), and a title is one line, so the
        // title is the bytes before the first line break.
        struct Counted { var count: Int; var titleCount: Int; var length: Int }
        var counted: [Int64: Counted] = [:]
        let (sql, values) = RecordSearch.foldedCandidates(key)
        try db.statement(sql).forEach(values) { row in
            guard row.storageClass(1) == .text else { return true }
            row.withColumnBytes(1) { bytes in
                guard let base = bytes.baseAddress else { return }
                let titleEnd = memchr(base, 0x0A, bytes.count).map { base.distance(to: UnsafeRawPointer($0)) } ?? bytes.count
                let titlePart = UnsafeRawBufferPointer(rebasing: bytes[..<titleEnd])
                let bodyPart = UnsafeRawBufferPointer(rebasing: bytes[min(bytes.count, titleEnd + 1)...])
                let inBody = RecordSearch.occurrences(of: needle, in: bodyPart), inTitle = RecordSearch.occurrences(of: needle, in: titlePart)
                // A candidate from the index may hold the pairs but not the text.
                guard inBody > 0 || inTitle > 0 else { return }
                // Its length in scalars, the line break left out.
                counted[row.int(0)] = Counted(count: inBody, titleCount: inTitle, length: RecordSearch.scalarCount(bytes) - 1)
            }
            return true
        }
        // One entry per hit, found by its rowid: a common word is in nearly
        // every report, and keying three dictionaries by id strings cost a
        // search a tenth of its time. Ids are read for the hits kept only.
        struct Hit {
            var rowid: Int64
            var counted: Counted?
            var published: String?
            var metadata: [String] = []
        }
        var hits: [Hit] = []
        var index: [Int64: Int] = [:]
        // Metadata: its fields hold little text; folded and checked here,
        // each value read from SQLite's bytes. Folding keeps ASCII ASCII, so
        // a value of ASCII alone (a url, a date) cannot hold a needle that
        // is not, and is not folded.
        let needleIsASCII = needle.allSatisfy { $0 < 0x80 }
        // A place or a source recurs over many reports: each distinct value
        // is normalised and folded once, and found again by its bytes where
        // SQLite holds them (hashed in one call, compared with memcmp), with
        // nothing copied: keyed by a copy of the bytes, hashed a byte at a
        // time, the look-ups were about 4% of a search for 党员 at a million
        // changes. (Not by String: hashing a String normalises it first.)
        var known = KnownValues()
        func holds(_ s: Statement, _ column: Int) -> Bool {
            guard s.storageClass(column) == .text else { return false }
            return s.withColumnBytes(column) { bytes in
                guard needleIsASCII || bytes.contains(where: { $0 >= 0x80 }) else { return false }
                return known.answer(for: bytes) {
                    RecordSearch.holds(ScriptFolding.fold(TextNormalization.nfc(String(decoding: bytes, as: UTF8.self))), needle)
                }
            }
        }
        // The live records with a text, from an index of their metadata and
        // publication date alone: the text matches of those are the hits,
        // with the records whose metadata holds the text. Their number is
        // BM25's count of documents.
        var total = 0
        index.reserveCapacity(counted.count)
        hits.reserveCapacity(counted.count)
        try db.statement(RecordSearch.searchedMetadataSQL).forEach { s in
            total += 1
            let rowid = s.int(0)
            // Most records' metadata holds nothing: no array made for them.
            var fields: [String] = []
            for (i, field) in RecordSearch.searchedMetadataFields.enumerated() where holds(s, i + 1) { fields.append(field) }
            let match = counted[rowid]
            guard match != nil || !fields.isEmpty else { return true }
            index[rowid] = hits.count
            hits.append(Hit(rowid: rowid, counted: match, published: s.text(RecordSearch.searchedMetadataFields.count + 1), metadata: fields))
            return true
        }
        let unpublished = hits.count
        try db.statement("SELECT r.rowid, m.key, m.value FROM record_meta m JOIN records r ON r.id = m.record WHERE r.deleted = 0").forEach { s in
            guard let k = s.text(1), holds(s, 2) else { return true }
            let rowid = s.int(0)
            if let at = index[rowid] {
                hits[at].metadata.append(k)
            } else {
                index[rowid] = hits.count
                hits.append(Hit(rowid: rowid, metadata: [k]))
            }
            return true
        }
        guard !hits.isEmpty else { return [] }
        if hits.count > unpublished {
            let rowids = hits[unpublished...].map { String($0.rowid) }.joined(separator: ",")
            try db.statement("SELECT rowid, published FROM records WHERE rowid IN (SELECT value FROM json_each(?))").forEach([.text("[" + rowids + "]")]) { s in
                if let at = index[s.int(0)] { hits[at].published = s.text(1) }
                return true
            }
        }
        // BM25 (k1 = 1.2, b = 0.75) of one phrase: its frequency in each
        // record, against the record's length and the average length.
        let lengths = hits.compactMap { $0.counted?.length }
        let average = lengths.isEmpty ? 1 : max(1, Double(lengths.reduce(0, +)) / Double(lengths.count))
        let n = Double(hits.count)
        let idf = Foundation.log(1.0 + (Double(total) - n + 0.5) / (n + 0.5))
        let scores = hits.map { h -> Double in
            let tf = Double((h.counted?.count ?? 0) + 2 * (h.counted?.titleCount ?? 0) + (h.metadata.isEmpty ? 0 : 1))
            let norm = 1.2 * (0.25 + 0.75 * Double(h.counted?.length ?? 0) / average)
            return idf * tf * 2.2 / (tf + norm)
        }
        // Ordered by numbers taken out once: each hit's import order (its
        // rowid), and its published date as its rank among the hits' dates
        // (dates compared as text once per distinct date, not at every
        // comparison). With a limit, only the first `limit` are kept in
        // order as the hits go by, not all of them sorted.
        let dates = Set(hits.map { $0.published ?? "" }).sorted()
        let dateRank = Dictionary(uniqueKeysWithValues: dates.enumerated().map { ($1, $0) })
        struct Keyed { var index: Int; var score: Double; var published: Int; var imported: Int64 }
        let keyed = hits.enumerated().map { i, h in
            Keyed(index: i, score: order == .relevance ? scores[i] : 0, published: order == .imported ? 0 : dateRank[h.published ?? ""] ?? 0,
                  imported: h.rowid)
        }
        // Every order is these three keys, highest first (a key an order
        // does not use is 0 for every hit).
        func before(_ a: Keyed, _ b: Keyed) -> Bool {
            if a.score != b.score { return a.score > b.score }
            if a.published != b.published { return a.published > b.published }
            return a.imported > b.imported
        }
        let chosen: [Keyed]
        if let limit, limit < keyed.count {
            chosen = RecordSearch.first(max(0, limit), of: keyed, by: before)
        } else {
            chosen = keyed.sorted(by: before)
        }
        // The ids of the hits kept.
        var ids: [Int64: String] = [:]
        let rowids = chosen.map { String(hits[$0.index].rowid) }.joined(separator: ",")
        try db.statement("SELECT rowid, id FROM records WHERE rowid IN (SELECT value FROM json_each(?))").forEach([.text("[" + rowids + "]")]) { s in
            ids[s.int(0)] = s.text(1)
            return true
        }
        return chosen.compactMap { k in
            let h = hits[k.index]
            return ids[h.rowid].map { Store.RankedHit(record: $0, score: scores[k.index], published: h.published, metadata: h.metadata) }
        }
    }

    /// See `Store.searchHit`.
    func hit(_ text: String, record id: String) throws -> Store.SearchHit? {
        let key = RecordSearch.searchKey(text)
        guard let row = try db.rows("SELECT r.title, f.folded FROM records r JOIN record_folded f ON f.rowid = r.rowid WHERE r.id = ?", .text(id)).first,
              let foldedText = row[1].string else { return nil }
        let title = row[0].string
        let skip = (title ?? "").unicodeScalars.count + 1
        let bodyText = ScalarText(RecordSearch.foldedPart(foldedText, from: skip), boundaries: false)
        var count = 0, first: [Int] = []
        bodyText.forEachOccurrence(of: key) { offset in
            if first.count < Store.SearchHit.matchesKept { first.append(offset) }
            count += 1
            return true
        }
        return Store.SearchHit(record: id, title: title, matchCount: count, matches: first, matchLength: key.count, folded: bodyText, key: key)
    }

    /// The live records whose folded text holds `key` (id, title, folded
    /// text, published, import order), most recently imported first.
    static func searchCandidates(_ key: [Unicode.Scalar]) -> (sql: String, values: [SQLValue]) {
        let folded = String(String.UnicodeScalarView(key))
        if let terms = GramIndex.query(key) {
            // A few of the query's characters and pairs (the user's text is
            // never query syntax: each term is quoted, and quotes separate);
            // SQLite's instr() drops the candidates without the whole text
            // before any is decoded here (a rare phrase made of common pairs
            // has many), and the rest are checked match by match.
            return ("""
                SELECT r.id, r.title, f.folded, r.published, r.rowid
                FROM record_grams JOIN records r ON r.rowid = record_grams.rowid JOIN record_folded f ON f.rowid = r.rowid
                WHERE record_grams MATCH ? AND r.deleted = 0 AND r.body IS NOT NULL AND instr(f.folded, ?) > 0
                ORDER BY record_grams.rowid DESC
                """, [.text(terms), .text(folded)])
        }
        // No letter or digit in it (punctuation alone): scan the folded text.
        return ("""
            SELECT r.id, r.title, f.folded, r.published, r.rowid FROM records r JOIN record_folded f ON f.rowid = r.rowid
            WHERE r.deleted = 0 AND r.body IS NOT NULL AND instr(f.folded, ?) > 0 ORDER BY r.rowid DESC
            """, [.text(folded)])
    }

    /// The rowid and folded text of every record the index gives for `key`,
    /// live or not (the ranking keeps the live ones), unchecked: the ranking
    /// counts the text in each, and SQLite's instr() scanning each first
    /// cost a third of a search (16 ms of 45 for 党员 at a million changes).
    static func foldedCandidates(_ key: [Unicode.Scalar]) -> (sql: String, values: [SQLValue]) {
        if let terms = GramIndex.query(key) {
            return ("SELECT f.rowid, f.folded FROM record_grams JOIN record_folded f ON f.rowid = record_grams.rowid WHERE record_grams MATCH ?",
                    [.text(terms)])
        }
        return ("SELECT rowid, folded FROM record_folded WHERE instr(folded, ?) > 0", [.text(String(String.UnicodeScalarView(key)))])
    }

    /// The record fields a search looks in besides the text.
    static let searchedMetadataFields = ["place", "source", "url", "author", "editor"]
    /// Those fields of every live record with a text, and its publication
    /// date, from an index of them alone (`records_searched`): a record's
    /// row holds its text before its deleted mark, so a scan of the table
    /// read every report.
    static let searchedMetadataSQL = """
        SELECT rowid, \(searchedMetadataFields.joined(separator: ", ")), published FROM records INDEXED BY records_searched
        WHERE deleted = 0 AND typeof(body) = 'text'
        """

    /// A search reads the folded text of records scattered through the
    /// file: read through a memory map, each page is not copied into
    /// SQLite's cache first (`search 党员 -n 20` at a million changes, as a
    /// process: 151 ms to 93 ms, median of five). Only for search: a
    /// command that reads the whole file would count every page of it in
    /// its resident memory, and gains nothing (`list --json` measured the
    /// same). Stays on for the connection, as SQLite's own setting does.
    private func mapFile() throws {
        try db.execute("PRAGMA mmap_size = \(RecordSearch.searchMapBytes)")
    }
    static let searchMapBytes = 1 << 30

    /// How many scalars valid UTF-8 holds: its bytes that are not
    /// continuation bytes (`10xxxxxx`). A search counts every hit's length
    /// this way, over every report holding a common word, so it goes eight
    /// bytes to a word with each byte's answer (0 or 1) kept in its own
    /// byte, four words a step, summed across bytes once per 63 steps (the
    /// tail, a word at a time, once per 255 words): no bit count per word
    /// (the toolchain's baseline x86-64 has no `popcnt` instruction, and
    /// Swift's SIMD lane operations here ran a lane at a time).
    static func scalarCount(_ bytes: UnsafeRawBufferPointer) -> Int {
        guard let base = bytes.baseAddress else { return 0 }
        var continuations = 0, i = 0
        let low: UInt64 = 0x0101_0101_0101_0101, pairs: UInt64 = 0x00FF_00FF_00FF_00FF
        // Bit 7 set and bit 6 clear, moved down to each byte's bit 0.
        @inline(__always) func marks(_ offset: Int) -> UInt64 {
            let w = (base + offset).loadUnaligned(as: UInt64.self)
            return ((w & ~(w << 1)) >> 7) & low
        }
        // Four words a step, their marks added into one set of byte-wide
        // counts (at most 4 a step, so 63 steps before they are summed):
        // the steps' loads and masks are independent of each other, which
        // a word a step, each adding into the counts, left waiting.
        while i + 32 <= bytes.count {
            var lanes: UInt64 = 0
            for _ in 0..<min(63, (bytes.count - i) / 32) {
                lanes &+= (marks(i) &+ marks(i + 8)) &+ (marks(i + 16) &+ marks(i + 24))
                i += 32
            }
            let wide = (lanes & pairs) &+ ((lanes >> 8) & pairs)
            continuations += Int((wide &* 0x0001_0001_0001_0001) >> 48)
        }
        while i + 8 <= bytes.count {
            var lanes: UInt64 = 0
            var rounds = 0
            while rounds < 255 && i + 8 <= bytes.count {
                lanes &+= marks(i)
                i += 8
                rounds += 1
            }
            // Eight byte-wide counts to four 16-bit ones, then their sum.
            let wide = (lanes & pairs) &+ ((lanes >> 8) & pairs)
            continuations += Int((wide &* 0x0001_0001_0001_0001) >> 48)
        }
        while i < bytes.count {
            continuations &+= bytes[i] & 0xC0 == 0x80 ? 1 : 0
            i += 1
        }
        return bytes.count - continuations
    }

    /// How many times `needle` occurs in `hay` (overlapping, as
    /// `ScalarText.forEachOccurrence` counts), on their UTF-8: a match of
    /// whole UTF-8 sequences always starts and ends on scalars, so the
    /// count is the scalars' count, with no scalar array made.
    ///
    /// Candidates are found with `memchr` on the needle's last byte: in
    /// CJK text a character's first byte recurs every few bytes, its last
    /// byte (one of 64 continuation values) far less often.
    static func occurrences(of needle: [UInt8], in hay: UnsafeRawBufferPointer) -> Int {
        guard let lastByte = needle.last, needle.count <= hay.count, let base = hay.baseAddress else { return 0 }
        let k = needle.count - 1
        return needle.withUnsafeBytes { n -> Int in
            guard let nb = n.baseAddress else { return 0 }
            var count = 0
            // The next place the needle's last byte could be.
            var at = k
            // The byte before the last compared here first: most places
            // holding the last byte hold another character's (a call of
            // `memcmp` at each was a fifth of counting a common word).
            let beforeLast = k > 0 ? nb.load(fromByteOffset: k - 1, as: UInt8.self) : 0
            while at < hay.count, let found = memchr(base + at, Int32(lastByte), hay.count - at) {
                let end = base.distance(to: UnsafeRawPointer(found))
                if k == 0 || (base.load(fromByteOffset: end - 1, as: UInt8.self) == beforeLast && memcmp(base + (end - k), nb, k - 1) == 0) {
                    count += 1
                }
                at = end + 1
            }
            return count
        }
    }

    /// Whether `needle`'s bytes occur in `hay`'s UTF-8 (the metadata of a
    /// search; both folded and in NFC, so bytes decide as scalars would).
    static func holds(_ hay: String, _ needle: [UInt8]) -> Bool {
        var hay = hay
        return hay.withUTF8 { occurrences(of: needle, in: UnsafeRawBufferPointer($0)) > 0 }
    }

    /// Answers already worked out for metadata values, found by the
    /// value's bytes without copying them: a value is copied once, into one
    /// buffer of every kept value, when its answer is first kept. Found by a
    /// hash of the bytes, eight at a time, in a table of its own (open
    /// addressing): with `Hasher` over the bytes and a dictionary hashing
    /// that hash again, a value took two SipHash runs, five values a record
    /// (a tenth of a search for 党员 at a million changes). Values are
    /// compared byte for byte, so an answer is never another value's.
    struct KnownValues {
        private struct Entry {
            var hash: UInt64
            var start: Int
            var count: Int
            var answer: Bool
        }
        private var entries: [Entry] = []
        private var kept: [UInt8] = []
        /// Indices into `entries`, -1 where empty; a power of two, at most half full.
        private var slots = [Int32](repeating: -1, count: 256)
        /// Beyond this many values, new ones are worked out and not kept.
        static let limit = 100_000

        mutating func answer(for bytes: UnsafeRawBufferPointer, _ work: () -> Bool) -> Bool {
            let hash = KnownValues.hash(bytes)
            let mask = slots.count - 1
            var i = Int(truncatingIfNeeded: hash >> 20) & mask
            while slots[i] >= 0 {
                let e = entries[Int(slots[i])]
                if e.hash == hash, e.count == bytes.count, sameBytes(e, bytes) { return e.answer }
                i = (i + 1) & mask
            }
            let answer = work()
            guard entries.count < KnownValues.limit else { return answer }
            slots[i] = Int32(entries.count)
            entries.append(Entry(hash: hash, start: kept.count, count: bytes.count, answer: answer))
            kept.append(contentsOf: bytes)
            if 2 * entries.count > slots.count { grow() }
            return answer
        }

        private func sameBytes(_ e: Entry, _ bytes: UnsafeRawBufferPointer) -> Bool {
            guard e.count > 0, let b = bytes.baseAddress else { return true }
            return kept.withUnsafeBytes { k in
                guard let a = k.baseAddress else { return false }
                return memcmp(a + e.start, b, e.count) == 0
            }
        }

        private mutating func grow() {
            slots = [Int32](repeating: -1, count: 2 * slots.count)
            let mask = slots.count - 1
            for (n, e) in entries.enumerated() {
                var i = Int(truncatingIfNeeded: e.hash >> 20) & mask
                while slots[i] >= 0 { i = (i + 1) & mask }
                slots[i] = Int32(n)
            }
        }

        /// A hash of the bytes, a word at a time, mixed at the end (no
        /// attacker chooses a store's own metadata, and a collision costs
        /// only a comparison).
        static func hash(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
            var h: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ UInt64(bytes.count)
            guard let base = bytes.baseAddress else { return h }
            var i = 0
            while i + 8 <= bytes.count {
                h = (h ^ base.loadUnaligned(fromByteOffset: i, as: UInt64.self)) &* 0xFF51_AFD7_ED55_8CCD
                h ^= h >> 32
                i += 8
            }
            var tail: UInt64 = 0
            var shift: UInt64 = 0
            while i < bytes.count {
                tail |= UInt64(base.load(fromByteOffset: i, as: UInt8.self)) << shift
                shift += 8
                i += 1
            }
            h = (h ^ tail) &* 0xC4CE_B9FE_1A85_EC53
            return h ^ (h >> 29)
        }
    }

    /// The first `k` of `items` in the order `before`, as `sorted(by:)`
    /// would give them, in time linear in the items for a small `k`.
    static func first<T>(_ k: Int, of items: [T], by before: (T, T) -> Bool) -> [T] {
        guard k > 0 else { return [] }
        var kept: [T] = []
        kept.reserveCapacity(k + 1)
        for item in items {
            if kept.count == k, let last = kept.last, !before(item, last) { continue }
            // After the last kept item it does not precede, so ties keep
            // the order they came in, as a stable sort would.
            var at = kept.count
            while at > 0, before(item, kept[at - 1]) { at -= 1 }
            kept.insert(item, at: at)
            if kept.count > k { kept.removeLast() }
        }
        return kept
    }
}
