import Foundation
import MarginCore

func annotationJSON(_ a: Annotation) -> JSONText.Value {
    var bytes: [UInt8] = []
    writeAnnotationJSON(a, into: &bytes)
    return .raw(bytes)
}

/// One annotation as a JSON object, its members written straight into
/// `out` in key order, as every `--json` object has them: a whole-store
/// listing writes a million, and building each as values first cost a
/// box per member.
func writeAnnotationJSON(_ a: Annotation, into out: inout [UInt8]) {
    var last = ""
    func key(_ k: String) {
        assert(last < k, "annotation JSON keys out of order: \(k) after \(last)")
        out.append(last.isEmpty ? UInt8(ascii: "{") : UInt8(ascii: ","))
        last = k
        JSONText.string(k, into: &out)
        out.append(UInt8(ascii: ":"))
    }
    func string(_ k: String, _ v: String?) {
        guard let v else { return }
        key(k)
        JSONText.string(v, into: &out)
    }
    func int(_ k: String, _ v: Int?) {
        guard let v else { return }
        key(k)
        out.append(contentsOf: String(v).utf8)
    }
    string("author", a.author)
    string("changed_since", a.staleReview?.rawValue)
    string("code", a.code)
    string("code_name", a.codeName)
    string("comment", a.comment)
    string("created", Format.iso(a.created))
    int("end", a.span?.end)
    string("id", a.id)
    string("kind", a.kindLabel)
    string("note", a.note)
    string("prefix", a.span?.prefix)
    string("quote", a.span?.quote)
    string("record", a.record)
    string("reviewer", a.reviewer)
    int("start", a.span?.start)
    string("status", a.status.rawValue)
    string("suffix", a.span?.suffix)
    string("updated", Format.iso(a.updated))
    string("value", a.value)
    out.append(UInt8(ascii: "}"))
}

func recordJSON(_ r: Record) -> [String: Any] {
    var o: [String: Any] = ["id": r.id, "body": r.body, "meta": r.meta,
                            "created": Format.iso(r.created), "updated": Format.iso(r.updated)]
    for f in Record.metadataFields { if let v = r.metadata(f) { o[f] = v } }
    return o
}

func parseStatus(_ raw: String?) throws -> ReviewStatus? {
    guard let raw else { return nil }
    guard let s = ReviewStatus(rawValue: raw.lowercased()) else { throw UsageError("--status takes open, accepted, rejected or suggested") }
    return s
}

