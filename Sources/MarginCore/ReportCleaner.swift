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
    }

    public static func clean(_ input: String, raw: Bool = false) -> Result {
        if raw {
            let body = TextNormalization.nfc(input)
            let title = body.split(whereSeparator: \.isNewline).first.map { String($0).trimmingCharacters(in: .whitespaces) }
            return Result(draft: ReportDraft(body: body, title: title), cleaned: [])
        }
        var cleaned: [String] = []
        var draft = ReportDraft(body: "")
        var text = TextNormalization.unixNewlines(TextNormalization.nfc(input))
        let (stripped, glosses) = stripPinyinGlosses(text)
        text = stripped
        if glosses > 0 { cleaned.append("removed \(glosses) pinyin gloss\(glosses == 1 ? "" : "es")") }

        let lines = TextNormalization.lines(text).map { trim(String($0)) }
        let siteNames = Set(lines.compactMap { breadcrumbSegments($0)?.first })
        var kept: [String] = []
        for line in lines {
            if line.isEmpty { continue }
            if breadcrumbSegments(line) != nil { cleaned.append("breadcrumb: \(line)"); continue }
            if !siteNames.isEmpty, line.unicodeScalars.dropFirst(30).isEmpty, siteNames.contains(line) { cleaned.append("site name: \(line)"); continue }
            if let fields = metadata(in: line) {
                for (key, value) in fields { assign(key, value, to: &draft) }
                cleaned.append("metadata line: \(line)")
                continue
            }
            if isWidget(line) { cleaned.append("page widget: \(line)"); continue }
            if let url = urlLine(line) {
                if draft.url == nil { draft.url = url }
                cleaned.append("link: \(line)")
                continue
            }
            if kept.last == line { cleaned.append("repeated line: \(line)"); continue }
            kept.append(line)
        }

        // Footer: from a footer marker on, drop what follows when it is only
        // short lines (related-article lists, copyright lines).
        var i = 0
        while i < kept.count {
            // A disclaimer after the first paragraph ends the report.
            if i > 0, isDisclaimer(kept[i]) {
                for l in kept[i...] { cleaned.append("footer: \(l)") }
                kept.removeSubrange(i...)
                break
            }
            if isFooterMarker(kept[i]) {
                let rest = kept[(i + 1)...]
                if rest.allSatisfy({ !isParagraph($0) || isFooterMarker($0) }) {
                    for l in kept[i...] { cleaned.append("footer: \(l)") }
                    kept.removeSubrange(i...)
                    break
                }
                cleaned.append("footer: \(kept[i])")
                kept.remove(at: i)
                continue
            }
            i += 1
        }

        if let first = kept.first, isHeadline(first) {
            draft.title = first
            kept.removeFirst()
            cleaned.append("title: \(first)")
            if let sub = kept.first, sub.hasPrefix("—") || sub.hasPrefix("──") {
                draft.meta["subtitle"] = sub.trimmingCharacters(in: CharacterSet(charactersIn: "—─- "))
            }
        }

        if draft.place == nil, let place = findPlace(title: draft.title, firstLines: Array(kept.prefix(2))) {
            draft.place = place
            cleaned.append("place: \(place)")
        }
        if draft.author == nil, let author = trailingByline(kept) {
            draft.author = author
            cleaned.append("author from byline: \(author)")
        } else if let a = draft.author {
            cleaned.append("author: \(a)")
        }
        if let p = draft.published { cleaned.append("published: \(p)") }
        if let s = draft.source { cleaned.append("source: \(s)") }
        if let e = draft.editor { cleaned.append("editor: \(e)") }

        draft.body = kept.joined(separator: "\n\n")
        return Result(draft: draft, cleaned: cleaned)
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
            if hasLabel || separator == ">>" || separator == "»" || separator == "＞＞" || homeWords.contains(parts[0]) {
                return parts
            }
        }
        return hasLabel ? [trim(body)] : nil
    }

    static let breadcrumbLabel = regex("^(当前位置|當前位置|现在的位置|現在的位置|您的位置|您现在的位置|您現在的位置|所在位置|位置)\\s*[:：]")
    static let homeWords: Set<String> = ["首页", "首頁", "主页", "主頁", "网站首页", "網站首頁", "Home", "home"]

    static let widgetWords: Set<String> = [
        "小字号", "小字號", "中字号", "中字號", "大字号", "大字號", "字号", "字號", "打印", "关闭", "關閉", "关闭窗口", "關閉窗口",
        "收藏", "纠错", "糾錯", "分享", "打印本页", "打印本頁", "默认", "默認", "放大", "缩小", "縮小", "返回", "顶部", "頂部",
        "扫一扫", "掃一掃", "微信", "微博", "QQ空间", "QQ空間", "手机看", "手機看",
    ]
    static let widgetPattern = regex("^[【\\[]?(字[号號])?[:：]?\\s*([大中小]|默认|默認)(\\s+([大中小]|默认|默認))*[】\\]]?$|^([【\\[][^】\\]]{1,8}[】\\]]\\s*)+$")

    static func isWidget(_ line: String) -> Bool {
        guard line.unicodeScalars.count <= 24 else { return false }
        let bare = trim(line) { bracketsAndSpace.contains($0) }
        if widgetWords.contains(bare) { return true }
        if !matches(widgetPattern, line).isEmpty {
            // Lines of bracketed buttons only: 【打印】【关闭】
            let inner = line.components(separatedBy: CharacterSet(charactersIn: "【】[] ")).filter { !$0.isEmpty }
            return inner.allSatisfy { widgetWords.contains($0) || ["大", "中", "小"].contains($0) || $0.hasPrefix("字") }
        }
        return false
    }

    static let footerMarkers = [
        "分享到", "分享至", "分享让更多人看到", "分享讓更多人看到", "相关文章", "相關文章", "相关新闻", "相關新聞", "相关阅读", "相關閱讀",
        "推荐阅读", "推薦閱讀", "延伸阅读", "延伸閱讀", "返回顶部", "返回頂部", "上一篇", "下一篇", "版权所有", "版權所有",
        "Copyright", "copyright", "COPYRIGHT", "©", "主办单位", "主辦單位", "网站地图", "網站地圖", "联系我们", "聯繫我們",
    ]

    /// A disclaimer or rights notice (【版權及免責聲明】…, 免责声明:…): the
    /// page's footer however long its paragraphs.
    static let disclaimerPattern = regex("^[【\\[(（]?\\s*(版权及免责声明|版權及免責聲明|免责声明|免責聲明|版权声明|版權聲明|法律声明|法律聲明|版权说明|版權說明)\\s*[】\\])）]?\\s*[:：]?")

    static func isDisclaimer(_ line: String) -> Bool { !matches(disclaimerPattern, line).isEmpty }

    static func isFooterMarker(_ line: String) -> Bool {
        guard line.unicodeScalars.count <= 80 else { return false }
        let bare = trim(line) { bracketsAndSpace.contains($0) }
        if footerMarkers.contains(where: { bare.hasPrefix($0) }) { return true }
        return TextNormalization.contains(line, "ICP")
    }

    /// A line of running text rather than a list entry or caption.
    static func isParagraph(_ line: String) -> Bool {
        line.count >= 40 || line.hasSuffix("。") || line.hasSuffix("！") || line.hasSuffix("？")
    }

    static func isHeadline(_ line: String) -> Bool {
        line.count <= 80 && !line.hasSuffix("。") && !line.hasSuffix("；") && !line.hasPrefix("——")
    }

    static func urlLine(_ line: String) -> String? {
        guard TextNormalization.contains(line, "http"), let m = matches(urlPattern, line).first, let url = group(m, 2, in: line) else { return nil }
        return url
    }

    static let urlPattern = regex("^(原文链接|原文鏈接|原文地址|链接|鏈接|网址|網址|URL|url)?\\s*[:：]?\\s*(https?://\\S+)$")

    // MARK: - Metadata

    /// Labels of metadata lines and the field each fills.
    static let labels: [(String, String)] = [
        ("发布时间", "published"), ("發布時間", "published"), ("发布日期", "published"), ("發布日期", "published"),
        ("发表时间", "published"), ("發表時間", "published"), ("更新时间", "published"), ("更新時間", "published"),
        ("时间", "published"), ("時間", "published"), ("日期", "published"),
        ("信息来源", "source"), ("信息來源", "source"), ("文章来源", "source"), ("文章來源", "source"),
        ("转载自", "source"), ("轉載自", "source"), ("转自", "source"), ("轉自", "source"),
        ("来源", "source"), ("來源", "source"), ("稿源", "source"), ("出处", "source"), ("出處", "source"),
        ("作者", "author"), ("记者", "author"), ("記者", "author"), ("撰稿", "author"),
        ("责任编辑", "editor"), ("責任編輯", "editor"), ("责编", "editor"), ("責編", "editor"), ("编辑", "editor"), ("編輯", "editor"),
        ("通讯员", "correspondent"), ("通訊員", "correspondent"), ("摄影", "photographer"), ("攝影", "photographer"),
        ("浏览次数", ""), ("瀏覽次數", ""), ("点击数", ""), ("點擊數", ""), ("阅读量", ""), ("閱讀量", ""),
        ("点击", ""), ("點擊", ""), ("字号", ""), ("字號", ""),
    ]

    static let labelPattern: NSRegularExpression? = {
        let alternatives = labels.map { NSRegularExpression.escapedPattern(for: $0.0) }.joined(separator: "|")
        return regex("(\(alternatives))\\s*[:：]")
    }()

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

    static let separators = CharacterSet(charactersIn: "|丨｜/·•").union(spaces)

    /// The fields of a metadata line such as
    /// `2022年09月23日14:54 | 來源:人民網-四川頻道` or `(責編:羅昱、高紅霞)`, or nil
    /// when the line is anything else.
    static func metadata(in rawLine: String) -> [(String, String)]? {
        var line = rawLine
        if let first = line.first, let last = line.last, "([（【".contains(first), ")]）】".contains(last) {
            line = String(line.dropFirst().dropLast())
        }
        guard line.unicodeScalars.dropFirst(160).isEmpty else { return nil }
        guard line.unicodeScalars.contains(where: { $0 == ":" || $0 == "：" }) || line.first?.isNumber == true else { return nil }
        let found = mayHaveLabel(line) ? matches(labelPattern, line) : []
        var fields: [(String, String)] = []
        if found.isEmpty {
            // A line that is only a date, or a date and a site name.
            if let date = normalizedDate(line), line.count <= 40 { return [("published", date)] }
            return nil
        }
        guard let firstRange = Range(found[0].range, in: line) else { return nil }
        let lead = String(line[..<firstRange.lowerBound]).trimmingCharacters(in: separators)
        if !lead.isEmpty {
            guard let date = normalizedDate(lead) else { return nil }
            fields.append(("published", date))
        }
        for (n, m) in found.enumerated() {
            guard let label = group(m, 1, in: line), let r = Range(m.range, in: line) else { return nil }
            let end = n + 1 < found.count ? (Range(found[n + 1].range, in: line)?.lowerBound ?? line.endIndex) : line.endIndex
            var value = String(line[r.upperBound..<end]).trimmingCharacters(in: separators)
            let field = labels.first { $0.0 == label }?.1 ?? ""
            if field.isEmpty { continue }
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
            }
            if !value.isEmpty { fields.append((field, value)) }
        }
        return fields.isEmpty && found.isEmpty ? nil : fields
    }

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

    static func assign(_ field: String, _ value: String, to draft: inout ReportDraft) {
        switch field {
        case "published": if draft.published == nil { draft.published = value }
        case "source": if draft.source == nil { draft.source = value }
        case "author": if draft.author == nil { draft.author = value }
        case "editor": if draft.editor == nil { draft.editor = value }
        default: if draft.meta[field] == nil { draft.meta[field] = value }
        }
    }

    static let datePatterns: [NSRegularExpression?] = [
        regex("^(\\d{4})\\s*年\\s*(\\d{1,2})\\s*月\\s*(\\d{1,2})\\s*日?\\s*(?:(\\d{1,2})\\s*[:：时時]\\s*(\\d{2})\\s*(?:[:：分]\\s*(\\d{2}))?\\s*秒?)?$"),
        regex("^(\\d{4})[-/.](\\d{1,2})[-/.](\\d{1,2})(?:[ T\u{00A0}]+(\\d{1,2}):(\\d{2})(?::(\\d{2}))?)?$"),
    ]

    /// The ISO 8601 form (`2022-09-23`, `2022-09-23T14:54`,
    /// `2022-11-07T17:00:37`: seconds when the page gives them) of a date
    /// written `2022年09月23日14:54`, `2022-11-07 17:00:37` and the like.
    public static func normalizedDate(_ raw: String) -> String? {
        let s = trim(raw)
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

    static let titlePlace = regex("^([\\p{Han}]{2,10}?(?:县|縣|市|州|区|區|旗|镇|鎮|乡|鄉))\\s*[:：]")
    /// A place named at the start of a title or opening by its suffix:
    /// county (县/縣, 旗), city (市), prefecture (州, 盟) or district (区/區),
    /// as in 玉树市…, 梨樹縣委…, 锡林郭勒盟…
    static let leadPlace = regex("^(?:——|—)?\\s*((?:[\\p{Han}]{1,4}?(?:省|自治区|自治區|州|市|盟))?(?:[\\p{Han}]{1,4}?(?:县|縣|旗)|[\\p{Han}]{2,5}?(?:盟|市|州|区|區)))")
    /// Words ending in a place suffix that name no place.
    static let notPlaces: Set<String> = [
        "城市", "都市", "城区", "城區", "市区", "市區", "地区", "地區", "社区", "社區", "小区", "小區", "园区", "園區", "景区", "景區",
        "街区", "街區", "辖区", "轄區", "片区", "片區", "新区", "新區", "山区", "山區", "牧区", "牧區", "灾区", "災區", "疫区", "疫區",
        "校区", "校區", "城乡", "超市", "集市", "门市", "門市", "夜市", "股市", "楼市", "樓市", "各地区", "各地區", "居民小区", "居民小區",
    ]
    static let collectivePrefixes: Set<Character> = ["全", "本", "该", "該", "我", "各", "此", "每"]

    static func findPlace(title: String?, firstLines: [String]) -> String? {
        if let t = title, let m = matches(titlePlace, t).first { return group(m, 1, in: t) }
        for line in (title.map { [$0] } ?? []) + firstLines {
            if let m = matches(leadPlace, line).first, let p = group(m, 1, in: line) {
                if let first = p.first, collectivePrefixes.contains(first) { continue }
                if notPlaces.contains(p) || notPlaces.contains(where: { p.hasPrefix($0) || (p.hasSuffix($0) && p.count <= $0.count + 1) }) { continue }
                return p
            }
        }
        return nil
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
