import Foundation
import MarginCore

struct InitCommand: Command {
    static let name = "init"
    static let summary = "Create a store in ./.margin (or at --store PATH), empty or from another store"
    static let usage = "margin init [--name NAME] [--from STORE|BUNDLE] [--store PATH]"
    static let details = """
    Creates a store with a new key pair (node.key, mode 600, never synced)
    and the node id derived from it. NAME is how this node appears
    to colleagues and the author of every change made here (default: your
    login name).

    With --from, the new store starts with everything another store holds
    (a store folder, or a bundle made by `margin export --log`), under its
    own new node id: the way to set up a second laptop. Copying a .margin
    folder instead also works, but then both copies share one node id
    until the first sync that meets the other's changes gives one of them a
    new id (README, "Backups and copies").
    """
    var name: String?, from: String?
    init(_ args: inout Arguments) throws {
        name = try args.option("--name")
        from = try args.option("--from")
    }

    /// The user's login name, as `whoami` gives it.
    static func loginName(_ environment: [String: String]) -> String? {
        for key in ["USER", "LOGNAME"] { if let v = environment[key], !v.isEmpty { return v } }
        guard let pw = getpwuid(getuid()), let cname = pw.pointee.pw_name else { return nil }
        let name = String(cString: cname)
        return name.isEmpty ? nil : name
    }

    func run(_ context: Context) throws -> Int32 {
        let explicit = context.storeOption ?? context.environment["MARGIN_STORE"].flatMap { $0.isEmpty ? nil : $0 }
        let dir = explicit.map(context.absolute) ?? (context.workingDirectory as NSString).appendingPathComponent(".margin")
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: dir, isDirectory: &isDir), !isDir.boolValue {
            throw MarginError.invalid("\(dir) is a file, not a folder: give --store a folder for the store")
        }
        let nodeName = name ?? InitCommand.loginName(context.environment) ?? "margin"
        // Open the source before creating anything, so a bad one leaves no store behind.
        var source: InitCommand.Source?
        if let from { source = try InitCommand.source(context.absolute(from)) }
        // The highest folder of the path that this command will make (nil
        // when the folder is there already), taken away if the copy fails.
        var made: String?
        var probe = dir
        while !FileManager.default.fileExists(atPath: probe), probe != "/" {
            made = probe
            probe = (probe as NSString).deletingLastPathComponent
        }
        let store = try Store.create(directory: dir, name: nodeName)
        if let source {
            do {
                let r: Store.BundleOutcome
                switch source {
                case .store(let other):
                    try store.trustLegacyOrigins(try other.legacyOrigins())
                    r = try store.importStore(other)
                case .bundle(let path):
                    r = try store.importBundle(atPath: path)
                }
                context.print("Created a Margin store in \(dir) with the \(r.applied) changes of \(from ?? "")")
            } catch {
                // Nothing of the new store is left: its file, its key, and
                // the folders this command made, once nothing else is in them.
                store.db.close()
                for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: store.path + suffix) }
                try? FileManager.default.removeItem(atPath: (dir as NSString).appendingPathComponent(NodeKey.fileName))
                var folder = dir
                while let top = made, (try? FileManager.default.contentsOfDirectory(atPath: folder))?.isEmpty == true {
                    try? FileManager.default.removeItem(atPath: folder)
                    if folder == top { break }
                    folder = (folder as NSString).deletingLastPathComponent
                }
                throw error
            }
        } else {
            context.print("Created a Margin store in \(dir)")
        }
        context.print("node \(store.node.id) (\(store.node.name))")
        return ExitCode.success
    }

    /// What `--from` names: a store folder (or the folder holding
    /// `.margin`), read change by change as it is copied (with the schema-2
    /// node ids it trusts, so the new store trusts them too), or a bundle
    /// file, read a piece at a time.
    enum Source {
        case store(Store)
        case bundle(path: String)
    }

    static func source(_ path: String) throws -> Source {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else { throw MarginError.notFound("\(path): no such store or bundle") }
        if !isDir.boolValue {
            guard ChangeBundle.fileLooksLikeBundle(atPath: path) else {
                throw MarginError.invalid("\(path) is not a Margin bundle (make one with `margin export --log -o FILE`)")
            }
            return .bundle(path: path)
        }
        let nested = (path as NSString).appendingPathComponent(".margin")
        let dir = FileManager.default.fileExists(atPath: (nested as NSString).appendingPathComponent(Store.fileName)) ? nested : path
        return .store(try Store(directory: dir))
    }
}

