import Foundation

/// Counted figures in report text: a number (Arabic or Chinese numerals,
/// Simplified or Traditional, with 万/萬 and 亿/億) followed by a
/// classifier (名, 個/个, 支, 人次 …), as in 159名黨員, 16個臨時黨支部,
/// 三十七個, 1.2萬人次; and durations and ages (24小时, 36個年頭, 7天), a
/// kind of their own. What `margin suggest` proposes. Dates (年, 月, 日),
/// ordinals (第…), measures (米, 度) and numerals inside names (十家堡)
/// are not figures. An approximate figure (近万名, 约1200人, 4300余人次)
/// carries its qualifier. The words are data, in `ImportRules`.
public enum Figures {
    public struct Figure: Equatable, Sendable {
        /// The number and its classifier, as offsets (scalars) of the text.
        public var start: Int
        public var end: Int
        /// The number, normalised: 三十七 → 37, 1.2萬 → 12000.
        public var value: String
        public var kind: Kind = .count
        /// nearly (近, 将近), about (约), over (余, 多, 逾, 超, 上): the
        /// value is not exact. Nil: as written.
        public var qualifier: String? = nil
    }

    public enum Kind: String, Sendable { case count, duration }

    /// Classifiers and their kind, longest first, so 人次 wins over 人 and
    /// 个小时 over 个.
    static let classifiers: [(scalars: [Unicode.Scalar], kind: Kind)] =
        (ImportRules.countClassifiers.map { (Array($0.unicodeScalars), Kind.count) }
         + ImportRules.durationClassifiers.map { (Array($0.unicodeScalars), Kind.duration) })
        .sorted { $0.0.count > $1.0.count }
    static let approximateBefore: [(scalars: [Unicode.Scalar], meaning: String)] =
        ImportRules.approximateBefore.map { (Array($0.key.unicodeScalars), $0.value) }.sorted { $0.0.count > $1.0.count }
    static let nameEndings: Set<Unicode.Scalar> = Set(ImportRules.nameEndings.compactMap { $0.unicodeScalars.first })

    static let chineseDigits: [Unicode.Scalar: Int] = [
        "零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "兩": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9,
    ]
    static let chineseUnits: [Unicode.Scalar: Int] = ["十": 10, "百": 100, "千": 1000]
    static let bigUnits: [Unicode.Scalar: Double] = ["万": 10_000, "萬": 10_000, "亿": 100_000_000, "億": 100_000_000]
    /// "Over": 余/餘/多 between a number and its classifier (4300余人次).
    static let approximately: [Unicode.Scalar: String] = Dictionary(uniqueKeysWithValues:
        ImportRules.approximateAfter.compactMap { k, v in k.unicodeScalars.first.map { ($0, v) } })

    static func isDigit(_ u: Unicode.Scalar) -> Bool { ("0"..."9").contains(u) }
    static func isChineseNumeral(_ u: Unicode.Scalar) -> Bool {
        chineseDigits[u] != nil || chineseUnits[u] != nil || bigUnits[u] != nil
    }

    /// The value of Chinese numerals: 三十七 → 37, 两千三百 → 2300,
    /// 一万二千 → 12000, 十二 → 12. Nil when they are not a number.
    public static func chineseNumber(_ s: [Unicode.Scalar]) -> Double? {
        guard !s.isEmpty else { return nil }
        var total = 0.0, section = 0.0, digit = -1
        for u in s {
            if let d = chineseDigits[u] {
                if d == 0 { continue }                    // 零 holds a place: 两千零五
                if digit >= 0 { return nil }              // 三四: not a number
                digit = d
            } else if let unit = chineseUnits[u] {
                section += Double(digit < 0 ? 1 : digit) * Double(unit)
                digit = -1
            } else if let big = bigUnits[u] {
                section += Double(max(digit, 0))
                guard section > 0 else { return nil }
                total += section * big
                section = 0; digit = -1
            } else {
                return nil
            }
        }
        return total + section + Double(max(digit, 0))
    }

    static func format(_ v: Double) -> String {
        v == v.rounded() && abs(v) < 1e15 ? String(Int64(v)) : String(v)
    }

