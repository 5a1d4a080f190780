import Foundation

/// The place a report is about (a county, a city, a town), the province
/// named before it, and whether a word ending like a place name is one.
/// Found from the names the title and text use most, never from a list of
/// places: a report from a county the rules never saw is found the same way.
enum ReportPlace {
    static let titlePlace = PageLines.regex("^([\\p{Han}]{2,10}?(?:县|縣|市|州|区|區|旗|盟|镇|鎮|乡|鄉))\\s*[:：]")

    /// The report's place: a title that opens with one (`玉树市:`), else the
    /// name ending in an administrative suffix (`ImportRules.placeSuffixes`)
    /// that the title and text name most, a county counting double and the
    /// title three more. A name is read backwards from its suffix and stops
    /// before a character that never belongs to one (团 of 团县委, 全, 各 …,
    /// `ImportRules.notInPlaceNames`); it is two characters unless the text
    /// shows a shorter or longer one consistently. A province just before
    /// it (青海省玉树市) is returned on its own.
    /// `scalarScan: false` reads every line as Characters (the tests
    /// compare the two readings).
    static func find(title: String?, body: [String], scalarScan: Bool = true) -> (place: String, province: String?, town: String?)? {
        // A title's own place may hold a numeral (十家堡镇:); only a collective word rules it out.
        if let t = title, let m = PageLines.matches(titlePlace, t).first, var p = PageLines.group(m, 1, in: t), let first = p.first,
           !collectivePrefixes.contains(first), !ImportRules.notPlaces.contains(p) {
            // 洛川县旧县镇: the county is the place, the town within it is kept apart.
            var town: String?
            let chars = Array(p)
            if let inner = chars.indices.dropLast().first(where: { $0 >= 2 && ["县", "縣", "旗"].contains(chars[$0]) }) {
                town = String(chars[(inner + 1)...])
                p = String(chars[...inner])
            }
            return (p, province(before: p, in: [t] + body), town)
        }
        // `names[n - 1]`: the name of n characters before the suffix, made
        // once for the counting and the choice.
        struct Occurrence { var names: [String]; var longest: Int; var inTitle: Bool; var at: Int }
        var occurrences: [Occurrence] = []
        var counts: [String: Int] = [:]
        var position = 0
        // Each line is read as its scalars where each of them is a
        // character of its own (`ScanUnits.scalars`: a Chinese report's
        // lines, nearly always), else as Characters; both readings find the
        // same names. Cutting a report into Characters was a third of
        // finding its place.
        func scan<Unit: PlaceScanUnit>(_ chars: [Unit], inTitle: Bool) {
            var i = 0
            while i < chars.count {
                // Most characters start no suffix: their first scalar says so
                // before the character is hashed.
                guard mayStartSuffix(chars[i].firstScalar),
                      let suffix = Unit.placeSuffixesByFirst[chars[i]]?.first(where: { i + $0.count <= chars.count && chars[i..<(i + $0.count)].elementsEqual($0) }) else {
                    i += 1
                    continue
                }
                let end = i + suffix.count
                if end < chars.count, let last = suffix.last, Unit.notAfterSuffix[last]?.contains(chars[end]) == true { i = end; continue }
                var start = i
                while start > 0, i - start < 4, chars[start - 1].isLoneHan, !Unit.notInPlaceNames.contains(chars[start - 1]) { start -= 1 }
                if i > start {
                    let names = (1...(i - start)).map { n in Unit.string(chars[(i - n)..<end]) }
                    occurrences.append(Occurrence(names: names, longest: i - start, inTitle: inTitle, at: position + i))
                    for name in names { counts[name, default: 0] += 1 }
                }
                i = end
            }
            position += chars.count + 1
        }
        for (t, text) in ((title.map { [$0] } ?? []) + body).enumerated() {
            let inTitle = title != nil && t == 0
            if scalarScan, let scalars = ScanUnits.scalars(text) {
                scan(scalars, inTitle: inTitle)
            } else {
                scan(Array(text), inTitle: inTitle)
            }
        }
        var scores: [String: (score: Double, at: Int)] = [:]
        var placeNames: [String: Bool] = [:]   // isPlaceName, once per candidate
        for o in occurrences {
            func name(_ n: Int) -> String { o.names[n - 1] }
            var n = min(2, o.longest)
            if n == 2, let one = counts[name(1)], one >= 2, Double(counts[name(2)] ?? 0) < 0.6 * Double(one) { n = 1 }
            while n < o.longest, let longer = counts[name(n + 1)], longer >= 2, Double(longer) >= 0.6 * Double(counts[name(n)] ?? 0) { n += 1 }
            let candidate = name(n)
            let isPlace = placeNames[candidate] ?? isPlaceName(candidate)
            placeNames[candidate] = isPlace
            guard isPlace else { continue }
            let county = ["县", "縣", "旗"].contains(candidate.last.map(String.init) ?? "")
            let score = (county ? 2.0 : 1.0) + (o.inTitle ? 3 : 0)
            let old = scores[candidate] ?? (0, o.at)
            scores[candidate] = (old.score + score, min(old.at, o.at))
        }
        guard let best = scores.max(by: { $0.value.score < $1.value.score || ($0.value.score == $1.value.score && $0.value.at > $1.value.at) }) else {
            return nil
        }
        return (best.key, province(before: best.key, in: (title.map { [$0] } ?? []) + body), nil)
    }

