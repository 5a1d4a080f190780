import Foundation
import MarginCore
import XCTest

/// A real full disk under the real binary: the store lives on a small tmpfs
/// that a filler file has all but used up.
final class DiskFullCLITests: CLITestCase {
    func testImportOnAFullDiskFailsWithOneLineAndTheStoreCarriesOn() throws {
        let mountPoint = dir.appendingPathComponent("small").path
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        guard getuid() == 0, FileManager.default.isExecutableFile(atPath: "/bin/mount"),
              try CLITestCase.runCommand("/bin/mount", ["-t", "tmpfs", "-o", "size=32m", "tmpfs", mountPoint]) == 0 else {
            throw XCTSkip("needs root and a mountable tmpfs to fill a disk for real")
        }
        defer { _ = try? CLITestCase.runCommand("/bin/umount", [mountPoint]) }
        XCTAssertEqual(try binary(["init", "--name", "full"], in: mountPoint).code, 0)
        XCTAssertEqual(try binary(["import", CLITestCase.samples.appendingPathComponent("reports").path], in: mountPoint).code, 0)
        let before = try storeState(mountPoint)

        // A report of about 1 MB, and a disk with about 300 KB left.
        let big = dir.appendingPathComponent("big.txt").path
        let lines = (0..<9000).map { "第\($0)段:全縣共抽調354名幹部,組成16個工作組,深入各村開展排查,共有159名黨員參與值守。" }
        try Data(("大報告\n\n" + lines.joined(separator: "\n")).utf8).write(to: URL(fileURLWithPath: big))
        let filler = mountPoint + "/filler"
        XCTAssertTrue(FileManager.default.createFile(atPath: filler, contents: nil))
        let handle = try XCTUnwrap(FileHandle(forWritingAtPath: filler))
        func free() throws -> Int {
            try FileManager.default.attributesOfFileSystem(forPath: mountPoint)[.systemFreeSize] as? Int ?? 0
        }
        while try free() > 320 << 10 { try handle.write(contentsOf: Data(count: 64 << 10)) }
        try handle.close()
        XCTAssertLessThan(try free(), 512 << 10)

        let r = try binary(["import", big], in: mountPoint)
        XCTAssertEqual(r.code, 1, r.out)
        XCTAssertTrue(r.err.contains("disk is full"), r.err)
        XCTAssertEqual(r.err.split(separator: "\n").count, 1, r.err)
        let after = try storeState(mountPoint)
        XCTAssertEqual(after.changes, before.changes, "nothing of the failed import was kept")
        XCTAssertEqual(after.digest, before.digest)

        // Not a byte left: even a read, which needs SQLite's shared-memory
        // file, says the disk is full (it said "disk I/O error (SQLite code
        // 4874)").
        let last = mountPoint + "/last"
        XCTAssertTrue(FileManager.default.createFile(atPath: last, contents: nil))
        let rest = try XCTUnwrap(FileHandle(forWritingAtPath: last))
        while (try? rest.write(contentsOf: Data(count: 4 << 10))) != nil, try free() > 0 {}
        try? rest.close()
        let read = try binary(["status"], in: mountPoint)
        XCTAssertEqual(read.code, 1)
        XCTAssertTrue(read.err.contains("disk is full"), read.err)
        XCTAssertFalse(read.err.contains("I/O error"), read.err)
        try FileManager.default.removeItem(atPath: last)

        // Room again: the store is sound and takes the same import.
        try FileManager.default.removeItem(atPath: filler)
        let check = try binary(["check"], in: mountPoint)
        XCTAssertEqual(check.code, 0, check.err)
        let again = try binary(["import", big], in: mountPoint)
        XCTAssertEqual(again.code, 0, again.err)
        XCTAssertGreaterThan(try storeState(mountPoint).changes, before.changes)
    }
}
