import Dispatch
import Foundation
import Glibc
import MarginCore
import MarginSync

/// `margin ui`: the workspace served to a browser on this machine.
///
/// Who may use it: whoever holds the token printed in its address, from a
/// page this server served. Each rule has one reason:
/// - loopback only, checked on the address bound, not the name given;
/// - the token (random per run) is asked once, in the printed address, and
///   then kept in an HttpOnly, SameSite=Strict cookie, so no other site's
///   page can send it and no script can read it;
/// - the `Host` header must name the loopback address and port this
///   server listens on, so a DNS name rebound to 127.0.0.1 reaches nothing;
/// - every write is a POST of JSON whose `Origin` is this server's, so no
///   other page can post to it (CSRF), and no CORS header is ever sent;
/// - every response carries a Content-Security-Policy that allows only this
///   server's own script and style, so report text that slipped into the
///   page as markup still could not run.
public final class Workspace: @unchecked Sendable {
    public struct Options: Sendable {
        /// The whole request (headers and body) must arrive within this.
        public var requestTimeout: Double = 10
        /// The largest request body taken: a note or a value, never a report.
        public var maxBody = 256 * 1024
        /// Connections handled at once; more wait to be accepted.
        public var maxConnections = 32
        public init() {}
    }

    public let directory: String
    public let listener: TCPListener
    public let token: String
    let options: Options
    /// The team secret for "sync now" (`margin ui --secret-file`, or
    /// MARGIN_SECRET); empty: peers on loopback only, as `margin sync`.
    public var syncSecret: [UInt8] = []
    /// The sync running now, if any, and how far it has come.
    struct SyncState {
        var running = false
        var peer = ""
        var sent = 0, received = 0
        var last: String?
    }
    private var syncState = SyncState()
    private let lock = NSLock()
    private var stopped = false
    private var active = 0
    private let group = DispatchGroup()