struct ListCommand: Command {
    static let name = "list"
    static let summary = "List records (or annotations), filtered by code, review status or text"
    static let usage = "margin list [--code CODE] [--status S] [--text TEXT] [--place P] [--source S] [--author A] [--since D] [--until D] [--annotations] [-n N] [--json] | margin list --duplicates [--json]"
    static let details = """
    Lists records, newest publication first, with their annotation counts
    and a ✓ where you marked them done (`margin done`).
    Filters combine: --code keeps records with an annotation of that code (or
    of a code below it or merged into it), --status those with an annotation
    in that review state, --text those containing TEXT (either script),
    --place, --source and --author those whose metadata contains the text
    (either script; --author is the report's author, not a coder),
    --since and --until those published in that range (inclusive; a date
    such as 2022-11 covers the month).
    With --annotations, lists the matching annotations instead.
    With --duplicates, lists each set of records whose cleaned text is the
    same: one report reposted by other sites, imported as records of their
    own (a record's id is the hash of the page as received), for the team
    to decide which one to code.
    """
    var code: String?, status: ReviewStatus?, text: String?, annotations: Bool, limit: Int?, json: Bool, duplicates: Bool
    var place: String?, source: String?, reportAuthor: String?, since: String?, until: String?
    init(_ args: inout Arguments) throws {
        place = try args.option("--place")
        source = try args.option("--source")
        reportAuthor = try args.option("--author")
        func date(_ option: String) throws -> String? {
            guard let raw = try args.option(option) else { return nil }
            // A month or a year alone is a prefix of the stored dates.
            if raw.range(of: #"^\d{4}(-\d{2})?$"#, options: .regularExpression) != nil { return raw }
            guard let d = ReportMetadata.normalizedDate(raw) else {
                throw UsageError("\(option) takes a date (2022-11-07, 2022-11, 2022/11/7, 2022年11月7日), not '\(raw)'")
            }
            return String(d.prefix(10))
        }
        since = try date("--since")
        until = try date("--until")
        code = try args.option("--code")
        status = try parseStatus(try args.option("--status"))
        text = try args.option("--text")
        annotations = args.flag("--annotations", "-a")
        limit = try args.intOption("-n", "--limit", min: 0)
        json = args.flag("--json")
        duplicates = args.flag("--duplicates")
        if duplicates && (annotations || code != nil || status != nil || text != nil || place != nil || source != nil
                          || reportAuthor != nil || since != nil || until != nil || limit != nil) {
            throw UsageError("--duplicates takes no filter")
        }
    }

    func listDuplicates(_ context: Context, _ store: Store) throws -> Int32 {
        let sets = try store.duplicateRecords()
        if json {
            for set in sets {
                let records = try set.map { id -> [String: Any] in
                    let r = try store.record(id)
                    return ["id": id, "title": r?.title ?? NSNull(), "source": r?.source ?? NSNull(), "url": r?.url ?? NSNull(),
                            "annotations": try store.annotations(record: id).count]
                }
                try context.printJSON(["records": records])
            }
            return ExitCode.success
        }
        if sets.isEmpty { context.print("no two records have the same text"); return ExitCode.success }
        for (n, set) in sets.enumerated() {
            if n > 0 { context.print("") }
            context.print("same text, \(set.count) records:")
            for id in set {
                let r = try store.record(id)
                let count = try store.annotations(record: id).count
                context.print("  \(Format.id(id))  \(Format.oneLine(r?.title ?? "(untitled)", max: 40))  \(Format.oneLine(r?.source ?? r?.url ?? "", max: 24))  \(count) annotation\(count == 1 ? "" : "s")")
            }
        }
        return ExitCode.success
    }

    func run(_ context: Context) throws -> Int32 {
        let store = try context.store()
        if duplicates { return try listDuplicates(context, store) }
        let codeID = try code.map { try store.resolveCode($0) }
        if annotations {
            let blind = try store.isBlind
            let byRecord = text != nil || place != nil || source != nil || reportAuthor != nil || since != nil || until != nil
            var ids: Set<String>?
            if byRecord {
                var f = Store.RecordFilter(text: text)
                f.place = place; f.source = source; f.reportAuthor = reportAuthor; f.since = since; f.until = until
                ids = Set(try store.records(f).map(\.id))
            }
            // Streamed: one annotation held at a time, written out in
            // chunks; `-n N` with nothing to filter after the query reads N.
            var out = OutputChunks(context.console)
            var shown = 0
            try store.forEachAnnotation(code: codeID, status: status, limit: blind || byRecord ? nil : limit) { a in
                if let limit, shown >= limit { return false }
                guard store.isVisible(a, blind: blind), ids?.contains(a.record) ?? true else { return true }
                shown += 1
                if json {
                    writeAnnotationJSON(a, into: &out.bytes)
                    out.bytes.append(UInt8(ascii: "\n"))
                } else {
                    out.bytes.append(contentsOf: AnnotationLine.render(a, withRecord: true).utf8)
                    out.bytes.append(UInt8(ascii: "\n"))
                }
                out.flushIfFull()
                return true
            }
            out.flush()
            return ExitCode.success
        }
        var filter = Store.RecordFilter(code: codeID, status: status, text: text, limit: limit)
        filter.place = place; filter.source = source; filter.reportAuthor = reportAuthor; filter.since = since; filter.until = until
        if try store.isBlind { filter.onlyAuthor = store.node.name }
        let rows = try store.records(filter)
        let done = try store.doneMarks()
        var output = ""
        var bytes: [UInt8] = []
        if json { bytes.reserveCapacity(rows.count * 160) }
        for r in rows {
            if json {
                // Keys in sorted order, as every --json output has them.
                var pairs: [(String, JSONText.Value)] = [("annotations", .int(r.annotations))]
                pairs.append(("done", .array((done[r.id] ?? []).sorted().map { .string($0) })))
                pairs += [("id", .string(r.id)), ("open", .int(r.open))]
                if let p = r.place { pairs.append(("place", .string(p))) }
                if let p = r.published { pairs.append(("published", .string(p))) }
                if let t = r.title { pairs.append(("title", .string(t))) }
                JSONText.write(.object(pairs), into: &bytes)
                bytes.append(UInt8(ascii: "\n"))
                continue
            }
            let date = Format.pad(String((r.published ?? "").prefix(10)), 10)
            let mine = done[r.id]?.contains(store.node.name) == true ? "✓" : " "
            output += "\(Format.id(r.id))  \(date)  \(Format.pad("\(r.annotations) ann, \(r.open) open", 16)) \(mine) \(Format.oneLine(r.title ?? r.opening.map { "… " + $0 } ?? "(untitled)", max: 50))\n"
        }
        if json { context.console.out(bytes: bytes) } else { context.console.out(output) }
        if rows.isEmpty && !json { context.warn("no records match") }
        return ExitCode.success
    }
}

enum AnnotationLine {
    /// `drift`: what changed since a stale review (`Store.reviewDrift`).
    static func render(_ a: Annotation, withRecord: Bool, drift: [(field: String, then: String, now: String)] = []) -> String {
        var parts = [Format.id(a.id)]
        if withRecord { parts.append("record \(Format.id(a.record))") }
        if let s = a.span { parts.append("\(s.start)..\(s.end)") } else { parts.append(a.kindLabel) }
        parts.append(a.codeName.map(Format.safe) ?? (a.code.map { Format.id($0) } ?? "-"))
        if let s = a.span { parts.append("\"\(Format.oneLine(s.quote, max: 30))\"") }
        if let v = a.value { parts.append("value=\(v)") }
        if let stale = a.staleReview {
            parts.append("[open: changed since \(stale.rawValue) by \(Format.safe(a.reviewer ?? "?"))]")
        } else {
            parts.append("[\(a.status.rawValue)]")
        }
        if let author = a.author { parts.append("by \(Format.safe(author))") }
        var line = parts.joined(separator: "  ")
        if let n = a.note { line += "\n      note: \(Format.oneLine(n, max: 70))" }
        if let c = a.comment { line += "\n      review: \(Format.oneLine(c, max: 200))\(a.reviewer.map { " (\(Format.safe($0)))" } ?? "")" }
        for d in drift { line += "\n      \(d.field): \(Format.oneLine(d.then, max: 80)) when reviewed, now \(Format.oneLine(d.now, max: 80))" }
        return line
    }
}

struct ShowCommand: Command {
    static let name = "show"
    static let summary = "Show a record: metadata, the body with coded spans marked, its annotations"
    static let usage = "margin show RECORD [--json]"
    static let details = """
    On a terminal, coded spans are highlighted in their code's colour (not
    when NO_COLOR is set); otherwise they are marked ⟦text⟧{code}.
    """
    var id: String, json: Bool
    init(_ args: inout Arguments) throws {
        json = args.flag("--json")
        id = try args.required("RECORD")
    }