struct StatusCommand: Command {
    static let name = "status"
    static let summary = "Show this node, what the store holds, and what awaits review"
    static let usage = "margin status [--json]"
    static let details = "The node, the store, its records, annotations by review state (suggestions too), codes, your done marks, changes and open conflicts; blind coding and forks when there are any."
    var json: Bool
    init(_ args: inout Arguments) throws { json = args.flag("--json") }

    func run(_ context: Context) throws -> Int32 {
        let store = try context.store()
        let s = try store.status()
        let done = try store.doneMarks().values.filter { $0.contains(s.node.name) }.count
        if json {
            try context.printJSON([
                "node": ["id": s.node.id, "name": s.node.name], "store": store.directory,
                "records": s.records, "annotations": s.annotations, "codes": s.codes,
                "review": ["open": s.open, "accepted": s.accepted, "rejected": s.rejected, "suggested": s.suggested],
                "changes": s.changes, "own_changes": s.ownChanges, "open_conflicts": s.openConflicts,
                "former_ids": try store.formerNodeIDs(),
                "forks": try store.forks().map { ["origin": $0.origin, "seq": $0.seq, "peer": $0.peer ?? ""] as [String: Any] },
                "done": done, "blind": try store.isBlind,
            ])
            return ExitCode.success
        }
        context.print("node        \(s.node.name) (\(s.node.id))")
        context.print("store       \(store.directory)")
        context.print("records     \(s.records)")
        context.print("annotations \(s.annotations) (open \(s.open), accepted \(s.accepted), rejected \(s.rejected), suggestions \(s.suggested))")
        context.print("codes       \(s.codes)")
        context.print("done        \(done) of \(s.records) records marked done by \(s.node.name) (margin done)")
        if try store.isBlind { context.print("blind       on: only your own annotations are shown (margin blind off)") }
        context.print("changes     \(s.changes) (\(s.ownChanges) made here)")
        context.print("conflicts   \(s.openConflicts) open")
        if let former = try store.formerNodeIDs().last {
            context.print("former id   \(former) (this store was restored or copied, and moved to a new id)")
        }
        for f in try store.forks() {
            context.print("fork        node \(f.origin) has two histories from change \(f.seq) or before (met \(f.peer.map { "through \($0)" } ?? "") \(Format.time(f.detected))); its changes are held back")
        }
        return ExitCode.success
    }
}

func changeJSON(_ c: Change) -> [String: Any] {
    var o: [String: Any] = [
        "id": c.id.description, "origin": c.id.origin, "seq": c.id.seq,
        "hlc": ["ms": c.hlc.milliseconds, "counter": c.hlc.counter],
        "kind": c.kind.rawValue, "entity": c.entity.text, "field": c.field,
    ]
    switch c.value {
    case .null: o["value"] = NSNull()
    case .int(let v): o["value"] = v
    case .text(let t): o["value"] = t
    }
    if let s = c.supersedes { o["supersedes"] = s.description }
    return o
}

struct LogCommand: Command {
    static let name = "log"
    static let summary = "Show the change log, newest first"
    static let usage = "margin log [ID] [-n N | --limit N] [--json]"
    static let details = """
    Every write is recorded as one change per field: its id (origin node and
    sequence number), hybrid-clock time, entity, field, new value and the
    change it superseded. ID limits the log to one record, annotation or code.
    """
    var limit: Int?
    var json: Bool
    var entity: String?
    init(_ args: inout Arguments) throws {
        limit = try args.intOption("-n", "--limit", min: 0)
        json = args.flag("--json")
        entity = args.positional()
    }

    func run(_ context: Context) throws -> Int32 {
        let store = try context.store()
        var id: String?
        if let entity {
            id = [EntityKind.record, .annotation, .code].lazy.compactMap { try? store.resolve(entity, kind: $0) }.first
            guard id != nil else { throw MarginError.notFound("no record, annotation or code with id '\(entity)'") }
        }
        let n = limit ?? 50
        var names: [NodeID: String?] = [:]
        for c in try store.log(limit: n == 0 ? nil : n, entity: id) {
            if json {
                try context.printJSON(changeJSON(c))
            } else {
                let sup = c.supersedes.map { " (was \($0.origin.hex.prefix(6)):\($0.seq))" } ?? ""
                if names[c.id.origin] == nil { names[c.id.origin] = .some(try store.nodeName(of: c.id.origin)) }
                let who = (names[c.id.origin] ?? nil).map { " " + Format.oneLine($0, max: 16) } ?? ""
                context.print("\(Format.time(c.hlc.milliseconds))  \(c.id.origin.hex.prefix(6)):\(c.id.seq)\(who)  \(c.kind.rawValue) \(Format.id(c.entity.text)) \(c.field) = \(Format.oneLine(c.value.description, max: 50))\(sup)")
            }
        }
        return ExitCode.success
    }
}

