import Foundation

extension Store {
    /// What importing W3C Web Annotations did.
    public struct W3CImport: Equatable, Sendable {
        public var annotations = 0
        public var codes = 0
        public var alreadyPresent = 0
    }

    /// Imports W3C Web Annotations (JSON-LD), as `margin export --format
    /// w3c` writes them: an AnnotationCollection (or one Annotation, or an
    /// array of them). Each targets a record this store holds, named
    /// `urn:margin:record:ID` (import the same reports first: a record's id
    /// is the hash of its text, so it is the same in every store). The span
    /// is the TextPositionSelector's, checked against the TextQuoteSelector's
    /// `exact`; a tagging body gives the code (its path, created where
    /// missing), a describing body the value, a commenting body the note,
    /// the creator's name the author. An annotation already present (same
    /// record, code, span and author) is not made again. One transaction.
    public func importW3C(_ data: Data) throws -> W3CImport {
        let json: Any
        do { json = try JSONSerialization.jsonObject(with: data) } catch { throw MarginError.invalid("not JSON: \(error.localizedDescription)") }
        var items: [[String: Any]] = []
        if let list = json as? [[String: Any]] {
            items = list
        } else if let o = json as? [String: Any] {
            if o["type"] as? String == "AnnotationCollection" {
                items = ((o["first"] as? [String: Any])?["items"] as? [[String: Any]]) ?? []
            } else {
                items = [o]
            }
        }
        guard !items.isEmpty else { throw MarginError.invalid("no W3C annotations found (an AnnotationCollection, an Annotation or an array of them)") }
        var result = W3CImport()
        try write {
            for (n, item) in items.enumerated() {
                let label = (item["id"] as? String).map { "annotation \(Printable.line($0))" } ?? "annotation \(n + 1)"
                guard item["type"] as? String == "Annotation", let target = item["target"] as? [String: Any] ?? (item["target"] as? [[String: Any]])?.first else {
                    throw MarginError.invalid("\(label): not an Annotation with a target")
                }
                guard let source = target["source"] as? String, source.hasPrefix("urn:margin:record:") else {
                    throw MarginError.invalid("\(label): its target is not a Margin record (urn:margin:record:ID)")
                }
                let record = String(source.dropFirst("urn:margin:record:".count))
                guard ChangeRules.isID(record, of: .record), try self.record(record) != nil else {
                    throw MarginError.notFound("\(label): record \(Printable.line(record)) is not in this store (import its report first)")
                }
                let selectors = (target["selector"] as? [[String: Any]]) ?? ((target["selector"] as? [String: Any]).map { [$0] } ?? [])
                var span: SpanRequest?
                if let position = selectors.first(where: { $0["type"] as? String == "TextPositionSelector" }),
                   let start = position["start"] as? Int, let end = position["end"] as? Int {
                    span = .range(start, end)
                    if let quote = selectors.first(where: { $0["type"] as? String == "TextQuoteSelector" })?["exact"] as? String,
                       let body = try winner(.record, record, "body")?.value.string,
                       try Store.locate(.range(start, end), in: scalarText(of: body)).quote != quote {
                        throw MarginError.invalid("\(label): the text at \(start)..\(end) is not its quote '\(Printable.line(quote))'")
                    }
                }
                let bodies = (item["body"] as? [[String: Any]]) ?? ((item["body"] as? [String: Any]).map { [$0] } ?? [])
                func body(_ purpose: String) -> String? { bodies.first { $0["purpose"] as? String == purpose }?["value"] as? String }
                var code: String?
                if let path = body("tagging") ?? body("classifying") {
                    var parent: String?
                    for name in path.split(separator: "/").map(String.init) {
                        if let id = try liveCodeID(named: name) { parent = id; continue }
                        parent = try addCode(name: name, description: nil, colour: nil, parent: parent)
                        result.codes += 1
                    }
                    code = parent
                }
                let value = body("describing"), note = body("commenting")
                guard code != nil || note != nil || value != nil else { continue }
                let author = (item["creator"] as? [String: Any])?["name"] as? String ?? item["creator"] as? String
                let existing = try annotations(record: record)
                var start: Int?, end: Int?
                if case .range(let s, let e) = span { start = s; end = e }
                if existing.contains(where: { $0.code == code && $0.span?.start == start && $0.span?.end == end && $0.author == (author ?? node.name) }) {
                    result.alreadyPresent += 1
                    continue
                }
                try annotate(record: record, code: code, span: span, value: value, note: note, author: author)
                result.annotations += 1
            }
        }
        return result
    }
}
