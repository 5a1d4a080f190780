import Foundation
@testable import MarginCore
import MarginTestSupport
import XCTest

final class ImporterTests: XCTestCase {
    func read(_ url: URL) throws -> String {
        try XCTUnwrap(TextNormalization.decodeUTF8(try Data(contentsOf: url)))
    }

    /// Body paragraphs of a raw page: long lines of running text, with any
    /// pinyin gloss taken out by an independent pattern.
    func paragraphs(_ raw: String) -> [String] {
        let gloss = try! NSRegularExpression(pattern: "\\([a-zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü]{1,7}\\)")
        return raw.replacingOccurrences(of: "\r\n", with: "\n").split(separator: "\n").map { line in
            let s = String(line).trimmingCharacters(in: .whitespaces)
            let unglossed = gloss.stringByReplacingMatches(in: s, range: NSRange(s.startIndex..., in: s), withTemplate: "")
            // A closing note (供稿:…,原标题:…) is metadata, not text.
            return unglossed.replacingOccurrences(of: "[(（](供稿|原标题|原標題)[:：][^()（）]*[)）]$", with: "", options: .regularExpression)
        }.filter { $0.count >= 40 && ($0.hasSuffix("。") || $0.hasSuffix("!") || $0.hasSuffix(")")) }
    }

    func checkCommon(_ raw: String, _ result: ReportCleaner.Result, file: StaticString = #filePath, line: UInt = #line) {
        let body = result.draft.body
        for p in paragraphs(raw) {
            XCTAssertTrue(body.contains(TextNormalization.nfc(p)), "paragraph lost: \(p.prefix(30))…", file: file, line: line)
        }
        let leftover = try! NSRegularExpression(pattern: "\\p{Han}\\([a-zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü]+\\)")
        XCTAssertEqual(leftover.numberOfMatches(in: body, range: NSRange(body.startIndex..., in: body)), 0,
                       "pinyin glosses left in the body", file: file, line: line)
        for furniture in ["分享到", "返回頂部", "返回顶部", "相關文章", "小字號", ">>", "责任编辑", "責編", "ICP备"] {
            XCTAssertFalse(body.contains(furniture), "furniture '\(furniture)' left in the body", file: file, line: line)
        }
        XCTAssertNotNil(result.draft.title, file: file, line: line)
        XCTAssertFalse(body.hasPrefix(result.draft.title ?? "\u{0}"), "title repeated as the first line", file: file, line: line)
    }

    func testSeeds() throws {
        guard FileManager.default.fileExists(atPath: Paths.seeds.path) else {
            throw XCTSkip("../shared/seeds is absent; seed checks skipped")
        }
        let files = try FileManager.default.contentsOfDirectory(at: Paths.seeds, includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "txt" }
        XCTAssertFalse(files.isEmpty)
        for url in files {
            let raw = try read(url)
            let result = ReportCleaner.clean(raw)
            checkCommon(raw, result)
            // Metadata that the page states must be found.
            if raw.contains("來源:") || raw.contains("来源:") { XCTAssertNotNil(result.draft.source, url.lastPathComponent) }
            if raw.range(of: "(发布时间|發布時間|\\d{4}年\\d{2}月\\d{2}日)", options: .regularExpression) != nil {
                XCTAssertNotNil(result.draft.published, url.lastPathComponent)
            }
            if ["責編", "责编", "责任编辑", "責任編輯"].contains(where: raw.contains) { XCTAssertNotNil(result.draft.editor, url.lastPathComponent) }
        }
    }

    func testSeedDetailsWhenPresent() throws {
        let url = Paths.seeds.appendingPathComponent("002_2dca93d985c67243.txt")
        guard FileManager.default.fileExists(atPath: url.path) else { throw XCTSkip("seed 002 absent") }
        let r = ReportCleaner.clean(try read(url))
        XCTAssertEqual(r.draft.title, "黨建引領聚合力 同心抗疫筑“堡壘”")
        XCTAssertEqual(r.draft.published, "2022-09-23T14:54")
        XCTAssertEqual(r.draft.source, "人民網-四川頻道")
        XCTAssertEqual(r.draft.editor, "羅昱、高紅霞")
        XCTAssertEqual(r.draft.author, "溫明霞")
        XCTAssertTrue(r.draft.body.contains("(溫明霞)"), "a parenthesised CJK name is text")
        XCTAssertTrue(r.draft.body.contains("瀘縣直屬機關各基層黨組織積極響應疫情防控部署要求"))
    }