    /// `ImportRules.placeSuffixes` by their first character, each group in
    /// the list's order: `find` asks at every character of a report
    /// whether a suffix starts there, and most characters start none (all
    /// twelve compared at each character were most of an import's time).
    static let placeSuffixesByFirst: [Character: [[Character]]] =
        Dictionary(grouping: ImportRules.placeSuffixes.map(Array.init).filter { !$0.isEmpty }, by: { $0[0] })
    static let placeSuffixFirstScalars = Set(placeSuffixesByFirst.keys.compactMap { $0.unicodeScalars.first?.value })
    /// `placeSuffixFirstScalars` of the Basic Multilingual Plane as bits,
    /// asked of every character of a report without hashing it.
    static let placeSuffixFirstBits: [UInt64] = {
        var bits = [UInt64](repeating: 0, count: 0x10000 / 64)
        for v in placeSuffixFirstScalars where v < 0x10000 { bits[Int(v >> 6)] |= 1 << UInt64(v & 63) }
        return bits
    }()
    static func mayStartSuffix(_ v: UInt32) -> Bool {
        v < 0x10000 ? placeSuffixFirstBits[Int(v >> 6)] & (1 << UInt64(v & 63)) != 0 : placeSuffixFirstScalars.contains(v)
    }

    static let collectivePrefixes: Set<Character> = ["全", "本", "该", "該", "我", "各", "此", "每", "团", "團"]

    /// A place name, not a word that ends like one (城市, 社区, 党旗 …).
    ///
    /// Not one of `notPlaces`, none of them its beginning, and none its end
    /// but for at most one character before it (社区 and 新社区 are not
    /// places): asked of the name's own beginnings and ends in the set, not
    /// of each word of the list in turn (which was a fifth of finding a
    /// report's place).
    static func isPlaceName(_ p: String) -> Bool {
        guard let first = p.first, !ImportRules.notInPlaceNames.contains(first) else { return false }
        let words = ImportRules.notPlaces
        if words.contains(p) || words.contains(String(p.dropFirst())) { return false }
        var prefix = ""
        for c in p {
            prefix.append(c)
            if words.contains(prefix) { return false }
        }
        return true
    }

    /// The province named right before `place` somewhere in the texts (青海省玉树市 → 青海省).
    static func province(before place: String, in texts: [String]) -> String? {
        for text in texts {
            for r in TextNormalization.ranges(of: place, in: text) {
                // The few characters before this occurrence, not the whole text before it.
                let from = text.index(r.lowerBound, offsetBy: -12, limitedBy: text.startIndex) ?? text.startIndex
                let before = Array(text[from..<r.lowerBound])
                for suffix in ImportRules.provinceSuffixes.map(Array.init) where before.count > suffix.count && before.suffix(suffix.count).elementsEqual(suffix) {
                    var start = before.count - suffix.count
                    while start > 0, before.count - suffix.count - start < 6, let u = before[start - 1].unicodeScalars.first,
                          ScriptFolding.isHan(u.value), !ImportRules.notInPlaceNames.contains(before[start - 1]) { start -= 1 }
                    if before.count - suffix.count - start >= 2 { return String(before[start...]) }
                }
            }
        }
        return nil
    }
}

/// What `ReportPlace.find` reads a line as: its Characters, or its scalars
/// where each scalar is a Character of its own. The rules' characters are
/// looked up as either.
protocol PlaceScanUnit: Hashable {
    /// The value of the unit's first scalar.
    var firstScalar: UInt32 { get }
    /// A Han character of one scalar (a name's characters are).
    var isLoneHan: Bool { get }
    /// Units of a line as a String.
    static func string(_ units: ArraySlice<Self>) -> String
    static var placeSuffixesByFirst: [Self: [[Self]]] { get }
    static var notAfterSuffix: [Self: Set<Self>] { get }
    static var notInPlaceNames: Set<Self> { get }
}

