import Foundation
@testable import MarginCore
import MarginTestSupport
@testable import MarginSync
import XCTest

/// Issue 23, "Done when": batches that mix, across several origins, changes
/// held back (far future), changes that name them, forked histories and
/// valid work, cut at random places. Whatever the mix, every honest store
/// goes on syncing, passes `check` (the base class checks each at the end)
/// and converges with the others.
final class MixedBatchPropertyTests: SyncTestCase {
    struct Queue {
        var origin: NodeID
        var changes: [Change]
        /// Signatures by sequence number: where a batch may end for this origin.
        var signatures: [Int64: HeadSignature]
        /// Queues that must be sent out before this one starts (what its
        /// changes name), as a correct sender arranges.
        var after: [Int]
    }

    func testMixedBatchesLeaveEveryHonestStoreSyncingSoundAndConverged() throws {
        for n in UInt64(1)...4 {
            try run(seed: n)
        }
    }

    func run(seed runSeed: UInt64) throws {
        let seed = runSeed
        var rng = SplitMix64(seed: runSeed)
        let now = SystemClock().nowMilliseconds()
        let alice = try node("alice-\(seed)"), bob = try node("bob-\(seed)", serve: false)
        let (record, code) = try self.seed(alice)
        let quotes = ["16個臨時黨支部", "159名黨員", "354名幹部", "曲麻萊縣", "全縣"]
        func work(_ n: TestNode) throws {
            for _ in 0..<Int.random(in: 2...5, using: &rng) {
                let q = quotes.randomElement(using: &rng) ?? "全縣"
                let a = try n.store.annotate(record: record, code: code, span: .quote(q, occurrence: nil), value: String(Int.random(in: 1...500, using: &rng)), note: nil)
                if Bool.random(using: &rng) { try edit(n.store, a, value: String(Int.random(in: 1...500, using: &rng))) }
                if Int.random(in: 0..<4, using: &rng) == 0 { try n.store.delete(annotation: a, anyLayer: true) }
            }
        }
        try work(alice)
        try bob.sync(with: alice)
        try work(alice)
        try work(bob)

        // Alice's log as a peer would send it, with its signatures.
        var honest = Queue(origin: alice.store.node.id, changes: [], signatures: [:], after: [])
        try alice.store.forEachSignedChange(above: VersionVector()) { c, s in
            guard c.id.origin == alice.store.node.id else { return true }
            honest.changes.append(c)
            if let s { honest.signatures[c.id.seq] = s }
            return true
        }
        func signedEach(_ signer: TestSigner, _ changes: [Change], after: [Int]) -> Queue {
            let linked = signer.chained(changes).changes
            var signatures: [Int64: HeadSignature] = [:]
            for c in linked { signatures[c.id.seq] = signer.sign(c) }
            return Queue(origin: signer.origin, changes: linked, signatures: signatures, after: after)
        }
        func change(_ origin: NodeID, _ seq: Int64, _ entity: String, _ field: String, _ value: FieldValue, ms: Int64,
                    supersedes: ChangeID? = nil) -> Change {
            Change(id: ChangeID(origin: origin, seq: seq), hlc: HLC(milliseconds: ms, counter: 0), kind: .code, entity: EntityID(stored: entity),
                   field: field, value: value, supersedes: supersedes)
        }
        let f = TestSigner(0xf0), g = TestSigner(0xf1), h = TestSigner(0xf2), x = TestSigner(0xf3), v = TestSigner(0xf4)
        let (fo, go, ho, xo, vo) = (f.origin, g.origin, h.origin, x.origin, v.origin)
        let ahead = now + 2 * 3_600_000
        let futureCode = String(format: "%016llx", seed &* 0x1111)
        let future = signedEach(f, [change(fo, 1, futureCode, "name", .text("future-\(seed)"), ms: ahead),
                                    change(fo, 2, futureCode, "description", .text("later"), ms: ahead + 1)], after: [])
        // Names F's change: lower (held back with F), and higher (far ahead itself).
        let lower = signedEach(g, [change(go, 1, futureCode, "name", .text("lower"), ms: now, supersedes: ChangeID(origin: fo, seq: 1))], after: [1])
        let higher = signedEach(h, [change(ho, 1, futureCode, "name", .text("higher"), ms: ahead + 5, supersedes: ChangeID(origin: fo, seq: 1))], after: [1])
        // One node id, two histories.
        let forkCode = String(format: "%016llx", seed &* 0x2222 + 1)
        let branch1 = signedEach(x, [change(xo, 1, forkCode, "name", .text("branch-one-\(seed)"), ms: now - 10)], after: [])
        let branch2 = signedEach(x, [change(xo, 1, forkCode, "name", .text("branch-two-\(seed)"), ms: now - 5),
                                     change(xo, 2, forkCode, "description", .text("two"), ms: now - 4)], after: [0, 4])
        // Valid work of a third coder on alice's record.
        let validCode = String(format: "%016llx", seed &* 0x3333 + 2)
        let valid = signedEach(v, [change(vo, 1, validCode, "name", .text("valid-\(seed)"), ms: now - 3),
                                   change(vo, 2, validCode, "description", .text("ok"), ms: now - 2, supersedes: nil)], after: [0])
        let queues = [honest, future, lower, higher, branch1, branch2, valid]

        // Interleave the queues at random, each in its order and after what
        // it names; cut batches at random where every origin in the batch
        // ends on a signed change.
        var cursor = Array(repeating: 0, count: queues.count)
        var stream: [(queue: Int, change: Change)] = []
        while stream.count < queues.reduce(0, { $0 + $1.changes.count }) {
            let ready = queues.indices.filter { i in
                cursor[i] < queues[i].changes.count && queues[i].after.allSatisfy { cursor[$0] == queues[$0].changes.count }
            }
            guard let i = ready.randomElement(using: &rng) else { return XCTFail("seed \(seed): the queues wait on each other") }
            stream.append((i, queues[i].changes[cursor[i]]))
            cursor[i] += 1
        }
        let receiver = try node("receiver-\(seed)")
        var held: Set<NodeID> = []
        var batch: [(queue: Int, change: Change)] = []
        func flush() throws {
            guard !batch.isEmpty else { return }
            let signatures = batch.compactMap { queues[$0.queue].signatures[$0.change.id.seq] }
            let outcome = try receiver.store.receiveBatch(batch.map(\.change), signatures: signatures, horizon: now + 3_600_000,
                                                          holding: held, peer: "mixed")
            held = outcome.held
            batch = []
        }
        func mayEnd() -> Bool {
            var last: [Int: Change] = [:]
            for item in batch { last[item.queue] = item.change }
            return last.allSatisfy { queues[$0.key].signatures[$0.value.id.seq] != nil }
        }
        for item in stream {
            // Two histories of one id never share a batch (a sender has one).
            if batch.contains(where: { queues[$0.queue].origin == queues[item.queue].origin && $0.queue != item.queue }) {
                guard mayEnd() else { return XCTFail("seed \(seed): a fork's branches in one unsigned stretch") }
                try flush()
            }
            batch.append(item)
            if mayEnd(), Int.random(in: 0..<3, using: &rng) == 0 { try flush() }
        }
        if !batch.isEmpty {
            guard mayEnd() else { return XCTFail("seed \(seed): the stream ends unsigned") }
            try flush()
        }

        // Nothing held back left a trace; one history of the forked id.
        let vv = try receiver.store.versionVector()
        XCTAssertNil(vv.heads[fo], "seed \(seed)")
        XCTAssertNil(vv.heads[go], "seed \(seed)")
        XCTAssertNil(vv.heads[ho], "seed \(seed)")
        XCTAssertEqual(vv.heads[vo], 2, "seed \(seed)")
        XCTAssertNotNil(vv.heads[xo], "seed \(seed)")
        XCTAssertEqual(vv.heads[alice.store.node.id], try alice.store.versionVector().heads[alice.store.node.id], "seed \(seed)")
        try receiver.store.check()

        // Every honest store syncs with it, both ways, and all converge.
        try bob.sync(with: receiver)
        try bob.sync(with: alice)
        try alice.startServer()
        try receiver.sync(with: alice)
        try bob.sync(with: alice)
        try bob.sync(with: receiver)
        XCTAssertEqual(try alice.store.digest(), try bob.store.digest(), "seed \(seed)")
        XCTAssertEqual(try receiver.store.digest(), try bob.store.digest(), "seed \(seed)")
        for n in [alice, bob, receiver] { n.stopServer() }
    }
}
