import Foundation
import MarginCore
import XCTest

/// `margin sync ssh://…` through the real binary: with `MARGIN_SSH` set to a
/// stand-in that runs the remote command here, and with a real sshd on
/// 127.0.0.1 when one is installed.
final class SSHSyncTests: CLITestCase {
    /// Two stores, each with a report of its own.
    func pair() throws -> (a: String, b: String) {
        let a = try folder("a"), b = try folder("b")
        for (f, name) in [(a, "a"), (b, "b")] {
            XCTAssertEqual(try binary(["init", "--name", name], in: f).code, 0)
            let report = dir.appendingPathComponent("\(name).txt")
            try Data("\(name)縣共有\(name == "a" ? 16 : 12)個臨時黨支部,\(name == "a" ? 159 : 88)名黨員參加。\n".utf8).write(to: report)
            XCTAssertEqual(try binary(["import", report.path], in: f).code, 0)
        }
        return (a, b)
    }

    /// A stand-in for ssh that records its arguments, drops the options
    /// and the destination, and runs the remote command with sh, as sshd
    /// hands it to the user's shell.
    func fakeSSH() throws -> (script: String, log: String) {
        let script = dir.appendingPathComponent("fake-ssh").path, log = dir.appendingPathComponent("ssh-args").path
        try """
        #!/bin/sh
        for a in "$@"; do printf '%s\\n' "$a"; done > '\(log)'
        while [ $# -gt 0 ]; do
            case "$1" in -p|-i|-o) shift 2 ;; -*) shift ;; *) break ;; esac
        done
        shift
        exec sh -c "$1"
        """.write(toFile: script, atomically: true, encoding: .utf8)
        chmod(script, 0o755)
        return (script, log)
    }

    var binaryFolder: String { CLITestCase.binary?.deletingLastPathComponent().path ?? "" }

