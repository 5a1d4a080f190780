import Foundation

/// Turns a report scraped from a web page into a body and metadata: finds the
/// title, the date/source/author/editor lines, and removes page furniture
/// (site name, breadcrumbs, font-size and share widgets, footers, echoed
/// photo captions) and the pinyin glosses conversion sites leave after
/// characters, as in 人民網(wǎng).
///
/// It works on the shapes of such pages, never on particular reports: every
/// rule is a pattern of lines, and each removal is reported in `cleaned`.
public enum ReportCleaner {
    public struct Result: Equatable, Sendable {
        public var draft: ReportDraft
        /// One line per thing removed or recognised, for the user to check.
        public var cleaned: [String]
        /// The encoding the file was read in (`TextEncoding`).
        public var encoding = "UTF-8"
        /// Lines that look garbled by a conversion, for a warning.
        public var warnings: [String] = []
        /// The report's full-text entry, when made beforehand (an import
        /// makes it on the core that cleans).
        public var index: Store.IndexEntry?
        /// What became of each line, for `margin import --explain`.
        public var decisions: [Decision] = []
    }

    /// What the cleaner made of one line of the report as received: the
    /// answer `margin import --explain` prints.
    public struct Decision: Equatable, Sendable {
        /// The line's number in the file (1 is the first).
        public var line: Int
        public var text: String
        /// title, subtitle, metadata, furniture or body.
        public var role: String
        /// The rule that decided, in words.
        public var why: String
    }

    /// The cleaner's running account: summary lines and the decision on each line.
    struct Notes {
        var cleaned: [String] = []
        var decisions: [Decision] = []
        /// A publisher's name on a line of its own under the title: the
        /// source when no line names one.
        var publisher: String?

        mutating func decide(_ n: Int, _ line: String, _ role: String, _ why: String) {
            decisions.append(Decision(line: n, text: line, role: role, why: why))
            if role == "furniture" { cleaned.append("\(why): \(line)") }
        }
    }

