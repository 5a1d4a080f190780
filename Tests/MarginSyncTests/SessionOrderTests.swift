import XCTest
import MarginCore
import MarginTestSupport
@testable import MarginSync

/// The session's order without sockets or stores: two `SessionOrder`s
/// driven against each other, and each rule a receiver enforces
/// (PROTOCOL.md §4) broken once.
final class SessionOrderTests: XCTestCase {
    func hello(_ node: NodeID, sends: Bool = true, receives: Bool = true) -> Hello {
        Hello(schemaVersion: UInt16(Store.schemaVersion), node: node, publicKey: [], signature: [], wallClock: 0,
              sends: sends, receives: receives, name: node.hex)
    }

    /// Brings a client and a server through HELLO and HAVE.
    func greeted(clientSends: Bool = true, serverSends: Bool = true, window: Int = 8) throws -> (SessionOrder, SessionOrder) {
        var c = SessionOrder(role: .client, window: window), s = SessionOrder(role: .server, window: window)
        let ch = hello("c", sends: clientSends), sh = hello("s", sends: serverSends)
        try c.sendHello(ch)
        XCTAssertEqual(try s.receive(.hello(ch)), .hello(ch))
        try s.sendHello(sh)
        XCTAssertEqual(try c.receive(.hello(sh)), .hello(sh))
        try c.sendHave()
        _ = try s.receive(.have(VersionVector()))
        try s.sendHave()
        _ = try c.receive(.have(VersionVector(["x": 3]), tips: [:], resendFrom: 2))
        XCTAssertEqual(c.step, .sendChanges)
        XCTAssertEqual(s.step, .receiveChanges)
        return (c, s)
    }

    func batch(_ n: UInt64, _ count: Int) -> Message {
        let change = Change(id: ChangeID(origin: "a", seq: 1), hlc: HLC(milliseconds: 1, counter: 0), kind: .code,
                            entity: "0123456789abcdef", field: "name", value: .text("x"))
        return .batch(number: n, changes: Array(repeating: change, count: count))
    }

