import Foundation
import MarginCLI
import MarginCore
import MarginSQLite
import MarginSync

/// `--growth [--quick] [--json]`: a store built the way a team builds one,
/// at three sizes, and the everyday commands run on each: the time of each
/// at each size, the exponent of its growth (the slope of log time over log
/// changes, first size to last; 1 is linear) and its ratio to the nearest
/// plain SQLite query on the same file, with the targets of issue 28 each
/// misses. The team: two coders import the same reports, `suggest` on part
/// of them, sync (as a bundle each way), decide the same suggestions
/// differently (conflicts), accept some of their own and review half of
/// that, settle a fifth of the conflicts, and sync again.
enum Growth {
    struct Sample {
        var changes: Double
        var seconds: [String: Double] = [:]
        var sqlite: [String: Double] = [:]
        /// The same two as processes: `margin` (this program as margin)
        /// and the sqlite3 shell printing the query's rows, as issue 28
        /// measured them; empty without a sqlite3 shell.
        var process: [String: Double] = [:]
        var shell: [String: Double] = [:]
        /// The margin process's peak resident memory, in MB (the most of
        /// its timed runs).
        var peakMB: [String: Double] = [:]
        /// Open conflicts on the store the sync ran on.
        var openConflicts = 0
        /// The shell running the query that gives `search`'s result (the
        /// phrase counted in every report that holds it, ranked by BM25),
        /// reported beside the judged one, FTS5's rank, which reads no report.
        var countingSearchShell: Double?
    }

    /// `search 党员 -n 20` as one SQL query: the candidates' folded texts,
    /// the phrase counted in each, BM25 over the counts and the lengths.
    static let countingSearchSQL = """
        SELECT r.id, r.title, substr(r.body, 1, 200) FROM (
            SELECT rid, n, len, avg(len) OVER () AS average FROM (
                SELECT f.rowid AS rid, (length(f.folded) - length(replace(f.folded, '党员', ''))) / 2 AS n, length(f.folded) AS len
                FROM record_grams JOIN record_folded f ON f.rowid = record_grams.rowid WHERE record_grams MATCH '"党员"')
            WHERE n > 0) h
        JOIN records r ON r.rowid = h.rid WHERE r.deleted = 0
        ORDER BY h.n * 2.2 / (h.n + 1.2 * (0.25 + 0.75 * h.len / h.average)) DESC, r.published DESC LIMIT 20
        """

