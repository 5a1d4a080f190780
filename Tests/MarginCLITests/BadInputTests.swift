import Foundation
@testable import MarginCLI
@testable import MarginCore
import XCTest

/// Each bad input: one clear line on stderr, exit 1, nothing changed.
final class BadInputTests: OneReportTestCase {

    func expectRefusal(_ args: [String], mentions: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let before = try storeState()
        let r = marginArgs(args)
        XCTAssertEqual(r.code, 1, "\(args): \(r.err)", file: file, line: line)
        XCTAssertTrue(r.err.contains(mentions), "\(args): \(r.err)", file: file, line: line)
        XCTAssertTrue(r.err.hasPrefix("margin "), r.err, file: file, line: line)
        XCTAssertEqual(try storeState().changes, before.changes, "store changed by \(args)", file: file, line: line)
        XCTAssertEqual(try storeState().digest, before.digest, file: file, line: line)
    }

    func write(_ name: String, _ data: Data) throws -> String {
        let url = dir.appendingPathComponent(name)
        try data.write(to: url)
        return url.path
    }

    func testBadFiles() throws {
        try expectRefusal(["import", try write("bad.txt", Data([0x41, 0xff, 0xfe, 0x42, 0x0a]))], mentions: "not valid UTF-8")
        try expectRefusal(["import", try write("empty.txt", Data())], mentions: "file is empty")
        try expectRefusal(["import", try write("blank.txt", Data("  \n\n \n".utf8))], mentions: "white space")
        try expectRefusal(["import", try write("bin.txt", Data([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0, 0, 0, 0, 0]))], mentions: "binary")
        try expectRefusal(["import", dir.appendingPathComponent("missing.txt").path], mentions: "no such file")
        let emptyDir = dir.appendingPathComponent("nothing")
        try FileManager.default.createDirectory(at: emptyDir, withIntermediateDirectories: true)
        _ = try write("nothing/readme.pdf", Data("x".utf8))
        try expectRefusal(["import", emptyDir.path], mentions: "no importable files")
        try expectRefusal(["import", try write("bad.jsonl", Data("{\"type\":\"record\",\"body\":\"ok\"}\n{oops\n".utf8))], mentions: "line 2")
        try expectRefusal(["import", try write("furniture.txt", Data("分享到:\n返回顶部\n".utf8))], mentions: "no report text")
    }

    func testFiftyMegabytesOfTextIsRefusedBeforeReading() throws {
        let path = dir.appendingPathComponent("huge.txt").path
        let line = Data("全縣共抽調354名幹部,組成16個工作組,深入各村開展排查。\n".utf8)
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: nil))
        let handle = try XCTUnwrap(FileHandle(forWritingAtPath: path))
        var chunk = Data()
        while chunk.count < 1 << 20 { chunk.append(line) }
        for _ in 0..<50 { try handle.write(contentsOf: chunk) }
        try handle.close()
        try expectRefusal(["import", path], mentions: "too large (50 MB; the limit is 10 MB)")
    }

    func testGoodFilesGoInWhileBadOnesAreNamed() throws {
        let folder = dir.appendingPathComponent("mixed")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        _ = try write("mixed/a-good.txt", Data("好標題\n\n共有159名黨員參加了這次志願服務活動,體現了先鋒模範作用。".utf8))
        _ = try write("mixed/b-bad.txt", Data([0xff, 0xfe, 0x00, 0xd8]))  // UTF-16 with a lone surrogate
        let r = margin("import", folder.path)
        XCTAssertEqual(r.code, 1)
        XCTAssertTrue(r.err.contains("b-bad.txt"), r.err)
        XCTAssertTrue(r.out.contains("1 imported"), r.out)
        XCTAssertEqual(margin("list", "--json").out.split(separator: "\n").count, 2)
    }

    func testBadIdsRangesAndCodes() throws {
        try expectRefusal(["show", "ffffffffff"], mentions: "no record")
        try expectRefusal(["show", "xyz"], mentions: "hexadecimal")
        try expectRefusal(["annotate", record, "--code", "party-members", "--range", "0..99999"], mentions: "outside the body")
        try expectRefusal(["annotate", record, "--code", "no-such-code", "--quote", "网格员"], mentions: "no code named")
        try expectRefusal(["annotate", record, "--code", "party-members", "--quote", "不在文中的句子"], mentions: "not found")
        try expectRefusal(["review", "abcdef", "--accept"], mentions: "no annotation")
        try expectRefusal(["codes", "add", "party-members"], mentions: "already exists")
        try expectRefusal(["codes", "add", "x", "--colour", "plaid"], mentions: "unknown colour")
        try expectRefusal(["edit", record, "--set", "body=rewritten"], mentions: "cannot be changed")
        try expectRefusal(["resolve", "abc", "--keep", "winner"], mentions: "no conflict")
    }

    func testAmbiguousPrefix() throws {
        for i in 0..<40 { _ = margin("import", try write("r\(i).txt", Data("標題\(i)\n\n第\(i)篇報告的正文,共有\(i)名黨員參加了志願服務活動。".utf8))) }
        let ids = margin("list", "--json").out.split(separator: "\n").compactMap { line -> String? in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["id"] as? String
        }
        let groups = Dictionary(grouping: ids, by: { $0.prefix(1) })
        let (prefix, _) = try XCTUnwrap(groups.first { $0.value.count > 1 }, "41 ids share a first digit somewhere")
        try expectRefusal(["show", String(prefix)], mentions: "ambiguous")
    }

    func testBadStores() throws {
        let notStore = dir.appendingPathComponent("notstore/.margin")
        try FileManager.default.createDirectory(at: notStore, withIntermediateDirectories: true)
        try Data(repeating: 7, count: 2048).write(to: notStore.appendingPathComponent("margin.sqlite"))
        let r = margin("status", in: dir.appendingPathComponent("notstore").path)
        XCTAssertEqual(r.code, 1)
        XCTAssertTrue(r.err.contains("not a Margin store"), r.err)
        XCTAssertEqual(r.err.split(separator: "\n").count, 1)

        // A store file cut short (a copy that stopped half-way).
        let truncated = dir.appendingPathComponent("truncated/.margin")
        try FileManager.default.createDirectory(at: truncated, withIntermediateDirectories: true)
        let whole = try Data(contentsOf: URL(fileURLWithPath: cwd + "/.margin/margin.sqlite"))
        try whole.prefix(whole.count / 3).write(to: truncated.appendingPathComponent("margin.sqlite"))
        for args in [["list"], ["check"], ["tag", record, "party-members"]] {
            let t = marginArgs(args, in: dir.appendingPathComponent("truncated").path)
            XCTAssertEqual(t.code, 1, "\(args): \(t.out)")
            XCTAssertEqual(t.err.split(separator: "\n").count, 1, t.err)
            XCTAssertTrue(t.err.contains("malformed") || t.err.contains("not a Margin store") || t.err.contains("damaged"), t.err)
        }

        let s = try Store(directory: cwd + "/.margin")
        try s.db.setUserVersion(Schema.fileVersion + 1)
        s.db.close()
        let newer = margin("list")
        XCTAssertEqual(newer.code, 1)
        XCTAssertTrue(newer.err.contains("newer margin"), newer.err)
        XCTAssertTrue(newer.err.contains("upgrade"), newer.err)
    }
}
