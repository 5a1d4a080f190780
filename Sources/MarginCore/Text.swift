import Foundation
import Synchronization

/// A body of text addressed the way Margin's spans are: by offsets counted in
/// Unicode scalar values of the NFC form, as the W3C TextPositionSelector does.
/// Offsets in scalars, unlike UTF-16 units or bytes, mean the same thing in
/// every language a peer or an exporter might be written in.
public struct ScalarText: Sendable {
    public let string: String
    public let scalars: [Unicode.Scalar]
    /// Scalar offsets at which a grapheme cluster starts, plus the end offset.
    public let boundaries: [Int]

    public init(_ string: String) {
        self.init(string, boundaries: true)
    }

    /// Without `boundaries`, `isBoundary` treats every offset as one: for
    /// display and search, where no span is made from the offsets.
    public init(_ string: String, boundaries withBoundaries: Bool) {
        self.string = string
        scalars = ScalarText.scalars(of: string)
        guard withBoundaries else {
            boundaries = []
            return
        }
        var b: [Int] = [0]
        var n = 0
        for character in string {
            n += character.unicodeScalars.count
            b.append(n)
        }
        boundaries = b
    }

    public var count: Int { scalars.count }

    /// `Array(string.unicodeScalars)`, decoded from the UTF-8 in one pass
    /// into an array sized by a count of its lead bytes: the standard
    /// library counted the scalars by decoding them, then decoded them
    /// again (the two passes were a quarter of `search 党员` listing every
    /// hit at a million changes, each hit's text made into scalars twice).
    /// A String's UTF-8 is valid, so each lead byte has its continuation
    /// bytes after it.
    static func scalars(of string: String) -> [Unicode.Scalar] {
        var string = string
        return string.withUTF8 { bytes -> [Unicode.Scalar] in
            let count = RecordSearch.scalarCount(UnsafeRawBufferPointer(bytes))
            return [Unicode.Scalar](unsafeUninitializedCapacity: count) { out, initialized in
                var i = 0, n = 0
                let end = bytes.count
                @inline(__always) func next(_ k: Int) -> UInt32 { UInt32(bytes[k] & 0x3F) }
                while i < end, n < count {
                    let lead = UInt32(bytes[i])
                    let value: UInt32
                    if lead < 0x80 {
                        value = lead
                        i += 1
                    } else if lead < 0xE0, i + 1 < end {
                        value = (lead & 0x1F) << 6 | next(i + 1)
                        i += 2
                    } else if lead < 0xF0, i + 2 < end {
                        value = (lead & 0x0F) << 12 | next(i + 1) << 6 | next(i + 2)
                        i += 3
                    } else if i + 3 < end {
                        value = (lead & 0x07) << 18 | next(i + 1) << 12 | next(i + 2) << 6 | next(i + 3)
                        i += 4
                    } else {
                        break
                    }
                    out[n] = Unicode.Scalar(value) ?? "\u{FFFD}"
                    n += 1
                }
                initialized = n
            }
        }
    }

    public func isBoundary(_ offset: Int) -> Bool {
        if boundaries.isEmpty { return offset >= 0 && offset <= scalars.count }
        var lo = 0, hi = boundaries.count - 1
        while lo <= hi {
            let mid = (lo + hi) / 2
            if boundaries[mid] == offset { return true }
            if boundaries[mid] < offset { lo = mid + 1 } else { hi = mid - 1 }
        }
        return false
    }

    /// Whether the scalars from `start` to `end` are `text`'s, compared in
    /// place (what `slice(start, end) == text` says, by scalar).
    public func holds(_ text: String, from start: Int, to end: Int) -> Bool {
        let s = max(0, min(start, count)), e = max(s, min(end, count))
        var i = s
        for u in text.unicodeScalars {
            guard i < e, scalars[i] == u else { return false }
            i += 1
        }
        return i == e
    }

    public func slice(_ start: Int, _ end: Int) -> String {
        let s = max(0, min(start, count)), e = max(s, min(end, count))
        let part = scalars[s..<e]
        // Encoded straight into the string's storage: a span's quote and
        // context are sliced for every annotation written or checked, and
        // appending scalar by scalar cost thousands of instructions each.
        let length = part.reduce(0) { $0 + UTF8.width($1) }
        return String(unsafeUninitializedCapacity: length) { out in
            var i = 0
            for u in part {
                UTF8.encode(u) { byte in
                    out[i] = byte
                    i += 1
                }
            }
            return i
        }
    }

