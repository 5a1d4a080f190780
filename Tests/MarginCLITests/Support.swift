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

    @discardableResult
    func margin(_ args: String..., in folder: String? = nil, env: [String: String] = [:]) -> CLIResult {
        marginArgs(args, in: folder, env: env)
    }

    func marginArgs(_ args: [String], in folder: String? = nil, env: [String: String] = [:], terminal: Bool = false) -> CLIResult {
        var out = "", err = ""
        let console = Console(out: { out += $0 }, err: { err += $0 }, outIsTerminal: terminal, errIsTerminal: terminal)
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

    func binary(_ args: [String], in folder: String? = nil, env: [String: String] = [:], stdin: Data? = nil) throws -> CLIResult {
        guard let exe = CLITestCase.binary else {
            XCTFail("the margin binary is not built next to the tests (run `swift build` first)")
            return CLIResult(code: -1, out: "", err: "")
        }
        let p = Process()
        p.executableURL = exe
        p.arguments = args
        p.currentDirectoryURL = URL(fileURLWithPath: folder ?? cwd)
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
