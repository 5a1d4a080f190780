import Foundation
import MarginCore

/// Serves sync sessions on one listener, each on its own thread, until
/// `stop()`. A connection is first a pending handshake, with its own small
/// quota and a short time limit; only a peer that has proven the team
/// secret takes a session slot and gets the store opened for it. So a flood
/// of connections that cannot authenticate delays a colleague by at most a
/// handshake, and never locks them out.
public final class SyncServer: @unchecked Sendable {
    public struct Options: Sendable {
        public var sync = SyncOptions()
        /// Authenticated sessions beyond this are refused with ERROR busy.
        public var maxSessions = 16
        /// Authenticated sessions from one address beyond this are refused
        /// the same way, so that one host leaves room for others.
        public var maxSessionsPerAddress = 8
        /// How long a peer that proved the secret waits for a session slot
        /// before it is refused as busy: a laptop that syncs again the
        /// moment its last session ended is not turned away while the
        /// server's side of that session is still closing.
        public var slotWait: Double = 2
        /// Handshakes in progress. When full, one is cut to make room: the
        /// oldest of the address with the most, so that a flood cuts its own
        /// and cannot keep a newcomer from starting its handshake.
        public var maxPending = 64
        /// Handshakes in progress from one address; the same rule, per address.
        public var maxPendingPerAddress = 8
        /// Failed authentications from one address that are free; each one
        /// after doubles the time (from 0.25 s, to at most `maxPenalty`)
        /// during which that address's connections are closed at once.
        public var freeFailures = 3
        public var maxPenalty: Double = 30
        /// A burst of failures from one address ends after this many quiet
        /// seconds; its first failure is logged at once, the rest as a count.
        public var burstQuiet: Double = 10
        public init() { sync.handshakeTimeout = 5 }
    }

    public let directory: String
    public let listener: TCPListener
    public let options: Options
    private let log: @Sendable (String) -> Void
    /// Guards the tables below; signalled when a session slot frees.
    private let lock = NSCondition()
    private var stopped = false
    private var pending: [ObjectIdentifier: (connection: TCPConnection, host: String, started: Date)] = [:]
    private var active: [ObjectIdentifier: (connection: TCPConnection, host: String)] = [:]
    private var failures: [String: Failures] = [:]
    private var waiting = 0
    /// Admitted peers waiting for a session slot now.
    var waitingForSlot: Int { lock.withLock { waiting } }
    /// Sessions holding a slot now.
    var sessionsHoldingSlots: Int { lock.withLock { active.count } }
    private let sessions = DispatchGroup()

    /// Until when `host` is shut out (the past when it is not).
    func penalty(of host: String) -> Date { lock.withLock { failures[host]?.penaltyUntil ?? .distantPast } }