extension Character: PlaceScanUnit {
    var firstScalar: UInt32 { unicodeScalars.first?.value ?? 0 }
    var isLoneHan: Bool {
        guard let u = unicodeScalars.first, unicodeScalars.count == 1 else { return false }
        return ScriptFolding.isHan(u.value)
    }
    static func string(_ units: ArraySlice<Character>) -> String { String(units) }
    static var placeSuffixesByFirst: [Character: [[Character]]] { ReportPlace.placeSuffixesByFirst }
    static var notAfterSuffix: [Character: Set<Character>] { ImportRules.notAfterSuffix }
    static var notInPlaceNames: Set<Character> { ImportRules.notInPlaceNames }
}

extension Unicode.Scalar: PlaceScanUnit {
    var firstScalar: UInt32 { value }
    var isLoneHan: Bool { ScriptFolding.isHan(value) }
    static func string(_ units: ArraySlice<Unicode.Scalar>) -> String {
        var view = String.UnicodeScalarView()
        view.append(contentsOf: units)
        return String(view)
    }
    static var placeSuffixesByFirst: [Unicode.Scalar: [[Unicode.Scalar]]] { ScanUnits.placeSuffixesByFirst }
    static var notAfterSuffix: [Unicode.Scalar: Set<Unicode.Scalar>] { ScanUnits.notAfterSuffix }
    static var notInPlaceNames: Set<Unicode.Scalar> { ScanUnits.notInPlaceNames }
}

/// The scalar reading of `ReportPlace.find`: when it may be used, and the
/// rules' characters as scalars.
enum ScanUnits {
    /// `text`'s scalars when every one of them is a Character of its own
    /// and equal, as a Character, only to itself, so that comparing
    /// scalars is comparing Characters; nil otherwise. Only scalars that
    /// never join a neighbour in a grapheme (no combining mark, joiner,
    /// Hangul jamo, regional indicator, CR or LF) and that have no
    /// singleton canonical decomposition (a compatibility ideograph such as
    /// U+F900 equals, as a Character, the ideograph it decomposes to).
    static func scalars(_ text: String) -> [Unicode.Scalar]? {
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(text.utf8.count / 3 + 1)
        for u in text.unicodeScalars {
            guard standsAlone(u.value) else { return nil }
            out.append(u)
        }
        return out
    }

    /// Printable ASCII and Latin-1 (but the soft hyphen), CJK punctuation
    /// (but its combining tone marks), general punctuation (but spaces,
    /// joiners, separators and format characters), the unified Han
    /// ideographs (but the compatibility ones), fullwidth ASCII.
    static func standsAlone(_ v: UInt32) -> Bool {
        switch v {
        case 0x20...0x7E, 0xA0...0xAC, 0xAE...0xFF: true
        case 0x2010...0x2027, 0x2030...0x205E: true
        case 0x3000...0x3029, 0x3030...0x303F: true
        case 0x3400...0x4DBF, 0x4E00...0x9FFF: true
        case 0xFF01...0xFF5E: true
        case 0x20000...0x2EBEF, 0x30000...0x323AF: true
        default: false
        }
    }

    private static func lone(_ c: Character) -> Unicode.Scalar? {
        c.unicodeScalars.count == 1 ? c.unicodeScalars.first : nil
    }

    /// The rules' characters that are one scalar: a unit of the scalar
    /// reading is one scalar, so it can equal no other.
    static let placeSuffixesByFirst: [Unicode.Scalar: [[Unicode.Scalar]]] = {
        var out: [Unicode.Scalar: [[Unicode.Scalar]]] = [:]
        for (first, suffixes) in ReportPlace.placeSuffixesByFirst {
            guard let f = lone(first) else { continue }
            out[f] = suffixes.compactMap { suffix in
                let scalars = suffix.compactMap(lone)
                return scalars.count == suffix.count ? scalars : nil
            }
        }
        return out
    }()
    static let notAfterSuffix: [Unicode.Scalar: Set<Unicode.Scalar>] = {
        var out: [Unicode.Scalar: Set<Unicode.Scalar>] = [:]
        for (last, next) in ImportRules.notAfterSuffix {
            if let l = lone(last) { out[l] = Set(next.compactMap(lone)) }
        }
        return out
    }()
    static let notInPlaceNames = Set(ImportRules.notInPlaceNames.compactMap(lone))
}
