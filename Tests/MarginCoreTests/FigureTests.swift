import Foundation
@testable import MarginCore
import XCTest

/// Counted figures: the numerals, and precision and recall of `suggest`
/// on the sample reports against a list marked by hand.
final class FigureTests: StoreTestCase {
    func testNumeralsInBothScripts() {
        XCTAssertEqual(Figures.chineseNumber(Array("三十七".unicodeScalars)), 37)
        XCTAssertEqual(Figures.chineseNumber(Array("两千三百".unicodeScalars)), 2300)
        XCTAssertEqual(Figures.chineseNumber(Array("兩千零五".unicodeScalars)), 2005)
        XCTAssertEqual(Figures.chineseNumber(Array("一万二千".unicodeScalars)), 12000)
        XCTAssertEqual(Figures.chineseNumber(Array("十二".unicodeScalars)), 12)
        XCTAssertNil(Figures.chineseNumber(Array("三四".unicodeScalars)))
        func values(_ s: String) -> [String] { Figures.find(in: Array(s.unicodeScalars)).map(\.value) }
        XCTAssertEqual(values("成立三十七個臨時黨支部"), ["37"])
        XCTAssertEqual(values("累计服务1.2萬人次,两千三百名志愿者"), ["12000", "2300"])
        XCTAssertEqual(values("共1,500人参加,一万二千户"), ["1500", "12000"])
        XCTAssertEqual(values("24小时值守,第3个卡点"), ["24"], "an ordinal is not a count")
        XCTAssertEqual(values("2022年11月7日,海拔四千米,零下二十度"), [], "dates and measures")
        XCTAssertEqual(values("连着千家万户。一位网格员说"), [], "idiom and article")
    }

    /// Issue 26's four faults, each on a sentence written for the test.
    func testNamesApproximationsWholeWordsAndDurations() throws {
        func figures(_ s: String) -> [Figures.Figure] { Figures.find(in: Array(s.unicodeScalars)) }
        XCTAssertEqual(figures("十家堡镇党委书记到十家堡村检查"), [], "a numeral inside a place name is not a figure")
        XCTAssertEqual(figures("全镇十家企业复工").map(\.value), ["10"], "outside a name, 十家 is ten firms")
        let nearly = try XCTUnwrap(figures("组织近万名共产党员投入防控").first)
        XCTAssertEqual([nearly.start, nearly.end], [2, 5])
        XCTAssertEqual(nearly.value, "10000")
        XCTAssertEqual(nearly.qualifier, "nearly")
        XCTAssertEqual(figures("排查约1200人,登记300多辆,逾5000人次").map { $0.qualifier ?? "-" }, ["about", "over", "over"])
        XCTAssertEqual(figures("在会上20名党员发言").first?.qualifier, nil, "上 is 'over' only before a unit alone")
        XCTAssertEqual(figures("连续值守24小时,入党36個年頭,坚守8小时").map(\.kind), [.duration, .duration, .duration])
        XCTAssertEqual(figures("3个月内组建12个小组").map(\.kind), [.duration, .count])

        let store = try makeStore("words")
        let code = try store.addCode(name: "volunteers", description: nil, colour: nil, parent: nil, triggers: "志愿")
        let (id, _) = try store.importReport(ReportDraft(body: "村党支部书记带领40名志愿者连续值守卡口。", title: "t"))
        let s = try XCTUnwrap(store.suggestions(record: id).first)
        XCTAssertEqual(s.quote, "40名志愿者", "a quote never ends inside the word the counted noun starts")
        XCTAssertEqual(s.code, code)
        let (other, _) = try store.importReport(ReportDraft(body: "组织近万名共产党员,值守24小时。", title: "u"))
        XCTAssertEqual(try store.suggestions(record: other).map(\.quote), ["近万名"], "durations are not proposed as counts")
        let both = try store.suggestions(record: other, durations: true)
        XCTAssertEqual(both.map(\.note), ["approximate: nearly", "duration"])
    }

