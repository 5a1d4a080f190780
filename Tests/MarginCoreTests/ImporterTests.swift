import Foundation
@testable import MarginCore
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
            return gloss.stringByReplacingMatches(in: s, range: NSRange(s.startIndex..., in: s), withTemplate: "")
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
        XCTAssertEqual(r.draft.published, "2022-09-23 14:54")
        XCTAssertEqual(r.draft.source, "人民網-四川頻道")
        XCTAssertEqual(r.draft.editor, "羅昱、高紅霞")
        XCTAssertEqual(r.draft.author, "溫明霞")
        XCTAssertTrue(r.draft.body.contains("(溫明霞)"), "a parenthesised CJK name is text")
        XCTAssertTrue(r.draft.body.contains("瀘縣直屬機關各基層黨組織積極響應疫情防控部署要求"))
    }

    func testSamples() throws {
        let dir = Paths.samples.appendingPathComponent("reports")
        let files = try FileManager.default.contentsOfDirectory(at: dir, includingPropertiesForKeys: nil).filter { $0.pathExtension == "txt" }
        XCTAssertGreaterThanOrEqual(files.count, 4)
        var byName: [String: ReportCleaner.Result] = [:]
        for url in files {
            let raw = try read(url)
            let r = ReportCleaner.clean(raw)
            checkCommon(raw, r)
            byName[url.lastPathComponent] = r
        }
        let glossed = try XCTUnwrap(byName["02-luxian-volunteers.txt"])
        XCTAssertEqual(glossed.draft.title, "志愿服務暖人心 瀘縣黨員下沉社區戰疫情")
        XCTAssertEqual(glossed.draft.published, "2022-11-07 17:00")
        XCTAssertEqual(glossed.draft.source, "人民網-四川頻道")
        XCTAssertEqual(glossed.draft.editor, "陳曉、周婷")
        XCTAssertEqual(glossed.draft.author, "李明芳")
        XCTAssertEqual(glossed.draft.body.components(separatedBy: "社區志愿者為居民配送物資。瀘縣供圖").count, 2, "an echoed caption is kept once")
        let gov = try XCTUnwrap(byName["03-tongren-grid.txt"])
        XCTAssertEqual(gov.draft.published, "2022-11-07 17:00:37")
        XCTAssertEqual(gov.draft.source, "同仁县融媒体中心")
        XCTAssertEqual(gov.draft.editor, "海燕")
        XCTAssertEqual(gov.draft.place, "同仁县")
        let crlf = try XCTUnwrap(byName["04-jianzha-property.txt"])
        XCTAssertEqual(crlf.draft.title, "尖扎县:“红色物业”助力小区防疫")
        XCTAssertEqual(crlf.draft.author, "卓玛")
        XCTAssertEqual(crlf.draft.published, "2021-08-03 09:30")
        XCTAssertFalse(crlf.draft.body.contains("\r"))
        XCTAssertFalse(crlf.draft.body.contains("版权所有"))
        let trad = try XCTUnwrap(byName["01-maduo-checkpoints.txt"])
        XCTAssertEqual(trad.draft.place, "瑪多縣")
        XCTAssertFalse(trad.draft.body.contains("推進會"), "related-article titles after the footer go")
    }

    func testDates() {
        XCTAssertEqual(ReportCleaner.normalizedDate("2022年09月23日14:54"), "2022-09-23 14:54")
        XCTAssertEqual(ReportCleaner.normalizedDate("2022-11-07 17:00:37"), "2022-11-07 17:00:37")
        XCTAssertEqual(ReportCleaner.normalizedDate("2020-02-26"), "2020-02-26")
        XCTAssertEqual(ReportCleaner.normalizedDate("2021年8月3日"), "2021-08-03")
        XCTAssertEqual(ReportCleaner.normalizedDate("2021/8/3 9:05"), "2021-08-03 09:05")
        XCTAssertNil(ReportCleaner.normalizedDate("2021-13-03"))
        XCTAssertNil(ReportCleaner.normalizedDate("共有159名黨員"))
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
}