    public static func clean(_ input: String, raw: Bool = false) -> Result {
        if raw {
            let body = TextNormalization.nfc(input)
            let title = body.split(whereSeparator: \.isNewline).first.map { String($0).trimmingCharacters(in: .whitespaces) }
            return Result(draft: ReportDraft(body: body, title: title), cleaned: [])
        }
        var notes = Notes()
        var draft = ReportDraft(body: "")
        var text = TextNormalization.unixNewlines(TextNormalization.nfc(input))
        let (stripped, glosses) = stripPinyinGlosses(text)
        text = stripped
        if glosses > 0 { notes.cleaned.append("removed \(glosses) pinyin gloss\(glosses == 1 ? "" : "es")") }

        let lines = TextNormalization.lines(text).map { trim(String($0)) }
        let siteNames = Set(lines.compactMap { breadcrumbSegments($0)?.first })
        var kept: [(n: Int, text: String)] = []
        var fields: [(String, String)] = []
        var sawParagraph = false, inBlock: String?
        for (index, original) in lines.enumerated() {
            let n = index + 1
            var line = original
            if line.isEmpty { continue }
            if let bare = withoutMarkup(line) {
                if !hasWords(bare) { notes.decide(n, line, "furniture", "HTML remnant"); continue }
                notes.cleaned.append("HTML remnant removed: \(line)")
                line = bare
            }
            if breadcrumbSegments(line) != nil { notes.decide(n, line, "furniture", "breadcrumb"); continue }
            if !siteNames.isEmpty, line.unicodeScalars.dropFirst(30).isEmpty, siteNames.contains(line) { notes.decide(n, line, "furniture", "site name"); continue }
            // 【纠错】【责任编辑：陈晨】: buttons and bracketed metadata on one line.
            if let found = bracketedSegments(line) {
                fields += found
                notes.decisions.append(Decision(line: n, text: line, role: "metadata", why: found.isEmpty ? "page widgets" :
                    found.map { "\($0.0) \($0.1)" }.joined(separator: "; ")))
                notes.cleaned.append("metadata line: \(line)")
                continue
            }
            if let found = metadata(in: line) {
                fields += found
                notes.decisions.append(Decision(line: n, text: line, role: "metadata", why: found.isEmpty ? "a counter or widget label" :
                    found.map { "\($0.0) \($0.1)" }.joined(separator: "; ")))
                notes.cleaned.append("metadata line: \(line)")
                continue
            }
            if isWidget(line) { notes.decide(n, line, "furniture", "page widget"); continue }
            // 编者按：… before the report: the editors' preface, kept as metadata.
            if kept.isEmpty || !sawParagraph, let label = ImportRules.editorsNoteLabels.first(where: { line.hasPrefix($0) }) {
                let text = trim(String(line.dropFirst(label.count))) { isSpace($0) || $0 == ":" || $0 == "：" }
                if draft.meta["编者按"] == nil, TextNormalization.hasText(text) { draft.meta["编者按"] = text }
                notes.decisions.append(Decision(line: n, text: line, role: "metadata", why: "editors' note (编者按)"))
                continue
            }
            if let label = furnitureLabel(line) {
                notes.decide(n, line, "furniture", "furniture block '\(label)'")
                inBlock = sawParagraph ? label : nil
                continue
            }
            if let url = urlLine(line) {
                if draft.url == nil { draft.url = url }
                notes.decisions.append(Decision(line: n, text: line, role: "metadata", why: "url \(url)"))
                notes.cleaned.append("link: \(line)")
                continue
            }
            if kept.last?.text == line { notes.decide(n, line, "furniture", "repeated line"); continue }
            if let block = inBlock {
                if !isParagraph(line) && !isDisclaimer(line) && !isFooterMarker(line) { notes.decide(n, line, "furniture", "under '\(block)'"); continue }
                inBlock = nil
            }
            if isParagraph(line) { sawParagraph = true }
            kept.append((n, line))
        }

        // Footer: from a footer marker on, drop what follows when it is only
        // short lines (related-article lists, copyright lines).
        var i = 0
        while i < kept.count {
            // A disclaimer after the first paragraph ends the report.
            if i > 0, isDisclaimer(kept[i].text) {
                for l in kept[i...] { notes.decide(l.n, l.text, "furniture", "disclaimer block") }
                kept.removeSubrange(i...)
                break
            }
            if isFooterMarker(kept[i].text) {
                let rest = kept[(i + 1)...]
                if rest.allSatisfy({ !isParagraph($0.text) || isFooterMarker($0.text) }) {
                    for l in kept[i...] { notes.decide(l.n, l.text, "furniture", "footer") }
                    kept.removeSubrange(i...)
                    break
                }
                notes.decide(kept[i].n, kept[i].text, "furniture", "footer")
                kept.remove(at: i)
                continue
            }
            i += 1
        }

        // A closing note in brackets, (供稿:…,原标题:…), is metadata.
        for k in kept.indices.suffix(3).reversed() {
            guard let (rest, found) = closingNote(kept[k].text) else { continue }
            fields += found
            notes.cleaned.append("closing note: \(kept[k].text)")
            if TextNormalization.hasText(rest) {
                kept[k].text = rest
            } else {
                notes.decisions.append(Decision(line: kept[k].n, text: kept[k].text, role: "metadata", why: found.map { "\($0.0) \($0.1)" }.joined(separator: "; ")))
                kept.remove(at: k)
            }
            break
        }

        chooseTitle(&kept, draft: &draft, notes: &notes)
        // A publisher named without a label (a header line, a line under the
        // title) is the source only when no line names one.
        for (key, value) in fields where key != "publisher" { assign(key, value, to: &draft) }
        let publisher = fields.first { $0.0 == "publisher" }?.1 ?? notes.publisher
        if let publisher {
            if draft.source == nil { draft.source = publisher } else if draft.source != publisher, draft.meta["publisher"] == nil { draft.meta["publisher"] = publisher }
        }
        if draft.editor == nil, let plain = draft.meta.removeValue(forKey: "编辑") { draft.editor = plain }

        let bodyText = kept.map(\.text)
        if draft.place == nil, let found = findPlace(title: draft.title, body: bodyText) {
            draft.place = found.place
            if let province = found.province, draft.meta["province"] == nil { draft.meta["province"] = province }
            if let town = found.town, draft.meta["town"] == nil { draft.meta["town"] = town }
            notes.cleaned.append("place: \(found.place)" + (found.province.map { " (province \($0))" } ?? ""))
        }
        // 【大公報訊】記者趙文報道：… opens the text: its reporter.
        if draft.author == nil, let first = bodyText.first, let m = matches(ledeByline, first).first, let name = group(m, 1, in: first) {
            draft.author = name
            notes.cleaned.append("author from the opening line: \(name)")
        }
        if draft.author == nil, let author = trailingByline(bodyText) {
            draft.author = author
            notes.cleaned.append("author from byline: \(author)")
        } else if let a = draft.author {
            notes.cleaned.append("author: \(a)")
        }
        if let p = draft.published { notes.cleaned.append("published: \(p)") }
        if let s = draft.source { notes.cleaned.append("source: \(s)") }
        if let e = draft.editor { notes.cleaned.append("editor: \(e)") }
        for (key, value) in draft.meta.sorted(by: { $0.key < $1.key }) where key != "subtitle" && key != "province" {
            notes.cleaned.append("\(key): \(value)")
        }
        for l in kept { notes.decisions.append(Decision(line: l.n, text: l.text, role: "body", why: "report text")) }
        notes.decisions.sort { $0.line < $1.line }
        draft.body = bodyText.joined(separator: "\n\n")
        var result = Result(draft: draft, cleaned: notes.cleaned)
        result.decisions = notes.decisions
        return result
    }