struct DigestCommand: Command {
    static let name = "digest"
    static let summary = "Print a hash of the visible state, to check that two nodes agree"
    static let usage = "margin digest [--json]"
    static let details = """
    The SHA-256 of every live record, annotation and code field and every
    open conflict. Two nodes that have exchanged all their changes print the
    same digest. Timestamps are not included.
    """
    var json: Bool
    init(_ args: inout Arguments) throws { json = args.flag("--json") }

    func run(_ context: Context) throws -> Int32 {
        let store = try context.store()
        let d = try store.digest()
        if json { try context.printJSON(["digest": d, "node": store.node.name]) } else { context.print(d) }
        return ExitCode.success
    }
}

struct ExportCommand: Command {
    static let name = "export"
    static let summary = "Write the store as JSON Lines, CSV, W3C, doccano, brat or REFI-QDA, or its log as a bundle"
    static let usage = "margin export [--format jsonl|csv|w3c|doccano|brat|refi] [--excel] [-o FILE|DIR] | margin export --log -o FILE"
    static let details = """
    JSON Lines (the default): one object a line, codes, then records, then
    annotations, each with the stamp of every field. `margin import
    FILE.jsonl` reads it back into this store or another, field by field
    under last-writer-wins: an old export never undoes newer work, and what
    was deleted since stays deleted.

    --log writes a bundle: every change this store holds, as a file another
    store imports exactly as if the two had synced (`margin import FILE` or
    `margin init --from FILE`). Importing it twice changes nothing. This is
    the way to carry work between laptops with no network.

    Formats other tools read (offsets are Unicode code points throughout):
      csv      one row per annotation: record, title, place, published, code
               (full path), start, end, quote, value, note, status, author,
               reviewer; --excel adds a UTF-8 byte-order mark for Excel
      w3c      W3C Web Annotation (JSON-LD): an AnnotationCollection; spans
               carry a TextPositionSelector and a TextQuoteSelector; save it
               as .jsonld and `margin import` reads it back
      doccano  JSON Lines of {"id", "text", "label": [[start, end, code]]}
      brat     a folder (-o DIR) of RECORD.txt and RECORD.ann standoff files
               and annotation.conf with the codes as entity types
      refi     a REFI-QDA project (-o FILE.qdpx) for NVivo, MAXQDA, ATLAS.ti
               and QualCoder: codes, records as text sources, spans as coded
               selections with value and note; `margin import FILE.qdpx`
               reads it back
    """
    static let formats = ["jsonl", "csv", "w3c", "doccano", "brat", "refi"]
    var output: String?, log: Bool, format: String, excel: Bool
    init(_ args: inout Arguments) throws {
        format = try args.option("--format") ?? "jsonl"
        guard ExportCommand.formats.contains(format) else {
            throw UsageError("unknown format '\(format)' (\(ExportCommand.formats.joined(separator: ", ")))")
        }
        excel = args.flag("--excel")
        if excel && format != "csv" { throw UsageError("--excel goes with --format csv") }
        output = try args.option("-o", "--output")
        log = args.flag("--log")
        if log && output == nil { throw UsageError("--log writes a binary bundle: give -o FILE") }
        if format == "brat" && output == nil { throw UsageError("--format brat writes a folder of files: give -o DIR") }
        if format == "refi" && output == nil { throw UsageError("--format refi writes a zip archive: give -o FILE.qdpx") }
    }

