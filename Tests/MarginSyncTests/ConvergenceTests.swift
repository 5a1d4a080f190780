import Foundation
@testable import MarginCore
import MarginTestSupport
@testable import MarginSync
import XCTest

/// Random operations on five nodes, random pairwise syncs in random order,
/// then syncing until quiet: every node ends with the same digest, the same
/// conflicts and every change ever made. Meanwhile a sixth node, hostile,
/// sends the five forged, altered and rule-breaking changes: every one is
/// refused, and the five still converge and pass `check`.
final class ConvergenceTests: SyncTestCase {
    /// One hostile batch to `target`; returns the ERROR it drew.
    func inject(into target: TestNode, attacker: TestSigner, victim: TestNode, kind: UInt64) throws -> (code: UInt16, message: String)? {
        var last: (Change, HeadSignature?)?
        try victim.store.forEachSignedChange(above: VersionVector()) { c, s in
            if c.id.origin == victim.store.node.id, s != nil { last = (c, s) }
            return true
        }
        guard let (real, signature) = last, let signature else { return nil }
        let p = try RawPeer(target.endpoint)
        _ = try p.handshake(as: attacker)
        switch kind % 3 {
        case 0:
            // The victim's latest change, its value altered, its real signature kept.
            var altered = real
            altered.value = real.value == .null ? .text("x") : .null
            try p.send(.batch(number: 1, changes: [altered], signatures: [signature]))
        case 1:
            // A change forged as the victim's next one, signed with another key.
            var forged = real
            forged.id.seq += 1
            forged.prev = real.hash
            forged.hlc.counter += 1
            try p.send(.batch(number: 1, changes: [forged], signatures: [attacker.sign(forged)]))
        default:
            // The attacker's own change, validly signed, breaking a rule.
            let bad = Change(id: ChangeID(origin: attacker.origin, seq: 1), hlc: HLC(milliseconds: 1_700_000_000_000, counter: 0),
                             kind: .annotation, entity: EntityID(stored: String(repeating: "cd", count: 16)), field: "status", value: .text("maybe"))
            let (changes, signatures) = attacker.chained([bad])
            try p.send(.batch(number: 1, changes: changes, signatures: signatures))
        }
        return try p.errorThenClose()
    }

    func testRandomOperationsAndSyncsConverge() throws {
        var rng = SplitMix64(seed: 20261123)
        func pick<T>(_ xs: [T]) -> T? { xs.isEmpty ? nil : xs[Int(rng.next() % UInt64(xs.count))] }
        let all = try (0..<5).map { try node("n\($0)") }
        let bodies = (0..<8).map { "第\($0)篇報告:瀘縣組建志願服務隊\($0 * 37)支,共有\($0 * 13 + 5)名黨員參加,成立臨時黨支部\($0 + 2)個。" }
        var made = 0, syncs = 0, refused = 0
        let attacker = TestSigner(0x66)
        for n in all {
            _ = try n.store.addCode(name: "party-members", description: nil, colour: nil, parent: nil)
            _ = try n.store.addCode(name: "branches", description: nil, colour: nil, parent: nil)
        }
        for _ in 0..<320 {
            guard let n = pick(all) else { continue }
            let s = n.store
            let roll = rng.next() % 100
            do {
                switch roll {
                case 0..<12:
                    guard let body = pick(bodies) else { continue }
                    _ = try s.importReport(ReportDraft(body: body, title: "報告", place: pick(["瀘縣", "同仁县", nil]) ?? nil))
                case 12..<35:
                    guard let r = pick(try s.records().map(\.id)), let c = pick(try s.codes().map(\.id)) else { continue }
                    let quote = pick(["名黨員", "臨時黨支部", "志願服務隊"]) ?? "名黨員"
                    _ = try s.annotate(record: r, code: c, span: .quote(quote, occurrence: nil), value: "\(rng.next() % 200)", note: nil)
                case 35..<55:
                    guard let a = pick(try s.annotations().map(\.id)) else { continue }
                    var e = Store.AnnotationEdit()
                    if rng.next() % 2 == 0 { e.value = .some("\(rng.next() % 200)") } else { e.note = .some("note \(rng.next() % 5)") }
                    try s.edit(annotation: a, e, anyLayer: true)
                case 55..<62:
                    guard let a = pick(try s.annotations().map(\.id)) else { continue }
                    try s.delete(annotation: a, anyLayer: true)
                case 62..<72:
                    guard let a = pick(try s.annotations().map(\.id)) else { continue }
                    try s.review(annotation: a, status: pick([.accepted, .rejected, .open]) ?? .open, comment: "c\(rng.next() % 3)")
                case 72..<78:
                    guard let c = pick(try s.conflicts(includeResolved: false)) else { continue }
                    let how: Store.Resolution = c.field == "deleted" ? (rng.next() % 2 == 0 ? .keepWinner : .keepOther)
                        : (pick([.keepWinner, .keepOther]) ?? .keepWinner)
                    try s.resolve(conflict: c.id, how, comment: nil)
                case 78..<84:
                    guard let target = pick(all), let victim = pick(all.filter { $0 !== target }) else { continue }
                    if let e = try inject(into: target, attacker: attacker, victim: victim, kind: rng.next()) {
                        XCTAssertEqual(e.code, ErrorCode.refusedChange.rawValue, e.message)
                        refused += 1
                    }
                default:
                    guard let other = pick(all.filter { $0 !== n }) else { continue }
                    try n.sync(with: other)
                    syncs += 1
                }
                made += 1
            } catch let e as MarginError {
                // Refusals a user could also meet (an annotation deleted by a
                // sync a moment ago) are fine; anything else fails the test.
                if case .notFound = e { continue }
                throw e
            }
        }
        // Sync until a whole round moves nothing.
        var rounds = 0
        while true {
            rounds += 1
            XCTAssertLessThan(rounds, 10, "did not go quiet")
            var moved = 0
            for i in all.indices {
                let r = try all[i].sync(with: all[(i + 1) % all.count])
                moved += r.received + r.sent
            }
            if moved == 0 || rounds >= 10 { break }
        }
        XCTAssertGreaterThan(syncs, 10)
        XCTAssertGreaterThan(refused, 5, "the hostile node tried, and was refused every time")
        for n in all { XCTAssertNil(try n.store.versionVector().heads[attacker.origin], "nothing of the attacker's was kept") }
        let digest = try all[0].store.digest()
        let vv = try all[0].store.versionVector()
        let conflicts = try all[0].store.conflicts(includeResolved: true).map(\.id).sorted()
        let open = try all[0].store.conflicts(includeResolved: false).map(\.id).sorted()
        for n in all {
            XCTAssertEqual(try n.store.digest(), digest, n.name)
            XCTAssertEqual(try n.store.versionVector(), vv, "\(n.name) holds every change ever made")
            XCTAssertEqual(try n.store.conflicts(includeResolved: true).map(\.id).sorted(), conflicts, n.name)
            XCTAssertEqual(try n.store.conflicts(includeResolved: false).map(\.id).sorted(), open, n.name)
            XCTAssertEqual(vv.heads[n.store.node.id], try n.store.head(of: n.store.node.id))
        }
        XCTAssertEqual(Set(vv.heads.keys), Set(all.map { $0.store.node.id }))
        XCTAssertFalse(conflicts.isEmpty, "the run produced conflicts to compare")
        // And each node's state is still a pure function of its log.
        let dump = try all[2].store.dumpDerivedState()
        try all[2].store.rebuildState()
        XCTAssertEqual(try all[2].store.dumpDerivedState(), dump)
    }
}
