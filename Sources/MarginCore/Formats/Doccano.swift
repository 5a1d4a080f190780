import Foundation

/// doccano's JSONL (writer only: doccano's own export is not read back).
extension ExportSet {
    /// One label of a doccano line: a span and its code's path.
    typealias DoccanoLabel = (start: Int, end: Int, path: String)

    /// doccano's sequence-labelling JSONL: one line per record with `text`
    /// and `label: [[start, end, code]]` (spans only; offsets in code
    /// points, as doccano's Python side indexes text).
    ///
    /// Each record's annotations are taken from one grouping made once, in
    /// export order (observed: a filter of every annotation for each record
    /// took 23.5 s for 4,700 reports and 95,883 annotations).
    public func doccano() throws -> String {
        var out: [UInt8] = []
        let byRecord = Dictionary(grouping: annotations, by: \.record)
        for r in records {
            let labels = (byRecord[r.id] ?? []).compactMap { a -> DoccanoLabel? in
                guard let s = a.span, let p = path(a) else { return nil }
                return (s.start, s.end, p)
            }
            ExportSet.writeDoccanoLine(id: r.id, text: r.body, labels: labels, into: &out)
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// `doccano()`'s lines, streamed: the labels are gathered first, by
    /// record, from the walk the other streamed exports take
    /// (`forEachExported`, reading texts alone), then each record's id and
    /// text are read in list order and its line written.
    /// Memory is the labels and one record, not every record's text and
    /// every annotation (observed: 150 MB and 1.5 s, ten times the shell's
    /// query, for 4,700 reports and 95,883 annotations). Returns the
    /// annotations exported and those left out as unanchored.
    @discardableResult
    public static func streamDoccano(_ store: Store, _ write: (String) throws -> Void) throws -> (items: Int, unanchored: Int) {
        var labels: [String: [DoccanoLabel]] = [:]
        let counts = try forEachExported(store, wholeRecords: false, locatedOnly: true) { a, _, path in
            guard let s = a.span, let path else { return }
            labels[a.record, default: []].append((s.start, s.end, path))
        }
        var line: [UInt8] = []
        try store.forEachRecordBody { id, text in
            line.removeAll(keepingCapacity: true)
            writeDoccanoLine(id: id, text: text, labels: labels[id] ?? [], into: &line)
            try write(String(decoding: line, as: UTF8.self))
        }
        return counts
    }

    /// A line as `JSONText` writes `{"id", "label", "text"}` (keys in
    /// order), and a line feed; bytes, not boxed values.
    static func writeDoccanoLine(id: String, text: String, labels: [DoccanoLabel], into out: inout [UInt8]) {
        out.append(contentsOf: #"{"id":"#.utf8)
        JSONText.string(id, into: &out)
        out.append(contentsOf: #","label":["#.utf8)
        for (n, label) in labels.enumerated() {
            if n > 0 { out.append(UInt8(ascii: ",")) }
            out.append(UInt8(ascii: "["))
            out.append(contentsOf: String(label.start).utf8)
            out.append(UInt8(ascii: ","))
            out.append(contentsOf: String(label.end).utf8)
            out.append(UInt8(ascii: ","))
            JSONText.string(label.path, into: &out)
            out.append(UInt8(ascii: "]"))
        }
        out.append(contentsOf: #"],"text":"#.utf8)
        JSONText.string(text, into: &out)
        out.append(contentsOf: "}\n".utf8)
    }
}
