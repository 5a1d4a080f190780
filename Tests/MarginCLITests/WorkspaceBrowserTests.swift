import Foundation
import MarginCore
import XCTest

/// `margin ui` in a real headless Chromium, driven by WebDriver
/// (Tests/Browser/workspace.py): a span selected with the mouse after
/// astral characters lands where `margin list --annotations` shows it, a
/// suggestion is accepted, the record is marked done, and a hostile report
/// runs no script. Screenshots of each page go to
/// .build/ui-screenshots (or $MARGIN_UI_SCREENSHOTS).
/// Skips with a message where Chromium, chromedriver or Selenium is missing
/// (`.ci/run` installs them).
final class WorkspaceBrowserTests: CLITestCase {
    static let script = repo.appendingPathComponent("Tests/Browser/workspace.py").path

    /// A Python that has Selenium: the first python3 on PATH that does, or
    /// the system's.
    func requireBrowser() throws -> String {
        for tool in ["/usr/bin/chromium", "/usr/bin/chromedriver"] where !FileManager.default.isExecutableFile(atPath: tool) {
            throw XCTSkip("\(tool) is not installed: the workspace's browser test needs Chromium, chromedriver and Selenium (apt-get install chromium chromium-driver python3-selenium)")
        }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        let pythons = path.split(separator: ":").map { "\($0)/python3" } + ["/usr/bin/python3"]
        for python in pythons where FileManager.default.isExecutableFile(atPath: python) {
            if try CLITestCase.runCommand(python, ["-c", "import selenium"]) == 0 { return python }
        }
        throw XCTSkip("no python3 with selenium is installed: apt-get install python3-selenium")
    }

    /// `list --annotations --json` prints JSON Lines.
    func lines(_ text: String) throws -> [JSONValue] {
        try text.split(separator: "\n").map { try JSONValue.parse(String($0)) }
    }

