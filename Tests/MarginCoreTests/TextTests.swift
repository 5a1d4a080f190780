@testable import MarginCore
import Foundation
import XCTest

final class TextTests: XCTestCase {
    /// A text's scalars decoded from its UTF-8 in one pass are the standard
    /// library's: scalars of one to four bytes, at every length and place
    /// (the word-at-a-time count that sizes the array has a tail), and the
    /// empty text.
    func testScalarsDecodedFromTheBytesAreTheStandardLibrarys() {
        let alphabet: [Unicode.Scalar] = ["a", "\n", "\u{0}", "\u{7F}", "\u{80}", "é", "\u{7FF}", "\u{800}", "黨", "，", "\u{FFFD}", "\u{FFFF}",
                                          "\u{10000}", "𠀋", "😷", "\u{10FFFF}", "\u{301}"]
        var seed: UInt64 = 0x5ca1a
        func next(_ n: Int) -> Int {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            return Int((seed >> 33) % UInt64(n))
        }
        for length in Array(0...80) + [255, 256, 257, 1000, 4099] {
            for _ in 0..<3 {
                let s = String(String.UnicodeScalarView((0..<length).map { _ in alphabet[next(alphabet.count)] }))
                XCTAssertEqual(ScalarText.scalars(of: s), Array(s.unicodeScalars), "length \(length)")
                XCTAssertEqual(ScalarText(s, boundaries: false).count, s.unicodeScalars.count)
            }
        }
        // A bridged, not native, string is read the same.
        let bridged = NSString(string: "同仁县黨員159名😷") as String
        XCTAssertEqual(ScalarText.scalars(of: bridged), Array(bridged.unicodeScalars))
    }

    /// The quick check passes only text Foundation's NFC leaves as it is:
    /// every scalar of its ranges, alone and after each other one of a
    /// sample, and the forms it must send the long way.
    /// `holds` says what comparing with a slice says, without making one.
    /// `TextNormalization.ranges` (bytes) finds what Foundation's
    /// `range(of:)` finds, searching on after each match, in NFC text of
    /// every width (the cleaner's look for a province before a place used
    /// Foundation's, through NSString and a locale, and it was most of that
    /// look's time).
    func testRangesOfATextFindWhatFoundationFinds() {
        let alphabet = ["黨", "員", "省", "青海", "a", "é", "😷", "\n", " ", "𠀀", "玉树市"]
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<400 {
            let text = (0..<Int.random(in: 0...30, using: &generator)).map { _ in alphabet.randomElement(using: &generator) ?? "" }.joined()
            let needle = (0..<Int.random(in: 1...3, using: &generator)).map { _ in alphabet.randomElement(using: &generator) ?? "" }.joined()
            var expected: [Range<String.Index>] = []
            var from = text.startIndex
            while let r = text.range(of: needle, range: from..<text.endIndex) {
                expected.append(r)
                from = r.upperBound
            }
            XCTAssertEqual(TextNormalization.ranges(of: needle, in: text).map { text[$0] }, expected.map { text[$0] }, "\(needle) in \(text)")
            XCTAssertEqual(TextNormalization.ranges(of: needle, in: text).map { text.utf8.distance(from: text.startIndex, to: $0.lowerBound) },
                           expected.map { text.utf8.distance(from: text.startIndex, to: $0.lowerBound) }, "\(needle) in \(text)")
            // `contains` is the same search, stopped at the first.
            XCTAssertEqual(TextNormalization.contains(text, needle), !expected.isEmpty, "\(needle) in \(text)")
        }
        XCTAssertEqual(TextNormalization.ranges(of: "", in: "黨員").count, 0)
        XCTAssertTrue(TextNormalization.contains("黨員", ""), "the empty text is in every text")
        XCTAssertEqual(TextNormalization.ranges(of: "黨黨", in: "黨黨黨").count, 1, "each match after the one before")
    }

    func testHoldsAgreesWithSlicing() {
        let text = ScalarText("共有159名黨員加入其中,成立16個臨時黨支部。👩‍⚕️e\u{301}")
        let candidates = ["", "共有", "159名黨員", "黨支部。", "部。👩", "e", "e\u{301}", "159名党员", "共有159名黨員加入其中,成立16個臨時黨支部。👩‍⚕️e\u{301}x"]
        for start in 0...text.count {
            for end in start...text.count {
                for c in candidates + [text.slice(start, end)] {
                    XCTAssertEqual(text.holds(c, from: start, to: end), text.slice(start, end) == c && Array(c.unicodeScalars) == Array(text.slice(start, end).unicodeScalars),
                                   "\(start)..\(end) \(c)")
                }
            }
        }
    }

