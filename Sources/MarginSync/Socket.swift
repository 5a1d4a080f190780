import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A failure of the connection itself.
public struct NetworkError: Error, Equatable, CustomStringConvertible {
    public enum Kind: Sendable { case refused, unreachable, timeout, closed, other }
    public var kind: Kind
    public var message: String
    public var description: String { message }
}

/// `host:port`, `[v6]:port` or `host` (default port).
public struct Endpoint: Equatable, Sendable, CustomStringConvertible {
    public var host: String
    public var port: UInt16
    public static let defaultPort: UInt16 = 7433

    public init(host: String, port: UInt16) { self.host = host; self.port = port }

    public init?(parsing text: String, defaultHost: String = "127.0.0.1") {
        var host = text, portText: String?
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            host = String(text[text.index(after: text.startIndex)..<close])
            let rest = text[text.index(after: close)...]
            if rest.hasPrefix(":") { portText = String(rest.dropFirst()) } else if !rest.isEmpty { return nil }
        } else if let colon = text.lastIndex(of: ":"), text.filter({ $0 == ":" }).count == 1 {
            host = String(text[..<colon])
            portText = String(text[text.index(after: colon)...])
        }
        if host.isEmpty { host = defaultHost }
        var port = Endpoint.defaultPort
        if let p = portText {
            guard let n = UInt16(p) else { return nil }
            port = n
        }
        self.init(host: host, port: port)
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// The byte pipe a session runs over: a TCP connection, or the standard
/// input and output of `margin serve --stdio` and of the ssh it runs under.
public protocol ByteStream: AnyObject, Sendable {
    /// The peer as `host:port` (or what the pipe leads to), for messages.
    var peer: String { get }
    /// The peer's address alone, for per-address limits.
    var peerHost: String { get }
    /// Up to `max` bytes; an empty result means the peer closed.
    func read(max: Int, until deadline: Date) throws -> [UInt8]
    func write(_ bytes: [UInt8], until deadline: Date) throws
    /// Ends both directions, waking any thread blocked on this stream.
    func shutdown()
    func close()
}

/// Reads and writes on non-blocking descriptors, every wait a `poll` with
/// the time left: what TCP connections and pipes share.
enum Descriptor {
    static func wait(_ fd: Int32, _ events: Int32, until deadline: Date) throws {
        while true {
            let left = deadline.timeIntervalSinceNow
            guard left > 0 else { throw NetworkError(kind: .timeout, message: "the peer went silent (timed out)") }
            guard fd >= 0 else { throw NetworkError(kind: .closed, message: "connection closed") }
            var p = pollfd(fd: fd, events: Int16(events), revents: 0)
            let n = poll(&p, 1, Int32(min(left * 1000, 1000).rounded(.up)))
            if n > 0 { return }
            if n < 0 && errno != EINTR { throw NetworkError(kind: .other, message: TCPConnection.errnoMessage("poll")) }
        }
    }

    static func read(_ current: () -> Int32, max: Int, until deadline: Date, socket: Bool) throws -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: max)
        while true {
            let fd = current()
            guard fd >= 0 else { throw NetworkError(kind: .closed, message: "connection closed") }
            let n = buffer.withUnsafeMutableBytes { socket ? recv(fd, $0.baseAddress, max, 0) : Glibc.read(fd, $0.baseAddress, max) }
            if n > 0 { return Array(buffer[0..<n]) }
            if n == 0 { return [] }
            if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR {
                try wait(fd, Int32(POLLIN), until: deadline)
                continue
            }
            throw NetworkError(kind: .closed, message: "connection lost: \(String(cString: strerror(errno)))")
        }
    }

    static func write(_ current: () -> Int32, _ bytes: [UInt8], until deadline: Date, socket: Bool) throws {
        var sent = 0
        while sent < bytes.count {
            let fd = current()
            guard fd >= 0 else { throw NetworkError(kind: .closed, message: "connection closed") }
            let n = bytes.withUnsafeBytes { buffer -> Int in
                guard let base = buffer.baseAddress else { return 0 }
                return socket ? send(fd, base + sent, bytes.count - sent, Int32(MSG_NOSIGNAL)) : Glibc.write(fd, base + sent, bytes.count - sent)
            }
            if n > 0 { sent += n; continue }
            if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
                try wait(fd, Int32(POLLOUT), until: deadline)
                continue
            }
            throw NetworkError(kind: .closed, message: "connection lost: \(String(cString: strerror(errno)))")
        }
    }
}

/// A pair of pipes (or any two descriptors) as one stream: `margin serve
/// --stdio` reads its standard input and writes its standard output, and
/// `margin sync ssh://…` the other ends, through ssh.
public final class PipeStream: ByteStream, @unchecked Sendable {
    private let lock = NSLock()
    private var input: Int32, output: Int32
    private let owns: Bool
    public let peer: String
    public let peerHost: String

