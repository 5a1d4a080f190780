import Foundation

/// The bytes of one plain-text report file turned into a draft, or refused
/// with the reason. Kept apart from the store so that it can be fuzzed and
/// so that every refusal happens before anything is written.
public enum ReportFile {
    /// Reports are articles; anything larger is a mistake (a log, a dump).
    public static let maxBytes = 10 << 20

    /// `encoding`: an iconv encoding name that overrides the guess.
    public static func parse(_ data: Data, raw: Bool = false, encoding: String? = nil) throws -> ReportCleaner.Result {
        let decoded = try decode(data, encoding: encoding)
        let text = decoded.text
        guard TextNormalization.hasText(text) else { throw MarginError.invalid("file holds only white space") }
        var cleaned = ReportCleaner.clean(text, raw: raw)
        guard TextNormalization.hasText(cleaned.draft.body) else {
            throw MarginError.invalid("no report text left after removing page furniture (try --raw)")
        }
        cleaned.encoding = decoded.encoding
        cleaned.draft.received = Store.received(text)
        cleaned.warnings = garbledLines(text)
        return cleaned
    }

    /// The file's text, refused when it is too large, empty, binary or not UTF-8.
    public static func decodeText(_ data: Data, limit: Int = maxBytes) throws -> String {
        guard data.count <= limit else { throw tooLarge(data.count, limit: limit) }
        guard !data.isEmpty else { throw MarginError.invalid("file is empty") }
        guard !TextNormalization.looksBinary(data) else { throw MarginError.invalid("file looks binary, not text") }
        guard let text = TextNormalization.decodeUTF8(data) else { throw MarginError.invalid("file is not valid UTF-8 text") }
        return text
    }

    /// A report file's text in whichever encoding it came (`TextEncoding`),
    /// refused when it is too large, empty, binary or in none of them.
    public static func decode(_ data: Data, limit: Int = maxBytes, encoding: String? = nil) throws -> TextEncoding.Decoded {
        guard data.count <= limit else { throw tooLarge(data.count, limit: limit) }
        guard !data.isEmpty else { throw MarginError.invalid("file is empty") }
        let bytes = data.prefix(2)
        let utf16 = bytes.elementsEqual([0xFF, 0xFE]) || bytes.elementsEqual([0xFE, 0xFF])
        // UTF-16 is full of zero bytes: it is text only with its BOM or when named.
        if encoding == nil && !utf16 {
            guard !TextNormalization.looksBinary(data) else { throw MarginError.invalid("file looks binary, not text") }
        }
        guard let decoded = try TextEncoding.decode(data, forced: encoding) else {
            if let encoding { throw MarginError.invalid("file is not valid \(Printable.line(encoding)) text") }
            throw MarginError.invalid("file is not valid UTF-8, GB18030 or Big5 text (name its encoding with --encoding)")
        }
        // U+0000 is the byte 0 in UTF-8, and nowhere else.
        guard !decoded.text.utf8.contains(0) else { throw MarginError.invalid("file looks binary, not text") }
        return decoded
    }

    /// Lines that look damaged by an encoding conversion: private-use
    /// characters, the replacement character, `?` between two Chinese
    /// characters (what a converter writes for a character it lacks), or
    /// `?` between a character and pinyin (a glossed character lost).
    public static func garbledLines(_ text: String) -> [String] {
        var out: [String] = []
        let lines = TextNormalization.lines(TextNormalization.unixNewlines(text))
        func cjk(_ u: Unicode.Scalar?) -> Bool { u.map { (0x3400...0x9FFF).contains($0.value) } ?? false }
        for (n, line) in lines.enumerated() {
            // One pass, the scalar before and after at hand: most lines are
            // clean, and this runs over every imported report.
            var why: String?
            var before: Unicode.Scalar?, current: Unicode.Scalar?
            for u in line.unicodeScalars {
                if let c = current, c == "?" || c == "？", cjk(before), cjk(u) { why = "'?' inside a word"; break }
                // 勇?lián)?dāng: a character lost, its pinyin gloss left behind.
                if let c = current, c == "?" || c == "？", cjk(before), PinyinGlosses.isPinyinLetter(u) { why = "'?' before pinyin"; break }
                if (0xE000...0xF8FF).contains(u.value) { why = "a private-use character U+\(String(u.value, radix: 16, uppercase: true))"; break }
                if u.value == 0xFFFD { why = "the replacement character U+FFFD"; break }
                before = current
                current = u
            }
            if let why { out.append("line \(n + 1) looks garbled by a conversion (\(why)): \(Printable.line(String(line), max: 40))") }
        }
        return out
    }

    public static func tooLarge(_ bytes: Int, limit: Int = maxBytes) -> MarginError {
        .invalid("file is too large (\(bytes >> 20) MB; the limit is \(limit >> 20) MB)")
    }
}