    func run(_ context: Context) throws -> Int32 {
        let store = try context.store()
        let rid = try store.resolve(id, kind: .record)
        guard let r = try store.record(rid) else { throw MarginError.notFound("no record \(id)") }
        let blind = try store.isBlind
        let annotations = try store.annotations(record: rid).filter { store.isVisible($0, blind: blind) }
        let done = try store.doneCoders(record: rid)
        if json {
            var o = recordJSON(r)
            o["annotations"] = annotations.map(annotationJSON)
            o["done"] = done
            try context.printJSON(o)
            return ExitCode.success
        }
        context.print("record \(r.id)")
        for f in Record.metadataFields { if let v = r.metadata(f) { context.print("\(Format.pad(f, 12)) \(Format.safe(v))") } }
        for (k, v) in r.meta.sorted(by: { $0.key < $1.key }) { context.print("\(Format.pad(Format.safe(k), 12)) \(Format.safe(v))") }
        context.print("\(Format.pad("imported", 12)) \(Format.time(r.created))")
        if !done.isEmpty { context.print("\(Format.pad("done", 12)) \(done.map(Format.safe).joined(separator: ", "))") }
        if blind { context.print("\(Format.pad("blind", 12)) on: only your own annotations are shown (margin blind off)") }
        context.print("")
        let colours = Dictionary(try store.codes(includeMerged: true, counted: false).map { ($0.id, $0.colour) }, uniquingKeysWith: { a, _ in a })
        // A span placed on an earlier cleaning is not marked in this text,
        // whose offsets would point elsewhere; its line says so.
        let unanchored = Store.unanchored(annotations, in: r.body)
        context.print(Highlighter.render(body: r.body, annotations: annotations.filter { !unanchored.contains($0.id) }, colours: colours, colour: context.useColour))
        context.print("")
        context.print("annotations (\(annotations.count))")
        for a in annotations {
            var line = "  " + AnnotationLine.render(a, withRecord: false, drift: try store.reviewDrift(a))
            if unanchored.contains(a.id) { line += "  (not anchored in this text: placed on an earlier cleaning; margin reclean \(Format.id(rid)))" }
            context.print(line)
        }
        return ExitCode.success
    }
}

/// Marks coded spans in a body: ANSI colour on a terminal, `⟦…⟧{code}` otherwise.
enum Highlighter {
    static let ansi: [String: String] = [
        "black": "30", "red": "31", "green": "32", "yellow": "33", "blue": "34", "magenta": "35", "cyan": "36",
        "white": "37", "orange": "38;5;208", "purple": "38;5;129", "grey": "90", "gray": "90",
    ]