    func testSyncThroughMarginSSH() throws {
        let (a, b) = try pair()
        let ssh = try fakeSSH()
        let env = ["MARGIN_SSH": ssh.script, "PATH": binaryFolder + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")]
        let r = try binary(["sync", "ssh://alice@field.example:2222\(a)/.margin"], in: b, env: env)
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertTrue(r.out.contains("synced with a"), r.out)
        XCTAssertTrue(r.out.contains("received 1 changes") && r.out.contains("sent 1 changes"), r.out)
        XCTAssertEqual(try storeState(a).digest, try storeState(b).digest)
        let args = try String(contentsOfFile: ssh.log, encoding: .utf8).split(separator: "\n").map(String.init)
        XCTAssertEqual(args, ["-p", "2222", "alice@field.example", "margin serve --stdio --store '\(a)/.margin'"])
        // The far side logged on its standard error, which is the user's.
        XCTAssertTrue(r.err.contains("synced with b over standard input"), r.err)
        XCTAssertEqual(try binary(["check"], in: a).code, 0)
        XCTAssertEqual(try binary(["check"], in: b).code, 0)
    }

    func testSSHErrorsAreClear() throws {
        let (a, b) = try pair()
        let ssh = try fakeSSH()
        var r = try binary(["sync", "ssh://field.example\(a)/.margin", "--remote-margin", "/nonexistent/margin"], in: b,
                           env: ["MARGIN_SSH": ssh.script])
        XCTAssertEqual(r.code, 1)
        XCTAssertTrue(r.err.contains("exited with status 127"), r.err)
        XCTAssertTrue(r.err.contains("--remote-margin"), r.err)
        r = try binary(["sync", "ssh://field.example/nowhere/at/all", "--remote-margin", CLITestCase.binary?.path ?? "margin"], in: b,
                       env: ["MARGIN_SSH": ssh.script])
        XCTAssertEqual(r.code, 1)
        XCTAssertTrue(r.err.contains("no Margin store at /nowhere/at/all"), r.err)
        r = try binary(["sync", "ssh://field.example\(a)", "--secret-file", "x"], in: b)
        XCTAssertEqual(r.code, 64)
        XCTAssertTrue(r.err.contains("needs no team secret"), r.err)
        for bad in ["ssh://", "ssh://host", "ssh://-oProxyCommand=x/path", "ssh://host:99999/p"] {
            XCTAssertEqual(try binary(["sync", bad], in: b).code, 64, bad)
        }
    }

    /// A real sshd on 127.0.0.1 with throwaway keys, when installed.
    func testSyncThroughARealSSHD() throws {
        guard let sshd = ["/usr/sbin/sshd", "/usr/local/sbin/sshd"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }),
              FileManager.default.isExecutableFile(atPath: "/usr/bin/ssh-keygen"),
              FileManager.default.isExecutableFile(atPath: "/usr/bin/ssh") else {
            throw XCTSkip("sshd is not installed (apt-get install openssh-server openssh-client); the MARGIN_SSH test covers the rest")
        }
        // sshd running as root insists on its privilege-separation folder,
        // which the service would have made.
        if getuid() == 0 && !FileManager.default.fileExists(atPath: "/run/sshd") {
            try? FileManager.default.createDirectory(atPath: "/run/sshd", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        }
        let (a, b) = try pair()
        let keys = try folder("keys")
        for (name, type) in [("host", "ed25519"), ("user", "ed25519")] {
            XCTAssertEqual(try CLITestCase.runCommand("/usr/bin/ssh-keygen", ["-q", "-t", type, "-N", "", "-f", "\(keys)/\(name)"]), 0)
        }
        try FileManager.default.copyItem(atPath: "\(keys)/user.pub", toPath: "\(keys)/authorized_keys")
        chmod("\(keys)/authorized_keys", 0o600)
        // A port the system picks, then frees for sshd.
        let probe = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr)
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(probe, $0, len) } }
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(probe, $0, &len) } }
        let port = UInt16(bigEndian: addr.sin_port)
        close(probe)
        let user = ProcessInfo.processInfo.environment["USER"] ?? "root"
        try """
        ListenAddress 127.0.0.1:\(port)
        HostKey \(keys)/host
        AuthorizedKeysFile \(keys)/authorized_keys
        PidFile \(keys)/sshd.pid
        StrictModes no
        PasswordAuthentication no
        KbdInteractiveAuthentication no
        UsePAM no
        PermitRootLogin prohibit-password
        """.write(toFile: "\(keys)/sshd_config", atomically: true, encoding: .utf8)
        // sshd detaches itself; its pid file says whom to stop.
        XCTAssertEqual(try CLITestCase.runCommand(sshd, ["-f", "\(keys)/sshd_config", "-E", "\(keys)/sshd.log"]), 0)
        defer {
            if let pid = (try? String(contentsOfFile: "\(keys)/sshd.pid", encoding: .utf8)).flatMap({ Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }) {
                kill(pid, SIGTERM)
            }
        }
        // Wait (bounded) until sshd accepts connections.
        var ready = false
        for _ in 0..<100 where !ready {
            if let fd = CLITestCase.connectLoopback(port) {
                close(fd)
                ready = true
            } else {
                usleep(50_000)
            }
        }
        guard ready else {
            throw XCTSkip("sshd did not start here: \((try? String(contentsOfFile: "\(keys)/sshd.log", encoding: .utf8)) ?? "")")
        }
        let ssh = "ssh -i \(keys)/user -o IdentitiesOnly=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o BatchMode=yes"
        let r = try binary(["sync", "ssh://\(user)@127.0.0.1:\(port)\(a)/.margin", "--remote-margin", CLITestCase.binary?.path ?? "margin"],
                           in: b, env: ["MARGIN_SSH": ssh])
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertTrue(r.out.contains("synced with a"), r.out)
        XCTAssertEqual(try storeState(a).digest, try storeState(b).digest)
    }
}
