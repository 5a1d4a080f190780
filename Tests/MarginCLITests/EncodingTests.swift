import Foundation
@testable import MarginCLI
import MarginCore
import XCTest

/// Reports in the encodings they arrive in, made with the system's iconv
/// as a user's converter would make them.
final class EncodingTests: CLITestCase {
    static let traditional = "曲麻萊縣:以硬核措施打贏疫情防控阻擊戰\n\n全縣迅速成立了16個臨時黨支部,共有159名黨員加入其中,抽調354名幹部組成工作組,深入各村開展排查。\n"
    static let simplified = "玛多县:党员突击队坚守高原防疫卡点\n\n全县组建党员突击队3支,38名党员干部参加,设立7个交通卡点,累计排查车辆1200余辆。\n"

    func iconv(_ text: String, to encoding: String) throws -> Data {
        let tool = ["/usr/bin/iconv", "/bin/iconv"].first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let tool else { throw XCTSkip("no iconv on this machine to make the files") }
        let p = Process(), input = Pipe(), output = Pipe()
        p.executableURL = URL(fileURLWithPath: tool)
        p.arguments = ["-f", "UTF-8", "-t", encoding]
        p.standardInput = input; p.standardOutput = output
        try p.run()
        input.fileHandleForWriting.write(Data(text.utf8))
        try input.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, "iconv to \(encoding)")
        return data
    }

    func importFile(_ name: String, _ data: Data, _ extra: [String] = []) -> CLIResult {
        let url = dir.appendingPathComponent(name)
        XCTAssertNoThrow(try data.write(to: url))
        return marginArgs(["import"] + extra + [url.path])
    }

    func body(of output: String) throws -> String {
        let id = try XCTUnwrap(firstID(output, after: "imported"))
        let json = margin("show", id, "--json").out
        return try XCTUnwrap((try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])?["body"] as? String)
    }

    override func setUpWithError() throws {
        try super.setUpWithError()
        XCTAssertEqual(margin("init", "--name", "t").code, 0)
    }

    func testGB18030Big5AndUTF16AreReadAndNamed() throws {
        for (name, text, encoding, shown) in [("gb.txt", EncodingTests.simplified, "GB18030", "[GB18030]"),
                                              ("gbk.txt", EncodingTests.simplified, "GBK", "[GB18030]"),
                                              ("big5.txt", EncodingTests.traditional, "BIG5", "[BIG5]")] {
            let r = importFile(name, try iconv(text.replacingOccurrences(of: "1200", with: "\(name.count)00"), to: encoding))
            XCTAssertEqual(r.code, 0, "\(encoding): \(r.err)")
            XCTAssertTrue(r.out.contains(shown), "\(encoding): \(r.out)")
            XCTAssertTrue(try body(of: r.out).contains(encoding == "BIG5" ? "16個臨時黨支部" : "38名党员干部"), encoding)
        }
        for (bom, encoding) in [(Data([0xFF, 0xFE]), "UTF-16LE"), (Data([0xFE, 0xFF]), "UTF-16BE")] {
            let text = EncodingTests.simplified.replacingOccurrences(of: "3支", with: "\(encoding.count)支")
            let r = importFile("\(encoding).txt", bom + (try iconv(text, to: encoding)))
            XCTAssertEqual(r.code, 0, "\(encoding): \(r.err)")
            XCTAssertTrue(r.out.contains("[\(encoding)]"), r.out)
        }
        let utf8 = importFile("utf8.txt", Data(EncodingTests.traditional.replacingOccurrences(of: "16個", with: "17個").utf8))
        XCTAssertFalse(utf8.out.contains("["), "UTF-8 is not named: \(utf8.out)")
    }

    func testEncodingOverridesTheGuessAndUnknownNamesAreUsageErrors() throws {
        let big5 = try iconv(EncodingTests.traditional, to: "BIG5")
        // Read as GB18030 on purpose, the text is wrong but it is what was asked.
        let forced = importFile("forced.txt", big5, ["--encoding", "gb18030"])
        XCTAssertEqual(forced.code, 0, forced.err)
        XCTAssertTrue(forced.out.contains("[GB18030]"), forced.out)
        XCTAssertFalse(try body(of: forced.out).contains("臨時黨支部"))
        let bad = importFile("x.txt", big5, ["--encoding", "klingon"])
        XCTAssertEqual(bad.code, 64)
        XCTAssertTrue(bad.err.contains("unknown encoding 'klingon'"), bad.err)
        let binary = importFile("bin.txt", Data([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0, 0, 0, 0, 0]))
        XCTAssertEqual(binary.code, 1)
        XCTAssertTrue(binary.err.contains("binary"), binary.err)
    }

    func testGarbledLinesAreNamedInAWarning() throws {
        let text = "高原防疫卡点\n\n全县共?排查人员1200余人。\n设立卡点\u{E000}7个。\n"
        let r = importFile("garbled.txt", Data(text.utf8))
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertTrue(r.err.contains("warning: line 3 looks garbled by a conversion ('?' inside a word)"), r.err)
        XCTAssertTrue(r.err.contains("warning: line 4 looks garbled by a conversion (a private-use character U+E000)"), r.err)
    }

    /// Bytes valid in both legacy encodings: the plausible reading wins.
    func testThePlausibleLegacyReadingWins() throws {
        let big5 = try iconv(EncodingTests.traditional, to: "BIG5")
        XCTAssertEqual(try TextEncoding.decode(big5)?.encoding, "BIG5")
        let gb = try iconv(EncodingTests.simplified, to: "GB18030")
        XCTAssertEqual(try TextEncoding.decode(gb)?.encoding, "GB18030")
    }
}