    /// `sizes`: reports at each size (`--sizes A,B,C`), else by `quick`.
    /// `keep`: a folder to build the stores in and leave them (`--keep DIR`,
    /// for profiling one command on a team's store); else a temporary one.
    static func run(quick: Bool, json: Bool, sizes given: [Int]? = nil, keep: String? = nil) throws -> String {
        // About 214 changes a report: the full sizes make about 100,000,
        // 300,000 and 1,000,000 changes, as issue 28 names them.
        let sizes = given ?? (quick ? [150, 450, 1500] : [470, 1400, 4700])
        guard sizes.count >= 2, sizes.allSatisfy({ $0 > 0 }) else { throw MarginError.invalid("--sizes takes two or more report counts") }
        let base = keep.map { URL(fileURLWithPath: $0) } ?? FileManager.default.temporaryDirectory.appendingPathComponent("margin-growth-\(UUID().uuidString)")
        defer { if keep == nil { try? FileManager.default.removeItem(at: base) } }
        let loadBefore = loadAverage()
        var samples: [Sample] = []
        // How many times each command is timed in this process, chosen at
        // the smallest size and kept at every size (see `measure`).
        var runCounts: [String: Int] = [:]
        for reports in sizes {
            let dir = base.appendingPathComponent("\(reports)")
            // The team's stores are closed before anything is timed: the
            // commands run on a store at rest, as a user's are.
            let (changes, record) = try {
                let store = try team(at: dir.path, reports: reports)
                return (try store.status().changes, try store.records(Store.RecordFilter(limit: 1)).first?.id ?? "")
            }()
            // And written out: the kernel's write-back of the stores just
            // built ran beside the first commands timed (`export` took 2.7 s
            // in this process at a million changes, 1.9 s as a process
            // timed later, and its exponent read 1.16).
            Glibc.sync()
            var sample = try measure(changes: changes, record: record, at: dir.appendingPathComponent("alice").path, runCounts: &runCounts)
            (sample.seconds[Growth.sync], sample.openConflicts) = try syncTen(from: dir.appendingPathComponent("alice").path,
                                                                             into: dir.appendingPathComponent("bob").path)
            samples.append(sample)
        }
        var out: [String: Any] = [:]
        var lines: [String] = []
        for command in samples[0].seconds.keys.sorted() {
            let first = samples[0], last = samples[samples.count - 1]
            let exponent = log(max(last.seconds[command] ?? 0, 1e-6) / max(first.seconds[command] ?? 0, 1e-6)) / log(last.changes / first.changes)
            // A sync has no sqlite3 equivalent: it is judged by its time alone.
            // The ratio judged is the issue's own: the margin process against
            // the sqlite3 shell printing the same rows. Without a shell, the
            // in-process floor below is judged instead.
            let floorRatio = last.sqlite[command].map { (last.seconds[command] ?? 0) / max($0, 1e-6) }
            let shellRatio = last.shell[command].map { (last.process[command] ?? 0) / max($0, 1e-6) }
            let ratio = shellRatio ?? floorRatio
            // The sqlite3 side's own growth: where both grow faster than
            // the store, the cost is SQLite's on a larger file, not Margin's.
            let sqliteExponent = floorRatio == nil ? nil : log(max(last.sqlite[command] ?? 0, 1e-6) / max(first.sqlite[command] ?? 0, 1e-6)) / log(last.changes / first.changes)
            var seconds: [String: Double] = [:], sqliteSeconds: [String: Double] = [:]
            for s in samples { seconds[String(Int(s.changes))] = s.seconds[command] ?? 0; sqliteSeconds[String(Int(s.changes))] = s.sqlite[command] }
            // Issue 28's targets, judged: growth, the ratio, and the
            // interactive commands' time at the largest size.
            var missed: [String] = []
            if exponent > 1.1 { missed.append("exponent above 1.1") }
            if let ratio, ratio > 3 { missed.append("more than 3x sqlite3") }
            if Growth.interactive.contains(command), (last.seconds[command] ?? 0) > 0.1 { missed.append("over 100 ms") }
            if command == Growth.sync, samples.contains(where: { ($0.seconds[command] ?? 0) > 0.05 }) { missed.append("over 50 ms") }
            // Flat memory: at ten times the changes, at most half as much
            // again (the process's own start and SQLite's caches are the
            // same at every size; what grows with the store is held).
            let peaks = samples.compactMap { s in s.peakMB[command].map { (String(Int(s.changes)), $0) } }
            if Growth.flatMemory.contains(command), let low = first.peakMB[command], let high = last.peakMB[command], high > 1.5 * low {
                missed.append("memory not flat")
            }
            var entry: [String: Any] = ["exponent": exponent, "seconds": seconds, "missed": missed]
            if !peaks.isEmpty { entry["peak_mb"] = Dictionary(peaks, uniquingKeysWith: max) }
            if let ratio, let floorRatio, let sqliteExponent {
                entry["sqlite_ratio"] = ratio; entry["sqlite_exponent"] = sqliteExponent; entry["sqlite_seconds"] = sqliteSeconds
                entry["in_process_ratio"] = floorRatio
                if let shellRatio {
                    entry["shell_ratio"] = shellRatio
                    entry["process_seconds"] = last.process[command]; entry["shell_seconds"] = last.shell[command]
                }
                // Reported, not judged: the issue's baseline stays FTS5's rank.
                if command == "search", let counting = last.countingSearchShell, let process = last.process[command] {
                    entry["counting_shell_seconds"] = counting
                    entry["counting_shell_ratio"] = process / max(counting, 1e-6)
                }
            } else {
                var conflicts: [String: Int] = [:]
                for s in samples { conflicts[String(Int(s.changes))] = s.openConflicts }
                entry["open_conflicts"] = conflicts
            }
            out[command] = entry
            let versus = ratio.map { String(format: "(sqlite3 %.2f)  sqlite ratio %.1f (in process %.1f)  ", sqliteExponent ?? 0, $0, floorRatio ?? 0) }
                ?? "(open conflicts " + samples.map { String($0.openConflicts) }.joined(separator: ", ") + ")  "
            lines.append(command.padding(toLength: 26, withPad: " ", startingAt: 0)
                         + String(format: "exponent %.2f ", exponent) + versus
                         + samples.map { String(format: "%.0f changes %.3f s", $0.changes, $0.seconds[command] ?? 0) }.joined(separator: ", ")
                         + (missed.isEmpty ? "  targets met" : "  missed: " + missed.joined(separator: ", "))
                         + ((entry["counting_shell_ratio"] as? Double).map { String(format: "  (against the counting query: %.1f)", $0) } ?? ""))
        }
        // The machine's load before and after, beside the figures (a shared
        // machine's neighbours move them).
        let load = "load average \(loadBefore) before, \(Growth.loadAverage()) after"
        out["_load"] = load
        lines.append(load)
        return json ? try JSONText.encode(out) : lines.joined(separator: "\n")
    }