    func run(_ context: Context) throws -> Int32 {
        let store = try context.store()
        if log, let output {
            // Streamed, as the log is read, to a temporary file renamed
            // over FILE at the end.
            var made = (changes: 0, bytes: 0)
            try context.streamBytes(to: output) { write in made = try store.writeBundle(write) }
            context.warn("wrote a bundle of \(made.changes) changes (\(made.bytes) bytes) to \(output)")
            return ExitCode.success
        }
        if format == "refi", let output {
            // Streamed: the project's sources set aside in a file beside
            // FILE, the archive written to a temporary file renamed over
            // FILE at the end.
            let name = ((output as NSString).lastPathComponent as NSString).deletingPathExtension
            var bytes = 0, left = 0
            try context.streamBytes(to: output) { write in
                // Beside FILE, or in the temporary folder when FILE is
                // written in place (`-o /dev/stdout`, a link, a pipe).
                let target = context.absolute(output)
                let spool = (Context.isWrittenInPlace(target) ? NSTemporaryDirectory() + "/margin" : target) + ".margin-spool-\(getpid())"
                left = try store.writeREFIProject(name: name.isEmpty ? "Margin" : name, spoolPath: spool) { part in
                    bytes += part.count
                    try write(part)
                }
            }
            if left > 0 { context.warn(ExportSet.unanchoredWarning(left)) }
            context.warn("wrote a REFI-QDA project (\(bytes) bytes) to \(output)")
            return ExitCode.success
        }
        if format == "csv" || format == "w3c" || format == "doccano" {
            // Streamed, to standard output or to a temporary file renamed
            // over FILE at the end.
            var written = 0, left = 0
            try context.streamOut(to: output) { write in
                switch format {
                case "csv": (written, left) = try ExportSet.streamCSV(store, excel: excel) { try write($0) }
                case "w3c": (written, left) = try ExportSet.streamW3C(store) { try write($0) }
                default: (written, left) = try ExportSet.streamDoccano(store) { try write($0) }
                }
            }
            if left > 0 { context.warn(ExportSet.unanchoredWarning(left)) }
            if let output { context.warn("exported \(written) annotations as \(format) to \(output)") }
            return ExitCode.success
        }
        if format == "brat", let output {
            // Streamed: each record's files written as its annotations end,
            // into a folder beside DIR, moved into place once whole, so that
            // a failure leaves DIR as it was.
            let fm = FileManager.default
            let folder = context.absolute(output)
            var isFolder: ObjCBool = false
            let exists = fm.fileExists(atPath: folder, isDirectory: &isFolder)
            if exists && !isFolder.boolValue { throw MarginError.invalid("\(output) is a file: --format brat writes a folder of files") }
            let staging = folder + ".margin-export-\(getpid())"
            do { try fm.createDirectory(atPath: staging, withIntermediateDirectories: true) } catch {
                throw MarginError.invalid("cannot write \(output) (\(MarginError.message(for: error)))")
            }
            let records: Int, types: [String], left: Int
            do {
                (records, types, left) = try ExportSet.streamBrat(store) { name, text in
                    try Data(text.utf8).write(to: URL(fileURLWithPath: (staging as NSString).appendingPathComponent(name)))
                }
                if !exists {
                    guard rename(staging, folder) == 0 else { throw MarginError.invalid("cannot write \(output): \(String(cString: strerror(errno)))") }
                } else {
                    for name in try fm.contentsOfDirectory(atPath: staging) {
                        let target = (folder as NSString).appendingPathComponent(name)
                        guard rename((staging as NSString).appendingPathComponent(name), target) == 0 else {
                            throw MarginError.invalid("cannot write \(target): \(String(cString: strerror(errno)))")
                        }
                    }
                    try fm.removeItem(atPath: staging)
                }
            } catch {
                try? fm.removeItem(atPath: staging)
                throw error
            }
            if left > 0 { context.warn(ExportSet.unanchoredWarning(left)) }
            context.warn("wrote \(records) records and annotation.conf (\(types.count) entity types) to \(output)")
            return ExitCode.success
        }
        // Streamed in chunks, to standard output or to a temporary file
        // renamed over FILE at the end (all or nothing, as before).
        let onlyAuthor = try store.isBlind ? store.node.name : nil
        var count = 0
        try context.streamOut(to: output) { write in
            count = try store.exportLines(onlyAuthor: onlyAuthor) { line in try write(line + "\n") }
        }
        if let output { context.warn("exported \(count) objects to \(output)") }
        return ExitCode.success
    }
}

struct CheckCommand: Command {
    static let name = "check"
    static let summary = "Verify the store: file, change log, derived state and annotation quotes"
    static let usage = "margin check [--json]"
    static let details = """
    Runs SQLite's integrity check and the full-text index's; verifies that
    every node's changes are numbered without gaps, that each matches its
    hash and its node's hash chain, that it keeps every rule a receiver
    enforces (PROTOCOL.md §1), and that every change it refers to is present;
    verifies every signature the store holds; rebuilds the state from the
    change log in a scratch file of the derived tables (inside the store's
    folder, removed afterwards; on a second core while the rest is checked;
    it needs about a quarter of the store's size in free disk) and compares it
    with the live state; and checks that every annotation's quote still
    matches its record's text at its offsets. An annotation placed on an earlier
    cleaning of its record (orphaned by `margin reclean`, or a colleague's
    coding synced after one) is named as not anchored, with what to run.
    Prints each check that passed. Exits 1 naming the first inconsistency
    found. Changes nothing.
    """
    var json: Bool
    init(_ args: inout Arguments) throws { json = args.flag("--json") }

