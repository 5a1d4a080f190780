import MarginCore

/// A usage mistake: exit status 64 (EX_USAGE), with the command's usage line.
public struct UsageError: Error, Equatable {
    public var message: String
    public init(_ message: String) { self.message = message }
}

/// The words after a command name, consumed by the command's parser.
/// Options may come anywhere (`--code X` or `--code=X`); `--` ends options.
/// Whatever is left when the command has taken what it knows is a usage error.
public struct Arguments {
    private var tokens: [String]
    private var afterDashDash: [String] = []

    public init(_ tokens: [String]) {
        if let i = tokens.firstIndex(of: "--") {
            self.tokens = Array(tokens[..<i])
            afterDashDash = Array(tokens[(i + 1)...])
        } else {
            self.tokens = tokens
        }
    }

    public var isEmpty: Bool { tokens.isEmpty && afterDashDash.isEmpty }

    /// The words not taken yet, before `--`.
    var pendingTokens: [String] { tokens }

    /// True if any of `names` is present (and removes it).
    public mutating func flag(_ names: String...) -> Bool {
        var found = false
        tokens.removeAll { token in
            if names.contains(token) { found = true; return true }
            return false
        }
        return found
    }

    /// A flag that may be followed by a count (`--last`, `--last 3`,
    /// `--last=3`): nil when absent, `present` when given alone.
    public mutating func countFlag(_ name: String, present: Int = 1) throws -> Int? {
        var result: Int?
        var i = 0
        while i < tokens.count {
            let token = tokens[i]
            if token == name {
                tokens.remove(at: i)
                result = present
                if i < tokens.count, let n = Int(tokens[i]) {
                    guard n >= 1 else { throw UsageError("\(name) takes a count of at least 1, not \(n)") }
                    result = n
                    tokens.remove(at: i)
                }
                continue
            }
            if token.hasPrefix(name + "=") {
                let raw = token.dropFirst(name.count + 1)
                guard let n = Int(raw), n >= 1 else { throw UsageError("\(name) takes a count of at least 1, not '\(raw)'") }
                result = n
                tokens.remove(at: i)
                continue
            }
            i += 1
        }
        return result
    }

    /// The value of the last occurrence of an option, or nil.
    public mutating func option(_ names: String...) throws -> String? {
        try values(names).last
    }

    /// Every value of a repeatable option, in order.
    public mutating func options(_ names: String...) throws -> [String] {
        try values(names)
    }

    private mutating func values(_ names: [String]) throws -> [String] {
        var out: [String] = []
        var i = 0
        while i < tokens.count {
            let token = tokens[i]
            if names.contains(token) {
                guard i + 1 < tokens.count else { throw UsageError("\(token) needs a value") }
                // `--value --note` is a missing value, not the value "--note".
                guard !tokens[i + 1].hasPrefix("--") else {
                    throw UsageError("\(token) needs a value (to give one that starts with --, write \(token)=\(tokens[i + 1]))")
                }
                out.append(tokens[i + 1])
                tokens.removeSubrange(i...(i + 1))
                continue
            }
            if let name = names.first(where: { token.hasPrefix($0 + "=") }) {
                out.append(String(token.dropFirst(name.count + 1)))
                tokens.remove(at: i)
                continue
            }
            i += 1
        }
        return out
    }

    /// An integer option, checked against its range.
    public mutating func intOption(_ names: String..., min: Int = Int.min, max: Int = Int.max) throws -> Int? {
        guard let raw = try values(names).last else { return nil }
        guard let n = Int(raw) else { throw UsageError("\(names[0]) takes a whole number, not '\(raw)'") }
        guard n >= min, n <= max else {
            if max == Int.max { throw UsageError("\(names[0]) must be at least \(min), not \(n)") }
            throw UsageError("\(names[0]) must be between \(min) and \(max), not \(n)")
        }
        return n
    }

    /// The next word that is not an option, or nil.
    public mutating func positional() -> String? {
        if let i = tokens.firstIndex(where: { !$0.hasPrefix("-") || $0 == "-" || Int($0) != nil }) {
            return tokens.remove(at: i)
        }
        return afterDashDash.isEmpty ? nil : afterDashDash.removeFirst()
    }

