import Foundation
import MarginCore

/// Parses `--coders a,b` (also repeatable).
private func coderList(_ args: inout Arguments) throws -> [String]? {
    let given = try args.options("--coders", "--coder").flatMap { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
        .filter { !$0.isEmpty }
    return given.isEmpty ? nil : given
}

/// Two coders: the pair named, or the store's only two.
private func coderPair(_ store: Store, _ names: [String]?) throws -> (String, String) {
    let coders = try store.requireCoders(names)
    guard coders.count == 2 else {
        throw UsageError("choose two coders with --coders A,B (this store has \(try store.coders().joined(separator: ", ")))")
    }
    // In the order given, when given.
    if let names, names.count == 2 { return (names[0], names[1]) }
    return (coders[0], coders[1])
}

private func number(_ v: Double?) -> String { v.map { String(format: "%.3f", $0) } ?? "—" }
private func interval(_ i: (low: Double, high: Double)?) -> String { i.map { String(format: "[%.2f, %.2f]", $0.low, $0.high) } ?? "—" }

struct AgreeCommand: Command {
    static let name = "agree"
    static let summary = "Agreement between coders: κ and α for tags, F1 for spans, extracted values"
    static let usage = "margin agree [--coders A,B,...] [--code CODE]... [--records TEXT] [--json]"
    static let details = """
    Coders are the authors of annotations (each node's name). What counts as
    a coder's coding is their own layer: the annotations they made and the
    suggestions they accepted; never a suggestion still waiting (`margin
    suggest`), never another coder's annotation, never the gold layer that
    `margin adjudicate` writes (name `gold` among --coders to compare it).
    Reviews do not change a layer, so agreement is the same before and after
    adjudication.

    A coder is present on a record exactly when they marked it done (`margin
    done RECORD`). There, every code they did not use is a "no". A coder who
    did not mark a record done is missing there, whatever they annotated. A
    record is a unit when two or more of the coders marked it done; records
    with coding or marks but fewer than two done are left out, and counted.

    Record-level tags, per code and over all codes pooled: each coder's value
    on a record is whether they tagged it with the code. Given are the units,
    observed and expected agreement, Cohen's κ (two coders; Fleiss' κ for
    more, over the records every coder coded), Krippendorff's α (nominal,
    missing data allowed) and a 95% bootstrap interval for α (1000 draws of
    the records, seeded: the same data gives the same interval; the pooled
    row draws records too, each with all its codes).

    Spans, per code: F1 between each pair of coders, 2 × matched / (spans of
    one + spans of the other). Exact: same code, start and end. Overlap: same
    code and at least one character in common, each span matched once,
    largest overlaps first. Offsets are Unicode code points, as everywhere.

    Extracted values: of the overlap-matched spans where either coder gave a
    value, how many give the same one (compared after NFC and trimming), and
    each disagreement.
    """
    var coders: [String]?, codes: [String], text: String?, json: Bool
    init(_ args: inout Arguments) throws {
        coders = try coderList(&args)
        codes = try args.options("--code")
        text = try args.option("--records")
        json = args.flag("--json")
        try args.finish()
    }

    func run(_ context: Context) throws -> Int32 {
        let store = try context.store()
        let codeIDs = codes.isEmpty ? nil : try codes.map { try store.resolveCode($0) }
        let records = try text.map { Set(try store.records(Store.RecordFilter(text: $0)).map(\.id)) }
        let r = try store.agreement(coders: coders, codes: codeIDs, records: records)
        if json {
            try context.printJSON(r.json)
            return ExitCode.success
        }
        context.print("coders: \(r.coders.joined(separator: ", "))    records marked done by two or more: \(r.records)")
        if r.leftOut > 0 || r.notDoneAnnotations > 0 {
            var parts: [String] = []
            if r.leftOut > 0 { parts.append("\(r.leftOut) record\(r.leftOut == 1 ? "" : "s") left out (fewer than two of the coders marked \(r.leftOut == 1 ? "it" : "them") done)") }
            if r.notDoneAnnotations > 0 { parts.append("\(r.notDoneAnnotations) annotation\(r.notDoneAnnotations == 1 ? "" : "s") on records their coder did not mark done not counted") }
            context.print(parts.joined(separator: "; ") + "; see `margin done --help`")
        }
        let kappaName = r.coders.count == 2 ? "Cohen κ" : "Fleiss κ"
        context.print("")
        if r.tags.isEmpty {
            context.print("record-level tags: none to compare")
        } else {
            context.print("record-level tags")
            context.print(TextTable(headers: ["code", "units", "observed", "expected", kappaName, "α", "α 95% CI"], rows: r.tags.map { t in
                [t.code, String(t.units), number(t.alpha?.observed), number(t.alpha?.expected), number(t.kappa?.value),
                 number(t.alpha?.value), interval(t.alphaInterval)]
            }, numeric: [1]).aligned())
        }
        context.print("")
        if r.spans.isEmpty {
            context.print("spans: none to compare")
        } else {
            context.print("spans (F1: exact = same code and offsets; overlap = same code, a character in common)")
            context.print(TextTable(headers: ["code"] + r.coders + ["exact F1", "overlap F1", "95% CI (overlap)"], rows: r.spans.map { sp in
                [sp.code] + r.coders.map { String(sp.spans[$0] ?? 0) } + [number(sp.exactF1), number(sp.overlapF1), interval(sp.overlapInterval)]
            }, numeric: Set(1...r.coders.count)).aligned())
        }
        context.print("")
        if r.valuePairs == 0 {
            context.print("extracted values: none on matched spans")
        } else {
            context.print("extracted values: \(r.valueAgreements) of \(r.valuePairs) matched spans agree (\(Int((Double(r.valueAgreements) / Double(r.valuePairs) * 100).rounded()))%)")
            for d in r.valueDisagreements {
                let values = d.values.sorted { $0.key < $1.key }.map { "\(Format.safe($0.key)): \(Format.oneLine($0.value.isEmpty ? "(none)" : $0.value, max: 20))" }
                context.print("  \(Format.id(d.record))  \(Format.safe(d.code))  \"\(Format.oneLine(d.quote, max: 24))\"  \(values.joined(separator: "  "))")
            }
        }
        return ExitCode.success
    }
}

/// Draws one record's body with two coders' spans: the first coder's in
/// ⟦…⟧{code}, the second's in ⟨…⟩{code} (underlined and overlined in colour
/// on a terminal), so both are seen in one reading, overlaps included.
enum ComparisonRenderer {
    static func render(body: String, first: [Annotation], second: [Annotation], colour: Bool) -> String {
        let text = ScalarText(body)
        var opens: [Int: String] = [:], closes: [Int: String] = [:]
        func mark(_ list: [Annotation], open: String, close: String, on: String) {
            for a in list {
                guard let s = a.span, s.matches(text) else { continue }
                let code = Format.safe(a.codeName ?? "?")
                opens[s.start, default: ""] += colour ? "\u{1B}[\(on)m" + open : open
                closes[s.end, default: ""] = (colour ? close + "{\(code)}\u{1B}[0m" : close + "{\(code)}") + (closes[s.end] ?? "")
            }
        }
        mark(first, open: "⟦", close: "⟧", on: "4")
        mark(second, open: "⟨", close: "⟩", on: "53")
        var out = ""
        for i in 0...text.count {
            if let c = closes[i] { out += c }
            if let o = opens[i] { out += o }
            if i < text.count { out += Printable.text(text.slice(i, i + 1)) }
        }
        return out
    }
}

struct CompareCommand: Command {
    static let name = "compare"
    static let summary = "Show one record as two coders coded it, and where they differ"
    static let usage = "margin compare RECORD [--coders A,B] [--json]"
    static let details = """
    The body once, with the first coder's spans marked ⟦text⟧{code} and the
    second's ⟨text⟩{code}. Below it, the disagreements: a span or tag only
    one coder marked, or overlapping spans (or the same tag) that differ in
    code, span or value. Spans are paired by overlap whatever their code,
    largest overlaps first. A disagreement `margin adjudicate` settled is
    marked as such.
    """
    var id: String, coders: [String]?, json: Bool
    init(_ args: inout Arguments) throws {
        coders = try coderList(&args)
        json = args.flag("--json")
        id = try args.required("RECORD")
        try args.finish()
    }

    func run(_ context: Context) throws -> Int32 {
        let store = try context.store()
        if try store.isBlind { throw MarginError.invalid("blind coding is on: compare would show the other coder's annotations (margin blind off)") }
        let rid = try store.resolve(id, kind: .record)
        guard let record = try store.record(rid) else { throw MarginError.notFound("no record \(id)") }
        let pair = try coderPair(store, coders)
        let (agreed, differ) = try store.compare(record: rid, coders: pair)
        let all = try store.annotations(record: rid)
        if json {
            func item(_ a: Annotation?) -> Any {
                guard let a else { return NSNull() }
                return ["id": a.id, "code": a.codeName ?? NSNull(), "start": a.span?.start ?? NSNull(), "end": a.span?.end ?? NSNull(),
                        "quote": a.span?.quote ?? NSNull(), "value": a.value ?? NSNull(), "status": a.status.rawValue] as [String: Any]
            }
            try context.printJSON([
                "record": rid, "coders": [pair.0, pair.1], "agreed": agreed.count,
                "disagreements": differ.map { ["kind": $0.kind.rawValue, "fields": $0.fields, "settled": $0.settled,
                                               "first": item($0.first), "second": item($0.second)] as [String: Any] },
            ] as [String: Any])
            return ExitCode.success
        }
        context.print("record \(rid)  \(Format.oneLine(record.title ?? "", max: 50))")
        context.print("⟦…⟧ \(Format.safe(pair.0))    ⟨…⟩ \(Format.safe(pair.1))")
        context.print("")
        context.print(ComparisonRenderer.render(body: record.body, first: all.filter { $0.layer == pair.0 && $0.code != nil },
                                                second: all.filter { $0.layer == pair.1 && $0.code != nil }, colour: context.useColour))
        context.print("")
        context.print("\(agreed.count) agreed, \(differ.count) disagreement\(differ.count == 1 ? "" : "s")")
        for (n, d) in differ.enumerated() { context.print(DisagreementLine.render(n + 1, d, pair)) }
        return ExitCode.success
    }
}

enum DisagreementLine {
    static func describe(_ a: Annotation) -> String {
        var s = Format.safe(a.codeName ?? "?")
        if let span = a.span { s += " \(span.start)..\(span.end) \"\(Format.oneLine(span.quote, max: 24))\"" } else { s += " (tag)" }
        if let v = a.value { s += " = \(Format.oneLine(v, max: 20))" }
        return s
    }

    static func render(_ n: Int, _ d: Store.Disagreement, _ pair: (String, String)) -> String {
        let settled = d.settled ? "  [settled]" : ""
        switch d.kind {
        case .onlyFirst: return "  \(n). only \(Format.safe(pair.0)): \(d.first.map(describe) ?? "")\(settled)"
        case .onlySecond: return "  \(n). only \(Format.safe(pair.1)): \(d.second.map(describe) ?? "")\(settled)"
        case .differ:
            return "  \(n). \(d.fields.joined(separator: ", ")) differ: \(Format.safe(pair.0)) \(d.first.map(describe) ?? "")"
                + "  |  \(Format.safe(pair.1)) \(d.second.map(describe) ?? "")\(settled)"
        }
    }
}

struct AdjudicateCommand: Command {
    static let name = "adjudicate"
    static let summary = "Settle two coders' disagreements on a record into the gold layer"
    static let usage = "margin adjudicate RECORD [--coders A,B] [--take first|second|both|neither]"
    static let details = """
    What the two coders agree on goes into the gold layer first. Then each
    open disagreement is shown and a decision read, one line each:

      1 (or the first coder's name)    take the first coder's annotation
      2 (or the second coder's name)   take the second coder's
      b                                take both
      n                                take neither
      s                                skip, decide later
      q                                stop here

    Taken annotations are copied into the gold layer: accepted annotations
    whose author is "gold", reviewed by this node. Both coders' annotations
    are reviewed too (accepted if taken, rejected if not) with a comment
    naming the decision, so the disagreement shows as settled. Each decision
    is written at once, as ordinary changes that sync; quitting loses none.
    Standard input need not be a terminal: one decision per line.
    """
    var id: String, coders: [String]?, take: Store.Decision?
    init(_ args: inout Arguments) throws {
        coders = try coderList(&args)
        if let t = try args.option("--take") {
            guard let d = Store.Decision(rawValue: t) else { throw UsageError("--take must be first, second, both or neither, not '\(t)'") }
            take = d
        }
        id = try args.required("RECORD")
        try args.finish()
    }

    func run(_ context: Context) throws -> Int32 {
        let store = try context.store()
        try store.requireWritable()
        let rid = try store.resolve(id, kind: .record)
        let pair = try coderPair(store, coders)
        if try store.isBlind {
            try store.setBlind(false)
            context.print("blind coding is now off: adjudicating means reading both coders")
        }
        let agreed = try store.adoptAgreements(record: rid, coders: pair)
        let open = try store.compare(record: rid, coders: pair).differ.filter { !$0.settled }
        context.print("\(agreed) agreed annotation\(agreed == 1 ? "" : "s") in the gold layer; \(open.count) disagreement\(open.count == 1 ? "" : "s") to settle")
        // Decisions are taken first and written together, in one
        // transaction, once all are taken (or at quit): one `undo --last`
        // takes the whole adjudication back.
        var decisions: [(Store.Disagreement, Store.Decision)] = []
        for (n, d) in open.enumerated() {
            let decision: Store.Decision
            if let take {
                decision = take
            } else {
                context.print(DisagreementLine.render(n + 1, d, pair))
                var chosen: Store.Decision?
                var stop = false
                while chosen == nil && !stop {
                    context.console.out("  take [1] \(Format.safe(pair.0)), [2] \(Format.safe(pair.1)), [b]oth, [n]either, [s]kip, [q]uit: ")
                    guard let line = context.console.input()?.trimmingCharacters(in: .whitespaces) else { stop = true; break }
                    // Answers read from a file or pipe are shown, as a terminal would echo them.
                    if !context.console.inputIsTerminal { context.print(line) }
                    switch line {
                    case "1", pair.0: chosen = .first
                    case "2", pair.1: chosen = .second
                    case "b", "both": chosen = .both
                    case "n", "neither": chosen = .neither
                    case "s", "skip": break
                    case "q", "quit": stop = true
                    default: context.print("  answer 1, 2, b, n, s or q"); continue
                    }
                    if line == "s" || line == "skip" { break }
                }
                if stop { context.print(""); break }
                guard let c = chosen else { continue }
                decision = c
            }
            // Only what the disagreement offers can be taken.
            if (decision == .first && d.first == nil) || (decision == .second && d.second == nil) {
                context.warn("margin adjudicate: disagreement \(n + 1) has no annotation by \(decision == .first ? pair.0 : pair.1); taken as neither")
                decisions.append((d, .neither))
            } else {
                decisions.append((d, decision))
            }
        }
        let decided = decisions.count, left = open.count - decided
        try store.write {
            for (d, decision) in decisions { try store.adjudicate(d, decision, coders: pair) }
            // Gold is present on the record (for `agree --coders …,gold`)
            // once nothing is left to settle.
            if left == 0 { try store.markDone(record: rid, as: Store.goldAuthor) }
        }
        context.print("\(decided) decided, \(left) left open; gold layer: \(try store.goldAnnotations(record: rid).count) annotation\(try store.goldAnnotations(record: rid).count == 1 ? "" : "s")")
        return ExitCode.success
    }
}

struct DoneCommand: Command {
    static let name = "done"
    static let summary = "Mark records as coded by you (what `agree` counts), or take the mark back"
    static let usage = "margin done RECORD... [--undo] | margin done --list [--json]"
    static let details = """
    A done mark says: I read this record and coded everything I meant to.
    `margin agree` counts a coder on exactly the records they marked done:
    there, every code they did not use is their "no". Without it, a coder
    who found nothing to code could not be told from one who never read the
    record. Each coder marks their own; marks sync like any change, and
    show in `list` and `status`.
    """
    var ids: [String], undo: Bool, list: Bool, json: Bool
    init(_ args: inout Arguments) throws {
        undo = args.flag("--undo")
        list = args.flag("--list")
        json = args.flag("--json")
        ids = args.remaining()
        if list && (undo || !ids.isEmpty) { throw UsageError("--list takes no RECORD and no --undo") }
        if json && !list { throw UsageError("--json goes with --list") }
        if !list && ids.isEmpty { throw UsageError("missing RECORD") }
    }

    func run(_ context: Context) throws -> Int32 {
        let store = try context.store()
        if list {
            let marks = try store.doneMarks().sorted { $0.key < $1.key }
            if json {
                try context.printJSON(marks.map { ["record": $0.key, "coders": $0.value.sorted()] as [String: Any] })
            } else if marks.isEmpty {
                context.print("no record is marked done")
            } else {
                for (record, coders) in marks { context.print("\(Format.id(record))  \(coders.sorted().map(Format.safe).joined(separator: ", "))") }
            }
            return ExitCode.success
        }
        try store.requireWritable()
        let records = try ids.map { try store.resolve($0, kind: .record) }
        try store.write { for r in records { try store.markDone(record: r, !undo) } }
        for r in records { context.print("\(undo ? "not done" : "done") \(Format.id(r))  (\(Format.safe(store.node.name)))") }
        return ExitCode.success
    }
}

struct BlindCommand: Command {
    static let name = "blind"
    static let summary = "Blind coding: hide other coders' annotations in this store until you turn it off"
    static let usage = "margin blind [on|off]"
    static let details = """
    With blind coding on, `show`, `list`, `search`, `review` and `export`
    show only your own annotations (and suggestions made here), so that
    each coder codes without seeing the others' work; `compare` is refused.
    Other coders' annotations still sync and are kept; `agree` still counts
    them. `margin adjudicate` turns blind coding off (adjudicating means
    reading both coders). A setting of this store alone: it does not sync.
    Without an argument, says whether it is on.
    """
    var setting: Bool?
    init(_ args: inout Arguments) throws {
        if let word = args.positional() {
            switch word {
            case "on": setting = true
            case "off": setting = false
            default: throw UsageError("margin blind takes on or off, not '\(word)'")
            }
        }
        try args.finish()
    }

    func run(_ context: Context) throws -> Int32 {
        let store = try context.store()
        if let setting {
            try store.requireWritable()
            try store.setBlind(setting)
        }
        context.print(try store.isBlind ? "blind coding is on: only your own annotations are shown" : "blind coding is off")
        return ExitCode.success
    }
}