    /// `owns`: whether `close()` closes the descriptors.
    public init(input: Int32, output: Int32, peer: String, owns: Bool = true) {
        self.input = input
        self.output = output
        self.owns = owns
        self.peer = peer
        peerHost = peer
        for fd in [input, output] { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
        // A reader gone away must be an error to the writer, not a signal.
        signal(SIGPIPE, SIG_IGN)
    }

    deinit { close() }

    public func read(max: Int, until deadline: Date) throws -> [UInt8] {
        try Descriptor.read({ lock.withLock { input } }, max: max, until: deadline, socket: false)
    }

    public func write(_ bytes: [UInt8], until deadline: Date) throws {
        try Descriptor.write({ lock.withLock { output } }, bytes, until: deadline, socket: false)
    }

    public func shutdown() { close() }

    public func close() {
        lock.withLock {
            if owns {
                if input >= 0 { Glibc.close(input) }
                if output >= 0 && output != input { Glibc.close(output) }
            }
            input = -1
            output = -1
        }
    }
}

/// A connected TCP socket with deadline-bounded reads and writes.
/// Non-blocking underneath; every wait is a `poll` with the time left.
public final class TCPConnection: ByteStream, @unchecked Sendable {
    private let lock = NSLock()
    private var fd: Int32
    /// The peer as `host:port`, for messages.
    public let peer: String
    /// The peer's address alone, for per-address limits.
    public let peerHost: String

    init(fd: Int32, peer: String, peerHost: String) {
        self.fd = fd
        self.peer = peer
        self.peerHost = peerHost
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    deinit { close() }

    static func errnoMessage(_ what: String) -> String { "\(what): \(String(cString: strerror(errno)))" }

    /// Whether a socket address is a loopback one: 127.0.0.0/8, ::1, or
    /// ::ffff:127.0.0.0/104. (0.0.0.0 is not, though Linux connects it here.)
    static func isLoopback(_ address: UnsafePointer<sockaddr>) -> Bool {
        switch Int32(address.pointee.sa_family) {
        case AF_INET:
            return address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt32(bigEndian: $0.pointee.sin_addr.s_addr) >> 24 == 127 }
        case AF_INET6:
            return address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) {
                let a = withUnsafeBytes(of: $0.pointee.sin6_addr) { Array($0) }
                let isOne = a.prefix(15).allSatisfy { $0 == 0 } && a[15] == 1
                let mapped = a.prefix(10).allSatisfy { $0 == 0 } && a[10] == 0xff && a[11] == 0xff && a[12] == 127
                return isOne || mapped
            }
        default:
            return false
        }
    }

    /// Connects to `endpoint`, trying each address the name resolves to.
    /// `loopbackOnly`: only addresses that are loopback ones once resolved
    /// (a client without a team secret, as a server without one listens).
    public static func connect(to endpoint: Endpoint, timeout: Double, loopbackOnly: Bool = false) throws -> TCPConnection {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_NUMERICSERV
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(endpoint.host, String(endpoint.port), &hints, &list)
        guard rc == 0, let first = list else {
            throw NetworkError(kind: .unreachable, message: "cannot resolve host '\(endpoint.host)': \(String(cString: gai_strerror(rc)))")
        }
        defer { freeaddrinfo(list) }
        var lastError = NetworkError(kind: .unreachable, message: "cannot connect to \(endpoint)")
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let ai = cursor {
            cursor = ai.pointee.ai_next
            if loopbackOnly, let address = ai.pointee.ai_addr, !isLoopback(address) {
                lastError = NetworkError(kind: .unreachable, message: "refusing to sync with \(endpoint) without a team secret: it is not a loopback address once resolved; give --secret-file F or MARGIN_SECRET, as the server does")
                continue
            }
            let fd = socket(ai.pointee.ai_family, ai.pointee.ai_socktype, ai.pointee.ai_protocol)
            if fd < 0 { continue }
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            var r = Glibc.connect(fd, ai.pointee.ai_addr, ai.pointee.ai_addrlen)
            if r != 0 && errno == EINPROGRESS {
                var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                let n = poll(&p, 1, Int32(max(1, timeout * 1000)))
                if n == 0 {
                    Glibc.close(fd)
                    lastError = NetworkError(kind: .timeout, message: "connection to \(endpoint) timed out")
                    continue
                }
                var err: Int32 = 0
                var len = socklen_t(MemoryLayout<Int32>.size)
                getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len)
                r = err == 0 ? 0 : -1
                errno = err
            }
            if r == 0 { return TCPConnection(fd: fd, peer: endpoint.description, peerHost: endpoint.host) }
            let kind: NetworkError.Kind = errno == ECONNREFUSED ? .refused : .unreachable
            let reason = errno == ECONNREFUSED ? "connection refused (is `margin serve` running there?)" : String(cString: strerror(errno))
            lastError = NetworkError(kind: kind, message: "cannot connect to \(endpoint): \(reason)")
            Glibc.close(fd)
        }
        throw lastError
    }

    /// Reads up to `max` bytes; an empty result means the peer closed.
    public func read(max: Int, until deadline: Date) throws -> [UInt8] {
        try Descriptor.read({ lock.withLock { fd } }, max: max, until: deadline, socket: true)
    }

    public func write(_ bytes: [UInt8], until deadline: Date) throws {
        try Descriptor.write({ lock.withLock { fd } }, bytes, until: deadline, socket: true)
    }

    /// Ends both directions, waking any thread blocked on this socket.
    public func shutdown() {
        lock.withLock { if fd >= 0 { _ = Glibc.shutdown(fd, Int32(SHUT_RDWR)) } }
    }

    public func close() {
        lock.withLock {
            if fd >= 0 { Glibc.close(fd); fd = -1 }
        }
    }
}

