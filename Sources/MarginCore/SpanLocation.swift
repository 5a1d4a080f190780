import Foundation

/// Where a quote or a range lands in a record's text: the span a user's
/// request names, found literally, then across scripts (党员 finds 黨員),
/// then with white space taken as one space, on character boundaries only;
/// and the choices shown when a quote occurs more than once. Pure: the
/// text in, a span or the reason there is none out. Local edits, team
/// adjudication and the W3C import all place spans through it.
public enum SpanLocation {
    /// Turns a quote or range into a checked span of `body`.
    public static func locate(_ request: SpanRequest, in body: String) throws -> Span {
        try locate(request, in: ScalarText(body))
    }

    static func locate(_ request: SpanRequest, in text: ScalarText) throws -> Span {
        switch request {
        case .range(let start, let end):
            return try Span(in: text, start: start, end: end)
        case .quote(let raw, let occurrence):
            let quote = TextNormalization.nfc(raw)
            let needle = Array(quote.unicodeScalars)
            guard !needle.isEmpty else { throw MarginError.invalid("the quote is empty") }
            var hits = text.occurrences(of: needle).map { ($0, $0 + needle.count) }
            if hits.isEmpty {
                // Script-insensitive second try: 党员 finds 黨員. Folding keeps
                // lengths, so offsets in the folded text are offsets in the body.
                hits = text.occurrences(of: ScriptFolding.fold(needle), in: ScriptFolding.fold(text.scalars)).map { ($0, $0 + needle.count) }
            }
            if hits.isEmpty {
                // Third: white space as one space, so a quote copied from the
                // terminal across a line or paragraph break still finds the
                // text; the span is the body's own text, breaks included.
                hits = whitespaceInsensitiveHits(needle, in: text)
            }
            guard !hits.isEmpty else {
                if splitsACharacter(needle, in: text) {
                    throw MarginError.invalid("quote '\(quote)' is in the record, but only as part of a character (it would split a letter from its accent, or an emoji from its modifier): quote the whole character")
                }
                throw MarginError.notFound("quote '\(quote)' not found in the record")
            }
            if let n = occurrence {
                guard n >= 1, n <= hits.count else {
                    throw MarginError.invalid("--occurrence \(n) is out of range: the quote occurs \(hits.count) time(s)\n"
                                              + describe(hits, in: text))
                }
                return try Span(in: text, start: hits[n - 1].0, end: hits[n - 1].1)
            }
            guard hits.count == 1 else {
                throw MarginError.ambiguous("quote '\(quote)' occurs \(hits.count) times; choose one with --occurrence N:\n"
                                            + describe(hits, in: text))
            }
            return try Span(in: text, start: hits[0].0, end: hits[0].1)
        }
    }

    /// Matches of `needle` in `text` with every run of white space (line
    /// breaks included) taken as one space, in the body's plain and folded
    /// scripts, as (start, end) offsets of the body.
    static func whitespaceInsensitiveHits(_ needle: [Unicode.Scalar], in text: ScalarText) -> [(Int, Int)] {
        func squeezed(_ scalars: [Unicode.Scalar]) -> (scalars: [Unicode.Scalar], starts: [Int], ends: [Int]) {
            var out: [Unicode.Scalar] = [], starts: [Int] = [], ends: [Int] = []
            for (i, u) in scalars.enumerated() {
                if u.properties.isWhitespace {
                    if out.last == " ", let last = ends.indices.last, ends[last] == i { ends[last] = i + 1; continue }
                    out.append(" "); starts.append(i); ends.append(i + 1)
                } else {
                    out.append(u); starts.append(i); ends.append(i + 1)
                }
            }
            return (out, starts, ends)
        }
        var key = squeezed(needle).scalars
        while key.first == " " { key.removeFirst() }
        while key.last == " " { key.removeLast() }
        guard !key.isEmpty, key.contains(" ") || key.count < needle.count else { return [] }
        let body = squeezed(text.scalars)
        for (hay, k) in [(body.scalars, key), (ScriptFolding.fold(body.scalars), ScriptFolding.fold(key))] {
            var hits: [(Int, Int)] = []
            var i = 0
            while i + k.count <= hay.count {
                if hay[i..<(i + k.count)].elementsEqual(k) {
                    let start = body.starts[i], end = body.ends[i + k.count - 1]
                    if text.isBoundary(start) && text.isBoundary(end) { hits.append((start, end)) }
                }
                i += 1
            }
            if !hits.isEmpty { return hits }
        }
        return []
    }

    /// Whether `needle` occurs in the body only across a character's
    /// boundary (inside a grapheme cluster).
    static func splitsACharacter(_ needle: [Unicode.Scalar], in text: ScalarText) -> Bool {
        for hay in [text.scalars, ScriptFolding.fold(text.scalars)] {
            let k = hay == text.scalars ? needle : ScriptFolding.fold(needle)
            var i = 0
            while i + k.count <= hay.count {
                if hay[i..<(i + k.count)].elementsEqual(k) { return true }
                i += 1
            }
        }
        return false
    }

    static func describe(_ hits: [(Int, Int)], in text: ScalarText) -> String {
        hits.enumerated().map { i, hit in
            let (start, end) = hit
            let before = text.slice(max(0, start - 12), start).replacingOccurrences(of: "\n", with: " ")
            let match = text.slice(start, end).replacingOccurrences(of: "\n", with: "⏎")
            let after = text.slice(end, min(text.count, end + 12)).replacingOccurrences(of: "\n", with: " ")
            return "  \(i + 1): \(start)..\(end)  …\(before)[\(match)]\(after)…"
        }.joined(separator: "\n")
    }
}
