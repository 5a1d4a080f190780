import Foundation
import MarginCore
@testable import MarginSync
import XCTest

/// Issue "Every change is checked and signed", 3: a relay (A → B → C) where
/// B is hostile, and a store whose log was altered at rest. The base class
/// runs `check` on every store at the end.
final class RelayAttackTests: SyncTestCase {
    /// Everything A holds, with A's signatures, as a relay would pass it on.
    func signedLog(of n: TestNode) throws -> (changes: [Change], signatures: [HeadSignature]) {
        var changes: [Change] = [], signatures: [HeadSignature] = []
        try n.store.forEachSignedChange(above: VersionVector()) { c, s in
            changes.append(c)
            if let s { signatures.append(s) }
            return true
        }
        return (changes, signatures)
    }

    func relay(_ changes: [Change], _ signatures: [HeadSignature], to c: TestNode, as b: TestSigner) throws -> (code: UInt16, message: String)? {
        let p = try RawPeer(c.endpoint)
        _ = try p.handshake(as: b)
        try p.send(.batch(number: 1, changes: changes, signatures: signatures))
        try p.send(.done(count: UInt64(changes.count)))
        // Phase 2: acknowledge whatever C sends, to the end of the session.
        while let (m, _) = try p.receive() {
            switch m {
            case .error(let code, let message): return (code, message)
            case .batch(let n, _, _): try p.send(.ack(number: n, applied: 0))
            case .done: return nil
            default: continue
            }
        }
        return nil
    }

    func testAHostileRelayCannotAlterForgeOrDropAndAReplayChangesNothing() throws {
        let a = try node("alice", serve: false), c = try node("carol")
        let (rid, code) = try seed(a)
        for value in ["159", "160", "161"] {
            _ = try a.store.annotate(record: rid, code: code, span: .quote("159名黨員", occurrence: nil), value: value, note: nil)
        }
        let b = TestSigner(0x77)
        let (changes, signatures) = try signedLog(of: a)
        let before = try c.store.digest()
        func refused(_ cs: [Change], _ ss: [HeadSignature], _ expected: String, file: StaticString = #filePath, line: UInt = #line) throws {
            let e = try relay(cs, ss, to: c, as: b)
            XCTAssertEqual(e?.code, ErrorCode.refusedChange.rawValue, "\(String(describing: e))", file: file, line: line)
            XCTAssertTrue(e?.message.contains(expected) ?? false, "expected '\(expected)' in \(String(describing: e))", file: file, line: line)
            XCTAssertEqual(try c.store.digest(), before, "nothing applied", file: file, line: line)
        }
        // B alters a value: of the last change (its signature fails), or of
        // one before it (the chain no longer leads to the signed hash).
        var altered = changes
        altered[altered.count - 1].value = .text("99")
        try refused(altered, signatures, "does not verify")
        altered = changes
        if let i = altered.lastIndex(where: { $0.field == "value" }) { altered[i].value = .text("99") }
        try refused(altered, signatures, "does not follow")
        // B forges a change as A: A's next sequence number, signed with B's key.
        var forged = changes[changes.count - 1]
        forged.id.seq += 1
        forged.prev = changes[changes.count - 1].hash
        forged.hlc.counter += 1
        try refused(changes + [forged], signatures + [b.sign(forged)], "not \(a.store.node.id)'s")
        // B drops a change from the middle: a gap.
        var dropped = changes
        dropped.remove(at: changes.count / 2)
        try refused(dropped, signatures.filter { $0.seq != changes[changes.count / 2].id.seq }, "sequence gap")

        // The real thing goes through; replayed, it changes nothing.
        XCTAssertNil(try relay(changes, signatures, to: c, as: b))
        let after = try c.store.digest()
        XCTAssertEqual(after, try a.store.digest())
        XCTAssertNil(try relay(changes, signatures, to: c, as: b))
        XCTAssertEqual(try c.store.digest(), after, "a replay changes nothing")
        // And C, having verified it, passes A's history on with A's signatures.
        let d = try node("dave", serve: false)
        try d.sync(with: c)
        XCTAssertEqual(try d.store.digest(), after)
    }

    /// A bit flipped in one store's log: `check` names the change, and
    /// `serve` refuses to pass it on.
    func testAChangeAlteredAtRestIsNamedAndNeverServed() throws {
        let a = try node("alice"), b = try node("bob", serve: false)
        let (rid, code) = try seed(a)
        let id = try a.store.annotate(record: rid, code: code, span: .quote("159名黨員", occurrence: nil), value: "159", note: nil)
        try a.store.db.run("UPDATE log SET value = '951' WHERE entity = (SELECT key FROM entities WHERE kind = 'annotation' AND id = ?) AND field = 'value'", .text(id))
        XCTAssertThrowsError(try a.store.check()) { e in
            XCTAssertTrue(MarginError.message(for: e).contains("does not match its hash"), MarginError.message(for: e))
        }
        XCTAssertThrowsError(try b.sync(with: a)) { e in
            XCTAssertTrue("\(e)".contains("does not match its hash"), "\(e)")
        }
        XCTAssertEqual(try b.store.status().annotations, 0, "nothing of it reached bob")
        try a.store.db.run("UPDATE log SET value = '159' WHERE entity = (SELECT key FROM entities WHERE kind = 'annotation' AND id = ?) AND field = 'value'", .text(id))
        try b.sync(with: a)
        XCTAssertEqual(try b.store.digest(), try a.store.digest())
    }
}
