import Foundation

/// Delimited text as spreadsheets write it (RFC 4180): fields separated by
/// `separator`, a field in double quotes may hold the separator, line
/// breaks and doubled quotes. Used for codebooks and anything tabular that
/// comes from Excel, R or pandas.
public enum DelimitedText {
    /// Each row with the number of the line it starts on (1-based).
    public static func rows(_ text: String, separator: Character) throws -> [(line: Int, fields: [String])] {
        var rows: [(Int, [String])] = []
        var fields: [String] = [], field = ""
        var quoted = false, wasQuoted = false
        var line = 1, rowStart = 1
        var chars = text.makeIterator()
        var pending: Character? = nil
        func endRow() { fields.append(field); rows.append((rowStart, fields)); fields = []; field = ""; wasQuoted = false }
        while let c = pending ?? chars.next() {
            pending = nil
            if quoted {
                if c == "\"" {
                    if let next = chars.next() {
                        if next == "\"" { field.append("\"") } else { quoted = false; pending = next }
                    } else { quoted = false }
                } else {
                    if c == "\n" || c == "\r\n" { line += 1 }
                    field.append(c)
                }
                continue
            }
            switch c {
            case "\"" where field.isEmpty && !wasQuoted:
                quoted = true; wasQuoted = true
            case separator:
                fields.append(field); field = ""; wasQuoted = false
            case "\n", "\r\n", "\r":
                endRow(); line += 1; rowStart = line
            default:
                field.append(c)
            }
        }
        if quoted { throw MarginError.invalid("line \(rowStart): a quoted field is not closed") }
        if !field.isEmpty || !fields.isEmpty { endRow() }
        return rows
    }
}

extension DelimitedText {
    /// RFC 4180: a field with a comma, quote or line break is quoted.
    /// Looked for by scalar: "\r\n" is one Character, equal to neither
    /// "\r" nor "\n", so a field holding CR LF went out unquoted.
    /// `neutralizingFormulas` (for Excel): a field that a spreadsheet would
    /// take as a formula (starting with `=`, `+`, `-`, `@`, a tab or a CR)
    /// gets a leading `'` and is quoted, as OWASP recommends against CSV
    /// injection.
    /// The quoted form is built only for a field that needs it (most do not).
    public static func csvField(_ s: String, neutralizingFormulas: Bool = false) -> String {
        let formula = neutralizingFormulas && s.unicodeScalars.first.map { ["=", "+", "-", "@", "\t", "\r"].contains($0) } == true
        // Over the contiguous UTF-8 where the string has it (a loop over a
        // buffer, not the view's iterator: every field of an export asks).
        func special(_ b: UInt8) -> Bool { b == 0x2C || b == 0x22 || b == 0x0A || b == 0x0D }
        let needsQuotes = s.utf8.withContiguousStorageIfAvailable { $0.contains(where: special) } ?? s.utf8.contains(where: special)
        guard formula || needsQuotes else { return s }
        var quoted = String.UnicodeScalarView()
        quoted.append(contentsOf: (formula ? "\"'" : "\"").unicodeScalars)
        for u in s.unicodeScalars {
            if u == "\"" { quoted.append(u) }
            quoted.append(u)
        }
        quoted.append("\"")
        return String(quoted)
    }

    /// A header row and rows as CSV, lines ended by CR LF (RFC 4180).
    public static func csv(headers: [String], rows: [[String]], neutralizingFormulas: Bool = false) -> String {
        ([headers] + rows).map { row in
            row.map { csvField($0, neutralizingFormulas: neutralizingFormulas) }.joined(separator: ",") + "\r\n"
        }.joined()
    }
}

/// The CSV export: one row per annotation.
extension ExportSet {

    public static let csvHeaders = ["record", "title", "place", "published", "code", "start", "end", "quote", "value", "note",
                             "status", "author", "reviewer"]

