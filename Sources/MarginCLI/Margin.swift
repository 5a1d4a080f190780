import Foundation
import MarginCore

/// One `margin` subcommand: parses its own words, has its own help, runs.
protocol Command: Sendable {
    static var name: String { get }
    /// One line for the command list.
    static var summary: String { get }
    /// The usage synopsis, printed with usage errors.
    static var usage: String { get }
    /// The rest of `--help`: what it does (its options come from `options`).
    static var details: String { get }
    /// Every option, declared once (Options.swift).
    static var options: [OptionSpec] { get }
    init(_ args: inout Arguments) throws
    func run(_ context: Context) throws -> Int32
}

/// Exit statuses, as Unix programs use them.
public enum ExitCode {
    public static let success: Int32 = 0
    public static let failure: Int32 = 1
    public static let usage: Int32 = 64
}

enum Margin {
    static let commands: [any Command.Type] = [
        InitCommand.self, ImportCommand.self, ListCommand.self, ShowCommand.self, SearchCommand.self,
        AnnotateCommand.self, TagCommand.self, NoteCommand.self, EditCommand.self, RecodeCommand.self, DeleteCommand.self, UndoCommand.self, RedoCommand.self, SuggestCommand.self,
        ReviewCommand.self, DoneCommand.self, BlindCommand.self, AgreeCommand.self, CompareCommand.self, AdjudicateCommand.self, TableCommand.self, CodesCommand.self, LogCommand.self, StatusCommand.self, ExportCommand.self,
        DigestCommand.self, ConflictsCommand.self, ResolveCommand.self, ServeCommand.self, SyncCommand.self, UICommand.self,
        PeersCommand.self, SecretCommand.self, CheckCommand.self, RecleanCommand.self, ManCommand.self, CompletionsCommand.self, CompleteCommand.self,
    ]

    static let version = "0.1.0"

    /// Commands whose output goes through a pager on a terminal.
    static let paged: Set<String> = ["show", "log", "list", "conflicts", "compare", "agree"]

    static var overview: String {
        var s = """
        margin: a local-first store for coding annotated reports

        usage: margin [--store PATH] COMMAND [ARGS...]
               margin COMMAND --help

        commands:

        """
        let width = commands.map { $0.name.count }.max() ?? 8
        for c in commands where !c.name.hasPrefix("__") { s += "  \(c.name.padding(toLength: width + 2, withPad: " ", startingAt: 0))\(c.summary)\n" }
        s += """

        The store is ./.margin/ or the nearest one above the working directory;
        --store PATH or MARGIN_STORE choose another. Ids may be shortened to any
        unique prefix. Read commands take --json. --color=auto|always|never sets
        highlighting (auto: on a terminal, unless NO_COLOR is set); show, log,
        list, conflicts, compare and agree go through $PAGER (less -R) when
        longer than the screen, unless --no-pager.
        """
        return s
    }

    static func help(_ c: any Command.Type) -> String {
        var text = "usage: \(c.usage)\n\n\(c.summary)\n\n\(c.details)"
        if !c.options.isEmpty { text += "\n\noptions:\n" + OptionSpec.table(c.options) }
        text += "\n\nglobal options: --store PATH, --color=auto|always|never, --no-pager, --help"
        return text
    }
}

/// The process's environment, read from `environ` as `getenv` reads it:
/// each entry split at its first `=` byte (not at a Character: `=` and a
/// combining mark after it are one), the first of a repeated name kept.
/// Not `ProcessInfo`: making its shared instance and its dictionary was
/// about a twelfth of `margin show`'s CPU at each start.
public func processEnvironment() -> [String: String] {
    var environment: [String: String] = [:]
    var entry = environ
    while let pointer = entry.pointee {
        entry += 1
        guard let equals = strchr(pointer, Int32(UInt8(ascii: "="))) else { continue }
        let name = String(decoding: UnsafeRawBufferPointer(start: pointer, count: pointer.distance(to: equals)), as: UTF8.self)
        if environment[name] == nil { environment[name] = String(cString: equals + 1) }
    }
    return environment
}

