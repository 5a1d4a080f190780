import Foundation
import MarginCore

/// The workspace's JSON API: each call is one of the CLI's operations on
/// the store, so a write from the page is the same change, in the same
/// transaction, as the command it stands for, and syncs as any change.
/// Offsets are Unicode scalars, as everywhere in Margin; the page converts
/// its UTF-16 selections before it sends them.
struct WorkspaceAPI {
    let store: Store

    typealias Value = JSONText.Value

    static func json(_ value: Value, status: Int = 200) -> HTTPResponse {
        var out: [UInt8] = []
        JSONText.write(value, into: &out)
        return HTTPResponse(status: status, contentType: "application/json; charset=utf-8", body: out)
    }

    static func error(_ status: Int, _ message: String) -> HTTPResponse {
        json(.object([("error", .string(message))]), status: status)
    }

    // MARK: - Reads

    func get(_ name: String, _ query: [String: String]) throws -> HTTPResponse {
        switch name {
        case "state": return WorkspaceAPI.json(try state())
        case "version": return WorkspaceAPI.json(.object([("changes", .int(try store.changeCount()))]))
        case "records": return WorkspaceAPI.json(try records(query))
        case "record":
            guard let id = query["id"], !id.isEmpty else { throw HTTPError(400, "give the record's id (?id=)") }
            return WorkspaceAPI.json(try record(try store.resolve(id, kind: .record)))
        case "conflicts": return WorkspaceAPI.json(.array(try store.conflicts(includeResolved: false).map(conflict)))
        case "review": return WorkspaceAPI.json(try reviewQueue())
        case "coders": return WorkspaceAPI.json(.array(try store.coders().map { .string($0) }))
        case "fold":
            // What a code name or a search folds to (Traditional to
            // Simplified, as every search in Margin), for the code picker.
            return WorkspaceAPI.json(.object([("folded", .string(ScriptFolding.fold(query["text"] ?? "").lowercased()))]))
        case "agree": return WorkspaceAPI.json(try agreement(query).json)
        case "agree.csv": return WorkspaceAPI.csv(try agreementCSV(try agreement(query)), name: "agreement.csv")
        case "frequencies": return WorkspaceAPI.json(try frequencies(query))
        case "frequencies.csv":
            let by = try group(query)
            let rows = try store.codeCounts(by: by).map { [$0.layer, $0.group ?? "", $0.code, String($0.annotations), String($0.records)] }
            return WorkspaceAPI.csv(DelimitedText.csv(headers: ["layer", by.rawValue, "code", "annotations", "records"], rows: rows, neutralizingFormulas: true),
                                    name: "frequencies-by-\(by.rawValue).csv")
        case "compare": return WorkspaceAPI.json(try compare(query))
        case "peers":
            return WorkspaceAPI.json(.array(try store.peers().map { p in
                .sortedObject([("id", .string(p.id.hex)), ("name", .string(p.name)), ("address", p.address.map { .string($0) } ?? .null),
                               ("last_sync", p.lastSync.map { .string(ISOTime.format($0)) } ?? .null)])
            }))
        default: throw HTTPError(404, "no API call \(name)")
        }
    }

    static func csv(_ text: String, name: String) -> HTTPResponse {
        HTTPResponse(status: 200, contentType: "text/csv; charset=utf-8", body: Array(text.utf8),
                     headers: [("Content-Disposition", "attachment; filename=\"\(name)\"")])
    }

    // MARK: - Conflicts and the review walk

    /// A node's name as people know it.
    func name(_ origin: NodeID) -> String {
        if origin == store.node.id { return store.node.name }
        return ((try? store.nodeName(of: origin)) ?? nil) ?? origin.hex
    }

    /// A conflict with both sides in full, and what it is about.
    func conflict(_ c: Conflict) throws -> Value {
        let (winner, other) = try store.conflictSides(c)
        var about: [(String, Value)] = [("kind", .string(c.kind.rawValue)), ("entity", .string(c.entity))]
        if c.kind == .annotation, let a = try store.annotation(c.entity, includingDeleted: true) {
            about += [("record", .string(a.record)), ("code", a.codeName.map { .string($0) } ?? .null),
                      ("quote", a.span.map { .string($0.quote) } ?? .null)]
            if let title = try store.record(a.record)?.title { about.append(("title", .string(title))) }
        } else if c.kind == .record, let title = try store.winner(.record, EntityID(stored: c.entity), "title")?.value.string {
            about.append(("title", .string(title)))
        } else if c.kind == .code, let n = try store.winner(.code, EntityID(stored: c.entity), "name")?.value.string {
            about.append(("code", .string(n)))
        }
        func side(_ change: Change, _ lines: [String]) -> Value {
            .sortedObject([("by", .string(name(change.id.origin))), ("at", .string(ISOTime.format(change.hlc.milliseconds))),
                           ("lines", .array(lines.map { .string($0) }))])
        }
        return .sortedObject([("id", .string(c.id)), ("field", .string(c.field)), ("about", .sortedObject(about)),
                              ("winner", side(c.winner, winner)), ("other", side(c.loser, other))])
    }