    /// Scalar offsets where `needle` starts, whole grapheme clusters only.
    public func occurrences(of needle: [Unicode.Scalar], in haystack: [Unicode.Scalar]? = nil) -> [Int] {
        var found: [Int] = []
        forEachOccurrence(of: needle, in: haystack) { found.append($0); return true }
        return found
    }

    /// Calls `body` with each offset where `needle` starts, in order, until
    /// it returns false; holds nothing per match.
    public func forEachOccurrence(of needle: [Unicode.Scalar], in haystack: [Unicode.Scalar]? = nil, _ body: (Int) throws -> Bool) rethrows {
        let hay = haystack ?? scalars
        guard !needle.isEmpty, needle.count <= hay.count else { return }
        let first = needle[0]
        var i = 0
        let last = hay.count - needle.count
        while i <= last {
            if hay[i] == first {
                var j = 1
                while j < needle.count && hay[i + j] == needle[j] { j += 1 }
                if j == needle.count && isBoundary(i) && isBoundary(i + needle.count) {
                    guard try body(i) else { return }
                }
            }
            i += 1
        }
    }
}

/// A span checked against its body: offsets on grapheme boundaries, and the
/// quote with up to 32 scalars of context on each side (TextQuoteSelector).
public struct Span: Equatable, Sendable {
    public var start: Int
    public var end: Int
    public var quote: String
    public var prefix: String
    public var suffix: String

    public static let contextLength = 32

    public init(start: Int, end: Int, quote: String, prefix: String, suffix: String) {
        self.start = start; self.end = end; self.quote = quote; self.prefix = prefix; self.suffix = suffix
    }

    public init(in text: ScalarText, start: Int, end: Int) throws {
        try Span.checkRange(in: text, start: start, end: end)
        self.start = start
        self.end = end
        quote = text.slice(start, end)
        prefix = text.slice(max(0, start - Span.contextLength), start)
        suffix = text.slice(end, min(text.count, end + Span.contextLength))
    }

    /// Where a span may lie: inside the body, on character boundaries.
    static func checkRange(in text: ScalarText, start: Int, end: Int) throws {
        guard start >= 0, end <= text.count, start < end else {
            throw MarginError.invalid("range \(start)..\(end) is outside the body (0..\(text.count))")
        }
        guard text.isBoundary(start), text.isBoundary(end) else {
            throw MarginError.invalid("range \(start)..\(end) would split a character (grapheme cluster); choose offsets on character boundaries")
        }
    }

    /// Whether `quote`, `prefix` and `suffix` are what the body holds at and
    /// around `start..<end` (a range `checkRange` passed), compared in place.
    static func holds(_ text: ScalarText, start: Int, end: Int, quote: String, prefix: String, suffix: String) -> (quote: Bool, context: Bool) {
        (text.holds(quote, from: start, to: end),
         text.holds(prefix, from: max(0, start - contextLength), to: start)
            && text.holds(suffix, from: end, to: min(text.count, end + contextLength)))
    }

    /// True when the stored quote still stands at the stored offsets.
    public func matches(_ text: ScalarText) -> Bool {
        end <= text.count && text.slice(start, end).hasSameBytes(as: quote)
    }
}

public enum TextNormalization {
    public static func nfc(_ s: String) -> String {
        if isSurelyNFC(s) { return s }
        return s.precomposedStringWithCanonicalMapping
    }

