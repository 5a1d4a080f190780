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

    func testPrecisionAndRecallOnTheSamples() throws {
        let store = try makeStore("figures")
        let reports = Paths.repo.appendingPathComponent("Samples/reports")
        let gold = try String(contentsOf: Paths.repo.appendingPathComponent("Tests/MarginCoreTests/Fixtures/figures-gold.tsv"), encoding: .utf8)
            .split(separator: "\n").filter { !$0.hasPrefix("#") }.map { $0.split(separator: "\t").map(String.init) }
        var truePositives = 0, suggested = 0, expected = 0
        var misses: [String] = [], wrong: [String] = []
        for file in Set(gold.map { $0[0] }).sorted() {
            let cleaned = try ReportFile.parse(try Data(contentsOf: reports.appendingPathComponent(file)))
            let id = try store.importReport(cleaned.draft).id
            let body = Array(TextNormalization.nfc(cleaned.draft.body).unicodeScalars)
            // Every gold figure as (start, value).
            var marked: [(Int, String)] = []
            for row in gold where row[0] == file {
                let figure = Array(row[1].unicodeScalars)
                for i in 0...(body.count - figure.count) where body[i..<(i + figure.count)].elementsEqual(figure) {
                    if i > 0, Figures.isDigit(body[i - 1]) || body[i - 1] == "." { continue }
                    marked.append((i, row[2]))
                }
            }
            let found = try store.suggestions(record: id)
            expected += marked.count
            suggested += found.count
            for s in found {
                if marked.contains(where: { $0.0 == s.start && $0.1 == s.value }) { truePositives += 1 } else { wrong.append("\(file): \(s.quote)=\(s.value)") }
            }
            for m in marked where !found.contains(where: { $0.start == m.0 && $0.value == m.1 }) { misses.append("\(file)@\(m.0)=\(m.1)") }
        }
        let precision = Double(truePositives) / Double(max(1, suggested)), recall = Double(truePositives) / Double(max(1, expected))
        print("suggest on Samples/reports: \(expected) figures marked, \(suggested) suggested, \(truePositives) right: precision \(String(format: "%.3f", precision)), recall \(String(format: "%.3f", recall))")
        if !wrong.isEmpty { print("  not figures: \(wrong.joined(separator: "; "))") }
        if !misses.isEmpty { print("  missed: \(misses.joined(separator: "; "))") }
        XCTAssertGreaterThanOrEqual(expected, 30, "the gold list is read")
        XCTAssertGreaterThanOrEqual(precision, 0.9)
        XCTAssertGreaterThanOrEqual(recall, 0.9)
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
