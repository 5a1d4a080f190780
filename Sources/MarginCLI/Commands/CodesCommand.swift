import Foundation
import MarginCore

struct CodesCommand: Command {
    static let name = "codes"
    static let summary = "Manage the codebook: add, list, rename, describe, merge, import, export"
    static let usage = "margin codes [list|add|rename|describe|merge|import|export] ..."
    static let details = """
    subcommands:
      margin codes list [--json]
          the codebook as a tree, with the number of annotations per code
      margin codes add NAME [--description D] [--colour C] [--parent CODE] [--triggers "党员, 黨員"]
                            [--value-type number|text]
      margin codes rename CODE NEW-NAME
      margin codes describe CODE [--description D] [--colour C|--no-colour]
                                 [--parent CODE|--no-parent] [--triggers WORDS]
                                 [--value-type number|text|none]
      margin codes merge CODE INTO-CODE
          recode CODE's annotations as INTO-CODE; CODE is retired
      margin codes import FILE
          TSV or CSV, one code a row: NAME, PARENT, COLOUR, DESCRIPTION,
          TRIGGERS (only
          NAME is needed; a header row starting `name` or `code` maps the
          columns by name, in any order;
          CSV fields may be quoted), or a REFI-QDA codebook (.qdc)
      margin codes export [--format tsv|refi] [-o FILE]
          the codebook as TSV (what `codes import` reads) or as a REFI-QDA
          codebook (.qdc) for NVivo, MAXQDA, ATLAS.ti and QualCoder

    Colours are names (red, green, yellow, blue, magenta, cyan, orange,
    purple, grey, bright-red, ...), 256-colour palette entries colour0 to
    colour255, or #rrggbb. Trigger words (comma-separated, either script)
    let `margin suggest` guess the code of a figure from the words next to
    it. A value type of number makes `annotate`, `tag` and `edit` refuse a
    --value that is not a number (38, 1,500, 1.2, 1.2萬). Annotations refer to codes by id, so a rename changes no annotation.
    A code name is one line of 1 to 80 characters (Unicode scalars); the
    tree is at most 64 levels deep.
    """

    enum Action {
        case list(json: Bool)
        case add(name: String, description: String?, colour: String?, parent: String?, triggers: String?, valueType: String?)
        case rename(code: String, name: String)
        case describe(code: String, description: String?, colour: String??, parent: String??, triggers: String?, valueType: String?)
        case merge(code: String, into: String)
        case importFile(String)
        case export(refi: Bool, output: String?)
    }
    var action: Action

    init(_ args: inout Arguments) throws {
        let sub = args.positional() ?? "list"
        switch sub {
        case "list":
            action = .list(json: args.flag("--json"))
        case "add":
            let d = try args.option("--description"), c = try args.option("--colour", "--color"), p = try args.option("--parent")
            let t = try args.option("--triggers"), v = try CodesCommand.valueType(&args, allowingNone: false)
            action = .add(name: try args.required("NAME"), description: d, colour: c, parent: p, triggers: t, valueType: v)
        case "rename":
            action = .rename(code: try args.required("CODE"), name: try args.required("NEW-NAME"))
        case "describe":
            let d = try args.option("--description")
            let triggers = try args.option("--triggers"), valueType = try CodesCommand.valueType(&args, allowingNone: true)
            var colour: String?? = nil
            if let c = try args.option("--colour", "--color") { colour = .some(c) }
            if args.flag("--no-colour", "--no-color") { colour = .some(nil) }
            var parent: String?? = nil
            if let p = try args.option("--parent") { parent = .some(p) }
            if args.flag("--no-parent") { parent = .some(nil) }
            let code = try args.required("CODE")
            if d == nil, colour == nil, parent == nil, triggers == nil, valueType == nil {
                let rest = args.remaining()
                guard !rest.isEmpty else { throw UsageError("nothing to change: give --description, --colour, --parent, --triggers or --value-type") }
                action = .describe(code: code, description: rest.joined(separator: " "), colour: nil, parent: nil, triggers: nil, valueType: nil)
            } else {
                action = .describe(code: code, description: d, colour: colour, parent: parent, triggers: triggers, valueType: valueType)
            }
        case "merge":
            action = .merge(code: try args.required("CODE"), into: try args.required("INTO-CODE"))
        case "import":
            action = .importFile(try args.required("FILE"))
        case "export":
            let format = try args.option("--format") ?? "tsv"
            guard format == "tsv" || format == "refi" else { throw UsageError("unknown codebook format '\(format)' (tsv or refi)") }
            action = .export(refi: format == "refi", output: try args.option("-o", "--output"))
        default:
            throw UsageError("unknown subcommand '\(sub)'")
        }
    }