    /// A quick check (after UAX #15's NFC_Quick_Check): text made only of
    /// scalars that are NFC_QC=Yes with combining class 0, and that nothing
    /// before them composes with, is in NFC as it stands. That covers Latin
    /// below U+0300, CJK ideographs and punctuation and full-width forms:
    /// nearly every report, which then skips Foundation's normaliser.
    /// Anything else (combining marks, compatibility ideographs U+F900…,
    /// kana voicing marks, Hangul jamo) goes the long way.
    static func isSurelyNFC(_ s: String) -> Bool {
        // Decoded from the UTF-8 in place, with no scalar view (a report
        // is checked several times on its way in: the scalar view was 4% of
        // an import). A String's UTF-8 is valid, so a lead byte is followed
        // by its continuation bytes.
        s.utf8.withContiguousStorageIfAvailable { bytes -> Bool in
            guard let p = bytes.baseAddress else { return true }
            var i = 0
            let n = bytes.count
            while i < n {
                let b0 = p[i]
                switch b0 {
                case 0..<0x80:
                    i += 1
                case 0xC2...0xCB:
                    // Two bytes, below U+0300.
                    i += 2
                case 0xE5...0xE9:
                    // Three bytes, U+5000 to U+9FFF: ideographs.
                    i += 3
                case 0xE2...0xE4, 0xEF:
                    guard i + 2 < n else { return false }
                    let v = UInt32(b0 & 0x0F) << 12 | UInt32(p[i + 1] & 0x3F) << 6 | UInt32(p[i + 2] & 0x3F)
                    guard surelyNFC3(v) else { return false }
                    i += 3
                default:
                    return false
                }
            }
            return true
        } ?? s.unicodeScalars.allSatisfy { u in u.value < 0x300 || (u.value < 0x10000 && surelyNFC3(u.value)) }
    }

    /// The scalars of three UTF-8 bytes (U+0800 to U+FFFF) that the quick
    /// check passes, and those below U+0300.
    @inline(__always) private static func surelyNFC3(_ v: UInt32) -> Bool {
        switch v {
        case 0..<0x300, 0x2010...0x2027, 0x2030...0x205E, 0x3000...0x3029, 0x3030...0x303F,
             0x3400...0x4DBF, 0x4E00...0x9FFF, 0xFF01...0xFFEF: return true
        default: return false
        }
    }

    /// True when `s` holds something other than white space.
    public static func hasText(_ s: String) -> Bool {
        s.unicodeScalars.contains { !$0.properties.isWhitespace }
    }

    /// The lines of `s`, split at each LF (the line feed as a scalar, not
    /// as a Character: splitting by Character walks grapheme clusters, and
    /// costs an import most of its cleaning time).
    public static func lines(_ s: String) -> [Substring] {
        let u = s.utf8
        // Found with memchr on the UTF-8 in place; a line's bounds are
        // offsets into it, which a native string's UTF-8 view turns into
        // indices at once.
        let fast = u.withContiguousStorageIfAvailable { bytes -> [Substring] in
            var out: [Substring] = []
            guard let base = bytes.baseAddress else { return [Substring(s)] }
            var start = 0
            while start <= bytes.count, let found = memchr(base + start, 0x0A, bytes.count - start) {
                let end = base.distance(to: found.assumingMemoryBound(to: UInt8.self))
                out.append(Substring(u[u.index(u.startIndex, offsetBy: start)..<u.index(u.startIndex, offsetBy: end)]))
                start = end + 1
            }
            out.append(Substring(u[u.index(u.startIndex, offsetBy: start)...]))
            return out
        }
        if let fast { return fast }
        var out: [Substring] = []
        var start = u.startIndex, i = start
        while i != u.endIndex {
            if u[i] == 0x0A {
                out.append(Substring(u[start..<i]))
                start = u.index(after: i)
            }
            i = u.index(after: i)
        }
        out.append(Substring(u[start..<u.endIndex]))
        return out
    }

    /// CR LF and lone CR become LF.
    public static func unixNewlines(_ s: String) -> String {
        // On the UTF-8 bytes (CR and LF are single bytes, never part of
        // another character's): a report saved with CR LF was rebuilt a
        // scalar at a time, and the check for a CR read the bytes one
        // index at a time (together 4% of an import).
        let rewritten = s.utf8.withContiguousStorageIfAvailable { bytes -> String? in
            guard let base = bytes.baseAddress, memchr(base, 13, bytes.count) != nil else { return nil }
            return String(unsafeUninitializedCapacity: bytes.count) { out in
                var n = 0, i = 0
                while i < bytes.count {
                    let b = bytes[i]
                    i += 1
                    if b == 13 {
                        out[n] = 10
                        if i < bytes.count && bytes[i] == 10 { i += 1 }
                    } else {
                        out[n] = b
                    }
                    n += 1
                }
                return n
            }
        }
        if let rewritten { return rewritten ?? s }
        guard s.utf8.contains(13) else { return s }
        return unixNewlinesByScalars(s)
    }

