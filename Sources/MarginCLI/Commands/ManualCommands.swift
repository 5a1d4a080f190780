import Foundation
import MarginCore

/// What a command's positional arguments name, for completion.
enum ArgumentKind: String {
    case record, annotation, annotationOrRecord, conflict, file, none
}

extension Margin {
    /// The positional arguments each command takes, for completions.
    static func argumentKind(_ name: String) -> ArgumentKind {
        switch name {
        case "show", "annotate", "tag", "note", "compare", "adjudicate", "done", "suggest", "reclean": return .record
        case "review": return .annotation
        case "edit", "delete": return .annotationOrRecord
        case "resolve": return .conflict
        case "import": return .file
        default: return .none
        }
    }
}

struct ManCommand: Command {
    static let name = "man"
    static let summary = "The manual page: every command and option, as roff (man -l)"
    static let usage = "margin man"
    static let details = """
    Prints margin(1) in roff, made from the same declarations as `--help`.
    Read it with `margin man > margin.1 && man -l margin.1`, or install it
    in a man directory.
    """
    init(_ args: inout Arguments) throws { try args.finish() }

    func run(_ context: Context) throws -> Int32 {
        context.console.out(ManPage.render())
        return ExitCode.success
    }
}

enum ManPage {
    /// Text as roff: backslashes escaped, and a line that would start with
    /// a control character (`.` or `'`) protected.
    /// Non-ASCII characters (⟦, 黨, …) as `\[uXXXX]`, which every roff
    /// reads whatever its input encoding.
    static func escape(_ s: String) -> String {
        var ascii = ""
        for c in s.replacingOccurrences(of: "\\", with: "\\e").unicodeScalars {
            if c.isASCII { ascii.unicodeScalars.append(c) } else { ascii += "\\[u" + String(format: "%04X", c.value) + "]" }
        }
        return ascii.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
            line.hasPrefix(".") || line.hasPrefix("'") ? "\\&" + line : String(line)
        }.joined(separator: "\n")
    }

    static func option(_ o: OptionSpec) -> String {
        let names = o.names.map { "\\fB" + $0.replacingOccurrences(of: "-", with: "\\-") + "\\fR" }.joined(separator: ", ")
        let value: String
        switch o.value {
        case .none: value = ""
        case .text(let p), .count(let p): value = " \\fI" + escape(p) + "\\fR"
        case .optionalCount(let p): value = " [\\fI" + escape(p) + "\\fR]"
        case .choice(let words): value = " \\fI" + words.joined(separator: "|") + "\\fR"
        }
        return ".TP\n" + names + value + "\n" + escape(o.help) + "\n"
    }

    static func render() -> String {
        var out = """
        .TH MARGIN 1 "" "margin \(Margin.version)" "User Commands"
        .SH NAME
        margin \\- a local-first store for coding annotated reports
        .SH SYNOPSIS
        .B margin
        [\\fB\\-\\-store\\fR \\fIPATH\\fR] \\fICOMMAND\\fR [\\fIARGS\\fR...]
        .br
        .B margin
        \\fICOMMAND\\fR \\fB\\-\\-help\\fR
        .SH DESCRIPTION
        .nf

        """
        out += escape(Margin.overview) + "\n.fi\n.SH COMMANDS\n"
        for c in Margin.commands {
            out += ".SS \"\(c.name)\"\n\(escape(c.summary)).\n.PP\n.nf\n\(escape("usage: " + c.usage))\n\n\(escape(c.details))\n.fi\n"
            for o in c.options { out += option(o) }
        }
        out += ".SH GLOBAL OPTIONS\n"
        for o in OptionSpec.globals { out += option(o) }
        out += """
        .SH EXIT STATUS
        0 on success, 1 when a command fails (a clear one-line message on standard error; nothing was changed), 64 for a usage error.
        .SH SEE ALSO
        PROTOCOL.md and README.md in the source tree; \\fBmargin completions\\fR for shell completion.

        """
        return out
    }
}

extension OptionSpec {
    /// Options every command takes.
    static let globals = [
        OptionSpec(["--store"], .text("PATH"), "the store to use (else MARGIN_STORE, else ./.margin or the nearest above)"),
        OptionSpec(["--color", "--colour"], .choice(["auto", "always", "never"]), "highlighting (auto: on a terminal, unless NO_COLOR is set); written --color=MODE"),
        OptionSpec(["--no-pager"], .none, "never page long output"),
        OptionSpec(["--help", "-h"], .none, "help for margin or for one command"),
    ]
}

