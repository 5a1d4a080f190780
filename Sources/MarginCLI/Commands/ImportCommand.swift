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
    first: a record's id is the hash of its text). A bundle (`margin export --log`) is taken as
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
    Sources/MarginCore/ImportRules.swift: labels, furniture words, place
    suffixes and figure classifiers.

    A record's id is the hash of the report as received (NFC, LF line
    ends, surrounding white space trimmed), so the same file imported with
    an older or newer cleaner is one record. A report whose cleaned text is
    the same as another record's (a repost with other furniture) is
    imported as its own record, and the import names the other one; see
    `margin list --duplicates`.
    """
    static let reportExtensions: Set<String> = ["txt", "text"]
    static let exchangeExtensions: Set<String> = ["jsonl", "ndjson"]
    static let bundleExtensions: Set<String> = ["bundle"]
    static let refiExtensions: Set<String> = ["qdpx"]
    static let w3cExtensions: Set<String> = ["jsonld"]
    static let maxExchangeBytes = 1 << 30

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

    /// The path with every link resolved, or nil when it cannot be.
    static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    static func isInside(_ path: String, _ folder: String) -> Bool {
        path == folder || path.hasPrefix(folder.hasSuffix("/") ? folder : folder + "/")
    }

    /// The files to import. A folder's files are those whose real path is
    /// inside the folder (a link out of it, say `appendix.txt →
    /// ~/.ssh/id_ed25519`, is skipped with a warning), and no file of the
    /// store itself is ever read, whether named or linked.
    func files(_ context: Context, storeDirectory: String) throws -> [String] {
        var out: [String] = []
        let fm = FileManager.default
        let store = ImportCommand.realPath(storeDirectory) ?? storeDirectory
        for p in paths {
            let path = context.absolute(p)
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: path, isDirectory: &isDir) else { throw MarginError.notFound("\(p): no such file or folder") }
            if !isDir.boolValue {
                if let real = ImportCommand.realPath(path), ImportCommand.isInside(real, store) {
                    throw MarginError.invalid("\(p) is a file of the store itself; it is never imported")
                }
                out.append(path)
                continue
            }
            guard let folder = ImportCommand.realPath(path) else { throw MarginError.notFound("\(p): cannot be read") }
            var found: [String] = []
            if let e = fm.enumerator(atPath: path) {
                while let rel = e.nextObject() as? String {
                    let name = (rel as NSString).lastPathComponent
                    if name.hasPrefix(".") { if (e.fileAttributes?[.type] as? FileAttributeType) == .typeDirectory { e.skipDescendants() }; continue }
                    let ext = (name as NSString).pathExtension.lowercased()
                    if ImportCommand.reportExtensions.contains(ext) || ImportCommand.exchangeExtensions.contains(ext)
                        || ImportCommand.bundleExtensions.contains(ext) || ImportCommand.refiExtensions.contains(ext)
                        || ImportCommand.w3cExtensions.contains(ext) {
                        let file = (path as NSString).appendingPathComponent(rel)
                        guard let real = ImportCommand.realPath(file), ImportCommand.isInside(real, folder), !ImportCommand.isInside(real, store) else {
                            context.warn("skipped \(Printable.line(rel, max: nil)): a link to a file outside \(Printable.line(p, max: nil))")
                            continue
                        }
                        found.append(file)
                    }
                }
            }
            guard !found.isEmpty else { throw MarginError.notFound("\(p): no importable files (.txt, .text, .jsonl, .ndjson, .bundle, .qdpx, .jsonld) in this folder") }
            out += found.sorted()
        }
        return out
    }

    /// Files share a transaction in chunks (one sync to disk per chunk, not
    /// per file); each file is a savepoint inside it, so a bad file rolls
    /// back alone. Lines are printed once their chunk has committed.
    static let filesPerTransaction = 256

    /// `--explain`: each report file's lines and what became of them; nothing is written.
    func runExplain(_ context: Context) throws -> Int32 {
        var failed = false
        for p in paths {
            let path = context.absolute(p)
            do {
                let size = ImportCommand.fileSize(path)
                guard FileManager.default.fileExists(atPath: path) else { throw MarginError.notFound("no such file") }
                guard size <= ReportFile.maxBytes else { throw ReportFile.tooLarge(size) }
                let data = try Data(contentsOf: URL(fileURLWithPath: path))
                let r = try ReportFile.parse(data, raw: raw, encoding: encoding)
                var out = "\(p) (\(r.encoding))\n"
                let width = String(r.decisions.last?.line ?? 1).count
                for d in r.decisions {
                    let n = String(d.line)
                    out += String(repeating: " ", count: width - n.count) + n + "  " + d.role.padding(toLength: 9, withPad: " ", startingAt: 0)
                    out += "  " + Format.oneLine(d.text, max: 36) + "  ← " + Format.oneLine(d.why, max: 60) + "\n"
                }
                let draft = r.draft
                var found: [(String, String?)] = [("title", draft.title), ("published", draft.published), ("source", draft.source),
                                                  ("place", draft.place), ("author", draft.author), ("editor", draft.editor), ("url", draft.url)]
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
        let list = try files(context, storeDirectory: store.directory)
        var failed = 0, added = 0, present = 0
        let progress = context.console.errIsTerminal && list.count > 1
        let size = ImportCommand.filesPerTransaction
        func slice(at start: Int) -> ArraySlice<String> { list[start..<min(list.count, start + size)] }
        var next: CleanedChunk? = list.isEmpty ? nil : CleanedChunk(Array(slice(at: 0)), raw: raw, encoding: encoding)
        for chunkStart in stride(from: 0, to: list.count, by: size) {
            let chunk = slice(at: chunkStart)
            let cleaned = next?.wait() ?? [:]
            // The next chunk is cleaned while this one is written.
            next = chunkStart + size < list.count ? CleanedChunk(Array(slice(at: chunkStart + size)), raw: raw, encoding: encoding) : nil
            var lines: [String] = [], errors: [String] = []
            var chunkAdded = 0, chunkPresent = 0, chunkFailed = 0
            do {
                // A file that fails is rolled back alone; the chunk goes on.
                try store.write(isolatingNestedWrites: true) {
                    for (n, path) in chunk.enumerated() {
                        let shown = path.hasPrefix(context.workingDirectory + "/") ? String(path.dropFirst(context.workingDirectory.count + 1)) : path
                        if progress { context.console.err("\r\u{1B}[K[\(chunkStart + n + 1)/\(list.count)] \(Format.oneLine(shown, max: 50))") }
                        do {
                            switch try importFile(path, into: store, cleaned: cleaned[path]) {
                            case .exchange(let c):
                                var line = "\(shown): \(c.records) records, \(c.annotations) annotations, \(c.codes) codes imported; \(c.unchanged) already present"
                                if c.newerHere > 0 { line += "; \(c.newerHere) fields kept (newer here)" }
                                if c.deletedHere > 0 { line += "; \(c.deletedHere) left deleted (deleted here since)" }
                                lines.append(line)
                                chunkAdded += c.records
                            case .refi(let r):
                                lines.append("\(shown): REFI-QDA project: \(r.records) records (\(r.alreadyPresent) already present), \(r.codes) codes, \(r.annotations) annotations imported")
                                chunkAdded += r.records
                            case .w3c(let w):
                                lines.append("\(shown): W3C annotations: \(w.annotations) imported, \(w.alreadyPresent) already present, \(w.codes) codes added")
                            case .bundle(let b):
                                lines.append("\(shown): bundle of \(b.changes) changes: \(b.applied) new, \(b.outcome.skipped) already held")
                                if let r = b.outcome.recovery { lines.append("    " + r.summary) }
                                for f in b.outcome.forks { lines.append("    the history of node \(f.origin) forks at change \(f.seq); its changes from there are held back") }
                                if !b.outcome.future.isEmpty { lines.append("    \(b.outcome.heldBack) changes stamped more than an hour ahead of this clock held back") }
                            case .report(let id, let title, let cleaned, let warnings, let alreadyPresent, let differences):
                                for w in warnings { errors.append("margin import: \(shown): warning: \(w)") }
                                if alreadyPresent {
                                    chunkPresent += 1
                                    lines.append("\(shown): already present as \(Format.id(id)) \(title)"
                                                 + (differences.isEmpty ? "" : "; the store keeps its metadata, this file differs in " + differences.joined(separator: "; ")))
                                } else {
                                    chunkAdded += 1
                                    lines.append("\(shown): imported \(Format.id(id)) \(title)")
                                    let same = try store.recordsWithSameBody(as: id)
                                    if !same.isEmpty {
                                        lines.append("    the same text as record \(same.map(Format.id).joined(separator: ", ")) (a repost?): both are kept; see margin list --duplicates")
                                    }
                                    if !quiet { for line in cleaned { lines.append("    \(Format.oneLine(line, max: 70))") } }
                                }
                            }
                        } catch {
                            chunkFailed += 1
                            errors.append("margin import: \(shown): \(MarginError.message(for: error))")
                        }
                    }
                }
            } catch {
                // The chunk did not commit: none of its files went in.
                lines = []
                errors = chunk.map { "margin import: \($0): \(MarginError.message(for: error))" }
                chunkAdded = 0; chunkPresent = 0; chunkFailed = chunk.count
            }
            if progress { context.console.err("\r\u{1B}[K") }
            if !lines.isEmpty { context.console.out(lines.map { $0 + "\n" }.joined()) }
            for e in errors { context.warn(e) }
            added += chunkAdded; present += chunkPresent; failed += chunkFailed
        }
        if list.count > 1 {
            context.print("\(added) imported, \(present) already present, \(failed) failed")
        }
        return failed > 0 ? ExitCode.failure : ExitCode.success
    }

    /// A file's size in bytes (0 when it cannot be read): one stat(2),
    /// without Foundation's dictionary of every attribute.
    static func fileSize(_ path: String) -> Int {
        var info = stat()
        return stat(path, &info) == 0 ? Int(info.st_size) : 0
    }

    enum Imported {
        /// `differences`: for a report already present, the metadata this
        /// file gives otherwise than the stored record (the store keeps its own).
        case report(id: String, title: String, cleaned: [String], warnings: [String], alreadyPresent: Bool, differences: [String])
        case exchange(Store.ExchangeCounts)
        case refi(Store.REFIImport)
        case w3c(Store.W3CImport)
        case bundle(Store.BundleOutcome)
    }

    /// One file, whole or not at all (a savepoint when inside a chunk).
    /// `cleaned`: the file already read and cleaned (by `CleanedChunk`).
    func importFile(_ path: String, into store: Store, cleaned prepared: Result<ReportCleaner.Result, any Error>? = nil) throws -> Imported {
        if let prepared {
            let cleaned = try prepared.get()
            let result = try store.importReport(cleaned.draft, index: cleaned.index)
            var title = cleaned.draft.title.map { Format.oneLine($0, max: 40) } ?? "(untitled)"
            var differences: [String] = []
            if result.alreadyPresent, let stored = try store.record(result.id) {
                // The stored record's title, not this file's.
                title = stored.title.map { Format.oneLine($0, max: 40) } ?? "(untitled)"
                let d = cleaned.draft
                let given: [(String, String?)] = [("title", d.title), ("source", d.source), ("published", d.published), ("place", d.place),
                                                  ("url", d.url), ("author", d.author), ("editor", d.editor)] + d.meta.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
                if !TextNormalization.nfc(cleaned.draft.body).unicodeScalars.elementsEqual(stored.body.unicodeScalars) {
                    differences.append("its text: the store holds another cleaning of this report (margin reclean \(Format.id(result.id)) cleans it with the rules of now)")
                }
                for (field, value) in given {
                    guard let value, value != stored.metadata(field) else { continue }
                    differences.append("\(field): stored \(stored.metadata(field).map { "'\(Format.oneLine($0, max: 30))'" } ?? "none"), this file '\(Format.oneLine(value, max: 30))'")
                }
            }
            if cleaned.encoding != "UTF-8" { title += " [\(cleaned.encoding)]" }
            return .report(id: result.id, title: title, cleaned: cleaned.cleaned, warnings: cleaned.warnings, alreadyPresent: result.alreadyPresent,
                           differences: differences)
        }
        let ext = (path as NSString).pathExtension.lowercased()
        if ImportCommand.w3cExtensions.contains(ext) {
            let size = ImportCommand.fileSize(path)
            guard size <= ImportCommand.maxExchangeBytes else { throw ReportFile.tooLarge(size, limit: ImportCommand.maxExchangeBytes) }
            return .w3c(try store.importW3C(try Data(contentsOf: URL(fileURLWithPath: path))))
        }
        if ImportCommand.refiExtensions.contains(ext) {
            let size = ImportCommand.fileSize(path)
            guard size <= ImportCommand.maxExchangeBytes else { throw ReportFile.tooLarge(size, limit: ImportCommand.maxExchangeBytes) }
            return .refi(try store.importREFIProject(Array(try Data(contentsOf: URL(fileURLWithPath: path)))))
        }
        let isExchange = ImportCommand.exchangeExtensions.contains(ext) || ImportCommand.bundleExtensions.contains(ext)
        let limit = isExchange ? ImportCommand.maxExchangeBytes : ReportFile.maxBytes
        // Refuse an oversized file before reading it into memory.
        let size = ImportCommand.fileSize(path)
        guard size <= limit else { throw ReportFile.tooLarge(size, limit: limit) }
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        if Bundle.looksLikeBundle(data) { return .bundle(try store.importBundle(Array(data))) }
        if ImportCommand.bundleExtensions.contains(ext) { throw MarginError.invalid("not a Margin bundle") }
        if isExchange { return .exchange(try store.importJSONLines(try ReportFile.decodeText(data, limit: limit))) }
        return try importFile(path, into: store, cleaned: .success(ReportFile.parse(data, raw: raw, encoding: encoding)))
    }
}

/// The report files of one chunk, read and cleaned on another core while
/// the chunk before is written: cleaning is most of an import's work that
/// is not the store's. A file that is not a plain-text report (an export,
/// a bundle, even one named .txt) gets no entry and is read as it is
/// imported.
final class CleanedChunk: @unchecked Sendable {
    private let done = DispatchGroup()
    /// Written once, on the worker, before `done` is left; read only after
    /// `wait` has returned.
    private var results: [String: Result<ReportCleaner.Result, any Error>] = [:]

    init(_ paths: [String], raw: Bool, encoding: String?) {
        done.enter()
        DispatchQueue.global().async { [self] in
            var out: [String: Result<ReportCleaner.Result, any Error>] = [:]
            for path in paths where ImportCommand.reportExtensions.contains((path as NSString).pathExtension.lowercased()) {
                let size = ImportCommand.fileSize(path)
                guard size <= ReportFile.maxBytes, let data = FileManager.default.contents(atPath: path), !Bundle.looksLikeBundle(data) else {
                    continue
                }
                out[path] = Result {
                    var cleaned = try ReportFile.parse(data, raw: raw, encoding: encoding)
                    // The index entry as the store will make it, from the
                    // title and body it will store.
                    let title = cleaned.draft.title.map(TextNormalization.nfc)
                    cleaned.index = Store.IndexEntry(title: title?.isEmpty == false ? title : nil, body: TextNormalization.nfc(cleaned.draft.body),
                                                     received: cleaned.draft.received, withRecordID: true)
                    return cleaned
                }
            }
            results = out
            done.leave()
        }
    }

    func wait() -> [String: Result<ReportCleaner.Result, any Error>] {
        done.wait()
        return results
    }
}