    func run(_ context: Context) throws -> Int32 {
        let store = try context.store()
        switch action {
        case .list(let json):
            let codes = try store.codes()
            if json {
                for c in codes {
                    var o: [String: Any] = ["id": c.id, "name": c.name, "count": c.count]
                    if let d = c.description { o["description"] = d }
                    if let col = c.colour { o["colour"] = col }
                    if let p = c.parent { o["parent"] = p }
                    let t = try store.triggers(of: c.id)
                    if !t.isEmpty { o["triggers"] = t }
                    if let v = try store.valueType(of: c.id) { o["value_type"] = v }
                    try context.printJSON(o)
                }
                return ExitCode.success
            }
            if codes.isEmpty { context.warn("the codebook is empty (add codes with `margin codes add NAME`)") }
            let ids = Set(codes.map(\.id))
            let children = Dictionary(grouping: codes) { c in c.parent.flatMap { ids.contains($0) ? $0 : nil } ?? "" }
            // Depth first without recursion: a peer may send a tree of any
            // depth; past `maxCodeDepth` the indent stops growing.
            var pending: [(code: Code, depth: Int)] = (children[""] ?? []).reversed().map { ($0, 0) }
            while let (c, depth) = pending.popLast() {
                let indent = String(repeating: "  ", count: min(depth, Store.maxCodeDepth))
                var name = Format.pad(indent + Format.safe(c.name), 28)
                // On a terminal, each code in the colour its spans are drawn in.
                if context.useColour { name = indent + Highlighter.sgr(c.colour) + Format.safe(c.name) + "\u{1B}[0m" + String(name.dropFirst(indent.count + Format.safe(c.name).count)) }
                let colour = c.colour.map { " \($0)" } ?? ""
                let desc = (try store.valueType(of: c.id).map { " [\($0)]" } ?? "") + (c.description.map { "  \(Format.oneLine($0, max: 50))" } ?? "")
                // A link two people's concurrent edits made into a cycle.
                let ignored = c.ignoredLink.map { link -> String in
                    let target = String(link.split(separator: " ").last ?? "")
                    let shown = Format.safe(codes.first { $0.id == target }?.name ?? target)
                    return "  (\(link.hasPrefix("parent") ? "parent" : "merge into") \(shown) ignored: it would close a cycle)"
                } ?? ""
                context.print("\(name) \(Format.pad(String(c.count), 5)) \(Format.id(c.id))\(colour)\(desc)\(ignored)")
                pending += (children[c.id] ?? []).reversed().map { ($0, depth + 1) }
            }
        case .add(let name, let description, let colour, let parent, let triggers, let valueType):
            let pid = try parent.map { try store.resolveCode($0) }
            let id = try store.addCode(name: name, description: description, colour: colour, parent: pid, triggers: triggers, valueType: valueType)
            context.print("added code \(name) (\(Format.id(id)))")
        case .rename(let code, let name):
            let id = try store.resolveCode(code)
            try store.renameCode(id, to: name)
            context.print("renamed \(Format.id(id)) to \(name)")
        case .describe(let code, let description, let colour, let parent, let triggers, let valueType):
            let id = try store.resolveCode(code)
            var pid: String?? = nil
            if let parent { pid = .some(try parent.map { try store.resolveCode($0) }) }
            try store.describeCode(id, description: description, colour: colour, parent: pid, triggers: triggers, valueType: valueType)
            context.print("updated code \(Format.id(id))")
        case .merge(let code, let into):
            let source = try store.resolveCode(code), target = try store.resolveCode(into)
            let n = try store.mergeCode(source, into: target)
            context.print("merged \(code) into \(into): \(n) annotation\(n == 1 ? "" : "s") recoded")
        case .importFile(let file):
            let path = context.absolute(file)
            guard let data = FileManager.default.contents(atPath: path) else { throw MarginError.notFound("\(file): no such file") }
            guard let text = TextNormalization.decodeUTF8(data) else { throw MarginError.invalid("\(file) is not valid UTF-8 text") }
            let (added, existing) = try store.importCodebook(text)
            context.print("\(added) codes added, \(existing) already present")
        case .export(let refi, let output):
            let codes = try store.codes()
            let names = Dictionary(uniqueKeysWithValues: codes.map { ($0.id, $0.name) })
            let text: String
            if refi {
                text = REFI.codebook(codes)
            } else {
                // Parents before children, so the file imports in one pass.
                var ordered: [Code] = [], placed = Set<String>()
                while ordered.count < codes.count {
                    let ready = codes.filter { !placed.contains($0.id) && ($0.parent.map { placed.contains($0) || names[$0] == nil } ?? true) }
                    if ready.isEmpty { ordered += codes.filter { !placed.contains($0.id) }; break }
                    for c in ready { ordered.append(c); placed.insert(c.id) }
                }
                let clean = { (s: String?) in (s ?? "").replacingOccurrences(of: "\t", with: " ").replacingOccurrences(of: "\n", with: " ") }
                text = "# NAME\tPARENT\tCOLOUR\tDESCRIPTION\tTRIGGERS\tVALUE_TYPE\n" + (try ordered.map { c in
                    [c.name, c.parent.flatMap { names[$0] } ?? "", c.colour ?? "", clean(c.description),
                     try store.triggers(of: c.id).joined(separator: ", "), try store.valueType(of: c.id) ?? ""].map { clean($0) }.joined(separator: "\t") + "\n"
                }).joined()
            }
            try context.emit(text, to: output, summary: "wrote \(codes.count) codes")
        }
        return ExitCode.success
    }

    /// `--value-type number|text` (`none` clears it, where allowed: "").
    static func valueType(_ args: inout Arguments, allowingNone: Bool) throws -> String? {
        guard let v = try args.option("--value-type") else { return nil }
        if allowingNone && v == "none" { return "" }
        guard Store.valueTypes.contains(v) else {
            throw UsageError("--value-type takes number or text\(allowingNone ? " (none clears it)" : ""), not '\(v)'")
        }
        return v
    }
}
