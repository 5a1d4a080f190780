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
        // Body and title hits, through the index, counted on each stored
        // folded text's bytes where SQLite holds them: the stored text is
        // fold(title) + "\n" + fold(body), folding keeps lengths, so the
        // title is its first (title length) scalars.
        struct Found { var count: Int; var titleCount: Int; var length: Int }
        var found: [String: Found] = [:]
        var ids: [String] = []
        // Each hit's publication date and import order, read with its text.
        var published: [String: String] = [:], imported: [String: Int64] = [:]
        let needle = Array(String(String.UnicodeScalarView(key)).utf8)
        let (sql, values) = RecordSearch.searchCandidates(key)
        try db.statement(sql).forEach(values) { row in
            guard let id = row.column(0).string, row.storageClass(2) == .text else { return true }
            let titleScalars = row.column(1).string?.unicodeScalars.count ?? 0
            row.withColumnBytes(2) { bytes in
                // The byte where the body starts (the first scalar after the
                // title and its line break), and the text's length in
                // scalars: every byte that is not a continuation byte.
                var scalars = 0, bodyStart = bytes.count, i = 0
                while i < bytes.count {
                    if bytes[i] & 0xC0 != 0x80 {
                        if scalars == titleScalars + 1 { bodyStart = i; break }
                        scalars += 1
                    }
                    i += 1
                }
                scalars += RecordSearch.scalarCount(UnsafeRawBufferPointer(rebasing: bytes[bodyStart...]))
                let titlePart = UnsafeRawBufferPointer(rebasing: bytes[0..<max(0, min(bytes.count, bodyStart - 1))])
                let bodyPart = UnsafeRawBufferPointer(rebasing: bytes[bodyStart...])
                let inBody = RecordSearch.occurrences(of: needle, in: bodyPart), inTitle = RecordSearch.occurrences(of: needle, in: titlePart)
                // A candidate from the index may hold the pairs but not the text.
                guard inBody > 0 || inTitle > 0 else { return }
                found[id] = Found(count: inBody, titleCount: inTitle, length: scalars - 1)
                ids.append(id)
                published[id] = row.text(3)
                imported[id] = row.int(4)
            }
            return true
        }
        // Metadata: its fields hold little text; folded and checked here,
        // each value read from SQLite's bytes. Folding keeps ASCII ASCII, so
        // a value of ASCII alone (a url, a date) cannot hold a needle that
        // is not, and is not folded.
        var metadata: [String: [String]] = [:]
        let needleIsASCII = needle.allSatisfy { $0 < 0x80 }
        func check(_ s: Statement, _ column: Int, _ id: String, _ field: String) {
            guard s.storageClass(column) == .text else { return }
            let mayHold = s.withColumnBytes(column) { bytes in needleIsASCII || bytes.contains { $0 >= 0x80 } }
            guard mayHold, let value = s.text(column),
                  RecordSearch.holds(ScriptFolding.fold(TextNormalization.nfc(value)), needle) else { return }
            metadata[id, default: []].append(field)
        }
        try db.statement(RecordSearch.searchedMetadataSQL).forEach { s in
            guard let id = s.text(0) else { return true }
            for (i, f) in RecordSearch.searchedMetadataFields.enumerated() { check(s, i + 1, id, f) }
            return true
        }
        try db.statement("SELECT m.record, m.key, m.value FROM record_meta m JOIN records r ON r.id = m.record WHERE r.deleted = 0").forEach { s in
            if let id = s.text(0), let k = s.text(1) { check(s, 2, id, k) }
            return true
        }
        let metadataOnly = metadata.keys.filter { found[$0] == nil }
        ids += metadataOnly
        guard !ids.isEmpty else { return [] }
        if !metadataOnly.isEmpty {
            for row in try db.rows("SELECT id, published, rowid FROM records WHERE id IN (SELECT value FROM json_each(?))", .text(Store.jsonArray(metadataOnly))) {
                if let id = row[0].string { published[id] = row[1].string; imported[id] = row[2].int ?? 0 }
            }
        }
        // BM25 (k1 = 1.2, b = 0.75) of one phrase: its frequency in each
        // record, against the record's length and the average length.
        let total = Double(try db.scalar("SELECT count(*) FROM records WHERE deleted = 0 AND typeof(body) = 'text'").int ?? 1)
        let lengths = found.values.map { Double($0.length) }
        let average = max(1, lengths.isEmpty ? 1 : lengths.reduce(0, +) / Double(lengths.count))
        let n = Double(ids.count)
        let ratio: Double = (total - n + 0.5) / (n + 0.5)
        let idf: Double = Foundation.log(1.0 + ratio)
        var hits: [Store.RankedHit] = []
        hits.reserveCapacity(ids.count)
        for id in ids {
            let f = found[id]
            let inBody: Int = f?.count ?? 0
            let inTitle: Int = f?.titleCount ?? 0
            let inMetadata: Int = (metadata[id]?.isEmpty == false) ? 1 : 0
            let tf = Double(inBody + 2 * inTitle + inMetadata)
            let length = Double(f?.length ?? 0)
            let norm: Double = 1.2 * (0.25 + 0.75 * length / average)
            let score: Double = idf * tf * 2.2 / (tf + norm)
            hits.append(Store.RankedHit(record: id, score: score, published: published[id], metadata: metadata[id] ?? []))
        }
        // Ordered by numbers taken out once: each hit's import order, and
        // its published date as its rank among the hits' dates (dates
        // compared as text once per distinct date, not at every comparison).
        // With a limit, only the first `limit` are kept in order as the
        // hits go by, not all of them sorted.
        let dates = Set(hits.map { $0.published ?? "" }).sorted()
        let dateRank = Dictionary(uniqueKeysWithValues: dates.enumerated().map { ($1, $0) })
        struct Keyed { var index: Int; var score: Double; var published: Int; var imported: Int64 }
        let keyed = hits.enumerated().map { i, h in
            Keyed(index: i, score: order == .relevance ? h.score : 0, published: order == .imported ? 0 : dateRank[h.published ?? ""] ?? 0,
                  imported: imported[h.record] ?? 0)
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
        return chosen.map { hits[$0.index] }
    }

    /// See `Store.searchHit`.
    func hit(_ text: String, record id: String) throws -> Store.SearchHit? {
        let key = RecordSearch.searchKey(text)
        guard let row = try db.rows("SELECT title, folded FROM records WHERE id = ?", .text(id)).first, let foldedText = row[1].string else { return nil }
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
                SELECT r.id, r.title, r.folded, r.published, r.rowid FROM record_grams JOIN records r ON r.rowid = record_grams.rowid
                WHERE record_grams MATCH ? AND r.deleted = 0 AND r.body IS NOT NULL AND instr(r.folded, ?) > 0
                ORDER BY record_grams.rowid DESC
                """, [.text(terms), .text(folded)])
        }
        // No letter or digit in it (punctuation alone): scan the folded text.
        return ("SELECT id, title, folded, published, rowid FROM records WHERE deleted = 0 AND body IS NOT NULL AND instr(folded, ?) > 0 ORDER BY rowid DESC",
                [.text(folded)])
    }

    /// The record fields a search looks in besides the text.
    static let searchedMetadataFields = ["place", "source", "url", "author", "editor"]
    /// Those fields of every live record, from an index of them alone
    /// (`records_searched`): a record's row holds its text before its
    /// deleted mark, so a scan of the table read every report.
    static let searchedMetadataSQL = """
        SELECT id, \(searchedMetadataFields.joined(separator: ", ")) FROM records INDEXED BY records_searched
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
    /// continuation bytes (`10xxxxxx`), counted eight at a time.
    static func scalarCount(_ bytes: UnsafeRawBufferPointer) -> Int {
        var continuations = 0, i = 0
        let high: UInt64 = 0x8080_8080_8080_8080
        while i + 8 <= bytes.count {
            let w = bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            // Bit 7 set and bit 6 clear: shifting by one brings each byte's
            // bit 6 under its bit 7 (bit 7 moves into the next byte's bit 0,
            // which the mask drops).
            continuations &+= (w & ~(w << 1) & high).nonzeroBitCount
            i += 8
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
            while at < hay.count, let found = memchr(base + at, Int32(lastByte), hay.count - at) {
                let end = base.distance(to: UnsafeRawPointer(found))
                if memcmp(base + (end - k), nb, k) == 0 { count += 1 }
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
