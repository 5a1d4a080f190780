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
    public static func csvField(_ s: String, neutralizingFormulas: Bool = false) -> String {
        let quoted = "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        if neutralizingFormulas, let first = s.unicodeScalars.first, ["=", "+", "-", "@", "\t", "\r"].contains(first) {
            return "\"'" + quoted.dropFirst()
        }
        return s.unicodeScalars.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) ? quoted : s
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
        var rows: [[String]] = []
        for a in annotations {
            let r = byID[a.record]
            rows.append([a.record, r?.title ?? "", r?.place ?? "", r?.published ?? "", path(a) ?? "",
                         a.span.map { String($0.start) } ?? "", a.span.map { String($0.end) } ?? "", a.span?.quote ?? "",
                         a.value ?? "", a.note ?? "", a.status.rawValue, a.author ?? "", a.reviewer ?? ""])
        }
        return (excel ? "\u{FEFF}" : "") + DelimitedText.csv(headers: ExportSet.csvHeaders, rows: rows, neutralizingFormulas: excel)
    }
}
