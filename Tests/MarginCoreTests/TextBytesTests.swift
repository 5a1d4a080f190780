import Foundation
import XCTest
@testable import MarginCore

/// The text helpers the importer runs on every report work on UTF-8 bytes
/// in place; each must answer as the scalar-by-scalar rule it replaced,
/// which these tests keep as the reference.
final class TextBytesTests: XCTestCase {
    /// Units mixing one-, two-, three- and four-byte scalars, CR and LF,
    /// combining marks and scalars either side of the NFC quick check's
    /// ranges.
    static let units = ["a", "Z", " ", "\r", "\n", "\r\n", "\n\r", "é", "e\u{301}", "\u{2FF}", "\u{300}", "黨", "党", "員",
                        "。", "\u{2010}", "\u{2027}", "\u{2028}", "\u{205E}", "\u{205F}", "\u{3000}", "\u{3029}", "\u{302A}",
                        "\u{3400}", "\u{4DBF}", "\u{4DC0}", "\u{9FFF}", "\u{A000}", "\u{F900}", "\u{FF01}", "\u{FFEF}", "\u{FFF0}",
                        "𠀀", "👩‍⚕️", "\u{304B}\u{3099}", "\u{1100}\u{1161}", "159", "名"]

    static func randomTexts(_ count: Int, maxUnits: Int = 60) -> [String] {
        var generator = SystemRandomNumberGenerator()
        var texts = units + ["", "\r", "\r\r\n\n", String(repeating: "黨員\r\n", count: 40)]
        for _ in 0..<count {
            var s = ""
            for _ in 0..<Int.random(in: 0...maxUnits, using: &generator) { s += units.randomElement(using: &generator) ?? "" }
            texts.append(s)
        }
        return texts
    }

    func testUnixNewlinesRewritesAsTheScalarRuleDoes() {
        let reference = TextNormalization.unixNewlinesByScalars
        for text in TextBytesTests.randomTexts(3000) {
            let got = TextNormalization.unixNewlines(text)
            XCTAssertEqual(Array(got.unicodeScalars), Array(reference(text).unicodeScalars), text.debugDescription)
            XCTAssertFalse(got.utf8.contains(13))
        }
        XCTAssertEqual(TextNormalization.unixNewlines("a\r\r\nb\rc\n\rd\r"), "a\n\nb\nc\n\nd\n")
    }

