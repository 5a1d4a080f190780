import Foundation
import MarginCore
import MarginSync

/// Reads the team secret from `--secret-file` or `MARGIN_SECRET`. A file
/// that others can read is refused, as ssh refuses such a key.
func loadSecret(_ file: String?, _ context: Context) throws -> [UInt8] {
    if let file {
        let path = context.absolute(file)
        var st = stat()
        guard stat(path, &st) == 0 else { throw MarginError.notFound("secret file \(file): no such file") }
        if st.st_mode & 0o077 != 0 {
            throw MarginError.invalid("secret file \(file) is readable by others; run `chmod 600 \(file)`")
        }
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw MarginError.invalid("secret file \(file) cannot be read as text")
        }
        let secret = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !secret.isEmpty else { throw MarginError.invalid("secret file \(file) is empty") }
        return Array(secret.utf8)
    }
    if let env = context.environment["MARGIN_SECRET"], !env.isEmpty { return Array(env.utf8) }
    return []
}

func seconds(_ args: inout Arguments, _ name: String) throws -> Double? {
    guard let raw = try args.option(name) else { return nil }
    // At most ten years: the value becomes milliseconds in a 64-bit integer.
    guard let v = Double(raw), v > 0, v <= 315_360_000 else { throw UsageError("\(name) takes a number of seconds between 0 and 315360000 (ten years), not '\(raw)'") }
    return v
}

/// Forwards server log lines to the console from any thread.
final class LockedLog: @unchecked Sendable {
    private let lock = NSLock()
    private let console: Console
    init(_ console: Console) { self.console = console }
    func line(_ s: String) {
        let stamp = Format.time(SystemClock().nowMilliseconds())
        // A line names peers and what they sent: escaped whole, so no peer
        // can colour it or forge the next one.
        lock.withLock { console.out("\(stamp)  \(Format.safe(s))\n") }
    }
}

struct ServeCommand: Command {
    static let name = "serve"
    static let summary = "Accept sync sessions from colleagues until interrupted"
    static let usage = "margin serve [--listen HOST:PORT] [--secret-file F] [options]"
    static let details = """
    Serves this store to peers running `margin sync`, many at once, while the
    store keeps being edited. Ctrl-C (SIGINT) or SIGTERM stops it; a session
    cut short keeps only its committed batches.

    Without a team secret it listens on 127.0.0.1 only. Binding any other
    address needs a secret (--secret-file F, or MARGIN_SECRET); traffic is
    authenticated, not encrypted (see PROTOCOL.md for an SSH tunnel).

    options:
      --listen HOST:PORT      address to listen on (default 127.0.0.1:7433;
                              port 0 picks a free port)
      --secret-file F         the team secret (mode 600)
      --max-sessions N        concurrent sessions (default 16)
      --max-per-address N     concurrent sessions from one address (default 8)
      --idle-timeout S        seconds a peer may stay silent (default 30)
      --handshake-timeout S   seconds a peer has to authenticate (default 10)
      --session-timeout S     seconds a session may last (default 3600)
      --max-frame BYTES       largest frame accepted (default 16777216)
      --max-future S          hold back changes stamped more than S seconds
                              ahead of this clock (default 3600)
    """
    var listen: String, secretFile: String?, maxSessions: Int?, maxPerAddress: Int?, idle: Double?, handshake: Double?
    var total: Double?, maxFuture: Double?, maxFrame: Int?
    init(_ args: inout Arguments) throws {
        listen = try args.option("--listen") ?? "127.0.0.1:\(Endpoint.defaultPort)"
        secretFile = try args.option("--secret-file")
        maxSessions = try args.intOption("--max-sessions", min: 1, max: 10_000)
        maxPerAddress = try args.intOption("--max-per-address", min: 1, max: 10_000)
        idle = try seconds(&args, "--idle-timeout")
        handshake = try seconds(&args, "--handshake-timeout")
        total = try seconds(&args, "--session-timeout")
        maxFuture = try seconds(&args, "--max-future")
        maxFrame = try args.intOption("--max-frame", min: 1024, max: 1 << 30)
        if let m = maxSessions, m < 1 { throw UsageError("--max-sessions must be at least 1") }
        if let m = maxPerAddress, m < 1 { throw UsageError("--max-per-address must be at least 1") }
        if let f = maxFrame, f < 1024 { throw UsageError("--max-frame must be at least 1024") }
    }

    func run(_ context: Context) throws -> Int32 {
        guard let endpoint = Endpoint(parsing: listen) else { throw UsageError("--listen takes HOST:PORT, not '\(listen)'") }
        let secret = try loadSecret(secretFile, context)
        if secret.isEmpty && !endpoint.isLoopback {
            throw MarginError.invalid("refusing to listen on \(endpoint) without a team secret: give --secret-file F or MARGIN_SECRET, or listen on 127.0.0.1")
        }
        let store = try context.store()
        var options = SyncServer.Options()
        options.sync.secret = secret
        if let m = maxSessions { options.maxSessions = m }
        if let m = maxPerAddress { options.maxSessionsPerAddress = m }
        if let i = idle { options.sync.idleTimeout = i }
        if let h = handshake { options.sync.handshakeTimeout = h }
        if let t = total { options.sync.sessionTimeout = t }
        if let f = maxFuture { options.sync.maxFuture = f }
        if let f = maxFrame { options.sync.maxFrame = f }
        let log = LockedLog(context.console)
        let server: SyncServer
        do {
            server = try SyncServer(directory: store.directory, endpoint: endpoint, options: options) { log.line($0) }
        } catch let e as NetworkError {
            throw MarginError.invalid(e.message)
        }
        let mode = secret.isEmpty ? "no secret: loopback only" : "team secret required"
        context.print("serving \(store.node.name) on \(server.endpoint) (\(mode)); Ctrl-C stops")
        signal(SIGINT, SIG_IGN)
        signal(SIGTERM, SIG_IGN)
        let sources = [SIGINT, SIGTERM].map { sig -> DispatchSourceSignal in
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { server.stop() }
            source.resume()
            return source
        }
        server.serve()
        sources.forEach { $0.cancel() }
        context.print("stopped")
        return ExitCode.success
    }
}