    func testTheNFCQuickCheckPassesOnlyNormalisedText() {
        let ranges: [ClosedRange<UInt32>] = [0x1...0x2FF, 0x2010...0x2027, 0x2030...0x205E, 0x3000...0x3029, 0x3030...0x303F,
                                             0x3400...0x4DBF, 0x4E00...0x9FFF, 0xFF01...0xFFEF]
        var all = String.UnicodeScalarView()
        for r in ranges { for v in r { if let u = Unicode.Scalar(v) { all.append(u) } } }
        let text = String(all)
        XCTAssertTrue(TextNormalization.isSurelyNFC(text))
        XCTAssertTrue(text.unicodeScalars.elementsEqual(text.precomposedStringWithCanonicalMapping.unicodeScalars))
        for u in text.unicodeScalars where u.value % 7 == 0 {
            let pair = "A" + String(u) + "e" + String(u)
            XCTAssertTrue(pair.unicodeScalars.elementsEqual(pair.precomposedStringWithCanonicalMapping.unicodeScalars), "\(u)")
        }
        // Decomposed é, a compatibility ideograph, a kana voicing mark, Hangul jamo.
        for s in ["e\u{301}", "\u{F900}", "\u{304B}\u{3099}", "\u{1100}\u{1161}", "\u{2000}"] {
            XCTAssertFalse(TextNormalization.isSurelyNFC(s), s)
            XCTAssertEqual(Array(TextNormalization.nfc(s).unicodeScalars), Array(s.precomposedStringWithCanonicalMapping.unicodeScalars))
        }
    }

    /// The quote at a span's offsets is the stored quote, whatever the script.
    func checkRoundTrip(_ body: String, quote: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let span = try SpanLocation.locate(.quote(quote, occurrence: nil), in: body)
        let text = ScalarText(TextNormalization.nfc(body))
        XCTAssertEqual(span.quote, TextNormalization.nfc(quote), file: file, line: line)
        XCTAssertEqual(text.slice(span.start, span.end), span.quote, file: file, line: line)
        XCTAssertTrue(span.matches(text), file: file, line: line)
        let again = try Span(in: text, start: span.start, end: span.end)
        XCTAssertEqual(again, span, file: file, line: line)
    }

    /// The rules on stored text look at bytes first: each C0 control is
    /// named at its scalar position, wherever it falls among multi-byte
    /// scalars, and text without one (CJK, Latin, emoji) passes.
    func testEveryControlCharacterIsNamedAtItsScalar() {
        for value in UInt32(0)..<0x20 {
            let control = String(Character(Unicode.Scalar(value)!))
            let text = "159名黨員" + control + "é🙂"
            let line = TextRules.problem(inLine: text)
            XCTAssertNotNil(line, "U+\(value)")
            XCTAssertTrue(line?.contains("at character 7") == true, line ?? "")
            let free = TextRules.problem(inText: text)
            if [0x09, 0x0A, 0x0D].contains(value) {
                XCTAssertNil(free, "U+\(value)")
            } else {
                XCTAssertTrue(free?.contains("at character 7") == true, free ?? "U+\(value)")
            }
        }
        for clean in ["", "16個臨時黨支部", "Qinghai, 2022 🙂", "\u{7F}\u{85}\u{2028}"] {
            XCTAssertNil(TextRules.problem(inLine: clean), clean)
            XCTAssertNil(TextRules.problem(inText: clean + "\r\n\t"), clean)
        }
    }

    func testOffsetsAreUnicodeScalars() throws {
        let body = "𠀋𠀋中文159名黨員"
        let span = try SpanLocation.locate(.quote("159名黨員", occurrence: nil), in: body)
        // 𠀋 (U+2000B) is one scalar, two UTF-16 units, four UTF-8 bytes.
        XCTAssertEqual(span.start, 4)
        XCTAssertEqual(span.end, 10)
    }

    func testQuoteRoundTripsAcrossScripts() throws {
        try checkRoundTrip("前文𠀋𠀌後文,共有159名黨員加入", quote: "159名黨員")
        try checkRoundTrip("志愿者👍🏽👍🏽很多,👨‍👩‍👧家庭", quote: "👨‍👩‍👧")
        try checkRoundTrip("志愿者👍🏽很多", quote: "👍🏽")
        try checkRoundTrip("café au lait, Zoë", quote: "Zoe\u{0308}")   // NFD input finds NFC text
        try checkRoundTrip("第一段\r\n第二段 16個臨時黨支部\r\n", quote: "16個臨時黨支部")
        try checkRoundTrip("前缀𠀋abc", quote: "𠀋")
    }

