import Foundation

/// The metadata a report's lines carry, and where each value goes in a
/// `ReportDraft`: labelled lines (`來源:人民網 | 2022年09月23日`), rows of
/// bracketed segments, a closing note in brackets, the reporter in the
/// opening line or the closing byline, and dates in ISO 8601 form. The
/// labels themselves are data (`ImportRules.labels`).
public enum ReportMetadata {
    static var labels: [(String, String)] { ImportRules.labels.map { ($0.label, $0.field) } }

    /// The labels as an expression, `(label|…)\s*[:：]`: what `labelMatches`
    /// finds, written the other way, for the tests to hold one against the
    /// other. Not used by the cleaner: Foundation leaks a long pattern's copy.
    static let labelPattern: NSRegularExpression? = {
        // Longest first: 點擊次數 before 點擊.
        let alternatives = labels.map(\.0).sorted { $0.count > $1.count }.map { NSRegularExpression.escapedPattern(for: $0) }.joined(separator: "|")
        return PageLines.regex("(\(alternatives))\\s*[:：]")
    }()

    /// The labels as scalars, longest first (點擊次數 before 點擊).
    static let labelScalars: [(label: String, scalars: [Unicode.Scalar])] =
        labels.map(\.0).sorted { $0.unicodeScalars.count > $1.unicodeScalars.count }.map { ($0, Array($0.unicodeScalars)) }

    /// Each label in `line` followed by white space and a colon, left to
    /// right, not overlapping: the label and the range from it to after the
    /// colon.
    static func labelMatches(_ line: String) -> [(label: String, range: Range<String.Index>)] {
        let u = line.unicodeScalars
        let indices = Array(u.indices) + [u.endIndex]
        let scalars = Array(u)
        var out: [(String, Range<String.Index>)] = []
        var i = 0
        while i < scalars.count {
            var matched = false
            for (label, ls) in labelScalars where i + ls.count <= scalars.count && scalars[i] == ls[0] && scalars[i..<(i + ls.count)].elementsEqual(ls) {
                var j = i + ls.count
                while j < scalars.count, scalars[j].properties.isWhitespace { j += 1 }
                guard j < scalars.count, scalars[j] == ":" || scalars[j] == "：" else { continue }
                out.append((label, indices[i]..<indices[j + 1]))
                i = j + 1
                matched = true
                break
            }
            if !matched { i += 1 }
        }
        return out
    }

    /// The last characters of the labels: `labelPattern` can match only
    /// where a colon follows one of them, spaces aside.
    static let labelEnds: Set<Unicode.Scalar> = Set(labels.compactMap { $0.0.unicodeScalars.last })

    /// False when `labelPattern` cannot match `line`: no colon has a label's
    /// last character before it (white space skipped, as `\s*` does and
    /// more). Most short lines of a report are not metadata, and the
    /// regular expression costs far more than this look.
    static func mayHaveLabel(_ line: String) -> Bool {
        var last: Unicode.Scalar?
        for u in line.unicodeScalars {
            if u == ":" || u == "：" {
                if let last, labelEnds.contains(last) { return true }
            } else if !u.properties.isWhitespace {
                last = u
            }
        }
        return false
    }

    static let separators = CharacterSet(charactersIn: "|丨｜/·•,，;；").union(PageLines.spaces)

