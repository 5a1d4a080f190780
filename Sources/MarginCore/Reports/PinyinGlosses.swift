import Foundation

/// The pinyin glosses a conversion site leaves after characters, as in
/// 人民網(wǎng): recognised as syllables (an initial and a final, tone marks
/// aside) and removed, without touching a parenthesised word or name.
enum PinyinGlosses {
    static let toned: Set<Unicode.Scalar> = Set("āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜńňǹḿ".unicodeScalars)
    static let toneless: [Unicode.Scalar: Character] = {
        var map: [Unicode.Scalar: Character] = [:]
        for (plain, marked) in [("a", "āáǎà"), ("e", "ēéěè"), ("i", "īíǐì"), ("o", "ōóǒò"), ("u", "ūúǔù"), ("ü", "ǖǘǚǜ"), ("n", "ńňǹ"), ("m", "ḿ")] {
            for u in marked.unicodeScalars { map[u] = Character(plain) }
        }
        return map
    }()
    static let initials = ["zh", "ch", "sh", "b", "p", "m", "f", "d", "t", "n", "l", "g", "k", "h", "j", "q", "x", "r", "z", "c", "s", "y", "w", ""]
    static let finals: Set<String> = [
        "iang", "iong", "uang", "ueng", "ang", "eng", "ing", "ong", "ian", "iao", "uai", "uan", "üan", "van", "ai", "ei", "ao",
        "ou", "an", "en", "er", "ia", "ie", "iu", "in", "ua", "uo", "ui", "un", "üe", "ve", "ün", "vn", "ue", "a", "o", "e", "i",
        "u", "ü", "v", "ng", "n", "m",
    ]

    static func isPinyinLetter(_ u: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(u) || u == "ü" || toned.contains(u)
    }

    /// A pinyin syllable, tone marks ignored: an initial and a final.
    static func isSyllable(_ s: String) -> Bool {
        let plain = String(s.unicodeScalars.map { toneless[$0] ?? Character($0) })
        return initials.contains { plain.hasPrefix($0) && finals.contains(String(plain.dropFirst($0.count))) }
    }

    /// Removes pinyin glosses: `(syllable)` right after a character. A gloss
    /// with a tone mark (網(wǎng)) is never prose, so it goes wherever it
    /// stands, even after a character the conversion site garbled; a toneless
    /// one (的(de)) only right after a Han character and only in a text that
    /// has toned glosses too, so a parenthesised word in a normal report
    /// stays. A parenthesised CJK name such as (溫明霞) is never a gloss.
    static func strip(_ text: String) -> (String, Int) {
        guard mayHoldGloss(text) else { return (text, 0) }
        return stripScanning(text)
    }

    /// `strip` without its quick check: every parenthesis looked at.
    static func stripScanning(_ text: String) -> (String, Int) {
        let scalars = Array(text.unicodeScalars)
        var candidates: [(start: Int, end: Int, toned: Bool)] = []
        var i = 1
        while i < scalars.count {
            guard scalars[i] == "(" || scalars[i] == "（", !PageLines.isSpace(scalars[i - 1]) else { i += 1; continue }
            var j = i + 1
            while j < scalars.count, j - i <= 8, isPinyinLetter(scalars[j]) { j += 1 }
            let length = j - i - 1
            guard (1...7).contains(length), j < scalars.count, scalars[j] == ")" || scalars[j] == "）" else { i += 1; continue }
            let gloss = String(String.UnicodeScalarView(scalars[(i + 1)..<j]))
            if isSyllable(gloss) {
                let isToned = gloss.unicodeScalars.contains { toned.contains($0) }
                if isToned || ScriptFolding.isHan(scalars[i - 1].value) { candidates.append((i, j + 1, isToned)) }
            }
            i = j + 1
        }
        let tonedCount = candidates.filter(\.toned).count
        let remove = candidates.filter { $0.toned || tonedCount >= 2 }
        guard !remove.isEmpty else { return (text, 0) }
        var out = String.UnicodeScalarView()
        var cursor = 0
        for r in remove {
            out.append(contentsOf: scalars[cursor..<r.start])
            cursor = r.end
        }
        out.append(contentsOf: scalars[cursor...])
        return (String(out), remove.count)
    }

    /// Whether an opening parenthesis in `text` is followed by what could
    /// start a pinyin letter: a to z, or the first byte of ü or a toned
    /// letter (C3, C4, C5, C7; E1 for ḿ). A text without one holds no gloss,
    /// and is not copied into an array of scalars to find that out (every
    /// report is stripped on import).
    static func mayHoldGloss(_ text: String) -> Bool {
        @inline(__always) func startsLetter(_ b: UInt8) -> Bool {
            (0x61...0x7A).contains(b) || b == 0xC3 || b == 0xC4 || b == 0xC5 || b == 0xC7 || b == 0xE1
        }
        return text.utf8.withContiguousStorageIfAvailable { bytes -> Bool in
            var i = 0
            while i < bytes.count {
                let b = bytes[i]
                if b == 0x28, i + 1 < bytes.count, startsLetter(bytes[i + 1]) { return true }
                // （ is EF BC 88.
                if b == 0xEF, i + 3 < bytes.count, bytes[i + 1] == 0xBC, bytes[i + 2] == 0x88, startsLetter(bytes[i + 3]) { return true }
                i += 1
            }
            return false
        } ?? true
    }
}