    /// The title: the first line before the report's text that reads as a
    /// headline (not too long, no sentence end, no site words) and shares
    /// words with the text, else the first headline-like line without site
    /// words. Lines before it that hold site words or share nothing with
    /// the text (a site header, a mirror site's advertising) are furniture.
    /// A date-and-column prefix (`03.02 【抗疫一线】`) and a site name after
    /// a separator (`…_某某网`) are taken off the title.
    static func chooseTitle(_ kept: inout [(n: Int, text: String)], draft: inout ReportDraft, notes: inout Notes) {
        let firstText = kept.firstIndex { startsText($0.text) } ?? kept.count
        guard firstText > 0 else { return }
        let textGrams = bigrams(kept[firstText...].map(\.text).joined(separator: "\n"))
        func siteWord(_ line: String) -> String? { ImportRules.siteWords.first { TextNormalization.contains(line, $0) } }
        func related(_ line: String) -> Double {
            let g = bigrams(line)
            return g.isEmpty ? 0 : Double(g.filter { textGrams.contains($0) }.count) / Double(g.count)
        }
        let candidates = (0..<firstText).filter { isHeadline(kept[$0].text) && siteWord(kept[$0].text) == nil }
        guard let chosen = candidates.first(where: { related(kept[$0].text) >= 0.3 }) ?? candidates.first else { return }
        var title = kept[chosen].text
        if let (bare, column) = withoutTitlePrefix(title) {
            if let column { draft.meta["column"] = column }
            notes.cleaned.append("title prefix removed: \(title)")
            title = bare
        }
        title = withoutSiteSuffix(title)
        draft.title = title
        notes.decide(kept[chosen].n, kept[chosen].text, "title", "headline: the first line before the text that shares its words")
        notes.cleaned.append("title: \(title)")
        var drop: [Int] = [chosen]
        // The headline again (a page's own title line, then the headline).
        for k in 0..<firstText where k != chosen && withoutSiteSuffix(withoutTitlePrefix(kept[k].text)?.0 ?? kept[k].text) == title {
            notes.decide(kept[k].n, kept[k].text, "furniture", "the title again")
            drop.append(k)
        }
        for k in 0..<chosen {
            let line = kept[k].text
            if let w = siteWord(line) { notes.decide(kept[k].n, line, "furniture", "site header ('\(w)')"); drop.append(k) }
            else if related(line) < 0.1 && !startsText(line) { notes.decide(kept[k].n, line, "furniture", "unrelated to the report's text"); drop.append(k) }
        }
        for k in (chosen + 1)..<max(chosen + 1, firstText) {
            let line = kept[k].text
            if let w = siteWord(line) { notes.decide(kept[k].n, line, "furniture", "site header ('\(w)')"); drop.append(k); continue }
            // 岷县融媒体中心 alone under the title: who published it.
            if line.unicodeScalars.count <= 20, !line.unicodeScalars.contains(where: { CharacterSet.punctuationCharacters.contains($0) || $0 == " " }),
               ImportRules.publisherEndings.contains(where: { line.hasSuffix($0) }) {
                notes.publisher = notes.publisher ?? line
                notes.decisions.append(Decision(line: kept[k].n, text: line, role: "metadata", why: "publisher line: the source unless a line names one"))
                drop.append(k)
            }
        }
        let after = chosen + 1
        if after < kept.count, !drop.contains(after), kept[after].text.hasPrefix("—") || kept[after].text.hasPrefix("──") {
            draft.meta["subtitle"] = kept[after].text.trimmingCharacters(in: CharacterSet(charactersIn: "—─- "))
        }
        for k in drop.sorted().reversed() { kept.remove(at: k) }
    }