    /// The sync of issue 28: 10 new changes, under 50 ms whatever the
    /// number of open conflicts.
    static let sync = "sync of 10 changes"

    /// The median time of bob's `margin sync` with alice's server (over
    /// TCP on 127.0.0.1, through the real session) when alice has made 10
    /// new changes, on the team's stores with their open conflicts; and
    /// how many conflicts bob holds open. The first session, which only
    /// introduces the two nodes (they met by bundles), is not counted.
    static func syncTen(from serverDirectory: String, into clientDirectory: String) throws -> (Double, Int) {
        let writer = try Store(directory: serverDirectory)
        let client = try Store(directory: clientDirectory)
        let record = try writer.records(Store.RecordFilter(limit: 1)).first?.id ?? ""
        let times = try timeSyncsOfTenChanges(writer: writer, client: client, record: record, rounds: 8)
        return (median(times), try client.status().openConflicts)
    }

    /// The commands issue 28 wants in flat memory: the whole-store outputs
    /// and `check`.
    static let flatMemory: Set<String> = ["export", "list --annotations --json", "check"]

    /// The commands issue 28 wants under 100 ms at a million changes.
    /// (`conflicts` by its first page, as the issue names it.)
    static let interactive: Set<String> = ["log -n 20", "show", "status", "conflicts -n 20", "search"]

