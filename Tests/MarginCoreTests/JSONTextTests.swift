import Foundation
@testable import MarginCore
import XCTest

final class JSONTextTests: XCTestCase {
    func testRoundTripsThroughFoundationsParser() throws {
        let value: [String: Any] = [
            "z": "quote \" backslash \\ newline \n tab \t bell \u{07} 黨員 𠀋 👍🏽 / slash",
            "a": 159, "b": Int64(-42), "c": 1.5, "d": true, "e": NSNull(),
            "f": ["x": "y", "n": [1, 2, 3]], "g": [["k": "v"]],
        ]
        let text = try JSONText.encode(value)
        XCTAssertFalse(text.contains("\n"), "one line")
        XCTAssertTrue(text.hasPrefix("{\"a\":159,\"b\":-42,\"c\":1.5,\"d\":true,\"e\":null,"), "sorted keys: \(text)")
        XCTAssertTrue(text.contains("\\u0007"))
        let parsed = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        XCTAssertEqual(parsed["z"] as? String, value["z"] as? String)
        XCTAssertEqual(parsed["b"] as? Int, -42)
        XCTAssertEqual((parsed["f"] as? [String: Any])?["n"] as? [Int], [1, 2, 3])
        XCTAssertThrowsError(try JSONText.encode(["x": Double.nan]))
    }

    /// The typed ids go into the untyped writer as their text (an id the
    /// writer did not know came out empty once: `--json` outputs build
    /// their objects from `[String: Any]`).
    func testTypedIDsAreWrittenAsTheirText() throws {
        let record = String(repeating: "ab", count: 16)
        let value: [String: Any] = ["entity": EntityID(stored: record), "origin": NodeID("0123456789abcdef") as Any]
        XCTAssertEqual(try JSONText.encode(value), "{\"entity\":\"\(record)\",\"origin\":\"0123456789abcdef\"}")
    }

    /// The checked way in takes exactly each kind's form (`ChangeRules.isID`).
    func testAnEntityIDFromOutsideTextHasItsKindsForm() {
        let hex32 = String(repeating: "0f", count: 16), hex16 = String(repeating: "a1", count: 8)
        XCTAssertEqual(EntityID(hex32, of: .record)?.text, hex32)
        XCTAssertEqual(EntityID(hex32, of: .annotation)?.text, hex32)
        XCTAssertEqual(EntityID(hex16, of: .code)?.text, hex16)
        XCTAssertEqual(EntityID(hex16, of: .conflict)?.text, hex16)
        XCTAssertNil(EntityID(hex16, of: .record), "a code's length is not a record's")
        XCTAssertNil(EntityID(hex32, of: .code))
        XCTAssertNil(EntityID(hex32.uppercased(), of: .record), "upper case")
        XCTAssertNil(EntityID("", of: .code))
        XCTAssertNil(EntityID(String(hex16.dropLast()) + "g", of: .code))
    }

    /// The byte writer (lists, exports) escapes exactly as the writer by
    /// scalars does, and what it writes parses back to the string, with
    /// Foundation's parser as the independent reader.
    func testTheByteWriterEqualsTheScalarWriterAndParsesBack() throws {
        let alphabet: [Unicode.Scalar] = ["\"", "\\", "\n", "\r", "\t", "\u{0}", "\u{1f}", "\u{7f}", "a", "/", "黨", "𠀋", "😷", "\u{301}"]
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<500 {
            let s = String(String.UnicodeScalarView((0..<Int.random(in: 0...30, using: &generator)).map { _ in
                alphabet.randomElement(using: &generator) ?? "a"
            }))
            var bytes: [UInt8] = [], text = ""
            JSONText.string(s, into: &bytes)
            JSONText.string(s, into: &text)
            XCTAssertEqual(bytes, Array(text.utf8), s.debugDescription)
            let parsed = try JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed]) as? String
            XCTAssertEqual(parsed.map { Array($0.unicodeScalars) }, Array(s.unicodeScalars), s.debugDescription)
        }
    }
}
