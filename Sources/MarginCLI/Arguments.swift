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
    /// Every option name the command asked for: the known ones, for "did
    /// you mean" when one is mistyped.
    private var asked: Set<String> = []

    public init(_ tokens: [String]) {
        if let i = tokens.firstIndex(of: "--") {
            self.tokens = Array(tokens[..<i])
            afterDashDash = Array(tokens[(i + 1)...])
        } else {
            self.tokens = tokens
        }
    }

    public var isEmpty: Bool { tokens.isEmpty && afterDashDash.isEmpty }

    /// True if any of `names` is present (and removes it).
    public mutating func flag(_ names: String...) -> Bool {
        asked.formUnion(names)
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
        asked.insert(name)
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
        asked.formUnion(names)
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

    /// Fails on an option the command did not take (before it takes the
    /// remaining words as its arguments, so `-n 5` is not read as two).
    public func refuseUnknownOptions() throws {
        if let unknown = tokens.first(where: { $0.hasPrefix("-") && $0 != "-" && Int($0) == nil }) {
            let name = String(unknown.prefix { $0 != "=" })
            throw UsageError("unknown option \(unknown)\(Nearest.hint(name, among: Array(asked).filter { $0.hasPrefix("--") }))")
        }
    }

    /// Fails on anything the command did not take.
    public func finish() throws {
        if let unknown = tokens.first(where: { $0.hasPrefix("-") && $0 != "-" }) {
            let name = String(unknown.prefix { $0 != "=" })
            throw UsageError("unknown option \(unknown)\(Nearest.hint(name, among: Array(asked).filter { $0.hasPrefix("--") }))")
        }
        if let extra = (tokens + afterDashDash).first {
            throw UsageError("unexpected argument '\(extra)'")
        }
    }
}
