import Foundation
import MarginCore
import XCTest

/// Team secrets, the listen address, a server under a pre-authentication
/// flood, and searches that cannot exhaust memory: through the real binary.
final class SecurityCLITests: CLITestCase {
    func testSecretNewWritesAFullStrengthSecretWithMode600() throws {
        let file = dir.appendingPathComponent("team.secret").path
        var r = try binary(["secret", "new", file])
        XCTAssertEqual(r.code, 0, r.err)
        var st = stat()
        XCTAssertEqual(stat(file, &st), 0)
        XCTAssertEqual(st.st_mode & 0o777, 0o600)
        let text = try String(contentsOfFile: file, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let groups = text.split(separator: "-")
        XCTAssertEqual(groups.count, 13, text)
        XCTAssertTrue(groups.allSatisfy { $0.count == 4 && $0.allSatisfy { "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".contains($0) } }, text)
        XCTAssertFalse(r.out.contains(text), "a secret written to a file is not also printed")
        // Never overwritten.
        r = try binary(["secret", "new", file])
        XCTAssertEqual(r.code, 1)
        XCTAssertTrue(r.err.contains("exists already"), r.err)
        XCTAssertEqual(try String(contentsOfFile: file, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines), text)
        // Printed when no file is named; two secrets differ.
        let a = try binary(["secret", "new"]).out, b = try binary(["secret", "new"]).out
        XCTAssertEqual(a.trimmingCharacters(in: .newlines).count, 64)
        XCTAssertNotEqual(a, b)
        XCTAssertEqual(try binary(["secret"]).code, 64)
        XCTAssertEqual(try binary(["secret", "old"]).code, 64)
    }

    /// `MARGIN_SECRET` with a trailing newline (as `$(cat file)` or an editor
    /// leaves it) works against the same secret in a file; the generated
    /// form may be typed in lower case with spaces; a passphrase works with
    /// a warning that names the risk.
    func testSecretsAreTrimmedAndWeakOnesWarned() throws {
        let a = try folder("a"), b = try folder("b")
        XCTAssertEqual(try binary(["init", "--name", "a"], in: a).code, 0)
        XCTAssertEqual(try binary(["init", "--name", "b"], in: b).code, 0)
        let file = dir.appendingPathComponent("team.secret").path
        XCTAssertEqual(try binary(["secret", "new", file]).code, 0)
        let secret = try String(contentsOfFile: file, encoding: .utf8)
        let server = try MarginProcess(["serve", "--listen", "127.0.0.1:0", "--secret-file", file], in: a)
        let port = try XCTUnwrap(server.port(), server.text)
        XCTAssertFalse(server.text.contains("warning"), server.text)
        var r = try binary(["sync", "127.0.0.1:\(port)"], in: b, env: ["MARGIN_SECRET": secret + "\n"])
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertEqual(r.err, "", "a generated secret draws no warning")
        let typed = secret.trimmingCharacters(in: .whitespacesAndNewlines).lowercased().replacingOccurrences(of: "-", with: " ")
        r = try binary(["sync", "127.0.0.1:\(port)"], in: b, env: ["MARGIN_SECRET": typed])
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertEqual(server.stop(SIGINT), 0)

        let weak = try MarginProcess(["serve", "--listen", "127.0.0.1:0"], in: a, env: ["MARGIN_SECRET": "zebra-7-quartz"])
        let weakPort = try XCTUnwrap(weak.port(), weak.text)
        XCTAssertTrue(weak.text.contains("warning: the team secret is a passphrase"), weak.text)
        r = try binary(["sync", "127.0.0.1:\(weakPort)"], in: b, env: ["MARGIN_SECRET": "  zebra-7-quartz\n"])
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertTrue(r.err.contains("test guesses against one sync offline"), r.err)
        r = try binary(["sync", "127.0.0.1:\(weakPort)"], in: b, env: ["MARGIN_SECRET": "   \n"])
        XCTAssertEqual(r.code, 1)
        XCTAssertTrue(r.err.contains("MARGIN_SECRET holds only blanks"), r.err)
        XCTAssertEqual(weak.stop(SIGINT), 0)
    }

    /// "0" is a name for 0.0.0.0, every interface: refused without a
    /// secret, though it does not look like an address at all.
    func testListenAddressIsCheckedOnceResolved() throws {
        let a = try folder("a")
        XCTAssertEqual(try binary(["init", "--name", "a"], in: a).code, 0)
        let r = try binary(["serve", "--listen", "0:0"], in: a)
        XCTAssertEqual(r.code, 1)
        XCTAssertTrue(r.err.contains("not a loopback address once resolved"), r.err)
        // 127.1 is a loopback address written short: served.
        let server = try MarginProcess(["serve", "--listen", "127.1:0"], in: a)
        XCTAssertTrue(server.wait(for: { $0.contains("serving a on") }), server.text)
        XCTAssertEqual(server.stop(SIGINT), 0)
    }

    static func residentMegabytes(_ pid: Int32) -> Double? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
              let kb = Double(line.split(separator: " ").dropFirst().first ?? "") else { return nil }
        return kb / 1024
    }

