import Foundation
import MarginCore
import MarginSync

/// The team secret from `--secret-file` or `MARGIN_SECRET` (`TeamSecret.load`).
func loadSecret(_ file: String?, _ context: Context) throws -> [UInt8] {
    try TeamSecret.load(file: file, path: file.map(context.absolute), environment: context.environment) { context.warn($0) }
}

func seconds(_ args: inout Arguments, _ name: String) throws -> Double? {
    guard let raw = try args.option(name) else { return nil }
    // At most ten years: the value becomes milliseconds in a 64-bit integer.
    guard let v = Double(raw), v > 0, v <= 315_360_000 else { throw UsageError("\(name) takes a number of seconds between 0 and 315360000 (ten years), not '\(raw)'") }
    return v
}

/// Runs a server's loop until SIGINT or SIGTERM asks it to stop (`serve`,
/// `ui`): the signals are taken from their default action, so that a
/// session or a request under way ends cleanly, and "stopped" is said.
/// `ready` says where it serves once they are: said before, a Ctrl-C
/// right after the line killed the process instead of stopping it
/// (`SecurityCLITests` saw exit status 2, SIGINT's, on a loaded machine).
func serveUntilInterrupted(_ context: Context, ready: () -> Void, serve: () -> Void, stop: @escaping @Sendable () -> Void) -> Int32 {
    signal(SIGINT, SIG_IGN)
    signal(SIGTERM, SIG_IGN)
    let sources = [SIGINT, SIGTERM].map { sig -> DispatchSourceSignal in
        let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
        source.setEventHandler { stop() }
        source.resume()
        return source
    }
    ready()
    serve()
    sources.forEach { $0.cancel() }
    context.print("stopped")
    return ExitCode.success
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
    static let usage = "margin serve [--listen HOST:PORT | --stdio] [--secret-file F] [options]"
    static let details = """
    Serves this store to peers running `margin sync`, many at once, while the
    store keeps being edited. Ctrl-C (SIGINT) or SIGTERM stops it; a session
    cut short keeps only its committed batches. Every session is encrypted
    and authenticated (Noise, see PROTOCOL.md); the log goes to stdout.

    Without a team secret it listens on loopback only. Any other address
    needs one (--secret-file F, or MARGIN_SECRET; make it with `margin secret
    new`). The address is checked after the name is resolved.

    --stdio serves one session on standard input and output, logging to
    standard error: what `margin sync ssh://...` runs on the far side, and
    what inetd or a systemd socket unit can run. A socket from a non-loopback
    address on standard input needs a team secret, as --listen does.
    """
    var listen: String?, stdio: Bool, secretFile: String?, maxSessions: Int?, maxPerAddress: Int?, maxPending: Int?
    var idle: Double?, handshake: Double?, total: Double?, maxFuture: Double?, maxFrame: Int?
    init(_ args: inout Arguments) throws {
        listen = try args.option("--listen")
        stdio = args.flag("--stdio")
        secretFile = try args.option("--secret-file")
        maxSessions = try args.intOption("--max-sessions", min: 1, max: 10_000)
        maxPerAddress = try args.intOption("--max-per-address", min: 1, max: 10_000)
        maxPending = try args.intOption("--max-pending", min: 1, max: 10_000)
        idle = try seconds(&args, "--idle-timeout")
        handshake = try seconds(&args, "--handshake-timeout")
        total = try seconds(&args, "--session-timeout")
        maxFuture = try seconds(&args, "--max-future")
        // Every batch a sender makes fits 8 MiB (PROTOCOL.md §6, "Limits").
        maxFrame = try args.intOption("--max-frame", min: 8 << 20, max: 1 << 30)
        if stdio && listen != nil { throw UsageError("--stdio and --listen exclude each other") }
    }

    func syncOptions(_ secret: [UInt8]) -> SyncOptions {
        var o = SyncServer.Options().sync
        o.secret = secret
        if let i = idle { o.idleTimeout = i }
        if let h = handshake { o.handshakeTimeout = h }
        if let t = total { o.sessionTimeout = t }
        if let f = maxFuture { o.maxFuture = f }
        if let f = maxFrame { o.maxFrame = f }
        return o
    }

    func run(_ context: Context) throws -> Int32 {
        if stdio { return try runStdio(context) }
        let listen = self.listen ?? "127.0.0.1:\(Endpoint.defaultPort)"
        guard let endpoint = Endpoint(parsing: listen) else { throw UsageError("--listen takes HOST:PORT, not '\(listen)'") }
        let secret = try loadSecret(secretFile, context)
        let store = try context.store()
        var options = SyncServer.Options()
        options.sync = syncOptions(secret)
        if let m = maxSessions { options.maxSessions = m }
        if let m = maxPerAddress { options.maxSessionsPerAddress = m }
        if let m = maxPending { options.maxPending = m }
        let log = LockedLog(context.console)
        let server: SyncServer
        do {
            server = try SyncServer(directory: store.directory, endpoint: endpoint, options: options) { log.line($0) }
        } catch let e as NetworkError {
            throw MarginError.invalid(e.message)
        }
        if secret.isEmpty && !server.listener.isLoopback {
            server.listener.close()
            throw MarginError.invalid("refusing to listen on \(endpoint) without a team secret: it is not a loopback address once resolved; give --secret-file F or MARGIN_SECRET (see `margin secret new`), or listen on 127.0.0.1")
        }
        let mode = secret.isEmpty ? "no secret: loopback only" : "team secret required"
        return serveUntilInterrupted(context, ready: {
            context.print("serving \(Format.safe(store.node.name)) on \(server.endpoint) (\(mode), encrypted); Ctrl-C stops")
        }, serve: server.serve, stop: server.stop)
    }

    /// One session on standard input and output; the log on standard error.
    func runStdio(_ context: Context) throws -> Int32 {
        let secret = try loadSecret(secretFile, context)
        let peer = StdioPeer.remoteSocketPeer()
        if secret.isEmpty, let peer, !peer.loopback {
            throw MarginError.invalid("refusing to serve \(peer.address) on standard input without a team secret: give --secret-file F or MARGIN_SECRET")
        }
        // Opened before the handshake, unlike a listening server's: one
        // session, and a wrong --store is said at once, in words ssh passes on.
        let store = try context.store()
        let stream = PipeStream(input: 0, output: 1, peer: peer?.address ?? "stdio", owns: false)
        let r = try SyncSession.serve(stream: stream, options: syncOptions(secret)) { store }
        var line = "synced with \(r.peerName) over standard input: received \(r.received), sent \(r.sent)"
        if r.newConflicts > 0 { line += ", \(r.newConflicts) new conflicts" }
        context.warn(Format.safe(line))
        for w in r.warnings { context.warn("warning: \(Format.safe(w))") }
        return ExitCode.success
    }
}

