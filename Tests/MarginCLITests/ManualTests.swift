import Foundation
@testable import MarginCLI
import MarginCore
import XCTest

/// Issue 25, "Options declared once": every option a command parses is
/// declared, and every declared option is in `--help`, the man page and
/// the completions; the man page renders with groff and man; the bash
/// script loads in bash and completes a command, an option value, and a
/// record id from the store.
final class ManualTests: CLITestCase {
    /// Option names a command's source asks `Arguments` for (literally, or
    /// through the shared parsers), by command type.
    static func parsedOptions() throws -> [String: Set<String>] {
        let helpers = ["parseSpan(&args)": ["--quote", "--occurrence", "--range"], "coderList(&args)": ["--coders", "--coder"],
                       "AnnotationSelection(&args)": ["--code", "--author", "--record", "--status", "--text"],
                       "CodesCommand.valueType(&args": ["--value-type"]]
        var out: [String: Set<String>] = [:]
        let folder = CLITestCase.repo.appendingPathComponent("Sources/MarginCLI/Commands")
        for file in try FileManager.default.contentsOfDirectory(atPath: folder.path) where file.hasSuffix(".swift") {
            let text = try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8)
            for part in text.components(separatedBy: "\nstruct ").dropFirst() {
                guard let name = part.split(separator: ":").first.map(String.init), name.hasSuffix("Command") else { continue }
                var names = Set<String>()
                let call = try NSRegularExpression(pattern: #"(?:args\.(?:flag|option|options|intOption|countFlag)|seconds)\(([^)]*)\)"#)
                for m in call.matches(in: part, range: NSRange(part.startIndex..., in: part)) {
                    guard let r = Range(m.range(at: 1), in: part) else { continue }
                    let inner = String(part[r])
                    let literal = try NSRegularExpression(pattern: #""(-[^"\\]*)""#)
                    for l in literal.matches(in: inner, range: NSRange(inner.startIndex..., in: inner)) {
                        if let lr = Range(l.range(at: 1), in: inner) { names.insert(String(inner[lr])) }
                    }
                }
                for (helper, options) in helpers where part.contains(helper) { names.formUnion(options) }
                if part.contains("args.option(\"--\\(field)\")") { for f in Record.metadataFields { names.insert("--" + f) } }
                if part.contains("try date(\"--since\")") { names.formUnion(["--since", "--until"]) }
                out[name] = names
            }
        }
        return out
    }

    func testEveryOptionParsedIsDeclaredAndEveryDeclaredOneIsInHelpManAndCompletions() throws {
        let parsed = try ManualTests.parsedOptions()
        XCTAssertGreaterThan(parsed.count, 30)
        let man = ManPage.render(), bash = Completions.bash(), fish = Completions.fish()
        for c in Margin.commands {
            let declared = Set(c.options.flatMap(\.names))
            let typeName = String(describing: c)
            let asked = parsed[typeName] ?? []
            XCTAssertEqual(asked.subtracting(declared).subtracting(["--store", "--help", "-h"]), [], "\(c.name) parses options it does not declare")
            XCTAssertEqual(declared.subtracting(asked), [], "\(c.name) declares options it does not parse")
            let help = Margin.help(c)
            for o in c.options {
                for n in o.names {
                    XCTAssertTrue(help.contains(n), "\(c.name) --help lacks \(n)")
                    XCTAssertTrue(man.contains(n.replacingOccurrences(of: "-", with: "\\-")), "the man page lacks \(c.name) \(n)")
                    guard !c.name.hasPrefix("__") else { continue }
                    XCTAssertTrue(bash.contains(n), "bash completion lacks \(c.name) \(n)")
                    XCTAssertTrue(fish.contains(n.hasPrefix("--") ? "-l '\(n.dropFirst(2))'" : "-s '\(n.dropFirst())'"), "fish completion lacks \(c.name) \(n)")
                }
                if case .choice(let words) = o.value { for w in words { XCTAssertTrue(bash.contains(w) && fish.contains(w), "\(c.name) \(o.names[0]) \(w)") } }
            }
            XCTAssertTrue(man.contains(".SS \"\(c.name)\""), c.name)
        }
    }

    func testTheManPageRendersWithGroffAndMan() throws {
        let page = dir.appendingPathComponent("margin.1")
        let r = margin("man")
        XCTAssertEqual(r.code, 0)
        try r.out.write(to: page, atomically: true, encoding: .utf8)
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/groff") else { throw XCTSkip("groff is not installed: the man page is rendered with it") }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/groff")
        p.arguments = ["-man", "-Tutf8", "-ww", page.path]
        let out = Pipe(), err = Pipe()
        p.standardOutput = out; p.standardError = err
        try p.run()
        // Bold and underline as grotty writes them (overstrikes or SGR), removed.
        let rendered = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            .replacingOccurrences(of: #".\x{08}"#, with: "", options: .regularExpression)
            .replacingOccurrences(of: #"\x{1B}\[[0-9;]*m"#, with: "", options: .regularExpression)
        let warnings = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0)
        XCTAssertEqual(warnings, "", "groff warns")
        for section in ["NAME", "SYNOPSIS", "COMMANDS", "GLOBAL OPTIONS", "EXIT STATUS"] { XCTAssertTrue(rendered.contains(section), section) }
        XCTAssertTrue(rendered.contains("⟦") || rendered.contains("黨"), "non-ASCII text survives")
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/man") {
            let m = Process()
            m.executableURL = URL(fileURLWithPath: "/usr/bin/man")
            m.arguments = ["-l", page.path]
            m.environment = ["MANPAGER": "cat", "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"]
            let o = Pipe()
            m.standardOutput = o; m.standardError = FileHandle.nullDevice
            try m.run()
            let text = String(decoding: o.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            m.waitUntilExit()
            XCTAssertEqual(m.terminationStatus, 0)
            XCTAssertTrue(text.contains("margin annotate"), "man -l renders it")
        }
    }

    /// The bash script loads (`bash -n`, then sourced) and completes a
    /// command, an option, a choice, a code name and a record id.
    func testBashCompletesCommandsOptionsValuesAndIdsFromTheStore() throws {
        guard let binaryURL = CLITestCase.binary else { throw XCTSkip("the margin binary is not built") }
        guard FileManager.default.isExecutableFile(atPath: "/bin/bash") else { throw XCTSkip("bash is not installed") }
        XCTAssertEqual(margin("init", "--name", "alice").code, 0)
        XCTAssertEqual(margin("codes", "add", "party-members").code, 0)
        let rid = try XCTUnwrap(firstID(margin("import", CLITestCase.samples.appendingPathComponent("reports/03-tongren-grid.txt").path).out, after: "imported"))
        let script = dir.appendingPathComponent("margin.bash")
        try margin("completions", "bash").out.write(to: script, atomically: true, encoding: .utf8)
        func complete(_ words: [String]) throws -> [String] {
            let quoted = words.map { "'\($0)'" }.joined(separator: " ")
            let program = "source '\(script.path)' && COMP_WORDS=(\(quoted)) && COMP_CWORD=\(words.count - 1) && _margin && printf '%s\\n' \"${COMPREPLY[@]}\""
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/bin/bash")
            p.arguments = ["-c", program]
            p.currentDirectoryURL = dir
            p.environment = ["PATH": "\(binaryURL.deletingLastPathComponent().path):/usr/bin:/bin", "HOME": dir.path]
            let out = Pipe()
            p.standardOutput = out
            try p.run()
            let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            XCTAssertEqual(p.terminationStatus, 0, program)
            return text.split(separator: "\n").map(String.init)
        }
        let check = Process()
        check.executableURL = URL(fileURLWithPath: "/bin/bash")
        check.arguments = ["-n", script.path]
        try check.run(); check.waitUntilExit()
        XCTAssertEqual(check.terminationStatus, 0, "bash -n accepts the script")
        XCTAssertEqual(try complete(["margin", "sh"]), ["show"])
        XCTAssertTrue(try complete(["margin", "list", "--pl"]).contains("--place"))
        XCTAssertEqual(Set(try complete(["margin", "list", "--status", ""])), ["open", "accepted", "rejected", "suggested"])
        XCTAssertEqual(try complete(["margin", "annotate", rid, "--code", "par"]), ["party-members"])
        XCTAssertEqual(try complete(["margin", "show", String(rid.prefix(3))]), [rid])
        for shell in ["zsh", "fish"] {
            let path = "/usr/bin/\(shell)"
            guard FileManager.default.isExecutableFile(atPath: path) else { continue }
            let file = dir.appendingPathComponent("margin.\(shell)")
            try margin("completions", shell).out.write(to: file, atomically: true, encoding: .utf8)
            let p = Process()
            p.executableURL = URL(fileURLWithPath: path)
            // Each shell must load the script and end with margin's completion registered.
            p.arguments = shell == "zsh"
                ? ["-f", "-c", "source '\(file.path)' && (( $+_comps[margin] ))"]
                : ["--no-config", "-c", "source '\(file.path)'; and complete -c margin | string match -q '*show*'"]
            try p.run(); p.waitUntilExit()
            XCTAssertEqual(p.terminationStatus, 0, "\(shell) loads its script")
        }
        XCTAssertEqual(margin("completions", "tcsh").code, 64)
    }
}