    /// Every counted figure of `text`, in order.
    public static func find(in text: [Unicode.Scalar]) -> [Figure] {
        var out: [Figure] = []
        var i = 0
        while i < text.count {
            let u = text[i]
            let previous: Unicode.Scalar? = i > 0 ? text[i - 1] : nil
            // 近万名: a unit alone is a number after a word of approximation.
            var approximate = approximateBefore.first { w in i >= w.scalars.count && text[(i - w.scalars.count)..<i].elementsEqual(w.scalars) }
            let unitAlone = approximate != nil && (bigUnits[u] != nil || u == "千" || u == "百")
            // 上 is "over" only before a unit alone (上万, 上千): 会上20名 is "at the meeting".
            if let a = approximate, a.scalars == ["上"], !unitAlone { approximate = nil }
            guard isDigit(u) || unitAlone || (isChineseNumeral(u) && bigUnits[u] == nil && u != "零" && u != "〇") else { i += 1; continue }
            // Inside another number, or an ordinal (第3), is not a start.
            if let p = previous, isDigit(p) || p == "." || p == "第" || (isChineseNumeral(u) && isChineseNumeral(p)) { i += 1; continue }
            var j = i
            var value: Double?
            if isDigit(u) {
                var digits = ""
                while j < text.count, isDigit(text[j]) || (text[j] == "," && j + 1 < text.count && isDigit(text[j + 1]) && !digits.isEmpty)
                        || (text[j] == "." && j + 1 < text.count && isDigit(text[j + 1]) && !digits.contains(".")) {
                    if text[j] != "," { digits.unicodeScalars.append(text[j]) }
                    j += 1
                }
                value = Double(digits)
                if j < text.count, let big = bigUnits[text[j]], let v = value { value = v * big; j += 1 }
            } else {
                while j < text.count, isChineseNumeral(text[j]) { j += 1 }
                let numerals = Array(text[i..<j])
                // A lone 一 or 两 is an article more often than a count, and 百/千
                // without a digit a manner of speaking (千家万户).
                let hasDigit = numerals.contains { chineseDigits[$0] != nil }
                guard hasDigit ? numerals.count >= 2 : (numerals == ["十"] || unitAlone) else { i = j; continue }
                value = unitAlone && !hasDigit && numerals.count == 1
                    ? (bigUnits[numerals[0]] ?? Double(chineseUnits[numerals[0]] ?? 0)) : chineseNumber(numerals)
            }
            guard let v = value else { i = max(j, i + 1); continue }
            var k = j
            var qualifier = approximate?.meaning
            if k < text.count, let over = approximately[text[k]] { k += 1; qualifier = qualifier ?? over }
            guard let c = classifiers.first(where: { k + $0.scalars.count <= text.count && text[k..<(k + $0.scalars.count)].elementsEqual($0.scalars) }) else {
                i = max(j, i + 1); continue
            }
            let end = k + c.scalars.count
            // 十家堡, 三里屯: the numeral is part of a name.
            if end < text.count, !isDigit(u), nameEndings.contains(text[end]), c.scalars.count == 1,
               ImportRules.nameClassifiers.contains(Character(c.scalars[0])) { i = end; continue }
            let start = approximate.map { i - $0.scalars.count } ?? i
            out.append(Figure(start: start, end: end, value: format(v), kind: c.kind, qualifier: qualifier))
            i = end
        }
        return out
    }
}