    func run(_ context: Context) throws -> Int32 {
        let store = try context.store()
        var checks: [String] = []
        do {
            try store.check { line in
                checks.append(line)
                if !json { context.print("ok  \(line)") }
            }
        } catch let e as MarginError {
            // Damage (corrupt), or annotations not anchored in the text of now (invalid).
            let problem: String
            switch e {
            case .corrupt(let p): problem = p
            case .invalid(let p): problem = p
            default: throw e
            }
            guard json else { throw e }
            try context.printJSON(["ok": false, "checks": checks, "problem": problem] as [String: Any])
            context.warn("margin check: \(problem)")
            return ExitCode.failure
        }
        if json { try context.printJSON(["ok": true, "checks": checks] as [String: Any]) } else { context.print("the store is consistent") }
        return ExitCode.success
    }
}

struct RecleanCommand: Command {
    static let name = "reclean"
    static let summary = "Clean stored reports again with this release's rules, re-anchoring their annotations"
    static let usage = "margin reclean RECORD... | margin reclean --all [--json]"
    static let details = """
    Cleans each record again from the report as received (a record's id is
    its hash, so the id stays) and writes the new body, with any metadata
    the record lacked and the cleaner now finds, as one change that syncs.
    Every annotation is placed anew by its quote, prefix and suffix (the
    W3C selectors it stores): where the quote stands once, or where its
    surroundings tell one place from the others. One that cannot be placed
    exactly is kept where it was and listed as orphaned, never moved
    silently: place it by hand (`margin edit ID --quote TEXT`), and
    `margin check` says whether any remain. Annotations a colleague made
    on an earlier cleaning, synced after it, are placed by the next
    reclean. A record imported with --raw is left as it is. Reviews that
    held before a move hold after it. `margin undo --last` takes it back.
    """
    var ids: [String], all: Bool, json: Bool
    init(_ args: inout Arguments) throws {
        all = args.flag("--all")
        json = args.flag("--json")
        ids = args.remaining()
        if all && !ids.isEmpty { throw UsageError("give RECORD ids or --all, not both") }
        if !all && ids.isEmpty { throw UsageError("missing RECORD (or --all)") }
    }

    func run(_ context: Context) throws -> Int32 {
        let store = try context.store()
        try store.requireWritable()
        let records = all ? try store.records(Store.RecordFilter()).map(\.id) : try ids.map { try store.resolve($0, kind: .record) }
        let outcomes = try store.reclean(records: records)
        var cleaned = 0, moved = 0, orphaned = 0
        for o in outcomes {
            cleaned += o.cleaned ? 1 : 0; moved += o.moved.count; orphaned += o.orphaned.count
            if json {
                try context.printJSON(["record": o.record, "cleaned": o.cleaned, "filled": o.filled, "moved": o.moved,
                                       "orphaned": o.orphaned, "skipped": o.skipped ?? NSNull()] as [String: Any])
                continue
            }
            if let why = o.skipped { context.print("\(Format.id(o.record))  left as it is: \(why)") }
            guard o.cleaned || !o.filled.isEmpty || !o.moved.isEmpty || !o.orphaned.isEmpty else {
                if o.skipped == nil && !all { context.print("\(Format.id(o.record))  unchanged: the rules of now clean it the same") }
                continue
            }
            var line = "\(Format.id(o.record))  " + (o.cleaned ? "cleaned again" : "body unchanged")
            if !o.filled.isEmpty { line += "; metadata found: " + o.filled.map(Format.safe).joined(separator: ", ") }
            if !o.moved.isEmpty { line += "; \(o.moved.count) annotation\(o.moved.count == 1 ? "" : "s") placed anew" }
            context.print(line)
            for a in o.orphaned {
                let quote = try store.annotation(a)?.span?.quote ?? ""
                context.print("    orphaned \(Format.id(a))  '\(Format.oneLine(quote, max: 30))' is not in the new text once: place it with margin edit \(Format.id(a)) --quote TEXT")
            }
        }
        if !json {
            context.print("\(records.count) record\(records.count == 1 ? "" : "s"): \(cleaned) cleaned again, \(moved) annotation\(moved == 1 ? "" : "s") placed anew, \(orphaned) orphaned")
        }
        return orphaned > 0 ? ExitCode.failure : ExitCode.success
    }
}
