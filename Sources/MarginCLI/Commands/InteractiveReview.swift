import Foundation
import MarginCore
#if canImport(Glibc)
import Glibc
#endif

/// Single keys from a terminal: raw mode (no line editing, no echo, Ctrl-C
/// read as a key) for the whole walk, so that a key typed ahead is neither
/// echoed nor lost; the terminal's own mode back for a line of text and at
/// the end, whatever happens. Modes change with TCSANOW: TCSAFLUSH would
/// throw away keys typed ahead.
final class KeyReader {
    private let fd: Int32
    private var saved = termios()
    private var raw = false

    init?(fd: Int32 = 0) {
        guard isatty(fd) == 1, tcgetattr(fd, &saved) == 0 else { return nil }
        self.fd = fd
    }

    deinit { restore() }

    func enterRaw() {
        var t = saved
        t.c_lflag &= ~tcflag_t(ICANON | ECHO | ISIG | IEXTEN)
        t.c_iflag &= ~tcflag_t(IXON | ICRNL)
        withUnsafeMutableBytes(of: &t.c_cc) { cc in
            cc[Int(VMIN)] = 1
            cc[Int(VTIME)] = 0
        }
        if tcsetattr(fd, TCSANOW, &t) == 0 { raw = true }
    }

    func restore() {
        if raw { _ = tcsetattr(fd, TCSANOW, &saved); raw = false }
    }

    /// One key; nil at end of input.
    func key() -> UInt8? {
        if !raw { enterRaw() }
        var b: UInt8 = 0
        while true {
            let n = read(fd, &b, 1)
            if n == 1 { return b }
            if n < 0 && errno == EINTR { continue }
            return nil
        }
    }
}

/// `margin review` with no annotation and no verdict: everything that
/// needs attention, one item at a time, as `git add -p` walks hunks.
/// Suggestions and open annotations first, then open conflicts. Each
/// decision is written at once. On a terminal each answer is one key; from
/// a file or pipe, one command per line (`r comment`, `c CODE`, `v VALUE`,
/// `e VALUE`; the text may also follow on its own line).
struct InteractiveReview {
    let context: Context
    let store: Store
    let selection: AnnotationSelection
    let conflictsOnly: Bool

    enum Item { case annotation(String), conflict(String) }

    static let annotationHelp = "[a]ccept [r]eject re[o]pen re[c]ode [v]alue [s]kip [b]ack [q]uit"
    static let conflictHelp = "keep [w]inner, keep [o]ther, [e]nter a value, [s]kip [b]ack [q]uit"

    func run() throws -> Int32 {
        try store.requireWritable()
        var items: [Item] = []
        if !conflictsOnly {
            // Suggestions first, then open annotations: each status asked
            // of the store, not every annotation read to pick them.
            for status in [ReviewStatus.suggested, .open] where selection.status == nil || selection.status == status {
                var one = selection
                one.status = status
                items += try one.selectIDs(store).map { .annotation($0) }
            }
        }
        // Conflicts have no code or author of their own: a walk narrowed by either skips them.
        if (selection.code == nil && selection.author == nil) || conflictsOnly {
            if let record = selection.record {
                let rid = try store.resolve(record, kind: .record)
                let conflicts = try store.conflicts(includeResolved: false).filter { c in
                    c.entity == rid || (c.kind == .annotation && ((try? store.annotation(c.entity, includingDeleted: true))??.record == rid))
                }
                items += conflicts.map { .conflict($0.id) }
            } else {
                // Ids only: each conflict's changes are read when it is shown.
                items += try store.openConflictIDs(newestFirst: true).map { .conflict($0) }
            }
        }
        guard !items.isEmpty else { context.print("nothing needs review"); return ExitCode.success }
        let keys = context.console.inputIsTerminal ? KeyReader() : nil
        keys?.enterRaw()
        defer { keys?.restore() }
        var i = 0, decided = 0
        while i < items.count {
            context.print("")
            context.print("(\(i + 1)/\(items.count))")
            let step: Step
            switch items[i] {
            case .annotation(let id):
                guard let a = try store.annotation(id) else { i += 1; continue }
                show(a)
                step = try decide(a, keys)
            case .conflict(let id):
                guard let c = try store.conflict(id), c.isOpen else { i += 1; continue }
                try show(c)
                step = try decide(c, keys)
            }
            switch step {
            case .next(let wrote): if wrote { decided += 1 }; i += 1
            case .back: i = max(0, i - 1)
            case .quit: i = items.count
            case .again: break
            }
        }
        context.print("\(decided) decided; every decision is already saved")
        return ExitCode.success
    }

