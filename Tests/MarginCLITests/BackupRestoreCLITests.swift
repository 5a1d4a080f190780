import Foundation
import MarginCore
import XCTest

/// Issue "No silent loss", 1 and 2, as a user types them, through the real
/// binary and a real server on 127.0.0.1.
final class BackupRestoreCLITests: CLITestCase {
    func cp(_ from: String, _ to: String) throws {
        XCTAssertEqual(try CLITestCase.runCommand("/bin/cp", ["-a", from, to]), 0)
    }

    /// The repro: sync A with B; `cp -a .margin ../backup`; annotate and tag
    /// on A; sync; `rm -rf .margin; cp -a ../backup .margin`; annotate on A;
    /// sync. It printed "sent 0 changes", B never got the new annotation,
    /// `check` failed on A and the digests stayed different for good.
    func testRestoringABackupLosesNothing() throws {
        let a = try folder("alice"), b = try folder("bob")
        XCTAssertEqual(try binary(["init", "--name", "alice"], in: a).code, 0)
        XCTAssertEqual(try binary(["init", "--name", "bob"], in: b).code, 0)
        XCTAssertEqual(try binary(["codes", "import", CLITestCase.samples.appendingPathComponent("codebook.tsv").path], in: a).code, 0)
        let imported = try binary(["import", CLITestCase.samples.appendingPathComponent("reports/03-tongren-grid.txt").path], in: a)
        let record = try XCTUnwrap(firstID(imported.out, after: "imported"))
        let server = try MarginProcess(["serve", "--listen", "127.0.0.1:0"], in: b)
        let port = try XCTUnwrap(server.port(), server.text)
        let peer = "127.0.0.1:\(port)"
        XCTAssertEqual(try binary(["sync", peer], in: a).code, 0)

        try cp(a + "/.margin", dir.appendingPathComponent("backup").path)
        XCTAssertEqual(try binary(["annotate", record, "--code", "party-members", "--quote", "网格员", "--occurrence", "1"], in: a).code, 0)
        XCTAssertEqual(try binary(["tag", record, "checkpoints"], in: a).code, 0)
        XCTAssertEqual(try binary(["sync", peer], in: a).code, 0)

        try FileManager.default.removeItem(atPath: a + "/.margin")
        try cp(dir.appendingPathComponent("backup").path, a + "/.margin")
        let fresh = try binary(["note", record, "written after the restore"], in: a)
        XCTAssertEqual(fresh.code, 0, fresh.err)
        let r = try binary(["sync", peer], in: a)
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertTrue(r.out.contains("restored from a backup or copied"), "one line says what happened: \(r.out)")
        XCTAssertEqual(r.out.split(separator: "\n").filter { $0.contains("restored from a backup") }.count, 1)

        for f in [a, b] {
            let check = try binary(["check"], in: f)
            XCTAssertEqual(check.code, 0, "\(f): \(check.err)")
        }
        XCTAssertEqual(try binary(["digest"], in: a).out, try binary(["digest"], in: b).out)
        let list = try binary(["list", "--annotations"], in: b).out
        XCTAssertTrue(list.contains("note: written after the restore"), list)
        XCTAssertTrue(list.contains("checkpoints"), list)
        XCTAssertTrue(try binary(["list", "--annotations"], in: a).out.contains("网格员"), "alice has her lost annotation back")
        XCTAssertEqual(server.stop(SIGTERM), 0)
    }

