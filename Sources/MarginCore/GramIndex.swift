/// The full-text index behind `margin search`. For each record it holds
/// every character and every pair of adjacent characters of its folded text
/// as FTS5 tokens (contentless, `detail=none`: which records hold a token,
/// nothing more). A query of one or two characters is one token look-up; a
/// longer one is an AND of a few of its pairs. Every record found is then
/// checked for the text itself. It replaced a trigram index, which could
/// not answer one- or two-character queries (a scan of every report took
/// 0.4 s at 100k reports) and was four times the size (measured in C on
/// 100k reports: 39 MB against 158 MB, long queries in 0.6-1.2 ms).
///
/// Tokens follow FTS5's unicode61 rule: letters, numbers and private-use
/// characters make tokens; anything else separates them, and no pair spans
/// it. A query with no token character at all is answered by a scan.
enum GramIndex {
    static let createTable = "CREATE VIRTUAL TABLE record_grams USING fts5(grams, content='', detail=none, tokenize='unicode61 remove_diacritics 0')"

    /// Whether unicode61 keeps `s` inside a token.
    static func isTokenCharacter(_ s: Unicode.Scalar) -> Bool {
        // The common cases without the property look-up.
        switch s.value {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A, 0x4E00...0x9FFF: return true
        case 0..<0x80: return false
        default: break
        }
        switch s.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
             .decimalNumber, .letterNumber, .otherNumber, .privateUse:
            return true
        default:
            return false
        }
    }

    /// The tokens of `folded`: each token character, and each pair of
    /// adjacent ones, separated by spaces, each token once. Built as UTF-8
    /// bytes: this runs over every imported report.
    ///
    /// Once, because with `detail=none` the index keeps only which records
    /// hold a token: a repeat changes nothing, yet FTS5 hashes every token it
    /// is given, and a report repeats most of its characters and pairs (the
    /// seeds hold each token 2.3 times on average; margin-bench's generated
    /// reports, 6 times). Inserting or deleting a record's entry with or
    /// without repeats leaves the same index.
    static func grams(_ folded: String) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(folded.utf8.count * 3)
        var seen = TokenSet(capacity: min(folded.utf8.count, 1024))
        var previous: (bytes: (UInt8, UInt8, UInt8, UInt8), count: Int, scalar: UInt64)?
        func append(_ b: (UInt8, UInt8, UInt8, UInt8), _ n: Int) {
            out.append(b.0)
            if n > 1 { out.append(b.1) }
            if n > 2 { out.append(b.2) }
            if n > 3 { out.append(b.3) }
        }
        for s in folded.unicodeScalars {
            guard isTokenCharacter(s) else {
                previous = nil
                continue
            }
            let v = s.value
            let b: (UInt8, UInt8, UInt8, UInt8), n: Int
            if v < 0x80 {
                (b, n) = ((UInt8(v), 0, 0, 0), 1)
            } else if v < 0x800 {
                (b, n) = ((0xC0 | UInt8(v >> 6), 0x80 | UInt8(v & 0x3F), 0, 0), 2)
            } else if v < 0x10000 {
                (b, n) = ((0xE0 | UInt8(v >> 12), 0x80 | UInt8((v >> 6) & 0x3F), 0x80 | UInt8(v & 0x3F), 0), 3)
            } else {
                (b, n) = ((0xF0 | UInt8(v >> 18), 0x80 | UInt8((v >> 12) & 0x3F), 0x80 | UInt8((v >> 6) & 0x3F), 0x80 | UInt8(v & 0x3F)), 4)
            }
            if seen.insert(UInt64(v)) {
                append(b, n)
                out.append(0x20)
            }
            if let p = previous, seen.insert(1 << 63 | p.scalar << 21 | UInt64(v)) {
                append(p.bytes, p.count)
                append(b, n)
                out.append(0x20)
            }
            previous = (b, n, UInt64(v))
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// A set of tokens (a scalar, or a pair of scalars with the top bit
    /// set) for one text: open addressing in a flat table, with no hashing
    /// of strings. It starts small and doubles when half full: sized for
    /// every token a text could hold (two per byte), a report's table was
    /// 256 KB, zeroed for each report and read at random, where its few
    /// thousand distinct tokens fit in a table a quarter of that.
    struct TokenSet {
        private var slots: [UInt64]
        private var mask: Int
        private(set) var count = 0
        init(capacity: Int) {
            var size = 64
            while size < 2 * capacity + 2 { size <<= 1 }
            slots = [UInt64](repeating: 0, count: size)
            mask = size - 1
        }
        /// Adds `token` (never 0); true when it was not there.
        mutating func insert(_ token: UInt64) -> Bool {
            var i = TokenSet.slot(token, mask)
            while true {
                let slot = slots[i]
                if slot == token { return false }
                if slot == 0 {
                    slots[i] = token
                    count += 1
                    if 2 * count > mask { grow() }
                    return true
                }
                i = (i + 1) & mask
            }
        }
        @inline(__always) private static func slot(_ token: UInt64, _ mask: Int) -> Int {
            Int(truncatingIfNeeded: (token &* 0x9E37_79B9_7F4A_7C15) >> 32) & mask
        }
        private mutating func grow() {
            let old = slots
            mask = 2 * (mask + 1) - 1
            slots = [UInt64](repeating: 0, count: mask + 1)
            for token in old where token != 0 {
                var i = TokenSet.slot(token, mask)
                while slots[i] != 0 { i = (i + 1) & mask }
                slots[i] = token
            }
        }
    }

    /// How many of a long query's pairs the index is asked for: enough to
    /// narrow the candidates, few enough that the work and memory do not
    /// grow with the query's length.
    static let maxTerms = 6

    /// The FTS5 query for a folded key: each token-character run of it
    /// gives its pairs (or itself, when one character long), and up to
    /// `maxTerms` of them, spread over the key, are ANDed. Nil when the key
    /// has no token character (the caller scans).
    static func query(_ key: [Unicode.Scalar]) -> String? {
        var terms: [String] = []
        var run: [Unicode.Scalar] = []
        func close() {
            if run.count == 1 { terms.append(String(Character(run[0]))) }
            for i in 0..<max(0, run.count - 1) {
                var v = String.UnicodeScalarView()
                v.append(run[i]); v.append(run[i + 1])
                terms.append(String(v))
            }
            run = []
        }
        for s in key {
            if isTokenCharacter(s) { run.append(s) } else { close() }
        }
        close()
        guard !terms.isEmpty else { return nil }
        let n = min(maxTerms, terms.count)
        let picked = Set((0..<n).map { n == 1 ? 0 : $0 * (terms.count - 1) / (n - 1) }).sorted().map { terms[$0] }
        return picked.map { "\"" + $0 + "\"" }.joined(separator: " AND ")
    }
}