    /// Binds `endpoint`; refuses an address that is not loopback once
    /// resolved (`localhost` may be configured to mean anything).
    public init(directory: String, endpoint: Endpoint, options: Options = Options()) throws {
        self.directory = directory
        self.options = options
        listener = try TCPListener(endpoint: endpoint)
        guard listener.isLoopback else {
            listener.close()
            throw MarginError.invalid("refusing to serve the workspace on \(endpoint): it is not a loopback address once resolved; use 127.0.0.1")
        }
        var g = SystemRandomNumberGenerator()
        token = (0..<24).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &g)) }.joined()
    }

    public var port: UInt16 { listener.endpoint.port }

    /// The address to open: the token is in it, once.
    public var address: String { "http://127.0.0.1:\(port)/?token=\(token)" }

    /// Accepts connections until `stop`, each handled on its own thread.
    public func serve() {
        while !lock.withLock({ stopped }) {
            guard lock.withLock({ active < options.maxConnections }) else {
                usleep(10_000)
                continue
            }
            guard let connection = try? listener.accept(timeout: 0.25) else { continue }
            lock.withLock { active += 1 }
            group.enter()
            DispatchQueue.global().async { [self] in
                defer {
                    lock.withLock { active -= 1 }
                    group.leave()
                }
                handle(connection)
            }
        }
        listener.close()
        group.wait()
    }

    public func stop() { lock.withLock { stopped = true } }

    /// Reads one request (within `requestTimeout`), answers it, closes.
    func handle(_ connection: TCPConnection) {
        defer { connection.close() }
        let deadline = Date(timeIntervalSinceNow: options.requestTimeout)
        var buffer: [UInt8] = []
        let response: HTTPResponse
        do {
            while true {
                if let (request, _) = try HTTPParser.parse(buffer, maxBody: options.maxBody) {
                    response = respond(to: request)
                    break
                }
                let chunk = try connection.read(max: 64 * 1024, until: deadline)
                if chunk.isEmpty { return }
                buffer += chunk
            }
        } catch let e as HTTPError {
            // Refused before its body was read: the body still coming is
            // read and dropped, so that closing does not reset the
            // connection and lose the answer before the client reads it.
            try? connection.write(Workspace.secured(.text(e.status, e.message)).bytes, until: Date(timeIntervalSinceNow: 10))
            let drainUntil = Date(timeIntervalSinceNow: 2)
            var drained = 0
            while drained < 4 << 20, let chunk = try? connection.read(max: 64 * 1024, until: drainUntil), !chunk.isEmpty { drained += chunk.count }
            return
        } catch let e as NetworkError where e.kind == .timeout {
            response = Workspace.secured(.text(408, "the request did not arrive in \(Int(options.requestTimeout)) s"))
        } catch {
            return
        }
        try? connection.write(response.bytes, until: Date(timeIntervalSinceNow: 10))
    }

    // MARK: - Who may ask

    /// What every response carries.
    static let securityHeaders: [(String, String)] = [
        ("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'"),
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", "DENY"),
        ("Referrer-Policy", "no-referrer"),
        ("Cache-Control", "no-store"),
        ("Cross-Origin-Opener-Policy", "same-origin"),
        ("Cross-Origin-Resource-Policy", "same-origin"),
    ]

    static func secured(_ r: HTTPResponse) -> HTTPResponse {
        var r = r
        r.headers += securityHeaders
        return r
    }

    static let cookieName = "margin_ui"

    /// The hosts a request may name: this server's port on loopback.
    var allowedHosts: Set<String> { ["127.0.0.1:\(port)", "localhost:\(port)", "[::1]:\(port)"] }

    /// The answer to one request: the checks above, then the route.
    public func respond(to request: HTTPRequest) -> HTTPResponse {
        Workspace.secured(checkedRoute(request))
    }

    private func checkedRoute(_ request: HTTPRequest) -> HTTPResponse {
        guard let host = request.header("host"), allowedHosts.contains(host.lowercased()) else {
            return .text(403, "this workspace answers only at 127.0.0.1:\(port) (the Host header named another)")
        }
        if request.method == "GET", request.path == "/", let given = request.query["token"] {
            guard Workspace.sameSecret(given, token) else { return .text(403, "wrong token: open the address `margin ui` printed") }
            // The token leaves the address bar at once; the cookie carries it.
            return HTTPResponse(status: 303, contentType: "text/plain; charset=utf-8", body: [], headers: [
                ("Location", "/"),
                ("Set-Cookie", "\(Workspace.cookieName)=\(token); HttpOnly; SameSite=Strict; Path=/"),
            ])
        }
        guard let cookie = request.cookie(Workspace.cookieName), Workspace.sameSecret(cookie, token) else {
            return .text(401, "no token: open the address `margin ui` printed (it holds the token)")
        }
        switch request.method {
        case "GET":
            return get(request)
        case "POST":
            guard let origin = request.header("origin"), allowedHosts.contains(where: { origin.lowercased() == "http://" + $0 }),
                  origin.lowercased() == "http://" + host.lowercased() else {
                return .text(403, "a write must come from this workspace's own page (the Origin header named another, or none)")
            }
            guard request.header("content-type")?.lowercased().hasPrefix("application/json") == true else {
                return .text(415, "a write is a JSON body (Content-Type: application/json)")
            }
            return post(request)
        default:
            return .text(405, "only GET and POST are answered")
        }
    }

    /// Compares two secrets in time that does not depend on where they differ.
    static func sameSecret(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        var d: UInt8 = 0
        for i in x.indices { d |= x[i] ^ y[i] }
        return d == 0
    }

    // MARK: - Routes

    private func get(_ request: HTTPRequest) -> HTTPResponse {
        switch request.path {
        case "/": return HTTPResponse(status: 200, contentType: "text/html; charset=utf-8", body: Array(WorkspaceAssets.html.utf8))
        case "/app.js": return HTTPResponse(status: 200, contentType: "text/javascript; charset=utf-8", body: Array(WorkspaceAssets.script.utf8))
        case "/app.css": return HTTPResponse(status: 200, contentType: "text/css; charset=utf-8", body: Array(WorkspaceAssets.style.utf8))
        case "/api/sync-status":
            let state = lock.withLock { syncState }
            return WorkspaceAPI.json(.sortedObject([("running", .bool(state.running)), ("peer", .string(state.peer)),
                                                    ("sent", .int(state.sent)), ("received", .int(state.received)),
                                                    ("last", state.last.map { .string($0) } ?? .null)]))
        default:
            guard request.path.hasPrefix("/api/") else { return .text(404, "no page \(request.path)") }
            return api { try WorkspaceAPI(store: $0).get(String(request.path.dropFirst(5)), request.query) }
        }
    }

    private func post(_ request: HTTPRequest) -> HTTPResponse {
        guard request.path.hasPrefix("/api/") else { return .text(404, "no page \(request.path)") }
        let body: [String: JSONValue]
        do {
            guard let text = String(validating: request.body, as: UTF8.self), let object = try JSONValue.parse(text).object else {
                return WorkspaceAPI.error(400, "the body must be a JSON object")
            }
            body = object
        } catch {
            return WorkspaceAPI.error(400, "the body is not JSON: \(error)")
        }
        if request.path == "/api/sync" { return api { try sync($0, body) } }
        return api { try WorkspaceAPI(store: $0).post(String(request.path.dropFirst(5)), body) }
    }

    /// "Sync now" with a peer running `margin serve`: the same session as
    /// `margin sync HOST:PORT`, its progress readable at /api/sync-status
    /// while it runs. One at a time.
    private func sync(_ store: Store, _ body: [String: JSONValue]) throws -> HTTPResponse {
        guard let address = body["address"]?.string, let endpoint = Endpoint(parsing: address) else {
            throw HTTPError(400, "give the peer's address (HOST:PORT)")
        }
        try lock.withLock {
            guard !syncState.running else { throw HTTPError(409, "a sync is running already") }
            syncState = SyncState(running: true, peer: endpoint.description)
        }
        var options = SyncOptions()
        options.secret = syncSecret
        options.progress = { [self] p in
            lock.withLock {
                switch p {
                case .sent(let n): syncState.sent = n
                case .received(let n): syncState.received = n
                }
            }
        }
        do {
            let r = try SyncSession.syncSettling(store: store, with: endpoint, options: options)
            let line = "synced with \(r.peerName) at \(endpoint): received \(r.received), sent \(r.sent)" + (r.newConflicts > 0 ? ", \(r.newConflicts) new conflicts" : "")
            lock.withLock { syncState.running = false; syncState.last = line }
            return WorkspaceAPI.json(.sortedObject([("peer", .string(r.peerName)), ("received", .int(r.received)), ("sent", .int(r.sent)),
                                                    ("new_conflicts", .int(r.newConflicts)), ("line", .string(line))]))
        } catch {
            let message = (error as? SyncError).map { "\($0)" } ?? (error as? NetworkError)?.message ?? MarginError.message(for: error)
            lock.withLock { syncState.running = false; syncState.last = "sync with \(endpoint) failed: \(message)" }
            throw MarginError.invalid("sync with \(endpoint) failed: \(message)")
        }
    }

    /// Runs one API call on a store opened for it: the CLI and `margin
    /// serve` may write the same store meanwhile, and a store opened per
    /// request reads what they wrote.
    private func api(_ body: (Store) throws -> HTTPResponse) -> HTTPResponse {
        do {
            let store = try Store(directory: directory)
            defer { store.db.close() }
            return try body(store)
        } catch let e as MarginError {
            return WorkspaceAPI.error(e.httpStatus, e.description)
        } catch let e as HTTPError {
            return WorkspaceAPI.error(e.status, e.message)
        } catch {
            return WorkspaceAPI.error(500, MarginError.message(for: error))
        }
    }
}

extension MarginError {
    /// The status a refusal of the store gets in the workspace's API.
    var httpStatus: Int {
        switch self {
        case .notFound: 404
        case .invalid, .ambiguous: 400
        case .store, .corrupt: 500
        }
    }
}