    func assertMalformed<T>(_ body: @autoclosure () throws -> T, _ message: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try body(), file: file, line: line) { e in
            guard let e = e as? SyncError else { return XCTFail("not a SyncError: \(e)", file: file, line: line) }
            XCTAssertEqual(e.code, .malformed, file: file, line: line)
            XCTAssertEqual(e.message, message, file: file, line: line)
        }
    }

    func testAWholeSessionBothWaysFinishesOnBothSides() throws {
        var (c, s) = try greeted(window: 2)
        // The client's three batches: the window of two makes it wait.
        XCTAssertEqual(try c.sendBatch(count: 2, heads: ["a": 2]), 1)
        XCTAssertEqual(try s.receive(batch(1, 2)), .batch(number: 1, changes: batchChanges(2), signatures: []))
        XCTAssertEqual(try c.sendBatch(count: 1, heads: ["a": 3, "b": 1]), 2)
        XCTAssertTrue(c.mustAwaitAck)
        XCTAssertThrowsError(try c.sendBatch(count: 1, heads: [:]), "beyond the window")
        _ = try s.receive(batch(2, 1))
        XCTAssertEqual(try s.sendAck(applied: 2), .ack(number: 1, applied: 2))
        XCTAssertEqual(try c.receive(.ack(number: 1, applied: 2)), .ack(number: 1, heads: ["a": 2]))
        XCTAssertFalse(c.mustAwaitAck)
        XCTAssertEqual(try c.sendBatch(count: 4, heads: ["a": 7]), 3)
        XCTAssertEqual(try s.sendAck(applied: 1), .ack(number: 2, applied: 1))
        _ = try s.receive(batch(3, 4))
        XCTAssertEqual(try s.sendAck(applied: 4), .ack(number: 3, applied: 4))
        XCTAssertEqual(try c.sendDone(), .done(count: 7))
        XCTAssertEqual(c.step, .sendChanges, "two ACKs are still to come")
        XCTAssertEqual(try c.receive(.ack(number: 2, applied: 1)), .ack(number: 2, heads: ["a": 3, "b": 1]))
        XCTAssertEqual(try c.receive(.ack(number: 3, applied: 4)), .ack(number: 3, heads: ["a": 7]))
        XCTAssertEqual(c.step, .receiveChanges)
        XCTAssertEqual(try s.receive(.done(count: 7)), .done(count: 7))
        XCTAssertEqual(s.step, .sendChanges)
        // The server has nothing: DONE 0 at once.
        XCTAssertEqual(try s.sendDone(), .done(count: 0))
        XCTAssertEqual(s.step, .finished)
        XCTAssertEqual(try c.receive(.done(count: 0)), .done(count: 0))
        XCTAssertEqual(c.step, .finished)
        assertMalformed(try c.receive(.done(count: 0)), "unexpected done message")
    }

    func batchChanges(_ n: Int) -> [Change] {
        guard case .batch(_, let changes, _) = batch(1, n) else { return [] }
        return changes
    }

    func testHelloAndHaveComeFirstAndInTheirOrder() throws {
        var s = SessionOrder(role: .server)
        assertMalformed(try s.receive(.have(VersionVector())), "expected HELLO")
        var c = SessionOrder(role: .client)
        assertMalformed(try c.receive(.hello(hello("s"))), "unexpected hello message")
        try c.sendHello(hello("c"))
        assertMalformed(try c.receive(batch(1, 1)), "expected HELLO")
        _ = try c.receive(.hello(hello("s")))
        XCTAssertThrowsError(try c.sendHello(hello("c")), "HELLO twice is this side's own mistake")
        try c.sendHave()
        assertMalformed(try c.receive(.hello(hello("s"))), "expected HAVE")
    }

    func testAnErrorFromThePeerEndsTheSessionAtAnyStep() throws {
        var (c, _) = try greeted()
        XCTAssertThrowsError(try c.receive(.error(code: ErrorCode.busy.rawValue, message: "full"))) { e in
            let e = e as? SyncError
            XCTAssertEqual(e?.code, .busy)
            XCTAssertEqual(e?.fromPeer, true)
            XCTAssertEqual(e?.message, "the peer refused: full")
        }
        var s = SessionOrder(role: .server)
        XCTAssertThrowsError(try s.receive(.error(code: 999, message: "?"))) { e in
            XCTAssertEqual((e as? SyncError)?.code, .internalError, "an unknown code reads as internal")
        }
    }

    func testACKsMustComeInOrderAndOnlyForBatchesSent() throws {
        var (c, _) = try greeted()
        assertMalformed(try c.receive(.ack(number: 1, applied: 0)), "ACK for batch 1, expected 1")
        _ = try c.sendBatch(count: 1, heads: [:])
        _ = try c.sendBatch(count: 1, heads: [:])
        assertMalformed(try c.receive(.ack(number: 2, applied: 1)), "ACK for batch 2, expected 1")
        assertMalformed(try c.receive(batch(1, 1)), "expected ACK")
    }

    func testBatchesMustBeNumberedFromOneAndDONEMustCountThem() throws {
        var (_, s) = try greeted()
        assertMalformed(try s.receive(batch(2, 1)), "batch 2 out of order (expected 1)")
        _ = try s.receive(batch(1, 3))
        assertMalformed(try s.receive(batch(1, 3)), "batch 1 out of order (expected 2)")
        assertMalformed(try s.receive(.ack(number: 1, applied: 1)), "unexpected ack message")
        assertMalformed(try s.receive(.done(count: 2)), "DONE says 2 changes were sent; the batches held 3")
    }

    func testASideThatDoesNotSendSendsDONEZeroAndABatchToItIsRefused() throws {
        // The client does not send: it may not number a batch, and the
        // server refuses one should it come anyway.
        var (c, s) = try greeted(clientSends: false)
        XCTAssertFalse(c.sendsChanges)
        XCTAssertThrowsError(try c.sendBatch(count: 1, heads: [:]))
        XCTAssertEqual(try c.sendDone(), .done(count: 0))
        XCTAssertEqual(c.step, .receiveChanges)
        assertMalformed(try s.receive(batch(1, 1)), "changes sent to a side that asked not to receive them")
        XCTAssertEqual(try s.receive(.done(count: 0)), .done(count: 0))
    }

    func testAnACKGoesOnlyForABatchReceived() throws {
        var (_, s) = try greeted()
        XCTAssertThrowsError(try s.sendAck(applied: 0))
        _ = try s.receive(batch(1, 1))
        XCTAssertEqual(try s.sendAck(applied: 1), .ack(number: 1, applied: 1))
        XCTAssertThrowsError(try s.sendAck(applied: 1))
    }

    /// Any message at any step either moves the order on or is refused with
    /// a SyncError; the order never lets a step be skipped.
    func testRandomMessagesNeverSkipAStep() throws {
        var rng = SplitMix64(seed: 27)
        let messages: [Message] = [.hello(hello("p")), .have(VersionVector()), .ack(number: 1, applied: 1), batch(1, 1),
                                   batch(2, 0), .done(count: 0), .done(count: 1), .error(code: 1, message: "x")]
        let order: [SessionOrder.Step] = [.receiveHello, .sendHello, .receiveHave, .sendHave, .receiveChanges, .sendChanges, .finished]
        for _ in 0..<500 {
            var s = SessionOrder(role: .server)
            for _ in 0..<12 {
                let before = s.step
                let m = messages[Int(rng.next() % UInt64(messages.count))]
                if before == .sendHello { try s.sendHello(hello("s")); continue }
                if before == .sendHave { try s.sendHave(); continue }
                if before == .sendChanges { _ = try s.sendDone(); continue }
                do { _ = try s.receive(m) } catch { XCTAssertEqual(s.step, before); continue }
                let i = try XCTUnwrap(order.firstIndex(of: before)), j = try XCTUnwrap(order.firstIndex(of: s.step))
                XCTAssertTrue(j == i || j == i + 1, "\(before) → \(s.step) on \(m.type)")
            }
        }
    }
}

/// Every message the order ends a session with is in PROTOCOL.md, so a peer
/// written from the document alone knows each one.
final class SessionOrderDocumentTests: XCTestCase {
    func testEveryOrderErrorIsDocumented() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("PROTOCOL.md")
        let doc = try String(contentsOf: url, encoding: .utf8)
        for phrase in ["`expected HELLO`", "`expected HAVE`", "`expected ACK`", "`ACK for batch N, expected M`",
                       "`batch N out of order (expected M)`", "`unexpected TYPE message`", "changes sent to a side that asked not to receive",
                       "DONE says N changes", "`the peer refused:`", "`u16 schema version` (\(Store.schemaVersion))"] {
            XCTAssertTrue(doc.contains(phrase), "PROTOCOL.md does not say \(phrase)")
        }
    }
}
