import Foundation

/// What one line of a scraped page is, judged by its shape alone: a
/// breadcrumb, a row of widgets, a furniture label, an HTML remnant, a
/// footer or a disclaimer, a headline, a paragraph, a link. Beside them, the
/// few helpers the cleaner's parts share (trimming, and Foundation's
/// regular expressions made, matched and read without optionals at every
/// call). Pure: a line in, an answer out.
enum PageLines {
    static let spaces = CharacterSet.whitespacesAndNewlines.union(CharacterSet(charactersIn: "\u{00A0}\u{3000}\u{200B}\u{FEFF}"))

    static func isSpace(_ u: Unicode.Scalar) -> Bool {
        u.properties.isWhitespace || u.value == 0x200B || u.value == 0xFEFF
    }

    /// Trims scalars matching `drop` from both ends (Foundation's
    /// `trimmingCharacters` was a seventh of import time).
    static func trim(_ s: String, where drop: (Unicode.Scalar) -> Bool = isSpace) -> String {
        let u = s.unicodeScalars
        var start = u.startIndex, end = u.endIndex
        while start < end, drop(u[start]) { start = u.index(after: start) }
        while end > start, drop(u[u.index(before: end)]) { end = u.index(before: end) }
        return String(u[start..<end])
    }

    static let bracketsAndSpace: Set<Unicode.Scalar> = ["【", "】", "[", "]", "(", ")", "（", "）", " ", "<", ">", "《", "》"]

    /// Whether `s` holds at most `n` scalars: told by its UTF-8 length
    /// alone unless that is between n and 4n bytes (a scalar is one to four
    /// bytes). The cleaner asks it of every line, and counting a long
    /// paragraph's scalars walked the whole paragraph.
    static func hasAtMost(_ n: Int, scalarsIn s: String) -> Bool {
        let bytes = s.utf8.count
        if bytes <= n { return true }
        if bytes > 4 * n { return false }
        // Scalars are the bytes that are not continuation bytes (10xxxxxx),
        // counted on the UTF-8 in place until there are more than n.
        return s.utf8.withContiguousStorageIfAvailable { bytes in
            var scalars = 0
            for b in bytes where b & 0xC0 != 0x80 {
                scalars += 1
                if scalars > n { return false }
            }
            return true
        } ?? s.unicodeScalars.dropFirst(n).isEmpty
    }

    /// Whether `s` holds at most `n` Characters, walking at most `n` of
    /// them (`count` breaks the whole line into Characters).
    static func hasAtMost(_ n: Int, charactersIn s: String) -> Bool {
        s.utf8.count <= n || s.dropFirst(n).isEmpty
    }

    /// Whether the last scalar of `s` that is not white space is `)` or
    /// `）`: what an expression ending in `[)）]\s*$` needs before it is run
    /// (over every paragraph, an expression anchored at the end is tried at
    /// each place in it: 3% of an import).
    static func endsWithClosingParenthesis(_ s: String) -> Bool {
        guard let last = s.unicodeScalars.last(where: { !$0.properties.isWhitespace }) else { return false }
        return last == ")" || last == "）"
    }

    static func regex(_ pattern: String) -> NSRegularExpression? {
        try? NSRegularExpression(pattern: pattern, options: [])
    }

    static func matches(_ re: NSRegularExpression?, _ s: String) -> [NSTextCheckingResult] {
        re?.matches(in: s, range: NSRange(s.startIndex..., in: s)) ?? []
    }

    static func group(_ m: NSTextCheckingResult, _ i: Int, in s: String) -> String? {
        guard i < m.numberOfRanges, let r = Range(m.range(at: i), in: s) else { return nil }
        return String(s[r])
    }

    /// The segments of a breadcrumb line (首页 / 要闻 / 动态, 人民網>>四川頻道), or nil.
    static func breadcrumbSegments(_ line: String) -> [String]? {
        guard hasAtMost(120, scalarsIn: line), !line.unicodeScalars.contains("。") else { return nil }
        var body = line
        if line.unicodeScalars.contains("位"), let m = matches(breadcrumbLabel, line).first, let r = Range(m.range, in: line) {
            body = String(line[r.upperBound...])
        }
        let hasLabel = body != line
        for separator in [">>", "»", "＞＞", " > ", " / ", "／", " | "] where TextNormalization.contains(body, separator) {
            let parts = body.components(separatedBy: separator).map { trim($0) }.filter { !$0.isEmpty }
            guard parts.count >= 2 else { continue }
            // A first part that is a home page or a site's name (台灣新聞網 > 大陸新聞).
            let siteFirst = homeWords.contains(parts[0]) || ImportRules.siteNameEndings.contains { parts[0].hasSuffix($0) }
            if hasLabel || separator == ">>" || separator == "»" || separator == "＞＞" || siteFirst {
                return parts
            }
        }
        return hasLabel ? [trim(body)] : nil
    }

    static let breadcrumbLabel = regex("^(当前位置|當前位置|现在的位置|現在的位置|您的位置|您现在的位置|您現在的位置|所在位置|位置)\\s*[:：]")
    static let homeWords: Set<String> = ["首页", "首頁", "主页", "主頁", "网站首页", "網站首頁", "Home", "home"]

