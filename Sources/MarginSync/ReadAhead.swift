import Foundation

/// Receives a session's messages on a thread of its own, at most `depth`
/// ahead of the thread that handles them. While the handler applies one
/// batch, the next is read, decrypted and decoded (and, as the session asks,
/// its changes hashed): on the receiving side of an initial sync these used
/// to take turns on one core (about an eighth of the time went to
/// receiving).
///
/// Safe because the two threads use disjoint halves of the connection: only
/// this thread receives (`SecureChannel`'s decoders and receiving cipher)
/// until it stops, and only the handler sends (the sending cipher). The
/// thread stops by itself after handing over a message `isLast` accepts, or
/// an error, so it never reads past the phase it was started for.
///
/// The idle limit keeps its meaning: a peer that sends nothing is dropped
/// only while the handler waits for it. A time-out the thread meets while
/// the handler is still busy (the peer waits for an acknowledgement the
/// handler has not sent yet) is retried; `mayRetry` refuses the retry once
/// the whole session's time is up. A silence that starts while the handler
/// is busy therefore ends the session within twice the idle limit.
final class ReadAhead<Element>: @unchecked Sendable {
    private let depth: Int
    private let idle: Double
    private let receive: () throws -> Element
    private let isLast: (Element) -> Bool
    private let mayRetry: (any Error) -> Bool
    /// Guards everything below it.
    private let condition = NSCondition()
    private var ready: [Result<Element, any Error>] = []
    /// Since when the handler has been waiting in `next` with nothing ready.
    private var waitingSince: Date?
    private var cancelled = false
    private var running = true
    /// Test hook: called when `next` starts to wait.
    var handlerWaits: (() -> Void)?

    init(depth: Int, idle: Double, receive: @escaping () throws -> Element, isLast: @escaping (Element) -> Bool,
         mayRetry: @escaping (any Error) -> Bool) {
        self.depth = max(1, depth)
        self.idle = idle
        self.receive = receive
        self.isLast = isLast
        self.mayRetry = mayRetry
    }

    /// Starts the thread; separate from `init` so that hooks are set first.
    func start() {
        let thread = Thread { [self] in run() }
        thread.name = "margin.read-ahead"
        thread.start()
    }

    private func run() {
        defer {
            condition.lock()
            running = false
            condition.broadcast()
            condition.unlock()
        }
        while true {
            condition.lock()
            while ready.count >= depth && !cancelled { condition.wait() }
            let stop = cancelled
            condition.unlock()
            if stop { return }
            let result: Result<Element, any Error>
            do {
                result = .success(try receive())
            } catch let e where mayRetry(e) && !handlerWaitedIdle() {
                continue
            } catch {
                result = .failure(error)
            }
            var last = true
            if case .success(let m) = result { last = isLast(m) }
            condition.lock()
            ready.append(result)
            condition.broadcast()
            condition.unlock()
            if last { return }
        }
    }

    private func handlerWaitedIdle() -> Bool {
        condition.lock()
        defer { condition.unlock() }
        return waitingSince.map { Date().timeIntervalSince($0) >= idle } ?? false
    }

    /// The next message in the order received, or the error that ended
    /// receiving. Called only from the handler's thread.
    func next() throws -> Element {
        condition.lock()
        if ready.isEmpty {
            guard running else {
                condition.unlock()
                throw SyncError(.internalError, "read past the last message of the phase")
            }
            waitingSince = Date()
            let hook = handlerWaits
            condition.unlock()
            hook?()
            condition.lock()
            while ready.isEmpty && running { condition.wait() }
            waitingSince = nil
        }
        guard !ready.isEmpty else {
            condition.unlock()
            throw SyncError(.internalError, "read past the last message of the phase")
        }
        let result = ready.removeFirst()
        condition.broadcast()
        condition.unlock()
        return try result.get()
    }

    /// The handler gives up: the thread stops before its next read. It may
    /// be inside one, waiting for the peer; closing the stream ends that.
    func cancel() {
        condition.lock()
        cancelled = true
        condition.broadcast()
        condition.unlock()
    }

    /// Waits until the thread has stopped (tests).
    func join() {
        condition.lock()
        while running { condition.wait() }
        condition.unlock()
    }
}