    static func sgr(_ colour: String?) -> String {
        guard let c = colour else { return "\u{1B}[4;33m" }
        if let code = ansi[c] { return "\u{1B}[4;\(code)m" }
        if c.hasPrefix("bright-"), let code = ansi[String(c.dropFirst(7))], let n = Int(code), (30...37).contains(n) { return "\u{1B}[4;\(n + 60)m" }
        if let n = Store.paletteIndex(c) { return "\u{1B}[4;38;5;\(n)m" }
        if c.hasPrefix("#"), c.count == 7, let v = Int(c.dropFirst(), radix: 16) {
            return "\u{1B}[4;38;2;\((v >> 16) & 255);\((v >> 8) & 255);\(v & 255)m"
        }
        return "\u{1B}[4;33m"
    }

    /// A note's highlight: italic on a grey ground, like no code's colour.
    static let noteStyle = "\u{1B}[3;48;5;238m"

    /// The style of the innermost open span, depth marked: a span inside
    /// another is also overlined, so where two overlap the reader sees both.
    static func style(_ a: Annotation, depth: Int, colours: [String: String?]) -> String {
        var s = a.code == nil ? noteStyle : sgr(colours[a.code ?? ""] ?? nil)
        if depth > 1 { s += "\u{1B}[53m" }
        return s
    }