struct SyncCommand: Command {
    static let name = "sync"
    static let summary = "Exchange changes with a peer running `margin serve`, or over ssh"
    static let usage = "margin sync HOST:PORT | ssh://[USER@]HOST[:PORT]/PATH [--secret-file F] [--pull-only | --push-only] [options]"
    static let details = """
    One session: this store sends what the peer lacks and takes what it
    lacks, then prints what moved. Concurrent edits of the same field become
    conflicts (see `margin conflicts`); every node picks the same winner.
    Sessions are encrypted and authenticated; a TCP peer must share the team
    secret (none is needed on loopback).

    ssh://[USER@]HOST[:PORT]/PATH runs `margin serve --stdio --store PATH` on
    HOST through ssh, as git does: ssh's own keys authenticate, no team secret
    is needed, and HOST needs only `margin` on its PATH. A PATH beginning
    /~/ is relative to the remote home. MARGIN_SSH replaces the ssh command
    (as GIT_SSH_COMMAND does), e.g. MARGIN_SSH='ssh -i ~/.ssh/team'.
    """
    var address: String, secretFile: String?, pullOnly: Bool, pushOnly: Bool, idle: Double?, maxFuture: Double?, json: Bool
    var remoteMargin: String?
    init(_ args: inout Arguments) throws {
        secretFile = try args.option("--secret-file")
        pullOnly = args.flag("--pull-only")
        pushOnly = args.flag("--push-only")
        remoteMargin = try args.option("--remote-margin")
        idle = try seconds(&args, "--idle-timeout")
        maxFuture = try seconds(&args, "--max-future")
        json = args.flag("--json")
        address = try args.required("HOST:PORT or ssh://HOST/PATH")
        if pullOnly && pushOnly { throw UsageError("--pull-only and --push-only exclude each other") }
        if let r = remoteMargin, r.trimmingCharacters(in: .whitespaces).isEmpty { throw UsageError("--remote-margin takes a command") }
    }

    func run(_ context: Context) throws -> Int32 {
        var options = SyncOptions()
        options.sends = !pullOnly
        options.receives = !pushOnly
        if let i = idle { options.idleTimeout = i }
        if let f = maxFuture { options.maxFuture = f }
        // A progress line on a terminal, updated in place, at most ten
        // times a second; none when standard error is piped.
        let line = SyncProgressLine(console: context.console)
        if context.console.errIsTerminal && !json { options.progress = { line.update($0) } }
        defer { line.finish() }
        let r: SyncReport
        let shownAddress: String
        if address.hasPrefix("ssh://") {
            guard let target = SSHTarget(parsing: address) else {
                throw UsageError("expected ssh://[USER@]HOST[:PORT]/PATH, not '\(address)'")
            }
            if secretFile != nil { throw UsageError("an ssh:// sync needs no team secret: ssh authenticates both sides") }
            let store = try context.store()
            let ssh = context.environment["MARGIN_SSH"].flatMap { $0.trimmingCharacters(in: .whitespaces).isEmpty ? nil : $0 } ?? "ssh"
            let arguments = target.sshArguments(remoteMargin: remoteMargin ?? "margin")
            shownAddress = target.description
            var last: ProcessStream?
            do {
                r = try SyncSession.syncSettling(store: store, options: options, address: shownAddress) {
                    let p = try ProcessStream(command: ssh, arguments: arguments, peer: shownAddress)
                    last = p
                    return p
                }
            } catch let e as SyncError where !e.fromPeer {
                // ssh that failed (no such host, refused key, no margin
                // there) says why on stderr; the pipe only closes.
                if let status = last?.exitStatus(wait: true), status != 0 {
                    throw MarginError.invalid("\(ssh) \(target.host) exited with status \(status)\(status == 127 ? " (is margin on the remote PATH? see --remote-margin)" : "") (its message is above)")
                }
                throw e
            }
        } else {
            if remoteMargin != nil { throw UsageError("--remote-margin is for ssh:// addresses") }
            guard let endpoint = Endpoint(parsing: address) else { throw UsageError("expected HOST:PORT or ssh://HOST/PATH, not '\(address)'") }
            options.secret = try loadSecret(secretFile, context)
            let store = try context.store()
            r = try SyncSession.syncSettling(store: store, with: endpoint, options: options)
            shownAddress = endpoint.description
        }
        return try report(r, at: shownAddress, context)
    }