    /// What `margin review` walks: suggestions, then open annotations (each
    /// with its record's title), then open conflicts. Blind coding holds.
    func reviewQueue() throws -> Value {
        let blind = try store.isBlind
        var titles: [String: String] = [:]
        func title(_ record: String) throws -> String {
            if let t = titles[record] { return t }
            let t = try store.record(record).map { $0.title ?? String($0.body.prefix(30)) } ?? record
            titles[record] = t
            return t
        }
        // At most `reviewPage` of each kind: decided ones leave the queue,
        // and the next read brings the next ones.
        var items: [Value] = []
        var more = false
        for status in [ReviewStatus.suggested, .open] {
            var taken = 0
            try store.forEachAnnotation(status: status) { a in
                guard store.isVisible(a, blind: blind) else { return true }
                guard taken < WorkspaceAPI.reviewPage else { more = true; return false }
                taken += 1
                items.append(.sortedObject([("type", .string("annotation")), ("annotation", annotation(a)),
                                            ("record", .string(a.record)), ("title", .string(try title(a.record)))]))
                return true
            }
        }
        var conflicts: [Conflict] = []
        // One more than a page, read in SQL, tells whether there are more.
        try store.forEachConflict(includeResolved: false, limit: WorkspaceAPI.reviewPage + 1) { c in
            guard conflicts.count < WorkspaceAPI.reviewPage else { more = true; return false }
            conflicts.append(c)
            return true
        }
        for c in conflicts { items.append(.sortedObject([("type", .string("conflict")), ("conflict", try conflict(c))])) }
        return .sortedObject([("items", .array(items)), ("more", .bool(more))])
    }

    static let reviewPage = 200

    // MARK: - Team

    func coderPair(_ query: [String: String]) throws -> (String, String)? {
        guard let given = query["coders"], !given.isEmpty else { return nil }
        let names = given.split(separator: ",").map(String.init)
        guard names.count == 2 else { throw HTTPError(400, "coders names two coders, A,B") }
        _ = try store.requireCoders(names)
        return (names[0], names[1])
    }

    func agreement(_ query: [String: String]) throws -> Store.AgreementReport {
        let coders = query["coders"].flatMap { $0.isEmpty ? nil : $0.split(separator: ",").map(String.init) }
        return try store.agreement(coders: coders)
    }

    /// The chart's numbers as a table: one row per code and measure.
    func agreementCSV(_ r: Store.AgreementReport) throws -> String {
        func n(_ v: Double?) -> String { v.map { String(($0 * 10000).rounded() / 10000) } ?? "" }
        var rows: [[String]] = []
        for t in r.tags {
            rows.append([t.code, r.coders.count == 2 ? "cohen_kappa" : "fleiss_kappa", n(t.kappa?.value), "", "", String(t.units)])
            rows.append([t.code, "krippendorff_alpha", n(t.alpha?.value), n(t.alphaInterval?.low), n(t.alphaInterval?.high), String(t.units)])
        }
        for sp in r.spans {
            rows.append([sp.code, "span_exact_f1", n(sp.exactF1), "", "", ""])
            rows.append([sp.code, "span_overlap_f1", n(sp.overlapF1), n(sp.overlapInterval?.low), n(sp.overlapInterval?.high), ""])
        }
        return DelimitedText.csv(headers: ["code", "measure", "value", "ci95_low", "ci95_high", "units"], rows: rows, neutralizingFormulas: true)
    }

    func group(_ query: [String: String]) throws -> Store.TableGroup {
        let by = query["by"] ?? "place"
        guard let g = Store.TableGroup(rawValue: by), g == .place || g == .month || g == .source else {
            throw HTTPError(400, "by is place, month or source")
        }
        return g
    }

