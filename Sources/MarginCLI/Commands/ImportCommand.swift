import Foundation
import MarginCore

struct ImportCommand: Command {
    static let name = "import"
    static let summary = "Import reports (UTF-8, GB18030, Big5, UTF-16), exports, bundles, REFI-QDA projects, W3C annotations"
    static let usage = "margin import [--raw] [--quiet] [--encoding NAME] [--explain] PATH..."
    static let details = """
    Each PATH is a file or a folder (its .txt, .text, .jsonl, .ndjson,
    .bundle and .qdpx files, recursively). A REFI-QDA project (.qdpx, as
    `margin export --format refi` writes it, or NVivo, MAXQDA, ATLAS.ti or
    QualCoder, stored or deflated) brings its codes, texts, their
    variables as metadata, and coded selections, each with its creating
    user as author. W3C Web Annotations
    (.jsonld, as `margin export --format w3c` writes them) are added to the
    records they target, which must be in the store (import the reports
    first: a record's id is the hash of the report as received). A bundle (`margin export --log`) is taken as
    if this store had synced with the one that made it. A plain-text report is cleaned of page furniture: title,
    date, source, author and editor lines become metadata; breadcrumbs, share
    and footer lines, echoed captions and pinyin glosses such as 網(wǎng) are
    removed, and what was removed is listed. A report already in the store is
    reported as present. Each file goes in whole or not at all; a bad file is
    named with its reason while the others go in, and the exit status is 1.

    Reports may come in UTF-8, GB18030 (and GBK), Big5, or UTF-16 with a
    byte-order mark: a BOM decides, valid UTF-8 is UTF-8, and otherwise the
    more plausible of GB18030 and Big5 is taken (the one whose characters are
    the commoner in Chinese text). The import line names any encoding other
    than UTF-8. A line that looks damaged by a conversion (private-use
    characters, U+FFFD, `?` inside a word or before pinyin) is named in a
    warning.

    --explain imports nothing: for each report file it prints every line
    with what the cleaner made of it (title, metadata, furniture, body) and
    the rule that decided, then the metadata found. The rules are data, in
    Sources/MarginCore/Reports/ImportRules.swift: labels, furniture words,
    place suffixes and figure classifiers.

    A record's id is the hash of the report as received (NFC, LF line
    ends, surrounding white space trimmed), so the same file imported with
    an older or newer cleaner is one record. A report whose cleaned text is
    the same as another record's (a repost with other furniture) is
    imported as its own record, and the import names the other one; see
    `margin list --duplicates`.
    """
    var raw: Bool
    var quiet: Bool
    var explain: Bool
    var encoding: String?
    var paths: [String]
    init(_ args: inout Arguments) throws {
        raw = args.flag("--raw")
        encoding = try args.option("--encoding")
        if let e = encoding {
            do { try TextEncoding.requireKnown(e) } catch { throw UsageError(MarginError.message(for: error)) }
        }
        quiet = args.flag("--quiet", "-q")
        explain = args.flag("--explain")
        paths = args.remaining()
        if paths.isEmpty { throw UsageError("missing PATH") }
    }

    /// `--explain`: each report file's lines and what became of them; nothing is written.
    func runExplain(_ context: Context) throws -> Int32 {
        var failed = false
        for p in paths {
            let path = context.absolute(p)
            do {
                let size = Importer.fileSize(path)
                var isFolder: ObjCBool = false
                guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else { throw MarginError.notFound("no such file") }
                guard !isFolder.boolValue else { throw MarginError.invalid("a folder: --explain takes report files") }
                guard let data = FileManager.default.contents(atPath: path) else { throw MarginError.invalid("cannot be read") }
                guard size <= ReportFile.maxBytes else { throw ReportFile.tooLarge(size) }
                let r = try ReportFile.parse(data, raw: raw, encoding: encoding)
                var out = "\(p) (\(r.encoding))\n"
                let width = String(r.decisions.last?.line ?? 1).count
                for d in r.decisions {
                    let n = String(d.line)
                    out += String(repeating: " ", count: width - n.count) + n + "  " + d.role.padding(toLength: 9, withPad: " ", startingAt: 0)
                    out += "  " + Format.oneLine(d.text, max: 36) + "  ← " + Format.oneLine(d.why, max: 60) + "\n"
                }
                let draft = r.draft
                var found: [(String, String?)] = draft.fields.map { ($0.field, $0.value) }
                found += draft.meta.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
                out += "metadata:\n"
                for (key, value) in found { if let value { out += "  \(key): \(Format.oneLine(value, max: 70))\n" } }
                out += "record id: \(Format.id(Store.recordID(received: r.draft.received ?? r.draft.body)))\n"
                context.console.out(out)
                for w in r.warnings { context.warn("margin import: \(p): warning: \(w)") }
            } catch {
                failed = true
                context.warn("margin import: \(p): \(MarginError.message(for: error))")
            }
        }
        return failed ? ExitCode.failure : ExitCode.success
    }