    /// One row per annotation; UTF-8, with a byte-order mark when `excel`
    /// (Excel reads UTF-8 without one as a legacy code page).
    public func csv(excel: Bool) -> String {
        let byID = Dictionary(uniqueKeysWithValues: records.map { ($0.id, $0) })
        var out = (excel ? "\u{FEFF}" : "") + ExportSet.csvLine(ExportSet.csvHeaders, excel: excel)
        for a in annotations {
            let r = byID[a.record]
            out += ExportSet.csvLine(ExportSet.csvRow(a, title: r?.title, place: r?.place, published: r?.published, path: path(a)), excel: excel)
        }
        return out
    }

    static func csvRow(_ a: Annotation, title: String?, place: String?, published: String?, path: String?) -> [String] {
        [a.record, title ?? "", place ?? "", published ?? "", path ?? "",
         a.span.map { String($0.start) } ?? "", a.span.map { String($0.end) } ?? "", a.span?.quote ?? "",
         a.value ?? "", a.note ?? "", a.status.rawValue, a.author ?? "", a.reviewer ?? ""]
    }

    static func csvLine(_ fields: [String], excel: Bool) -> String {
        // One string, its room taken once, the fields appended in place.
        var line = ""
        line.reserveCapacity(fields.reduce(2) { $0 + $1.utf8.count + 1 })
        for (i, field) in fields.enumerated() {
            if i > 0 { line += "," }
            line += DelimitedText.csvField(field, neutralizingFormulas: excel)
        }
        line += "\r\n"
        return line
    }

    /// The CSV `csv(excel:)` writes, streamed (`forEachExported`): each
    /// line handed to `write`. Memory is one record, not the store.
    /// Returns the rows written and the annotations left out as unanchored.
    @discardableResult
    public static func streamCSV(_ store: Store, excel: Bool, _ write: (String) throws -> Void) throws -> (rows: Int, unanchored: Int) {
        try write((excel ? "\u{FEFF}" : "") + csvLine(csvHeaders, excel: excel))
        let counts = try forEachExported(store) { a, r, path in
            try write(csvLine(csvRow(a, title: r?.title, place: r?.place, published: r?.published, path: path), excel: excel))
        }
        return (counts.items, counts.unanchored)
    }

    /// What every export holds, one annotation at a time: read in export
    /// order, blind coding respected, each record's text and fields read
    /// once as its annotations come, unanchored spans left out (and
    /// counted). `body` gets the annotation, its record and its code's path
    /// (a merged code named as the code it stands for). Returns the
    /// annotations handed on and those left out as unanchored. With
    /// `wholeRecords` false the record handed on holds its id and body
    /// alone (no fields, no metadata read): for exports that write no more.
    /// With `locatedOnly` each annotation holds only what locates it
    /// (`Store.forEachAnnotation(locatedOnly:)`).
    static func forEachExported(_ store: Store, wholeRecords: Bool = true, locatedOnly: Bool = false,
                                _ body: (Annotation, Record?, String?) throws -> Void) throws -> (items: Int, unanchored: Int) {
        let blind = try store.isBlind
        let paths = try store.codePaths()
        let merges = try store.codeLinks("merged_into").links
        func path(_ code: String?) -> String? { code.flatMap { paths[Store.followMerges($0, merges)] } }
        var record: (id: String, text: ScalarText?, fields: Record?)?
        var items = 0, unanchored = 0
        try store.forEachAnnotation(exportOrder: true, locatedOnly: locatedOnly) { a in
            guard store.isVisible(a, blind: blind) else { return true }
            if record?.id != a.record {
                // The record's row holds the winning body (what spans are
                // anchored in); checking a span compares scalars, so no
                // character boundaries are worked out.
                let fields = wholeRecords ? try store.record(a.record)
                    : try store.recordBody(a.record).map { Record(id: a.record, body: $0) }
                record = (a.record, fields.map { ScalarText($0.body, boundaries: false) }, fields)
            }
            if let span = a.span, let text = record?.text, !Store.isAnchored(span, in: text) {
                unanchored += 1
                return true
            }
            try body(a, record?.fields, path(a.code))
            items += 1
            return true
        }
        return (items, unanchored)
    }
}