    /// Sixteen clients each announce a 16 MiB first frame and send it: the
    /// server refuses each at its 4-byte length, its memory stays flat, and
    /// a colleague syncs afterwards.
    func testOversizedFramesBeforeAuthenticationCostTheServerNothing() throws {
        let a = try folder("a"), b = try folder("b")
        XCTAssertEqual(try binary(["init", "--name", "a"], in: a).code, 0)
        XCTAssertEqual(try binary(["init", "--name", "b"], in: b).code, 0)
        let server = try MarginProcess(["serve", "--listen", "127.0.0.1:0"], in: a)
        let port = try XCTUnwrap(UInt16(try XCTUnwrap(server.port(), server.text)))
        let before = try XCTUnwrap(SecurityCLITests.residentMegabytes(server.pid))
        let group = DispatchGroup()
        for _ in 0..<16 {
            group.enter()
            Thread.detachNewThread {
                defer { group.leave() }
                guard let fd = CLITestCase.connectLoopback(port) else { return }
                defer { close(fd) }
                var frame: [UInt8] = [0x01, 0x00, 0x00, 0x00, 0x01] + Array("MRGN".utf8) + [0, 4]
                frame += [UInt8](repeating: 0x41, count: 1 << 20)
                for _ in 0..<16 where send(fd, frame, frame.count, Int32(MSG_NOSIGNAL)) > 0 {
                    frame = [UInt8](repeating: 0x41, count: 1 << 20)
                }
            }
        }
        XCTAssertEqual(group.wait(timeout: .now() + 60), .success)
        let after = try XCTUnwrap(SecurityCLITests.residentMegabytes(server.pid))
        XCTAssertLessThan(after - before, 40, "the server grew from \(before) MB to \(after) MB")
        // What such a client is told: the limit, before anything else.
        let probe = try XCTUnwrap(CLITestCase.connectLoopback(port))
        defer { close(probe) }
        let header: [UInt8] = [0x01, 0x00, 0x00, 0x00, 0x01] + Array("MRGN".utf8) + [0, 4]
        XCTAssertEqual(send(probe, header, header.count, Int32(MSG_NOSIGNAL)), header.count)
        var reply = [UInt8](repeating: 0, count: 512), got = 0
        while got < reply.count {
            let n = reply.withUnsafeMutableBytes { recv(probe, $0.baseAddress! + got, $0.count - got, 0) }
            if n <= 0 { break }
            got += n
        }
        XCTAssertTrue(String(decoding: reply[0..<got], as: UTF8.self).contains("over the limit of 4096"), "\(reply[0..<got])")
        let r = try binary(["sync", "127.0.0.1:\(port)"], in: b)
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertEqual(server.stop(SIGINT), 0)
        // At most the first line and the count of the burst from 127.0.0.1,
        // not one line per connection.
        let lines = server.text.split(separator: "\n").filter { $0.contains("127.0.0.1") && !$0.contains("synced") && !$0.contains("serving") }
        XCTAssertLessThanOrEqual(lines.count, 2, server.text)
    }

