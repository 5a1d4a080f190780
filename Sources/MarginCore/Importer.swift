import Foundation
import Synchronization

/// Importing files into a store, whatever they hold: plain-text reports
/// (cleaned in parts on every core, two chunks ahead of the one written), JSON Lines
/// exports, bundles, REFI-QDA projects and W3C annotations. What both
/// `margin import` and `margin-bench` run; the CLI only words the outcome.
public struct Importer: Sendable {
    public static let reportExtensions: Set<String> = ["txt", "text"]
    public static let exchangeExtensions: Set<String> = ["jsonl", "ndjson"]
    public static let bundleExtensions: Set<String> = ["bundle"]
    public static let refiExtensions: Set<String> = ["qdpx"]
    public static let w3cExtensions: Set<String> = ["jsonld"]
    public static let maxExchangeBytes = 1 << 30
    /// Files share a transaction in chunks (one sync to disk per chunk, not
    /// per file); each file is a savepoint inside it, so a bad file rolls
    /// back alone.
    public static let filesPerTransaction = 256

    /// `raw`: store reports as received, uncleaned. `encoding`: an iconv
    /// name that overrides the guess for report files.
    public var raw: Bool
    public var encoding: String?

    public init(raw: Bool = false, encoding: String? = nil) {
        self.raw = raw
        self.encoding = encoding
    }

    /// A report's import, as the CLI reports it.
    public struct ReportImport: Sendable {
        public var id: String
        /// The stored record's title when it was present already, else this file's.
        public var title: String?
        public var cleaned: [String]
        public var warnings: [String]
        public var encoding: String
        public var alreadyPresent: Bool
        /// For a report already present: the metadata this file gives
        /// otherwise than the stored record (which keeps its own), as
        /// (field, stored, this file's).
        public var differences: [(field: String, stored: String?, given: String)]
        /// Already present, but the store holds another cleaning of it.
        public var otherCleaning: Bool
        /// Records whose cleaned text is the same (a repost), when new.
        public var sameText: [String]
    }

    public enum Imported: Sendable {
        case report(ReportImport)
        case exchange(Store.ExchangeCounts)
        case refi(Store.REFIImport)
        case w3c(Store.W3CImport)
        case bundle(Store.BundleOutcome)
    }

    /// The path with every link resolved, or nil when it cannot be.
    public static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    static func isInside(_ path: String, _ folder: String) -> Bool {
        path == folder || path.hasPrefix(folder.hasSuffix("/") ? folder : folder + "/")
    }

    static func importable(_ name: String) -> Bool {
        let ext = (name as NSString).pathExtension.lowercased()
        return reportExtensions.contains(ext) || exchangeExtensions.contains(ext) || bundleExtensions.contains(ext)
            || refiExtensions.contains(ext) || w3cExtensions.contains(ext)
    }