    /// Annotations per code and group, as `margin table codes --by` counts them.
    func frequencies(_ query: [String: String]) throws -> Value {
        let by = try group(query)
        return .sortedObject([
            ("by", .string(by.rawValue)),
            ("rows", .array(try store.codeCounts(by: by).map { c in
                .sortedObject([("layer", .string(c.layer)), ("group", .string(c.group ?? "")), ("code", .string(c.code)),
                               ("annotations", .int(c.annotations)), ("records", .int(c.records))])
            })),
        ])
    }

    /// Two coders on one record: what they agree on and where they differ,
    /// each difference numbered for `adjudicate`.
    func compare(_ query: [String: String]) throws -> Value {
        guard let given = query["record"], !given.isEmpty else { throw HTTPError(400, "give the record (?record=)") }
        let record = try store.resolve(given, kind: .record)
        guard let pair = try coderPair(query) else { throw HTTPError(400, "give two coders (?coders=A,B)") }
        let (agreed, differ) = try store.compare(record: record, coders: pair)
        return .sortedObject([
            ("agreed", .array(agreed.map { .array([annotation($0.0), annotation($0.1)]) })),
            ("differ", .array(differ.enumerated().map { i, d in
                .sortedObject([("index", .int(i)), ("kind", .string(d.kind.rawValue)), ("fields", .array(d.fields.map { .string($0) })),
                               ("first", d.first.map(annotation) ?? .null), ("second", d.second.map(annotation) ?? .null),
                               ("settled", .bool(d.settled))])
            })),
            ("gold", .array(try store.goldAnnotations(record: record).map(annotation))),
        ])
    }

    /// Who this node is, whether blind coding is on, and the codebook with
    /// each code's colour as CSS takes it.
    func state() throws -> Value {
        let codes = try store.codes(counted: false)
        return .sortedObject([
            ("node", .string(store.node.name)),
            ("blind", .bool(try store.isBlind)),
            ("changes", .int(try store.changeCount())),
            ("codes", .array(codes.enumerated().map { i, c in
                .sortedObject([("id", .string(c.id)), ("name", .string(c.name)),
                               ("folded", .string(ScriptFolding.fold(c.name).lowercased())),
                               ("colour", .string(WebColour.css(c.colour, index: i))),
                               ("description", c.description.map { .string($0) } ?? .null)])
            })),
        ])
    }

    static let pageSizes = 1...500

    /// One page of the record list, with the total it is a page of.
    func records(_ query: [String: String]) throws -> Value {
        var filter = Store.RecordFilter()
        func given(_ key: String) -> String? { query[key].flatMap { $0.isEmpty ? nil : $0 } }
        if let code = given("code") { filter.code = try codeID(code) }
        if let status = given("status") {
            guard let s = ReviewStatus(rawValue: status) else { throw HTTPError(400, "unknown status \(status)") }
            filter.status = s
        }
        filter.text = given("q")
        filter.place = given("place")
        filter.since = given("since")
        filter.until = given("until")
        filter.codedBy = given("coder")
        switch given("done") {
        case nil: break
        case "yes"?: filter.doneBy = store.node.name
        case "no"?: filter.notDoneBy = store.node.name
        case let other?: throw HTTPError(400, "done is yes or no (marked done by you or not), not \(other)")
        }
        if try store.isBlind { filter.onlyAuthor = store.node.name }
        let limit = try number(query["limit"], default: 50, WorkspaceAPI.pageSizes, "limit")
        filter.offset = try number(query["offset"], default: 0, 0...Int(Int32.max), "offset")
        let total = try store.recordCount(filter)
        filter.limit = limit
        let page = try store.records(filter)
        let done = try store.doneMarks()
        return .sortedObject([
            ("total", .int(total)), ("offset", .int(filter.offset)), ("limit", .int(limit)),
            ("records", .array(page.map { r in
                .sortedObject([("id", .string(r.id)), ("title", .string(r.title ?? r.opening ?? "")),
                               ("published", r.published.map { .string($0) } ?? .null),
                               ("place", r.place.map { .string($0) } ?? .null),
                               ("annotations", .int(r.annotations)), ("open", .int(r.open)),
                               ("done", .array((done[r.id] ?? []).sorted().map { .string($0) }))])
            })),
        ])
    }

    func number(_ text: String?, default value: Int, _ range: ClosedRange<Int>, _ name: String) throws -> Int {
        guard let text, !text.isEmpty else { return value }
        guard let n = Int(text), range.contains(n) else { throw HTTPError(400, "\(name) must be a whole number from \(range.lowerBound) to \(range.upperBound)") }
        return n
    }

