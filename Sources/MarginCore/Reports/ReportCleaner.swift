import Foundation

/// Turns a report scraped from a web page into a body and metadata: finds the
/// title, the date/source/author/editor lines, and removes page furniture
/// (site name, breadcrumbs, font-size and share widgets, footers, echoed
/// photo captions) and the pinyin glosses conversion sites leave after
/// characters, as in 人民網(wǎng).
///
/// It works on the shapes of such pages, never on particular reports: every
/// rule is a pattern of lines, and each removal is reported in `cleaned`.
///
/// This type is the pass over the lines, the choice of title and the account
/// of what was decided; what a line is (`PageLines`), the metadata lines
/// carry (`ReportMetadata`), the report's place (`ReportPlace`) and pinyin
/// glosses (`PinyinGlosses`) are types of their own beside it.
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
        let (stripped, glosses) = PinyinGlosses.strip(text)
        text = stripped
        if glosses > 0 { notes.cleaned.append("removed \(glosses) pinyin gloss\(glosses == 1 ? "" : "es")") }

        let lines = TextNormalization.lines(text).map { PageLines.trim(String($0)) }
        let siteNames = Set(lines.compactMap { PageLines.breadcrumbSegments($0)?.first })
        var kept: [(n: Int, text: String)] = []
        var fields: [(String, String)] = []
        var sawParagraph = false, inBlock: String?
        for (index, original) in lines.enumerated() {
            let n = index + 1
            var line = original
            if line.isEmpty { continue }
            if let bare = PageLines.withoutMarkup(line) {
                if !PageLines.hasWords(bare) { notes.decide(n, line, "furniture", "HTML remnant"); continue }
                notes.cleaned.append("HTML remnant removed: \(line)")
                line = bare
            }
            if PageLines.breadcrumbSegments(line) != nil { notes.decide(n, line, "furniture", "breadcrumb"); continue }
            if !siteNames.isEmpty, PageLines.hasAtMost(30, scalarsIn: line), siteNames.contains(line) { notes.decide(n, line, "furniture", "site name"); continue }
            // 【纠错】【责任编辑：陈晨】: buttons and bracketed metadata on one line.
            if let found = ReportMetadata.bracketedSegments(line) {
                fields += found
                notes.decisions.append(Decision(line: n, text: line, role: "metadata", why: found.isEmpty ? "page widgets" :
                    found.map { "\($0.0) \($0.1)" }.joined(separator: "; ")))
                notes.cleaned.append("metadata line: \(line)")
                continue
            }
            if let found = ReportMetadata.metadata(in: line) {
                fields += found
                notes.decisions.append(Decision(line: n, text: line, role: "metadata", why: found.isEmpty ? "a counter or widget label" :
                    found.map { "\($0.0) \($0.1)" }.joined(separator: "; ")))
                notes.cleaned.append("metadata line: \(line)")
                continue
            }
            if PageLines.isWidget(line) { notes.decide(n, line, "furniture", "page widget"); continue }
            // 编者按：… before the report: the editors' preface, kept as metadata.
            if kept.isEmpty || !sawParagraph, let label = ImportRules.editorsNoteLabels.first(where: { line.hasPrefix($0) }) {
                let text = PageLines.trim(String(line.dropFirst(label.count))) { PageLines.isSpace($0) || $0 == ":" || $0 == "：" }
                if draft.meta["编者按"] == nil, TextNormalization.hasText(text) { draft.meta["编者按"] = text }
                notes.decisions.append(Decision(line: n, text: line, role: "metadata", why: "editors' note (编者按)"))
                continue
            }
            if let label = PageLines.furnitureLabel(line) {
                notes.decide(n, line, "furniture", "furniture block '\(label)'")
                inBlock = sawParagraph ? label : nil
                continue
            }
            if let url = PageLines.urlLine(line) {
                if draft.url == nil { draft.url = url }
                notes.decisions.append(Decision(line: n, text: line, role: "metadata", why: "url \(url)"))
                notes.cleaned.append("link: \(line)")
                continue
            }
            if kept.last?.text == line { notes.decide(n, line, "furniture", "repeated line"); continue }
            if let block = inBlock {
                if !PageLines.isParagraph(line) && !PageLines.isDisclaimer(line) && !PageLines.isFooterMarker(line) { notes.decide(n, line, "furniture", "under '\(block)'"); continue }
                inBlock = nil
            }
            if PageLines.isParagraph(line) { sawParagraph = true }
            kept.append((n, line))
        }

        // Footer: from a footer marker on, drop what follows when it is only
        // short lines (related-article lists, copyright lines).
        var i = 0
        while i < kept.count {
            // A disclaimer after the first paragraph ends the report.
            if i > 0, PageLines.isDisclaimer(kept[i].text) {
                for l in kept[i...] { notes.decide(l.n, l.text, "furniture", "disclaimer block") }
                kept.removeSubrange(i...)
                break
            }
            if PageLines.isFooterMarker(kept[i].text) {
                let rest = kept[(i + 1)...]
                if rest.allSatisfy({ !PageLines.isParagraph($0.text) || PageLines.isFooterMarker($0.text) }) {
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
            guard let (rest, found) = ReportMetadata.closingNote(kept[k].text) else { continue }
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
        for (key, value) in fields where key != "publisher" { ReportMetadata.assign(key, value, to: &draft) }
        let publisher = fields.first { $0.0 == "publisher" }?.1 ?? notes.publisher
        if let publisher {
            if draft.source == nil { draft.source = publisher } else if draft.source != publisher, draft.meta["publisher"] == nil { draft.meta["publisher"] = publisher }
        }
        if draft.editor == nil, let plain = draft.meta.removeValue(forKey: "编辑") { draft.editor = plain }

        let bodyText = kept.map(\.text)
        if draft.place == nil, let found = ReportPlace.find(title: draft.title, body: bodyText) {
            draft.place = found.place
            if let province = found.province, draft.meta["province"] == nil { draft.meta["province"] = province }
            if let town = found.town, draft.meta["town"] == nil { draft.meta["town"] = town }
            notes.cleaned.append("place: \(found.place)" + (found.province.map { " (province \($0))" } ?? ""))
        }
        // 【大公報訊】記者趙文報道：… opens the text: its reporter.
        if draft.author == nil, let first = bodyText.first, let m = PageLines.matches(ReportMetadata.ledeByline, first).first, let name = PageLines.group(m, 1, in: first) {
            draft.author = name
            notes.cleaned.append("author from the opening line: \(name)")
        }
        if draft.author == nil, let author = ReportMetadata.trailingByline(bodyText) {
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
        let firstText = kept.firstIndex { PageLines.startsText($0.text) } ?? kept.count
        guard firstText > 0 else { return }
        // Only the lines before the text are ever compared with it, so the
        // text is asked which of their pairs it holds (a set of the text's
        // every pair was 3% of an import).
        let lineGrams = kept[..<firstText].map { bigrams($0.text) }
        let textGrams = sharedBigrams(lineGrams.reduce(into: Set<UInt64>()) { $0.formUnion($1) }, in: kept[firstText...].lazy.map(\.text))
        func siteWord(_ line: String) -> String? { ImportRules.siteWords.first { TextNormalization.contains(line, $0) } }
        /// How many of line k's pairs the text holds (k before the text).
        func related(_ k: Int) -> Double {
            let g = lineGrams[k]
            return g.isEmpty ? 0 : Double(g.filter { textGrams.contains($0) }.count) / Double(g.count)
        }
        let candidates = (0..<firstText).filter { PageLines.isHeadline(kept[$0].text) && siteWord(kept[$0].text) == nil }
        guard let chosen = candidates.first(where: { related($0) >= 0.3 }) ?? candidates.first else { return }
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
            else if related(k) < 0.1 && !PageLines.startsText(line) { notes.decide(kept[k].n, line, "furniture", "unrelated to the report's text"); drop.append(k) }
        }
        for k in (chosen + 1)..<max(chosen + 1, firstText) {
            let line = kept[k].text
            if let w = siteWord(line) { notes.decide(kept[k].n, line, "furniture", "site header ('\(w)')"); drop.append(k); continue }
            // 岷县融媒体中心 alone under the title: who published it.
            if PageLines.hasAtMost(20, scalarsIn: line), !line.unicodeScalars.contains(where: { CharacterSet.punctuationCharacters.contains($0) || $0 == " " }),
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
        forEachBigram(s) { out.insert($0) }
        return out
    }

    /// Each Han pair of `s` in order, repeats included, as `bigrams` keys them.
    @inline(__always) static func forEachBigram(_ s: String, _ body: (UInt64) -> Void) {
        var previous: UInt32 = 0
        for u in s.unicodeScalars {
            guard ScriptFolding.isHan(u.value) else { previous = 0; continue }
            let v = ScriptFolding.fold(u).value
            if previous != 0 { body(UInt64(previous) << 32 | UInt64(v)) }
            previous = v
        }
    }

    /// The pairs of `wanted` that occur in any of `lines` (each line's
    /// pairs as `bigrams` finds them; no pair spans two lines). A text's
    /// pair is looked up only when a 4,096-bit filter of the wanted pairs
    /// may hold it: most of a report's pairs are not in its header lines.
    static func sharedBigrams<Lines: Sequence>(_ wanted: Set<UInt64>, in lines: Lines) -> Set<UInt64> where Lines.Element == String {
        guard !wanted.isEmpty else { return [] }
        @inline(__always) func slot(_ pair: UInt64) -> Int { Int(truncatingIfNeeded: (pair &* 0x9E37_79B9_7F4A_7C15) >> 52) }
        var filter = [UInt64](repeating: 0, count: 64)
        for pair in wanted { let i = slot(pair); filter[i >> 6] |= 1 << UInt64(i & 63) }
        var found = Set<UInt64>()
        for line in lines {
            forEachBigram(line) { pair in
                let i = slot(pair)
                if filter[i >> 6] & (1 << UInt64(i & 63)) != 0, wanted.contains(pair) { found.insert(pair) }
            }
            if found.count == wanted.count { break }
        }
        return found
    }


    static let titlePrefix = PageLines.regex("^(?:\\d{1,4}[.．/-]\\d{1,2}(?:[.．/-]\\d{1,2})?\\s*)?(?:[【\\[]([^】\\]]{1,12})[】\\]]\\s*)?")

    /// A title without its date-and-column prefix, and the column; nil when it has none.
    static func withoutTitlePrefix(_ title: String) -> (String, String?)? {
        guard let m = PageLines.matches(titlePrefix, title).first, m.range.length > 0, let r = Range(m.range, in: title) else { return nil }
        let rest = PageLines.trim(String(title[r.upperBound...]))
        guard rest.count >= 4 else { return nil }
        return (rest, PageLines.group(m, 1, in: title).map { PageLines.trim($0) })
    }

    /// A title without a site name after a separator: `标题_某某县人民政府网`.
    static func withoutSiteSuffix(_ title: String) -> String {
        for separator in ["_", " - ", "|", "｜", " — "] {
            guard let r = title.range(of: separator, options: .backwards) else { continue }
            let tail = PageLines.trim(String(title[r.upperBound...]))
            let siteLike = ImportRules.siteWords.contains { TextNormalization.contains(tail, $0) }
                || ["网", "網", "政府", "频道", "頻道", "在线", "在線"].contains { tail.hasSuffix($0) }
            if siteLike, PageLines.trim(String(title[..<r.lowerBound])).count >= 4 { return PageLines.trim(String(title[..<r.lowerBound])) }
        }
        return title
    }
}