/// The working directory, by getcwd(3) (Foundation's `FileManager`, whose
/// first use sets up its file and process machinery, is not needed for it);
/// Foundation's answer when getcwd has none (a folder removed under us).
public func currentDirectory() -> String {
    guard let cwd = getcwd(nil, 0) else { return FileManager.default.currentDirectoryPath }
    defer { free(cwd) }
    return String(cString: cwd)
}

/// Runs `margin` with `arguments` (without the program name) and returns the
/// exit status. Everything the binary does goes through here.
public func run(arguments: [String], environment: [String: String] = processEnvironment(),
                workingDirectory: String = currentDirectory(),
                console: Console = .standard()) -> Int32 {
    let context = Context(console: console, environment: environment, workingDirectory: workingDirectory)
    var words = arguments
    // Display options, before or after the command name.
    var kept: [String] = []
    for (i, word) in words.enumerated() {
        if word == "--" { kept += words[i...]; break }
        if word == "--no-pager" { context.pagerAllowed = false; continue }
        for prefix in ["--color=", "--colour="] where word.hasPrefix(prefix) {
            guard let mode = Context.ColourMode(rawValue: String(word.dropFirst(prefix.count))) else {
                context.warn("margin: \(word): the colour mode is auto, always or never")
                return ExitCode.usage
            }
            context.colourMode = mode
        }
        if word.hasPrefix("--color=") || word.hasPrefix("--colour=") { continue }
        kept.append(word)
    }
    words = kept
    // Global options before the command name.
    while let first = words.first, first.hasPrefix("-") {
        if first == "--help" || first == "-h" { context.print(Margin.overview); return ExitCode.success }
        if first == "--version" { context.print("margin \(Margin.version)"); return ExitCode.success }
        if first == "--store", words.count >= 2 { context.storeOption = words[1]; words.removeFirst(2); continue }
        if first.hasPrefix("--store=") { context.storeOption = String(first.dropFirst(8)); words.removeFirst(); continue }
        context.warn("margin: unknown option \(first)\nusage: margin [--store PATH] COMMAND [ARGS...] (see `margin --help`)")
        return ExitCode.usage
    }
    guard let name = words.first else {
        context.warn(Margin.overview)
        return ExitCode.usage
    }
    if name == "help" {
        if words.count > 1, let c = Margin.commands.first(where: { $0.name == words[1] }) {
            context.print(Margin.help(c))
        } else {
            context.print(Margin.overview)
        }
        return ExitCode.success
    }
    guard let type = Margin.commands.first(where: { $0.name == name }) else {
        let hint = Nearest.hint(name, among: Margin.commands.map { $0.name } + ["help", "version"])
        context.warn("margin: unknown command '\(name)'\(hint.isEmpty ? " (see `margin --help`)" : hint)")
        return ExitCode.usage
    }
    var args = Arguments(Array(words.dropFirst()))
    if args.flag("--help", "-h") {
        context.print(Margin.help(type))
        return ExitCode.success
    }
    do {
        // The command's declared options, and --store, are all it takes.
        try args.validate(against: type.options + OptionSpec.perCommandGlobals)
    } catch let e as UsageError {
        context.warn("margin \(name): \(e.message)\nusage: \(type.usage)")
        return ExitCode.usage
    } catch {
        return ExitCode.usage
    }
    do {
        if let store = try args.option("--store") { context.storeOption = store }
        let command = try type.init(&args)
        try args.finish()
        if Margin.paged.contains(type.name) { return try context.paged { try command.run(context) } }
        return try command.run(context)
    } catch let e as UsageError {
        context.warn("margin \(name): \(e.message)\nusage: \(type.usage)")
        return ExitCode.usage
    } catch {
        // A message may quote what the user typed or a file held: shown,
        // not obeyed. Each line is made safe apart, so that a message that
        // lists choices (an ambiguous quote's occurrences) keeps its lines
        // instead of showing `\u{A}` between them.
        let lines = MarginError.message(for: error).split(separator: "\n", omittingEmptySubsequences: false).map { Format.safe(String($0)) }
        context.warn("margin \(name): " + lines.joined(separator: "\n"))
        return ExitCode.failure
    }
}