    func testSamples() throws {
        var files: [URL] = []
        for folder in ["reports", "pages"] {
            let dir = Paths.samples.appendingPathComponent(folder)
            files += try FileManager.default.contentsOfDirectory(at: dir, includingPropertiesForKeys: nil).filter { $0.pathExtension == "txt" }
        }
        XCTAssertGreaterThanOrEqual(files.count, 6)
        var byName: [String: ReportCleaner.Result] = [:]
        for url in files {
            let raw = try read(url)
            let r = ReportCleaner.clean(raw)
            checkCommon(raw, r)
            byName[url.lastPathComponent] = r
        }
        let glossed = try XCTUnwrap(byName["02-luxian-volunteers.txt"])
        XCTAssertEqual(glossed.draft.title, "志愿服務暖人心 瀘縣黨員下沉社區戰疫情")
        XCTAssertEqual(glossed.draft.published, "2022-11-07T17:00")
        XCTAssertEqual(glossed.draft.source, "人民網-四川頻道")
        XCTAssertEqual(glossed.draft.editor, "陳曉、周婷")
        XCTAssertEqual(glossed.draft.author, "李明芳")
        XCTAssertEqual(glossed.draft.body.components(separatedBy: "社區志愿者為居民配送物資。瀘縣供圖").count, 2, "an echoed caption is kept once")
        let gov = try XCTUnwrap(byName["03-tongren-grid.txt"])
        XCTAssertEqual(gov.draft.published, "2022-11-07T17:00:37")
        XCTAssertEqual(gov.draft.source, "同仁县融媒体中心")
        XCTAssertEqual(gov.draft.editor, "海燕")
        XCTAssertEqual(gov.draft.place, "同仁县")
        let crlf = try XCTUnwrap(byName["04-jianzha-property.txt"])
        XCTAssertEqual(crlf.draft.title, "尖扎县:“红色物业”助力小区防疫")
        XCTAssertEqual(crlf.draft.author, "卓玛")
        XCTAssertEqual(crlf.draft.published, "2021-08-03T09:30")
        XCTAssertFalse(crlf.draft.body.contains("\r"))
        XCTAssertFalse(crlf.draft.body.contains("版权所有"))
        // Pages in the shape of those the importer had not seen (Samples/pages).
        let town = try XCTUnwrap(byName["05-shijiabu-town.txt"])
        XCTAssertEqual(town.draft.title, "十家堡镇:党员冲在前 群众心里暖")
        XCTAssertEqual(town.draft.meta["column"], "战疫一线")
        XCTAssertEqual(town.draft.place, "十家堡镇")
        XCTAssertEqual(town.draft.source, "铁岭日报")
        XCTAssertEqual(town.draft.editor, "孙伟")
        XCTAssertEqual(town.draft.meta["编辑"], "刘佳")
        XCTAssertEqual(town.draft.meta["原标题"], "党旗在战疫一线高高飘扬")
        XCTAssertFalse(town.draft.body.contains("本网"))
        let county = try XCTUnwrap(byName["06-wusheng-county.txt"])
        XCTAssertEqual(county.draft.title, "凝心聚力戰疫情——武勝縣黨員幹部衝鋒在前")
        XCTAssertEqual(county.draft.place, "武勝縣")
        XCTAssertEqual(county.draft.published, "2020-02-11")
        XCTAssertFalse(county.draft.body.contains("主辦") || county.draft.body.contains("圖片新聞") || county.draft.body.contains("送菜"))
        let trad = try XCTUnwrap(byName["01-maduo-checkpoints.txt"])
        XCTAssertEqual(trad.draft.place, "瑪多縣")
        XCTAssertFalse(trad.draft.body.contains("推進會"), "related-article titles after the footer go")
    }

    func testDates() {
        XCTAssertEqual(ReportMetadata.normalizedDate("2022年09月23日14:54"), "2022-09-23T14:54")
        XCTAssertEqual(ReportMetadata.normalizedDate("2022-11-07 17:00:37"), "2022-11-07T17:00:37")
        XCTAssertEqual(ReportMetadata.normalizedDate("2020-02-26"), "2020-02-26")
        XCTAssertEqual(ReportMetadata.normalizedDate("2021年8月3日"), "2021-08-03")
        XCTAssertEqual(ReportMetadata.normalizedDate("2021/8/3 9:05"), "2021-08-03T09:05")
        XCTAssertNil(ReportMetadata.normalizedDate("2021-13-03"))
        XCTAssertNil(ReportMetadata.normalizedDate("共有159名黨員"))
    }