    public mutating func required(_ what: String) throws -> String {
        guard let value = positional() else { throw UsageError("missing \(what)") }
        return value
    }

    public mutating func remaining() -> [String] {
        var out: [String] = []
        while let p = positional() { out.append(p) }
        return out
    }

    /// Fails on anything the command did not take.
    public func finish() throws {
        if let unknown = tokens.first(where: { $0.hasPrefix("-") && $0 != "-" }) {
            // `validate(against:)` refuses these first, with the nearest
            // declared option; this is the backstop.
            throw UsageError("unknown option \(unknown)")
        }
        if let extra = (tokens + afterDashDash).first {
            throw UsageError("unexpected argument '\(extra)'")
        }
    }
}

/// One option of a command, declared once: parsing validates against it,
/// and `--help`, the man page and the completions are written from it.
public struct OptionSpec: Sendable, Equatable {
    public enum Value: Sendable, Equatable {
        /// A flag.
        case none
        /// A value shown as the placeholder.
        case text(String)
        /// A whole number.
        case count(String)
        /// A flag that may be followed by a whole number (`--last [N]`).
        case optionalCount(String)
        /// One of these words.
        case choice([String])
    }
    public var names: [String]
    public var value: Value
    public var help: String

    public init(_ names: [String], _ value: Value, _ help: String) {
        self.names = names; self.value = value; self.help = help
    }

    /// `--code CODE`, `--status open|accepted|…`, `-n, --limit N`.
    public var synopsis: String {
        let shown = names.sorted { $0.count < $1.count }.joined(separator: ", ")
        switch value {
        case .none: return shown
        case .text(let p), .count(let p): return shown + " " + p
        case .optionalCount(let p): return shown + " [\(p)]"
        case .choice(let words): return shown + " " + words.joined(separator: "|")
        }
    }

    /// `--store` may be given after the command name as well.
    static let perCommandGlobals = [OptionSpec(["--store"], .text("PATH"), "the store to use")]

    /// The options section of `--help`: synopsis and help, aligned.
    static func table(_ options: [OptionSpec]) -> String {
        let width = min(28, (options.map { $0.synopsis.count }.max() ?? 0) + 2)
        return options.map { o in
            let left = "  " + o.synopsis
            let pad = left.count < width + 2 ? String(repeating: " ", count: width + 2 - left.count) : "\n" + String(repeating: " ", count: width + 2)
            return left + pad + o.help
        }.joined(separator: "\n")
    }
}

extension Arguments {
    /// Checks every option word against the command's declaration before
    /// the command reads them: an unknown one (with the nearest known), a
    /// missing value, a count that is not a whole number, a word outside
    /// a choice. Usage errors, exit 64.
    public func validate(against options: [OptionSpec]) throws {
        let known = options.flatMap { o in o.names.map { ($0, o) } }
        var i = 0
        let words = pendingTokens
        while i < words.count {
            let word = words[i]
            i += 1
            guard word.hasPrefix("-"), word != "-", Int(word) == nil else { continue }
            let name = String(word.prefix { $0 != "=" })
            guard let spec = known.first(where: { $0.0 == name })?.1 else {
                throw UsageError("unknown option \(name)\(Nearest.hint(name, among: known.map(\.0).filter { $0.hasPrefix("--") }))")
            }
            var value: String?
            if word.count > name.count { value = String(word.dropFirst(name.count + 1)) }
            switch spec.value {
            case .none:
                if value != nil { throw UsageError("\(name) takes no value") }
            case .optionalCount:
                if value == nil, i < words.count, Int(words[i]) != nil { value = words[i]; i += 1 }
                if let v = value, Int(v) == nil { throw UsageError("\(name) takes a whole number, not '\(v)'") }
            case .text, .count, .choice:
                if value == nil {
                    guard i < words.count else { throw UsageError("\(name) needs a value") }
                    value = words[i]; i += 1
                }
                if case .count = spec.value, let v = value, Int(v) == nil {
                    throw UsageError("\(name) takes a whole number, not '\(v)'")
                }
                if case .choice(let choices) = spec.value, let v = value, !choices.contains(v) {
                    throw UsageError("\(name) takes \(choices.joined(separator: ", ")), not '\(v)'\(Nearest.hint(v, among: choices))")
                }
            }
        }
    }
}
