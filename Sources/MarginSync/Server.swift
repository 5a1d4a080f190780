import Foundation
import MarginCore

/// Serves sync sessions on one listener, each on its own thread with its own
/// connection to the store, until `stop()`.
public final class SyncServer: @unchecked Sendable {
    public struct Options: Sendable {
        public var sync = SyncOptions()
        /// Sessions beyond this are refused with ERROR busy.
        public var maxSessions = 16
        /// Sessions from one address beyond this are refused the same way,
        /// so that one host's flood of connections leaves room for others.
        public var maxSessionsPerAddress = 8
        public init() {}
    }

    public let directory: String
    public let listener: TCPListener
    public let options: Options
    private let log: @Sendable (String) -> Void
    private let lock = NSLock()
    private var stopped = false
    private var active: [ObjectIdentifier: TCPConnection] = [:]
    private let sessions = DispatchGroup()

    public init(directory: String, endpoint: Endpoint, options: Options, log: @escaping @Sendable (String) -> Void) throws {
        self.directory = directory
        self.options = options
        self.log = log
        listener = try TCPListener(endpoint: endpoint)
    }

    public var endpoint: Endpoint { listener.endpoint }

    /// Accepts until stopped, then waits for running sessions to end.
    public func serve() {
        while !lock.withLock({ stopped }) {
            guard let connection = try? listener.accept(timeout: 0.2) else { continue }
            start(connection)
        }
        sessions.wait()
    }

    /// Stops accepting and cuts running sessions; an unfinished batch is
    /// rolled back by its transaction.
    public func stop() {
        lock.withLock {
            stopped = true
            for c in active.values { c.shutdown() }
        }
        listener.close()
    }

    private func start(_ connection: TCPConnection) {
        let refusal: String? = lock.withLock {
            if stopped { return "the server is stopping" }
            if active.count >= options.maxSessions { return "too many sessions" }
            if active.values.filter({ $0.peerHost == connection.peerHost }).count >= options.maxSessionsPerAddress {
                return "too many sessions from \(connection.peerHost)"
            }
            active[ObjectIdentifier(connection)] = connection
            return nil
        }
        if let refusal {
            _ = try? connection.write(Wire.frame(.error(code: ErrorCode.busy.rawValue, message: "the server is busy (\(refusal)); try again")),
                                      until: Date().addingTimeInterval(1))
            connection.close()
            log("refused \(connection.peer): \(refusal)")
            return
        }
        sessions.enter()
        Thread.detachNewThread { [self] in
            defer {
                connection.close()
                lock.withLock { _ = active.removeValue(forKey: ObjectIdentifier(connection)) }
                sessions.leave()
            }
            do {
                let store = try Store(directory: directory)
                let r = try SyncSession.serve(store: store, connection: connection, options: options.sync)
                var line = "synced with \(r.peerName) (\(connection.peer)): received \(r.received), sent \(r.sent)"
                if r.newConflicts > 0 { line += ", \(r.newConflicts) new conflicts" }
                log(line)
                if let recovery = r.recovery { log(recovery.summary) }
                for w in r.warnings { log("warning: \(w)") }
            } catch {
                log("session with \(connection.peer) ended: \(MarginError.message(for: error))")
            }
        }
    }
}