    func testLinesSplitAtEachLineFeedAsTheScalarsDo() {
        for text in TextBytesTests.randomTexts(3000) {
            let got = TextNormalization.lines(text).map { Array($0.unicodeScalars) }
            let reference = text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false).map { Array($0) }
            XCTAssertEqual(got, reference, text.debugDescription)
        }
        XCTAssertEqual(TextNormalization.lines(""), [""])
        XCTAssertEqual(TextNormalization.lines("\n黨\n"), ["", "黨", ""])
    }

    func testTheNFCQuickCheckOnBytesAgreesWithItsRuleOnScalars() {
        func reference(_ s: String) -> Bool {
            s.unicodeScalars.allSatisfy { u in
                switch u.value {
                case 0..<0x300, 0x2010...0x2027, 0x2030...0x205E, 0x3000...0x3029, 0x3030...0x303F,
                     0x3400...0x4DBF, 0x4E00...0x9FFF, 0xFF01...0xFFEF: return true
                default: return false
                }
            }
        }
        var passed = 0
        for text in TextBytesTests.randomTexts(3000, maxUnits: 6) {
            XCTAssertEqual(TextNormalization.isSurelyNFC(text), reference(text), text.debugDescription)
            if reference(text) { passed += 1 }
        }
        // Every two- and three-byte scalar, alone and after CJK text.
        for v in UInt32(0x80)...0xFFFF {
            guard let u = Unicode.Scalar(v) else { continue }
            let s = "黨員" + String(u)
            XCTAssertEqual(TextNormalization.isSurelyNFC(s), reference(s), String(v, radix: 16))
        }
        XCTAssertGreaterThan(passed, 100, "the random texts should include some the check passes")
    }

    func testByteRangesAreTheRangesAScalarSearchFinds() {
        let needles = ["黨員", "員", "\r\n", "e\u{301}", "159名", "a", "黨員黨", "𠀀", "\u{3000}黨"]
        for text in TextBytesTests.randomTexts(1500) {
            for needle in needles {
                let got = TextNormalization.ranges(of: needle, in: text).map { text.utf8.distance(from: text.startIndex, to: $0.lowerBound) }
                // The reference: byte offsets of non-overlapping occurrences, left to right.
                let hay = Array(text.utf8), n = Array(needle.utf8)
                var expected: [Int] = [], i = 0
                while i + n.count <= hay.count {
                    if Array(hay[i..<(i + n.count)]) == n { expected.append(i); i += n.count } else { i += 1 }
                }
                XCTAssertEqual(got, expected, "\(needle.debugDescription) in \(text.debugDescription)")
                XCTAssertEqual(TextNormalization.contains(text, needle), !expected.isEmpty)
                for r in TextNormalization.ranges(of: needle, in: text) { XCTAssertEqual(String(text[r]), needle) }
            }
        }
        XCTAssertTrue(TextNormalization.contains("共有159名黨員", ""))
        XCTAssertTrue(TextNormalization.ranges(of: "", in: "黨員").isEmpty)
    }

    /// The title's choice asks the text which of the header lines' pairs it
    /// holds: the answer is the pairs the whole text's set would have given.
    func testSharedPairsAreThoseTheWholeTextsPairsShare() {
        let units = ["黨", "党", "員", "员", "支", "部", "縣", "县", "防", "控", "。", "a", " ", "159"]
        var generator = SystemRandomNumberGenerator()
        func random(_ n: Int) -> String { (0..<n).map { _ in units.randomElement(using: &generator) ?? "" }.joined() }
        for _ in 0..<400 {
            let header = (0..<Int.random(in: 0...4, using: &generator)).map { _ in random(Int.random(in: 0...12, using: &generator)) }
            let text = (0..<Int.random(in: 0...6, using: &generator)).map { _ in random(Int.random(in: 0...80, using: &generator)) }
            let wanted = header.reduce(into: Set<UInt64>()) { $0.formUnion(ReportCleaner.bigrams($1)) }
            let expected = wanted.intersection(ReportCleaner.bigrams(text.joined(separator: "\n")))
            XCTAssertEqual(ReportCleaner.sharedBigrams(wanted, in: text), expected, "\(header) \(text)")
        }
        // Traditional pairs fold to the Simplified ones they share.
        XCTAssertEqual(ReportCleaner.sharedBigrams(ReportCleaner.bigrams("党员"), in: ["共有159名黨員"]), ReportCleaner.bigrams("党员"))
        XCTAssertEqual(ReportCleaner.sharedBigrams(ReportCleaner.bigrams("党员"), in: ["黨\n員"]), [])
    }

    /// The expressions anchored at a closing parenthesis are run only on
    /// paragraphs that end with one: every paragraph they match passes that
    /// check, whatever white space follows.
    func testEveryParagraphTheClosingExpressionsMatchEndsWithAParenthesis() {
        let bodies = ["……100余輛次。(溫明霞)", "全县共有159名黨員。（平泉市委组织部 张丽 供稿）", "(供稿:县委组织部,原标题:《抗疫》)",
                      "成立16個臨時黨支部 (陈大文、李小明)", "（作者：王五）", "无括号的段落。", "(张三", "张三)", "（温明霞）"]
        let tails = ["", " ", "\u{3000}", "\n", "\r\n", "\u{85}", "\u{2028}", "\t \n", "。", "x"]
        var matched = 0
        for body in bodies {
            for tail in tails {
                let p = body + tail
                for re in [ReportMetadata.trailingSupplier, ReportMetadata.closingNotePattern, ReportMetadata.byline] where !PageLines.matches(re, p).isEmpty {
                    matched += 1
                    XCTAssertTrue(PageLines.endsWithClosingParenthesis(p), p.debugDescription)
                }
            }
        }
        XCTAssertGreaterThan(matched, 10)
        XCTAssertFalse(PageLines.endsWithClosingParenthesis("(张三"))
        XCTAssertFalse(PageLines.endsWithClosingParenthesis(" \n"))
        XCTAssertTrue(PageLines.endsWithClosingParenthesis("（温明霞）\u{3000}\n"))
        XCTAssertEqual(ReportMetadata.trailingByline(["……100余輛次。(溫明霞)"]), "溫明霞")
        XCTAssertEqual(ReportMetadata.closingNote("全县共有159名黨員。（平泉市委组织部 张丽 供稿）")?.0, "全县共有159名黨員。")
    }

    /// A text skipped by the gloss check is one the full scan leaves as it is.
    func testTheGlossCheckSkipsOnlyTextsWithoutGlosses() {
        let units = ["網", "黨", "(", "（", ")", "）", "wǎng", "de", "ḿ", "ü", "lüe", "Wang", "溫明霞", " ", "a", "。", "ńg", "xiàn"]
        var generator = SystemRandomNumberGenerator()
        var stripped = 0
        for _ in 0..<4000 {
            let text = (0..<Int.random(in: 0...14, using: &generator)).map { _ in units.randomElement(using: &generator) ?? "" }.joined()
            let full = PinyinGlosses.stripScanning(text)
            let (out, count) = PinyinGlosses.strip(text)
            XCTAssertEqual(out, full.0, text)
            XCTAssertEqual(count, full.1, text)
            if full.1 > 0 { stripped += 1; XCTAssertTrue(PinyinGlosses.mayHoldGloss(text), text) }
        }
        XCTAssertGreaterThan(stripped, 10)
        XCTAssertEqual(PinyinGlosses.strip("人民網（wǎng）報道").0, "人民網報道")
        XCTAssertEqual(PinyinGlosses.strip("人民網(ḿ)").1, 1)
        XCTAssertFalse(PinyinGlosses.mayHoldGloss("(溫明霞)（供稿）(A)"))
    }

    /// The control-character test passes over words without a byte below
    /// 0x20; it finds every control a byte-by-byte look finds, wherever in
    /// a word (or the tail after the last word) it falls.
    func testControlBytesAreFoundWhereverTheyFall() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<200_000 {
            let w: UInt64 = generator.next() & (generator.next() | 0x7F7F_7F7F_7F7F_7F7F)
            let below = (0..<8).contains { (w >> (8 * UInt64($0))) & 0xFF < 0x20 }
            XCTAssertEqual(TextRules.hasLess(w, than: 0x20), below, String(w, radix: 16))
        }
        for b in UInt64(0)...255 {
            for at in 0..<8 {
                let w = 0x4141_4141_4141_4141 & ~(0xFF << (8 * UInt64(at))) | b << (8 * UInt64(at))
                XCTAssertEqual(TextRules.hasLess(w, than: 0x20), b < 0x20)
            }
        }
        let units = ["黨", "a", "\n", "\t", "\r", "\u{0}", "\u{1}", "\u{1F}", " ", "é", "𠀀", "\u{7F}"]
        for _ in 0..<5000 {
            let text = (0..<Int.random(in: 0...40, using: &generator)).map { _ in units.randomElement(using: &generator) ?? "" }.joined()
            let bytes = Array(text.utf8)
            XCTAssertEqual(TextRules.hasControlByte(text, allowingLineBreaks: true),
                           bytes.contains { $0 < 0x20 && $0 != 0x09 && $0 != 0x0A && $0 != 0x0D }, text.debugDescription)
            XCTAssertEqual(TextRules.hasControlByte(text, allowingLineBreaks: false), bytes.contains { $0 < 0x20 }, text.debugDescription)
        }
        XCTAssertEqual(TextRules.problem(inText: "共有159名黨員\n成立16個臨時黨支部\u{1}"), "contains the control character U+0001 (at character 20)")
    }
}
