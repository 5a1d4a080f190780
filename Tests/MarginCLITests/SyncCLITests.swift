import Foundation
import MarginCore
import XCTest

final class SyncCLITests: CLITestCase {
    func testTwoNodesThroughTheBinary() throws {
        let alice = try folder("alice"), bob = try folder("bob")
        XCTAssertEqual(try binary(["init", "--name", "alice"], in: alice).code, 0)
        XCTAssertEqual(try binary(["init", "--name", "bob"], in: bob).code, 0)
        XCTAssertEqual(try binary(["codes", "import", CLITestCase.samples.appendingPathComponent("codebook.tsv").path], in: alice).code, 0)
        XCTAssertEqual(try binary(["import", CLITestCase.samples.appendingPathComponent("reports").path], in: alice).code, 0)
        let server = try MarginProcess(["serve", "--listen", "127.0.0.1:0"], in: alice)
        let port = try XCTUnwrap(server.port(), server.text)
        XCTAssertTrue(server.text.contains("loopback only"))

        var r = try binary(["sync", "127.0.0.1:\(port)"], in: bob)
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertTrue(r.out.contains("synced with alice"), r.out)
        XCTAssertTrue(r.out.contains("4 records"), r.out)

        // The same record coded by both, then the same field changed by both.
        let search = try binary(["search", "高原防疫卡點", "--json"], in: bob).out
        let firstHit = try XCTUnwrap(search.split(separator: "\n").first, "search found nothing")
        let record = try XCTUnwrap((try JSONSerialization.jsonObject(with: Data(firstHit.utf8)) as? [String: Any])?["record"] as? String)
        r = try binary(["annotate", String(record.prefix(8)), "--code", "cadres", "--quote", "機關幹部212名", "--value", "212"], in: bob)
        XCTAssertEqual(r.code, 0, r.err)
        let annotation = try XCTUnwrap(r.out.split(separator: " ").dropFirst().first.map(String.init))
        XCTAssertEqual(try binary(["sync", "127.0.0.1:\(port)"], in: bob).code, 0)
        // bob's figure is his coding: alice may not change it, but both
        // may set the report's place, which they do at once.
        let refused = try binary(["edit", annotation, "--value", "210"], in: alice)
        XCTAssertEqual(refused.code, 1)
        XCTAssertTrue(refused.err.contains("bob's coding"), refused.err)
        let rid = String(record.prefix(8))
        XCTAssertEqual(try binary(["edit", rid, "--place", "瑪多縣花石峽鎮"], in: alice).code, 0)
        XCTAssertEqual(try binary(["edit", rid, "--place", "果洛州瑪多縣"], in: bob).code, 0)
        r = try binary(["sync", "127.0.0.1:\(port)"], in: bob)
        XCTAssertTrue(r.out.contains("1 new conflict"), r.out)

        let listA = try binary(["conflicts"], in: alice), listB = try binary(["conflicts"], in: bob)
        XCTAssertEqual(listA.out, listB.out, "the same conflict on both nodes")
        let conflict = try XCTUnwrap(listB.out.split(separator: " ").first.map(String.init))
        let shown = try binary(["conflicts", "show", conflict], in: bob)
        XCTAssertTrue(shown.out.contains("瑪多縣花石峽鎮") && shown.out.contains("果洛州瑪多縣"), shown.out)
        XCTAssertTrue(shown.out.contains("by alice") && shown.out.contains("by bob"), shown.out)
        r = try binary(["resolve", conflict, "--value", "瑪多縣", "--comment", "the county, as the report names it"], in: bob)
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertEqual(try binary(["sync", "127.0.0.1:\(port)"], in: bob).code, 0)
        XCTAssertTrue(try binary(["conflicts"], in: alice).err.contains("no open conflicts"))
        XCTAssertTrue(try binary(["conflicts", "--all"], in: alice).out.contains("resolved"))
        XCTAssertEqual(try binary(["digest"], in: alice).out, try binary(["digest"], in: bob).out)
        let peers = try binary(["peers"], in: bob)
        XCTAssertTrue(peers.out.contains("alice"), peers.out)
        XCTAssertTrue(peers.out.contains("they have"), peers.out)

        XCTAssertEqual(server.stop(SIGTERM), 0, "SIGTERM stops the server cleanly")
        XCTAssertTrue(server.text.contains("stopped"), server.text)
        XCTAssertTrue(server.text.contains("synced with bob"), server.text)
    }

