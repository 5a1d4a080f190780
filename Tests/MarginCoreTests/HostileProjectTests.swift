import Foundation
@testable import MarginCore
import XCTest

/// Issue 23: REFI-QDA projects and zip archives that crashed an import, cost
/// gigabytes, or put spans on the wrong characters.
final class HostileProjectTests: StoreTestCase {
    func project(text: String, selections: [(String, String)], qde: [UInt8]? = nil) throws -> [UInt8] {
        let body = selections.map { start, end in
            """
            <PlainTextSelection guid="s-\(start)-\(end)" startPosition="\(start)" endPosition="\(end)"><Coding guid="c-\(start)"><CodeRef targetGUID="code-1"/></Coding></PlainTextSelection>
            """
        }.joined()
        let xml = """
            <?xml version="1.0" encoding="utf-8"?>
            <Project name="p" xmlns="urn:QDA-XML:project:1.0"><CodeBook><Codes><Code guid="code-1" name="party-members" isCodable="true"/></Codes></CodeBook>
            <Sources><TextSource guid="t-1" name="report"><PlainTextContent>\(XML.escape(text))</PlainTextContent>\(body)</TextSource></Sources></Project>
            """
        return try Zip.archive([Zip.Entry(name: "project.qde", data: qde ?? Array(xml.utf8))])
    }

    /// 50,000 nested elements in 350 KB crashed the import (SIGSEGV).
    func testDeeplyNestedXMLIsRefusedNotACrash() throws {
        let s = try makeStore("s")
        let deep = "<Project>" + String(repeating: "<a>", count: 50_000) + String(repeating: "</a>", count: 50_000) + "</Project>"
        XCTAssertThrowsError(try s.importREFIProject(project(text: "x", selections: [], qde: Array(deep.utf8)))) { error in
            XCTAssertTrue(MarginError.message(for: error).contains("nest deeper than 256"), "\(error)")
        }
        XCTAssertTrue(try s.records().isEmpty)
    }

    /// Central-directory entries that all point at one stored entry: a 2 MB
    /// archive read as gigabytes.
    func testZipEntriesThatShareBytesAreRefused() throws {
        let one = try Zip.archive([Zip.Entry(name: "a.txt", data: Array(repeating: 0x41, count: 1000))])
        // The same central entry three times, all at offset 0.
        guard let cd = (0..<one.count - 3).first(where: { one[$0] == 0x50 && one[$0 + 1] == 0x4B && one[$0 + 2] == 0x01 && one[$0 + 3] == 0x02 }),
              let eocd = (0..<one.count - 3).last(where: { one[$0] == 0x50 && one[$0 + 1] == 0x4B && one[$0 + 2] == 0x05 && one[$0 + 3] == 0x06 }) else {
            return XCTFail("no central directory")
        }
        let entry = Array(one[cd..<eocd])
        var bomb = Array(one[..<cd]) + entry + entry + entry
        var end = Array(one[eocd...])
        end[8] = 3; end[10] = 3
        let size = UInt32(entry.count * 3)
        for i in 0..<4 { end[12 + i] = UInt8((size >> (8 * UInt32(i))) & 0xFF) }
        bomb += end
        XCTAssertThrowsError(try Zip.entries(bomb)) { error in
            XCTAssertTrue(MarginError.message(for: error).contains("overlap"), "\(error)")
        }
        XCTAssertEqual(try Zip.entries(one).count, 1)
    }

    /// Offsets count the text as the project gives it: in decomposed (NFD)
    /// text, `159名黨員` was stored as `名黨員參加防`.
    func testSelectionsInDecomposedTextLandOnTheSameCharacters() throws {
        let s = try makeStore("s")
        let text = "Cafe\u{301} 報告:共有159名黨員參加防疫。"
        let scalars = Array(text.unicodeScalars)
        let start = scalars.firstIndex(of: "1")!, end = start + "159名黨員".unicodeScalars.count
        let r = try s.importREFIProject(project(text: text, selections: [("\(start)", "\(end)")]))
        XCTAssertEqual(r.annotations, 1)
        XCTAssertEqual(try s.annotations().first?.span?.quote, "159名黨員")
    }