    func testMetadataLineShapes() {
        let r = ReportCleaner.clean("标题在这里\n\n作者:张三 丨 来源:新华网 丨 2022-11-07 17:00:37\n\n正文第一段,共有159名党员参加了这次活动,体现了党员的先锋模范作用。")
        XCTAssertEqual(r.draft.author, "张三")
        XCTAssertEqual(r.draft.source, "新华网")
        XCTAssertEqual(r.draft.title, "标题在这里")
        // A sentence that merely mentions a label is text, not metadata.
        let s = ReportCleaner.clean("标题\n\n据了解,信息来源:群众举报,工作人员及时处置,共排查人员1200余人次,切实保障了群众安全。")
        XCTAssertTrue(s.draft.body.contains("信息来源:群众举报"))
        XCTAssertNil(s.draft.source)
    }

    /// `isPlaceName` looks up the name's beginnings and ends in the list of
    /// words that are not places; it says what a pass over every word of
    /// the list says (as it was first written): on every word of the list,
    /// each with characters before and after, and on random names.
    func testAPlaceNameIsJudgedAsAPassOverTheWholeListJudgesIt() {
        func byScan(_ p: String) -> Bool {
            guard let first = p.first, !ImportRules.notInPlaceNames.contains(first) else { return false }
            return !ImportRules.notPlaces.contains(p)
                && !ImportRules.notPlaces.contains(where: { p.hasPrefix($0) || (p.hasSuffix($0) && p.count <= $0.count + 1) })
        }
        var names: [String] = []
        for w in ImportRules.notPlaces { names += [w, "瀘" + w, "瀘縣" + w, w + "縣", w + "村", String(w.dropLast())] }
        let alphabet = Array("瀘縣玛多县城区市社小园新都乡镇街道村上海") + Array(ImportRules.notPlaces.joined())
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<3000 {
            names.append(String((0..<Int.random(in: 1...6, using: &generator)).compactMap { _ in alphabet.randomElement(using: &generator) }))
        }
        var places = 0
        for p in names {
            XCTAssertEqual(ReportPlace.isPlaceName(p), byScan(p), p)
            if byScan(p) { places += 1 }
        }
        XCTAssertGreaterThan(places, 100, "both answers occur")
        XCTAssertLessThan(places, names.count - 100, "both answers occur")
    }

    /// Every line of the sample reports and (when present) the seeds.
    func sampleAndSeedLines() throws -> [String] {
        var lines: [String] = []
        var dirs = [Paths.samples.appendingPathComponent("reports")]
        if FileManager.default.fileExists(atPath: Paths.seeds.path) { dirs.append(Paths.seeds) }
        for dir in dirs {
            for url in try FileManager.default.contentsOfDirectory(at: dir, includingPropertiesForKeys: nil) {
                guard let text = try? String(contentsOf: url, encoding: .utf8) else { continue }
                lines += TextNormalization.lines(TextNormalization.unixNewlines(text)).map(String.init)
            }
        }
        return lines
    }