    func report(_ r: SyncReport, at endpoint: String, _ context: Context) throws -> Int32 {
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
        context.print("synced with \(Format.safe(r.peerName)) (\(r.peerID.hex.prefix(8))) at \(endpoint)")
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
            context.print("\(Format.safe(p.name)) (\(p.id.hex.prefix(8)))  \(Format.safe(p.address ?? ""))")
            context.print("    last sync   \(p.lastSync.map(Format.time) ?? "never")")
            context.print("    they have   \(theyHaveOurs) of our \(own) changes")
            context.print("    we have     \(weHaveTheirs) of their \(theirOwn) changes")
        }
        if list.isEmpty && !json { context.warn("no peers yet (run `margin sync HOST:PORT`)") }
        return ExitCode.success
    }
}

struct SecretCommand: Command {
    static let name = "secret"
    static let summary = "Make a team secret for `margin serve` and `margin sync`"
    static let usage = "margin secret new [FILE]"
    static let details = """
    margin secret new [FILE]
        makes a fresh 256-bit team secret: 52 letters and digits in groups of
        four, easy to read out or type (case, spaces and dashes do not
        matter). With FILE it is written there with mode 600, and the file
        must not exist yet; without, it is printed.

    Give it to each colleague by a channel you already trust (in person, or
    a messenger with end-to-end encryption), never in the same e-mail as the
    address of your server. Each keeps it in a file (`--secret-file F`) or
    in MARGIN_SECRET. A passphrase of your own also works, with a warning:
    anyone who can pose as your server can test guesses against it offline.
    """
    var file: String?
    init(_ args: inout Arguments) throws {
        guard let sub = args.positional() else { throw UsageError("say what to do: margin secret new [FILE]") }
        guard sub == "new" else { throw UsageError("unknown subcommand '\(sub)' (margin secret new [FILE])") }
        file = args.positional()
    }

    func run(_ context: Context) throws -> Int32 {
        let secret = TeamSecret.generate()
        guard let file else {
            context.print(secret)
            return ExitCode.success
        }
        let path = context.absolute(file)
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            let reason = errno == EEXIST ? "it exists already (a secret is never overwritten; remove it first)" : String(cString: strerror(errno))
            throw MarginError.invalid("cannot write \(file): \(reason)")
        }
        let bytes = Array((secret + "\n").utf8)
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        let closed = close(fd)
        guard written == bytes.count, closed == 0 else {
            unlink(path)
            throw MarginError.store("cannot write \(file): \(String(cString: strerror(errno)))")
        }
        context.print("wrote a new 256-bit team secret to \(file) (mode 600)")
        context.print("use it with --secret-file \(file); give it to colleagues by a channel you trust (see `margin secret --help`)")
        return ExitCode.success
    }
}

/// `syncing: sent 12,000, received 3,400 changes (5,100/s)` on standard
/// error, rewritten in place. Updated from the session's threads.
final class SyncProgressLine: @unchecked Sendable {
    private let lock = NSLock()
    private let console: Console
    private var sent = 0, received = 0, shown = false
    private var lastDraw = Date.distantPast
    private let start = Date()

    init(console: Console) { self.console = console }

    func update(_ p: SyncProgress) {
        lock.lock(); defer { lock.unlock() }
        switch p {
        case .sent(let n): sent = n
        case .received(let n): received = n
        }
        let now = Date()
        guard now.timeIntervalSince(lastDraw) >= 0.1 else { return }
        lastDraw = now
        let rate = Double(sent + received) / max(0.001, now.timeIntervalSince(start))
        console.err("\r\u{1B}[Ksyncing: sent \(SyncProgressLine.grouped(sent)), received \(SyncProgressLine.grouped(received)) changes (\(SyncProgressLine.grouped(Int(rate)))/s)")
        shown = true
    }

    /// Clears the line, if one was drawn.
    func finish() {
        lock.lock(); defer { lock.unlock() }
        if shown { console.err("\r\u{1B}[K"); shown = false }
    }

    static func grouped(_ n: Int) -> String {
        let digits = String(n)
        var out = ""
        for (i, c) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(c)
        }
        return out
    }
}
