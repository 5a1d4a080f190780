import Foundation
import MarginCore
import MarginTestSupport
@testable import MarginSync
import XCTest

/// A team of 20 laptops, each with its own store and server, syncing in
/// random pairs over the real protocol on 127.0.0.1 until nothing moves.
final class GroupTests: SyncTestCase {
    func testTwentyNodesInRandomPairsConverge() throws {
        let runSeed = ProcessInfo.processInfo.environment["MARGIN_GROUP_SEED"].flatMap(UInt64.init)
            ?? UInt64.random(in: 1...UInt64(UInt32.max))
        var rng = SplitMix64(seed: runSeed)
        let team = try (0..<20).map { try node(String(format: "n%02d", $0)) }

        // Everyone starts from one shared report, then works offline: their
        // own reports, plus concurrent edits of one shared annotation.
        let (rid, code) = try seed(team[0])
        let shared = try team[0].store.annotate(record: rid, code: code, span: .quote("159名黨員", occurrence: nil), value: "159", note: nil)
        for n in team.dropFirst() { try n.sync(with: team[0]) }
        for (i, n) in team.enumerated() {
            try GeneratedReports.populate(n.store, reports: 2, seed: UInt64(i) &+ runSeed)
            if rng.next() % 3 == 0 { try edit(n.store, shared, value: "edited by \(n.name)") }
        }
        let total = try team.reduce(into: Set<ChangeID>()) { all, n in all.formUnion(try n.store.log(limit: nil).map(\.id)) }

        var rounds = 0
        var quiet = false
        while !quiet && rounds < 60 {
            rounds += 1
            var order = Array(team.indices)
            order.shuffle(using: &rng)
            var moved = 0
            for pair in stride(from: 0, to: order.count - 1, by: 2) {
                let r = try team[order[pair]].sync(with: team[order[pair + 1]])
                moved += r.sent + r.received
            }
            quiet = try moved == 0 && team.allSatisfy { try $0.store.status().changes == total.count }
        }
        print("group of 20 (MARGIN_GROUP_SEED=\(runSeed)): quiet after \(rounds) rounds of random pairs, \(total.count) changes each")
        XCTAssertTrue(quiet, "not quiet after \(rounds) rounds (MARGIN_GROUP_SEED=\(runSeed))")

        let digest = try team[0].store.digest()
        let conflicts = try team[0].store.conflicts(includeResolved: true).map(\.id).sorted()
        for n in team {
            XCTAssertEqual(try n.store.digest(), digest, n.name)
            XCTAssertEqual(try n.store.conflicts(includeResolved: true).map(\.id).sorted(), conflicts, n.name)
            XCTAssertEqual(Set(try n.store.log(limit: nil).map(\.id)), total, "\(n.name) holds every change")
        }
        for n in team.prefix(3) { try n.store.check() }
    }
}
