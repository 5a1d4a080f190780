import Foundation
@testable import MarginSync
import XCTest

/// The thread that reads a session's next batches while the current one is
/// applied: order, the bound on how far ahead it reads, where it stops, and
/// what a time-out means while the handler is busy.
final class ReadAheadTests: XCTestCase {
    /// What the reading side did, shared with the test's thread.
    final class Script: @unchecked Sendable {
        private let lock = NSLock()
        private var taken = 0
        private var calls: [Int] = []   // items taken by the handler when each read began
        func tookOne() { lock.withLock { taken += 1 } }
        func read() -> Int { lock.withLock { calls.append(taken); return calls.count } }
        var readsSoFar: [Int] { lock.withLock { calls } }
    }

    struct Timeout: Error {}

    func testMessagesArriveInOrderAndNoReadGoesPastTheLast() throws {
        let script = Script()
        let ahead = ReadAhead<Int>(depth: 2, idle: 30, receive: { script.read() }, isLast: { $0 == 7 }, mayRetry: { _ in false })
        ahead.start()
        var got: [Int] = []
        while got.last != 7 {
            got.append(try ahead.next())
            script.tookOne()
        }
        ahead.join()
        XCTAssertEqual(got, Array(1...7))
        XCTAssertEqual(script.readsSoFar.count, 7, "read past the last message of the phase")
        // Read k began only once the handler had taken k - depth items
        // (less one: the handler counts an item just after `next` hands it
        // over, and the read it made room for may begin in between).
        for (k, taken) in script.readsSoFar.enumerated() {
            XCTAssertGreaterThanOrEqual(taken, k + 1 - 2 - 1, "read \(k + 1) ran more than two ahead")
        }
        XCTAssertThrowsError(try ahead.next())
    }

    func testAnErrorArrivesAfterTheMessagesBeforeItAndEndsReading() throws {
        let script = Script()
        let ahead = ReadAhead<Int>(depth: 3, idle: 30, receive: {
            let n = script.read()
            if n == 3 { throw SyncError(.malformed, "bad frame") }
            return n
        }, isLast: { _ in false }, mayRetry: { _ in false })
        ahead.start()
        XCTAssertEqual(try ahead.next(), 1)
        XCTAssertEqual(try ahead.next(), 2)
        XCTAssertThrowsError(try ahead.next()) { XCTAssertEqual(($0 as? SyncError)?.code, .malformed) }
        ahead.join()
        XCTAssertEqual(script.readsSoFar.count, 3)
    }

    /// The peer waits for an acknowledgement while the handler applies: a
    /// time-out then is not the peer's silence, and reading goes on.
    func testATimeOutWhileTheHandlerIsBusyIsRetried() throws {
        let script = Script()
        let secondRead = DispatchSemaphore(value: 0)
        let ahead = ReadAhead<Int>(depth: 2, idle: 0, receive: {
            let n = script.read()
            if n == 1 { throw Timeout() }
            secondRead.signal()
            return n
        }, isLast: { _ in true }, mayRetry: { $0 is Timeout })
        ahead.start()
        secondRead.wait()   // the handler has not asked yet
        XCTAssertEqual(try ahead.next(), 2)
    }

    /// The handler waits and the peer stays silent past the idle limit:
    /// the time-out reaches the handler.
    func testATimeOutWhileTheHandlerWaitsEndsReading() throws {
        let waiting = DispatchSemaphore(value: 0)
        let ahead = ReadAhead<Int>(depth: 2, idle: 0, receive: {
            waiting.wait()   // the peer is silent until the handler asks
            throw Timeout()
        }, isLast: { _ in false }, mayRetry: { $0 is Timeout })
        ahead.handlerWaits = { waiting.signal() }
        ahead.start()
        XCTAssertThrowsError(try ahead.next()) { XCTAssertTrue($0 is Timeout, "\($0)") }
        ahead.join()
    }

    func testAHandlerThatGivesUpStopsTheReading() throws {
        let script = Script()
        let ahead = ReadAhead<Int>(depth: 1, idle: 30, receive: { script.read() }, isLast: { _ in false }, mayRetry: { _ in false })
        ahead.start()
        XCTAssertEqual(try ahead.next(), 1)
        ahead.cancel()
        ahead.join()
        // At most the one it was reading when told, and one queued.
        XCTAssertLessThanOrEqual(script.readsSoFar.count, 3)
    }
}
