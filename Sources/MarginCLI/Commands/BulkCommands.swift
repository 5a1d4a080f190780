import Foundation
import MarginCore

/// The annotations a bulk command works on: the same filters as `list`,
/// plus the author. Every filter given must hold.
struct AnnotationSelection {
    var code: String?, author: String?, record: String?, status: ReviewStatus?, text: String?

    init(_ args: inout Arguments) throws {
        code = try args.option("--code")
        author = try args.option("--author")
        record = try args.option("--record")
        status = try parseStatus(try args.option("--status"))
        text = try args.option("--text")
    }

    var isEmpty: Bool { code == nil && author == nil && record == nil && status == nil && text == nil }

    func select(_ store: Store) throws -> [Annotation] {
        let (recordID, codeID, keeps) = try resolved(store)
        return try store.annotations(record: recordID, code: codeID, status: status).filter { keeps($0.author, $0.record) }
    }

    /// The ids `select` would give, in its order, without reading each
    /// annotation (`margin review` reads one when it shows it).
    func selectIDs(_ store: Store) throws -> [String] {
        let (recordID, codeID, keeps) = try resolved(store)
        var ids: [String] = []
        try store.forEachAnnotationID(record: recordID, code: codeID, status: status) { id, author, record in
            if keeps(author, record) { ids.append(id) }
        }
        return ids
    }

    /// The record and code named, resolved, and what the store's query
    /// does not choose: visibility (blind coding), --author and --text.
    private func resolved(_ store: Store) throws -> (record: String?, code: String?, keeps: (_ author: String?, _ record: String) -> Bool) {
        let codeID = try code.map { try store.resolveCode($0) }
        let recordID = try record.map { try store.resolve($0, kind: .record) }
        let blind = try store.isBlind
        let matching = try text.map { Set(try store.records(Store.RecordFilter(text: $0)).map(\.id)) }
        let author = self.author
        return (recordID, codeID, { a, r in
            store.isVisible(author: a, blind: blind) && (author == nil || a == author) && (matching?.contains(r) ?? true)
        })
    }
}

/// Asks before a bulk change: "N annotations … [y/N]". `--yes` answers for
/// scripts; without it an answer must be read (a closed input is a no).
func confirmBulk(_ context: Context, _ question: String, yes: Bool) throws -> Bool {
    if yes { return true }
    context.console.out(question + " [y/N] ")
    guard let answer = context.console.input()?.trimmingCharacters(in: .whitespaces).lowercased() else {
        context.print("")
        throw MarginError.invalid("not confirmed: no answer on standard input (add --yes to skip the question); nothing was changed")
    }
    if !context.console.inputIsTerminal { context.print(answer) }
    return answer == "y" || answer == "yes"
}

struct RecodeCommand: Command {
    static let name = "recode"
    static let summary = "Recode many annotations at once, from one code to another"
    static let usage = "margin recode --from CODE --to CODE [filters] [--yes]"
    static let details = """
    Every annotation of --from (and its children) that the filters select
    gets --to, in one write: all of them or, on any error, none. The count
    is shown and a confirmation asked first. To retire a code altogether,
    `margin codes merge` also points the old code at the new one.
    """
    var from: String, to: String, selection: AnnotationSelection, yes: Bool
    init(_ args: inout Arguments) throws {
        guard let f = try args.option("--from"), let t = try args.option("--to") else { throw UsageError("give --from CODE and --to CODE") }
        from = f; to = t
        yes = args.flag("--yes", "-y")
        selection = try AnnotationSelection(&args)
        if selection.code != nil { throw UsageError("--from names the code; --code is not needed") }
        try args.finish()
    }

    func run(_ context: Context) throws -> Int32 {
        let store = try context.store()
        try store.requireWritable()
        var selection = self.selection
        selection.code = from
        let target = try store.resolveCode(to)
        let chosen = try selection.select(store).filter { $0.code != target }
        guard !chosen.isEmpty else { context.print("no annotation of \(Format.safe(from)) matches; nothing to recode"); return ExitCode.success }
        guard try confirmBulk(context, "recode \(chosen.count) annotation\(chosen.count == 1 ? "" : "s") from \(Format.safe(from)) to \(Format.safe(to))?", yes: yes) else {
            context.print("nothing recoded"); return ExitCode.success
        }
        try store.write {
            for a in chosen {
                var e = Store.AnnotationEdit()
                e.code = .some(target)
                try store.edit(annotation: a.id, e)
            }
        }
        context.print("recoded \(chosen.count) annotation\(chosen.count == 1 ? "" : "s") to \(Format.safe(to))")
        return ExitCode.success
    }
}

struct UndoCommand: Command {
    static let name = "undo"
    static let summary = "Undo logged changes, or this store's last writes, with new changes that sync"
    static let usage = "margin undo CHANGE... | margin undo --last [N]"
    static let details = """
    Writes the inverse of the changes as new changes: nothing leaves the log,
    and the undo syncs like any edit. An annotation, record or code the
    changes created is deleted; otherwise each field they set goes back to
    its value before them, a span or a review as a whole. A field changed
    since by another change is not overwritten: the undo is refused, naming
    that change, and nothing is written.

    CHANGE is ORIGIN:SEQ as `margin log` shows it (any unique prefix of the
    node id). --last undoes this store's last write: the changes of the last
    command that wrote, or of its last step for commands that write in steps
    (an import of many files writes 256 at a time). --last N undoes the last
    N writes, newest first, in one write; `margin undo --last` again goes
    further back. `margin redo` redoes what was undone, until a new write.
    """
    var changes: [String], last: Int?
    init(_ args: inout Arguments) throws {
        last = try args.countFlag("--last")
        changes = args.remaining()
        if (last != nil) == !changes.isEmpty { throw UsageError(last != nil ? "give CHANGE ids or --last, not both" : "give CHANGE ids or --last") }
    }

