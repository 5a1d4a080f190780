import Foundation

/// brat standoff (writer only; tested against brat's own reader rules).
extension ExportSet {

    /// brat's standoff: for each record `ID.txt` (the body) and `ID.ann`:
    /// `T1<TAB>code start end<TAB>quote` for spans, an `AnnotatorNotes` line
    /// (`#1`) for a value or note. brat reads the .txt as Unicode text and
    /// counts offsets in characters of its Python string, which are code
    /// points: a Margin offset is a brat offset, astral characters included.
    /// (A brat built on a narrow Python 2 counted UTF-16 units instead; such
    /// builds are not supported.) Entity types are the code paths with `/`
    /// and spaces as `_`, as brat's type names allow, listed in
    /// `annotation.conf`.
    public func brat() -> (files: [(name: String, text: String)], types: [String]) {
        var files: [(String, String)] = []
        var types = Set<String>()
        // Each record's annotations from one grouping, in export order (a
        // pass over every annotation for each record took 33 s for 4,700
        // reports and 95,883 annotations).
        let byRecord = Dictionary(grouping: annotations, by: \.record)
        for r in records {
            var lines: [String] = []
            var t = 0, note = 0
            for a in byRecord[r.id] ?? [] {
                guard let s = a.span, let p = path(a) else { continue }
                t += 1
                let type = ExportSet.bratType(p)
                types.insert(type)
                let fragments = ExportSet.bratFragments(s)
                guard !fragments.isEmpty else { t -= 1; continue }   // line breaks only: nothing brat can mark
                let offsets = fragments.map { "\($0.start) \($0.end)" }.joined(separator: ";")
                lines.append("T\(t)\t\(type) \(offsets)\t\(fragments.map(\.text).joined(separator: " "))")
                let remark = [a.value.map { "value: \($0)" }, a.note.map { "note: \($0)" }].compactMap { $0 }.joined(separator: "; ")
                if !remark.isEmpty {
                    note += 1
                    lines.append("#\(note)\tAnnotatorNotes T\(t)\t\(ExportSet.oneLine(remark))")
                }
            }
            files.append((r.id + ".txt", r.body))
            files.append((r.id + ".ann", lines.map { $0 + "\n" }.joined()))
        }
        let conf = "[entities]\n" + types.sorted().map { $0 + "\n" }.joined() + "\n[relations]\n\n[events]\n\n[attributes]\n"
        files.append(("annotation.conf", conf))
        return (files, types.sorted())
    }

    /// A span as brat marks it: one fragment per line it covers, split at
    /// every CR and LF (brat's reader joins the fragments' texts with one
    /// space and compares the result with the line's text field; a raw
    /// line break would end the `.ann` line). Offsets in code points.
    public static func bratFragments(_ span: Span) -> [(start: Int, end: Int, text: String)] {
        var out: [(Int, Int, String)] = []
        var start = span.start, current = String.UnicodeScalarView()
        for (i, u) in span.quote.unicodeScalars.enumerated() {
            if u == "\n" || u == "\r" {
                if !current.isEmpty { out.append((start, span.start + i, String(current))) }
                current = String.UnicodeScalarView()
                start = span.start + i + 1
            } else {
                current.append(u)
            }
        }
        if !current.isEmpty { out.append((start, span.end, String(current))) }
        return out
    }

    /// Text on one `.ann` line: CR, LF and tab become spaces.
    public static func oneLine(_ s: String) -> String {
        String(String.UnicodeScalarView(s.unicodeScalars.map { $0 == "\n" || $0 == "\r" || $0 == "\t" ? " " : $0 }))
    }

    public static func bratType(_ path: String) -> String {
        String(path.map { $0 == "/" || $0 == "\\" || $0 == " " || $0 == "\t" ? "_" : $0 })
    }
}