    func run(_ context: Context) throws -> Int32 {
        if explain { return try runExplain(context) }
        let store = try context.store()
        try store.requireWritable()
        let list = try Importer.files(paths.map { (context.absolute($0), $0) }, storeDirectory: store.directory) { context.warn($0) }
        var failed = 0, added = 0, present = 0
        let progress = context.console.errIsTerminal && list.count > 1
        func shown(_ path: String) -> String {
            path.hasPrefix(context.workingDirectory + "/") ? String(path.dropFirst(context.workingDirectory.count + 1)) : path
        }
        try Importer(raw: raw, encoding: encoding).run(list, into: store, starting: { n, path in
            if progress { context.console.err("\r\u{1B}[K[\(n + 1)/\(list.count)] \(Format.oneLine(shown(path), max: 50))") }
        }, committed: { outcomes in
            var lines: [String] = [], errors: [String] = []
            for (path, outcome) in outcomes {
                let shown = shown(path)
                switch outcome {
                case .failure(let error):
                    failed += 1
                    errors.append("margin import: \(shown): \(MarginError.message(for: error))")
                case .success(.exchange(let c)):
                    var line = "\(shown): \(c.records) records, \(c.annotations) annotations, \(c.codes) codes imported; \(c.unchanged) already present"
                    if c.newerHere > 0 { line += "; \(c.newerHere) fields kept (newer here)" }
                    if c.deletedHere > 0 { line += "; \(c.deletedHere) left deleted (deleted here since)" }
                    lines.append(line)
                    added += c.records
                case .success(.refi(let r)):
                    lines.append("\(shown): REFI-QDA project: \(r.records) records (\(r.alreadyPresent) already present), \(r.codes) codes, \(r.annotations) annotations imported")
                    added += r.records
                case .success(.w3c(let w)):
                    lines.append("\(shown): W3C annotations: \(w.annotations) imported, \(w.alreadyPresent) already present, \(w.codes) codes added")
                case .success(.bundle(let b)):
                    lines.append("\(shown): bundle of \(b.changes) changes: \(b.applied) new, \(b.outcome.skipped) already held")
                    if let r = b.outcome.recovery { lines.append("    " + r.summary) }
                    for f in b.outcome.forks { lines.append("    the history of node \(f.origin) forks at change \(f.seq); its changes from there are held back") }
                    if !b.outcome.future.isEmpty { lines.append("    \(b.outcome.heldBack) changes stamped more than an hour ahead of this clock held back") }
                case .success(.report(let r)):
                    for w in r.warnings { errors.append("margin import: \(shown): warning: \(w)") }
                    var title = r.title.map { Format.oneLine($0, max: 40) } ?? "(untitled)"
                    if r.encoding != "UTF-8" { title += " [\(r.encoding)]" }
                    if r.alreadyPresent {
                        present += 1
                        var differences: [String] = []
                        if r.otherCleaning {
                            differences.append("its text: the store holds another cleaning of this report (margin reclean \(Format.id(r.id)) cleans it with the rules of now)")
                        }
                        for d in r.differences {
                            differences.append("\(d.field): stored \(d.stored.map { "'\(Format.oneLine($0, max: 30))'" } ?? "none"), this file '\(Format.oneLine(d.given, max: 30))'")
                        }
                        lines.append("\(shown): already present as \(Format.id(r.id)) \(title)"
                                     + (differences.isEmpty ? "" : "; the store keeps its metadata, this file differs in " + differences.joined(separator: "; ")))
                    } else {
                        added += 1
                        lines.append("\(shown): imported \(Format.id(r.id)) \(title)")
                        if !r.sameText.isEmpty {
                            lines.append("    the same text as record \(r.sameText.map(Format.id).joined(separator: ", ")) (a repost?): both are kept; see margin list --duplicates")
                        }
                        if !quiet { for line in r.cleaned { lines.append("    \(Format.oneLine(line, max: 70))") } }
                    }
                }
            }
            if progress { context.console.err("\r\u{1B}[K") }
            if !lines.isEmpty { context.console.out(lines.map { $0 + "\n" }.joined()) }
            for e in errors { context.warn(e) }
        })
        if list.count > 1 {
            context.print("\(added) imported, \(present) already present, \(failed) failed")
        }
        return failed > 0 ? ExitCode.failure : ExitCode.success
    }
}