    enum Step { case next(wrote: Bool), back, quit, again }

    /// The answer: a key on a terminal, else a line (its first character
    /// the command, the rest its text).
    func answer(_ keys: KeyReader?, prompt: String) -> (key: Character, text: String?)? {
        context.console.out(prompt + " ")
        if let keys {
            guard let b = keys.key() else { context.print(""); return nil }
            if b == 3 || b == 4 { context.print("q"); return ("q", nil) }   // Ctrl-C, Ctrl-D
            let c = Character(Unicode.Scalar(b))
            context.print(String(c))
            return (c, nil)
        }
        guard let line = context.console.input() else { context.print(""); return nil }
        context.print(line)
        let trimmed = line.trimmingCharacters(in: .whitespaces)
        guard let first = trimmed.first else { return (" ", nil) }
        let rest = trimmed.dropFirst().trimmingCharacters(in: .whitespaces)
        return (first, rest.isEmpty ? nil : rest)
    }

    /// Text for a command: what followed it on its line, else a line read.
    func text(_ given: String?, _ keys: KeyReader?, prompt: String) -> String? {
        if let given { return given }
        context.console.out(prompt + ": ")
        // A line of text is typed with the terminal's own editing and echo.
        keys?.restore()
        defer { keys?.enterRaw() }
        guard let line = context.console.input() else { context.print(""); return nil }
        if !context.console.inputIsTerminal { context.print(line) }
        return line.trimmingCharacters(in: .whitespaces)
    }

    func show(_ a: Annotation) {
        let record = (try? store.record(a.record)) ?? nil
        let kind = a.status == .suggested ? "suggestion" : "annotation"
        context.print("\(kind) \(Format.id(a.id))  \(Format.safe(a.codeName ?? "(no code)"))  by \(Format.safe(a.author ?? "?"))  in \(Format.id(a.record)) \(Format.oneLine(record?.title ?? "", max: 40))")
        if let s = a.span, let body = record?.body { context.print(spanInContext(s, body: body)) }
        if let v = a.value { context.print("  value: \(Format.safe(v))") }
        if let n = a.note { context.print("  note:  \(Format.oneLine(n, max: 100))") }
    }

    func decide(_ a: Annotation, _ keys: KeyReader?) throws -> Step {
        guard let (key, given) = answer(keys, prompt: InteractiveReview.annotationHelp) else { return .quit }
        switch key {
        // A suggestion accepted becomes this coder's annotation; rejected,
        // it goes (Store.review decides a suggestion the same way for
        // `review ID --accept`). One without a code needs one chosen.
        case "a" where a.status == .suggested:
            var code: String?
            if a.code == nil {
                guard let typed = text(nil, keys, prompt: "  the suggestion has no code; code") else { return .quit }
                do { code = try store.resolveCode(typed) } catch { context.print("  \(MarginError.message(for: error))"); return .again }
            }
            try store.review(annotation: a.id, status: .accepted, comment: given, code: code); return .next(wrote: true)
        case "r" where a.status == .suggested:
            try store.review(annotation: a.id, status: .rejected, comment: given); return .next(wrote: true)
        case "a": try store.review(annotation: a.id, status: .accepted, comment: given); return .next(wrote: true)
        case "r":
            guard let comment = text(given, keys, prompt: "  why reject (a comment)") else { return .quit }
            try store.review(annotation: a.id, status: .rejected, comment: comment.isEmpty ? nil : comment)
            return .next(wrote: true)
        case "o": try store.review(annotation: a.id, status: .open, comment: given); return .next(wrote: true)
        case "c":
            guard let code = text(given, keys, prompt: "  new code") else { return .quit }
            do {
                var e = Store.AnnotationEdit(); e.code = .some(try store.resolveCode(code))
                try store.edit(annotation: a.id, e)
            } catch { context.print("  \(MarginError.message(for: error))"); return .again }
            return .next(wrote: true)
        case "v":
            guard let value = text(given, keys, prompt: "  new value (empty clears it)") else { return .quit }
            var e = Store.AnnotationEdit(); e.value = .some(value.isEmpty ? nil : value)
            do { try store.edit(annotation: a.id, e) } catch { context.print("  \(MarginError.message(for: error))"); return .again }
            return .next(wrote: true)
        case "s", " ", "\r", "\n": return .next(wrote: false)
        case "b": return .back
        case "q": return .quit
        default: context.print("  keys: " + InteractiveReview.annotationHelp); return .again
        }
    }

