import Foundation
@testable import MarginCLI
import MarginCore
import XCTest

/// Issue 23, "From trying to break it": files that must never reach a store,
/// through the real `margin` binary.
final class HostileFileTests: CLITestCase {
    /// `appendix.txt → ../.ssh/id_ed25519` in a folder of reports imported
    /// the SSH key as a report, which then synced to the team; a link to the
    /// store's own `node.key` worked the same.
    func testAFolderImportFollowsNoLinkOutOfTheFolderAndNeverReadsTheStore() throws {
        XCTAssertEqual(try binary(["init", "--name", "alice"]).code, 0)
        let reports = try folder("reports"), secrets = try folder("ssh")
        try "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n"
            .write(toFile: secrets + "/id_ed25519", atomically: true, encoding: .utf8)
        try "曲麻萊縣成立16個臨時黨支部,159名黨員參加。".write(toFile: reports + "/report.txt", atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: reports + "/appendix.txt", withDestinationPath: "../ssh/id_ed25519")
        try FileManager.default.createSymbolicLink(atPath: reports + "/key.txt", withDestinationPath: cwd + "/.margin/node.key")
        try FileManager.default.createDirectory(atPath: reports + "/inner", withIntermediateDirectories: true)
        try "內層報告,共有12名黨員。".write(toFile: reports + "/inner/b.txt", atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: reports + "/same.txt", withDestinationPath: "inner/b.txt")
        for raw in [false, true] {
            let r = try binary(["import"] + (raw ? ["--raw"] : []) + ["reports"])
            XCTAssertEqual(r.code, 0, r.err)
            XCTAssertTrue(r.err.contains("skipped appendix.txt: a link to a file outside reports"), r.err)
            XCTAssertTrue(r.err.contains("skipped key.txt"), r.err)
        }
        let list = try binary(["list", "--json"])
        XCTAssertFalse(list.out.contains("OPENSSH"), list.out)
        XCTAssertEqual(list.out.split(separator: "\n").count, 2, list.out)   // report.txt and inner/b.txt (same.txt is b.txt)
        let export = try binary(["export"])
        XCTAssertFalse(export.out.contains("PRIVATE KEY"))
        XCTAssertFalse(export.out.contains(try String(contentsOfFile: cwd + "/.margin/node.key", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
        // Named outright, a store file is refused, and nothing is written.
        let before = try binary(["digest"]).out
        let named = try binary(["import", "--raw", ".margin/node.key"])
        XCTAssertEqual(named.code, 1)
        XCTAssertTrue(named.err.contains("a file of the store itself"), named.err)
        XCTAssertEqual(try binary(["digest"]).out, before)
    }

    /// A killed `check` left a full copy of the store in the shared
    /// temporary folder. The copy is made inside the store's own folder,
    /// and one left by a killed check is removed by the next.
    func testCheckKeepsItsScratchCopyInsideTheStore() throws {
        XCTAssertEqual(try binary(["init", "--name", "alice"]).code, 0)
        XCTAssertEqual(try binary(["import", CLITestCase.samples.appendingPathComponent("reports").path]).code, 0)
        let stale = cwd + "/.margin/.check-0123abcd"
        try FileManager.default.createDirectory(atPath: stale, withIntermediateDirectories: true)
        try "left by a killed check".write(toFile: stale + "/margin.sqlite", atomically: true, encoding: .utf8)
        let tmp = cwd + "/tmp-never-made"
        let r = try binary(["check"], env: ["TMPDIR": tmp])
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertFalse(FileManager.default.fileExists(atPath: tmp), "check wrote into the temporary folder")
        XCTAssertFalse(FileManager.default.fileExists(atPath: stale))
        let left = try FileManager.default.contentsOfDirectory(atPath: cwd + "/.margin").filter { $0.hasPrefix(".check-") }
        XCTAssertEqual(left, [])
    }

    /// 52 base32 letters whose last letter has spare bits set were taken as
    /// a passphrase, byte for byte, while a peer that decodes the letters
    /// (and ignores those bits, as common decoders do) keys another secret.
    func testAGeneratedLookingSecretWithSpareBitsSetIsRefused() throws {
        XCTAssertEqual(try binary(["init", "--name", "alice"]).code, 0)
        let file = cwd + "/secret"
        try (String(repeating: "A", count: 51) + "B").write(toFile: file, atomically: true, encoding: .utf8)
        chmod(file, 0o600)
        let r = try binary(["sync", "127.0.0.1:9", "--secret-file", file])
        XCTAssertEqual(r.code, 1)
        XCTAssertTrue(r.err.contains("spare bits are set"), r.err)
        XCTAssertEqual(r.err.split(separator: "\n").count, 1, r.err)
    }
}