/// A listening TCP socket.
public final class TCPListener: @unchecked Sendable {
    private let lock = NSLock()
    private var fd: Int32
    public let endpoint: Endpoint
    /// Whether the address actually bound is a loopback one (127.0.0.0/8 or
    /// ::1), whatever name it was given by: `127.lan` may well resolve to
    /// 0.0.0.0, every interface.
    public let isLoopback: Bool

    public init(endpoint: Endpoint, backlog: Int32 = 64) throws {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_NUMERICSERV | AI_PASSIVE
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(endpoint.host, String(endpoint.port), &hints, &list)
        guard rc == 0, let ai = list else {
            throw NetworkError(kind: .unreachable, message: "cannot resolve '\(endpoint.host)': \(String(cString: gai_strerror(rc)))")
        }
        defer { freeaddrinfo(list) }
        let fd = socket(ai.pointee.ai_family, ai.pointee.ai_socktype, ai.pointee.ai_protocol)
        guard fd >= 0 else { throw NetworkError(kind: .other, message: TCPConnection.errnoMessage("socket")) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        guard bind(fd, ai.pointee.ai_addr, ai.pointee.ai_addrlen) == 0 else {
            let message = TCPConnection.errnoMessage("cannot listen on \(endpoint)")
            Glibc.close(fd)
            throw NetworkError(kind: .other, message: message)
        }
        guard Glibc.listen(fd, backlog) == 0 else {
            let message = TCPConnection.errnoMessage("cannot listen on \(endpoint)")
            Glibc.close(fd)
            throw NetworkError(kind: .other, message: message)
        }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        // Learn the port the system chose when asked for port 0.
        var storage = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        var port = endpoint.port
        _ = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        let loopback = withUnsafePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { TCPConnection.isLoopback($0) } }
        if Int32(storage.ss_family) == AF_INET {
            port = withUnsafePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin_port) } }
        } else if Int32(storage.ss_family) == AF_INET6 {
            port = withUnsafePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin6_port) } }
        }
        isLoopback = loopback
        self.fd = fd
        self.endpoint = Endpoint(host: endpoint.host, port: port)
    }

    deinit { close() }

    /// The next connection, or nil when `timeout` passes first (so a serving
    /// loop can check whether it should stop).
    public func accept(timeout: Double) throws -> TCPConnection? {
        let current = lock.withLock { fd }
        guard current >= 0 else { throw NetworkError(kind: .closed, message: "listener closed") }
        var p = pollfd(fd: current, events: Int16(POLLIN), revents: 0)
        let n = poll(&p, 1, Int32(timeout * 1000))
        guard n > 0 else { return nil }
        var storage = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let client = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.accept(current, $0, &len) }
        }
        guard client >= 0 else { return nil }
        var host = [CChar](repeating: 0, count: Int(NI_MAXHOST))
        var serv = [CChar](repeating: 0, count: Int(NI_MAXSERV))
        let named = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                getnameinfo($0, len, &host, socklen_t(host.count), &serv, socklen_t(serv.count), NI_NUMERICHOST | NI_NUMERICSERV)
            }
        }
        func text(_ chars: [CChar]) -> String {
            String(decoding: chars.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        let peerHost = named == 0 ? text(host) : "unknown"
        let peer = named == 0 ? (peerHost.contains(":") ? "[\(peerHost)]:\(text(serv))" : "\(peerHost):\(text(serv))") : "unknown"
        return TCPConnection(fd: client, peer: peer, peerHost: peerHost)
    }

    public func close() {
        lock.withLock {
            if fd >= 0 { Glibc.close(fd); fd = -1 }
        }
    }
}

/// What is on standard input when `serve --stdio` runs under inetd or a
/// socket unit: a TCP socket, whose peer may be anyone.
public enum StdioPeer {
    public static func remoteSocketPeer() -> (address: String, loopback: Bool)? {
        var storage = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let r = withUnsafeMutablePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(0, $0, &len) } }
        // A pipe, or a local (Unix-domain) socket as sshd and socket units
        // may give: no remote peer.
        guard r == 0, Int32(storage.ss_family) == AF_INET || Int32(storage.ss_family) == AF_INET6 else { return nil }
        var host = [CChar](repeating: 0, count: Int(NI_MAXHOST))
        let named = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getnameinfo($0, len, &host, socklen_t(host.count), nil, 0, NI_NUMERICHOST) }
        }
        guard named == 0 else { return ("an unknown socket peer", false) }
        let address = String(decoding: host.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let loopback = address == "::1" || address.hasPrefix("127.") || address.hasPrefix("::ffff:127.")
        return (address, loopback)
    }
}