    /// `ReportPlace.find` reads a line as its scalars where each is a
    /// Character of its own, and finds what reading it as Characters finds:
    /// on every report of the samples and (when present) the seeds, on
    /// reports written for this test whose lines hold what makes a scalar
    /// part of a larger Character (a combining mark, a joiner, Hangul
    /// jamo, CR LF, a compatibility ideograph) next to place names, and on
    /// random lines of place characters, rules' characters and those.
    func testThePlaceIsFoundAlikeReadingScalarsOrCharacters() throws {
        var reports: [(title: String?, body: [String])] = []
        var dirs = [Paths.samples.appendingPathComponent("reports")]
        if FileManager.default.fileExists(atPath: Paths.seeds.path) { dirs.append(Paths.seeds) }
        for dir in dirs {
            for url in try FileManager.default.contentsOfDirectory(at: dir, includingPropertiesForKeys: nil) {
                guard let text = try? String(contentsOf: url, encoding: .utf8) else { continue }
                let lines = TextNormalization.lines(TextNormalization.unixNewlines(text)).map(String.init)
                reports.append((lines.first, Array(lines.dropFirst())))
            }
        }
        XCTAssertGreaterThanOrEqual(reports.count, 4)
        // Written for this test: a scalar that joins the one before (a
        // combining mark after 县, a joiner, a variation selector), Hangul
        // jamo, a compatibility ideograph (U+F9B5 is 例), CR LF, emoji.
        reports += [
            ("玛多县:疫情防控", ["玛多县\u{0301}组织159名党员,玛多县设卡口16个。", "玛多县\u{200D}縣城", "共和縣各乡镇\r\n共和縣城区"]),
            ("同仁市防控工作", ["同仁市\u{FE0F}组建突击队,同仁市\u{F9B5}外", "ᄀ\u{1161}县和县城,同仁市👨\u{200D}👩区", "隆务镇\u{302A}县"]),
            (nil, ["尖扎县尖扎县坎布拉镇", "黄南藏族自治州尖扎县", "青海省玉树市玉树市玉树市"]),
        ]
        let alphabet: [Character] = Array("玛多县縣市区區州旗盟自治同仁尖扎共和十多黄南藏族镇乡城社团全各,。:、 a1") + ["\u{0301}", "\u{200D}", "\u{F9B5}", "\r\n", "ᄀ\u{1161}", "👍🏽", "\u{302A}"]
        // Seeded: the counts below are held to thresholds, which an
        // unseeded run missed now and then (994 lines read as scalars, for
        // more than 1,000, in a clean clone's CI run).
        var generator = SplitMix64(seed: 0x5ca1a75)
        for _ in 0..<1500 {
            func line() -> String {
                var s = ""
                for _ in 0..<Int.random(in: 1...24, using: &generator) { if let c = alphabet.randomElement(using: &generator) { s.append(c) } }
                return s
            }
            reports.append((Bool.random(using: &generator) ? line() : nil, (0..<Int.random(in: 1...4, using: &generator)).map { _ in line() }))
        }
        var found = 0, scalarLines = 0, characterLines = 0
        for r in reports {
            let byScalars = ReportPlace.find(title: r.title, body: r.body)
            let byCharacters = ReportPlace.find(title: r.title, body: r.body, scalarScan: false)
            XCTAssertEqual(byScalars?.place, byCharacters?.place, "\(r)")
            XCTAssertEqual(byScalars?.province, byCharacters?.province, "\(r)")
            XCTAssertEqual(byScalars?.town, byCharacters?.town, "\(r)")
            if byScalars != nil { found += 1 }
            for l in (r.title.map { [$0] } ?? []) + r.body {
                if ScanUnits.scalars(l) != nil { scalarLines += 1 } else { characterLines += 1 }
            }
        }
        XCTAssertGreaterThan(found, 100, "places are found")
        XCTAssertGreaterThan(scalarLines, 1000, "lines are read as scalars")
        XCTAssertGreaterThan(characterLines, 1000, "lines are read as Characters")
        // A line of the samples is read as scalars; one with a combining
        // mark or a compatibility ideograph is not.
        XCTAssertNotNil(ScanUnits.scalars("疫情发生以来,玛多县组织159名党员(共16个临时党支部)。"))
        XCTAssertNil(ScanUnits.scalars("玛多县\u{0301}"))
        XCTAssertNil(ScanUnits.scalars("同仁市\u{F9B5}"))
        XCTAssertNil(ScanUnits.scalars("a\r\nb"))
        // Every character of the rules is one scalar the scalar reading
        // keeps, so its tables hold the whole of the rules.
        let ruleCharacters = ImportRules.placeSuffixes.flatMap(Array.init) + Array(ImportRules.notInPlaceNames)
            + ImportRules.notAfterSuffix.flatMap { [$0.key] + Array($0.value) }
        for c in ruleCharacters {
            XCTAssertEqual(c.unicodeScalars.count, 1, "\(c)")
            XCTAssertTrue(c.unicodeScalars.first.map { ScanUnits.standsAlone($0.value) } ?? false, "\(c)")
        }
        XCTAssertEqual(ScanUnits.notInPlaceNames.count, ImportRules.notInPlaceNames.count)
        XCTAssertEqual(ScanUnits.placeSuffixesByFirst.values.map(\.count).reduce(0, +), ImportRules.placeSuffixes.count)
    }

    /// `normalizedDate` asks its expressions only of texts they could
    /// match, and answers as asking them always did: on every line of the
    /// samples and (when present) the seeds, on crafted dates (a weekday
    /// first or last, fullwidth and other scripts' digits, spaces), and on
    /// random strings of their characters.
    func testADateIsReadAsTheExpressionsAloneReadIt() throws {
        func always(_ raw: String) -> String? { ReportMetadata.normalizedDate(raw, screened: false) }
        var texts = ["星期四 2020年02月20日", "2020年02月20日 星期四", "  礼拜天2021/8/3 9:05", "週五 2022-11-07 17:00:37", "２０２０年２月２０日", "٢٠٢٠-٠٢-٢٠",
                     "2020年 2月 20日 14时05分30秒", "周一", "2020-13-01", "1899-01-01", "x2020-02-02", "2020-02-02x", ""]
        texts += try sampleAndSeedLines()
        let alphabet: [Character] = Array("0123456789２０年月日时時分秒:：-/. T星期礼拜周週一四日天x") + ["\u{00A0}", "٢"]
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<3000 {
            var s = ""
            for _ in 0..<Int.random(in: 0...20, using: &generator) { if let c = alphabet.randomElement(using: &generator) { s.append(c) } }
            texts.append(s)
        }
        texts += (0..<300).map { _ in "\(Int.random(in: 1890...2030, using: &generator))年\(Int.random(in: 0...13, using: &generator))月\(Int.random(in: 0...32, using: &generator))日" }
        var dates = 0
        for t in texts {
            XCTAssertEqual(ReportMetadata.normalizedDate(t), always(t), t)
            if always(t) != nil { dates += 1 }
        }
        XCTAssertGreaterThan(dates, 100, "dates are read")
        XCTAssertEqual(ReportMetadata.normalizedDate("星期四 2020年02月20日"), "2020-02-20")
    }

