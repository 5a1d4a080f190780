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
                     ["codes", "add", "party-members", "--colour", "red"], ["codes", "add", "volunteers", "--colour", "blue", "--triggers", "志願者"], ["codes", "add", "志願者", "--colour", "green"],
                     ["suggest", "--all", "--code", "volunteers"]] {
            let r = try binary(args)
            XCTAssertEqual(r.code, 0, "\(args): \(r.err)")
        }
        let record = try XCTUnwrap(firstID(try binary(["list"]).out, after: "曲麻萊"))
        let annotated = try binary(["annotate", record, "--code", "party-members", "--quote", "16個臨時黨支部", "--value", "16"])
        let raced = try XCTUnwrap(firstID(annotated.out, after: "annotated"), annotated.out + annotated.err)
        // Markup in a title and a note, as a colleague's sync may bring it.
        let imported = try binary(["import", "--raw", "hostile.txt"])
        let hostile = try XCTUnwrap(firstID(imported.out, after: "hostile.txt"), imported.out + imported.err)
        XCTAssertEqual(try binary(["edit", hostile, "--title", hostileTitle]).code, 0)
        XCTAssertEqual(try binary(["note", hostile, "<img src=x onerror=\"window.owned=true\"> a note"]).code, 0)
        XCTAssertTrue(try binary(["list", "--json"]).out.contains("window.owned"), "the markup is held as text")
        // Bob, a second coder: he and alice review the same annotation
        // differently (a conflict), he codes the report and marks it done;
        // his changes reach alice as a bundle.
        let bob = ["--store", "bob/.margin"]
        for args in [bob + ["init", "--name", "bob", "--from", ".margin"], ["review", raced, "--accept"], bob + ["review", raced, "--reject"],
                     bob + ["annotate", record, "--code", "party-members", "--quote", quote, "--value", "159"], bob + ["done", record],
                     bob + ["export", "--log", "-o", "bob.bundle"], ["import", "bob.bundle"]] {
            let r = try binary(args)
            XCTAssertEqual(r.code, 0, "\(args): \(r.err)")
        }
        XCTAssertEqual(try lines(try binary(["conflicts", "--json"]).out).count, 1, "one conflict to resolve in the page")

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
        // Split on any white space: the address line and the next ("Ctrl-C
        // stops it") may come in one read, and then "ADDRESS\nCtrl-C" was
        // taken for the address (a wrong token, and a page with no records).
        let address = try XCTUnwrap(printed.split(whereSeparator: \.isWhitespace).first { $0.hasPrefix("http://127.0.0.1:") }.map(String.init), printed)
        XCTAssertTrue(address.contains("?token="), address)

        let shots = ProcessInfo.processInfo.environment["MARGIN_UI_SCREENSHOTS"] ?? CLITestCase.repo.appendingPathComponent(".build/ui-screenshots").path
        let driver = Process()
        driver.executableURL = URL(fileURLWithPath: python)
        driver.arguments = [WorkspaceBrowserTests.script, address, shots, quote, hostileTitle, record, exe.path, cwd + "/.margin"]
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
        // The new annotation's highlight is exactly the quote, in its code's colour (red).
        XCTAssertEqual(seen["new_annotations"]?.int, 1)
        XCTAssertEqual(seen["highlighted"]?.string, quote, "its marks' text (overlaps cut it in runs)")
        XCTAssertTrue(seen["highlight_colours"]?.array?.contains(.string("rgb(224, 108, 117)")) == true, "\(seen["highlight_colours"] ?? .null)")
        // The CLI shows the same span, at code-point offsets.
        let listed = try binary(["list", "--annotations", "--json", "--code", "party-members"]).out
        let annotations = try lines(listed).filter { $0.object?["author"]?.string == "alice" && $0.object?["quote"]?.string == quote }
        XCTAssertEqual(annotations.count, 1, listed)
        let a = try XCTUnwrap(annotations.first?.object)
        XCTAssertEqual(a["quote"]?.string, quote)
        let scalars = Array(body.unicodeScalars), q = Array(quote.unicodeScalars)
        let start = try XCTUnwrap((0...(scalars.count - q.count)).first { Array(scalars[$0..<($0 + q.count)]) == q })
        XCTAssertEqual(a["start"]?.int, Int64(start), listed)
        XCTAssertEqual(a["end"]?.int, Int64(start + q.count), listed)
        XCTAssertEqual(seen["overlap_outlined"], .bool(true), "overlapping spans are outlined")
        // One suggestion was accepted: it is alice's annotation now (open,
        // as `margin review --accept` leaves a suggestion).
        let before = try XCTUnwrap(seen["suggestions_before"]?.int)
        XCTAssertGreaterThan(before, 0)
        XCTAssertEqual(seen["suggestions_after"]?.int, before - 1)
        let volunteers = try lines(try binary(["list", "--annotations", "--json", "--code", "volunteers"]).out)
        XCTAssertEqual(volunteers.filter { $0.object?["kind"]?.string == "span" }.compactMap { $0.object?["status"]?.string }.filter { $0 != "suggested" }, ["open"])
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

        // The keyboard alone selected 38名志願者; 志愿者 typed found the code
        // 志願者; ] moved its start one later; t tagged, m noted.
        XCTAssertEqual(seen["keyboard_selection"]?.string, "38名志願者")
        XCTAssertEqual(seen["picker_folded"]?.array?.compactMap(\.string), ["志願者"])
        let mine = try lines(try binary(["list", "--annotations", "--json"]).out).compactMap(\.object)
            .filter { $0["record"]?.string?.hasPrefix(record) == true && $0["author"]?.string == "alice" && $0["status"]?.string != "suggested" }
        XCTAssertEqual(mine.filter { $0["code_name"]?.string == "志願者" }.compactMap { $0["quote"]?.string }, ["8名志願者"], "\(mine)")
        XCTAssertEqual(mine.filter { $0["kind"]?.string == "tag" }.compactMap { $0["code_name"]?.string }, ["volunteers"])
        XCTAssertEqual(mine.filter { $0["kind"]?.string == "note" }.compactMap { $0["note"]?.string }.sorted(), ["from the terminal", "記下:數字待核"])
        XCTAssertEqual(seen["live_update"], .bool(true))
        XCTAssertEqual(seen["coded_by_bob"]?.string, "1–1 of 1 records")
        XCTAssertEqual(seen["not_done_by_me"]?.string, "1–1 of 1 records", "the hostile report; alice marked the other done")
        // The conflict was resolved in the page, with its comment.
        XCTAssertEqual(seen["conflicts_before"]?.string, "1 open")
        XCTAssertEqual(seen["conflicts_after"]?.string, "0 open")
        XCTAssertEqual(try binary(["conflicts", "--json"]).out.trimmingCharacters(in: .whitespacesAndNewlines), "")
        let settled = try XCTUnwrap(try lines(try binary(["conflicts", "--all", "--json"]).out).first?.object)
        XCTAssertEqual(settled["comment"]?.string, "bob read it right")
        XCTAssertNotNil(settled["resolution"]?.string)
        // The agreement chart shows the numbers `margin agree --json` prints.
        let agree = try XCTUnwrap(try JSONValue.parse(try binary(["agree", "--coders", "alice,bob", "--json"]).out).object)
        let span = try XCTUnwrap(agree["spans"]?.array?.first { $0.object?["code"]?.string == "party-members" }?.object)
        let bars = try XCTUnwrap(seen["agreement_bars"]?.object)
        for (label, key) in [("party-members · span F1 exact", "exact_f1"), ("party-members · span F1 overlap", "overlap_f1")] {
            let expected = try XCTUnwrap(span[key])
            let shown = try XCTUnwrap(bars[label]?.string, "\(bars)")
            XCTAssertEqual(Double(shown), expected.double, "\(label): the chart against agree --json")
        }
        // Alice's 16 and her value-less 159 against bob's 159 = 159: rows to settle.
        XCTAssertGreaterThan(seen["differences"]?.int ?? 0, 0)
        XCTAssertTrue(seen["agreement_csv"]?.string?.hasPrefix("code,measure,value") == true, seen["agreement_csv"]?.string ?? "")

        ui.interrupt()
        ui.waitUntilExit()
        XCTAssertEqual(ui.terminationStatus, 0, "Ctrl-C stops the workspace cleanly")
    }
}