    /// The rule `unixNewlines` follows, a scalar at a time: for a string
    /// without contiguous UTF-8, and the tests' reference.
    static func unixNewlinesByScalars(_ s: String) -> String {
        var out = String.UnicodeScalarView()
        var previousCR = false
        for u in s.unicodeScalars {
            if u == "\r" { out.append("\n"); previousCR = true; continue }
            if u == "\n" && previousCR { previousCR = false; continue }
            previousCR = false
            out.append(u)
        }
        return String(out)
    }

    /// Substring test on UTF-8 bytes, without going through Foundation.
    public static func contains(_ haystack: String, _ needle: String) -> Bool {
        needle.isEmpty || firstRange(of: Array(needle.utf8), in: haystack, from: haystack.startIndex) != nil
    }

    /// Where `needle` occurs in `haystack`, left to right, each occurrence
    /// after the one before (not overlapping), found on their UTF-8 bytes:
    /// every range starts and ends on a scalar. For texts in NFC, as the
    /// cleaner's are, it finds what Foundation's `range(of:)` finds, without
    /// going through NSString and a locale for each call (which was most of
    /// an import's look for a province before its place).
    public static func ranges(of needle: String, in haystack: String) -> [Range<String.Index>] {
        let n = Array(needle.utf8)
        var found: [Range<String.Index>] = []
        var from = haystack.startIndex
        while let r = firstRange(of: n, in: haystack, from: from) {
            found.append(r)
            from = r.upperBound
        }
        return found
    }

    /// The first place at or after `from` where the bytes `needle` occur in
    /// `haystack`'s UTF-8 (none for an empty needle).
    static func firstRange(of needle: [UInt8], in haystack: String, from: String.Index) -> Range<String.Index>? {
        guard let first = needle.first else { return nil }
        let view = haystack.utf8
        // memchr for the first byte and memcmp for the rest, on the UTF-8 in
        // place (index by index, this was 3% of an import).
        let fast = view.withContiguousStorageIfAvailable { bytes -> Range<String.Index>? in
            guard let base = bytes.baseAddress else { return nil }
            var at = max(0, view.distance(from: view.startIndex, to: from))
            return needle.withUnsafeBytes { n -> Range<String.Index>? in
                guard let nb = n.baseAddress else { return nil }
                while at + needle.count <= bytes.count, let found = memchr(base + at, Int32(first), bytes.count - at) {
                    let start = base.distance(to: found.assumingMemoryBound(to: UInt8.self))
                    guard start + needle.count <= bytes.count else { return nil }
                    if memcmp(base + start, nb, needle.count) == 0 {
                        return view.index(view.startIndex, offsetBy: start)..<view.index(view.startIndex, offsetBy: start + needle.count)
                    }
                    at = start + 1
                }
                return nil
            }
        }
        if let fast { return fast }
        var i = from
        while let start = view[i...].firstIndex(of: first) {
            guard let end = view.index(start, offsetBy: needle.count, limitedBy: view.endIndex) else { return nil }
            if view[start..<end].elementsEqual(needle) { return start..<end }
            i = view.index(after: start)
        }
        return nil
    }

    /// Strict UTF-8 decoding: nil for invalid input rather than replacement characters.
    public static func decodeUTF8(_ data: Data) -> String? {
        // The standard library's validation is strict (no overlong forms,
        // surrogates or values past U+10FFFF) and works on whole blocks.
        let bom = data.starts(with: [0xEF, 0xBB, 0xBF])
        return data.withUnsafeBytes { raw in
            String(validating: raw.dropFirst(bom ? 3 : 0), as: UTF8.self)
        }
    }

    /// Heuristic for binary input: NUL bytes or many control characters.
    public static func looksBinary(_ data: Data) -> Bool {
        data.withUnsafeBytes { raw in
            var controls = 0
            let sample = raw.prefix(8192)
            for b in sample {
                if b == 0 { return true }
                if b < 0x20 && b != 0x09 && b != 0x0A && b != 0x0D && b != 0x0C { controls += 1 }
            }
            return !sample.isEmpty && controls * 20 > sample.count
        }
    }
}