    /// `hasAtMost` tells a line's length in scalars from its UTF-8 length
    /// where that decides, and in Characters by walking no further than the
    /// bound, and says what counting them says: at every
    /// bound around the lengths of one-, two-, three- and four-byte
    /// scalars, mixed and alone.
    func testALineIsMeasuredAsCountingItsScalarsMeasuresIt() {
        let units = ["a", "é", "黨", "𠀀", "e\u{301}"]
        var generator = SystemRandomNumberGenerator()
        var lines: [String] = [""]
        for unit in units { for n in [1, 19, 20, 21, 39, 40, 41, 79, 80, 81, 119, 120, 121, 160, 161, 500] { lines.append(String(repeating: unit, count: n)) } }
        for _ in 0..<2000 {
            var s = ""
            for _ in 0..<Int.random(in: 0...200, using: &generator) { s += units.randomElement(using: &generator) ?? "" }
            lines.append(s)
        }
        for line in lines {
            for n in [20, 30, 40, 80, 120, 160] {
                XCTAssertEqual(PageLines.hasAtMost(n, scalarsIn: line), line.unicodeScalars.count <= n, "\(n) \(line.unicodeScalars.count)")
                XCTAssertEqual(PageLines.hasAtMost(n, charactersIn: line), line.count <= n, "\(n) \(line.count)")
            }
            XCTAssertEqual(PageLines.hasAtMost(3, scalarsIn: line), line.unicodeScalars.count <= 3)
            XCTAssertEqual(PageLines.hasAtMost(39, charactersIn: line), line.count <= 39)
        }
    }

    /// `isDisclaimer` runs its expression only on a line that begins with
    /// a heading's first character past brackets and spaces, and answers as
    /// the expression alone does: on the samples' and seeds' lines, crafted
    /// headings and random strings of their characters.
    func testADisclaimerIsFoundAsTheExpressionAloneFindsIt() throws {
        var lines = ["【版權及免責聲明】本網站所載文章", "（免责声明）:", "\u{3000}版权声明：", " 【 本站声明 】", "[特别声明]", "特別聲明", "声明：", "版权所有", "網站聲明的", "\t法律声明"]
        lines += try sampleAndSeedLines()
        let alphabet: [Character] = Array("【[(（】])） \u{3000}\t:：") + Array(ImportRules.disclaimerHeadings.joined())
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<3000 {
            var s = ""
            for _ in 0..<Int.random(in: 0...12, using: &generator) { if let c = alphabet.randomElement(using: &generator) { s.append(c) } }
            if Bool.random(using: &generator), let h = ImportRules.disclaimerHeadings.randomElement(using: &generator) { s = String(s.prefix(2)) + h + s }
            lines.append(s)
        }
        var found = 0
        for line in lines {
            let expected = !PageLines.matches(PageLines.disclaimerPattern, line).isEmpty
            XCTAssertEqual(PageLines.isDisclaimer(line), expected, line)
            if expected { found += 1 }
        }
        XCTAssertGreaterThan(found, 100, "disclaimers are found")
        XCTAssertLessThan(found, lines.count - 300, "other lines are not")
    }

    /// The look before the label expression never turns a line away that
    /// the expression would match: checked on crafted lines and on every
    /// line of the samples and (when present) the seeds.
    func testTheLabelLookNeverMissesALabel() throws {
        var lines = ["時間:2020年02月11日 點擊次數:14619", "编辑:张晓  责编:李华  编审:王强", "来源:新华网", "来源 ：新华网", "来源\u{3000}:x", "(責編:羅昱)", "發布時間：2022", "作者:张三 丨 来源:新华网",
                     "通知:明天开会", "12:30", "时间", "来源", ":来源", "转自:人民网", "出處 : 網", "共有159名黨員"]
        lines += try sampleAndSeedLines()
        var labelled = 0
        for line in lines {
            // The cleaner's matcher finds what the expression finds, label for label.
            let expected = PageLines.matches(ReportMetadata.labelPattern, line).compactMap { PageLines.group($0, 1, in: line) }
            XCTAssertEqual(ReportMetadata.labelMatches(line).map(\.label), expected, line)
            guard !expected.isEmpty else { continue }
            labelled += 1
            XCTAssertTrue(ReportMetadata.mayHaveLabel(line), line)
        }
        XCTAssertGreaterThan(labelled, 10)
        XCTAssertFalse(ReportMetadata.mayHaveLabel("通知:明天开会"))
        XCTAssertFalse(ReportMetadata.mayHaveLabel("共有159名黨員"))
    }