    func testSpansThatSplitAGraphemeClusterAreRefused() throws {
        let body = "a👍🏽b e\u{0301}x\r\ny"
        let text = ScalarText(body)
        // 👍🏽 is two scalars (offsets 1 and 2); offset 2 is inside it.
        XCTAssertThrowsError(try Span(in: text, start: 1, end: 2))
        XCTAssertNoThrow(try Span(in: text, start: 1, end: 3))
        // e + combining acute: offset of the accent is inside the cluster.
        let e = 5
        XCTAssertThrowsError(try Span(in: text, start: e + 1, end: e + 2))
        // CR LF is one grapheme cluster.
        let cr = Array(text.scalars).firstIndex(of: "\r")!
        XCTAssertThrowsError(try Span(in: text, start: cr + 1, end: cr + 2))
        XCTAssertNoThrow(try Span(in: text, start: cr, end: cr + 2))
        XCTAssertThrowsError(try Span(in: text, start: 0, end: 999))
        XCTAssertThrowsError(try Span(in: text, start: 3, end: 3))
        XCTAssertThrowsError(try Span(in: text, start: -1, end: 2))
    }

    func testQuoteInsideAClusterIsNotFound() {
        // The combining mark alone is not a whole character of "é".
        XCTAssertThrowsError(try SpanLocation.locate(.quote("\u{0301}", occurrence: nil), in: "e\u{0301}"))
        XCTAssertThrowsError(try SpanLocation.locate(.quote("🏽", occurrence: nil), in: "👍🏽"))
    }

    func testContextIsUpTo32Scalars() throws {
        let body = String(repeating: "黨", count: 40) + "159名" + String(repeating: "員", count: 40)
        let span = try SpanLocation.locate(.quote("159名", occurrence: nil), in: body)
        XCTAssertEqual(span.prefix, String(repeating: "黨", count: 32))
        XCTAssertEqual(span.suffix, String(repeating: "員", count: 32))
    }

    func testAmbiguousAndMissingQuotes() throws {
        let body = "黨員幹部,黨員群眾,黨員"
        XCTAssertThrowsError(try SpanLocation.locate(.quote("黨員", occurrence: nil), in: body)) { error in
            guard case MarginError.ambiguous(let m) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(m.contains("3 times"), m)
            XCTAssertTrue(m.contains("1: 0..2"), m)
        }
        let second = try SpanLocation.locate(.quote("黨員", occurrence: 2), in: body)
        XCTAssertEqual(second.start, 5)
        XCTAssertThrowsError(try SpanLocation.locate(.quote("黨員", occurrence: 4), in: body))
        XCTAssertThrowsError(try SpanLocation.locate(.quote("不存在", occurrence: nil), in: body)) { error in
            guard case MarginError.notFound = error else { return XCTFail("\(error)") }
        }
        // Simplified input finds Traditional text, and the stored quote is the body's.
        let folded = try SpanLocation.locate(.quote("党员干部", occurrence: nil), in: body)
        XCTAssertEqual(folded.quote, "黨員幹部")
    }

    func testFoldingIsLengthPreservingAndSymmetric() {
        let trad = "黨支部築牢瀘縣ＡＢＣ"
        let folded = ScriptFolding.fold(trad)
        XCTAssertEqual(folded, "党支部筑牢泸县abc")
        XCTAssertEqual(folded.unicodeScalars.count, trad.unicodeScalars.count)
        XCTAssertEqual(ScriptFolding.fold("党支部"), ScriptFolding.fold("黨支部"))
    }

    /// The table folding uses is ICU's `Hant-Hans`, asked one character at
    /// a time, for every Han character (as folding asked it before the
    /// table was held in the binary). When this toolchain's ICU answers
    /// otherwise, the table it gives is written out to replace
    /// `HanFolding.pairs`.
    func testTheHanTableIsICUsHantHansForEveryHanCharacter() throws {
        var pairs: [String] = []
        var differing: [String] = []
        for range: ClosedRange<UInt32> in [0x3400...0x9FFF, 0xF900...0xFAFF, 0x20000...0x3FFFF] {
            for v in range {
                guard let scalar = Unicode.Scalar(v) else { continue }
                var icu = scalar
                if let t = String(scalar).applyingTransform(StringTransform("Hant-Hans"), reverse: false),
                   t.unicodeScalars.count == 1, let only = t.unicodeScalars.first {
                    icu = only
                }
                if icu != scalar { pairs.append(String(scalar) + String(icu)) }
                if ScriptFolding.fold(scalar) != icu {
                    differing.append(String(format: "U+%04X", v))
                }
            }
        }
        XCTAssertGreaterThan(pairs.count, 3000, "ICU's Hant-Hans is missing from this toolchain")
        if !differing.isEmpty {
            let out = FileManager.default.temporaryDirectory.appendingPathComponent("HanFolding.pairs.txt")
            try pairs.joined(separator: " ").write(to: out, atomically: true, encoding: .utf8)
            XCTFail("folding differs from ICU's Hant-Hans at \(differing.count) characters (first \(differing.prefix(5).joined(separator: ", "))); ICU's table is in \(out.path)")
        }
    }