    func testUnreadableOffsetsAndInvalidUTF8AreRefusedAloud() throws {
        let s = try makeStore("s")
        XCTAssertThrowsError(try s.importREFIProject(project(text: "共有159名黨員。", selections: [("2", "x")]))) { error in
            XCTAssertTrue(MarginError.message(for: error).contains("must be whole numbers"), "\(error)")
        }
        XCTAssertThrowsError(try s.importREFIProject(project(text: "共有159名黨員。", selections: [("2", "99")]))) { error in
            XCTAssertTrue(MarginError.message(for: error).contains("is not within the text"), "\(error)")
        }
        var bad = Array("<Project><Sources><TextSource name=\"r\"><PlainTextContent>ab".utf8) + [0xff, 0xfe] + Array("</PlainTextContent></TextSource></Sources></Project>".utf8)
        XCTAssertThrowsError(try s.importREFIProject(project(text: "", selections: [], qde: bad))) { error in
            XCTAssertTrue(MarginError.message(for: error).contains("not valid UTF-8"), "\(error)")
        }
        bad.removeAll()
        XCTAssertTrue(try s.records().isEmpty)
    }
}

/// Issue 23, the places a second implementation had to guess: each rule as
/// PROTOCOL.md now states it.
final class StatedRuleTests: StoreTestCase {
    /// A code name's length is counted in Unicode scalars, as every other
    /// length in the protocol; colours are ASCII only.
    func testCodeNamesCountScalarsAndColoursAreASCII() throws {
        let s = try makeStore("s")
        let eighty = String(repeating: "黨", count: 80)
        XCTAssertNoThrow(try s.addCode(name: eighty, description: nil, colour: nil, parent: nil))
        // 80 characters of two scalars each: 160 scalars.
        let combining = String(repeating: "x\u{301}", count: 80)   // no precomposed form
        XCTAssertEqual(combining.count, 80)
        XCTAssertThrowsError(try s.addCode(name: combining, description: nil, colour: nil, parent: nil)) { error in
            XCTAssertTrue(MarginError.message(for: error).contains("Unicode scalars"), "\(error)")
        }
        for good in ["red", "RED", "colour7", "colour07", "color255", "#ABCdef"] {
            XCTAssertNoThrow(try Store.checkColour(good), good)
        }
        for bad in ["colour+7", "colour-0", "colour256", "colour", "#ＡＢＣＤＥＦ", "#12345", "#1234567", "ｒｅｄ"] {
            XCTAssertThrowsError(try Store.checkColour(bad), bad)
        }
    }
}

/// Issue 24, "Exports": REFI-QDA round trips.
final class REFIRoundTripTests: StoreTestCase {
    /// A note with a line break came back merged with the value
    /// (`value: 1055\nnote: two\nlines`), the value lost.
    func testAValueAndANoteOfSeveralLinesComeBackApart() throws {
        let a = try makeStore("a")
        let (rid, _) = try a.importReport(ReportDraft(body: "全縣共有1055名網格員參加。", title: "網格"))
        let code = try a.addCode(name: "cadres", description: nil, colour: nil, parent: nil)
        _ = try a.annotate(record: rid, code: code, span: .quote("1055名網格員", occurrence: nil), value: "1055", note: "two\nlines")
        _ = try a.annotate(record: rid, code: code, span: .quote("全縣", occurrence: nil), value: nil, note: "note: only\nand more")
        let b = try makeStore("b")
        _ = try b.importREFIProject(try a.refiProject(name: "p"))
        let back = try b.annotations(record: rid).sorted { ($0.span?.start ?? 0) < ($1.span?.start ?? 0) }
        XCTAssertEqual(back.map(\.value), [nil, "1055"])
        XCTAssertEqual(back.map(\.note), ["note: only\nand more", "two\nlines"])
    }
}
