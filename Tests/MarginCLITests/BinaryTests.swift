import Foundation
@testable import MarginCLI
import XCTest

/// The real `margin` executable, as a user runs it.
final class BinaryTests: CLITestCase {
    func testEndToEndWithTheBinary() throws {
        var r = try binary(["init", "--name", "field-laptop"])
        XCTAssertEqual(r.code, 0, r.err)
        r = try binary(["import", CLITestCase.samples.appendingPathComponent("reports").path])
        XCTAssertEqual(r.code, 0, r.err)
        r = try binary(["codes", "add", "volunteers", "--colour", "green"])
        XCTAssertEqual(r.code, 0, r.err)
        r = try binary(["search", "志愿服务队"])
        XCTAssertEqual(r.code, 0)
        let id = try XCTUnwrap(r.out.split(separator: " ").first.map(String.init))
        r = try binary(["annotate", id, "--code", "volunteers", "--quote", "志愿服务队312支", "--occurrence", "2", "--value", "312"])
        XCTAssertEqual(r.code, 0, r.err)
        r = try binary(["show", id], env: ["NO_COLOR": "1"])
        XCTAssertTrue(r.out.contains("⟦志愿服務隊312支⟧{volunteers}"), r.out)
        r = try binary(["show", id, "--json"])
        XCTAssertNoThrow(try JSONSerialization.jsonObject(with: Data(r.out.utf8)))
        r = try binary(["annotate", id, "--code", "volunteers"])
        XCTAssertEqual(r.code, 64)
        r = try binary(["show", "0000000000"])
        XCTAssertEqual(r.code, 1)
        XCTAssertEqual(r.err.split(separator: "\n").count, 1, r.err)
        r = try binary(["--version"])
        XCTAssertTrue(r.out.hasPrefix("margin "))
    }

    /// `--store` and `MARGIN_STORE` take a path as the shell does: relative
    /// to the working folder, `.` and `..` and doubled slashes taken out by
    /// the text, a symbolic link on the way followed as given.
    func testAStorePathIsTakenAsTheShellTakesIt() throws {
        XCTAssertEqual(try binary(["init", "--name", "p"], in: try folder("real")).code, 0)
        try FileManager.default.createSymbolicLink(atPath: dir.appendingPathComponent("linked").path, withDestinationPath: dir.appendingPathComponent("real").path)
        _ = try folder("elsewhere/deeper")
        for given in ["../../linked", "../..//linked/./", "../../real/../linked/.margin"] {
            let r = try binary(["--store", given, "status"], in: dir.appendingPathComponent("elsewhere/deeper").path)
            XCTAssertEqual(r.code, 0, "\(given): \(r.err)")
            XCTAssertTrue(r.out.contains("node"), r.out)
        }
        let env = try binary(["status"], in: dir.appendingPathComponent("elsewhere").path, env: ["MARGIN_STORE": "..//linked/"])
        XCTAssertEqual(env.code, 0, env.err)
        let missing = try binary(["--store", "../nothing/..", "status"], in: dir.appendingPathComponent("elsewhere/deeper").path)
        XCTAssertEqual(missing.code, 1)
        XCTAssertEqual(missing.err.split(separator: "\n").count, 1, missing.err)
        // With no path given, the nearest .margin/ upwards from the working
        // folder, whose path may itself run through a link.
        _ = try folder("real/a/b")
        let below = try binary(["status"], in: dir.appendingPathComponent("linked/a/b").path)
        XCTAssertEqual(below.code, 0, below.err)
        let none = try binary(["status"], in: dir.appendingPathComponent("elsewhere/deeper").path)
        XCTAssertEqual(none.code, 1)
        XCTAssertTrue(none.err.contains("no Margin store here or in any parent folder"), none.err)
        XCTAssertEqual(none.err.split(separator: "\n").count, 1, none.err)
    }

    func testAPathIsMadeAbsoluteByItsTextAlone() {
        let context = Context(console: Console(out: { _ in }, err: { _ in }), environment: [:], workingDirectory: "/w/x")
        XCTAssertEqual(context.absolute("a/./b/../c"), "/w/x/a/c")
        XCTAssertEqual(context.absolute("/y//z/"), "/y/z")
        XCTAssertEqual(context.absolute("../../.."), "/")
        XCTAssertEqual(context.absolute(""), "/w/x")
        XCTAssertEqual(context.absolute("~"), NSString(string: "~").expandingTildeInPath)
        XCTAssertEqual(context.absolute("名單/黨員.txt"), "/w/x/名單/黨員.txt")
    }