struct CompletionsCommand: Command {
    static let name = "completions"
    static let summary = "Shell completion for bash, zsh or fish: commands, options, values, and ids and code names from the store"
    static let usage = "margin completions bash|zsh|fish"
    static let details = """
    Prints a completion script, made from the same declarations as `--help`.
    Commands, their options and option values complete from it; record,
    annotation and conflict ids and code names come from the store as you
    type (`margin __complete`, quietly nothing outside a store).

      bash:  source <(margin completions bash)      (or put it in ~/.bashrc)
      zsh:   source <(margin completions zsh)
      fish:  margin completions fish | source
    """
    var shell: String
    init(_ args: inout Arguments) throws {
        let s = try args.required("bash, zsh or fish")
        guard ["bash", "zsh", "fish"].contains(s) else { throw UsageError("margin completions takes bash, zsh or fish, not '\(s)'") }
        shell = s
        try args.finish()
    }

    func run(_ context: Context) throws -> Int32 {
        switch shell {
        case "bash": context.console.out(Completions.bash())
        case "zsh": context.console.out(Completions.zshHead + Completions.bash())
        default: context.console.out(Completions.fish())
        }
        return ExitCode.success
    }
}

/// The live values completion offers: ids (as the CLI shows them, 10
/// digits) and code names. Quietly nothing outside a store.
struct CompleteCommand: Command {
    static let name = "__complete"
    static let summary = "(for shell completion) ids and code names from the store"
    static let usage = "margin __complete records|annotations|conflicts|codes"
    static let details = "Prints one value a line. Used by `margin completions`; not meant to be typed."
    var kind: String
    init(_ args: inout Arguments) throws {
        kind = try args.required("records, annotations, conflicts or codes")
        try args.finish()
    }

    func run(_ context: Context) throws -> Int32 {
        guard let store = try? context.store() else { return ExitCode.success }
        var values: [String] = []
        switch kind {
        case "records": values = try store.records().map { Format.id($0.id) }
        case "annotations":
            try store.forEachAnnotation { values.append(Format.id($0.id)); return true }
        case "conflicts": values = try store.openConflictIDs(newestFirst: true).map { Format.id($0) }
        case "codes": values = try store.codes(counted: false).map(\.name)
        default: throw UsageError("margin __complete takes records, annotations, conflicts or codes")
        }
        context.console.out(values.map { $0 + "\n" }.joined())
        return ExitCode.success
    }
}

enum Completions {
    /// Options whose value is a code name.
    static func takesCode(_ o: OptionSpec) -> Bool {
        if case .text("CODE") = o.value { return true }
        return false
    }

    static func words(_ list: [String]) -> String { list.joined(separator: " ") }

    /// The bash `case` line completing an option's value, if it has one.
    static func valueCase(_ o: OptionSpec, _ pattern: String) -> String {
        if case .choice(let choices) = o.value {
            return "        " + pattern + ") COMPREPLY=($(compgen -W \"" + words(choices) + "\" -- \"$cur\")); return ;;\n"
        }
        if takesCode(o) { return "        " + pattern + ") _margin_values codes; return ;;\n" }
        if case .text = o.value { return "        " + pattern + ") return ;;\n" }
        if case .count = o.value { return "        " + pattern + ") return ;;\n" }
        return ""
    }

    /// The fish flags completing an option's value.
    static func fishValue(_ o: OptionSpec) -> String {
        if case .choice(let choices) = o.value { return " -x -a '" + choices.joined(separator: " ") + "'" }
        if takesCode(o) { return " -x -a '(margin __complete codes 2>/dev/null)'" }
        if case .text = o.value { return " -r" }
        if case .count = o.value { return " -r" }
        return ""
    }

