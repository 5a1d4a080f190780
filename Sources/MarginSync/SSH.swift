import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// `ssh://[user@]host[:port]/path/to/folder`, as git and fossil take it. A
/// path beginning `/~/` is relative to the remote home.
public struct SSHTarget: Equatable, Sendable, CustomStringConvertible {
    public var user: String?
    public var host: String
    public var port: UInt16?
    public var path: String

    public init?(parsing text: String) {
        guard text.hasPrefix("ssh://") else { return nil }
        let rest = text.dropFirst("ssh://".count)
        guard let slash = rest.firstIndex(of: "/") else { return nil }
        var authority = String(rest[..<slash])
        let path = String(rest[slash...])
        guard path.count > 1, !path.contains("\0") else { return nil }
        if let at = authority.lastIndex(of: "@") {
            user = String(authority[..<at])
            authority = String(authority[authority.index(after: at)...])
            guard let u = user, !u.isEmpty, !u.hasPrefix("-") else { return nil }
        }
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            host = String(authority[authority.index(after: authority.startIndex)..<close])
            let tail = authority[authority.index(after: close)...]
            if tail.hasPrefix(":") {
                guard let p = UInt16(tail.dropFirst()) else { return nil }
                port = p
            } else if !tail.isEmpty { return nil }
        } else if let colon = authority.lastIndex(of: ":") {
            host = String(authority[..<colon])
            guard let p = UInt16(authority[authority.index(after: colon)...]) else { return nil }
            port = p
        } else {
            host = authority
        }
        // A host beginning with '-' would be read by ssh as an option.
        guard !host.isEmpty, !host.hasPrefix("-"), !host.contains(where: { $0.isWhitespace }) else { return nil }
        self.path = path.hasPrefix("/~/") ? String(path.dropFirst()) : path
    }

    public var description: String {
        "ssh://\(user.map { "\($0)@" } ?? "")\(host.contains(":") ? "[\(host)]" : host)\(port.map { ":\($0)" } ?? "")\(path.hasPrefix("~") ? "/" : "")\(path)"
    }

    /// Single-quoted for the remote shell, which is where ssh sends it.
    static func quoted(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'" }

    /// The words after the ssh command: options, destination, and the remote
    /// command as one string (ssh hands it to the remote user's shell).
    public func sshArguments(remoteMargin: String) -> [String] {
        var args: [String] = []
        if let port { args += ["-p", String(port)] }
        args.append((user.map { "\($0)@" } ?? "") + host)
        let store = path.hasPrefix("~/") ? "~/" + SSHTarget.quoted(String(path.dropFirst(2))) : SSHTarget.quoted(path)
        args.append("\(remoteMargin) serve --stdio --store \(store)")
        return args
    }
}

/// A child process's standard input and output as a stream: `margin sync
/// ssh://…` talks to `ssh host margin serve --stdio` through it. Its
/// standard error stays the user's, for ssh's prompts and messages.
public final class ProcessStream: ByteStream, @unchecked Sendable {
    private let pipes: PipeStream
    private let lock = NSLock()
    private var pid: pid_t
    private var status: Int32?
    public var peer: String { pipes.peer }
    public var peerHost: String { pipes.peerHost }

    /// Runs `command` (a shell command line, as `GIT_SSH_COMMAND` is) with
    /// `arguments` appended, each passed as one word.
    public init(command: String, arguments: [String], peer: String) throws {
        var toChild: [Int32] = [-1, -1], fromChild: [Int32] = [-1, -1]
        guard pipe(&toChild) == 0 else { throw NetworkError(kind: .other, message: TCPConnection.errnoMessage("pipe")) }
        guard pipe(&fromChild) == 0 else {
            Glibc.close(toChild[0]); Glibc.close(toChild[1])
            throw NetworkError(kind: .other, message: TCPConnection.errnoMessage("pipe"))
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, toChild[0], 0)
        posix_spawn_file_actions_adddup2(&actions, fromChild[1], 1)
        for fd in [toChild[0], toChild[1], fromChild[0], fromChild[1]] { posix_spawn_file_actions_addclose(&actions, fd) }
        let argv = ["/bin/sh", "-c", "\(command) \"$@\"", "margin-ssh"] + arguments
        var cargs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { cargs.forEach { free($0) } }
        var child: pid_t = 0
        let rc = posix_spawn(&child, "/bin/sh", &actions, nil, &cargs, environ)
        Glibc.close(toChild[0])
        Glibc.close(fromChild[1])
        guard rc == 0 else {
            Glibc.close(toChild[1]); Glibc.close(fromChild[0])
            throw NetworkError(kind: .other, message: "cannot run \(command): \(String(cString: strerror(rc)))")
        }
        pid = child
        pipes = PipeStream(input: fromChild[0], output: toChild[1], peer: peer)
    }

    deinit { close() }

    public func read(max: Int, until deadline: Date) throws -> [UInt8] { try pipes.read(max: max, until: deadline) }
    public func write(_ bytes: [UInt8], until deadline: Date) throws { try pipes.write(bytes, until: deadline) }
    public func shutdown() { pipes.shutdown() }

    /// Closes the pipes and waits for the child: ssh ends once its input
    /// does; one that has not within ten seconds is terminated.
    public func close() {
        pipes.close()
        let end = Date().addingTimeInterval(10)
        while exitStatus(wait: false) == nil {
            guard Date() < end else {
                lock.withLock { if pid > 0 { _ = kill(pid, SIGTERM) } }
                _ = exitStatus(wait: true)
                return
            }
            usleep(5_000)
        }
    }

    /// The child's exit status once it has ended: its code, or 128 plus the
    /// signal that ended it. `wait: false` only looks.
    public func exitStatus(wait: Bool) -> Int32? {
        lock.withLock {
            if let status { return status }
            guard pid > 0 else { return nil }
            var raw: Int32 = 0
            var r: pid_t
            repeat { r = waitpid(pid, &raw, wait ? 0 : WNOHANG) } while r < 0 && errno == EINTR
            guard r == pid else { return nil }
            let code = raw & 0x7f == 0 ? (raw >> 8) & 0xff : 128 + (raw & 0x7f)
            status = code
            return code
        }
    }
}