    /// `margin log | head -1`: the reader goes away; margin must not crash.
    func testClosedPipeEndsOutputQuietly() throws {
        XCTAssertEqual(try binary(["init", "--name", "p"]).code, 0)
        XCTAssertEqual(try binary(["import", CLITestCase.samples.appendingPathComponent("reports").path]).code, 0)
        let exe = try XCTUnwrap(CLITestCase.binary)
        let p = Process()
        p.executableURL = exe
        p.arguments = ["log", "-n", "0"]
        p.currentDirectoryURL = dir
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = FileHandle.nullDevice
        try p.run()
        try pipe.fileHandleForReading.close()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationReason, .exit, "not killed by a signal or a trap")
        XCTAssertEqual(p.terminationStatus, 0)
    }

    /// The binary is position-independent, so the kernel loads it at a
    /// random address: a program that reads hostile peers' bytes keeps
    /// address randomisation (README, Performance: a static or
    /// position-dependent link starts faster and was declined for this).
    /// And through the binary itself: the login name `init` falls back to,
    /// and a host name to serve on and sync with.
    func testTheBinaryIsPositionIndependentAndResolvesNames() throws {
        let exe = try XCTUnwrap(CLITestCase.binary)
        let elf = try Data(contentsOf: exe)
        XCTAssertEqual(Array(elf.prefix(4)), [0x7f, 0x45, 0x4c, 0x46], "an ELF file")
        XCTAssertEqual(Int(elf[0x10]) | Int(elf[0x11]) << 8, 3, "ET_DYN: position-independent, so loaded at a random address")
        // Its relative relocations are packed (DT_RELR), so the loader
        // reads a bitmap of them rather than a table of 77,000 entries.
        XCTAssertTrue(try BinaryTests.dynamicTags(elf).contains(0x24), "DT_RELR: packed relative relocations")

        let alice = try folder("alice"), bob = try folder("bob")
        var r = try binary(["init"], in: alice, env: ["USER": "", "LOGNAME": ""])
        XCTAssertEqual(r.code, 0, r.err)
        let login = String(cString: try XCTUnwrap(getpwuid(getuid())?.pointee.pw_name))
        XCTAssertTrue(r.out.contains("(\(login))"), "the login name from the password database: \(r.out)")
        XCTAssertEqual(try binary(["init", "--name", "bob"], in: bob).code, 0)
        XCTAssertEqual(try binary(["import", CLITestCase.samples.appendingPathComponent("reports").path], in: alice).code, 0)
        let server = try MarginProcess(["serve", "--listen", "localhost:0"], in: alice)
        defer { _ = server.stop(SIGTERM) }
        let port = try XCTUnwrap(server.port(host: "localhost"), server.text)
        r = try binary(["sync", "localhost:\(port)"], in: bob)
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertTrue(r.out.contains("4 records"), r.out)
    }

    struct ELFError: Error { let why: String }

    /// The tags of a 64-bit little-endian ELF file's dynamic section, read
    /// through its program headers as the loader reads them.
    static func dynamicTags(_ elf: Data) throws -> [UInt64] {
        let bytes = [UInt8](elf)
        func word(_ at: Int, _ size: Int) throws -> UInt64 {
            guard at >= 0, at + size <= bytes.count else { throw ELFError(why: "a field at \(at) lies past the end") }
            return (0..<size).reduce(UInt64(0)) { $0 | UInt64(bytes[at + $1]) << (8 * UInt64($1)) }
        }
        XCTAssertEqual(bytes[4], 2, "ELFCLASS64")
        let phoff = Int(try word(0x20, 8)), phentsize = Int(try word(0x36, 2)), phnum = Int(try word(0x38, 2))
        for i in 0..<phnum {
            let header = phoff + i * phentsize
            guard try word(header, 4) == 2 else { continue } // PT_DYNAMIC
            let offset = Int(try word(header + 8, 8)), size = Int(try word(header + 32, 8))
            var tags: [UInt64] = []
            for entry in stride(from: offset, to: offset + size, by: 16) {
                let tag = try word(entry, 8)
                if tag == 0 { break } // DT_NULL
                tags.append(tag)
            }
            return tags
        }
        throw ELFError(why: "no dynamic section")
    }

    /// The environment as `getenv` reads it: each entry split at its first
    /// `=` byte. A value that begins with a combining mark makes `=` and the
    /// mark one Character, and a split by Characters lost the variable.
    func testTheEnvironmentIsSplitAtTheFirstEqualsByte() {
        let cases = ["MARGIN_TEST_MARK": "\u{301}store", "MARGIN_TEST_EQUALS": "a=b=", "MARGIN_TEST_EMPTY": ""]
        for (name, value) in cases { setenv(name, value, 1) }
        defer { for name in cases.keys { unsetenv(name) } }
        let environment = processEnvironment()
        for (name, value) in cases {
            XCTAssertEqual(environment[name], value, name)
            XCTAssertEqual(environment[name], String(cString: getenv(name)), "as getenv reads it: \(name)")
        }
    }
}