    /// The 1-, 5- and 15-minute load averages, as /proc/loadavg gives them.
    static func loadAverage() -> String {
        guard let text = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8) else { return "unknown" }
        return text.split(separator: " ").prefix(3).joined(separator: " ")
    }

    /// Two coders' stores after a team's work on `reports` reports; alice's is returned.
    static func team(at dir: String, reports n: Int) throws -> Store {
        let alice = try Store.create(directory: dir + "/alice", name: "alice")
        let bob = try Store.create(directory: dir + "/bob", name: "bob")
        for (name, triggers) in [("party-members", "党员, 黨員"), ("cadres", "干部, 幹部"), ("volunteers", "志愿者, 志願者")] {
            _ = try alice.addCode(name: name, description: nil, colour: nil, parent: nil, triggers: triggers)
        }
        var maker = ReportMaker()
        var ids: [String] = []
        try alice.write {
            for i in 0..<n {
                let r = maker.body(i, paragraphs: 6)
                let cleaned = ReportCleaner.clean(ReportMaker.page(r))
                var draft = cleaned.draft
                draft.received = Store.received(ReportMaker.page(r))
                ids.append(try alice.importReport(draft).id)
            }
        }
        _ = try bob.importBundle(try alice.bundle())
        // Each suggests on its own quarter of the reports.
        let quarter = max(1, n / 4)
        let aliceTriggers = try alice.suggestionTriggers(), bobTriggers = try bob.suggestionTriggers()
        try alice.write { for id in ids.prefix(quarter) { try alice.storeSuggestions(try alice.suggestions(record: id, triggers: aliceTriggers)) } }
        try bob.write { for id in ids.dropFirst(quarter).prefix(quarter) { try bob.storeSuggestions(try bob.suggestions(record: id, triggers: bobTriggers)) } }
        _ = try bob.importBundle(try alice.bundle())
        _ = try alice.importBundle(try bob.bundle())
        // The same suggestions taken by one and dropped by the other: conflicts.
        let shared = try alice.annotations(status: .suggested).filter { $0.code != nil }.prefix(n)
        try alice.write { for a in shared { try alice.review(annotation: a.id, status: .accepted, comment: nil) } }
        try bob.write { for a in shared { try bob.review(annotation: a.id, status: .rejected, comment: "not a count") } }
        // Both mark the reports they coded done, so `agree` has units.
        for s in [alice, bob] { try s.write { for id in ids.prefix(2 * quarter) { try s.markDone(record: id, true) } } }
        _ = try bob.importBundle(try alice.bundle())
        _ = try alice.importBundle(try bob.bundle())
        // Coding and its review: each coder accepts some of their own
        // suggestions that no one else decided (their coding now), then
        // reviews half of it, accepting or rejecting; both sync. Reviewed
        // annotations are what `status`, `review` and the tables test for
        // stale reviews.
        for s in [alice, bob] {
            let mine = try s.annotations(status: .suggested).filter { $0.author == s.node.name && $0.code != nil }.prefix(n)
            try s.write { for a in mine { try s.review(annotation: a.id, status: .accepted, comment: nil) } }
            let coded = try s.annotations(status: .open).filter { $0.author == s.node.name }
            try s.write {
                for (i, a) in coded.enumerated() where i % 2 == 0 {
                    try s.review(annotation: a.id, status: i % 4 == 0 ? .accepted : .rejected, comment: i % 8 == 0 ? "checked against the source" : nil)
                }
            }
        }
        // Settling some: alice resolves a fifth of the open conflicts
        // (keeping what every node shows), as a team works through them;
        // the rest stay open. Whether each conflict is open is then a
        // question with two answers, which `conflicts`, `status` and a
        // sync's count of new conflicts all ask.
        for id in try alice.openConflictIDs().enumerated().filter({ $0.offset % 5 == 0 }).map(\.element) {
            try alice.resolve(conflict: id, .keepWinner, comment: nil)
        }
        _ = try bob.importBundle(try alice.bundle())
        _ = try alice.importBundle(try bob.bundle())
        return alice
    }

    /// Each command on the store (in process, output discarded), and its
    /// nearest plain SQLite query on the same file.
    /// `runCounts`: how many times each command and each query has been
    /// timed in this process at the sizes before; the first size sets it.
    /// The best of ten at a small size against the best of three at a
    /// large one would make the small one look faster than it is, and the
    /// exponent steeper (`review`, 0.013 s at 100,000 changes and 0.2 s at
    /// a million, read 1.19 that way in run TT).
    static func measure(changes: Int, record: String, at directory: String, runCounts: inout [String: Int]) throws -> Sample {
        var sample = Sample(changes: Double(changes))
        // No input: `review` shows its first item and stops, as it does
        // when a user's input ends.
        let silent = Console(out: { _ in }, err: { _ in }, input: { nil })
        // The sqlite3 side reads what the command shows, as a plain query:
        // the same rows, counts or ranking, with nothing Margin adds (stale
        // reviews, merged codes, formatting).
        let conflictSides = """
            SELECT c.*, w.value, l.value FROM conflicts c
            JOIN nodes wo ON wo.id = c.winner_origin JOIN log w ON w.origin = wo.key AND w.seq = c.winner_seq
            JOIN nodes lo ON lo.id = c.loser_origin JOIN log l ON l.origin = lo.key AND l.seq = c.loser_seq
            """
        let commands: [(String, [String], String)] = [
            ("list --annotations --json", ["list", "--annotations", "--json"],
             "SELECT a.*, c.name FROM annotations a LEFT JOIN codes c ON c.id = a.code WHERE a.deleted = 0 ORDER BY a.record, a.span_start"),
            ("list -a -n 20", ["list", "--annotations", "-n", "20"],
             "SELECT a.*, c.name FROM annotations a LEFT JOIN codes c ON c.id = a.code WHERE a.deleted = 0 ORDER BY a.record, a.span_start LIMIT 20"),
            ("export", ["export"], "SELECT * FROM changes WHERE current = 1 ORDER BY kind, entity"),
            ("export --format csv", ["export", "--format", "csv"],
             "SELECT a.*, r.title, r.place, r.published FROM annotations a JOIN records r ON r.id = a.record WHERE a.deleted = 0 ORDER BY a.record, a.span_start"),
            // The formats other tools read that go to standard output: each
            // annotation of each record, as the CSV's query reads them.
            ("export --format w3c", ["export", "--format", "w3c"],
             "SELECT a.*, r.title FROM annotations a JOIN records r ON r.id = a.record WHERE a.deleted = 0 ORDER BY a.record, a.span_start"),
            ("export --format doccano", ["export", "--format", "doccano"],
             "SELECT r.id, r.body, a.span_start, a.span_end, a.code FROM records r LEFT JOIN annotations a ON a.record = r.id AND a.deleted = 0 WHERE r.deleted = 0 ORDER BY r.id, a.span_start"),
            ("check", ["check"], "PRAGMA integrity_check"),
            ("agree", ["agree", "--coders", "alice,bob"], "SELECT author, code, record, span_start, span_end, value FROM annotations WHERE deleted = 0"),
            ("table codes --by place", ["table", "codes", "--by", "place"],
             "SELECT r.place, a.code, count(*) FROM annotations a JOIN records r ON r.id = a.record WHERE a.deleted = 0 GROUP BY 1, 2"),
            ("log -n 20", ["log", "-n", "20"], "SELECT * FROM changes ORDER BY ms DESC, ctr DESC LIMIT 20"),
            ("status", ["status"], """
                SELECT (SELECT count(*) FROM records WHERE deleted = 0), (SELECT count(*) FROM codes WHERE deleted = 0),
                    (SELECT sum(seq) FROM heads), (SELECT count(*) FROM conflicts),
                    (SELECT group_concat(n) FROM (SELECT status, count(*) AS n FROM annotations WHERE deleted = 0 GROUP BY status))
                """),
            ("conflicts", ["conflicts"], conflictSides + " ORDER BY c.ms DESC"),
            ("conflicts -n 20", ["conflicts", "-n", "20"], conflictSides + " ORDER BY c.ms DESC LIMIT 20"),
            ("search", ["search", "党员", "-n", "20"],
             "SELECT r.id, r.title, substr(r.body, 1, 200) FROM record_grams g JOIN records r ON r.rowid = g.rowid WHERE record_grams MATCH '\"党员\"' ORDER BY rank LIMIT 20"),
            // To its first item (issue 28: 3.6 s and 224 MB, every
            // annotation read whole to list the ids it walks), beside the
            // ids of what it walks, in its order.
            ("review", ["review"], """
                SELECT a.id, a.author, a.record FROM annotations a WHERE a.deleted = 0 AND a.status IN ('suggested', 'open')
                ORDER BY a.record, a.span_start IS NULL, a.span_start, a.span_end, a.created_ms, a.id
                """),
            ("show", ["show", record],
             "SELECT r.*, a.*, c.name FROM records r LEFT JOIN annotations a ON a.record = r.id LEFT JOIN codes c ON c.id = a.code WHERE r.id = '\(record)'"),
        ]
        let path = (directory as NSString).appendingPathComponent(Store.fileName)
        // Each side timed once, twice more when under fifteen seconds, and
        // nine more when under a tenth of a second: the best of three or of
        // ten, as the machine's noise is larger than a short command (at
        // half a second, one run of `list --annotations --json` at a
        // million changes, 0.61 s against 0.34 s as a process, made its
        // exponent 1.22; with three, a 5 ms `show` was once timed at 8.7
        // ms). Up to fifteen seconds, not two: a command that crossed two
        // seconds at the largest size (`check`, `export`) was timed once
        // there and the best of three below, which pushed its exponent up.
        func runs(after first: Double) -> Int { first < 0.1 ? 10 : first < 15 ? 3 : 1 }
        func best(_ key: String, _ run: () throws -> Void) rethrows -> Double {
            var times: [Double] = []
            repeat {
                let start = Date()
                try run()
                times.append(Date().timeIntervalSince(start))
            } while times.count < runCounts[key] ?? runs(after: times[0])
            runCounts[key] = times.count
            return times.min() ?? 0
        }
        // The margin process and the shell timed in turn, each as many
        // times as `best` would: the machine's speed drifts over a run (the
        // shell's `conflicts -n 20` took 1.9 ms in one full run and 2.9 in
        // another), and ten of one side then ten of the other put the
        // drift into their ratio.
        func bestInTurn(_ a: () throws -> Double, _ b: () throws -> Double) rethrows -> (Double, Double) {
            var ta = [try a()], tb = [try b()]
            while ta.count < runs(after: ta[0]) || tb.count < runs(after: tb[0]) {
                if ta.count < runs(after: ta[0]) { ta.append(try a()) }
                if tb.count < runs(after: tb[0]) { tb.append(try b()) }
            }
            return (ta.min() ?? 0, tb.min() ?? 0)
        }
        for (name, arguments, sql) in commands {
            sample.seconds[name] = try best(name) {
                let status = MarginCLI.run(arguments: ["--store", directory, "--no-pager"] + arguments, environment: [:],
                                           workingDirectory: directory, console: silent)
                // `check` exits 1 on what it finds; any other command must succeed, or its time means nothing.
                guard status == 0 || name == "check" else { throw MarginError.invalid("margin \(arguments.joined(separator: " ")) exited \(status)") }
            }
            // The file opened for each run, as each margin command opens
            // its store (and as the sqlite3 shell would).
            sample.sqlite[name] = try best("sqlite " + name) {
                let db = try Database(path: path)
                defer { db.close() }
                try db.statement(sql).forEach { _ in true }
            }
            // As issue 28 measured: the margin process, and the sqlite3
            // shell printing the rows (to /dev/null, as margin's output).
            if let shell = Growth.sqliteShell {
                let margin = ["--as-margin", "--store", directory, "--no-pager"] + arguments
                let (process, shellSeconds) = try bestInTurn({ try Growth.runQuietly(Growth.marginExecutable, margin, mayFail: name == "check") },
                                                              { try Growth.runQuietly(shell, ["-batch", "-readonly", path, sql], mayFail: false) })
                sample.process[name] = process
                sample.shell[name] = shellSeconds
                // The peak memory in a run of its own, untimed: reading and
                // writing it costs a 4 ms command a tenth of its time.
                sample.peakMB[name] = try Growth.peakMegabytes(Growth.marginExecutable, margin, mayFail: name == "check")
            }
        }
        if let shell = Growth.sqliteShell {
            sample.countingSearchShell = try best("counting search shell") { try Growth.runQuietly(shell, ["-batch", "-readonly", path, Growth.countingSearchSQL], mayFail: false) }
        }
        return sample
    }

    /// The sqlite3 shell, when the machine has one.
    static let sqliteShell = ["/usr/bin/sqlite3", "/usr/local/bin/sqlite3"].first { FileManager.default.isExecutableFile(atPath: $0) }
    /// This program, which runs as `margin` when its first argument is `--as-margin`.
    static let marginExecutable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path

    /// Runs `exe` with its output thrown away, and gives its seconds; fails
    /// when it fails (unless `mayFail`).
    @discardableResult
    static func runQuietly(_ exe: String, _ arguments: [String], mayFail: Bool) throws -> Double {
        let (seconds, status) = try spawnQuietly(exe, arguments)
        guard status == 0 || mayFail else { throw MarginError.invalid("\(exe) \(arguments.joined(separator: " ")) exited \(status)") }
        return seconds
    }

    /// Runs a `--as-margin` child as `runQuietly` does, for its peak
    /// resident memory in MB: the child writes its own (`VmHWM`) to the
    /// file named by `peakFileVariable` as it exits. Not the parent's
    /// `wait4`: Linux keeps a process's peak across `exec`, so a child
    /// spawned from this large bench would report the bench's own memory.
    static func peakMegabytes(_ exe: String, _ arguments: [String], mayFail: Bool) throws -> Double {
        let file = NSTemporaryDirectory() + "margin-bench-peak-\(getpid())"
        unlink(file)
        setenv(peakFileVariable, file, 1)
        defer { unsetenv(peakFileVariable); unlink(file) }
        try runQuietly(exe, arguments, mayFail: mayFail)
        let kilobytes = (try? String(contentsOfFile: file, encoding: .utf8)).flatMap { Double($0.trimmingCharacters(in: .whitespacesAndNewlines)) } ?? 0
        return kilobytes / 1024
    }

    /// The variable naming the file a `--as-margin` child writes its peak
    /// memory to.
    static let peakFileVariable = "MARGIN_BENCH_PEAK_FILE"

    /// This process's peak resident memory in kB, from `/proc/self/status`.
    static func ownPeakKilobytes() -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }) else { return nil }
        return Int(line.split(separator: " ").dropFirst().first ?? "")
    }
}