    /// Runs the binary with its output in a file; returns the exit status,
    /// the output, and its peak resident memory in MB (from wait4).
    func measured(_ args: [String], in folder: String) throws -> (code: Int32, out: String, err: String, peakMB: Double) {
        guard let exe = CLITestCase.binary else { throw XCTSkip("margin binary not built") }
        let outPath = dir.appendingPathComponent("out-\(UUID().uuidString)").path
        let errPath = outPath + ".err"
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        // The direct child's ru_maxrss counts the test process's own memory
        // (posix_spawn shares it until exec), which grows as the suite
        // runs: GNU time, when present, measures margin alone, as a
        // grandchild forked from a small process.
        let memPath = outPath + ".mem"
        let timed = FileManager.default.isExecutableFile(atPath: "/usr/bin/time")
        let argv = (timed ? ["/usr/bin/time", "-o", memPath, "-f", "%M"] : []) + [exe.path, "--store", folder + "/.margin"] + args
        var cargs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { cargs.forEach { free($0) } }
        var pid: pid_t = 0
        guard posix_spawn(&pid, argv[0], &actions, nil, &cargs, environ) == 0 else { throw XCTSkip("cannot spawn") }
        var status: Int32 = 0
        var usage = rusage()
        while wait4(pid, &status, 0, &usage) < 0 && errno == EINTR {}
        let code = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        var peakKB = Double(usage.ru_maxrss)
        if timed, let text = try? String(contentsOfFile: memPath, encoding: .utf8),
           let kb = text.split(whereSeparator: \.isNewline).last.flatMap({ Double($0.trimmingCharacters(in: .whitespaces)) }) {
            peakKB = kb
        }
        return (code, try String(contentsOfFile: outPath, encoding: .utf8), try String(contentsOfFile: errPath, encoding: .utf8),
                peakKB / 1024)
    }

    /// A 30,000-character query is refused at once; long and common queries
    /// on a large record stay within a modest, fixed amount of memory, and
    /// `--json` streams every match.
    func testSearchIsBoundedInLengthAndMemory() throws {
        let a = try folder("a")
        XCTAssertEqual(try binary(["init", "--name", "a"], in: a).code, 0)
        // A large report: a paragraph of the seeds' kind, many times over.
        let paragraph = "曲麻萊縣迅速成立了16個臨時黨支部,共有159名黨員加入其中,全縣共抽調354名幹部下沉一線。"
        let line = String(repeating: paragraph, count: 5)
        let body = (0..<6_500).map { "第\($0)段:" + line }.joined(separator: "\n\n")   // about 3.8 MB (a value holds at most 4 MiB)
        try Data(body.utf8).write(to: dir.appendingPathComponent("big.txt"))
        let imported = try binary(["import", dir.appendingPathComponent("big.txt").path], in: a)
        XCTAssertEqual(imported.code, 0, imported.err)

        let huge = String(repeating: paragraph, count: 700)   // about 30,000 characters
        var r = try measured(["search", huge], in: a)
        XCTAssertEqual(r.code, 64, r.err)
        XCTAssertTrue(r.err.contains("at most 200"), r.err)
        XCTAssertEqual(r.err.split(separator: "\n").count, 2, "the error and the usage line")

        let long = String(line.prefix(200))
        r = try measured(["search", long], in: a)
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertTrue(r.out.contains("in body"), r.out)
        let longPeak = r.peakMB
        r = try measured(["search", "黨員", "--json"], in: a)
        XCTAssertEqual(r.code, 0, r.err)
        let json = try XCTUnwrap(r.out.split(separator: "\n").first)
        XCTAssertTrue(json.hasPrefix("{\"match_count\":32500,\"matches\":[{\"end\":"), String(json.prefix(80)))
        XCTAssertEqual(json.components(separatedBy: "\"start\"").count - 1, 32_500, "every match is listed")
        XCTAssertLessThan(max(longPeak, r.peakMB), 200, "search used \(longPeak) MB and \(r.peakMB) MB")
    }
}
