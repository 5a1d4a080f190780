import Foundation
@testable import MarginCLI
import MarginCore
import XCTest

/// Issue 24: every format Margin both writes and reads round-trips exactly:
/// export, import into a fresh store, export again gives the same bytes,
/// ids included. The store holds what broke formats before: spans at 0 and
/// at the end, across LF and CR LF line breaks and over astral characters,
/// notes with quotes and line breaks, code names with `/`, `=`, spaces and
/// both scripts, record metadata, two coders.
final class RoundTripTests: CLITestCase {
    var alice = "", reports: URL!

    override func setUpWithError() throws {
        try super.setUpWithError()
        alice = try folder("alice")
        let bob = try folder("bob")
        reports = dir.appendingPathComponent("reports")
        try FileManager.default.createDirectory(at: reports, withIntermediateDirectories: true)
        let lf = "全面织密防控网络。\n\n网格员158名,𠀀共有159名黨員。"
        let crlf = "第一行,共有16個臨時黨支部。\r\n第二行,共有354名幹部,設卡點𠀀7個"
        try lf.write(to: reports.appendingPathComponent("lf.txt"), atomically: true, encoding: .utf8)
        try crlf.write(to: reports.appendingPathComponent("crlf.txt"), atomically: true, encoding: .utf8)
        XCTAssertEqual(margin("--store", alice, "init", "--name", "alice").code, 0)
        XCTAssertEqual(margin("--store", alice, "import", "--raw", reports.path).code, 0)
        let ids = records(alice)
        XCTAssertEqual(ids.count, 2)
        for (name, parent) in [("黨員/党员", nil), ("a=b", nil), ("two words", "黨員/党员"), ("back\\slash", nil)] as [(String, String?)] {
            XCTAssertEqual(marginArgs(["--store", alice, "codes", "add", name] + (parent.map { ["--parent", $0] } ?? [])).code, 0, name)
        }
        for rid in ids {
            XCTAssertEqual(margin("--store", alice, "edit", rid, "--place", "互助县", "--published", "2022-11-07", "--set", "reporter name=李明").code, 0)
        }
        XCTAssertEqual(margin("--store", bob, "init", "--name", "bob").code, 0)
        let bundle = dir.appendingPathComponent("a.bundle").path
        XCTAssertEqual(margin("--store", alice, "export", "--log", "-o", bundle).code, 0)
        XCTAssertEqual(margin("--store", bob, "import", bundle).code, 0)
        for rid in ids {
            let body = try XCTUnwrap((try JSONSerialization.jsonObject(with: Data(margin("--store", alice, "show", rid, "--json").out.utf8)) as? [String: Any])?["body"] as? String)
            let scalars = Array(body.unicodeScalars)
            let lineBreak = try XCTUnwrap(scalars.firstIndex { $0 == "\n" || $0 == "\r" })
            let astral = try XCTUnwrap(scalars.firstIndex { $0.value > 0xFFFF })
            let spans: [(String, String, Int, Int, String?, String?)] = [
                (alice, "黨員/党员", 0, 2, "0", "at \"zero\"\nand a second line"),
                (alice, "a=b", lineBreak - 2, lineBreak + 3, nil, "across\r\nthe break"),
                (alice, "two words", astral, astral + 2, "1", nil),
                (alice, "back\\slash", scalars.count - 3, scalars.count, "end", "=formula-like"),
                (bob, "黨員/党员", 0, 2, "0", "bob's"),
                (bob, "two words", astral - 1, astral + 1, nil, "quote \" and 'single'"),
            ]
            for (store, code, start, end, value, note) in spans {
                var args = ["--store", store, "annotate", rid, "--code", code, "--range", "\(start)..\(end)"]
                if let value { args += ["--value", value] }
                if let note { args += ["--note", note] }
                let r = marginArgs(args)
                XCTAssertEqual(r.code, 0, r.err)
            }
        }
        let back = dir.appendingPathComponent("b.bundle").path
        XCTAssertEqual(margin("--store", bob, "export", "--log", "-o", back).code, 0)
        XCTAssertEqual(margin("--store", alice, "import", back).code, 0)
    }

    func records(_ store: String) -> [String] {
        margin("--store", store, "list", "--json").out.split(separator: "\n").compactMap {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["id"] as? String
        }.sorted()
    }

    func export(_ store: String, _ format: String, _ file: String) throws -> Data {
        let path = dir.appendingPathComponent(file).path
        let r = margin("--store", store, "export", "--format", format, "-o", path)
        XCTAssertEqual(r.code, 0, r.err)
        return try Data(contentsOf: URL(fileURLWithPath: path))
    }

