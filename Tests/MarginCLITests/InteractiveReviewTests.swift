import Foundation
@testable import MarginCLI
import MarginCore
import XCTest

/// `margin review` with no verdict: piped commands, and single keys on a
/// real pseudo-terminal with the real binary.
final class InteractiveReviewTests: CLITestCase {
    var record = "", first = "", second = ""

    /// alice codes two figures; she changes the first one's value on her
    /// laptop and, concurrently, on her second computer (a node of its own,
    /// also named alice: only a coder edits her own coding), which makes a
    /// conflict.
    override func setUpWithError() throws {
        try super.setUpWithError()
        let bob = try folder("bob")
        XCTAssertEqual(margin("init", "--name", "alice").code, 0)
        XCTAssertEqual(margin("codes", "import", CLITestCase.samples.appendingPathComponent("codebook.tsv").path).code, 0)
        record = try XCTUnwrap(firstID(margin("import", CLITestCase.samples.appendingPathComponent("reports/03-tongren-grid.txt").path).out, after: "imported"))
        XCTAssertEqual(margin("annotate", record, "--code", "cadres", "--quote", "1055名网格员", "--value", "1055").code, 0)
        XCTAssertEqual(margin("annotate", record, "--code", "cadres", "--quote", "119名网格员", "--value", "119").code, 0)
        let ids = margin("list", "--annotations").out.split(separator: "\n").compactMap { $0.split(separator: " ").first.map(String.init) }
        first = try XCTUnwrap(ids.first); second = try XCTUnwrap(ids.last)
        let a = dir.appendingPathComponent("a.bundle").path, b = dir.appendingPathComponent("b.bundle").path
        XCTAssertEqual(margin("export", "--log", "-o", a).code, 0)
        XCTAssertEqual(margin("--store", bob, "init", "--name", "alice").code, 0)
        XCTAssertEqual(margin("--store", bob, "import", a).code, 0)
        XCTAssertEqual(margin("--store", bob, "edit", first, "--value", "1050").code, 0)
        XCTAssertEqual(margin("edit", first, "--value", "1056").code, 0)
        XCTAssertEqual(margin("--store", bob, "export", "--log", "-o", b).code, 0)
        XCTAssertEqual(margin("import", b).code, 0)
        XCTAssertEqual(try conflicts(), 1)
    }

    func conflicts() throws -> Int { margin("conflicts", "--json").out.split(separator: "\n").count }
    func status(_ id: String) throws -> String? {
        let json = margin("list", "--annotations", "--json").out.split(separator: "\n")
            .compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        return json.first { ($0["id"] as? String)?.hasPrefix(id) == true }?["status"] as? String
    }

    func testPipedCommandsWalkAnnotationsThenConflicts() throws {
        let r = marginArgs(["review"], input: ["x", "r too vague", "s", "q"])
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertTrue(r.out.contains("(1/3)"), r.out)
        XCTAssertTrue(r.out.contains("keys: [a]ccept"), "an unknown key shows the keys")
        XCTAssertTrue(r.out.contains("⟦1055名网格员⟧"), "the span in its context")
        XCTAssertTrue(r.out.contains("winner (alice):") && r.out.contains("1050"), "both sides in full: \(r.out)")
        XCTAssertTrue(r.out.contains("1 decided"), r.out)
        XCTAssertEqual(try status(first), "rejected")
        XCTAssertEqual(try status(second), "open", "skipped")
        XCTAssertEqual(try conflicts(), 1, "quit before it")
        // The conflict, settled with a typed value: the value changes, so
        // the rejection (of the value it saw) is stale and the annotation open again.
        let c = marginArgs(["review", "--conflicts-only"], input: ["e 1055"])
        XCTAssertEqual(c.code, 0, c.err)
        XCTAssertEqual(try conflicts(), 0)
        XCTAssertTrue(margin("show", record).out.contains("value=1055"))
        XCTAssertEqual(try status(first), "open")
        // Quitting after one decision keeps it.
        let q = marginArgs(["review", "--code", "cadres"], input: ["a", "q"])
        XCTAssertEqual(q.code, 0, q.err)
        XCTAssertEqual(try status(first), "accepted")
        XCTAssertEqual(try status(second), "open")
        XCTAssertEqual(marginArgs(["review"], input: ["a"]).code, 0)
        XCTAssertTrue(marginArgs(["review"], input: []).out.contains("nothing needs review"))
        XCTAssertEqual(margin("review", first).code, 64, "an annotation needs a verdict")
    }