    /// The body with its spans marked. On a terminal each span is
    /// underlined in its code's colour (notes in their own italic style);
    /// a span that opens inside another shows a dim ⟦ where it starts, and
    /// every span its {code} where it ends, so overlapping spans stay
    /// apart. Otherwise spans are marked ⟦text⟧{code}.
    static func render(body: String, annotations: [Annotation], colours: [String: String?], colour: Bool) -> String {
        // Spans are compared scalar by scalar: no character boundaries needed.
        let text = ScalarText(body, boundaries: false)
        var spans: [(annotation: Annotation, span: Span)] = []
        for a in annotations { if let s = a.span, s.matches(text) { spans.append((a, s)) } }
        // The spans by where they open (the longer first) and by where they
        // close (the later-opened, inner, first), ties in the annotations'
        // order: two sorted lists walked together, not two dictionaries of
        // offsets (each new kind of dictionary costs a process a search of
        // the runtime's tables the first time it is made).
        let opening = spans.indices.sorted { a, b in
            (spans[a].span.start, spans[b].span.end, a) < (spans[b].span.start, spans[a].span.end, b)
        }
        let closing = spans.indices.sorted { a, b in
            (spans[a].span.end, spans[b].span.start, a) < (spans[b].span.end, spans[a].span.start, b)
        }
        var out = ""
        var active: [Int] = []
        func label(_ a: Annotation) -> String { a.codeName.map(Format.safe) ?? a.code.map { Format.id($0) } ?? "note" }
        // Only the offsets where a span opens or closes need a look; the text
        // between two of them goes out in one piece, cut from the body's own
        // bytes, found by walking its scalars once (the offsets come in order).
        let scalars = body.unicodeScalars
        var from = scalars.startIndex, walked = scalars.startIndex, offset = 0
        var nextOpen = 0, nextClose = 0
        while true {
            let i = min(nextOpen < opening.count ? spans[opening[nextOpen]].span.start : text.count,
                        nextClose < closing.count ? spans[closing[nextClose]].span.end : text.count)
            while offset < i, walked < scalars.endIndex { scalars.formIndex(after: &walked); offset += 1 }
            // The body's own characters, controls escaped (paragraph breaks kept).
            if from < walked { out += Printable.text(String(scalars[from..<walked])) }
            from = walked
            // Close the spans that end here, inner (later-opened) ones first.
            while nextClose < closing.count, spans[closing[nextClose]].span.end == i {
                let a = spans[closing[nextClose]].annotation
                nextClose += 1
                active.removeAll { spans[$0].annotation.id == a.id }
                if colour {
                    out += "\u{1B}[0m" + "\u{1B}[2m{\(label(a))}\u{1B}[0m"
                    if let top = active.last { out += style(spans[top].annotation, depth: active.count, colours: colours) }
                } else {
                    out += "⟧{\(label(a))}"
                }
            }
            while nextOpen < opening.count, spans[opening[nextOpen]].span.start == i {
                let k = opening[nextOpen]
                nextOpen += 1
                active.append(k)
                if colour {
                    if active.count > 1 { out += "\u{1B}[0m\u{1B}[2m⟦\u{1B}[0m" }
                    out += style(spans[k].annotation, depth: active.count, colours: colours)
                } else {
                    out += "⟦"
                }
            }
            if i >= text.count, nextOpen == opening.count, nextClose == closing.count { break }
        }
        return out
    }
}

struct SearchCommand: Command {
    static let name = "search"
    static let summary = "Full-text search, Simplified and Traditional alike"
    static let usage = "margin search TEXT [-n N] [--json]"
    static let details = """
    Finds records containing TEXT in their title, body or metadata (place,
    source, url, author, editor, free keys), the most relevant first: BM25
    over body and title (a match in the title counts double, one in the
    metadata once), ties by publication date. 党支部 finds 黨支部 and the reverse; Latin letters match in
    either case. TEXT is matched as a literal phrase of at most 200
    characters. The index of characters and character pairs finds the
    candidates (a query of punctuation alone scans); each is checked for the
    whole text.
    """
    var text: String, limit: Int?, json: Bool, order: Store.SearchOrder
    init(_ args: inout Arguments) throws {
        limit = try args.intOption("-n", "--limit", min: 0)
        json = args.flag("--json")
        let sort = try args.option("--sort") ?? "relevance"
        guard let o = Store.SearchOrder(rawValue: sort) else { throw UsageError("--sort takes relevance, published or imported, not '\(sort)'") }
        order = o
        let words = args.remaining()
        guard !words.isEmpty else { throw UsageError("missing TEXT") }
        text = words.joined(separator: " ")
        let length = Store.searchLength(text)
        if length > Store.maxSearchLength {
            throw UsageError("the search text is \(length) characters long; at most \(Store.maxSearchLength) are allowed (search for a distinctive part of it)")
        }
        if length == 0 { throw UsageError("the search text is empty") }
    }

