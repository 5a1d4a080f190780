import Foundation
import MarginCore

/// The formats other tools read, each written from the store's live state.
/// Offsets are Unicode code points everywhere, as in Margin itself; see
/// each writer for what its format counts.
struct ExportSet {
    let store: Store
    let records: [Record]
    let annotations: [Annotation]
    let codePaths: [String: String]
    /// Annotations left out: their span does not hold in their record's
    /// text of now (placed on an earlier cleaning, or orphaned by
    /// `reclean`), so their offsets would point at other text.
    let unanchored: Int

    init(_ store: Store) throws {
        self.store = store
        codePaths = try store.codePaths()
        let blind = try store.isBlind
        let (anchored, left) = try ExportSet.anchored(store, try store.annotations().filter { store.isVisible($0, blind: blind) })
        annotations = Store.exportOrder(anchored)
        unanchored = left
        var records: [Record] = []
        for summary in try store.records() { if let r = try store.record(summary.id) { records.append(r) } }
        self.records = records
    }

    /// `list` without the annotations whose span does not hold now, and how many those were.
    static func anchored(_ store: Store, _ list: [Annotation]) throws -> ([Annotation], Int) {
        let out = Set(try store.unanchoredAnnotations().map(\.id))
        return out.isEmpty ? (list, 0) : (list.filter { !out.contains($0.id) }, list.filter { out.contains($0.id) }.count)
    }

    /// The warning an export gives when it left annotations out.
    static func unanchoredWarning(_ n: Int) -> String {
        "margin export: \(n) annotation\(n == 1 ? " is" : "s are") not anchored in the text of now and left out "
            + "(margin check names them; margin reclean places them)"
    }

    func path(_ a: Annotation) -> String? {
        a.code.map { (try? store.effectiveCode($0)) ?? $0 }.flatMap { codePaths[$0] }
    }

    // MARK: CSV

    static let csvHeaders = ["record", "title", "place", "published", "code", "start", "end", "quote", "value", "note",
                             "status", "author", "reviewer"]

    /// One row per annotation; UTF-8, with a byte-order mark when `excel`
    /// (Excel reads UTF-8 without one as a legacy code page).
    func csv(excel: Bool) -> String {
        let byID = Dictionary(uniqueKeysWithValues: records.map { ($0.id, $0) })
        var rows: [[String]] = []
        for a in annotations {
            let r = byID[a.record]
            rows.append([a.record, r?.title ?? "", r?.place ?? "", r?.published ?? "", path(a) ?? "",
                         a.span.map { String($0.start) } ?? "", a.span.map { String($0.end) } ?? "", a.span?.quote ?? "",
                         a.value ?? "", a.note ?? "", a.status.rawValue, a.author ?? "", a.reviewer ?? ""])
        }
        return (excel ? "\u{FEFF}" : "") + TextTable(headers: ExportSet.csvHeaders, rows: rows).csv(neutralizingFormulas: excel)
    }

    // MARK: W3C Web Annotation

    static let w3cContext = "http://www.w3.org/ns/anno.jsonld"

    /// The W3C Web Annotation Data Model (JSON-LD): an AnnotationCollection
    /// whose one page holds every annotation. A span's target carries a
    /// TextPositionSelector (start and end in code points, as the model
    /// says) and a TextQuoteSelector (exact, prefix, suffix); a tag or note
    /// targets the record as a whole. The code is a tagging body, the value
    /// a describing body, the note a commenting body.
    func w3c() -> [String: Any] {
        let items: [[String: Any]] = annotations.map { a in
            var bodies: [[String: Any]] = []
            if let p = path(a) { bodies.append(["type": "TextualBody", "purpose": "tagging", "value": p]) }
            if let v = a.value, !v.isEmpty { bodies.append(["type": "TextualBody", "purpose": "describing", "value": v]) }
            if let n = a.note, !n.isEmpty { bodies.append(["type": "TextualBody", "purpose": "commenting", "value": n]) }
            var target: [String: Any] = ["source": "urn:margin:record:\(a.record)"]
            if let s = a.span {
                target["selector"] = [
                    ["type": "TextPositionSelector", "start": s.start, "end": s.end] as [String: Any],
                    ["type": "TextQuoteSelector", "exact": s.quote, "prefix": s.prefix, "suffix": s.suffix],
                ]
            }
            var o: [String: Any] = [
                "@context": ExportSet.w3cContext, "id": "urn:margin:annotation:\(a.id)", "type": "Annotation",
                "motivation": a.code != nil ? "tagging" : "commenting", "created": Format.iso(a.created), "modified": Format.iso(a.updated),
                "target": target,
            ]
            if !bodies.isEmpty { o["body"] = bodies }
            if let author = a.author { o["creator"] = ["type": "Person", "name": author] }
            return o
        }
        return ["@context": ExportSet.w3cContext, "id": "urn:margin:export", "type": "AnnotationCollection", "total": items.count,
                "first": ["type": "AnnotationPage", "items": items] as [String: Any]]
    }

    // MARK: doccano

    /// doccano's sequence-labelling JSONL: one line per record with `text`
    /// and `label: [[start, end, code]]` (spans only; offsets in code
    /// points, as doccano's Python side indexes text).
    func doccano() throws -> String {
        var out = ""
        for r in records {
            let labels: [Any] = annotations.filter { $0.record == r.id }.compactMap { a in
                guard let s = a.span, let p = path(a) else { return nil }
                return [s.start, s.end, p] as [Any]
            }
            out += try JSONText.encode(["id": r.id, "text": r.body, "label": labels] as [String: Any]) + "\n"
        }
        return out
    }

    // MARK: brat

    /// brat's standoff: for each record `ID.txt` (the body) and `ID.ann`:
    /// `T1<TAB>code start end<TAB>quote` for spans, an `AnnotatorNotes` line
    /// (`#1`) for a value or note. brat reads the .txt as Unicode text and
    /// counts offsets in characters of its Python string, which are code
    /// points: a Margin offset is a brat offset, astral characters included.
    /// (A brat built on a narrow Python 2 counted UTF-16 units instead; such
    /// builds are not supported.) Entity types are the code paths with `/`
    /// and spaces as `_`, as brat's type names allow, listed in
    /// `annotation.conf`.
    func brat() -> (files: [(name: String, text: String)], types: [String]) {
        var files: [(String, String)] = []
        var types = Set<String>()
        for r in records {
            var lines: [String] = []
            var t = 0, note = 0
            for a in annotations where a.record == r.id {
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
    static func bratFragments(_ span: Span) -> [(start: Int, end: Int, text: String)] {
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
    static func oneLine(_ s: String) -> String {
        String(String.UnicodeScalarView(s.unicodeScalars.map { $0 == "\n" || $0 == "\r" || $0 == "\t" ? " " : $0 }))
    }

    static func bratType(_ path: String) -> String {
        String(path.map { $0 == "/" || $0 == "\\" || $0 == " " || $0 == "\t" ? "_" : $0 })
    }
}