    func testConflictsOnlyAndEndOfInputLoseNothing() throws {
        let r = marginArgs(["review", "--conflicts-only"], input: ["o"])
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertTrue(r.out.contains("(1/1)"), "the conflict alone, no annotations: \(r.out)")
        XCTAssertEqual(try conflicts(), 0)
        let shown = margin("show", record).out
        XCTAssertTrue(shown.contains("value=1050"), "kept the other side: \(shown)")
        let eof = marginArgs(["review"], input: ["a"])
        XCTAssertEqual(eof.code, 0)
        XCTAssertEqual(try status(first), "accepted", "written before the input ran out")
    }

    /// The real binary on a pseudo-terminal: one key per decision, and the
    /// terminal's mode restored when it ends, also after Ctrl-C.
    func testSingleKeysOnAPseudoTerminal() throws {
        guard let binary = CLITestCase.binary else { throw XCTSkip("the margin binary is not built") }
        for keys in [["a", "\u{3}"], ["r"]] {
            var master: Int32 = -1, slave: Int32 = -1
            XCTAssertEqual(openpty(&master, &slave, nil, nil, nil), 0)
            defer { close(master) }
            let p = Process()
            p.executableURL = binary
            p.arguments = ["review", "--code", "cadres"]
            p.currentDirectoryURL = dir
            p.environment = ["HOME": dir.path, "TERM": "xterm", "NO_COLOR": "1", "PATH": "/usr/bin:/bin"]
            let tty = FileHandle(fileDescriptor: slave, closeOnDealloc: false)
            p.standardInput = tty; p.standardOutput = tty; p.standardError = tty
            try p.run()
            var seen = ""
            /// Reads the terminal until `text` has appeared `times` times.
            func expect(_ text: String, times: Int = 1) throws {
                let deadline = Date().addingTimeInterval(20)
                while seen.components(separatedBy: text).count - 1 < times {
                    guard Date() < deadline else { XCTFail("waited for '\(text)'; saw: \(seen)"); return }
                    var pfd = pollfd(fd: master, events: Int16(POLLIN), revents: 0)
                    guard poll(&pfd, 1, 1000) > 0 else { continue }
                    var buffer = [UInt8](repeating: 0, count: 4096)
                    let n = read(master, &buffer, buffer.count)
                    if n <= 0 { return }
                    seen += String(decoding: buffer[0..<n], as: UTF8.self)
                }
            }
            var prompts = 0
            for key in keys {
                prompts += 1
                try expect("[q]uit", times: prompts)
                if key == "r" {
                    _ = write(master, key, 1)
                    try expect("why reject")
                    _ = write(master, "vague\n", 6)
                } else {
                    _ = write(master, key, 1)
                }
                if key == "a" { try expect("(2/") }
            }
            // The second run's one item decided, the walk ends by itself.
            try expect("decided")
            p.waitUntilExit()
            XCTAssertEqual(p.terminationStatus, 0, seen)
            var mode = termios()
            XCTAssertEqual(tcgetattr(slave, &mode), 0)
            XCTAssertNotEqual(mode.c_lflag & tcflag_t(ICANON), 0, "line mode restored")
            XCTAssertNotEqual(mode.c_lflag & tcflag_t(ECHO), 0, "echo restored")
            close(slave)
        }
        // The first run accepted the first figure, then Ctrl-C ended it; the second rejected the next open one.
        XCTAssertEqual(try status(first), "accepted")
        XCTAssertEqual(try status(second), "rejected")
    }
}