    func testGlossesNeedHanBeforeAndPinyinInside() {
        let r = ReportCleaner.clean("标题\n\n人民網(wǎng)報道,會議(A)組和(B)組,共16個(gè)支部,負責人(溫明霞)說,英文(English)照舊。")
        XCTAssertTrue(r.draft.body.contains("人民網報道"))
        XCTAssertTrue(r.draft.body.contains("16個支部"))
        XCTAssertTrue(r.draft.body.contains("(溫明霞)"))
        XCTAssertTrue(r.draft.body.contains("(English)"))
        XCTAssertTrue(r.draft.body.contains("(A)組"))
        // Toneless syllables alone are not taken for glosses.
        let plain = ReportCleaner.clean("标题\n\n方案(an)一,共有159名党员参加,体现了党员的先锋模范作用。")
        XCTAssertTrue(plain.draft.body.contains("(an)"))
    }

    func testRawKeepsTextAsIs() {
        let raw = "人民網(wǎng)\r\n分享到:\r\n"
        let r = ReportCleaner.clean(raw, raw: true)
        XCTAssertEqual(r.draft.body, raw)
        XCTAssertTrue(r.cleaned.isEmpty)
    }

    /// Pages the importer had not seen: a repost line, a disclaimer block, a
    /// place known only by its suffix. Shapes, not particular reports.
    func testRepostLinesDisclaimersAndPlacesBySuffix() {
        let repost = ReportCleaner.clean("""
            玉树市多措并举织密疫情防控网

            轉自:人民網
            2022年10月12日 09:15

            玉树市各街道社区组织党员志愿者320名,协助开展核酸检测、物资配送等工作,共设立临时党支部12个。

            【版權及免責聲明】凡本網注明"來源:XXX"的作品,均轉載自其它媒體,轉載目的在於傳遞更多信息,並不代表本網贊同其觀點和對其真實性負責。

            如有侵權請聯繫刪除。
            """)
        XCTAssertEqual(repost.draft.source, "人民網")
        XCTAssertEqual(repost.draft.published, "2022-10-12T09:15")
        XCTAssertEqual(repost.draft.place, "玉树市")
        XCTAssertFalse(repost.draft.body.contains("免責"), repost.draft.body)
        XCTAssertFalse(repost.draft.body.contains("侵權"), "the disclaimer block runs to the end")
        XCTAssertTrue(repost.draft.body.contains("临时党支部12个"))

        let source = ReportCleaner.clean("梨樹縣委組織部部署疫情防控工作\n\n来源:转自吉林日报\n\n梨樹縣委組織部要求全縣各級黨組織把防控責任落實到位,已選派幹部86名下沉社區。")
        XCTAssertEqual(source.draft.source, "吉林日报")
        XCTAssertEqual(source.draft.place, "梨樹縣")
        for (title, place) in [("锡林郭勒盟:牧区防疫不放松", "锡林郭勒盟"), ("黄南州召开疫情防控工作会议", "黄南州"),
                               ("城东区组建党员突击队", "城东区"), ("城市社区防疫观察", nil), ("全市上下齐心抗疫", nil),
                               ("社区防疫一线见闻", nil)] as [(String, String?)] {
            let r = ReportCleaner.clean("\(title)\n\n各级党组织迅速行动,共抽调干部120名,组建志愿服务队8支,深入一线开展防控工作。")
            XCTAssertEqual(r.draft.place, place, title)
        }
    }
}

/// Quotes as people copy them: across a paragraph break, or a character
/// that is only part of one the body holds.
final class QuoteTests: StoreTestCase {
    func testAQuoteAcrossAParagraphBreakMatchesAndKeepsTheBodysText() throws {
        let s = try makeStore("q")
        let body = "全縣共抽調354名幹部\n\n組成16個工作組,深入各村開展排查。"
        let rid = try s.importReport(ReportDraft(body: body, title: "t")).id
        // As copied from a terminal: the break became one space, or a single newline.
        for copied in ["354名幹部 組成16個", "354名幹部\n組成16個", "354名干部  组成16个"] {
            let span = try SpanLocation.locate(.quote(copied, occurrence: nil), in: body)
            XCTAssertEqual(span.quote, "354名幹部\n\n組成16個", "stored exactly as in the body")
            XCTAssertEqual(span.start, 5)
        }
        let code = try s.addCode(name: "cadres", description: nil, colour: nil, parent: nil)
        XCTAssertNoThrow(try s.annotate(record: rid, code: code, span: .quote("354名幹部 組成16個工作組", occurrence: nil), value: "354", note: nil))
    }

