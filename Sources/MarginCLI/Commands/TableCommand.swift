import Foundation
import MarginCore

/// A table of text cells, written for a terminal (aligned, CJK-aware),
/// as CSV (RFC 4180) or as JSON (one object per row, numbers as numbers).
struct TextTable {
    var headers: [String]
    var rows: [[String]]
    /// Columns whose cells are numbers (right-aligned, unquoted in JSON).
    var numeric: Set<Int> = []

    func aligned() -> String {
        let widths = headers.indices.map { i in max(Format.displayWidth(headers[i]), rows.map { Format.displayWidth($0[i]) }.max() ?? 0) }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { i, c in
                let pad = String(repeating: " ", count: max(0, widths[i] - Format.displayWidth(c)))
                return numeric.contains(i) ? pad + c : c + pad
            }.joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }
        return ([line(headers)] + rows.map { line($0.map(Format.safe)) }).joined(separator: "\n")
    }

    func csv(neutralizingFormulas: Bool = false) -> String {
        DelimitedText.csv(headers: headers, rows: rows, neutralizingFormulas: neutralizingFormulas)
    }

    func jsonRows() -> [[String: Any]] {
        rows.map { row in
            var o: [String: Any] = [:]
            for (i, h) in headers.enumerated() {
                if numeric.contains(i), let d = Double(row[i]) { o[h] = d } else { o[h] = row[i] }
            }
            return o
        }
    }

    func print(_ context: Context, csv: Bool, json: Bool) throws {
        if csv { context.console.out(self.csv()) } else if json { try context.printJSON(jsonRows()) } else { context.print(aligned()) }
    }
}

struct TableCommand: Command {
    static let name = "table"
    static let summary = "Analysis tables: code frequencies, co-occurrence, extracted figures"
    static let usage = "margin table codes|cooccur|values [--code CODE] [--by record|place|source|month] [--coder NAME] [--csv|--json]"
    static let details = """
    margin table codes [--by record|place|source|month]
        Annotations and records per code, overall or per group.
    margin table cooccur
        For each pair of codes, the records that hold both.
    margin table values --code CODE [--by place|month|source|record]
        The figures extracted with CODE (and its children): per group their
        sum, the number of annotations, and the records they come from.
        A value counts when it starts with a number (38, 1.2, 1,500; a
        following 萬/万 multiplies by 10,000, 億/亿 by 100,000,000);
        others are counted as not numeric.

    Months are the first seven characters (YYYY-MM) of the record's published
    date. Codes are given by their full path (parent/child). Spans, tags and
    coded notes all count; deleted records and annotations do not.

    Each table reads one layer at a time, named in its first column,
    `layer`: never the sum of several coders' copies of the same figure.
    With --coder, that coder's layer (`gold`: the adjudicated layer).
    Without it, the gold layer if it holds annotations of the codes
    counted, else each coder's layer in its own rows. Suggestions not yet accepted are no one's coding
    and never count.
    """
    enum Kind: String { case codes, cooccur, values }
    enum Group: String { case record, place, source, month }
    var kind: Kind, by: Group?, code: String?, coder: String?, csv: Bool, json: Bool

    init(_ args: inout Arguments) throws {
        csv = args.flag("--csv")
        json = args.flag("--json")
        if csv && json { throw UsageError("choose one of --csv and --json") }
        code = try args.option("--code")
        coder = try args.option("--coder")
        if let b = try args.option("--by") {
            guard let g = Group(rawValue: b) else { throw UsageError("--by must be record, place, source or month, not '\(b)'") }
            by = g
        }
        let k = try args.required("codes, cooccur or values")
        guard let kind = Kind(rawValue: k) else { throw UsageError("unknown table '\(k)' (codes, cooccur or values)") }
        self.kind = kind
        if kind == .values && code == nil { throw UsageError("table values needs --code CODE") }
        if kind == .cooccur && by != nil { throw UsageError("table cooccur takes no --by") }
        try args.finish()
    }

