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
    /// is the hash of the report as received, the same in every store). The span
    /// is the TextPositionSelector's, checked against the TextQuoteSelector's
    /// `exact`; a tagging body gives the code (its path, created where
    /// missing), a describing body the value, a commenting body the note,
    /// the creator's name the author. An annotation already present (same
    /// record, code, span and author) is not made again. One transaction.
    public func importW3C(_ data: Data) throws -> W3CImport {
        guard let text = String(validating: Array(data), as: UTF8.self) else { throw MarginError.invalid("not JSON: the file is not valid UTF-8") }
        let json: JSONValue
        do { json = try JSONValue.parse(text) } catch { throw MarginError.invalid("not JSON: \(MarginError.message(for: error))") }
        var items: [[String: JSONValue]] = []
        if case .array(let list) = json {
            items = list.compactMap(\.object)
        } else if let o = json.object {
            if o["type"]?.string == "AnnotationCollection" {
                if case .array(let list)? = o["first"]?.object?["items"] { items = list.compactMap(\.object) }
            } else {
                items = [o]
            }
        }
        /// One object, or the first of an array of them.
        func objects(_ v: JSONValue?) -> [[String: JSONValue]] {
            if case .array(let list)? = v { return list.compactMap(\.object) }
            return v?.object.map { [$0] } ?? []
        }
        guard !items.isEmpty else { throw MarginError.invalid("no W3C annotations found (an AnnotationCollection, an Annotation or an array of them)") }
        var result = W3CImport()
        try write {
            for (n, item) in items.enumerated() {
                let label = item["id"]?.string.map { "annotation \(Printable.line($0))" } ?? "annotation \(n + 1)"
                guard item["type"]?.string == "Annotation", let target = objects(item["target"]).first else {
                    throw MarginError.invalid("\(label): not an Annotation with a target")
                }
                guard let source = target["source"]?.string, source.hasPrefix("urn:margin:record:") else {
                    throw MarginError.invalid("\(label): its target is not a Margin record (urn:margin:record:ID)")
                }
                let record = String(source.dropFirst("urn:margin:record:".count))
                guard ChangeRules.isID(record, of: .record), try self.record(record) != nil else {
                    throw MarginError.notFound("\(label): record \(Printable.line(record)) is not in this store (import its report first)")
                }
                let selectors = objects(target["selector"])
                var span: SpanRequest?
                if let position = selectors.first(where: { $0["type"]?.string == "TextPositionSelector" }) {
                    // Whole numbers only: `true` or 0.5 is no offset.
                    guard let s = position["start"]?.int, let e = position["end"]?.int, let start = Int(exactly: s), let end = Int(exactly: e) else {
                        throw MarginError.invalid("\(label): the TextPositionSelector's start and end must be whole numbers")
                    }
                    span = .range(start, end)
                    if let quote = selectors.first(where: { $0["type"]?.string == "TextQuoteSelector" })?["exact"]?.string,
                       let body = try winner(.record, EntityID(stored: record), "body")?.value.string,
                       try SpanLocation.locate(.range(start, end), in: scalarText(of: body)).quote != quote {
                        throw MarginError.invalid("\(label): the text at \(start)..\(end) is not its quote '\(Printable.line(quote))'")
                    }
                }
                let bodies = objects(item["body"])
                func body(_ purpose: String) -> String? { bodies.first { $0["purpose"]?.string == purpose }?["value"]?.string }
                var code: String?
                if let path = body("tagging") ?? body("classifying") {
                    var parent: String?
                    for name in CodePath.split(path) {
                        if let id = try liveCodeID(named: name) { parent = id; continue }
                        parent = try addCode(name: name, description: nil, colour: nil, parent: parent)
                        result.codes += 1
                    }
                    code = parent
                }
                let value = body("describing"), note = body("commenting")
                guard code != nil || note != nil || value != nil else { continue }
                let author = item["creator"]?.object?["name"]?.string ?? item["creator"]?.string
                // Margin's own export names each annotation: it keeps its id
                // (and one already held, live or deleted, is present).
                let prefix = "urn:margin:annotation:"
                let marginID = item["id"]?.string.flatMap { $0.hasPrefix(prefix) ? String($0.dropFirst(prefix.count)) : nil }
                if let marginID {
                    guard ChangeRules.isID(marginID, of: .annotation) else {
                        throw MarginError.invalid("\(label): \(prefix)… must end in 32 lower-case hex digits")
                    }
                    if try hasWinner(.annotation, EntityID(stored: marginID), "record") { result.alreadyPresent += 1; continue }
                } else {
                    // Another tool's annotation: present when one with the
                    // same record, code, span, author, value and note is.
                    let existing = try annotations(record: record)
                    var start: Int?, end: Int?
                    if case .range(let s, let e) = span { start = s; end = e }
                    if existing.contains(where: { $0.code == code && $0.span?.start == start && $0.span?.end == end && $0.author == (author ?? node.name)
                                                 && $0.value == value && $0.note == note }) {
                        result.alreadyPresent += 1
                        continue
                    }
                }
                // Its times, as the export gives them (else now).
                let created = item["created"]?.string.flatMap(ISOTime.parse)
                let modified = item["modified"]?.string.flatMap(ISOTime.parse) ?? created
                try annotate(record: record, code: code, span: span, value: value, note: note, author: author, id: marginID,
                             times: created.map { ($0, modified ?? $0) })
                result.annotations += 1
            }
        }
        return result
    }
}