    /// Issue 25: a long sync showed nothing until it ended. On a terminal,
    /// standard error carries one progress line, rewritten in place and
    /// cleared at the end; piped, there is none.
    func testAProgressLineOnATerminalAndNoneWhenPiped() throws {
        guard let binaryURL = CLITestCase.binary else { throw XCTSkip("the margin binary is not built") }
        let alice = try folder("alice"), bob = try folder("bob"), carol = try folder("carol")
        XCTAssertEqual(try binary(["init", "--name", "alice"], in: alice).code, 0)
        XCTAssertEqual(try binary(["import", "--quiet", CLITestCase.samples.appendingPathComponent("reports").path], in: alice).code, 0)
        let server = try MarginProcess(["serve", "--listen", "127.0.0.1:0"], in: alice)
        defer { _ = server.stop(SIGTERM) }
        let port = try XCTUnwrap(server.port(), server.text)
        // Piped: the report alone.
        XCTAssertEqual(try binary(["init", "--name", "carol"], in: carol).code, 0)
        let piped = try binary(["sync", "127.0.0.1:\(port)"], in: carol)
        XCTAssertEqual(piped.code, 0, piped.err)
        XCTAssertFalse(piped.err.contains("syncing:"), piped.err)
        // Standard error on a terminal.
        XCTAssertEqual(try binary(["init", "--name", "bob"], in: bob).code, 0)
        var master: Int32 = -1, slave: Int32 = -1
        XCTAssertEqual(openpty(&master, &slave, nil, nil, nil), 0)
        defer { close(master) }
        let p = Process()
        p.executableURL = binaryURL
        p.arguments = ["sync", "127.0.0.1:\(port)"]
        p.currentDirectoryURL = URL(fileURLWithPath: bob)
        p.environment = ["HOME": bob, "TERM": "xterm", "PATH": "/usr/bin:/bin"]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle(fileDescriptor: slave, closeOnDealloc: false)
        try p.run()
        close(slave)
        var terminal = ""
        while true {
            var buffer = [UInt8](repeating: 0, count: 4096)
            let n = read(master, &buffer, buffer.count)
            if n <= 0 { break }
            terminal += String(decoding: buffer[0..<n], as: UTF8.self)
        }
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0)
        XCTAssertTrue(terminal.contains("\r\u{1B}[Ksyncing: sent 0, received "), terminal)
        XCTAssertTrue(terminal.contains("changes ("), terminal)
        XCTAssertTrue(terminal.hasSuffix("\r\u{1B}[K"), "the line is cleared at the end: \(terminal.debugDescription)")
        let report = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertTrue(report.contains("synced with alice"), report)
    }

    func testServeRefusesUnsafeSetups() throws {
        let a = try folder("a")
        XCTAssertEqual(try binary(["init", "--name", "a"], in: a).code, 0)
        var r = try binary(["serve", "--listen", "0.0.0.0:0"], in: a)
        XCTAssertEqual(r.code, 1)
        XCTAssertTrue(r.err.contains("without a team secret"), r.err)
        let secret = dir.appendingPathComponent("secret")
        try Data("zebra-7-quartz\n".utf8).write(to: secret)
        chmod(secret.path, 0o644)
        r = try binary(["serve", "--listen", "0.0.0.0:0", "--secret-file", secret.path], in: a)
        XCTAssertEqual(r.code, 1)
        XCTAssertTrue(r.err.contains("readable by others"), r.err)
        XCTAssertFalse(r.err.contains("zebra-7-quartz"), "the secret is never printed")
        chmod(secret.path, 0o600)
        let server = try MarginProcess(["serve", "--listen", "127.0.0.1:0", "--secret-file", secret.path], in: a)
        let port = try XCTUnwrap(server.port(), server.text)
        XCTAssertTrue(server.text.contains("team secret required"))
        let b = try folder("b")
        XCTAssertEqual(try binary(["init", "--name", "b"], in: b).code, 0)
        r = try binary(["sync", "127.0.0.1:\(port)"], in: b)
        XCTAssertEqual(r.code, 1)
        XCTAssertTrue(r.err.contains("authentication failed"), r.err)
        r = try binary(["sync", "127.0.0.1:\(port)"], in: b, env: ["MARGIN_SECRET": "zebra-7-quartz"])
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertEqual(server.stop(SIGINT), 0)
        XCTAssertFalse(server.text.contains("zebra-7-quartz"))
        // Nor in any output, nor in either store's files.
        for folder in [a, b] {
            for args in [["peers", "--json"], ["status", "--json"], ["log", "--json"], ["export"], ["check", "--json"]] {
                let out = try binary(args, in: folder)
                XCTAssertFalse((out.out + out.err).contains("zebra-7-quartz"), "\(args)")
            }
            let files = try FileManager.default.contentsOfDirectory(atPath: folder + "/.margin")
            for f in files {
                let bytes = try Data(contentsOf: URL(fileURLWithPath: folder + "/.margin/" + f))
                XCTAssertNil(bytes.range(of: Data("zebra-7-quartz".utf8)), "the secret is not stored in \(f)")
            }
        }
    }

    func testSyncErrorsAndUsage() throws {
        XCTAssertEqual(try binary(["init", "--name", "x"]).code, 0)
        var r = try binary(["sync", "127.0.0.1:1"])
        XCTAssertEqual(r.code, 1)
        XCTAssertTrue(r.err.contains("connection refused"), r.err)
        XCTAssertEqual(r.err.split(separator: "\n").count, 1, r.err)
        r = try binary(["sync"])
        XCTAssertEqual(r.code, 64)
        r = try binary(["sync", "127.0.0.1:7433", "--pull-only", "--push-only"])
        XCTAssertEqual(r.code, 64)
        r = try binary(["sync", "127.0.0.1:notaport"])
        XCTAssertEqual(r.code, 64)
        r = try binary(["serve", "--max-sessions", "0"])
        XCTAssertEqual(r.code, 64)
    }
}