    /// A span with up to 60 characters either side, on one line
    /// (paragraph breaks as ⏎), the span marked.
    func spanInContext(_ s: Span, body: String) -> String {
        let text = ScalarText(body)
        guard s.end <= text.count else { return "  \"\(Format.oneLine(s.quote, max: 60))\"" }
        let from = max(0, s.start - 60), to = min(text.count, s.end + 60)
        let before = text.slice(from, s.start), quote = text.slice(s.start, s.end), after = text.slice(s.end, to)
        let open = context.useColour ? Highlighter.sgr(nil) : "⟦", close = context.useColour ? "\u{1B}[0m" : "⟧"
        func flat(_ s: String) -> String { Printable.text(s).replacingOccurrences(of: "\n\n", with: " ⏎ ").replacingOccurrences(of: "\n", with: " ⏎ ") }
        return "  …" + flat(before) + open + flat(quote) + close + flat(after) + "…"
    }

    func show(_ c: Conflict) throws {
        context.print("conflict \(Format.id(c.id))  \(c.kind.rawValue) \(Format.id(c.entity))  \(c.field)")
        // What the conflict is about: the annotation's code and span in its
        // text, or the record's title.
        switch c.kind {
        case .annotation:
            if let a = try store.annotation(c.entity, includingDeleted: true), let record = try store.record(a.record) {
                context.print("  \(Format.safe(a.codeName ?? "(no code)"))  by \(Format.safe(a.author ?? "?"))  in \(Format.id(record.id)) \(Format.oneLine(record.title ?? "", max: 40))")
                if let s = a.span { context.print(spanInContext(s, body: record.body)) }
            }
        case .record:
            if let record = try store.record(c.entity) { context.print("  \(Format.oneLine(record.title ?? "(untitled)", max: 70))") }
        case .code:
            if let code = try store.code(c.entity) { context.print("  code \(Format.safe(code.name))") }
        case .conflict: break
        }
        let (winner, other) = try store.conflictSides(c)
        let names = [c.winner.id.origin, c.loser.id.origin].map { (try? store.nodeName(of: $0)) ?? nil }
        context.print("  winner (\(Format.safe(names[0] ?? String(c.winner.id.origin.hex.prefix(8))))):")
        for l in winner { context.print("    " + Printable.text(l)) }
        context.print("  other (\(Format.safe(names[1] ?? String(c.loser.id.origin.hex.prefix(8))))):")
        for l in other { context.print("    " + Printable.text(l)) }
    }

    func decide(_ c: Conflict, _ keys: KeyReader?) throws -> Step {
        guard let (key, given) = answer(keys, prompt: InteractiveReview.conflictHelp) else { return .quit }
        /// The resolution's comment: what followed the key, else a line
        /// asked for on a terminal (Enter for none).
        func comment() -> String?? {
            if let given { return .some(given.isEmpty ? nil : given) }
            guard keys != nil else { return .some(nil) }
            guard let line = text(nil, keys, prompt: "  comment (Enter for none)") else { return nil }
            return .some(line.isEmpty ? nil : line)
        }
        switch key {
        case "w":
            guard let note = comment() else { return .quit }
            try store.resolve(conflict: c.id, .keepWinner, comment: note); return .next(wrote: true)
        case "o":
            guard let note = comment() else { return .quit }
            try store.resolve(conflict: c.id, .keepOther, comment: note); return .next(wrote: true)
        case "e":
            guard let value = text(given, keys, prompt: "  the value") else { return .quit }
            var note: String?
            if keys != nil, given == nil {
                guard let line = text(nil, keys, prompt: "  comment (Enter for none)") else { return .quit }
                note = line.isEmpty ? nil : line
            }
            do { try store.resolve(conflict: c.id, .value(value), comment: note) } catch {
                context.print("  \(MarginError.message(for: error))"); return .again
            }
            return .next(wrote: true)
        case "s", " ", "\r", "\n": return .next(wrote: false)
        case "b": return .back
        case "q": return .quit
        default: context.print("  keys: " + InteractiveReview.conflictHelp); return .again
        }
    }
}