    /// A code named by id, id prefix or name, as the CLI takes it (a merged
    /// code stands for the code it was merged into).
    func codeID(_ given: String) throws -> String { try store.resolveCode(given) }

    /// A record whole: metadata, body, the annotations this user may see
    /// (blind coding), and who marked it done.
    func record(_ id: String) throws -> Value {
        guard let r = try store.record(id) else { throw MarginError.notFound("no record \(id)") }
        let blind = try store.isBlind
        let annotations = try store.annotations(record: id).filter { store.isVisible($0, blind: blind) }
        var meta: [(String, Value)] = []
        for field in Record.metadataFields { if let v = r.metadata(field) { meta.append((field, .string(v))) } }
        for (k, v) in r.meta.sorted(by: { $0.key < $1.key }) where !Record.metadataFields.contains(k) { meta.append((k, .string(v))) }
        return .sortedObject([
            ("id", .string(r.id)),
            ("title", .string(r.title ?? String(r.body.split(whereSeparator: \.isNewline).first?.prefix(40) ?? ""))),
            ("body", .string(r.body)),
            ("metadata", .array(meta.map { .array([.string($0.0), $0.1]) })),
            ("done", .array(try store.doneCoders(record: id).map { .string($0) })),
            ("annotations", .array(annotations.map(annotation))),
        ])
    }

    func annotation(_ a: Annotation) -> Value {
        .sortedObject([
            ("id", .string(a.id)), ("code", a.code.map { .string($0) } ?? .null),
            ("codeName", a.codeName.map { .string($0) } ?? .null),
            ("start", a.span.map { .int($0.start) } ?? .null), ("end", a.span.map { .int($0.end) } ?? .null),
            ("quote", a.span.map { .string($0.quote) } ?? .null),
            ("value", a.value.map { .string($0) } ?? .null), ("note", a.note.map { .string($0) } ?? .null),
            ("status", .string(a.status.rawValue)), ("author", a.author.map { .string($0) } ?? .null),
            ("kind", .string(a.kindLabel)),
        ])
    }

    // MARK: - Writes

    func post(_ name: String, _ body: [String: JSONValue]) throws -> HTTPResponse {
        func text(_ key: String) throws -> String {
            guard let s = body[key]?.string, !s.isEmpty else { throw HTTPError(400, "give \(key) (a string)") }
            return s
        }
        func optionalText(_ key: String) throws -> String? {
            switch body[key] {
            case nil, .null?: return nil
            case .string(let s)?: return s.isEmpty ? nil : s
            default: throw HTTPError(400, "\(key) must be a string")
            }
        }
        /// An id or a prefix of one, as the CLI takes them.
        func id(_ key: String, _ kind: EntityKind) throws -> String { try store.resolve(try text(key), kind: kind) }
        func int(_ key: String) throws -> Int {
            guard let n = body[key]?.int, let i = Int(exactly: n) else { throw HTTPError(400, "give \(key) (a whole number)") }
            return i
        }
        switch name {
        case "annotate", "tag":
            // The same code on the same span (or the same tag) twice is
            // refused, as `annotate`/`tag` refuse it without --again.
            let record = try id("record", .record)
            let code = try codeID(try text("code"))
            let span: SpanRequest? = name == "tag" ? nil : .range(try int("start"), try int("end"))
            do {
                let id = try store.code(record: record, code: code, span: span, value: try optionalText("value"),
                                        note: try optionalText("note"), again: body["again"] == .bool(true))
                return WorkspaceAPI.json(.object([("id", .string(id))]))
            } catch let e as Store.SameCoding {
                return WorkspaceAPI.error(409, "you \(name == "tag" ? "tagged this record" : "coded this span") with \(e.existing.codeName ?? code) already")
            }
        case "note":
            let span: SpanRequest?
            switch (body["start"], body["end"]) {
            case (nil, nil), (.null?, .null?): span = nil
            default: span = .range(try int("start"), try int("end"))
            }
            let id = try store.annotate(record: try id("record", .record), code: nil, span: span, value: nil, note: try text("text"))
            return WorkspaceAPI.json(.object([("id", .string(id))]))
        case "respan":
            var e = Store.AnnotationEdit()
            e.span = .range(try int("start"), try int("end"))
            try store.edit(annotation: try id("annotation", .annotation), e)
        case "review":
            let status = try text("status")
            guard let s = ReviewStatus(rawValue: status), s != .suggested else { throw HTTPError(400, "status is accepted, rejected or open") }
            try store.review(annotation: try id("annotation", .annotation), status: s, comment: try optionalText("comment"))
        case "delete":
            try store.delete(annotation: try id("annotation", .annotation))
        case "done":
            guard case .bool(let done)? = body["done"] else { throw HTTPError(400, "give done (true or false)") }
            try store.markDone(record: try id("record", .record), done)
        case "resolve":
            let conflict = try id("conflict", .conflict)
            let resolution: Store.Resolution
            switch (try optionalText("keep"), try optionalText("value")) {
            case ("winner"?, nil): resolution = .keepWinner
            case ("other"?, nil): resolution = .keepOther
            case (nil, let v?): resolution = .value(v)
            default: throw HTTPError(400, "give keep (winner or other) or a value, not both")
            }
            try store.resolve(conflict: conflict, resolution, comment: try optionalText("comment"))
        case "adjudicate":
            let record = try id("record", .record)
            let names = try text("coders").split(separator: ",").map(String.init)
            guard names.count == 2 else { throw HTTPError(400, "coders names two coders, A,B") }
            guard let decision = Store.Decision(rawValue: try text("take")) else { throw HTTPError(400, "take is first, second, both or neither") }
            let (_, differ) = try store.compare(record: record, coders: (names[0], names[1]))
            let index = try int("index")
            guard differ.indices.contains(index) else { throw MarginError.notFound("no difference \(index) on this record (it changed: read it again)") }
            let d = differ[index]
            // The page names the annotations it showed: a list that changed
            // since is refused, not settled by position.
            guard (try optionalText("first")) == d.first?.id, (try optionalText("second")) == d.second?.id else {
                throw MarginError.invalid("the differences on this record changed since the page read them: read it again")
            }
            try store.adjudicate(d, decision, coders: (names[0], names[1]))
        default:
            throw HTTPError(404, "no API call \(name)")
        }
        return WorkspaceAPI.json(.object([("ok", .bool(true))]))
    }
}