/// Folds Traditional Chinese to Simplified, full-width ASCII to ASCII and
/// ASCII letters to lower case, one scalar at a time, so that a search for
/// 党支部 finds 黨支部 and the reverse. Folding scalar by scalar (ICU's
/// `Hant-Hans`, character by character: `HanFolding`) keeps the folded
/// text the same length as the original, so a match in folded text maps
/// back to offsets in the body.
public enum ScriptFolding {
    /// Han characters that fold to another: the common block in a flat
    /// table (0 for a character that folds to itself), the rest by scalar.
    struct Table {
        static let commonStart: UInt32 = 0x3400, commonEnd: UInt32 = 0xA000
        var common = [UInt32](repeating: 0, count: Int(commonEnd - commonStart))
        var other: [UInt32: UInt32] = [:]

        /// The table of `pairs`: each pair is a character and what it folds
        /// to, pairs separated by spaces.
        init(pairs: String) {
            var from: UInt32?
            for s in pairs.unicodeScalars where s != " " {
                guard let f = from else { from = s.value; continue }
                if f >= Table.commonStart && f < Table.commonEnd { common[Int(f - Table.commonStart)] = s.value } else { other[f] = s.value }
                from = nil
            }
        }
    }
    /// Built once, on first use, from the pairs held in the binary.
    private static let table = Table(pairs: HanFolding.pairs)

    static func isHan(_ v: UInt32) -> Bool {
        (0x3400...0x9FFF).contains(v) || (0xF900...0xFAFF).contains(v) || (0x20000...0x3FFFF).contains(v)
    }

    /// Folds one scalar.
    private static func fold(_ scalar: Unicode.Scalar, table: Table) -> Unicode.Scalar {
        let v = scalar.value
        if v < 0x3400 { return (65...90).contains(v) ? Unicode.Scalar(v + 32) ?? scalar : scalar }
        if (0xFF01...0xFF5E).contains(v) { return fold(Unicode.Scalar(v - 0xFEE0) ?? scalar, table: table) }
        guard isHan(v) else { return scalar }
        let folded = v < Table.commonEnd ? table.common[Int(v - Table.commonStart)] : table.other[v] ?? 0
        return folded == 0 ? scalar : Unicode.Scalar(folded) ?? scalar
    }

    public static func fold(_ scalar: Unicode.Scalar) -> Unicode.Scalar {
        fold(scalar, table: table)
    }

    public static func fold(_ scalars: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(scalars.count)
        foldAll(scalars) { out.append($0) }
        return out
    }

    /// Built as UTF-8 bytes: appending scalars to a String one at a time
    /// costs more than the folding (this runs over every imported report).
    public static func fold(_ string: String) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(string.utf8.count)
        foldAll(string.unicodeScalars) { UTF8.encode($0) { out.append($0) } }
        return String(decoding: out, as: UTF8.self)
    }

    /// Folds a run of scalars.
    static func foldAll<S: Sequence>(_ scalars: S, _ emit: (Unicode.Scalar) -> Void) where S.Element == Unicode.Scalar {
        let table = table
        for s in scalars { emit(fold(s, table: table)) }
    }
}

/// What text a person may store. NUL and the other C0 control characters
/// have no place in reports, notes or names, and a NUL cuts C strings short
/// wherever the text goes next; refusing them keeps every store and export
/// able to carry what it holds.
public enum TextRules {
    /// Free text (a body, note, comment or value): tab, newline and carriage
    /// return are allowed, no other C0 control.
    public static func problem(inText s: String) -> String? {
        guard hasControlByte(s, allowingLineBreaks: true) else { return nil }
        for (i, u) in s.unicodeScalars.enumerated() where u.value < 0x20 && u != "\t" && u != "\n" && u != "\r" {
            return u.value == 0 ? "contains a NUL character (at character \(i + 1))"
                                : "contains the control character U+\(String(format: "%04X", u.value)) (at character \(i + 1))"
        }
        return nil
    }

    /// One line (a name, title, key): no C0 control at all.
    public static func problem(inLine s: String) -> String? {
        guard hasControlByte(s, allowingLineBreaks: false) else { return nil }
        for (i, u) in s.unicodeScalars.enumerated() where u.value < 0x20 {
            return u.value == 0 ? "contains a NUL character (at character \(i + 1))"
                                : "contains a line break or control character (at character \(i + 1))"
        }
        return nil
    }