    func run(_ context: Context) throws -> Int32 {
        let store = try context.store()
        try store.requireWritable()
        if let last {
            let (changes, fields) = try store.undoLast(last)
            context.print("undid \(last == 1 ? "the last write" : "the last \(last) writes") (\(changes) change\(changes == 1 ? "" : "s"), \(fields) field\(fields == 1 ? "" : "s") written); `margin redo` redoes")
            return ExitCode.success
        }
        let ids = try changes.map { try store.resolveChange($0) }
        let n = try store.undo(ids)
        context.print("undid \(ids.count) change\(ids.count == 1 ? "" : "s") (\(n) field\(n == 1 ? "" : "s") written)")
        return ExitCode.success
    }
}

struct RedoCommand: Command {
    static let name = "redo"
    static let summary = "Redo what `margin undo --last` undid"
    static let usage = "margin redo [N]"
    static let details = """
    Redoes the last write `margin undo --last` undid (or the last N), by
    undoing the undo: new changes that sync. A new write of this store
    ends what can be redone.
    """
    var steps: Int
    init(_ args: inout Arguments) throws {
        steps = 1
        if let n = args.positional() {
            guard let s = Int(n), s >= 1 else { throw UsageError("margin redo takes a number of writes of at least 1, not '\(n)'") }
            steps = s
        }
        try args.finish()
    }

    func run(_ context: Context) throws -> Int32 {
        let store = try context.store()
        try store.requireWritable()
        let (changes, fields) = try store.redo(steps)
        context.print("redid \(steps == 1 ? "the last undone write" : "the last \(steps) undone writes") (\(changes) change\(changes == 1 ? "" : "s") undone, \(fields) field\(fields == 1 ? "" : "s") written)")
        return ExitCode.success
    }
}

struct SuggestCommand: Command {
    static let name = "suggest"
    static let summary = "Propose annotations for the counted figures of records (159名黨員, 三十七個, 1.2萬人次)"
    static let usage = "margin suggest RECORD... | margin suggest --all [--code CODE] [--durations] [--dry-run]"
    static let details = """
    Finds counted figures: a number, in Arabic or Chinese numerals
    (Simplified or Traditional, with 万/萬 and 亿/億), followed by a
    classifier (名, 個/个, 支, 人次, …), as in 159名黨員, 16個臨時黨支部,
    三十七個, 1.2萬人次. Dates, ordinals (第3), measures (米, 度) and
    numerals inside names (十家堡) are not counts. The value is normalised:
    三十七 → 37, 1.2萬 → 12000, 两千三百 → 2300. An approximate figure
    (近万名, 约1200人, 300多辆, 逾5000人次) keeps its word in the quote and
    says "approximate: nearly/about/over" in its note. Durations and ages
    (24小时, 36個年頭, 7天) are figures of another kind: proposed only with
    --durations, noted "duration". A quote that reaches a trigger word runs
    to the end of the noun (40名志愿者, not 40名志愿). The words are data, in
    Sources/MarginCore/Reports/ImportRules.swift.

    The code is guessed from the nearest trigger word of the codebook within
    six characters of the figure (`margin codes describe party-members
    --triggers "党员, 黨員"`), in either script; else --code, if given;
    else the suggestion has no code. A figure an annotation already covers,
    or a suggestion rejected before, is not proposed again.

    Suggestions are stored as annotations with status `suggested`, which
    sync like any other. They are no one's coding: `agree`, `compare` and
    `table` leave them out. `margin review` offers them first: accept makes
    one your own (open) annotation, choosing a code if it has none; reject
    deletes it.
    """
    var records: [String], all: Bool, code: String?, dryRun: Bool, durations: Bool
    init(_ args: inout Arguments) throws {
        all = args.flag("--all")
        durations = args.flag("--durations")
        dryRun = args.flag("--dry-run")
        code = try args.option("--code")
        records = args.remaining()
        if all == !records.isEmpty { throw UsageError(all ? "give RECORD ids or --all, not both" : "give RECORD ids or --all") }
    }

    func run(_ context: Context) throws -> Int32 {
        let store = try context.store()
        if !dryRun { try store.requireWritable() }
        let fallback = try code.map { try store.resolveCode($0) }
        let ids = all ? try store.records().map(\.id) : try records.map { try store.resolve($0, kind: .record) }
        let names = Dictionary(uniqueKeysWithValues: try store.codes(includeMerged: true, counted: false).map { ($0.id, $0.name) })
        var found: [Store.Suggestion] = []
        let triggers = try store.suggestionTriggers()
        for id in ids { found += try store.suggestions(record: id, fallback: fallback, durations: durations, triggers: triggers) }
        let stored = dryRun ? [] : try store.storeSuggestions(found)
        for (n, s) in found.enumerated() {
            let id = n < stored.count ? Format.id(stored[n]) : "-"
            let code = s.code.flatMap { names[$0] }.map(Format.safe) ?? "(no code)"
            context.print("\(dryRun ? "would suggest" : "suggested") \(id)  \(Format.id(s.record))  \(s.start)..\(s.end)  \(code)  \"\(Format.oneLine(s.quote, max: 30))\"  value=\(s.value)" + (s.note.map { "  (\($0))" } ?? ""))
        }
        context.print("\(found.count) suggestion\(found.count == 1 ? "" : "s")\(dryRun ? " (nothing stored)" : "; `margin review` offers them first")")
        return ExitCode.success
    }
}
