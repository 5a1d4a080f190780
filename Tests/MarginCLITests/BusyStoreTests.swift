import Foundation
import MarginCore
import MarginTestSupport
import XCTest

/// One store written by two processes at once: a person annotating with the
/// CLI while `margin serve` applies batches from a colleague who keeps
/// syncing. No "database is locked" may reach the person, and nothing may be
/// lost on either side.
final class BusyStoreTests: CLITestCase {
    func testAnnotatingWhileTheServerAppliesRepeatedSyncs() throws {
        guard CLITestCase.binary != nil else { throw XCTSkip("the margin binary is not built") }
        let alice = dir.appendingPathComponent("alice").path, bob = dir.appendingPathComponent("bob").path
        let aliceStore = try Store.create(directory: alice + "/.margin", name: "alice")
        let records = try GeneratedReports.populate(aliceStore, reports: 20, seed: 7)
        aliceStore.db.close()
        let bobStore = try Store.create(directory: bob + "/.margin", name: "bob")

        let server = try MarginProcess(["serve", "--listen", "127.0.0.1:0"], in: alice)
        let port = try XCTUnwrap(server.port(), server.text)

        // Alice annotates in a loop with the real binary...
        let edits = 40
        let lock = NSLock()
        nonisolated(unsafe) var failures: [String] = []
        let writer = DispatchGroup()
        writer.enter()
        DispatchQueue.global().async {
            defer { writer.leave() }
            for i in 0..<edits {
                let args = i % 4 == 3
                    ? ["note", String(records[i % records.count].prefix(10)), "note \(i) written while serving"]
                    : ["annotate", String(records[i % records.count].prefix(10)), "--code", "figure", "--quote", "之1", "--value", "\(i)", "--again"]
                do {
                    let r = try CLITestCase.runBinary(args, in: alice)
                    if r.code != 0 || !r.err.isEmpty { lock.withLock { failures.append("\(args[0]) \(i): exit \(r.code): \(r.err)") } }
                } catch {
                    lock.withLock { failures.append("\(args[0]) \(i): \(error)") }
                }
            }
        }
        // ...while Bob keeps making changes and syncing them to her server.
        var syncs = 0
        repeat {
            try GeneratedReports.populate(bobStore, reports: 3, seed: UInt64(100 + syncs))
            let r = try binary(["sync", "127.0.0.1:\(port)"], in: bob)
            XCTAssertEqual(r.code, 0, "sync \(syncs): \(r.err)")
            XCTAssertFalse(r.err.contains("locked"), r.err)
            syncs += 1
        } while writer.wait(timeout: .now()) == .timedOut && syncs < 200
        XCTAssertEqual(writer.wait(timeout: .now() + 120), .success, "the annotating loop did not finish")
        XCTAssertEqual(lock.withLock { failures }, [], "every edit made while serving succeeds, with nothing on stderr")
        XCTAssertGreaterThanOrEqual(syncs, 2, "the syncs overlapped the edits")
        print("busy store: \(edits) edits by the CLI while \(syncs) syncs were applied by the server")

        XCTAssertEqual(try binary(["sync", "127.0.0.1:\(port)"], in: bob).code, 0)
        XCTAssertEqual(server.stop(), 0, server.text)
        XCTAssertFalse(server.text.contains("locked"), server.text)
        let a = try Store(directory: alice + "/.margin")
        XCTAssertEqual(try a.digest(), try bobStore.digest())
        XCTAssertEqual(try a.status().changes, try bobStore.status().changes)
        let made = try a.log(limit: nil).filter { $0.id.origin == a.node.id && $0.field == "author" && $0.kind == .annotation }.count
        XCTAssertEqual(made, 2 * 20 + edits, "every annotation alice made is there: \(made)")
        try a.check()
        try bobStore.check()
    }
}