    /// The files to import from `paths` (absolute; `shown` gives each as the
    /// user wrote it). A folder's files are those whose real path is inside
    /// the folder (a link out of it, say `appendix.txt → ~/.ssh/id_ed25519`,
    /// is skipped with a warning), and no file of the store itself is ever
    /// read, whether named or linked.
    public static func files(_ paths: [(absolute: String, shown: String)], storeDirectory: String,
                             warn: (String) -> Void) throws -> [String] {
        var out: [String] = []
        let fm = FileManager.default
        let store = realPath(storeDirectory) ?? storeDirectory
        for (path, p) in paths {
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: path, isDirectory: &isDir) else { throw MarginError.notFound("\(p): no such file or folder") }
            if !isDir.boolValue {
                if let real = realPath(path), isInside(real, store) {
                    throw MarginError.invalid("\(p) is a file of the store itself; it is never imported")
                }
                out.append(path)
                continue
            }
            guard let folder = realPath(path) else { throw MarginError.notFound("\(p): cannot be read") }
            var found: [String] = []
            if let e = fm.enumerator(atPath: path) {
                while let rel = e.nextObject() as? String {
                    let name = (rel as NSString).lastPathComponent
                    if name.hasPrefix(".") { if (e.fileAttributes?[.type] as? FileAttributeType) == .typeDirectory { e.skipDescendants() }; continue }
                    guard importable(name) else { continue }
                    let file = (path as NSString).appendingPathComponent(rel)
                    guard let real = realPath(file), isInside(real, folder), !isInside(real, store) else {
                        warn("skipped \(Printable.line(rel, max: nil)): a link to a file outside \(Printable.line(p, max: nil))")
                        continue
                    }
                    found.append(file)
                }
            }
            guard !found.isEmpty else { throw MarginError.notFound("\(p): no importable files (.txt, .text, .jsonl, .ndjson, .bundle, .qdpx, .jsonld) in this folder") }
            out += found.sorted()
        }
        return out
    }

    /// Imports `files` in chunks of `filesPerTransaction`: each chunk one
    /// transaction, each file a savepoint in it (a bad file rolls back
    /// alone), a bundle a transaction of its own, the next two chunks'
    /// reports cleaned meanwhile, in parts on every core.
    /// `starting` is told of each file before it is imported; `committed`
    /// gets each chunk's outcomes once it has committed (all of them
    /// failures, with the reason, when the chunk could not commit).
    public func run(_ files: [String], into store: Store, starting: (Int, String) -> Void = { _, _ in },
                    committed: ([(path: String, outcome: Result<Imported, any Error>)]) -> Void) throws {
        let size = Importer.filesPerTransaction
        func slice(at start: Int) -> [String] { Array(files[start..<min(files.count, start + size)]) }
        // Two chunks are cleaned ahead of the one being written: the
        // cleaning threads run on through the writer's chunk instead of
        // waiting for it to end. The first is cleaned alone, so that the
        // writer starts as soon as it can.
        var ahead: [CleanedChunk] = files.isEmpty ? [] : [CleanedChunk(slice(at: 0), raw: raw, encoding: encoding)]
        var nextToClean = min(size, files.count)
        for chunkStart in stride(from: 0, to: files.count, by: size) {
            let chunk = slice(at: chunkStart)
            let cleaned = ahead.isEmpty ? [:] : ahead.removeFirst().wait()
            while ahead.count < 2, nextToClean < files.count {
                ahead.append(CleanedChunk(slice(at: nextToClean), raw: raw, encoding: encoding))
                nextToClean += size
            }
            var outcomes: [(path: String, outcome: Result<Imported, any Error>)] = []
            // A bundle goes in on its own, as its own transaction, between
            // the files before it and those after: inside the chunk's, it
            // was a savepoint, whose journal SQLite keeps in memory for the
            // whole bundle (`import` of a team's bundle of a million changes
            // peaked at 188 MB, against 77 MB for `init --from` the same
            // file). Only files the cleaning did not take as reports are
            // looked at.
            func isBundle(_ path: String) -> Bool { cleaned[path] == nil && ChangeBundle.fileLooksLikeBundle(atPath: path) }
            var next = 0
            while next < chunk.count {
                if isBundle(chunk[next]) {
                    starting(chunkStart + next, chunk[next])
                    outcomes.append((chunk[next], Result { try importFile(chunk[next], into: store) }))
                    next += 1
                    continue
                }
                let run = next..<(chunk[next...].firstIndex(where: isBundle) ?? chunk.count)
                var done: [(path: String, outcome: Result<Imported, any Error>)] = []
                do {
                    try store.write(isolatingNestedWrites: true) {
                        for n in run {
                            starting(chunkStart + n, chunk[n])
                            done.append((chunk[n], Result { try importFile(chunk[n], into: store, cleaned: cleaned[chunk[n]]) }))
                        }
                    }
                } catch {
                    // The run did not commit: none of its files went in.
                    done = run.map { (chunk[$0], .failure(error)) }
                }
                outcomes += done
                next = run.upperBound
            }
            committed(outcomes)
        }
    }

    /// A file's size in bytes (0 when it cannot be read): one stat(2),
    /// without Foundation's dictionary of every attribute.
    public static func fileSize(_ path: String) -> Int {
        var info = stat()
        return stat(path, &info) == 0 ? Int(info.st_size) : 0
    }

    /// One file, whole or not at all (a savepoint when inside a chunk).
    /// `prepared`: the file already read and cleaned (by `CleanedChunk`).
    public func importFile(_ path: String, into store: Store, cleaned prepared: Result<ReportCleaner.Result, any Error>? = nil) throws -> Imported {
        if let prepared {
            let cleaned = try prepared.get()
            let result = try store.importReport(cleaned.draft, index: cleaned.index)
            var report = ReportImport(id: result.id, title: cleaned.draft.title, cleaned: cleaned.cleaned, warnings: cleaned.warnings,
                                      encoding: cleaned.encoding, alreadyPresent: result.alreadyPresent, differences: [],
                                      otherCleaning: false, sameText: [])
            if result.alreadyPresent, let stored = try store.record(result.id) {
                report.title = stored.title
                let d = cleaned.draft
                report.otherCleaning = !TextNormalization.nfc(d.body).unicodeScalars.elementsEqual(stored.body.unicodeScalars)
                let given: [(String, String?)] = d.fields.map { ($0.field, $0.value) } + d.meta.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
                for (field, value) in given {
                    guard let value, value != stored.metadata(field) else { continue }
                    report.differences.append((field, stored.metadata(field), value))
                }
            } else if !result.alreadyPresent {
                report.sameText = try store.recordsWithSameBody(as: result.id)
            }
            return .report(report)
        }
        let ext = (path as NSString).pathExtension.lowercased()
        if Importer.w3cExtensions.contains(ext) {
            let size = Importer.fileSize(path)
            guard size <= Importer.maxExchangeBytes else { throw ReportFile.tooLarge(size, limit: Importer.maxExchangeBytes) }
            return .w3c(try store.importW3C(try Data(contentsOf: URL(fileURLWithPath: path))))
        }
        if Importer.refiExtensions.contains(ext) {
            let size = Importer.fileSize(path)
            guard size <= Importer.maxExchangeBytes else { throw ReportFile.tooLarge(size, limit: Importer.maxExchangeBytes) }
            return .refi(try store.importREFIProject(Array(try Data(contentsOf: URL(fileURLWithPath: path)))))
        }
        let isExchange = Importer.exchangeExtensions.contains(ext) || Importer.bundleExtensions.contains(ext)
        let limit = isExchange ? Importer.maxExchangeBytes : ReportFile.maxBytes
        // Refuse an oversized file before reading it into memory.
        let size = Importer.fileSize(path)
        guard size <= limit else { throw ReportFile.tooLarge(size, limit: limit) }
        // A bundle is read from the file a piece at a time; anything else whole.
        if ChangeBundle.fileLooksLikeBundle(atPath: path) { return .bundle(try store.importBundle(atPath: path)) }
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        if Importer.bundleExtensions.contains(ext) { throw MarginError.invalid("not a Margin bundle") }
        if isExchange { return .exchange(try store.importJSONLines(try ReportFile.decodeText(data, limit: limit))) }
        return try importFile(path, into: store, cleaned: .success(ReportFile.parse(data, raw: raw, encoding: encoding)))
    }
}