/// ISO 8601 times in milliseconds (`2022-11-07T09:00:00.123Z`), written and
/// read exactly, for W3C annotations' `created` and `modified`.
public enum ISOTime {
    /// By integer arithmetic (the proleptic Gregorian calendar's days from
    /// the epoch, after Howard Hinnant's `civil_from_days`): exact, and
    /// without a formatter per call, which was most of `list --json` on a
    /// large store. Years 0 to 9999.
    public static func format(_ ms: Int64) -> String {
        let seconds = ms >= 0 ? ms / 1000 : (ms - 999) / 1000
        let fraction = ms - seconds * 1000
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = seconds - days * 86_400
        let (y, m, d) = civil(days: days)
        if (0...9999).contains(y) {
            // Written digit by digit into the string's own storage: two per
            // annotation in a whole-store listing, where the pieces and
            // their interpolation were a sixth of `list --json`.
            return String(unsafeUninitializedCapacity: 24) { b in
                func put(_ value: Int64, _ digits: Int, at start: Int) {
                    var v = value
                    for i in stride(from: start + digits - 1, through: start, by: -1) {
                        b[i] = UInt8(truncatingIfNeeded: 48 + v % 10)
                        v /= 10
                    }
                }
                put(y, 4, at: 0); b[4] = UInt8(ascii: "-"); put(m, 2, at: 5); b[7] = UInt8(ascii: "-"); put(d, 2, at: 8)
                b[10] = UInt8(ascii: "T"); put(secondOfDay / 3600, 2, at: 11); b[13] = UInt8(ascii: ":")
                put(secondOfDay / 60 % 60, 2, at: 14); b[16] = UInt8(ascii: ":"); put(secondOfDay % 60, 2, at: 17)
                b[19] = UInt8(ascii: "."); put(fraction, 3, at: 20); b[23] = UInt8(ascii: "Z")
                return 24
            }
        }
        func two(_ n: Int64) -> String { n < 10 ? "0\(n)" : "\(n)" }
        let year = String(y), paddedYear = String(repeating: "0", count: max(0, 4 - year.count)) + year
        let millis = String(fraction), paddedMillis = String(repeating: "0", count: 3 - millis.count) + millis
        return "\(paddedYear)-\(two(m))-\(two(d))T\(two(secondOfDay / 3600)):\(two(secondOfDay / 60 % 60)):\(two(secondOfDay % 60)).\(paddedMillis)Z"
    }

    /// Year, month and day of a count of days from 1970-01-01.
    static func civil(days z0: Int64) -> (Int64, Int64, Int64) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }

    /// Milliseconds of a time with or without a fraction and with `Z` or an
    /// offset; nil when it is not one.
    public static func parse(_ text: String) -> Int64? {
        var main = text, fraction: Int64 = 0
        if let dot = text.firstIndex(of: ".") {
            let rest = text[text.index(after: dot)...]
            let digits = rest.prefix { $0.isASCII && $0.isNumber }
            guard !digits.isEmpty else { return nil }
            let padded = (String(digits.prefix(3)) + "00").prefix(3)
            fraction = Int64(padded) ?? 0
            main = String(text[..<dot]) + String(rest.dropFirst(digits.count))
        }
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        guard let date = f.date(from: main) else { return nil }
        let seconds = date.timeIntervalSince1970
        guard seconds.isFinite, abs(seconds) < 1e12 else { return nil }
        return Int64(seconds.rounded()) * 1000 + fraction
    }
}

/// The W3C writer, beside its reader above.
extension ExportSet {

    public static let w3cContext = "http://www.w3.org/ns/anno.jsonld"

    /// The W3C Web Annotation Data Model (JSON-LD): an AnnotationCollection
    /// whose one page holds every annotation. A span's target carries a
    /// TextPositionSelector (start and end in code points, as the model
    /// says) and a TextQuoteSelector (exact, prefix, suffix); a tag or note
    /// targets the record as a whole. The code is a tagging body, the value
    /// a describing body, the note a commenting body.
    public func w3c() -> [String: Any] {
        let items = annotations.map { ExportSet.w3cItem($0, path: path($0)) }
        return ExportSet.w3cCollection(items: items, total: items.count)
    }

    /// The collection around the items: one page that holds them all.
    static func w3cCollection(items: [[String: Any]], total: Int) -> [String: Any] {
        ["@context": w3cContext, "id": "urn:margin:export", "type": "AnnotationCollection", "total": total,
         "first": ["type": "AnnotationPage", "items": items] as [String: Any]]
    }