    /// A value's number: leading digits (with , grouping and a decimal
    /// point), times a following 萬/万 or 億/亿. Nil when it does not start
    /// with a digit. Decimal, not binary: 1.1萬 is 11000 exactly, and sums
    /// print as written (never 11000.300000000001).
    static func number(_ value: String) -> Decimal? {
        var digits = "", rest = Substring(value.trimmingCharacters(in: .whitespaces))
        while let c = rest.first, c.isASCII, c.isNumber || c == "." || (c == "," && !digits.isEmpty) {
            if c != "," { digits.append(c) }
            rest = rest.dropFirst()
        }
        guard !digits.isEmpty, digits.filter({ $0 == "." }).count <= 1, var n = Decimal(string: digits, locale: Locale(identifier: "en_US_POSIX")) else { return nil }
        switch rest.first {
        case "萬", "万": n *= 10_000
        case "億", "亿": n *= 100_000_000
        default: break
        }
        return n
    }

    func run(_ context: Context) throws -> Int32 {
        let store = try context.store()
        let codeID = try code.map { try store.resolveCode($0) }
        let grouped = by.flatMap { Store.TableGroup(rawValue: $0.rawValue) }
        var grouping = try Store.TableGrouping(store, by: grouped)
        let annotations = kind == .codes ? [] : try store.tableAnnotations(code: codeID, coder: coder)
        // Every row is of one layer: the key of each group starts with it.
        func layer(_ a: Annotation) -> String { a.layer ?? "" }
        func shownGroup(_ g: String) -> String { by == .record ? Format.id(g) : g }
        func group(_ a: Annotation) -> String { layer(a) + "\u{0}" + shownGroup(grouping.group(a)) }
        func cells(_ key: String) -> [String] {
            let parts = key.split(separator: "\u{0}", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            return [parts[0]] + (by == nil ? [] : [parts.count > 1 ? parts[1] : ""])
        }
        var table: TextTable
        switch kind {
        case .codes:
            let headers = ["layer"] + (by.map { [$0.rawValue] } ?? []) + ["code", "annotations", "records"]
            let rows = try store.codeCounts(code: codeID, by: grouped, coder: coder).map { c in
                [c.layer] + (c.group.map { [shownGroup($0)] } ?? []) + [c.code, String(c.annotations), String(c.records)]
            }
            table = TextTable(headers: headers, rows: rows, numeric: [headers.count - 2, headers.count - 1])
        case .cooccur:
            var perRecord: [String: [String: Set<String>]] = [:]
            for a in annotations { perRecord[layer(a), default: [:]][a.record, default: []].insert(grouping.code(a)) }
            var rows: [[String]] = []
            for l in perRecord.keys.sorted() {
                var pairs: [String: [String: Int]] = [:]
                for set in (perRecord[l] ?? [:]).values {
                    let sorted = set.sorted()
                    for (i, x) in sorted.enumerated() { for y in sorted[(i + 1)...] { pairs[x, default: [:]][y, default: 0] += 1 } }
                }
                for x in pairs.keys.sorted() { for (y, n) in (pairs[x] ?? [:]).sorted(by: { $0.key < $1.key }) { rows.append([l, x, y, String(n)]) } }
            }
            table = TextTable(headers: ["layer", "code", "with", "records"], rows: rows, numeric: [3])
        case .values:
            var sums: [String: (sum: Decimal, n: Int, other: Int, records: Set<String>)] = [:]
            for a in annotations {
                guard let v = a.value, !v.isEmpty else { continue }
                let g = group(a)
                var cell = sums[g] ?? (0, 0, 0, [])
                if let n = TableCommand.number(v) { cell.sum += n; cell.n += 1; cell.records.insert(a.record) } else { cell.other += 1 }
                sums[g] = cell
            }
            let headers = ["layer"] + (by.map { [$0.rawValue] } ?? []) + ["sum", "values", "not_numeric", "records"]
            let rows = sums.keys.sorted().map { g -> [String] in
                let c = sums[g] ?? (0, 0, 0, [])
                let sum = NSDecimalNumber(decimal: c.sum).stringValue
                return cells(g) + [sum, String(c.n), String(c.other), c.records.sorted().map(Format.id).joined(separator: " ")]
            }
            let first = by == nil ? 1 : 2
            table = TextTable(headers: headers, rows: rows, numeric: [first, first + 1, first + 2])
        }
        if table.rows.isEmpty && !csv && !json { context.print("nothing to count"); return ExitCode.success }
        try table.print(context, csv: csv, json: json)
        return ExitCode.success
    }
}