    func run(_ context: Context) throws -> Int32 {
        let store = try context.store()
        var any = false
        func show(_ h: Store.SearchHit, _ ranked: Store.RankedHit?) throws -> Bool {
            any = true
            if json {
                try printJSON(h, context, ranked)
                return true
            }
            // The snippets are cut from the body alone.
            guard let text = try store.recordBody(h.record) else { return true }
            let body = ScalarText(text, boundaries: false)
            let inMetadata = ranked.map { $0.metadata.isEmpty ? "" : ", in \($0.metadata.joined(separator: ", "))" } ?? ""
            context.print("\(Format.id(h.record))  \(Format.oneLine(h.title ?? "(untitled)", max: 60))  (\(h.matchCount) in body\(inMetadata))")
            for start in h.matches {
                let before = Format.oneLine(body.slice(max(0, start - 20), start), max: 40)
                let match = Format.safe(body.slice(start, start + h.matchLength))
                let after = Format.oneLine(body.slice(start + h.matchLength, min(body.count, start + h.matchLength + 20)), max: 40)
                let marked = context.useColour ? "\u{1B}[1;33m\(match)\u{1B}[0m" : "⟦\(match)⟧"
                context.print("    \(start): …\(before)\(marked)\(after)…")
            }
            return true
        }
        if order == .imported {
            // Streams: the newest hits print while the index is still read.
            try store.forEachSearchHit(text, limit: limit) { try show($0, nil) }
        } else {
            for ranked in try store.rankedSearch(text, order: order, limit: limit) {
                if let h = try store.searchHit(text, record: ranked.record) { _ = try show(h, ranked) }
            }
        }
        if !any && !json { context.warn("no matches for '\(Format.oneLine(text, max: 60))'") }
        return ExitCode.success
    }

    /// One hit as one JSON line, its matches written a thousand at a time so
    /// that a record with a million matches needs no million-entry array.
    func printJSON(_ h: Store.SearchHit, _ context: Context, _ ranked: Store.RankedHit? = nil) throws {
        // Keys in sorted order, as every JSON line of the CLI has them.
        var chunk = "{\"match_count\":\(h.matchCount),\"matches\":["
        var first = true
        h.forEachMatch { start in
            chunk += (first ? "" : ",") + "{\"end\":\(start + h.matchLength),\"start\":\(start)}"
            first = false
            if chunk.utf8.count > 32_768 {
                context.console.out(chunk)
                chunk = ""
            }
            return true
        }
        chunk += "],\"record\":"
        JSONText.string(h.record, into: &chunk)
        if let ranked {
            if !ranked.metadata.isEmpty { chunk += ",\"metadata\":[" + ranked.metadata.map { m -> String in var o = ""; JSONText.string(m, into: &o); return o }.joined(separator: ",") + "]" }
            chunk += ",\"score\":\((ranked.score * 10000).rounded() / 10000)"
        }
        if let t = h.title {
            chunk += ",\"title\":"
            JSONText.string(t, into: &chunk)
        }
        context.console.out(chunk + "}\n")
    }
}
