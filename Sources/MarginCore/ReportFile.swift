import Foundation

/// The bytes of one plain-text report file turned into a draft, or refused
/// with the reason. Kept apart from the store so that it can be fuzzed and
/// so that every refusal happens before anything is written.
public enum ReportFile {
    /// Reports are articles; anything larger is a mistake (a log, a dump).
    public static let maxBytes = 10 << 20

    public static func parse(_ data: Data, raw: Bool = false) throws -> ReportCleaner.Result {
        let text = try decodeText(data)
        guard TextNormalization.hasText(text) else { throw MarginError.invalid("file holds only white space") }
        let cleaned = ReportCleaner.clean(text, raw: raw)
        guard TextNormalization.hasText(cleaned.draft.body) else {
            throw MarginError.invalid("no report text left after removing page furniture (try --raw)")
        }
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

    public static func tooLarge(_ bytes: Int, limit: Int = maxBytes) -> MarginError {
        .invalid("file is too large (\(bytes >> 20) MB; the limit is \(limit >> 20) MB)")
    }
}