    static func bash() -> String {
        let commands = Margin.commands.map { $0.name }.filter { !$0.hasPrefix("__") }
        var optionCases = "", valueCases = ""
        for c in Margin.commands where !c.name.hasPrefix("__") {
            let names = (c.options + OptionSpec.globals).flatMap(\.names)
            optionCases += "        \(c.name)) opts=\"\(words(names))\" ;;\n"
            for o in c.options {
                let pattern = o.names.map { "\(c.name):\($0)" }.joined(separator: "|")
                valueCases += valueCase(o, pattern)
            }
        }
        var kinds = ""
        for c in Margin.commands {
            switch Margin.argumentKind(c.name) {
            case .record: kinds += "        \(c.name)) _margin_values records ;;\n"
            case .annotation: kinds += "        \(c.name)) _margin_values annotations ;;\n"
            case .annotationOrRecord: kinds += "        \(c.name)) _margin_values annotations records ;;\n"
            case .conflict: kinds += "        \(c.name)) _margin_values conflicts ;;\n"
            case .file: kinds += "        \(c.name)) COMPREPLY=($(compgen -f -- \"$cur\")) ;;\n"
            case .none: break
            }
        }
        var script = Completions.bashHead
        script += "    if [[ -z $cmd ]]; then\n"
        script += "        COMPREPLY=($(compgen -W \"" + words(commands) + " --store --help --version --no-pager\" -- \"$cur\"))\n"
        script += "        return\n    fi\n"
        script += "    case \"$cmd:$prev\" in\n" + valueCases
        script += "        *:--store) COMPREPLY=($(compgen -d -- \"$cur\")); return ;;\n    esac\n"
        script += "    local opts=\"\"\n    case \"$cmd\" in\n" + optionCases + "    esac\n"
        script += "    if [[ $cur == -* ]]; then\n        COMPREPLY=($(compgen -W \"$opts\" -- \"$cur\"))\n        return\n    fi\n"
        script += "    case \"$cmd\" in\n" + kinds
        script += "        completions) COMPREPLY=($(compgen -W \"bash zsh fish\" -- \"$cur\")) ;;\n    esac\n}\n"
        script += "complete -F _margin margin\n"
        return script
    }

    /// zsh runs the bash script through bashcompinit, which needs compdef: a shell
    /// without compinit loaded (a bare `zsh`, no framework) gets it loaded here.
    static let zshHead = """
        (( $+functions[compdef] )) || { autoload -U compinit && compinit -i; }
        autoload -U +X bashcompinit && bashcompinit

        """

    static let bashHead = #"""
        # margin completion for bash (and zsh through bashcompinit).
        # Made by `margin completions bash` from margin's own declarations.
        _margin_values() {
            local kind values=""
            for kind in "$@"; do
                values+=" $(command margin ${store:+--store "$store"} __complete "$kind" 2>/dev/null)"
            done
            COMPREPLY=($(compgen -W "$values" -- "$cur"))
        }
        _margin() {
            local cur="${COMP_WORDS[COMP_CWORD]}" prev="${COMP_WORDS[COMP_CWORD-1]}" cmd="" store="" i word
            for ((i = 1; i < COMP_CWORD; i++)); do
                word="${COMP_WORDS[i]}"
                if [[ $word == --store ]]; then store="${COMP_WORDS[i+1]}"; ((i++)); continue; fi
                if [[ $word != -* ]]; then cmd="$word"; break; fi
            done

        """#

    static func fish() -> String {
        var out = "# margin completion for fish. Made by `margin completions fish`.\n"
        out += "complete -c margin -f\n"
        for c in Margin.commands where !c.name.hasPrefix("__") {
            out += "complete -c margin -n '__fish_use_subcommand' -a '\(c.name)' -d '\(fishQuote(c.summary))'\n"
        }
        for o in OptionSpec.globals {
            for n in o.names where n.hasPrefix("--") { out += "complete -c margin -l '\(n.dropFirst(2))' -d '\(fishQuote(o.help))'\n" }
        }
        for c in Margin.commands where !c.name.hasPrefix("__") {
            let when = "__fish_seen_subcommand_from \(c.name)"
            for o in c.options {
                var line = "complete -c margin -n '\(when)'"
                for n in o.names { line += n.hasPrefix("--") ? " -l '\(n.dropFirst(2))'" : " -s '\(n.dropFirst())'" }
                line += fishValue(o)
                out += line + " -d '\(fishQuote(o.help))'\n"
            }
            let values: String?
            switch Margin.argumentKind(c.name) {
            case .record: values = "(margin __complete records 2>/dev/null)"
            case .annotation: values = "(margin __complete annotations 2>/dev/null)"
            case .annotationOrRecord: values = "(margin __complete annotations 2>/dev/null; margin __complete records 2>/dev/null)"
            case .conflict: values = "(margin __complete conflicts 2>/dev/null)"
            case .file: values = "(__fish_complete_path)"
            case .none: values = nil
            }
            if let values { out += "complete -c margin -n '\(when)' -a '\(values)'\n" }
        }
        out += "complete -c margin -n '__fish_seen_subcommand_from completions' -a 'bash zsh fish'\n"
        return out
    }

    static func fishQuote(_ s: String) -> String {
        s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'")
    }
}