    /// Lines split at each line feed scalar, whatever follows it: a
    /// combining mark after a line break starts the next line.
    func testLinesSplitAtEachLineFeed() {
        XCTAssertEqual(TextNormalization.lines("a\n\nb\n").map(String.init), ["a", "", "b", ""])
        XCTAssertEqual(TextNormalization.lines("").map(String.init), [""])
        XCTAssertEqual(TextNormalization.lines("黨員\n\u{301}x").map(String.init), ["黨員", "\u{301}x"])
        XCTAssertEqual(TextNormalization.lines("𠀀\n").map(String.init), ["𠀀", ""])
    }

    /// Lines damaged by an earlier conversion are named, each once, by
    /// the first sign found in it.
    func testGarbledLinesAreNamedByTheFirstSign() {
        let text = "干净的一行\n党?员\n\u{E000}?\u{FFFD}\n?党员?\nab?cd\n末行\u{FFFD}"
        XCTAssertEqual(ReportFile.garbledLines(text).map { String($0.prefix(while: { $0 != ":" })) }, [
            "line 2 looks garbled by a conversion ('?' inside a word)",
            "line 3 looks garbled by a conversion (a private-use character U+E000)",
            "line 6 looks garbled by a conversion (the replacement character U+FFFD)",
        ])
    }

    func testStrictUTF8() {
        XCTAssertEqual(TextNormalization.decodeUTF8(Data("黨員".utf8)), "黨員")
        XCTAssertNil(TextNormalization.decodeUTF8(Data([0x41, 0xff, 0x42])))
        XCTAssertNil(TextNormalization.decodeUTF8(Data([0xe9, 0xbb])))
        XCTAssertNil(TextNormalization.decodeUTF8(Data([0xc0, 0x80])), "an overlong NUL")
        XCTAssertNil(TextNormalization.decodeUTF8(Data([0xed, 0xa0, 0x80])), "a surrogate")
        XCTAssertNil(TextNormalization.decodeUTF8(Data([0xf4, 0x90, 0x80, 0x80])), "past U+10FFFF")
        XCTAssertEqual(TextNormalization.decodeUTF8(Data([0xef, 0xbb, 0xbf] + Array("黨".utf8))), "黨", "the BOM is dropped")
        XCTAssertEqual(TextNormalization.decodeUTF8(Data()), "")
        XCTAssertTrue(TextNormalization.looksBinary(Data([0x7f, 0x45, 0x4c, 0x46, 0, 0, 1])))
        XCTAssertFalse(TextNormalization.looksBinary(Data("plain\ttext\r\n".utf8)))
    }

    /// Byte equality, not `==`: a precomposed and a decomposed é are equal
    /// strings but not the same bytes, and a cached body or a stored quote
    /// must be the same bytes.
    func testSameBytesIsByteEqualityNotCanonicalEquivalence() {
        let precomposed = "caf\u{E9} 159名黨員", decomposed = "cafe\u{301} 159名黨員"
        XCTAssertEqual(precomposed, decomposed)
        XCTAssertFalse(precomposed.hasSameBytes(as: decomposed))
        XCTAssertTrue(precomposed.hasSameBytes(as: String(decoding: Array(precomposed.utf8), as: UTF8.self)))
        XCTAssertTrue("".hasSameBytes(as: ""))
        XCTAssertFalse("黨".hasSameBytes(as: ""))
        XCTAssertFalse("共有159名黨員".hasSameBytes(as: "共有159名黨"))
        XCTAssertFalse("共有159名黨員".hasSameBytes(as: "共有158名黨員"))
        let long = String(repeating: "成立16個臨時黨支部。", count: 400)
        XCTAssertTrue(long.hasSameBytes(as: String(long.unicodeScalars)))
        XCTAssertFalse(long.hasSameBytes(as: String(long.dropLast()) + "."))
    }

    /// A slice is the scalars between its offsets, whatever their width in
    /// UTF-8 (one to four bytes), at every pair of offsets.
    func testSliceOfScalarsOfEveryWidth() {
        let text = ScalarText("a\u{E9}黨\u{20000}b e\u{301}\u{1F600}")
        let scalars = Array(text.string.unicodeScalars)
        for start in 0...scalars.count {
            for end in start...scalars.count {
                var expected = String.UnicodeScalarView()
                expected.append(contentsOf: scalars[start..<end])
                XCTAssertTrue(text.slice(start, end).hasSameBytes(as: String(expected)), "\(start)..<\(end)")
            }
        }
        XCTAssertEqual(text.slice(-3, 99), text.string)
        XCTAssertEqual(text.slice(5, 2), "")
    }
}
