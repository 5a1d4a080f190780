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
    static func find(title: String?, body: [String]) -> (place: String, province: String?, town: String?)? {
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
        struct Occurrence { var chars: [Character]; var suffix: Int; var longest: Int; var inTitle: Bool; var at: Int }
        var occurrences: [Occurrence] = []
        var counts: [String: Int] = [:]
        var position = 0
        for (t, text) in ((title.map { [$0] } ?? []) + body).enumerated() {
            let chars = Array(text)
            var i = 0
            while i < chars.count {
                // Most characters start no suffix: their first scalar says so
                // before the character is hashed.
                guard let u = chars[i].unicodeScalars.first, placeSuffixFirstScalars.contains(u.value),
                      let suffix = placeSuffixesByFirst[chars[i]]?.first(where: { i + $0.count <= chars.count && chars[i..<(i + $0.count)].elementsEqual($0) }) else {
                    i += 1
                    continue
                }
                let end = i + suffix.count
                if end < chars.count, let last = suffix.last, ImportRules.notAfterSuffix[last]?.contains(chars[end]) == true { i = end; continue }
                var start = i
                while start > 0, i - start < 4, let u = chars[start - 1].unicodeScalars.first, chars[start - 1].unicodeScalars.count == 1,
                      ScriptFolding.isHan(u.value), !ImportRules.notInPlaceNames.contains(chars[start - 1]) { start -= 1 }
                if i > start {
                    let window = Array(chars[start..<end])
                    occurrences.append(Occurrence(chars: window, suffix: suffix.count, longest: i - start, inTitle: title != nil && t == 0, at: position + i))
                    for n in 1...(i - start) { counts[String(window.suffix(n + suffix.count)), default: 0] += 1 }
                }
                i = end
            }
            position += chars.count + 1
        }
        var scores: [String: (score: Double, at: Int)] = [:]
        var placeNames: [String: Bool] = [:]   // isPlaceName, once per candidate
        for o in occurrences {
            func name(_ n: Int) -> String { String(o.chars.suffix(n + o.suffix)) }
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