    func testAQuoteThatWouldSplitACharacterSaysSo() throws {
        // q with a dot above has no precomposed form: NFC keeps two scalars, one character.
        let body = "Faq\u{307} 👍🏽 共有159名黨員"
        XCTAssertThrowsError(try SpanLocation.locate(.quote("Faq", occurrence: nil), in: body)) { error in
            XCTAssertTrue(MarginError.message(for: error).contains("only as part of a character"), MarginError.message(for: error))
        }
        XCTAssertThrowsError(try SpanLocation.locate(.quote("👍", occurrence: nil), in: body)) { error in
            XCTAssertTrue(MarginError.message(for: error).contains("only as part of a character"), MarginError.message(for: error))
        }
        XCTAssertThrowsError(try SpanLocation.locate(.quote("不在這裡", occurrence: nil), in: body)) { error in
            XCTAssertTrue(MarginError.message(for: error).contains("not found"))
        }
        XCTAssertEqual(try SpanLocation.locate(.quote("Faq\u{307}", occurrence: nil), in: body).quote, "Faq\u{307}")
    }
}

/// `Importer.run` on more reports than one transaction holds, the next
/// chunk cleaned in parts on every core while one is written.
final class ImporterChunkTests: StoreTestCase {
    /// Each report goes in as it goes in alone, in the files' order, and a
    /// bad file fails alone, in either part of a chunk: 600 reports (chunks
    /// of 256, 256 and 88: the first cleaned alone, then two cleaned ahead
    /// of the one written), with a binary file or an empty one in each
    /// chunk's first and second halves.
    func testAChunkCleanedInPartsImportsAsEachFileAlone() throws {
        let folder = dir.appendingPathComponent("reports")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let places = ["玛多县", "泸县", "同仁市", "尖扎县", "共和縣", "十堰市"]
        var expected: [String: ReportCleaner.Result] = [:]
        let bad: Set<Int> = [10, 200, 270, 290, 330, 490, 530, 590]
        for i in 0..<600 {
            let url = folder.appendingPathComponent(String(format: "%03d.txt", i))
            let data: Data
            if bad.contains(i) {
                data = i % 20 == 10 ? Data([0x00, 0xFF, 0xFE, 0x00, 0x01]) : Data()
            } else {
                let place = places[i % places.count]
                let text = "\(place)防控工作报告(\(i))\n来源:\(place)融媒体中心\n发布时间:2022-11-\(String(format: "%02d", i % 28 + 1))\n\n"
                    + "疫情发生以来,\(place)组织\(100 + i)名党员下沉社区,设立\(i % 17 + 1)个临时党支部,\(place)各乡镇同步行动。\n"
                    + "\(place)还开设心理疏导热线\(i)条,为居家群众提供服务。"
                data = Data(text.utf8)
                expected[url.path] = try ReportFile.parse(data, raw: false, encoding: nil)
            }
            try data.write(to: url)
        }
        let store = try makeStore("chunks")
        let files = try Importer.files([(folder.path, folder.path)], storeDirectory: store.directory) { _ in }
        XCTAssertEqual(files.count, 600)
        var outcomes: [(path: String, outcome: Result<Importer.Imported, any Error>)] = [], chunks: [Int] = [], started: [Int] = []
        try Importer().run(files, into: store, starting: { n, _ in started.append(n) }) { outcomes += $0; chunks.append($0.count) }
        XCTAssertEqual(outcomes.map(\.path), files, "every file once, in order")
        XCTAssertEqual(chunks, [256, 256, 88])
        XCTAssertEqual(started, Array(0..<600))
        var imported = 0
        for (path, outcome) in outcomes {
            let i = Int((path as NSString).lastPathComponent.prefix(3)) ?? -1
            switch outcome {
            case .success(.report(let report)):
                XCTAssertFalse(bad.contains(i), path)
                let alone = try XCTUnwrap(expected[path])
                let record = try XCTUnwrap(try store.record(report.id))
                XCTAssertEqual(record.title, alone.draft.title, path)
                XCTAssertEqual(record.place, alone.draft.place, path)
                XCTAssertEqual(record.published, alone.draft.fields.first { $0.field == "published" }?.value ?? nil, path)
                XCTAssertEqual(record.body, TextNormalization.nfc(alone.draft.body), path)
                XCTAssertEqual(report.cleaned, alone.cleaned, path)
                imported += 1
            case .success:
                XCTFail("\(path) was not read as a report")
            case .failure:
                XCTAssertTrue(bad.contains(i), "\(path) failed")
            }
        }
        XCTAssertEqual(imported, 592)
        XCTAssertEqual(try store.status().records, 592)
    }