/// The report files of one chunk, read and cleaned in parts on every core while
/// the chunks before it are written: cleaning is most of an import's work that
/// is not the store's. A file that is not a plain-text report (an export,
/// a bundle, even one named .txt) gets no entry and is read as it is
/// imported.
final class CleanedChunk: Sendable {
    private let done = DispatchGroup()
    private let cleaned = Mutex<[String: Result<ReportCleaner.Result, any Error>]>([:])

    init(_ paths: [String], raw: Bool, encoding: String?) {
        // On every core, a part of the chunk each: the cleaning was the
        // longer of an import's two sides (5,000 reports: 3.7 s of CPU
        // against the writes' 2.2 s), so on one core it set the pace while
        // the writing core waited; in parts, the cores share both.
        //
        // On threads of their own, at a lower priority (nice 10) than the
        // writing thread: a cleaning thread then takes what the writer
        // leaves of the cores instead of a third of its core while three
        // threads shared two (the writer sets the pace now), and runs on
        // into the next chunk while the writer works alone.
        let parts = min(ProcessInfo.processInfo.activeProcessorCount, max(1, paths.count / 8))
        for part in 0..<parts {
            done.enter()
            let mine = Array(paths[(paths.count * part / parts)..<(paths.count * (part + 1) / parts)])
            let thread = Thread { [self] in
                _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, CleanedChunk.niceness)
                let results = CleanedChunk.clean(mine[...], raw: raw, encoding: encoding)
                cleaned.withLock { $0.merge(results) { first, _ in first } }
                done.leave()
            }
            thread.start()
        }
    }

    /// The cleaning threads' nice value (Linux keeps one per thread; 0,
    /// the calling thread, is the thread itself).
    static let niceness: Int32 = 10

    /// Each report file of `paths` read and cleaned, with the index entry
    /// the store will make from the title and body it will store.
    private static func clean(_ paths: ArraySlice<String>, raw: Bool, encoding: String?) -> [String: Result<ReportCleaner.Result, any Error>] {
        var out: [String: Result<ReportCleaner.Result, any Error>] = [:]
        for path in paths where Importer.reportExtensions.contains((path as NSString).pathExtension.lowercased()) {
            let size = Importer.fileSize(path)
            guard size <= ReportFile.maxBytes, let data = FileManager.default.contents(atPath: path), !ChangeBundle.looksLikeBundle(data) else {
                continue
            }
            out[path] = Result {
                var cleaned = try ReportFile.parse(data, raw: raw, encoding: encoding)
                let title = cleaned.draft.title.map(TextNormalization.nfc)
                cleaned.index = Store.IndexEntry(title: title?.isEmpty == false ? title : nil, body: TextNormalization.nfc(cleaned.draft.body),
                                                 received: cleaned.draft.received, withRecordID: true)
                return cleaned
            }
        }
        return out
    }

    func wait() -> [String: Result<ReportCleaner.Result, any Error>] {
        done.wait()
        return cleaned.withLock { $0 }
    }
}