    /// The fields of a metadata line such as
    /// `2022年09月23日14:54 | 來源:人民網-四川頻道` or `(責編:羅昱、高紅霞)`, or nil
    /// when the line is anything else.
    static func metadata(in rawLine: String) -> [(String, String)]? {
        var line = rawLine
        if let first = line.first, let last = line.last, "([（【".contains(first), ")]）】".contains(last) {
            line = String(line.dropFirst().dropLast())
        }
        guard PageLines.hasAtMost(160, scalarsIn: line) else { return nil }
        // A short line that ends in a date after a publisher's name, as a
        // repost or an account's header writes it: 原创 岷县发布 2020-02-15.
        if PageLines.hasAtMost(40, charactersIn: line), !line.unicodeScalars.contains(where: { $0 == ":" || $0 == "：" || $0 == "。" }) {
            var rest = line
            if let date = trailingDate(&rest) {
                var source = rest.trimmingCharacters(in: separators)
                for marker in ImportRules.originalMarkers where source.hasPrefix(marker) {
                    source = String(source.dropFirst(marker.count)).trimmingCharacters(in: separators)
                }
                return source.isEmpty ? [("published", date)] : [("published", date), ("publisher", source)]
            }
        }
        guard line.unicodeScalars.contains(where: { $0 == ":" || $0 == "：" }) || line.first?.isNumber == true else { return nil }
        let found = mayHaveLabel(line) ? labelMatches(line) : []
        var fields: [(String, String)] = []
        if found.isEmpty {
            // A line that is only a date, or a date and a site name.
            if let date = normalizedDate(line), PageLines.hasAtMost(40, charactersIn: line) { return [("published", date)] }
            return nil
        }
        let lead = String(line[..<found[0].range.lowerBound]).trimmingCharacters(in: separators)
        if !lead.isEmpty {
            guard let date = normalizedDate(lead) else { return nil }
            fields.append(("published", date))
        }
        for (n, m) in found.enumerated() {
            let label = m.label, r = m.range
            let end = n + 1 < found.count ? found[n + 1].range.lowerBound : line.endIndex
            var value = String(line[r.upperBound..<end]).trimmingCharacters(in: separators)
            let field = labels.first { $0.0 == label }?.1 ?? ""
            if field.isEmpty { continue }
            value = withoutTrailingWidgets(value)
            if field == "原标题" { value = PageLines.trim(value) { "《》“”\"".unicodeScalars.contains($0) || PageLines.isSpace($0) } }
            if field == "published" {
                guard let date = normalizedDate(value) else { return nil }
                value = date
            } else if field == "source" {
                // A repost names where it came from: 来源:转自人民网.
                for prefix in ["转载自", "轉載自", "转自", "轉自"] where value.hasPrefix(prefix) {
                    value = String(value.dropFirst(prefix.count)).trimmingCharacters(in: separators.union(CharacterSet(charactersIn: ":：")))
                }
                if let date = trailingDate(&value) {
                    fields.append(("published", date))
                    value = value.trimmingCharacters(in: separators)
                }
                // 黔西南日報　記者 陳大文 報道: the reporter after the source.
                if let m = PageLines.matches(reporterPattern, value).first, let r = Range(m.range, in: value), let name = PageLines.group(m, 2, in: value) {
                    fields.append((PageLines.group(m, 1, in: value).map { ["通讯员", "通訊員"].contains($0) } == true ? "correspondent" : "author", name))
                    value = String(value[..<r.lowerBound]).trimmingCharacters(in: separators)
                }
            }
            if !value.isEmpty { fields.append((field, value)) }
        }
        return fields.isEmpty && found.isEmpty ? nil : fields
    }

    /// A value without the widget words a site glued to its end
    /// (`临汾日报进入论坛手机读报` → `临汾日报`).
    static func withoutTrailingWidgets(_ value: String) -> String {
        var v = value
        var changed = true
        while changed {
            changed = false
            for w in ImportRules.trailingWidgetWords where v.hasSuffix(w) && v.count > w.count {
                v = String(v.dropLast(w.count)).trimmingCharacters(in: separators)
                changed = true
            }
        }
        return v
    }

    static let trailingSupplier = PageLines.regex("[(（]\\s*([^()（）:：]{2,40}?)\\s*供稿\\s*[)）]\\s*$")

    static let closingNotePattern = PageLines.regex("[(（]\\s*((?:供稿|原标题|原標題|来源|來源|稿源|通讯员|通訊員|作者)\\s*[:：][^()（）]{1,200})[)）]\\s*$")