    /// One annotation as a W3C Annotation; `path` is its code's.
    static func w3cItem(_ a: Annotation, path: String?) -> [String: Any] {
        var bodies: [[String: Any]] = []
        if let p = path { bodies.append(["type": "TextualBody", "purpose": "tagging", "value": p]) }
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
            "@context": w3cContext, "id": "urn:margin:annotation:\(a.id)", "type": "Annotation",
            "motivation": a.code != nil ? "tagging" : "commenting", "created": ISOTime.format(a.created), "modified": ISOTime.format(a.updated),
            "target": target,
        ]
        if !bodies.isEmpty { o["body"] = bodies }
        if let author = a.author { o["creator"] = ["type": "Person", "name": author] }
        return o
    }

    /// `w3cItem` written as JSON straight into text, member by member in
    /// key order, as `JSONText` writes the dictionary: building a
    /// dictionary of boxed values for each annotation, then sorting its keys
    /// to write it, was most of the W3C export's time.
    /// `ExportStreamTests` holds the two to the same bytes.
    static func writeW3CItem(_ a: Annotation, path: String?, into out: inout [UInt8]) {
        // Bytes, not String appends: at 95,883 annotations the appends and
        // the String writer's escape scan were most of the export's time.
        func raw(_ s: StaticString) { out.append(contentsOf: UnsafeBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount)) }
        func key(_ k: StaticString) { raw("\""); raw(k); raw("\":") }
        func text(_ s: String) { JSONText.string(s, into: &out) }
        raw("{"); key("@context"); text(w3cContext)
        var bodies: [(purpose: StaticString, value: String)] = []
        if let p = path { bodies.append(("tagging", p)) }
        if let v = a.value, !v.isEmpty { bodies.append(("describing", v)) }
        if let n = a.note, !n.isEmpty { bodies.append(("commenting", n)) }
        if !bodies.isEmpty {
            raw(","); key("body"); raw("[")
            for (i, b) in bodies.enumerated() {
                raw(i > 0 ? ",{" : "{")
                key("purpose"); raw("\""); raw(b.purpose); raw("\","); key("type"); raw("\"TextualBody\","); key("value"); text(b.value)
                raw("}")
            }
            raw("]")
        }
        raw(","); key("created"); text(ISOTime.format(a.created))
        if let author = a.author {
            raw(","); key("creator"); raw("{"); key("name"); text(author); raw(","); key("type"); raw("\"Person\"}")
        }
        raw(","); key("id"); text("urn:margin:annotation:\(a.id)")
        raw(","); key("modified"); text(ISOTime.format(a.updated))
        raw(","); key("motivation"); raw(a.code != nil ? "\"tagging\"" : "\"commenting\"")
        raw(","); key("target"); raw("{")
        if let s = a.span {
            key("selector"); raw("[{")
            key("end"); out.append(contentsOf: String(s.end).utf8); raw(","); key("start"); out.append(contentsOf: String(s.start).utf8); raw(",")
            key("type"); raw("\"TextPositionSelector\"},{")
            key("exact"); text(s.quote); raw(","); key("prefix"); text(s.prefix); raw(","); key("suffix"); text(s.suffix); raw(",")
            key("type"); raw("\"TextQuoteSelector\"}],")
        }
        key("source"); text("urn:margin:record:\(a.record)"); raw("}")
        raw(","); key("type"); raw("\"Annotation\"}")
    }

    /// The document `w3c()` gives, written as JSON (and a line feed),
    /// streamed (`forEachExported`): the collection's text up to its
    /// items, each item as it is read, then the rest with the count. Memory
    /// is one record, not the store (observed: 547 MB for 95,883
    /// annotations when the whole document was built first). Returns the
    /// items written and the annotations left out as unanchored.
    @discardableResult
    public static func streamW3C(_ store: Store, _ write: (String) throws -> Void) throws -> (items: Int, unanchored: Int) {
        // The collection's members in key order, as `JSONText` writes
        // `w3cCollection`: `first` (the page, which holds the items) comes
        // before `total`, so the count is written after the items.
        var head = "{"
        JSONText.string("@context", into: &head); head += ":"; JSONText.string(w3cContext, into: &head)
        head += #","first":{"items":["#
        try write(head)
        var first = true
        var item: [UInt8] = []
        let counts = try forEachExported(store, wholeRecords: false) { a, _, path in
            item.removeAll(keepingCapacity: true)
            if !first { item.append(UInt8(ascii: ",")) }
            writeW3CItem(a, path: path, into: &item)
            try write(String(decoding: item, as: UTF8.self))
            first = false
        }
        try write(#"],"type":"AnnotationPage"},"id":"urn:margin:export","total":"# + String(counts.items) + #","type":"AnnotationCollection"}"# + "\n")
        return counts
    }
}