    /// Han character pairs of a text, Traditional folded to Simplified: what
    /// "shares words" compares.
    static func bigrams(_ s: String) -> Set<UInt64> {
        var out = Set<UInt64>()
        var previous: UInt32 = 0
        for u in s.unicodeScalars {
            guard ScriptFolding.isHan(u.value) else { previous = 0; continue }
            let v = ScriptFolding.fold(u).value
            if previous != 0 { out.insert(UInt64(previous) << 32 | UInt64(v)) }
            previous = v
        }
        return out
    }

    /// The line opens the report's text: a sentence, or longer than a headline.
    static func startsText(_ line: String) -> Bool {
        guard let last = line.unicodeScalars.last else { return false }
        return "。！？!?；;".unicodeScalars.contains(last) || line.unicodeScalars.count > 80
            || (("”」』)）".unicodeScalars.contains(last)) && line.unicodeScalars.count >= 40)
    }

    static let titlePrefix = regex("^(?:\\d{1,4}[.．/-]\\d{1,2}(?:[.．/-]\\d{1,2})?\\s*)?(?:[【\\[]([^】\\]]{1,12})[】\\]]\\s*)?")

    /// A title without its date-and-column prefix, and the column; nil when it has none.
    static func withoutTitlePrefix(_ title: String) -> (String, String?)? {
        guard let m = matches(titlePrefix, title).first, m.range.length > 0, let r = Range(m.range, in: title) else { return nil }
        let rest = trim(String(title[r.upperBound...]))
        guard rest.count >= 4 else { return nil }
        return (rest, group(m, 1, in: title).map { trim($0) })
    }

    /// A title without a site name after a separator: `标题_某某县人民政府网`.
    static func withoutSiteSuffix(_ title: String) -> String {
        for separator in ["_", " - ", "|", "｜", " — "] {
            guard let r = title.range(of: separator, options: .backwards) else { continue }
            let tail = trim(String(title[r.upperBound...]))
            let siteLike = ImportRules.siteWords.contains { TextNormalization.contains(tail, $0) }
                || ["网", "網", "政府", "频道", "頻道", "在线", "在線"].contains { tail.hasSuffix($0) }
            if siteLike, trim(String(title[..<r.lowerBound])).count >= 4 { return trim(String(title[..<r.lowerBound])) }
        }
        return title
    }