    /// Whether `s` may hold a C0 control: in UTF-8 each is one byte below
    /// 0x20, which no other scalar's bytes are, so the bytes are scanned
    /// first and the scalars counted only to name a position (every change
    /// written, received or checked passes here).
    ///
    /// Eight bytes at a time: a word with no byte below 0x20 (most words of
    /// a report; the test is exact, `hasLess` below) is passed over whole,
    /// and only a word holding one, a line break mostly, is looked at byte
    /// by byte.
    static func hasControlByte(_ s: String, allowingLineBreaks: Bool) -> Bool {
        var s = s
        return s.withUTF8 { bytes in
            @inline(__always) func isControl(_ b: UInt8) -> Bool {
                b < 0x20 && !(allowingLineBreaks && (b == 0x09 || b == 0x0A || b == 0x0D))
            }
            guard let base = UnsafeRawPointer(bytes.baseAddress) else { return false }
            var i = 0
            while i + 8 <= bytes.count {
                let w = base.loadUnaligned(fromByteOffset: i, as: UInt64.self)
                if hasLess(w, than: 0x20) {
                    for k in i..<(i + 8) where isControl(bytes[k]) { return true }
                }
                i += 8
            }
            while i < bytes.count {
                if isControl(bytes[i]) { return true }
                i += 1
            }
            return false
        }
    }

    /// Whether any byte of `w` is below `n` (n ≤ 128): Bit Twiddling Hacks'
    /// `hasless`, exact as a yes or no (which bytes it flags is not).
    @inline(__always) static func hasLess(_ w: UInt64, than n: UInt64) -> Bool {
        (w &- 0x0101_0101_0101_0101 &* n) & ~w & 0x8080_8080_8080_8080 != 0
    }

    public static func requireText(_ s: String, what: String) throws {
        if let p = problem(inText: s) { throw MarginError.invalid("\(what) \(p)") }
    }

    public static func requireLine(_ s: String, what: String) throws {
        if let p = problem(inLine: s) { throw MarginError.invalid("\(what) \(p)") }
    }
}

extension String {
    /// Whether two strings hold the same UTF-8 bytes, compared in place.
    /// `==` compares canonical equivalence, which is not what a cache of a
    /// body or a check of a stored quote means, and reading both through
    /// their UTF-8 views costs dozens of instructions a byte.
    func hasSameBytes(as other: String) -> Bool {
        guard utf8.count == other.utf8.count else { return false }
        var a = self, b = other
        return a.withUTF8 { x in
            b.withUTF8 { y in
                guard let p = x.baseAddress, let q = y.baseAddress else { return x.count == y.count }
                return memcmp(p, q, x.count) == 0
            }
        }
    }
}

/// "Did you mean": the nearest of some known words to a mistyped one, by
/// edit distance over Unicode scalars, Simplified and Traditional script
/// folded alike (so 黨員 finds 党员).
public enum Nearest {
    /// The candidates within `max(1, count / 3)` edits of `word` (at most
    /// three, nearest first), or one that starts with it.
    public static func matches(_ word: String, among candidates: [String], limit: Int = 3) -> [String] {
        let w = Array(ScriptFolding.fold(word.lowercased()).unicodeScalars)
        guard !w.isEmpty else { return [] }
        let allowed = max(1, w.count / 3)
        var scored: [(Int, String)] = []
        for c in Set(candidates) {
            let f = Array(ScriptFolding.fold(c.lowercased()).unicodeScalars)
            if abs(f.count - w.count) > allowed && !f.starts(with: w) { continue }
            let d = distance(w, f)
            if d <= allowed { scored.append((d, c)) } else if f.starts(with: w) { scored.append((allowed + 1, c)) }
        }
        return scored.sorted { ($0.0, $0.1) < ($1.0, $1.1) }.prefix(limit).map(\.1)
    }

    /// Edit distance: insertions, deletions, substitutions and swaps of
    /// two neighbours (`lsit` is one edit from `list`), as the optimal
    /// string alignment distance computes it.
    static func distance(_ a: [Unicode.Scalar], _ b: [Unicode.Scalar]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var d = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { d[i][0] = i }
        for j in 0...b.count { d[0][j] = j }
        for i in 1...a.count {
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] { d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1) }
            }
        }
        return d[a.count][b.count]
    }

    /// ` (did you mean X?)`, or nothing.
    public static func hint(_ word: String, among candidates: [String]) -> String {
        let m = matches(word, among: candidates)
        guard !m.isEmpty else { return "" }
        return " (did you mean \(m.map { "'\($0)'" }.joined(separator: " or "))?)"
    }
}