extension Store {
    /// A code's trigger words (schema 4), as the code's `triggers` field
    /// lists them: separated by commas, 、 or spaces.
    public func triggers(of code: String) throws -> [String] {
        guard let text = try winner(.code, EntityID(stored: code), "triggers")?.value.string else { return [] }
        return text.split(whereSeparator: { $0 == "," || $0 == "," || $0 == "、" || $0 == " " || $0 == ";" })
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    /// What `suggest` found on one record.
    public struct Suggestion: Equatable, Sendable {
        public var record: String
        public var start: Int
        public var end: Int
        public var quote: String
        public var value: String
        /// The code guessed from a trigger word near the figure, or the
        /// fallback code; nil when neither.
        public var code: String?
        public var kind: Figures.Kind = .count
        /// Approximate: nearly, about or over (`Figures.Figure.qualifier`).
        public var qualifier: String? = nil

        /// The note a stored suggestion carries: what the value alone does not say.
        public var note: String? {
            let parts = [kind == .duration ? "duration" : nil, qualifier.map { "approximate: \($0)" }].compactMap { $0 }
            return parts.isEmpty ? nil : parts.joined(separator: "; ")
        }
    }

    /// Every code's trigger words, folded to Simplified: what `suggestions`
    /// looks for near a figure. Read once for a run over many records (it
    /// reads the codebook, whose counts cover every annotation).
    public func suggestionTriggers() throws -> [(code: String, word: [Unicode.Scalar])] {
        var triggers: [(code: String, word: [Unicode.Scalar])] = []
        for c in try codes() { for w in try self.triggers(of: c.id) { triggers.append((c.id, ScriptFolding.fold(Array(TextNormalization.nfc(w).unicodeScalars)))) } }
        return triggers
    }

    /// Counted figures on a record that no annotation covers yet (nor a
    /// rejected suggestion), each with a code guessed from the nearest
    /// trigger word within six characters before or after it (either
    /// script), else `fallback`. The span runs over the trigger word when
    /// it follows the figure directly (38名黨員). `triggers`: what
    /// `suggestionTriggers` gives, read once for a run over many records.
    public func suggestions(record id: String, fallback: String? = nil, durations: Bool = false,
                            triggers given: [(code: String, word: [Unicode.Scalar])]? = nil) throws -> [Suggestion] {
        guard let body = try winner(.record, EntityID(stored: id), "body")?.value.string, try !isDeleted(.record, EntityID(stored: id)) else {
            throw MarginError.notFound("no record \(id)")
        }
        let text = ScalarText(body)
        let folded = ScriptFolding.fold(text.scalars)
        let triggers = try given ?? suggestionTriggers()
        // Spans already taken, by any annotation, deleted ones (rejected suggestions) included.
        let taken = try db.rows("SELECT span_start, span_end FROM annotations WHERE record = ? AND span_start IS NOT NULL", .text(id))
            .compactMap { row -> (Int, Int)? in row[0].int.flatMap { s in row[1].int.map { (Int(s), Int($0)) } } }
        var out: [Suggestion] = []
        for f in Figures.find(in: text.scalars) where f.kind == .count || durations {
            var start = f.start, end = f.end, code: String?, best = Int.max
            for t in triggers where !t.word.isEmpty {
                // After the figure (38名黨員) or before it (醫護人員86名).
                let lo = max(0, f.start - 6 - t.word.count), hi = min(folded.count - t.word.count, f.end + 6)
                guard lo <= hi else { continue }
                for at in lo...hi {
                    guard folded[at..<(at + t.word.count)].elementsEqual(t.word) else { continue }
                    let distance = at >= f.end ? at - f.end : at + t.word.count <= f.start ? f.start - (at + t.word.count) : -1
                    guard distance >= 0, distance < best else { continue }
                    best = distance
                    code = t.code
                    (start, end) = at == f.end ? (f.start, at + t.word.count) : (f.start, f.end)
                }
            }
            // A quote never ends inside the word the counted noun starts: 40名志愿者, not 40名志愿.
            if end > f.end {
                while end < text.count, end - f.end < 12, Store.nounEndings.contains(text.scalars[end]) { end += 1 }
            }
            code = code ?? fallback
            if taken.contains(where: { $0.0 < end && start < $0.1 }) { continue }
            guard text.isBoundary(start), text.isBoundary(end) else { continue }
            out.append(Suggestion(record: id, start: start, end: end, quote: text.slice(start, end), value: f.value, code: code,
                                  kind: f.kind, qualifier: f.qualifier))
        }
        return out
    }

    /// Characters that end a noun a trigger word starts (志愿 → 志愿者).
    static let nounEndings: Set<Unicode.Scalar> = Set(ImportRules.nounEndings.compactMap { $0.unicodeScalars.first })

    /// Stores suggestions as annotations with status `suggested`, which
    /// sync like any other; one write. Returns their ids.
    @discardableResult
    public func storeSuggestions(_ list: [Suggestion]) throws -> [String] {
        try write {
            try list.map { s in
                try annotate(record: s.record, code: s.code, span: .range(s.start, s.end), value: s.value, note: s.note, status: .suggested)
            }
        }
    }
}