    /// A paragraph's closing note, `……。(供稿:县委组织部,原标题:《…》)`: the
    /// paragraph without it and the note's fields; nil when it has none.
    static func closingNote(_ paragraph: String) -> (String, [(String, String)])? {
        // (平泉市委组织部 张丽 供稿): the supplier, and a name after it as the author.
        let closed = PageLines.endsWithClosingParenthesis(paragraph)
        if closed, TextNormalization.contains(paragraph, "供稿"), let m = PageLines.matches(trailingSupplier, paragraph).first, let r = Range(m.range, in: paragraph), let who = PageLines.group(m, 1, in: paragraph) {
            var fields: [(String, String)] = []
            let parts = who.split(whereSeparator: { $0 == " " || $0 == "\u{3000}" }).map(String.init)
            if parts.count >= 2, let last = parts.last, (2...4).contains(last.count), last.unicodeScalars.allSatisfy({ ScriptFolding.isHan($0.value) }) {
                fields = [("供稿", parts.dropLast().joined(separator: " ")), ("author", last)]
            } else {
                fields = [("供稿", who)]
            }
            return (PageLines.trim(String(paragraph[..<r.lowerBound])), fields)
        }
        guard closed, paragraph.hasSuffix(")") || paragraph.hasSuffix("）"), let m = PageLines.matches(closingNotePattern, paragraph).first,
              let inner = PageLines.group(m, 1, in: paragraph), let r = Range(m.range, in: paragraph),
              let fields = metadata(in: inner), !fields.isEmpty else { return nil }
        return (PageLines.trim(String(paragraph[..<r.lowerBound])), fields)
    }

    /// A reporter named after a source without a colon: `記者 陳大文 報道`.
    static let reporterPattern = PageLines.regex("(记者|記者|通讯员|通訊員)\\s*([\\p{Han}·]{2,4}(?:[、 ][\\p{Han}·]{2,4}){0,3}?)\\s*(?:报道|報道|摄|攝)?$")

    /// A value such as `人民网 2022-11-07` that carries a date at its end.
    static func trailingDate(_ value: inout String) -> String? {
        let parts = value.components(separatedBy: CharacterSet(charactersIn: " \u{00A0}\u{3000}")).filter { !$0.isEmpty }
        guard parts.count >= 2 else { return nil }
        for take in [2, 1] where parts.count > take {
            let tail = parts.suffix(take).joined(separator: " ")
            if let d = normalizedDate(tail) {
                value = parts.dropLast(take).joined(separator: " ")
                return d
            }
        }
        return nil
    }

    /// A byline's reporter and correspondent: `记者 王伟 通讯员 李娜` → (王伟, 李娜).
    static func splitByline(_ value: String) -> (String, String?) {
        var v = PageLines.trim(value)
        for word in ["记者", "記者"] where v.hasPrefix(word) { v = PageLines.trim(String(v.dropFirst(word.count))) }
        for word in ["通讯员", "通訊員"] {
            if let r = v.range(of: word) {
                let correspondent = PageLines.trim(String(v[r.upperBound...])).trimmingCharacters(in: separators)
                return (PageLines.trim(String(v[..<r.lowerBound])).trimmingCharacters(in: separators), correspondent.isEmpty ? nil : correspondent)
            }
        }
        return (v, nil)
    }

    static func assign(_ field: String, _ value: String, to draft: inout ReportDraft) {
        switch field {
        case "published": if draft.published == nil { draft.published = value }
        case "source": if draft.source == nil { draft.source = value }
        case "author":
            // 记者 王伟 通讯员 李娜: the reporter, and the correspondent apart.
            let (author, correspondent) = splitByline(value)
            if draft.author == nil, !author.isEmpty { draft.author = author }
            if let correspondent, draft.meta["correspondent"] == nil { draft.meta["correspondent"] = correspondent }
        case "editor": if draft.editor == nil { draft.editor = value }
        case "供稿": if draft.source == nil { draft.source = value } else if draft.meta[field] == nil { draft.meta[field] = value }
        default: if draft.meta[field] == nil { draft.meta[field] = value }
        }
    }

    static let weekday = PageLines.regex("\\s*(?:星期|礼拜|禮拜|周|週)[一二三四五六日天]\\s*")
    /// The first characters of `weekday`'s words.
    static let weekdayFirstScalars = Set("星礼禮周週".unicodeScalars)

    static let datePatterns: [NSRegularExpression?] = [
        PageLines.regex("^(\\d{4})\\s*年\\s*(\\d{1,2})\\s*月\\s*(\\d{1,2})\\s*日?\\s*(?:(\\d{1,2})\\s*[:：时時]\\s*(\\d{2})\\s*(?:[:：分]\\s*(\\d{2}))?\\s*秒?)?$"),
        PageLines.regex("^(\\d{4})[-/.](\\d{1,2})[-/.](\\d{1,2})(?:[ T\u{00A0}]+(\\d{1,2}):(\\d{2})(?::(\\d{2}))?)?$"),
    ]