    /// A line of widget words only (`ImportRules.widgetWords`), brackets,
    /// colons and separators aside: 【打印】【关闭】, 字号:大 中 小, 分享:.
    static func isWidget(_ line: String) -> Bool {
        guard hasAtMost(40, scalarsIn: line) else { return false }
        let tokens = line.components(separatedBy: CharacterSet(charactersIn: "【】[]()（） :：|丨｜/·•\u{3000}\u{00A0}")).filter { !$0.isEmpty }
        // Counters count too (阅读 1234), beside at least one widget word.
        let words = tokens.filter { !$0.allSatisfy(\.isNumber) }
        return !words.isEmpty && words.allSatisfy { ImportRules.widgetWords.contains($0) }
    }

    /// The furniture label a short line starts with (`ImportRules.furnitureLabels`), or nil.
    static func furnitureLabel(_ line: String) -> String? {
        guard hasAtMost(120, scalarsIn: line) else { return nil }
        let bare = trim(line) { bracketsAndSpace.contains($0) }
        for label in ImportRules.furnitureLabels where bare.hasPrefix(label) {
            guard let next = bare.dropFirst(label.count).unicodeScalars.first else { return label }
            if [":", "：", " ", "|", "丨", "｜", "】", ">", "»", "\u{3000}"].contains(next) { return label }
        }
        return nil
    }

    static let markup = regex("</?[A-Za-z][A-Za-z0-9]{0,9}(?:\\s[^<>]{0,200})?/?>|&(?:nbsp|amp|lt|gt|quot|#\\d{1,6});|(?<![<A-Za-z])/[a-z]{1,6}>|<!--.{0,200}?-->")

    /// The line without HTML remnants (`</p>`, `<br/>`, `&nbsp;`, a cut `/p>`),
    /// or nil when it holds none.
    static func withoutMarkup(_ line: String) -> String? {
        guard line.unicodeScalars.contains(where: { $0 == ">" || $0 == "&" }) else { return nil }
        let range = NSRange(line.startIndex..., in: line)
        guard let re = markup, re.firstMatch(in: line, range: range) != nil else { return nil }
        return trim(re.stringByReplacingMatches(in: line, range: range, withTemplate: ""))
    }

    /// The line holds a letter, digit or Han character (not only marks and quotes).
    static func hasWords(_ line: String) -> Bool {
        line.unicodeScalars.contains { $0.properties.isAlphabetic || ("0"..."9").contains($0) }
    }

    /// A disclaimer or rights notice (【版權及免責聲明】…, 免责声明:…): the
    /// page's footer however long its paragraphs.
    static let disclaimerPattern = regex("^[【\\[(（]?\\s*(" + ImportRules.disclaimerHeadings.joined(separator: "|") + ")\\s*[】\\])）]?\\s*[:：]?")

    /// Asked of nearly every line of a report: the expression runs only on
    /// a line whose first character past brackets and spaces begins a
    /// heading.
    static func isDisclaimer(_ line: String) -> Bool {
        guard let first = line.unicodeScalars.first(where: { !disclaimerLead.contains($0) && !$0.properties.isWhitespace }),
              disclaimerFirstScalars.contains(first) else { return false }
        return !matches(disclaimerPattern, line).isEmpty
    }
    static let disclaimerLead = Set("【[(（".unicodeScalars)
    static let disclaimerFirstScalars = Set(ImportRules.disclaimerHeadings.compactMap(\.unicodeScalars.first))

    static func isFooterMarker(_ line: String) -> Bool {
        guard hasAtMost(80, scalarsIn: line) else { return false }
        let bare = trim(line) { bracketsAndSpace.contains($0) }
        if ImportRules.footerMarkers.contains(where: { bare.hasPrefix($0) }) { return true }
        return TextNormalization.contains(line, "ICP")
    }

    /// A line of running text rather than a list entry or caption.
    static func isParagraph(_ line: String) -> Bool {
        !hasAtMost(39, charactersIn: line) || line.hasSuffix("。") || line.hasSuffix("！") || line.hasSuffix("？")
    }

    static func isHeadline(_ line: String) -> Bool {
        hasAtMost(80, charactersIn: line) && !hasAtMost(3, scalarsIn: line) && !startsText(line) && !line.hasSuffix("。") && !line.hasSuffix("；")
            && !line.hasPrefix("—") && !line.hasPrefix("──") && line.unicodeScalars.contains { ScriptFolding.isHan($0.value) }
    }

    static func urlLine(_ line: String) -> String? {
        guard TextNormalization.contains(line, "http"), let m = matches(urlPattern, line).first, let url = group(m, 2, in: line) else { return nil }
        return url
    }

    static let urlPattern = regex("^(原文链接|原文鏈接|原文地址|链接|鏈接|网址|網址|URL|url)?\\s*[:：]?\\s*(https?://\\S+)$")

    /// The line opens the report's text: a sentence, or longer than a headline.
    static func startsText(_ line: String) -> Bool {
        guard let last = line.unicodeScalars.last else { return false }
        return "。！？!?；;".unicodeScalars.contains(last) || line.unicodeScalars.count > 80
            || (("”」』)）".unicodeScalars.contains(last)) && line.unicodeScalars.count >= 40)
    }
}
