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
    static let usage = "margin conflicts [--all] [-n N] [--json] | margin conflicts show ID [--json]"
    static let details = """
    Where two people changed the same field without seeing each other's
    change, or one deleted what the other edited, last-writer-wins picked the
    value every node shows; the other value is kept here. Settle each with
    `margin resolve`.
    """
    var all: Bool, json: Bool, show: String?, limit: Int?
    init(_ args: inout Arguments) throws {
        all = args.flag("--all")
        json = args.flag("--json")
        limit = try args.intOption("-n", "--limit", min: 0)
        if let word = args.positional() {
            guard word == "show" else { throw UsageError("unknown subcommand '\(word)'") }
            show = try args.required("ID")
        }
    }

    static func describe(_ c: Change, field: String) -> String {
        if c.field == FieldSchema.deleted { return c.value == .int(1) ? "deleted" : "restored" }
        return field == FieldSchema.deleted ? "\(c.field) = \(c.value)" : c.value.description
    }

    func run(_ context: Context) throws -> Int32 {
        let store = try context.store()
        let names = PeerNames(store)
        if let show {
            let id = try store.resolve(show, kind: .conflict)
            guard let c = try store.conflict(id) else { throw MarginError.notFound("no conflict \(show)") }
            if json { try context.printJSON(conflictJSON(c)); return ExitCode.success }
            context.print("conflict \(c.id)  \(c.isOpen ? "open" : "resolved (\(Format.safe(c.resolution ?? "")))\(c.resolver.map { " by \(Format.safe($0))" } ?? "")")")
            context.print("\(Format.pad(c.kind.rawValue, 11)) \(c.entity)\(try store.isDeleted(c.kind, EntityID(stored: c.entity)) ? "  (deleted)" : "")")
            if c.kind == .annotation, let a = try store.annotation(c.entity, includingDeleted: true) {
                let title = try store.record(a.record)?.title
                context.print("\(Format.pad("record", 11)) \(a.record)\(title.map { "  \(Format.safe($0))" } ?? "")")
                if let span = a.span { context.print("\(Format.pad("span", 11)) \(span.start)..\(span.end) \"\(Format.safe(span.quote))\"") }
                if let code = a.codeName { context.print("\(Format.pad("code", 11)) \(Format.safe(code))") }
            } else if c.kind == .record, let title = try store.winner(.record, EntityID(stored: c.entity), "title")?.value.string {
                context.print("\(Format.pad("title", 11)) \(Format.safe(title))")
            } else if c.kind == .code, let name = try store.winner(.code, EntityID(stored: c.entity), "name")?.value.string {
                context.print("\(Format.pad("name", 11)) \(Format.safe(name))")
            }
            let what: String
            if c.field == FieldSchema.deleted { what = "deleted by one, edited by the other" }
            else if c.field == "start" { what = "span (start, end, quote, prefix, suffix)" }
            else if c.field == "status" { what = "review (status, comment, reviewer)" }
            else { what = c.field }
            context.print("\(Format.pad("field", 11)) \(what)")
            let (w, o) = try store.conflictSides(c)
            for (label, change, lines) in [("winner (shown)", c.winner, w), ("other (kept)", c.loser, o)] {
                context.print("")
                context.print("\(label): by \(names.name(change.id.origin)), \(Format.time(change.hlc.milliseconds)), change \(change.id)")
                for line in lines {
                    for part in line.split(separator: "\n", omittingEmptySubsequences: false) { context.print("    \(Format.safe(String(part)))") }
                }
            }
            if let comment = c.comment { context.print("\ncomment: \(Format.oneLine(comment, max: 500))\(c.resolver.map { " (\(Format.safe($0)))" } ?? "")") }
            if c.isOpen {
                let valueHint = c.field == FieldSchema.deleted || FieldSchema.group(of: c.kind, field: c.field) != nil ? "" : "  or  --value V"
                context.print("\nresolve with: margin resolve \(Format.id(c.id)) --keep winner|other\(valueHint)")
            }
            return ExitCode.success
        }
        var none = true
        try store.forEachConflict(includeResolved: all, limit: limit) { c in
            none = false
            if json { try context.printJSON(conflictJSON(c)); return true }
            let state = c.isOpen ? "open" : "resolved"
            let (ws, os) = try store.conflictSides(c)
            let w = Format.oneLine(ws.joined(separator: ", "), max: 24)
            let o = Format.oneLine(os.joined(separator: ", "), max: 24)
            context.print("\(Format.id(c.id))  \(state)  \(c.kind.rawValue) \(Format.id(c.entity)) \(c.field)  \"\(w)\" (\(names.name(c.winner.id.origin))) vs \"\(o)\" (\(names.name(c.loser.id.origin)))")
            return true
        }
        if none && !json && limit != 0 { context.warn(all ? "no conflicts" : "no open conflicts") }
        return ExitCode.success
    }
}

/// Human names for node ids, where this store knows them (`Store.nodeName`),
/// looked up once each.
final class PeerNames {
    private let store: Store
    private var names: [NodeID: String?] = [:]
    init(_ store: Store) { self.store = store }
    func name(_ id: NodeID) -> String {
        if names[id] == nil { names[id] = .some((try? store.nodeName(of: id)) ?? nil) }
        return (names[id] ?? nil).map(Format.safe) ?? String(id.hex.prefix(8))
    }
}

struct ResolveCommand: Command {
    static let name = "resolve"
    static let summary = "Settle a conflict; the resolution syncs like any change"
    static let usage = "margin resolve ID (--keep winner|other | --value V) [--comment C]"
    static let details = """

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
