import Foundation
import MarginCore
import XCTest

/// A store this user cannot write (here: the binary run as `nobody`, since
/// the tests run as root, for whom file modes do not stop writes). Reading
/// works; every write fails with one line, changes nothing, and the owner
/// can carry on.
final class ReadOnlyStoreTests: CLITestCase {
    static let nobody = 65534

    func testWritesFailCleanlyAndReadsWork() throws {
        guard getuid() == 0, FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv") else {
            throw XCTSkip("needs root and setpriv(1) to run margin as an unprivileged user")
        }
        chmod(cwd, 0o755)
        XCTAssertEqual(try binary(["init", "--name", "owner"]).code, 0)
        XCTAssertEqual(try binary(["codes", "add", "party"]).code, 0)
        let imported = try binary(["import", CLITestCase.samples.appendingPathComponent("reports").path])
        XCTAssertEqual(imported.code, 0, imported.err)
        let record = try XCTUnwrap(firstID(imported.out, after: "imported"))
        let before = try storeState()
        let stranger = { (args: [String]) throws -> CLIResult in
            try CLITestCase.runBinary(args, in: self.cwd, user: ReadOnlyStoreTests.nobody)
        }

        for args in [["tag", record, "party"], ["note", record, "a note"], ["codes", "add", "cadres"],
                     ["import", CLITestCase.samples.appendingPathComponent("reports").path], ["edit", record, "--title", "x"]] {
            let r = try stranger(args)
            XCTAssertEqual(r.code, 1, "\(args): \(r.out) \(r.err)")
            XCTAssertTrue(r.err.contains("read-only for this user"), "\(args): \(r.err)")
            XCTAssertEqual(r.err.split(separator: "\n").count, 1, r.err)
        }
        let list = try stranger(["list"])
        XCTAssertEqual(list.code, 0, list.err)
        XCTAssertTrue(list.out.contains(String(record.prefix(10))), list.out)
        let check = try stranger(["check"])
        XCTAssertEqual(check.code, 0, check.err)
        XCTAssertEqual(try stranger(["digest"]).out.trimmingCharacters(in: .whitespacesAndNewlines), before.digest)

        XCTAssertEqual(try storeState().changes, before.changes, "nothing was written")
        XCTAssertEqual(try storeState().digest, before.digest)
        XCTAssertEqual(try binary(["tag", record, "party"]).code, 0, "the owner carries on")
        XCTAssertEqual(try binary(["check"]).code, 0)
    }
}
