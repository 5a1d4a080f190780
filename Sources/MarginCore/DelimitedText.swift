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
