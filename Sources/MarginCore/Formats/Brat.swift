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
            let coded = (byRecord[r.id] ?? []).compactMap { a in path(a).map { (a, $0) } }
            files.append((r.id + ".txt", r.body))
            files.append((r.id + ".ann", ExportSet.bratAnn(coded, types: &types)))
        }
        files.append(("annotation.conf", ExportSet.bratConf(types.sorted())))
        return (files, types.sorted())
    }

    /// `brat()`'s files, streamed: each record's two files written as its
    /// annotations end in the walk the other streamed exports take
    /// (`forEachExported`, which gives a record's annotations together),
    /// then those of the records with none, then `annotation.conf`. Memory
    /// is one record and its annotations, not the store (observed: 150-310
    /// MB for 4,700 reports and 95,883 annotations). Returns the records
    /// written, the entity types, and the annotations left out as
    /// unanchored.
    public static func streamBrat(_ store: Store, _ write: (_ name: String, _ text: String) throws -> Void) throws
        -> (records: Int, types: [String], unanchored: Int) {
        let listed = try store.records().map(\.id)
        let isListed = Set(listed)
        var types = Set<String>(), written = Set<String>()
        var current: (record: Record, coded: [(Annotation, String)])?
        func flush() throws {
            guard let c = current else { return }
            try write(c.record.id + ".txt", c.record.body)
            try write(c.record.id + ".ann", bratAnn(c.coded, types: &types))
            written.insert(c.record.id)
            current = nil
        }
        let counts = try forEachExported(store, wholeRecords: false) { a, record, path in
            guard let record, isListed.contains(record.id) else { return }
            if current?.record.id != record.id { try flush(); current = (record, []) }
            if let path { current?.coded.append((a, path)) }
        }
        try flush()
        for id in listed where !written.contains(id) {
            guard let text = try store.recordBody(id) else { continue }
            try write(id + ".txt", text)
            try write(id + ".ann", "")
            written.insert(id)
        }
        try write("annotation.conf", bratConf(types.sorted()))
        return (written.count, types.sorted(), counts.unanchored)
    }

    /// A record's `.ann`: its spans (`T1`, `T2`, …) and, for a value or a
    /// note, an `AnnotatorNotes` line (`#1`, …), in the order given. Adds
    /// the entity types used to `types`.
    static func bratAnn(_ coded: [(annotation: Annotation, path: String)], types: inout Set<String>) -> String {
        var out = ""
        var t = 0, note = 0
        for (a, p) in coded {
            guard let s = a.span else { continue }
            let type = ExportSet.bratType(p)
            types.insert(type)
            let fragments = ExportSet.bratFragments(s)
            guard !fragments.isEmpty else { continue }   // line breaks only: nothing brat can mark
            t += 1
            let offsets = fragments.map { "\($0.start) \($0.end)" }.joined(separator: ";")
            out += "T\(t)\t\(type) \(offsets)\t\(fragments.map(\.text).joined(separator: " "))\n"
            let remark = [a.value.map { "value: \($0)" }, a.note.map { "note: \($0)" }].compactMap { $0 }.joined(separator: "; ")
            if !remark.isEmpty {
                note += 1
                out += "#\(note)\tAnnotatorNotes T\(t)\t\(ExportSet.oneLine(remark))\n"
            }
        }
        return out
    }

    /// `annotation.conf`: the entity types, and brat's other sections empty.
    static func bratConf(_ types: [String]) -> String {
        "[entities]\n" + types.map { $0 + "\n" }.joined() + "\n[relations]\n\n[events]\n\n[attributes]\n"
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
