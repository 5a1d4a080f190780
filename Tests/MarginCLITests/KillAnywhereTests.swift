import Foundation
import MarginCore
import MarginTestSupport
import XCTest

/// Real `margin serve` and `margin sync` processes on stores of a few
/// thousand changes, one side killed with SIGKILL at a random moment; then
/// `margin check` on both stores, and the next sync must converge with no
/// change missing. MARGIN_KILL_ROUNDS sets the number of kills (20 here;
/// Tests/kill-anywhere runs hundreds), MARGIN_KILL_SEED replays a run.
final class KillAnywhereTests: CLITestCase {
    static let reportsPerNode = 60

    struct Templates {
        var a: String, b: String
        var changes: Int
    }

    /// Two stores with disjoint histories, closed so that their folders can
    /// be copied as they are.
    func templates() throws -> Templates {
        var total = 0
        var folders: [String] = []
        for (i, name) in ["alice", "bob"].enumerated() {
            let folder = dir.appendingPathComponent("template-\(name)").path
            let store = try Store.create(directory: folder + "/.margin", name: name)
            try GeneratedReports.populate(store, reports: KillAnywhereTests.reportsPerNode, seed: UInt64(i + 1))
            total += try store.status().changes
            store.db.close()
            folders.append(folder)
        }
        return Templates(a: folders[0], b: folders[1], changes: total)
    }

    func copy(_ t: Templates, round: Int) throws -> (a: String, b: String) {
        let base = dir.appendingPathComponent("round-\(round)").path
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        let a = base + "/alice", b = base + "/bob"
        try FileManager.default.copyItem(atPath: t.a, toPath: a)
        try FileManager.default.copyItem(atPath: t.b, toPath: b)
        return (a, b)
    }

    func serve(_ folder: String) throws -> (MarginProcess, String) {
        let server = try MarginProcess(["serve", "--listen", "127.0.0.1:0"], in: folder)
        guard let port = server.port() else {
            _ = server.stop(SIGKILL)
            // A server that cannot start is a failure of what is tested, not a reason to skip.
            XCTFail("the server did not start: \(server.text)")
            throw MarginError.invalid("the server did not start")
        }
        return (server, "127.0.0.1:\(port)")
    }

    /// `margin check` on each folder, all at once.
    func assertChecks(_ folders: [String], _ context: String, line: UInt = #line) throws {
        let checks = try folders.map { try MarginProcess(["check"], in: $0) }
        for (folder, check) in zip(folders, checks) {
            let code = check.waitForExit()
            XCTAssertEqual(code, 0, "\(context): margin check failed in \(folder): \(check.text)", line: line)
            XCTAssertTrue(check.text.contains("the store is consistent"), "\(context): \(check.text)", line: line)
        }
    }

    func testKillEitherSideAnywhereThenCheckAndConverge() throws {
        guard CLITestCase.binary != nil else { throw XCTSkip("the margin binary is not built") }
        let env = ProcessInfo.processInfo.environment
        let rounds = env["MARGIN_KILL_ROUNDS"].flatMap(Int.init) ?? 20
        let seed = env["MARGIN_KILL_SEED"].flatMap(UInt64.init) ?? UInt64.random(in: 1...UInt64(UInt32.max))
        print("kill-anywhere: \(rounds) rounds, MARGIN_KILL_SEED=\(seed)")
        var rng = SplitMix64(seed: seed)
        let t = try templates()

        // Calibration: how long a whole session takes, so kills can be spread
        // over it.
        let calibration = try copy(t, round: 0)
        var (server, address) = try serve(calibration.b)
        let started = Date()
        let first = try binary(["sync", address], in: calibration.a)
        let sessionSeconds = Date().timeIntervalSince(started)
        XCTAssertEqual(first.code, 0, first.err)
        XCTAssertEqual(try storeState(calibration.a).changes, t.changes)
        print("kill-anywhere: \(t.changes) changes in all; a whole session takes \(String(format: "%.2f", sessionSeconds)) s")
        _ = server.stop()

        var midSession = 0
        for round in 1...rounds {
            let context = "round \(round) (MARGIN_KILL_SEED=\(seed))"
            let (a, b) = try copy(t, round: round)
            (server, address) = try serve(b)
            let client = try MarginProcess(["sync", address], in: a)
            let killServer = rng.next() % 2 == 0
            let delay = Double(rng.next() % 1000) / 1000 * sessionSeconds * 0.8
            // The delay places the fault; nothing waits on it for correctness.
            usleep(UInt32(delay * 1_000_000))
            if client.process.isRunning { midSession += 1 }
            if killServer {
                kill(server.pid, SIGKILL)
                _ = server.waitForExit()
                XCTAssertNotNil(client.waitForExit(), "\(context): the client did not notice the server dying")
                (server, address) = try serve(b)
            } else {
                kill(client.pid, SIGKILL)
                _ = client.waitForExit()
            }
            try assertChecks([a, b], context)
            // The server that saw its client killed keeps serving.
            let again = try binary(["sync", address], in: a)
            XCTAssertEqual(again.code, 0, "\(context): \(again.err)")
            let (sa, sb) = (try storeState(a), try storeState(b))
            XCTAssertEqual(sa.digest, sb.digest, context)
            XCTAssertEqual(sa.changes, t.changes, "\(context): changes missing on alice")
            XCTAssertEqual(sb.changes, t.changes, "\(context): changes missing on bob")
            XCTAssertEqual(server.stop(), 0, "\(context): \(server.text)")
            try? FileManager.default.removeItem(at: dir.appendingPathComponent("round-\(round)"))
        }
        print("kill-anywhere: \(midSession) of \(rounds) kills landed while the session was running")
        XCTAssertGreaterThanOrEqual(midSession, rounds / 3, "too few kills landed mid-session to test anything")
    }
}