    func testJSONLinesW3CAndREFIExportImportExportGiveTheSameBytes() throws {
        for (format, ext) in [("jsonl", "jsonl"), ("w3c", "jsonld"), ("refi", "qdpx")] {
            let first = try export(alice, format, "first.\(ext)")
            XCTAssertGreaterThan(first.count, 500, format)
            let fresh = try folder("fresh-\(format)")
            XCTAssertEqual(margin("--store", fresh, "init", "--name", "carol").code, 0)
            if format == "w3c" {
                // W3C annotations target records the store holds: the
                // reports and the codebook's records come first, as the
                // README says.
                XCTAssertEqual(margin("--store", fresh, "import", "--raw", reports.path).code, 0)
                for rid in records(fresh) {
                    XCTAssertEqual(margin("--store", fresh, "edit", rid, "--place", "互助县", "--published", "2022-11-07", "--set", "reporter name=李明").code, 0)
                }
            }
            let imported = margin("--store", fresh, "import", dir.appendingPathComponent("first.\(ext)").path)
            XCTAssertEqual(imported.code, 0, "\(format): \(imported.err)")
            // The same file name: a REFI project is named after its file.
            try FileManager.default.createDirectory(at: dir.appendingPathComponent("again-\(format)"), withIntermediateDirectories: true)
            let second = try export(fresh, format, "again-\(format)/first.\(ext)")
            if first != second {
                func text(_ d: Data) -> String {
                    guard format == "refi", let e = try? Zip.entries([UInt8](d)) else { return String(decoding: d, as: UTF8.self) }
                    return e.map { $0.name + "\n" + String(decoding: $0.data, as: UTF8.self) }.joined(separator: "\n")
                }
                let a = text(first).split(separator: "\n"), b = text(second).split(separator: "\n")
                let diff = zip(a, b).enumerated().first { $0.element.0 != $0.element.1 }
                XCTFail("\(format): the second export differs (\(first.count) vs \(second.count) bytes); first difference at line \(diff?.offset ?? -1):\n\(diff?.element.0 ?? "")\n\(diff?.element.1 ?? "")")
            }
            // The code named with a slash is one code, not two.
            let codes = margin("--store", fresh, "codes", "list").out
            XCTAssertTrue(codes.contains("黨員/党员"), "\(format): \(codes)")
            let shown = margin("--store", fresh, "show", records(fresh)[0]).out
            XCTAssertTrue(shown.contains("互助县") && shown.contains("2022-11-07") && shown.contains("李明"), "\(format): the record's metadata came along: \(shown)")
        }
    }

    /// QualCoder and ATLAS.ti write `.qdpx` with deflated entries; Margin
    /// refused them. The same project, re-zipped by Python's zipfile at
    /// every level, imports into the same store.
    func testACompressedProjectImportsLikeAStoredOne() throws {
        guard (try? CLITestCase.runCommand("/usr/bin/env", ["python3", "-c", "import zipfile"])) == 0 else {
            throw XCTSkip("python3 is not installed: its zipfile writes the compressed projects")
        }
        let first = try export(alice, "refi", "project.qdpx")
        let script = """
            import sys, zipfile
            src = zipfile.ZipFile(sys.argv[1])
            for level in range(10):
                with zipfile.ZipFile(sys.argv[2] + "/deflated-%d.qdpx" % level, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as z:
                    for info in src.infolist():
                        z.writestr(info.filename, src.read(info.filename))
            """
        XCTAssertEqual(try CLITestCase.runCommand("/usr/bin/env", ["python3", "-c", script, dir.appendingPathComponent("project.qdpx").path, dir.path]), 0)
        for level in [0, 1, 6, 9] {
            let fresh = try folder("deflated-\(level)")
            XCTAssertEqual(margin("--store", fresh, "init", "--name", "carol").code, 0)
            let r = margin("--store", fresh, "import", dir.appendingPathComponent("deflated-\(level).qdpx").path)
            XCTAssertEqual(r.code, 0, "level \(level): \(r.err)")
            try FileManager.default.createDirectory(at: dir.appendingPathComponent("again-\(level)"), withIntermediateDirectories: true)
            let again = try export(fresh, "refi", "again-\(level)/project.qdpx")
            if again != first {
                func text(_ d: Data) -> [Substring] {
                    ((try? Zip.entries([UInt8](d))) ?? []).map { $0.name + "\n" + String(decoding: $0.data, as: UTF8.self) }.joined(separator: "\n").split(separator: "\n")
                }
                let diff = zip(text(first), text(again)).enumerated().first { $0.element.0 != $0.element.1 }
                XCTFail("level \(level): differs at line \(diff?.offset ?? -1):\n\(diff?.element.0 ?? "")\n\(diff?.element.1 ?? "")")
            }
        }
    }
}
