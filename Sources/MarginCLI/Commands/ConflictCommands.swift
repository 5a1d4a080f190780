import Foundation
import MarginCore

func conflictJSON(_ c: Conflict) -> [String: Any] {
    var o: [String: Any] = ["id": c.id, "kind": c.kind.rawValue, "entity": c.entity, "field": c.field,
                            "winner": changeJSON(c.winner), "other": changeJSON(c.loser),
                            "detected": Format.iso(c.detectedMilliseconds), "open": c.isOpen]
    if let r = c.resolution { o["resolution"] = r }
    if let r = c.comment { o["comment"] = r }
    if let r = c.resolver { o["resolver"] = r }
    return o
}

struct ConflictsCommand: Command {
    static let name = "conflicts"
    static let summary = "List concurrent edits kept for review (or show one)"
    static let usage = "margin conflicts [--all] [--json] | margin conflicts show ID [--json]"
    static let details = """
    Where two people changed the same field without seeing each other's
    change, or one deleted what the other edited, last-writer-wins picked the
    value every node shows; the other value is kept here. Settle each with
    `margin resolve`.

    options:
      --all    include resolved conflicts
      --json   JSON output
    """
    var all: Bool, json: Bool, show: String?
    init(_ args: inout Arguments) throws {
        all = args.flag("--all")
        json = args.flag("--json")
        if let word = args.positional() {
            guard word == "show" else { throw UsageError("unknown subcommand '\(word)'") }
            show = try args.required("ID")
        }
    }

    static func describe(_ c: Change, field: String) -> String {
        if c.field == "deleted" { return c.value == .int(1) ? "deleted" : "restored" }
        return field == "deleted" ? "\(c.field) = \(c.value)" : c.value.description
    }

    func run(_ context: Context) throws -> Int32 {
        let store = try context.store()
        let names = try PeerNames(store)
        if let show {
            let id = try store.resolve(show, kind: .conflict)
            guard let c = try store.conflict(id) else { throw MarginError.notFound("no conflict \(show)") }
            if json { try context.printJSON(conflictJSON(c)); return ExitCode.success }
            context.print("conflict \(c.id)  \(c.isOpen ? "open" : "resolved (\(c.resolution ?? ""))")")
            context.print("\(c.kind.rawValue)  \(c.entity)")
            if c.kind == .annotation, let a = try store.annotation(c.entity) {
                context.print("record      \(a.record)")
                if let q = a.span?.quote { context.print("span        \"\(q)\"") }
            }
            context.print("field       \(c.field == "deleted" ? "deleted vs. edited \(c.loser.field)" : c.field)")
            context.print("")
            let w = ConflictsCommand.describe(c.winner, field: c.field), o = ConflictsCommand.describe(c.loser, field: c.field)
            let width = max(24, min(40, max(Format.displayWidth(w), Format.displayWidth(o)) + 2))
            context.print("  \(Format.pad("winner (shown)", width))other (kept)")
            context.print("  \(Format.pad(Format.oneLine(w, max: 38), width))\(Format.oneLine(o, max: 38))")
            context.print("  \(Format.pad("by " + names.name(c.winner.id.origin), width))by \(names.name(c.loser.id.origin))")
            context.print("  \(Format.pad(Format.time(c.winner.hlc.milliseconds), width))\(Format.time(c.loser.hlc.milliseconds))")
            context.print("  \(Format.pad(c.winner.id.description, width))\(c.loser.id.description)")
            if let comment = c.comment { context.print("\ncomment: \(comment)\(c.resolver.map { " (\($0))" } ?? "")") }
            if c.isOpen { context.print("\nresolve with: margin resolve \(Format.id(c.id)) --keep winner|other  or  --value V") }
            return ExitCode.success
        }
        let list = try store.conflicts(includeResolved: all)
        for c in list {
            if json { try context.printJSON(conflictJSON(c)); continue }
            let state = c.isOpen ? "open" : "resolved"
            let w = Format.oneLine(ConflictsCommand.describe(c.winner, field: c.field), max: 24)
            let o = Format.oneLine(ConflictsCommand.describe(c.loser, field: c.field), max: 24)
            context.print("\(Format.id(c.id))  \(state)  \(c.kind.rawValue) \(Format.id(c.entity)) \(c.field)  \"\(w)\" (\(names.name(c.winner.id.origin))) vs \"\(o)\" (\(names.name(c.loser.id.origin)))")
        }
        if list.isEmpty && !json { context.warn(all ? "no conflicts" : "no open conflicts") }
        return ExitCode.success
    }
}

/// Human names for node ids, where this store knows them.
struct PeerNames {
    var names: [String: String]
    init(_ store: Store) throws {
        names = [store.node.id: store.node.name]
        names.merge(try store.knownNodeNames(), uniquingKeysWith: { a, _ in a })
    }
    func name(_ id: NodeID) -> String { names[id] ?? String(id.prefix(8)) }
}

struct ResolveCommand: Command {
    static let name = "resolve"
    static let summary = "Settle a conflict; the resolution syncs like any change"
    static let usage = "margin resolve ID (--keep winner|other | --value V) [--comment C]"
    static let details = """
    options:
      --keep winner   keep the value every node shows now
      --keep other    bring back the other value (for a deletion that raced
                      an edit: restore the entity, with the edit)
      --value V       write a new value
      --comment C     why
    """
    var id: String, resolution: Store.Resolution, comment: String?
    init(_ args: inout Arguments) throws {
        let keep = try args.option("--keep"), value = try args.option("--value")
        comment = try args.option("--comment")
        switch (keep, value) {
        case ("winner"?, nil): resolution = .keepWinner
        case ("other"?, nil): resolution = .keepOther
        case (nil, let v?): resolution = .value(v)
        case (let k?, nil): throw UsageError("--keep takes winner or other, not '\(k)'")
        case (.some, .some): throw UsageError("give --keep or --value, not both")
        case (nil, nil): throw UsageError("missing --keep winner|other or --value V")
        }
        id = try args.required("ID")
    }

    func run(_ context: Context) throws -> Int32 {
        let store = try context.store()
        let cid = try store.resolve(id, kind: .conflict)
        try store.resolve(conflict: cid, resolution, comment: comment)
        context.print("resolved \(Format.id(cid))")
        return ExitCode.success
    }
}