    /// Precision and recall of `suggest` on Samples/reports and Samples/pages against
    /// Samples/figures-gold.tsv, marked by hand: counted figures (value,
    /// start and qualifier), and durations found as durations.
    func testPrecisionAndRecallOnTheSamples() throws {
        let store = try makeStore("figures")
        let reports = Paths.samples
        let gold = try String(contentsOf: Paths.samples.appendingPathComponent("figures-gold.tsv"), encoding: .utf8)
            .split(separator: "\n").filter { !$0.hasPrefix("#") }.map { $0.split(separator: "\t").map(String.init) }
        var truePositives = 0, suggested = 0, expected = 0, durationsFound = 0, durationsMarked = 0
        var misses: [String] = [], wrong: [String] = []
        for file in Set(gold.map { $0[0] }).sorted() {
            let cleaned = try ReportFile.parse(try Data(contentsOf: reports.appendingPathComponent(file)))
            let id = try store.importReport(cleaned.draft).id
            let body = Array(TextNormalization.nfc(try XCTUnwrap(store.record(id)).body).unicodeScalars)
            // Every gold figure as (start, value, kind, qualifier).
            var marked: [(start: Int, value: String, kind: String, qualifier: String?)] = []
            for row in gold where row[0] == file {
                let figure = Array(row[1].unicodeScalars)
                for i in 0...(body.count - figure.count) where body[i..<(i + figure.count)].elementsEqual(figure) {
                    if i > 0, Figures.isDigit(body[i - 1]) || body[i - 1] == "." { continue }
                    marked.append((i, row[2], row[3], row.count > 4 ? row[4] : nil))
                }
            }
            XCTAssertGreaterThanOrEqual(marked.count, gold.filter { $0[0] == file }.count, "\(file): every gold figure is in the body")
            let found = try store.suggestions(record: id, durations: true)
            let counts = marked.filter { $0.kind == "count" }
            expected += counts.count
            durationsMarked += marked.count - counts.count
            for s in found where s.kind == .duration {
                if marked.contains(where: { $0.start == s.start && $0.value == s.value && $0.kind == "duration" }) { durationsFound += 1 }
                else { wrong.append("\(file): duration \(s.quote)=\(s.value)") }
            }
            for s in found where s.kind == .count {
                suggested += 1
                if counts.contains(where: { $0.start == s.start && $0.value == s.value && $0.qualifier == s.qualifier }) { truePositives += 1 }
                else { wrong.append("\(file): \(s.quote)=\(s.value) \(s.qualifier ?? "")") }
            }
            for m in counts where !found.contains(where: { $0.start == m.start && $0.value == m.value && $0.kind == .count }) {
                misses.append("\(file)@\(m.start)=\(m.value)")
            }
        }
        let precision = Double(truePositives) / Double(max(1, suggested)), recall = Double(truePositives) / Double(max(1, expected))
        let report = "\(expected) counted figures marked, \(suggested) suggested, \(truePositives) right: precision \(String(format: "%.3f", precision)), recall \(String(format: "%.3f", recall)); not figures: \(wrong); missed: \(misses)"
        XCTAssertGreaterThanOrEqual(expected, 50, "the gold list is read")
        XCTAssertGreaterThanOrEqual(precision, 0.95, report)
        XCTAssertGreaterThanOrEqual(recall, 0.95, report)
        XCTAssertGreaterThanOrEqual(durationsMarked, 6)
        XCTAssertEqual(durationsFound, durationsMarked, report)
    }

    func testSuggestionsAreStoredReviewedAndNotProposedTwice() throws {
        let store = try makeStore("s")
        let code = try store.addCode(name: "party-members", description: nil, colour: nil, parent: nil, triggers: "党员, 黨員")
        let rid = try store.importReport(ReportDraft(body: "曲麻萊縣成立16個臨時黨支部,共有159名黨員參加,抽調354名幹部。", title: "t")).id
        let found = try store.suggestions(record: rid)
        XCTAssertEqual(found.map(\.value), ["16", "159", "354"])
        XCTAssertEqual(found[1].code, code)
        XCTAssertEqual(found[1].quote, "159名黨員", "the span runs over the trigger word that follows")
        XCTAssertNil(found[0].code)
        let ids = try store.storeSuggestions(found)
        XCTAssertTrue(try ids.allSatisfy { try store.annotation($0)?.status == .suggested })
        try store.delete(annotation: ids[0])   // rejected
        XCTAssertEqual(try store.suggestions(record: rid).count, 0, "neither stored nor rejected ones come back")
        let other = try makeStore("o")
        try exchange(store, other)
        XCTAssertEqual(try other.annotations().filter { $0.status == .suggested }.count, 2, "suggestions sync")
    }
}
