import Foundation
import MarginCore
@testable import MarginSync
import XCTest

/// Issue "Every change is checked and signed", 1: each change a peer written
/// from PROTOCOL.md alone, or a hostile one, got accepted before, sent to a
/// real server. Each must be refused with the rule it breaks, nothing
/// applied, a colleague's sync unaffected, and `check` passing (the base
/// class checks every store at the end).
final class RuleProbeTests: HostileServerTestCase {
    var origin: NodeID { attacker.origin }
    let annotation = String(repeating: "ab", count: 16)

    func change(_ seq: Int64, _ kind: EntityKind, _ entity: String, _ field: String, _ value: FieldValue,
                ms: Int64? = nil, counter: Int64 = 0, supersedes: ChangeID? = nil, deletionBase: ChangeID? = nil,
                seen: VersionVector? = nil) -> Change {
        Change(id: ChangeID(origin: origin, seq: seq), hlc: HLC(milliseconds: ms ?? (1_700_000_000_000 + seq), counter: counter),
               kind: kind, entity: EntityID(stored: entity), field: field, value: value,
               supersedes: supersedes, deletionBase: deletionBase, seen: seen)
    }

    func probe(_ changes: [Change], _ rule: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let p = try RawPeer(server.endpoint)
        _ = try p.handshake()
        // Linked and signed as a correct writer would: only the rule is broken.
        let (linked, signatures) = attacker.chained(changes)
        try p.send(.batch(number: 1, changes: linked, signatures: signatures))
        let e = try p.errorThenClose()
        XCTAssertEqual(e?.code, ErrorCode.refusedChange.rawValue, "\(rule): \(String(describing: e))", file: file, line: line)
        XCTAssertTrue(e?.message.contains(rule) ?? false, "expected '\(rule)' in \(String(describing: e))", file: file, line: line)
        // PROTOCOL.md §1: every refusal names the batch and the change.
        XCTAssertNotNil(e?.message.range(of: #"^batch [0-9]+ refused: change [0-9a-f]{16}:[0-9]+ refused: "#, options: .regularExpression),
                        "the refusal names no change: \(String(describing: e))", file: file, line: line)
        try checkServerSurvives(rule, file: file, line: line)
    }

    var record: String { Store.recordID(body: SyncTestCase.body) }

    /// A span group for `annotation` on the seeded record, one reading.
    func span(from seq: Int64, _ start: Int64, _ end: Int64, quote: String, prefix: String = "", suffix: String = "") -> [Change] {
        let ms: Int64 = 1_700_000_001_000
        return [change(seq, .annotation, annotation, "start", .int(start), ms: ms),
                change(seq + 1, .annotation, annotation, "end", .int(end), ms: ms),
                change(seq + 2, .annotation, annotation, "quote", .text(quote), ms: ms),
                change(seq + 3, .annotation, annotation, "prefix", .text(prefix), ms: ms),
                change(seq + 4, .annotation, annotation, "suffix", .text(suffix), ms: ms)]
    }

    func testReferencesMustNameHeldChangesOfTheRightField() throws {
        let first = change(1, .annotation, annotation, "record", .text(record))
        try probe([first, change(2, .annotation, annotation, "value", .text("9"), supersedes: first.id)], "a change to another field")
        try probe([first, change(2, .annotation, annotation, "value", .text("9"), supersedes: ChangeID(origin: "fedcba9876543210", seq: 5))],
                  "is not held")
        try probe([first, change(2, .annotation, annotation, "note", .text("n"), deletionBase: first.id)], "is not a deletion")
        try probe([change(1, .annotation, annotation, "record", .text(String(repeating: "f", count: 32)))], "record ffffffff")
        // Right after an annotation on a held record (which the receiver
        // remembers for the batch), one on a record not held.
        try probe([first, change(2, .annotation, String(repeating: "cd", count: 16), "record", .text(String(repeating: "f", count: 32)))],
                  "record ffffffff")
    }

    func testSpansMustFitTheirRecord() throws {
        let head = change(1, .annotation, annotation, "record", .text(record))
        let body = ScalarText(SyncTestCase.body)
        try probe([head] + span(from: 2, -5, 1_000_000_000_000, quote: "x"), "must not be negative")
        try probe([head] + span(from: 2, Int64.min, Int64.max, quote: "x"), "must not be negative")
        try probe([head] + span(from: 2, 0, 1_000_000_000_000, quote: "x"), "is not within the body")
        try probe([head] + span(from: 2, 5, 3, quote: "x"), "is not within the body")
        try probe([head] + span(from: 2, 0, 3, quote: "xyz", suffix: body.slice(3, 35)), "the quote does not match")
        try probe([head] + span(from: 2, 0, 3, quote: body.slice(0, 3), suffix: "wrong"), "prefix or suffix")
        try probe([head] + Array(span(from: 2, 0, 3, quote: body.slice(0, 3)).prefix(2)), "must arrive whole")
    }

    /// Two annotations' span groups interleaved in one batch (nothing in
    /// PROTOCOL.md orders one origin's changes by group): each group is
    /// still found whole and checked, and the batch is taken.
    func testSpanGroupsInterleavedInOneBatchAreEachTakenWhole() throws {
        let other = String(repeating: "cd", count: 16)
        let body = ScalarText(SyncTestCase.body)
        let first = span(from: 3, 0, 3, quote: body.slice(0, 3), suffix: body.slice(3, 35))
        let second = span(from: 8, 3, 6, quote: body.slice(3, 6), prefix: body.slice(0, 3), suffix: body.slice(6, 38)).map { c in
            var c = c
            c.entity = EntityID(stored: other)
            return c
        }
        var changes = [change(1, .annotation, annotation, "record", .text(record)), change(2, .annotation, other, "record", .text(record))]
        for (a, b) in zip(first, second) { changes += [a, b] }
        changes = changes.enumerated().map { i, c in
            var c = c
            c.id = ChangeID(origin: origin, seq: Int64(i + 1))
            return c
        }
        let p = try RawPeer(server.endpoint)
        _ = try p.handshake()
        let (linked, signatures) = attacker.chained(changes)
        try p.send(.batch(number: 1, changes: linked, signatures: signatures))
        try p.send(.done(count: UInt64(changes.count)))
        guard let (m, _) = try p.receive(), case .ack(1, let applied) = m else { return XCTFail("no ACK") }
        XCTAssertEqual(applied, UInt64(changes.count))
        p.conn.close()
        XCTAssertEqual(try server.store.annotation(annotation)?.span?.quote, body.slice(0, 3))
        XCTAssertEqual(try server.store.annotation(other)?.span?.quote, body.slice(3, 6))
        before = try server.store.digest()
    }

    /// Schema 6: a record id is the hash of the report as received; the
    /// body may be cleaned again, but `received` must hash to the id.
    func testRecordsAreTheHashOfTheirReceivedText() throws {
        try probe([change(1, .record, record, "received", .text("另一篇完全不同的報告。"))], "does not hash to the record id")
        let spaced = "報告\n"
        try probe([change(1, .record, Store.recordID(normalizedBody: spaced), "received", .text(spaced))], "must be normalised")
        let decomposed = "Cafe\u{301} 報告"
        try probe([change(1, .record, Store.recordID(normalizedBody: decomposed), "body", .text(decomposed))], "NFC")
        try probe([change(1, .record, "0123456789abcdef\n0123456789abcde", "title", .text("x"))], "is not 32 lower-case hex digits")
    }

    func testValuesMustBeDocumented() throws {
        try probe([change(1, .annotation, annotation, "status", .text("maybe"))], "unknown status")
        try probe([change(1, .code, "00000000000000aa", "name", .text("two\nlines"))], "name contains a line break")
        try probe([change(1, .code, "00000000000000aa", "colour", .text("plaid"))], "unknown colour")
        try probe([change(1, .code, "00000000000000aa", "parent", .text("00000000000000aa"))], "its own parent")
        try probe([change(1, .code, "00000000000000aa", "merged_into", .text("00000000000000aa"))], "its own merge target")
        try probe([change(1, .annotation, annotation, "note", .text("a\u{0}b"))], "NUL")
    }

    /// One received counter of Int64.max used to make every later local write
    /// on every node it reached crash in HybridClock.tick.
    func testClockReadingsOutOfBoundsAreRefused() throws {
        try probe([change(1, .code, "00000000000000aa", "name", .text("x"), counter: Int64.max)], "out of bounds")
        try probe([change(1, .code, "00000000000000aa", "name", .text("x"), ms: Int64.max)], "out of bounds")
        _ = try server.store.addCode(name: "still-writable", description: nil, colour: nil, parent: nil)
        before = try server.store.digest()
    }
}
