import Foundation
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
}