    // MARK: - Lines

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
        guard line.unicodeScalars.dropFirst(120).isEmpty, !line.unicodeScalars.contains("。") else { return nil }
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
        guard line.unicodeScalars.count <= 40 else { return false }
        let tokens = line.components(separatedBy: CharacterSet(charactersIn: "【】[]()（） :：|丨｜/·•\u{3000}\u{00A0}")).filter { !$0.isEmpty }
        // Counters count too (阅读 1234), beside at least one widget word.
        let words = tokens.filter { !$0.allSatisfy(\.isNumber) }
        return !words.isEmpty && words.allSatisfy { ImportRules.widgetWords.contains($0) }
    }

    /// The furniture label a short line starts with (`ImportRules.furnitureLabels`), or nil.
    static func furnitureLabel(_ line: String) -> String? {
        guard line.unicodeScalars.count <= 120 else { return nil }
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

    static func isDisclaimer(_ line: String) -> Bool { !matches(disclaimerPattern, line).isEmpty }

    static func isFooterMarker(_ line: String) -> Bool {
        guard line.unicodeScalars.count <= 80 else { return false }
        let bare = trim(line) { bracketsAndSpace.contains($0) }
        if ImportRules.footerMarkers.contains(where: { bare.hasPrefix($0) }) { return true }
        return TextNormalization.contains(line, "ICP")
    }

    /// A line of running text rather than a list entry or caption.
    static func isParagraph(_ line: String) -> Bool {
        line.count >= 40 || line.hasSuffix("。") || line.hasSuffix("！") || line.hasSuffix("？")
    }

    static func isHeadline(_ line: String) -> Bool {
        line.count <= 80 && line.unicodeScalars.count >= 4 && !startsText(line) && !line.hasSuffix("。") && !line.hasSuffix("；")
            && !line.hasPrefix("—") && !line.hasPrefix("──") && line.unicodeScalars.contains { ScriptFolding.isHan($0.value) }
    }

    static func urlLine(_ line: String) -> String? {
        guard TextNormalization.contains(line, "http"), let m = matches(urlPattern, line).first, let url = group(m, 2, in: line) else { return nil }
        return url
    }

    static let urlPattern = regex("^(原文链接|原文鏈接|原文地址|链接|鏈接|网址|網址|URL|url)?\\s*[:：]?\\s*(https?://\\S+)$")

    // MARK: - Metadata

    /// Labels of metadata lines and the field each fills (`ImportRules.labels`).
    static var labels: [(String, String)] { ImportRules.labels.map { ($0.label, $0.field) } }

    /// The labels as an expression, `(label|…)\s*[:：]`: what `labelMatches`
    /// finds, written the other way, for the tests to hold one against the
    /// other. Not used by the cleaner: Foundation leaks a long pattern's copy.
    static let labelPattern: NSRegularExpression? = {
        // Longest first: 點擊次數 before 點擊.
        let alternatives = labels.map(\.0).sorted { $0.count > $1.count }.map { NSRegularExpression.escapedPattern(for: $0) }.joined(separator: "|")
        return regex("(\(alternatives))\\s*[:：]")
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

    static let separators = CharacterSet(charactersIn: "|丨｜/·•,，;；").union(spaces)

    /// The fields of a metadata line such as
    /// `2022年09月23日14:54 | 來源:人民網-四川頻道` or `(責編:羅昱、高紅霞)`, or nil
    /// when the line is anything else.
    static func metadata(in rawLine: String) -> [(String, String)]? {
        var line = rawLine
        if let first = line.first, let last = line.last, "([（【".contains(first), ")]）】".contains(last) {
            line = String(line.dropFirst().dropLast())
        }
        guard line.unicodeScalars.dropFirst(160).isEmpty else { return nil }
        // A short line that ends in a date after a publisher's name, as a
        // repost or an account's header writes it: 原创 岷县发布 2020-02-15.
        if line.count <= 40, !line.unicodeScalars.contains(where: { $0 == ":" || $0 == "：" || $0 == "。" }) {
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
            if let date = normalizedDate(line), line.count <= 40 { return [("published", date)] }
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
            if field == "原标题" { value = trim(value) { "《》“”\"".unicodeScalars.contains($0) || isSpace($0) } }
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
                if let m = matches(reporterPattern, value).first, let r = Range(m.range, in: value), let name = group(m, 2, in: value) {
                    fields.append((group(m, 1, in: value).map { ["通讯员", "通訊員"].contains($0) } == true ? "correspondent" : "author", name))
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

    static let trailingSupplier = regex("[(（]\\s*([^()（）:：]{2,40}?)\\s*供稿\\s*[)）]\\s*$")

    static let closingNotePattern = regex("[(（]\\s*((?:供稿|原标题|原標題|来源|來源|稿源|通讯员|通訊員|作者)\\s*[:：][^()（）]{1,200})[)）]\\s*$")

    /// A paragraph's closing note, `……。(供稿:县委组织部,原标题:《…》)`: the
    /// paragraph without it and the note's fields; nil when it has none.
    static func closingNote(_ paragraph: String) -> (String, [(String, String)])? {
        // (平泉市委组织部 张丽 供稿): the supplier, and a name after it as the author.
        if let m = matches(trailingSupplier, paragraph).first, let r = Range(m.range, in: paragraph), let who = group(m, 1, in: paragraph) {
            var fields: [(String, String)] = []
            let parts = who.split(whereSeparator: { $0 == " " || $0 == "\u{3000}" }).map(String.init)
            if parts.count >= 2, let last = parts.last, (2...4).contains(last.count), last.unicodeScalars.allSatisfy({ ScriptFolding.isHan($0.value) }) {
                fields = [("供稿", parts.dropLast().joined(separator: " ")), ("author", last)]
            } else {
                fields = [("供稿", who)]
            }
            return (trim(String(paragraph[..<r.lowerBound])), fields)
        }
        guard paragraph.hasSuffix(")") || paragraph.hasSuffix("）"), let m = matches(closingNotePattern, paragraph).first,
              let inner = group(m, 1, in: paragraph), let r = Range(m.range, in: paragraph),
              let fields = metadata(in: inner), !fields.isEmpty else { return nil }
        return (trim(String(paragraph[..<r.lowerBound])), fields)
    }

    /// A reporter named after a source without a colon: `記者 陳大文 報道`.
    static let reporterPattern = regex("(记者|記者|通讯员|通訊員)\\s*([\\p{Han}·]{2,4}(?:[、 ][\\p{Han}·]{2,4}){0,3}?)\\s*(?:报道|報道|摄|攝)?$")

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
        var v = trim(value)
        for word in ["记者", "記者"] where v.hasPrefix(word) { v = trim(String(v.dropFirst(word.count))) }
        for word in ["通讯员", "通訊員"] {
            if let r = v.range(of: word) {
                let correspondent = trim(String(v[r.upperBound...])).trimmingCharacters(in: separators)
                return (trim(String(v[..<r.lowerBound])).trimmingCharacters(in: separators), correspondent.isEmpty ? nil : correspondent)
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

    static let weekday = regex("\\s*(?:星期|礼拜|禮拜|周|週)[一二三四五六日天]\\s*")

    static let datePatterns: [NSRegularExpression?] = [
        regex("^(\\d{4})\\s*年\\s*(\\d{1,2})\\s*月\\s*(\\d{1,2})\\s*日?\\s*(?:(\\d{1,2})\\s*[:：时時]\\s*(\\d{2})\\s*(?:[:：分]\\s*(\\d{2}))?\\s*秒?)?$"),
        regex("^(\\d{4})[-/.](\\d{1,2})[-/.](\\d{1,2})(?:[ T\u{00A0}]+(\\d{1,2}):(\\d{2})(?::(\\d{2}))?)?$"),
    ]

    /// The ISO 8601 form (`2022-09-23`, `2022-09-23T14:54`,
    /// `2022-11-07T17:00:37`: seconds when the page gives them) of a date
    /// written `2022年09月23日14:54`, `2022-11-07 17:00:37` and the like.
    public static func normalizedDate(_ raw: String) -> String? {
        // A weekday beside the date says nothing more: 2020年02月20日 星期四.
        var s = trim(raw)
        if let m = matches(weekday, s).first, let r = Range(m.range, in: s) { s = trim(s.replacingCharacters(in: r, with: " ")) }
        s = s.replacingOccurrences(of: "  ", with: " ")
        for re in datePatterns {
            guard let m = matches(re, s).first else { continue }
            guard let y = group(m, 1, in: s).flatMap(Int.init), let mo = group(m, 2, in: s).flatMap(Int.init),
                  let d = group(m, 3, in: s).flatMap(Int.init), (1...12).contains(mo), (1...31).contains(d), y >= 1900 else { return nil }
            var out = String(format: "%04d-%02d-%02d", y, mo, d)
            if let h = group(m, 4, in: s).flatMap(Int.init), let mi = group(m, 5, in: s).flatMap(Int.init) {
                guard (0...23).contains(h), (0...59).contains(mi) else { return nil }
                out += String(format: "T%02d:%02d", h, mi)
                if let sec = group(m, 6, in: s).flatMap(Int.init) {
                    guard (0...59).contains(sec) else { return nil }
                    out += String(format: ":%02d", sec)
                }
            }
            return out
        }
        return nil
    }

    // MARK: - Pinyin glosses

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
    static func stripPinyinGlosses(_ text: String) -> (String, Int) {
        let scalars = Array(text.unicodeScalars)
        var candidates: [(start: Int, end: Int, toned: Bool)] = []
        var i = 1
        while i < scalars.count {
            guard scalars[i] == "(" || scalars[i] == "（", !isSpace(scalars[i - 1]) else { i += 1; continue }
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

    // MARK: - Place and byline

    static let titlePlace = regex("^([\\p{Han}]{2,10}?(?:县|縣|市|州|区|區|旗|盟|镇|鎮|乡|鄉))\\s*[:：]")

    /// The report's place: a title that opens with one (`玉树市:`), else the
    /// name ending in an administrative suffix (`ImportRules.placeSuffixes`)
    /// that the title and text name most, a county counting double and the
    /// title three more. A name is read backwards from its suffix and stops
    /// before a character that never belongs to one (团 of 团县委, 全, 各 …,
    /// `ImportRules.notInPlaceNames`); it is two characters unless the text
    /// shows a shorter or longer one consistently. A province just before
    /// it (青海省玉树市) is returned on its own.
    static func findPlace(title: String?, body: [String]) -> (place: String, province: String?, town: String?)? {
        // A title's own place may hold a numeral (十家堡镇:); only a collective word rules it out.
        if let t = title, let m = matches(titlePlace, t).first, var p = group(m, 1, in: t), let first = p.first,
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
    /// the list's order: `findPlace` asks at every character of a report
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

    static let ledeByline = regex("^[【\\[]?[^】\\]]{1,12}[讯訊][】\\]]?\\s*(?:记者|記者)\\s*([\\p{Han}·]{2,4}?)\\s*(?:报道|報道)?\\s*[:：]")

    /// A line of bracketed segments, each a widget or a metadata field
    /// (`【纠错】【责任编辑：陈晨】`): the fields, or nil when it is not one.
    static func bracketedSegments(_ line: String) -> [(String, String)]? {
        guard line.hasPrefix("【"), line.hasSuffix("】"), TextNormalization.contains(line, "】【"), line.unicodeScalars.count <= 160 else { return nil }
        var fields: [(String, String)] = []
        for segment in line.dropFirst().dropLast().components(separatedBy: "】【") {
            if ImportRules.widgetWords.contains(trim(segment)) { continue }
            guard let found = metadata(in: "【" + segment + "】"), !found.isEmpty else { return nil }
            fields += found
        }
        return fields
    }

    static let byline = regex("[(（]([\\p{Han}·]{2,5}(?:[、 ][\\p{Han}·]{2,5}){0,3})[)）]$")

    /// The author's name that closes a report, as in `……100余輛次。(溫明霞)`.
    static func trailingByline(_ paragraphs: [String]) -> String? {
        for p in paragraphs.suffix(4).reversed() {
            if let m = matches(byline, p).first, let name = group(m, 1, in: p) {
                return name
            }
        }
        return nil
    }
}