/// The seconds of `rounds - 1` sessions in which `client` receives 10 new
/// changes `writer` has just made (to `record`'s fields), over TCP on
/// 127.0.0.1 from a server on the writer's store (`incremental_sync` and
/// the growth bench's sync). The first session, which may introduce the
/// two nodes or carry older changes, is not counted.
func timeSyncsOfTenChanges(writer: Store, client: Store, record: String, rounds: Int) throws -> [Double] {
    let server = try SyncServer(directory: writer.directory, endpoint: Endpoint(host: "127.0.0.1", port: 0), options: SyncServer.Options()) { _ in }
    let finished = DispatchSemaphore(value: 0)
    Thread.detachNewThread { server.serve(); finished.signal() }
    defer { server.stop(); finished.wait() }
    var times: [Double] = []
    for round in 0..<rounds {
        try writer.write {
            for i in 0..<10 { try writer.setRecordField(record, field: "note\(i)", value: "round \(round)") }
        }
        let start = Date()
        let report = try SyncSession.sync(store: client, with: server.endpoint, options: SyncOptions())
        let seconds = Date().timeIntervalSince(start)
        guard report.received == 10 || round == 0 else { throw MarginError.invalid("a sync of 10 new changes moved \(report.received)") }
        if round > 0 { times.append(seconds) }
    }
    return times
}

