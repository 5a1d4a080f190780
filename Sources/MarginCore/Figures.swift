import Foundation

/// Counted figures in report text: a number (Arabic or Chinese numerals,
/// Simplified or Traditional, with 万/萬 and 亿/億) followed by a
/// classifier (名, 個/个, 支, 人次, 小時/小时 …), as in 159名黨員,
/// 16個臨時黨支部, 三十七個, 1.2萬人次, 24小时. What `margin suggest`
/// proposes. Dates (年, 月, 日), ordinals (第…) and measures (米, 度) are
/// not counts and are not found.
public enum Figures {
    public struct Figure: Equatable, Sendable {
        /// The number and its classifier, as offsets (scalars) of the text.
        public var start: Int
        public var end: Int
        /// The number, normalised: 三十七 → 37, 1.2萬 → 12000.
        public var value: String
    }

    /// Longest first, so 人次 wins over 人.
    static let classifiers: [[Unicode.Scalar]] = [
        "人次", "辆次", "輛次", "架次", "户次", "戶次", "小时", "小時", "个月", "個月",
        "名", "个", "個", "支", "人", "处", "處", "户", "戶", "家", "所", "座", "条", "條", "份", "件", "辆", "輛",
        "次", "吨", "噸", "把", "台", "臺", "张", "張", "批", "项", "項", "间", "間", "栋", "棟", "套", "位", "只",
        "头", "頭", "箱", "袋", "瓶", "盒", "天", "场", "場", "轮", "輪", "队", "隊", "组", "組", "万份", "萬份",
    ].map { Array($0.unicodeScalars) }.sorted { $0.count > $1.count }

    static let chineseDigits: [Unicode.Scalar: Int] = [
        "零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "兩": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9,
    ]
    static let chineseUnits: [Unicode.Scalar: Int] = ["十": 10, "百": 100, "千": 1000]
    static let bigUnits: [Unicode.Scalar: Double] = ["万": 10_000, "萬": 10_000, "亿": 100_000_000, "億": 100_000_000]
    /// "About": 余/餘/多 between a number and its classifier (4300余人次).
    static let approximately: Set<Unicode.Scalar> = ["余", "餘", "多"]

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
            guard isDigit(u) || (isChineseNumeral(u) && bigUnits[u] == nil && u != "零" && u != "〇") else { i += 1; continue }
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
                guard hasDigit ? numerals.count >= 2 : numerals == ["十"] else { i = j; continue }
                value = chineseNumber(numerals)
            }
            guard let v = value else { i = max(j, i + 1); continue }
            var k = j
            if k < text.count, approximately.contains(text[k]) { k += 1 }
            guard let c = classifiers.first(where: { k + $0.count <= text.count && text[k..<(k + $0.count)].elementsEqual($0) }) else {
                i = max(j, i + 1); continue
            }
            out.append(Figure(start: i, end: k + c.count, value: format(v)))
            i = k + c.count
        }
        return out
    }
}

extension Store {
    /// A code's trigger words (schema 4), as the code's `triggers` field
    /// lists them: separated by commas, 、 or spaces.
    public func triggers(of code: String) throws -> [String] {
        guard let text = try winner(.code, code, "triggers")?.value.string else { return [] }
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
    }

    /// Counted figures on a record that no annotation covers yet (nor a
    /// rejected suggestion), each with a code guessed from the nearest
    /// trigger word within six characters before or after it (either
    /// script), else `fallback`. The span runs over the trigger word when
    /// it follows the figure directly (38名黨員).
    public func suggestions(record id: String, fallback: String? = nil) throws -> [Suggestion] {
        guard let body = try winner(.record, id, "body")?.value.string, try !isDeleted(.record, id) else {
            throw MarginError.notFound("no record \(id)")
        }
        let text = ScalarText(body)
        let folded = ScriptFolding.fold(text.scalars)
        var triggers: [(code: String, word: [Unicode.Scalar])] = []
        for c in try codes() { for w in try self.triggers(of: c.id) { triggers.append((c.id, ScriptFolding.fold(Array(TextNormalization.nfc(w).unicodeScalars)))) } }
        // Spans already taken, by any annotation, deleted ones (rejected suggestions) included.
        let taken = try db.rows("SELECT span_start, span_end FROM annotations WHERE record = ? AND span_start IS NOT NULL", .text(id))
            .compactMap { row -> (Int, Int)? in row[0].int.flatMap { s in row[1].int.map { (Int(s), Int($0)) } } }
        var out: [Suggestion] = []
        for f in Figures.find(in: text.scalars) {
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
            code = code ?? fallback
            if taken.contains(where: { $0.0 < end && start < $0.1 }) { continue }
            guard text.isBoundary(start), text.isBoundary(end) else { continue }
            out.append(Suggestion(record: id, start: start, end: end, quote: text.slice(start, end), value: f.value, code: code))
        }
        return out
    }

    /// Stores suggestions as annotations with status `suggested`, which
    /// sync like any other; one write. Returns their ids.
    @discardableResult
    public func storeSuggestions(_ list: [Suggestion]) throws -> [String] {
        try write {
            try list.map { s in
                try annotate(record: s.record, code: s.code, span: .range(s.start, s.end), value: s.value, note: nil, status: .suggested)
            }
        }
    }
}