    /// One address's recent failed handshakes.
    struct Failures {
        var authentication = 0
        var penaltyUntil = Date.distantPast
        var last = Date()
        var burstStart = Date()
        var unlogged = 0
    }

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
            flushBursts(force: false)
            guard let connection = try? listener.accept(timeout: 0.2) else { continue }
            start(connection)
        }
        sessions.wait()
        flushBursts(force: true)
    }

    /// Stops accepting and cuts running sessions; an unfinished batch is
    /// rolled back by its transaction.
    public func stop() {
        lock.withLock {
            stopped = true
            for c in active.values { c.connection.shutdown() }
            for c in pending.values { c.connection.shutdown() }
            lock.broadcast()
        }
        listener.close()
    }

    private func start(_ connection: TCPConnection) {
        let host = connection.peerHost
        let id = ObjectIdentifier(connection)
        let refusal: String? = lock.withLock {
            if stopped { return "the server is stopping" }
            if let f = failures[host], f.penaltyUntil > Date() {
                return "too many failed authentications from \(host); wait \(Int(f.penaltyUntil.timeIntervalSinceNow.rounded(.up))) s"
            }
            // Room for this handshake: when a quota is reached, cut the
            // oldest handshake of the same address, or else of the address
            // with the most handshakes pending, so a flood cuts its own.
            let mine = pending.filter { $0.value.host == host }
            var victim: ObjectIdentifier?
            if mine.count >= options.maxPendingPerAddress {
                victim = mine.min(by: { $0.value.started < $1.value.started })?.key
            } else if pending.count >= options.maxPending {
                var counts: [String: Int] = [:]
                for p in pending.values { counts[p.host, default: 0] += 1 }
                victim = pending.min(by: { a, b in
                    let ca = counts[a.value.host] ?? 0, cb = counts[b.value.host] ?? 0
                    return ca != cb ? ca > cb : a.value.started < b.value.started
                })?.key
            }
            if let victim, let p = pending.removeValue(forKey: victim) { p.connection.shutdown() }
            pending[id] = (connection, host, Date())
            return nil
        }
        if let refusal {
            // Said in clear, before any handshake: it names nothing of this node.
            _ = try? connection.write(Wire.frame(.error(code: ErrorCode.busy.rawValue, message: refusal)), until: Date().addingTimeInterval(0.5))
            connection.close()
            return
        }
        sessions.enter()
        Thread.detachNewThread { [self] in
            var admitted = false
            defer {
                connection.close()
                lock.withLock { pending[id] = nil }
                release(id)
                sessions.leave()
            }
            do {
                var sessionOptions = options.sync
                sessionOptions.cancelled = { [weak self] in self?.lock.withLock { self?.stopped ?? true } ?? true }
                let r = try SyncSession.serve(stream: connection, options: sessionOptions, admit: {
                    admitted = true
                    return admit(id, connection, host)
                }, exchanged: { [self] in release(id) }, openStore: { try Store(directory: directory) })
                var line = "synced with \(r.peerName) (\(connection.peer)): received \(r.received), sent \(r.sent)"
                if r.newConflicts > 0 { line += ", \(r.newConflicts) new conflicts" }
                log(line)
                if let recovery = r.recovery { log(recovery.summary) }
                for w in r.warnings { log("warning: \(w)") }
            } catch {
                let message = "session with \(connection.peer) ended: \(MarginError.message(for: error))"
                if admitted {
                    log(message)
                } else {
                    let isAuthentication = (error as? SyncError).map { $0.code == .authentication && !$0.fromPeer } ?? false
                    failed(host, message, authentication: isAuthentication)
                }
            }
        }
    }

    /// The peer proved the secret: a session slot, if one is free now or
    /// within `slotWait`.
    private func admit(_ id: ObjectIdentifier, _ connection: TCPConnection, _ host: String) -> String? {
        let deadline = Date().addingTimeInterval(options.slotWait)
        let refusal: String? = lock.withLock {
            pending[id] = nil
            failures[host]?.authentication = 0
            while true {
                if stopped { return "the server is stopping" }
                let full: String?
                if active.count >= options.maxSessions {
                    full = "too many sessions"
                } else if active.values.filter({ $0.host == host }).count >= options.maxSessionsPerAddress {
                    full = "too many sessions from \(host)"
                } else {
                    full = nil
                }
                guard let full else { break }
                waiting += 1
                let woken = lock.wait(until: deadline)
                waiting -= 1
                if !woken { return full }
            }
            active[id] = (connection, host)
            return nil
        }
        if let refusal { log("refused \(connection.peer): \(refusal)") }
        return refusal
    }

    /// The session's slot is free again (once its exchange has ended, or
    /// when its thread ends, whichever comes first).
    private func release(_ id: ObjectIdentifier) {
        lock.withLock {
            if active.removeValue(forKey: id) != nil { lock.broadcast() }
        }
    }

    /// A handshake that failed: logged if it starts a burst, counted if not;
    /// a failed authentication also lengthens the address's penalty.
    func failed(_ host: String, _ message: String, authentication: Bool, at now: Date = Date()) {
        let logNow: Bool = lock.withLock {
            var f = failures[host] ?? Failures()
            var starts = false
            if failures[host] == nil || now.timeIntervalSince(f.last) > options.burstQuiet {
                f.burstStart = now
                f.unlogged = 0
                starts = true
            } else {
                f.unlogged += 1
            }
            f.last = now
            if authentication {
                f.authentication += 1
                let over = f.authentication - options.freeFailures
                if over > 0 { f.penaltyUntil = now.addingTimeInterval(min(options.maxPenalty, 0.25 * pow(2, Double(min(over, 20) - 1)))) }
            }
            failures[host] = f
            return starts
        }
        if logNow { log(message) }
    }

    /// Logs the count of each burst that has gone quiet (all, when stopping).
    func flushBursts(force: Bool, at now: Date = Date()) {
        let lines: [String] = lock.withLock {
            var out: [String] = []
            for (host, f) in failures where force || now.timeIntervalSince(f.last) > options.burstQuiet {
                if f.unlogged > 0 {
                    out.append("\(f.unlogged) more failed handshakes from \(host) in \(Int(f.last.timeIntervalSince(f.burstStart).rounded(.up))) s")
                }
                // An address is forgiven only once it has stayed away for
                // twice the longest penalty after its own ended: waiting
                // out a penalty does not reset the doubling.
                if force || now.timeIntervalSince(max(f.penaltyUntil, f.last)) > 2 * options.maxPenalty {
                    failures[host] = nil
                } else {
                    failures[host]?.unlogged = 0
                }
            }
            return out
        }
        lines.forEach(log)
    }
}