/// Runs `exe` with its output and errors to /dev/null and waits for it:
/// its seconds (spawn to exit, by the monotonic clock) and exit status.
/// Not Foundation's `Process`, whose `waitUntilExit` on Linux notices an
/// exit only on a 50 ms tick: every short command took 0.05 or 0.10 s.
func spawnQuietly(_ exe: String, _ arguments: [String]) throws -> (seconds: Double, status: Int32) {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
    var cargs: [UnsafeMutablePointer<CChar>?] = ([exe] + arguments).map { strdup($0) } + [nil]
    defer { cargs.forEach { free($0) } }
    var start = timespec(), end = timespec()
    clock_gettime(CLOCK_MONOTONIC, &start)
    var child: pid_t = 0
    let rc = posix_spawn(&child, exe, &actions, nil, &cargs, environ)
    guard rc == 0 else { throw MarginError.invalid("cannot run \(exe): \(String(cString: strerror(rc)))") }
    var status: Int32 = 0
    while waitpid(child, &status, 0) == -1 && errno == EINTR {}
    clock_gettime(CLOCK_MONOTONIC, &end)
    let seconds = Double(end.tv_sec - start.tv_sec) + Double(end.tv_nsec - start.tv_nsec) / 1e9
    // WIFEXITED / WEXITSTATUS, spelled out (Glibc's macros do not import).
    let exited = status & 0x7f == 0
    return (seconds, exited ? (status >> 8) & 0xff : 128 + (status & 0x7f))
}
