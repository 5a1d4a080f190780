import Foundation
@testable import MarginCLI
import MarginCore
import XCTest

struct CLIResult {
    var code: Int32
    var out: String
    var err: String
}

/// A scratch folder per test, and two ways to run `margin` in it: in-process
/// through `run(arguments:)`, or as the real binary.
class CLITestCase: XCTestCase {
    var dir: URL!
    var cwd: String { dir.path }

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("margin-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let samples = repo.appendingPathComponent("Samples")
    static let seeds = repo.deletingLastPathComponent().appendingPathComponent("shared/seeds")

    /// A plain TCP socket connected to 127.0.0.1:`port`, or nil.
    static func connectLoopback(_ port: UInt16) -> Int32? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr)
        let connected = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { close(fd); return nil }
        return fd
    }

    /// A new folder in the test's folder, for one more store.
    func folder(_ name: String) throws -> String {
        let f = dir.appendingPathComponent(name).path
        try FileManager.default.createDirectory(atPath: f, withIntermediateDirectories: true)
        return f
    }

    @discardableResult
    func margin(_ args: String..., in folder: String? = nil, env: [String: String] = [:]) -> CLIResult {
        marginArgs(args, in: folder, env: env)
    }

    /// `input`: the lines standard input holds (none: it is at its end).
    func marginArgs(_ args: [String], in folder: String? = nil, env: [String: String] = [:], terminal: Bool = false,
                    input: [String] = []) -> CLIResult {
        var out = "", err = ""
        var lines = input[...]
        let console = Console(out: { out += $0 }, err: { err += $0 }, outIsTerminal: terminal, errIsTerminal: terminal,
                              input: { lines.popFirst() })
        var environment = ["USER": "tester"]
        environment.merge(env) { _, b in b }
        let code = MarginCLI.run(arguments: args, environment: environment, workingDirectory: folder ?? cwd, console: console)
        return CLIResult(code: code, out: out, err: err)
    }

    /// The `margin` executable built next to the test bundle.
    static var binary: URL? {
        var candidates: [URL] = [Bundle.main.bundleURL.appendingPathComponent("margin")]
        candidates.append(repo.appendingPathComponent(".build/debug/margin"))
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }

    func binary(_ args: [String], in folder: String? = nil, env: [String: String] = [:]) throws -> CLIResult {
        try CLITestCase.runBinary(args, in: folder ?? cwd, env: env)
    }

    /// Runs a system command quietly; its exit status.
    static func runCommand(_ path: String, _ args: [String]) throws -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = args
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        return p.terminationStatus
    }

    /// Runs the real binary to the end; usable from any thread. With
    /// `user`, runs it as that unprivileged user id through setpriv(1).
    static func runBinary(_ args: [String], in folder: String, env: [String: String] = [:], user: Int? = nil) throws -> CLIResult {
        guard let exe = CLITestCase.binary else {
            throw XCTSkip("the margin binary is not built next to the tests (run `swift build` first)")
        }
        let p = Process()
        if let user {
            p.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
            p.arguments = ["--reuid=\(user)", "--regid=\(user)", "--clear-groups", "--", exe.path] + args
        } else {
            p.executableURL = exe
            p.arguments = args
        }
        p.currentDirectoryURL = URL(fileURLWithPath: folder)
        var environment = ProcessInfo.processInfo.environment
        environment.removeValue(forKey: "MARGIN_STORE")
        environment.merge(env) { _, b in b }
        p.environment = environment
        let outPipe = Pipe(), errPipe = Pipe()
        p.standardOutput = outPipe
        p.standardError = errPipe
        p.standardInput = FileHandle.nullDevice
        try p.run()
        // Read both pipes to the end before waiting, so a full pipe cannot stall the child.
        let group = DispatchGroup()
        nonisolated(unsafe) var errBytes = Data()
        group.enter()
        DispatchQueue.global().async {
            errBytes = errPipe.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        let outBytes = outPipe.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        p.waitUntilExit()
        return CLIResult(code: p.terminationStatus, out: String(decoding: outBytes, as: UTF8.self), err: String(decoding: errBytes, as: UTF8.self))
    }

    func storeState(_ folder: String? = nil) throws -> (digest: String, changes: Int) {
        let s = try Store(directory: ((folder ?? cwd) as NSString).appendingPathComponent(".margin"))
        return (try s.digest(), try s.status().changes)
    }

    func firstID(_ output: String, after marker: String) -> String? {
        for line in output.split(separator: "\n") where line.contains(marker) {
            if let word = line.split(separator: " ").first(where: { $0.count == 10 && $0.allSatisfy(\.isHexDigit) }) { return String(word) }
        }
        return nil
    }
}

/// A `margin` process running alongside the test (a server, a sync to be
/// killed), with its output collected as it comes.
final class MarginProcess: @unchecked Sendable {
    let process = Process()
    private let lock = NSLock()
    private var output = ""
    private let finished = DispatchSemaphore(value: 0)

    init(_ args: [String], in folder: String, env: [String: String] = [:]) throws {
        guard let exe = CLITestCase.binary else { throw XCTSkip("margin binary not built") }
        process.executableURL = exe
        process.arguments = args
        process.currentDirectoryURL = URL(fileURLWithPath: folder)
        var environment = ProcessInfo.processInfo.environment
        environment.merge(env) { _, b in b }
        process.environment = environment
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        Thread.detachNewThread { [self] in
            while true {
                let data = pipe.fileHandleForReading.availableData
                if data.isEmpty { break }
                lock.withLock { output += String(decoding: data, as: UTF8.self) }
            }
            finished.signal()
        }
    }

    var text: String { lock.withLock { output } }

    /// Waits (bounded) for output matching `predicate`.
    func wait(for predicate: (String) -> Bool, timeout: Double = 20) -> Bool {
        let end = Date().addingTimeInterval(timeout)
        while Date() < end {
            if predicate(text) { return true }
            usleep(20_000)
        }
        return false
    }

    /// The port from the "serving … on 127.0.0.1:PORT" line.
    func port(host: String = "127.0.0.1") -> String? {
        guard wait(for: { $0.contains(" on \(host):") }) else { return nil }
        let t = text
        guard let r = t.range(of: " on \(host):") else { return nil }
        return String(t[r.upperBound...].prefix { $0.isNumber })
    }

    var pid: Int32 { process.processIdentifier }

    /// The exit status once the process has ended, or nil after `timeout`.
    func waitForExit(timeout: Double = 30) -> Int32? {
        guard finished.wait(timeout: .now() + timeout) == .success else { return nil }
        finished.signal()   // for the next waiter
        process.waitUntilExit()
        return process.terminationStatus
    }

    func stop(_ signal: Int32 = SIGTERM) -> Int32 {
        kill(process.processIdentifier, signal)
        if finished.wait(timeout: .now() + 20) == .success { finished.signal() }
        process.waitUntilExit()
        return process.terminationStatus
    }
}

/// A store in the test folder holding one code and one sample report.
class OneReportTestCase: CLITestCase {
    var record = ""

    override func setUpWithError() throws {
        try super.setUpWithError()
        XCTAssertEqual(margin("init", "--name", "t").code, 0)
        XCTAssertEqual(margin("codes", "add", "party-members").code, 0)
        let r = margin("import", CLITestCase.samples.appendingPathComponent("reports/03-tongren-grid.txt").path)
        record = try XCTUnwrap(firstID(r.out, after: "imported"))
    }
}