    func testCodingBySelectingWithTheMouseInARealBrowser() throws {
        let python = try requireBrowser()
        let quote = "159名黨員"
        let body = "𠀀😷 曲麻萊縣成立16個臨時黨支部,\(quote)參加防疫工作。\n\n全縣共有38名志願者。"
        let hostileTitle = "<script>document.title='owned';window.owned=true</script><img src=x onerror=\"window.owned=true\">"
        try ("曲麻萊縣抗疫一線\n\n" + body).write(toFile: cwd + "/r1.txt", atomically: true, encoding: .utf8)
        let hostileBody = "\u{202E}txt.exe 全縣各級黨組織迅速行動,組織黨員幹部下沉社區開展防疫工作。<b onclick=\"window.owned=true\">共有5名黨員</b>參加值守,每天排查往來人員。"
        try (hostileTitle + "\n\n" + hostileBody + "\n\n" + hostileBody).write(toFile: cwd + "/hostile.txt", atomically: true, encoding: .utf8)
        for args in [["init", "--name", "alice"], ["import", "r1.txt"],
                     ["codes", "add", "party-members", "--colour", "red"], ["codes", "add", "volunteers", "--colour", "blue", "--triggers", "志願者"],
                     ["suggest", "--all", "--code", "volunteers"]] {
            let r = try binary(args)
            XCTAssertEqual(r.code, 0, "\(args): \(r.err)")
        }
        // Markup in a title and a note, as a colleague's sync may bring it.
        let imported = try binary(["import", "--raw", "hostile.txt"])
        let hostile = try XCTUnwrap(firstID(imported.out, after: "hostile.txt"), imported.out + imported.err)
        XCTAssertEqual(try binary(["edit", hostile, "--title", hostileTitle]).code, 0)
        XCTAssertEqual(try binary(["note", hostile, "<img src=x onerror=\"window.owned=true\"> a note"]).code, 0)
        XCTAssertTrue(try binary(["list", "--json"]).out.contains("window.owned"), "the markup is held as text")

        // The workspace, as a user starts it.
        guard let exe = CLITestCase.binary else { throw XCTSkip("the margin binary is not built") }
        let ui = Process()
        ui.executableURL = exe
        ui.arguments = ["ui", "--no-open"]
        ui.currentDirectoryURL = dir
        let out = Pipe()
        ui.standardOutput = out
        ui.standardError = FileHandle.nullDevice
        try ui.run()
        defer { if ui.isRunning { ui.terminate() } }
        var printed = ""
        while !printed.contains("\n") {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            printed += String(decoding: chunk, as: UTF8.self)
        }
        let address = try XCTUnwrap(printed.split(separator: " ").first { $0.hasPrefix("http://127.0.0.1:") }.map { String($0.trimmingCharacters(in: .whitespacesAndNewlines)) }, printed)
        XCTAssertTrue(address.contains("?token="), address)

        let shots = ProcessInfo.processInfo.environment["MARGIN_UI_SCREENSHOTS"] ?? CLITestCase.repo.appendingPathComponent(".build/ui-screenshots").path
        let driver = Process()
        driver.executableURL = URL(fileURLWithPath: python)
        driver.arguments = [WorkspaceBrowserTests.script, address, shots, quote, hostileTitle]
        let driverOut = Pipe(), driverErr = Pipe()
        driver.standardOutput = driverOut
        driver.standardError = driverErr
        try driver.run()
        let seenBytes = driverOut.fileHandleForReading.readDataToEndOfFile()
        let errText = String(decoding: driverErr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        driver.waitUntilExit()
        XCTAssertEqual(driver.terminationStatus, 0, errText)
        let seen = try XCTUnwrap(try JSONValue.parse(String(decoding: seenBytes, as: UTF8.self)).object, errText)

        // The token left the address bar; the list showed both records.
        XCTAssertEqual(seen["address_after_entry"]?.string?.contains("token"), false)
        XCTAssertEqual(seen["count"]?.string, "1–2 of 2 records")
        // The mouse selected the quote, and the highlight is exactly it.
        XCTAssertEqual(seen["picker_quote"]?.string, "“\(quote)”")
        XCTAssertEqual(seen["highlighted"]?.string, quote, "the coded span's highlight (a suggestion's may cut it in runs)")
        XCTAssertEqual(seen["highlight_colour"]?.string, "rgba(224, 108, 117, 1)", "the code's colour (red)")
        // The CLI shows the same span, at code-point offsets.
        let listed = try binary(["list", "--annotations", "--json", "--code", "party-members"]).out
        let annotations = try lines(listed)
        XCTAssertEqual(annotations.count, 1, listed)
        let a = try XCTUnwrap(annotations.first?.object)
        XCTAssertEqual(a["quote"]?.string, quote)
        let scalars = Array(body.unicodeScalars), q = Array(quote.unicodeScalars)
        let start = try XCTUnwrap((0...(scalars.count - q.count)).first { Array(scalars[$0..<($0 + q.count)]) == q })
        XCTAssertEqual(a["start"]?.int, Int64(start), listed)
        XCTAssertEqual(a["end"]?.int, Int64(start + q.count), listed)
        // One suggestion was accepted: it is alice's annotation now (open,
        // as `margin review --accept` leaves a suggestion).
        let before = try XCTUnwrap(seen["suggestions_before"]?.int)
        XCTAssertGreaterThan(before, 0)
        XCTAssertEqual(seen["suggestions_after"]?.int, before - 1)
        let volunteers = try lines(try binary(["list", "--annotations", "--json", "--code", "volunteers"]).out)
        XCTAssertEqual(volunteers.compactMap { $0.object?["status"]?.string }.filter { $0 != "suggested" }, ["open"])
        // Done, by the key d.
        XCTAssertTrue(seen["done_button"]?.string?.hasPrefix("Marked done") == true)
        let status = try binary(["status"]).out
        XCTAssertTrue(status.contains("1 of 2 records marked done"), status)
        // The hostile report is text; nothing of it ran.
        XCTAssertEqual(seen["script_ran"], .bool(false))
        XCTAssertEqual(seen["images"]?.int, 0)
        XCTAssertEqual(seen["bidi_controls_shown"], .bool(false), "a bidi override is shown, not obeyed")
        XCTAssertTrue(seen["body_shown"]?.string?.contains("\u{FFFD}txt.exe") == true, seen["body_shown"]?.string ?? "")
        XCTAssertEqual(seen["document_title"]?.string, "Margin")
        XCTAssertTrue(seen["hostile_title_shown"]?.string?.contains("<script>") == true)
        XCTAssertEqual(seen["console_errors"]?.array?.count, 0, "\(seen["console_errors"] ?? .null)")

        ui.interrupt()
        ui.waitUntilExit()
        XCTAssertEqual(ui.terminationStatus, 0, "Ctrl-C stops the workspace cleanly")
    }
}