    /// A bundle among report files goes in as a transaction of its own,
    /// between the files before it and those after, whole or not at all;
    /// the reports around it go in as before, and the chunk's outcomes
    /// still come in the files' order. A damaged bundle is refused alone:
    /// the reports on either side of it are kept.
    func testABundleAmongReportsGoesInOnItsOwn() throws {
        let folder = dir.appendingPathComponent("reports-and-bundles")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        func report(_ i: Int) -> Data {
            Data("同仁市防控工作报告(\(i))\n来源:同仁市融媒体中心\n发布时间:2022-11-\(String(format: "%02d", i % 28 + 1))\n\n疫情发生以来,同仁市组织\(100 + i)名党员下沉社区,设立\(i % 17 + 1)个临时党支部。".utf8)
        }
        // A colleague's store, its log as a bundle: 30 reports and a code.
        let colleague = try makeStore("colleague")
        for i in 0..<30 { _ = try colleague.importReport(try ReportFile.parse(report(1000 + i), raw: false, encoding: nil).draft) }
        _ = try colleague.addCode(name: "党员", description: nil, colour: nil, parent: nil)
        let bundle = try colleague.bundle()
        var damaged = bundle
        damaged[damaged.count / 2] ^= 0xFF
        for i in 0..<10 { try report(i).write(to: folder.appendingPathComponent(String(format: "a%02d.txt", i))) }
        try Data(bundle).write(to: folder.appendingPathComponent("b-colleague.bundle"))
        for i in 10..<20 { try report(i).write(to: folder.appendingPathComponent(String(format: "c%02d.txt", i))) }
        try Data(damaged).write(to: folder.appendingPathComponent("d-damaged.bundle"))
        for i in 20..<30 { try report(i).write(to: folder.appendingPathComponent(String(format: "e%02d.txt", i))) }

        let store = try makeStore("mixed")
        let files = try Importer.files([(folder.path, folder.path)], storeDirectory: store.directory) { _ in }
        XCTAssertEqual(files.count, 32)
        var outcomes: [(path: String, outcome: Result<Importer.Imported, any Error>)] = [], started: [Int] = [], chunks = 0
        var inTransaction: [String: Bool] = [:]
        try Importer().run(files, into: store, starting: { n, path in
            started.append(n)
            inTransaction[(path as NSString).lastPathComponent] = store.db.isInTransaction
        }) { outcomes += $0; chunks += 1 }
        // Not a savepoint in the chunk's transaction, whose journal SQLite
        // keeps in memory: `import` of a team's bundle of a million changes
        // peaked at 188 MB that way, against 77 MB for `init --from` it.
        XCTAssertEqual(inTransaction["b-colleague.bundle"], false, "a bundle starts outside the chunk's transaction")
        XCTAssertEqual(inTransaction["d-damaged.bundle"], false)
        XCTAssertEqual(inTransaction["a00.txt"], true, "reports go in inside it")
        XCTAssertEqual(inTransaction["c10.txt"], true)
        XCTAssertEqual(chunks, 1, "one chunk, told once")
        XCTAssertEqual(outcomes.map(\.path), files, "every file once, in order")
        XCTAssertEqual(started, Array(0..<32))
        for (path, outcome) in outcomes {
            let name = (path as NSString).lastPathComponent
            switch (name, outcome) {
            case ("b-colleague.bundle", .success(.bundle(let b))):
                XCTAssertEqual(b.changes, b.applied, "the whole bundle applied")
            case ("d-damaged.bundle", .failure(let error)):
                XCTAssertTrue("\(error)".contains("damaged"), "\(error)")
            case (_, .success(.report)) where name.hasSuffix(".txt"):
                break
            default:
                XCTFail("\(name): \(outcome)")
            }
        }
        XCTAssertEqual(try store.status().records, 60, "30 reports of the folder and 30 of the bundle")
        XCTAssertEqual(try store.codes().map(\.name), ["党员"])
        XCTAssertFalse(store.db.isInTransaction)

        // A bundle applied inside another write is refused, nothing written:
        // its steps would drop the heads that write had moved.
        let other = try makeStore("other")
        XCTAssertThrowsError(try other.write {
            _ = try other.importReport(try ReportFile.parse(report(99), raw: false, encoding: nil).draft)
            _ = try other.importBundle(bundle)
        }) { XCTAssertTrue("\($0)".contains("a write of their own"), "\($0)") }
        XCTAssertEqual(try other.status().records, 0)
        XCTAssertEqual(try other.head(of: other.node.id), 0, "nothing of its own logged")
        XCTAssertEqual(try other.head(of: colleague.node.id), 0, "nothing of the bundle's")
    }
}
