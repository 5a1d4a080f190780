import Foundation
@testable import MarginCLI
import MarginCore
import XCTest

/// Issue 25: the pager in a real terminal. An interactive bash with job
/// control owns a pseudo-terminal (`setsid --ctty`, so bash is the session
/// leader and its controlling terminal is the pty); it runs the real
/// `margin` binary, which pages through the real `less`. Observed before:
/// `less` ran in a process group of its own, was stopped (SIGTTIN) when it
/// read the keyboard, and the screen stayed blank; `q` did nothing.
final class PagerTests: CLITestCase {
    /// Reads the terminal until `text` appears (or 20 s pass).
    final class Terminal {
        let master: Int32
        var seen = ""
        init(master: Int32) { self.master = master }

        @discardableResult
        func expect(_ text: String, within seconds: Double = 20) -> Bool {
            let deadline = Date().addingTimeInterval(seconds)
            while !seen.contains(text) {
                guard Date() < deadline else { return false }
                var pfd = pollfd(fd: master, events: Int16(POLLIN), revents: 0)
                guard poll(&pfd, 1, 200) > 0 else { continue }
                var buffer = [UInt8](repeating: 0, count: 4096)
                let n = read(master, &buffer, buffer.count)
                if n <= 0 { return seen.contains(text) }
                seen += String(decoding: buffer[0..<n], as: UTF8.self)
            }
            return true
        }

        func type(_ s: String) { _ = s.utf8CString.withUnsafeBufferPointer { write(master, $0.baseAddress, $0.count - 1) } }
    }

    /// Output made in bytes (a whole-store listing) goes to standard output
    /// as bytes, and follows `out` wherever it is sent instead: the pager
    /// collects a command's output by replacing `out`, and bytes must not
    /// go around it to the terminal.
    func testBytesFollowTheConsolesOutWhenItIsReplaced() {
        var direct: [UInt8] = [], collected = ""
        var console = Console(out: { _ in XCTFail("text went to the first out") }, err: { _ in })
        console.outBytes = { direct += $0 }
        console.out(bytes: Array("159名黨員\n".utf8))
        XCTAssertEqual(String(decoding: direct, as: UTF8.self), "159名黨員\n")
        console.out = { collected += $0 }
        console.out(bytes: Array("16個臨時黨支部\n".utf8))
        XCTAssertEqual(collected, "16個臨時黨支部\n")
        XCTAssertEqual(String(decoding: direct, as: UTF8.self), "159名黨員\n")
    }

    func testLessRunsInTheForegroundAndQuitsOnQInAShellWithJobControl() throws {
        guard let binary = CLITestCase.binary else { throw XCTSkip("the margin binary is not built") }
        for tool in ["/usr/bin/setsid", "/bin/bash", "/usr/bin/less"] where !FileManager.default.isExecutableFile(atPath: tool) {
            throw XCTSkip("\(tool) is not installed: the test runs the real shell and pager")
        }
        // A store whose log is far longer than a 20-row screen.
        XCTAssertEqual(margin("init", "--name", "alice").code, 0)
        for i in 0..<30 { XCTAssertEqual(margin("codes", "add", "code-\(i)").code, 0) }

        var master: Int32 = -1, slave: Int32 = -1
        var size = winsize(ws_row: 20, ws_col: 100, ws_xpixel: 0, ws_ypixel: 0)
        XCTAssertEqual(openpty(&master, &slave, nil, nil, &size), 0)
        defer { close(master) }
        let shell = Process()
        shell.executableURL = URL(fileURLWithPath: "/usr/bin/setsid")
        shell.arguments = ["--ctty", "--wait", "/bin/bash", "--norc", "--noprofile", "--noediting", "-i"]
        shell.currentDirectoryURL = dir
        shell.environment = ["HOME": dir.path, "TERM": "xterm", "PATH": "\(binary.deletingLastPathComponent().path):/usr/bin:/bin",
                             "PS1": "READY$ ", "NO_COLOR": "1", "LANG": "C.UTF-8"]
        let tty = FileHandle(fileDescriptor: slave, closeOnDealloc: false)
        shell.standardInput = tty; shell.standardOutput = tty; shell.standardError = tty
        try shell.run()
        close(slave)
        defer { if shell.isRunning { shell.terminate() } }
        let t = Terminal(master: master)
        XCTAssertTrue(t.expect("READY$ "), "the shell started: \(t.seen)")
        t.type("set -m; margin log; echo \"EXIT\"=$?\n")
        // less draws the first screen and waits for a key, in the foreground.
        XCTAssertTrue(t.expect("code-"), "the pager showed the log: \(t.seen)")
        // less's prompt: it is reading keys from the terminal (stopped by
        // SIGTTIN, it never draws it).
        guard t.expect(":\u{1B}[K", within: 10) else {
            // Stopped (SIGTTIN) in a background group, less never draws it.
            XCTFail("less does not wait for a key in the foreground: \(t.seen.suffix(300))")
            let session = tcgetsid(master)
            if session > 0 { kill(-session, SIGKILL); kill(session, SIGKILL) }
            kill(shell.processIdentifier, SIGKILL)
            return
        }
        t.type("q")
        XCTAssertTrue(t.expect("EXIT=0", within: 10), "q ends the pager and margin returns 0: \(t.seen.suffix(600))")
        // The terminal is back in line mode with echo, as the shell left it.
        t.seen = ""
        t.type("stty -a; echo MODES\"-\"DONE\n")
        XCTAssertTrue(t.expect("MODES-DONE"), t.seen)
        XCTAssertTrue(t.seen.contains(" icanon") && t.seen.contains(" echo ") && !t.seen.contains("-icanon"), t.seen)
        // Ctrl-C in the pager: less takes it, q still quits, nothing is left stopped.
        t.seen = ""
        t.type("margin log; echo \"EXIT\"2=$?\n")
        XCTAssertTrue(t.expect("code-") && t.expect(":\u{1B}[K"), "the pager again: \(t.seen)")
        // Ctrl-C goes to the foreground group: less takes it (margin, in
        // the same group, ignores it while the pager runs). less drops keys
        // typed before it has handled the interrupt, so q is typed until
        // the command returns (a bounded number of times).
        t.seen = ""
        t.type("\u{3}")
        var returned = false
        for _ in 0..<10 where !returned {
            t.type("q")
            returned = t.expect("EXIT2=", within: 2)
        }
        XCTAssertTrue(returned && t.expect("EXIT2=0", within: 2), "after Ctrl-C and q, margin returns 0: \(t.seen.suffix(600))")
        t.seen = ""
        t.type("jobs; echo JOBS\"-\"DONE\n")
        XCTAssertTrue(t.expect("JOBS-DONE"))
        XCTAssertFalse(t.seen.contains("Stopped"), "no stopped job left: \(t.seen)")
        // The shell's session (its id is the shell's pid) is ended whatever
        // happened above, so that nothing outlives the test.
        let session = tcgetsid(master)
        t.type("exit\n")
        // The shell exits and the terminal closes (read gives end of file).
        t.expect("no such text", within: 10)
        if session > 0 { kill(session, SIGKILL) }
        // Then setsid exits (polled, with a bound; never an unbounded wait).
        let deadline = Date().addingTimeInterval(10)
        while shell.isRunning && Date() < deadline { usleep(10_000) }
        if shell.isRunning { kill(shell.processIdentifier, SIGKILL) }
    }
}