    /// Field work with no network: a bundle carried on a USB stick, imported
    /// twice, and a second laptop set up with `init --from`.
    func testBundlesCarryWorkBetweenLaptops() throws {
        let a = try folder("alice"), b = try folder("bob"), c = try folder("laptop2")
        XCTAssertEqual(try binary(["init", "--name", "alice"], in: a).code, 0)
        XCTAssertEqual(try binary(["init", "--name", "bob"], in: b).code, 0)
        XCTAssertEqual(try binary(["codes", "import", CLITestCase.samples.appendingPathComponent("codebook.tsv").path], in: a).code, 0)
        XCTAssertEqual(try binary(["import", CLITestCase.samples.appendingPathComponent("reports").path], in: a).code, 0)
        let bundle = dir.appendingPathComponent("stick/alice.bundle").path
        try FileManager.default.createDirectory(atPath: dir.appendingPathComponent("stick").path, withIntermediateDirectories: true)
        let e = try binary(["export", "--log", "-o", bundle], in: a)
        XCTAssertEqual(e.code, 0, e.err)
        var r = try binary(["import", bundle], in: b)
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertTrue(r.out.contains("already held"), r.out)
        XCTAssertEqual(try binary(["digest"], in: a).out, try binary(["digest"], in: b).out)
        r = try binary(["import", bundle], in: b)
        XCTAssertTrue(r.out.contains(": 0 new"), "a second import changes nothing: \(r.out)")

        r = try binary(["init", "--name", "alice-laptop-2", "--from", a], in: c)
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertEqual(try binary(["digest"], in: c).out, try binary(["digest"], in: a).out)
        let ids = try [a, c].map { try binary(["status", "--json"], in: $0).out }
        XCTAssertNotEqual(ids[0], ids[1], "the new store has its own node id")
        XCTAssertEqual(try binary(["check"], in: c).code, 0)

        let bad = try binary(["init", "--from", dir.appendingPathComponent("nothing-here").path], in: try folder("d"))
        XCTAssertEqual(bad.code, 1)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("d/.margin/margin.sqlite").path),
                       "a bad source leaves no store behind")
        // A file that starts like a bundle but is not one whole: refused in
        // one line once the store was made, and nothing of it is left (its
        // key and its folder were left behind before).
        let broken = dir.appendingPathComponent("broken.bundle")
        try Data("MRGNBNDLxx".utf8).write(to: broken)
        let fresh = try folder("e")
        let refused = try binary(["init", "--from", broken.path], in: fresh)
        XCTAssertEqual(refused.code, 1)
        XCTAssertEqual(refused.err, "margin init: the bundle is truncated\n")
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("e/.margin").path), "no folder, key or store left")
        // Folders init would have made on the way are taken away too; one
        // that was there stays.
        let nested = try binary(["init", "--store", "x/y/z", "--from", broken.path], in: fresh)
        XCTAssertEqual(nested.code, 1)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: fresh), [])
    }

    /// `-o` naming a pipe, a device or a link (`-o /dev/null`, `-o
    /// /dev/stdout`) writes into it and leaves it there. Observed: `export --log -o
    /// /dev/null`, which wrote a temporary file and renamed it over the
    /// target, replaced the machine's /dev/null with a regular file, into
    /// which every later `> /dev/null` wrote, and from which a later
    /// `margin review < /dev/null` read those lines as its answers. Tried
    /// here on a pipe made for the test, read by `cat` as the bundle, the
    /// REFI project and the codebook go through it.
    func testAnOutputThatIsAPipeIsWrittenIntoAndLeftThere() throws {
        XCTAssertEqual(try binary(["init", "--name", "p"]).code, 0)
        XCTAssertEqual(try binary(["import", CLITestCase.samples.appendingPathComponent("reports").path]).code, 0)
        XCTAssertEqual(try binary(["codes", "add", "party-members"]).code, 0)
        let plain = dir.appendingPathComponent("plain.bundle").path
        XCTAssertEqual(try binary(["export", "--log", "-o", plain]).code, 0)
        for (args, expected) in [(["export", "--log"], try Data(contentsOf: URL(fileURLWithPath: plain))),
                                 (["export", "--format", "refi"], nil), (["codes", "export"], nil)] as [([String], Data?)] {
            let fifo = dir.appendingPathComponent("pipe").path
            unlink(fifo)
            XCTAssertEqual(mkfifo(fifo, 0o600), 0)
            let copy = dir.appendingPathComponent("read-from-pipe").path
            let cat = Process()
            cat.executableURL = URL(fileURLWithPath: "/bin/sh")
            cat.arguments = ["-c", "exec cat \"$0\" > \"$1\"", fifo, copy]
            try cat.run()
            let r = try binary(args + ["-o", fifo])
            var info = stat()
            let stillAPipe = stat(fifo, &info) == 0 && info.st_mode & S_IFMT == S_IFIFO
            XCTAssertTrue(stillAPipe, "\(args): the pipe is still a pipe")
            // Replaced, the pipe had no writer: its reader is stopped.
            if !stillAPipe { cat.terminate() }
            cat.waitUntilExit()
            XCTAssertEqual(r.code, 0, "\(args): \(r.err)")
            let read = (try? Data(contentsOf: URL(fileURLWithPath: copy))) ?? Data()
            if let expected { XCTAssertEqual(read, expected, "\(args): the bundle, byte for byte") } else { XCTAssertFalse(read.isEmpty, "\(args)") }
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.contains(".margin-") }, [], "no temporary file left")
        }
        // A link (as /dev/stdout is one, to /proc/self/fd/1) is written
        // through, as a shell's `>` writes, and stays a link: renamed over,
        // it had become a file of its own.
        let target = dir.appendingPathComponent("target.bundle").path, link = dir.appendingPathComponent("link.bundle").path
        try Data("old".utf8).write(to: URL(fileURLWithPath: target))
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target)
        XCTAssertEqual(try binary(["export", "--log", "-o", link]).code, 0)
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: link), target, "still a link")
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: target)), try Data(contentsOf: URL(fileURLWithPath: plain)), "the bundle, through the link")
    }
}