struct SyncCommand: Command {
    static let name = "sync"
    static let summary = "Exchange changes with a peer running `margin serve`"
    static let usage = "margin sync HOST:PORT [--secret-file F] [--pull-only | --push-only] [options]"
    static let details = """
    One session: this store sends what the peer lacks and takes what it
    lacks, then prints what moved. Concurrent edits of the same field become
    conflicts (see `margin conflicts`); every node picks the same winner.

    options:
      --secret-file F     the team secret (or MARGIN_SECRET)
      --pull-only         take the peer's changes, send none
      --push-only         send this store's changes, take none
      --idle-timeout S    seconds the peer may stay silent (default 30)
      --max-future S      hold back changes stamped more than S seconds ahead
                          of this clock (default 3600)
      --json              print the summary as JSON
    """
    var address: String, secretFile: String?, pullOnly: Bool, pushOnly: Bool, idle: Double?, maxFuture: Double?, json: Bool
    init(_ args: inout Arguments) throws {
        secretFile = try args.option("--secret-file")
        pullOnly = args.flag("--pull-only")
        pushOnly = args.flag("--push-only")
        idle = try seconds(&args, "--idle-timeout")
        maxFuture = try seconds(&args, "--max-future")
        json = args.flag("--json")
        address = try args.required("HOST:PORT")
        if pullOnly && pushOnly { throw UsageError("--pull-only and --push-only exclude each other") }
    }

    func run(_ context: Context) throws -> Int32 {
        guard let endpoint = Endpoint(parsing: address) else { throw UsageError("expected HOST:PORT, not '\(address)'") }
        let store = try context.store()
        var options = SyncOptions()
        options.secret = try loadSecret(secretFile, context)
        options.sends = !pullOnly
        options.receives = !pushOnly
        if let i = idle { options.idleTimeout = i }
        if let f = maxFuture { options.maxFuture = f }
        let r = try SyncSession.syncSettling(store: store, with: endpoint, options: options)
        let recovery = r.recovery, tookBack = r.tookBack
        for w in r.warnings { context.warn("warning: \(Format.safe(w))") }
        if json {
            var o: [String: Any] = ["peer": ["id": r.peerID, "name": r.peerName], "received": r.received, "sent": r.sent,
                                    "records": r.records, "annotations": r.annotations, "new_conflicts": r.newConflicts,
                                    "held_back": r.heldBack, "took_back": tookBack]
            if let recovery {
                o["recovered"] = ["former_id": recovery.formerID, "new_id": recovery.newID, "from": recovery.from,
                                  "reissued": recovery.reissued]
            }
            try context.printJSON(o)
            return ExitCode.success
        }
        if let recovery { context.print(recovery.summary) }
        else if tookBack > 0 { context.print("took back \(tookBack) of this store's own changes that it did not hold (was it restored from a backup?)") }
        context.print("synced with \(Format.safe(r.peerName)) (\(r.peerID.prefix(8))) at \(endpoint)")
        context.print("received \(r.received) changes (\(r.records) records, \(r.annotations) annotations touched); sent \(r.sent) changes")
        if r.newConflicts > 0 {
            context.print("\(r.newConflicts) new conflict\(r.newConflicts == 1 ? "" : "s"): see `margin conflicts`")
        }
        return ExitCode.success
    }
}

struct PeersCommand: Command {
    static let name = "peers"
    static let summary = "Peers this store has synced with, and how far each side has seen the other"
    static let usage = "margin peers [--json]"
    static let details = """
    For each peer: when it last synced, how many of this node's own changes it
    had then, and how many of its changes this store holds.
    """
    var json: Bool
    init(_ args: inout Arguments) throws { json = args.flag("--json") }

    func run(_ context: Context) throws -> Int32 {
        let store = try context.store()
        let mine = try store.versionVector()
        let own = mine.heads[store.node.id] ?? 0
        let list = try store.peers()
        for p in list {
            let theyHaveOurs = p.theirs.heads[store.node.id] ?? 0
            let weHaveTheirs = mine.heads[p.id] ?? 0
            let theirOwn = max(p.theirs.heads[p.id] ?? 0, weHaveTheirs)
            if json {
                var o: [String: Any] = ["id": p.id, "name": p.name, "they_have_of_ours": theyHaveOurs, "ours": own,
                                        "we_have_of_theirs": weHaveTheirs, "theirs": theirOwn]
                if let a = p.address { o["address"] = a }
                if let t = p.lastSync { o["last_sync"] = Format.iso(t) }
                try context.printJSON(o)
                continue
            }
            context.print("\(Format.safe(p.name)) (\(p.id.prefix(8)))  \(Format.safe(p.address ?? ""))")
            context.print("    last sync   \(p.lastSync.map(Format.time) ?? "never")")
            context.print("    they have   \(theyHaveOurs) of our \(own) changes")
            context.print("    we have     \(weHaveTheirs) of their \(theirOwn) changes")
        }
        if list.isEmpty && !json { context.warn("no peers yet (run `margin sync HOST:PORT`)") }
        return ExitCode.success
    }
}