/// A code's colour as CSS reads it, always `#rrggbb` (so nothing from the
/// store reaches a style but six hex digits): names as a terminal shows
/// them, palette entries as xterm's 256 colours, none by a fixed set.
enum WebColour {
    static let named: [String: String] = [
        "black": "#4d4d4d", "red": "#e06c75", "green": "#8fc97a", "yellow": "#e5c07b", "blue": "#61afef",
        "magenta": "#c678dd", "cyan": "#56b6c2", "white": "#dcdcdc", "orange": "#f0a35e", "purple": "#a682e0",
        "grey": "#a0a0a0", "gray": "#a0a0a0", "bright-black": "#7f7f7f", "bright-red": "#ff7b86",
        "bright-green": "#a8e890", "bright-yellow": "#ffe08a", "bright-blue": "#8cc8ff", "bright-magenta": "#e39cf5",
        "bright-cyan": "#7fe0ea", "bright-white": "#f5f5f5",
    ]
    static let fallback = ["#f6c453", "#8cc8ff", "#a8e890", "#f5a3b5", "#c9a8f5", "#7fe0ea", "#f0a35e", "#d4d4a0"]

    static func css(_ colour: String?, index: Int) -> String {
        let c = colour?.lowercased() ?? ""
        if let hex = named[c] { return hex }
        if let n = Store.paletteIndex(c) { return palette(n) }
        let bytes = Array(c.utf8)
        if bytes.count == 7, bytes[0] == UInt8(ascii: "#"), bytes.dropFirst().allSatisfy(LowerHex.isDigit) { return c }
        return fallback[index % fallback.count]
    }

    /// xterm's 256 colours: 16 system colours, a 6×6×6 cube, 24 greys.
    static func palette(_ n: Int) -> String {
        func hex(_ r: Int, _ g: Int, _ b: Int) -> String { String(format: "#%02x%02x%02x", r, g, b) }
        let system = ["#000000", "#800000", "#008000", "#808000", "#000080", "#800080", "#008080", "#c0c0c0",
                      "#808080", "#ff0000", "#00ff00", "#ffff00", "#0000ff", "#ff00ff", "#00ffff", "#ffffff"]
        if n < 16 { return system[n] }
        if n < 232 {
            let i = n - 16, steps = [0, 95, 135, 175, 215, 255]
            return hex(steps[i / 36], steps[(i / 6) % 6], steps[i % 6])
        }
        let g = 8 + (n - 232) * 10
        return hex(g, g, g)
    }
}
