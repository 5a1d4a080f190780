import Foundation
@testable import MarginCLI
@testable import MarginCore
import MarginSync
import XCTest

/// Issue "Sessions nobody on the path can read or alter …", 5: a peer named
/// "\e[31mevil\e[0m\nfake log line" forged lines in the serve log, in
/// `peers` and in `conflicts`. No output may hold an ESC or a forged line
/// break from a peer, whatever it sends.
final class UntrustedTextTests: CLITestCase {
    static let evil = "\u{1B}[31mevil\u{1B}[0m\nfake log line\u{202E}"

    func testAHostilePeerNameDrivesNoTerminal() throws {
        let alice = dir.appendingPathComponent("alice").path, mallory = dir.appendingPathComponent("mallory").path
        XCTAssertEqual(margin("init", "--store", alice, "--name", "alice").code, 0)
        XCTAssertEqual(margin("--store", alice, "import", CLITestCase.samples.appendingPathComponent("reports/03-tongren-grid.txt").path).code, 0)
        // A store whose node name is hostile, as a peer written by hand could send.
        let m = try Store.create(directory: mallory, name: "mallory")
        try m.db.run("UPDATE meta SET value = ? WHERE key = 'node_name'", .text(UntrustedTextTests.evil))
        m.db.close()

        var lines: [String] = []
        let lock = NSLock()
        let console = Console(out: { s in lock.withLock { lines.append(s) } }, err: { s in lock.withLock { lines.append(s) } }, outIsTerminal: true)
        let log = LockedLog(console)
        let server = try SyncServer(directory: alice, endpoint: Endpoint(host: "127.0.0.1", port: 0), options: SyncServer.Options()) { log.line($0) }
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread { server.serve(); done.signal() }
        defer { server.stop(); _ = done.wait(timeout: .now() + 10) }
        let r = margin("--store", mallory, "sync", "127.0.0.1:\(server.endpoint.port)")
        XCTAssertEqual(r.code, 0, r.err)
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline, !lock.withLock({ lines.contains { $0.contains("synced with") } }) { usleep(10_000) }
        let serveLog = lock.withLock { lines.joined() }
        XCTAssertTrue(serveLog.contains("synced with"), serveLog)

        let peers = margin("--store", alice, "peers", env: ["TERM": "xterm"])
        for (what, text) in [("serve log", serveLog), ("peers", peers.out), ("sync", r.out + r.err)] {
            XCTAssertFalse(text.contains("\u{1B}"), "\(what) holds an ESC: \(text.debugDescription)")
            XCTAssertFalse(text.contains("\u{202E}"), "\(what) holds a bidi override")
            XCTAssertFalse(text.split(separator: "\n").contains { $0.hasPrefix("fake log line") }, "\(what) has a forged line")
        }
        // The name is stored without its control characters: nothing to escape.
        XCTAssertTrue(peers.out.contains("[31mevil[0mfake log line"), "the name is stored without them: \(peers.out)")
    }

    /// A title with a terminal escape is refused where it enters, and text
    /// with bidi controls (which the rules allow) is shown escaped.
    func testTitlesAndNotesDriveNoTerminal() throws {
        XCTAssertEqual(margin("init", "--name", "t").code, 0)
        let r = margin("import", CLITestCase.samples.appendingPathComponent("reports/03-tongren-grid.txt").path)
        let record = try XCTUnwrap(firstID(r.out, after: "imported"))
        let refused = margin("edit", record, "--title", "\u{1B}]0;pwned\u{07}")
        XCTAssertEqual(refused.code, 1)
        XCTAssertTrue(refused.err.contains("control character"), refused.err)
        XCTAssertEqual(margin("edit", record, "--title", "報告\u{202E}txt.exe").code, 0)
        XCTAssertEqual(margin("note", record, "a note \u{202E} reversed").code, 0)
        for args in [["list"], ["show", record], ["list", "--annotations"], ["search", "報告"]] {
            let out = marginArgs(args).out
            XCTAssertFalse(out.contains("\u{202E}"), "\(args): \(out.debugDescription)")
        }
        XCTAssertTrue(margin("list").out.contains("報告\\u{202E}txt.exe"))
    }
}

/// The fast paths of the text shown on a terminal give exactly what the
/// plain readings give (kept here as written before them), on random text
/// full of what they treat apart: line breaks, controls, bidirectional
/// marks, CRLF, combining marks, CJK, emoji.
final class ShownTextFastPathTests: XCTestCase {
    static func referenceEscape(_ s: String, keepingLineBreaks: Bool, max: Int?) -> String {
        var out = String.UnicodeScalarView()
        var count = 0
        for u in s.unicodeScalars {
            if let max, count >= max { return String(out) + "…" }
            count += 1
            if keepingLineBreaks && (u == "\n" || u == "\t") || !Printable.isUnsafe(u) {
                out.append(u)
            } else {
                out.append(contentsOf: String(format: "\\u{%X}", u.value).unicodeScalars)
            }
        }
        return String(out)
    }

    /// Every line feed a space. (Foundation's `replacingOccurrences`, used
    /// before, matched by characters and left a line feed followed by a
    /// combining mark or an emoji modifier, which then showed as `\u{A}`.)
    static func referenceOneLine(_ s: String, max: Int) -> String {
        let spaced = String(s.unicodeScalars.map { $0 == "\n" ? " " : Character($0) })
        let flat = referenceEscape(spaced, keepingLineBreaks: false, max: nil)
        return flat.count > max ? String(flat.prefix(max - 1)) + "…" : flat
    }

    func testEscapeAndOneLineEqualTheirPlainReadings() {
        let alphabet: [Unicode.Scalar] = ["a", " ", "\n", "\r", "\t", "\u{1B}", "\u{7F}", "\u{85}", "\u{9F}", "\u{A0}", "\u{061C}", "\u{200E}",
                                          "\u{202E}", "\u{2066}", "\u{301}", "黨", "員", "𠀋", "😷", "\u{1F3FD}", "é"]
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<3000 {
            let s = String(String.UnicodeScalarView((0..<Int.random(in: 0...40, using: &generator)).map { _ in
                alphabet.randomElement(using: &generator) ?? "a"
            }))
            let max = Int.random(in: 1...30, using: &generator)
            for keep in [false, true] {
                for limit in [nil, max] as [Int?] {
                    XCTAssertEqual(Printable.escape(s, keepingLineBreaks: keep, max: limit),
                                   Self.referenceEscape(s, keepingLineBreaks: keep, max: limit), s.debugDescription)
                }
            }
            XCTAssertEqual(Format.oneLine(s, max: max), Self.referenceOneLine(s, max: max), s.debugDescription)
        }
    }
}