    /// The ISO 8601 form (`2022-09-23`, `2022-09-23T14:54`,
    /// `2022-11-07T17:00:37`: seconds when the page gives them) of a date
    /// written `2022年09月23日14:54`, `2022-11-07 17:00:37` and the like.
    ///
    /// Each expression is asked only of a text it could match (the weekday
    /// needs one of its first characters, a date begins with a digit): a
    /// report asks this of most of its short lines.
    public static func normalizedDate(_ raw: String) -> String? { normalizedDate(raw, screened: true) }

    /// `normalizedDate`; `screened: false` asks the expressions of every
    /// text (the tests compare the two).
    static func normalizedDate(_ raw: String, screened: Bool) -> String? {
        // A weekday beside the date says nothing more: 2020年02月20日 星期四.
        var s = PageLines.trim(raw)
        if !screened || s.unicodeScalars.contains(where: { weekdayFirstScalars.contains($0) }),
           let m = PageLines.matches(weekday, s).first, let r = Range(m.range, in: s) { s = PageLines.trim(s.replacingCharacters(in: r, with: " ")) }
        guard !screened || s.unicodeScalars.first?.properties.generalCategory == .decimalNumber else { return nil }
        s = s.replacingOccurrences(of: "  ", with: " ")
        for re in datePatterns {
            guard let m = PageLines.matches(re, s).first else { continue }
            guard let y = PageLines.group(m, 1, in: s).flatMap(Int.init), let mo = PageLines.group(m, 2, in: s).flatMap(Int.init),
                  let d = PageLines.group(m, 3, in: s).flatMap(Int.init), (1...12).contains(mo), (1...31).contains(d), y >= 1900 else { return nil }
            var out = String(format: "%04d-%02d-%02d", y, mo, d)
            if let h = PageLines.group(m, 4, in: s).flatMap(Int.init), let mi = PageLines.group(m, 5, in: s).flatMap(Int.init) {
                guard (0...23).contains(h), (0...59).contains(mi) else { return nil }
                out += String(format: "T%02d:%02d", h, mi)
                if let sec = PageLines.group(m, 6, in: s).flatMap(Int.init) {
                    guard (0...59).contains(sec) else { return nil }
                    out += String(format: ":%02d", sec)
                }
            }
            return out
        }
        return nil
    }

    static let ledeByline = PageLines.regex("^[【\\[]?[^】\\]]{1,12}[讯訊][】\\]]?\\s*(?:记者|記者)\\s*([\\p{Han}·]{2,4}?)\\s*(?:报道|報道)?\\s*[:：]")

    /// A line of bracketed segments, each a widget or a metadata field
    /// (`【纠错】【责任编辑：陈晨】`): the fields, or nil when it is not one.
    static func bracketedSegments(_ line: String) -> [(String, String)]? {
        guard line.hasPrefix("【"), line.hasSuffix("】"), TextNormalization.contains(line, "】【"), PageLines.hasAtMost(160, scalarsIn: line) else { return nil }
        var fields: [(String, String)] = []
        for segment in line.dropFirst().dropLast().components(separatedBy: "】【") {
            if ImportRules.widgetWords.contains(PageLines.trim(segment)) { continue }
            guard let found = metadata(in: "【" + segment + "】"), !found.isEmpty else { return nil }
            fields += found
        }
        return fields
    }

    static let byline = PageLines.regex("[(（]([\\p{Han}·]{2,5}(?:[、 ][\\p{Han}·]{2,5}){0,3})[)）]$")

    /// The author's name that closes a report, as in `……100余輛次。(溫明霞)`.
    static func trailingByline(_ paragraphs: [String]) -> String? {
        for p in paragraphs.suffix(4).reversed() {
            if PageLines.endsWithClosingParenthesis(p), let m = PageLines.matches(byline, p).first, let name = PageLines.group(m, 1, in: p) {
                return name
            }
        }
        return nil
    }
}
