import Foundation
import MarginCore

/// Reads `--quote TEXT [--occurrence N]` or `--range START..END`.
func parseSpan(_ args: inout Arguments) throws -> SpanRequest? {
    let quote = try args.option("--quote")
    let occurrence = try args.intOption("--occurrence", min: 1)
    let range = try args.option("--range")
    switch (quote, range) {
    case (.some, .some): throw UsageError("give --quote or --range, not both")
    case (.some(let q), nil): return .quote(q, occurrence: occurrence)
    case (nil, .some(let r)):
        if occurrence != nil { throw UsageError("--occurrence goes with --quote") }
        let parts = r.components(separatedBy: "..")
        guard parts.count == 2, let s = Int(parts[0]), let e = Int(parts[1]), s >= 0 else {
            throw UsageError("--range takes START..END (scalar offsets from 0), not '\(r)'")
        }
        guard e > s else { throw UsageError("--range \(r) is backwards or empty: END must be greater than START") }
        return .range(s, e)
    case (nil, nil):
        if occurrence != nil { throw UsageError("--occurrence goes with --quote") }
        return nil
    }
}

struct AnnotateCommand: Command {
    static let name = "annotate"
    static let summary = "Code a span of a record's text"
    static let usage = "margin annotate RECORD --code CODE (--quote TEXT [--occurrence N] | --range START..END) [--value V] [--note N]"
    static let details = """
    Marks a span with a code. --quote finds the text in the body (in either
    script); if it occurs more than once, the occurrences are listed and
    --occurrence N picks one. --range gives offsets in Unicode code points
    (scalars) of the body; a span may not split a character.
    """
    var record: String, code: String, span: SpanRequest, value: String?, note: String?, again: Bool
    init(_ args: inout Arguments) throws {
        again = args.flag("--again")
        guard let c = try args.option("--code") else { throw UsageError("missing --code CODE") }
        code = c
        guard let s = try parseSpan(&args) else { throw UsageError("missing --quote TEXT or --range START..END") }
        span = s
        value = try args.option("--value")
        note = try args.option("--note")
        if note?.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty == true { throw UsageError("the note is empty") }
        record = try args.required("RECORD")
    }

    func run(_ context: Context) throws -> Int32 {
        let store = try context.store()
        let rid = try store.resolve(record, kind: .record)
        let codeID = try store.resolveCode(code)
        let id: String
        do {
            id = try store.code(record: rid, code: codeID, span: span, value: value, note: note, again: again)
        } catch let e as Store.SameCoding {
            throw MarginError.invalid("you coded this span with \(Format.safe(e.existing.codeName ?? code)) already (annotation \(Format.id(e.existing.id))); --again codes it a second time")
        }
        if let a = try store.annotation(id) { context.print("annotated " + AnnotationLine.render(a, withRecord: false)) }
        return ExitCode.success
    }
}

struct TagCommand: Command {
    static let name = "tag"
    static let summary = "Tag a whole record with a code"
    static let usage = "margin tag RECORD CODE [--value V] [--note N]"
    static let details = """
    A record-level annotation: a code with no span.
    """
    var record: String, code: String, value: String?, note: String?, again: Bool
    init(_ args: inout Arguments) throws {
        again = args.flag("--again")
        value = try args.option("--value")
        note = try args.option("--note")
        if note?.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty == true { throw UsageError("the note is empty") }
        record = try args.required("RECORD")
        code = try args.required("CODE")
    }

    func run(_ context: Context) throws -> Int32 {
        let store = try context.store()
        let rid = try store.resolve(record, kind: .record), codeID = try store.resolveCode(code)
        let id: String
        do {
            id = try store.code(record: rid, code: codeID, span: nil, value: value, note: note, again: again)
        } catch let e as Store.SameCoding {
            throw MarginError.invalid("you tagged this record with \(Format.safe(e.existing.codeName ?? code)) already (annotation \(Format.id(e.existing.id))); --again tags it a second time")
        }
        context.print("tagged \(Format.id(id))")
        return ExitCode.success
    }
}

struct NoteCommand: Command {
    static let name = "note"
    static let summary = "Write a note on a record (or on a span with --quote/--range)"
    static let usage = "margin note RECORD TEXT [--quote Q [--occurrence N] | --range S..E]"
    static let details = """
    Adds a note: an annotation with no code. With --quote or --range the note
    is attached to that span of the text.
    """
    var record: String, text: String, span: SpanRequest?
    init(_ args: inout Arguments) throws {
        span = try parseSpan(&args)
        record = try args.required("RECORD")
        let words = args.remaining()
        guard !words.isEmpty else { throw UsageError("missing TEXT") }
        text = words.joined(separator: " ")
        guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { throw UsageError("the note is empty") }
    }

    func run(_ context: Context) throws -> Int32 {
        let store = try context.store()
        let id = try store.annotate(record: try store.resolve(record, kind: .record), code: nil, span: span, value: nil, note: text)
        context.print("noted \(Format.id(id))")
        return ExitCode.success
    }
}

struct EditCommand: Command {
    static let name = "edit"
    static let summary = "Change an annotation, or a record's metadata"
    static let usage = "margin edit ID [options]"
    static let details = """
    ID is an annotation or a record (any unique id prefix).

    For an annotation: --code, --value/--clear-value, --note/--clear-note,
    and --quote/--occurrence or --range (a new span), with --as-mine to
    leave it as it is and make a copy in your own layer with the changes.
    An annotation is its author's coding: you can edit your own, the gold
    layer's and suggestions, not a colleague's (that would change what they
    coded). Review theirs instead (`margin review ID --reject --comment …`),
    or copy it into your layer with --as-mine.

    For a record (the body cannot change): the metadata fields --title,
    --source, --published, --place, --url, --author and --editor ("" clears
    one), and free fields with --set KEY=VALUE and --unset KEY (each
    repeatable). Annotation and record options cannot be mixed.
    """
    var id: String
    var code: String?, value: String?, note: String?, clearValue: Bool, clearNote: Bool, span: SpanRequest?, asMine: Bool
    var recordFields: [(String, String?)] = []

    init(_ args: inout Arguments) throws {
        code = try args.option("--code")
        value = try args.option("--value")
        note = try args.option("--note")
        if note?.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty == true { throw UsageError("the note is empty (use --clear-note to remove it)") }
        clearValue = args.flag("--clear-value")
        clearNote = args.flag("--clear-note")
        span = try parseSpan(&args)
        asMine = args.flag("--as-mine")
        for field in Record.metadataFields {
            if let v = try args.option("--\(field)") { recordFields.append((field, v.isEmpty ? nil : v)) }
        }
        for pair in try args.options("--set") {
            guard let eq = pair.firstIndex(of: "="), eq != pair.startIndex else { throw UsageError("--set takes KEY=VALUE, not '\(pair)'") }
            recordFields.append((String(pair[..<eq]), String(pair[pair.index(after: eq)...])))
        }
        for key in try args.options("--unset") { recordFields.append((key, nil)) }
        id = try args.required("ID")
        let annotationEdits = code != nil || value != nil || note != nil || clearValue || clearNote || span != nil
        if annotationEdits && !recordFields.isEmpty { throw UsageError("annotation options and record options cannot be mixed") }
        if asMine && !recordFields.isEmpty { throw UsageError("--as-mine copies an annotation; a record has no layers") }
        if !annotationEdits && !asMine && recordFields.isEmpty { throw UsageError("nothing to change (see `margin edit --help`)") }
        if value != nil && clearValue { throw UsageError("--value and --clear-value contradict each other") }
        if note != nil && clearNote { throw UsageError("--note and --clear-note contradict each other") }
    }

    func run(_ context: Context) throws -> Int32 {
        let store = try context.store()
        if recordFields.isEmpty {
            let aid = try store.resolve(id, kind: .annotation)
            var e = Store.AnnotationEdit()
            if let code { e.code = .some(try store.resolveCode(code)) }
            if let value { e.value = .some(value) } else if clearValue { e.value = .some(nil) }
            if let note { e.note = .some(note) } else if clearNote { e.note = .some(nil) }
            e.span = span
            if asMine {
                let copy = try store.copyAsMine(annotation: aid, e)
                if let a = try store.annotation(copy) { context.print("copied into your layer " + AnnotationLine.render(a, withRecord: false)) }
            } else {
                try store.edit(annotation: aid, e)
                if let a = try store.annotation(aid) { context.print("edited " + AnnotationLine.render(a, withRecord: false)) }
            }
        } else {
            let rid = try store.resolve(id, kind: .record)
            try store.write {
                for (field, value) in recordFields { try store.setRecordField(rid, field: field, value: value) }
            }
            context.print("edited record \(Format.id(rid))")
        }
        return ExitCode.success
    }
}

struct DeleteCommand: Command {
    static let name = "delete"
    static let summary = "Delete an annotation, or a record with its annotations (tombstones, so deletions sync)"
    static let usage = "margin delete ANNOTATION|RECORD [--yes]"
    static let details = """
    An annotation disappears from every view; its history stays in the log.
    A record imported by mistake is withdrawn with all its annotations, in
    one write, after a confirmation (--yes: without asking). `margin undo
    --last` brings either back.
    """
    var id: String, yes: Bool
    init(_ args: inout Arguments) throws {
        yes = args.flag("--yes", "-y")
        id = try args.required("ANNOTATION|RECORD")
        try args.finish()
    }

    func run(_ context: Context) throws -> Int32 {
        let store = try context.store()
        let annotation = try? store.resolve(id, kind: .annotation), record = try? store.resolve(id, kind: .record)
        if annotation != nil && record != nil {
            throw MarginError.ambiguous("'\(id)' names both an annotation and a record: give more of the id")
        }
        if let aid = annotation {
            try store.delete(annotation: aid)
            context.print("deleted \(Format.id(aid))")
            return ExitCode.success
        }
        guard let rid = record else { throw MarginError.notFound("no annotation or record with id '\(id)'") }
        let count = try store.annotations(record: rid).count
        let title = try store.record(rid)?.title.map { " \(Format.oneLine($0, max: 40))" } ?? ""
        guard try confirmBulk(context, "delete record \(Format.id(rid))\(title) and its \(count) annotation\(count == 1 ? "" : "s")?", yes: yes) else {
            context.print("nothing deleted"); return ExitCode.success
        }
        let n = try store.delete(record: rid)
        context.print("deleted record \(Format.id(rid)) and \(n) annotation\(n == 1 ? "" : "s")")
        return ExitCode.success
    }
}

struct ReviewCommand: Command {
    static let name = "review"
    static let summary = "Walk through what needs review, or accept or reject annotations, one or many"
    static let usage = "margin review [ANNOTATION] [--accept | --reject | --reopen] [--comment C] [filters] [--conflicts-only] [--yes]"
    static let details = """
    With no verdict, walks through what needs attention, one item at a
    time: suggestions (`margin suggest`), open annotations (each with its text
    around the span), then open conflicts (both sides in full). On a
    terminal each answer is one key:
      annotation: a accept, r reject (asks a comment), o reopen, c recode,
                  v edit the value, s skip, b back, q quit (also Ctrl-C)
      conflict:   w keep the winner, o keep the other, e enter a value
                  (each asks an optional comment), s skip, b back, q quit;
                  shown with the annotation's span in its text
    Every decision is written at once; quitting loses nothing. When input
    is not a terminal, one command a line (`r too vague`, `c cadres`,
    `v 38`, `e 38`).

    With an ANNOTATION and a verdict, reviews it. With filters and a
    verdict, reviews every annotation they select, in one write, after
    showing the count and asking (--yes: without asking).

    A suggestion is decided the same way in the walk and with a verdict:
    accepted, it becomes your own annotation (your coding, status open);
    one without a code needs --with-code (in the walk, a code is asked for).
    Rejected, it is deleted, and `margin suggest` does not propose it again.
    Reviewing a colleague's annotation never changes whose coding it is.
    """
    var id: String?, status: ReviewStatus?, comment: String?, code: String?, selection: AnnotationSelection, yes: Bool, conflictsOnly: Bool
    init(_ args: inout Arguments) throws {
        let accept = args.flag("--accept"), reject = args.flag("--reject"), reopen = args.flag("--reopen")
        let chosen = [accept, reject, reopen].filter { $0 }.count
        guard chosen <= 1 else { throw UsageError("give one of --accept, --reject, --reopen") }
        status = chosen == 0 ? nil : accept ? .accepted : reject ? .rejected : .open
        comment = try args.option("--comment")
        code = try args.option("--with-code")
        if code != nil && status != .accepted { throw UsageError("--with-code goes with --accept: the code a suggestion is accepted with") }
        yes = args.flag("--yes", "-y")
        conflictsOnly = args.flag("--conflicts-only")
        selection = try AnnotationSelection(&args)
        id = args.positional()
        if status == nil {
            if id != nil { throw UsageError("give a verdict for \(id ?? ""): --accept, --reject or --reopen") }
        } else {
            if conflictsOnly { throw UsageError("--conflicts-only is for the walk through, without a verdict") }
            if id == nil && selection.isEmpty { throw UsageError("give an ANNOTATION, or filters (--code, --author, --record, --status, --text) for a bulk review") }
            if id != nil && !selection.isEmpty { throw UsageError("give an ANNOTATION or filters, not both") }
        }
        try args.finish()
    }

    func run(_ context: Context) throws -> Int32 {
        let store = try context.store()
        guard let status else {
            return try InteractiveReview(context: context, store: store, selection: selection, conflictsOnly: conflictsOnly).run()
        }
        if let id {
            let aid = try store.resolve(id, kind: .annotation)
            let wasSuggestion = try store.annotation(aid)?.status == .suggested
            try store.review(annotation: aid, status: status, comment: comment, code: try code.map { try store.resolveCode($0) })
            if wasSuggestion {
                context.print(status == .accepted ? "accepted suggestion \(Format.id(aid)): it is now your annotation" : "rejected suggestion \(Format.id(aid)): deleted")
            } else {
                context.print("\(status.rawValue) \(Format.id(aid))")
            }
            return ExitCode.success
        }
        try store.requireWritable()
        let chosen = try selection.select(store)
        guard !chosen.isEmpty else { context.print("no annotation matches; nothing reviewed"); return ExitCode.success }
        let verb = status == .accepted ? "accept" : status == .rejected ? "reject" : "reopen"
        guard try confirmBulk(context, "\(verb) \(chosen.count) annotation\(chosen.count == 1 ? "" : "s")?", yes: yes) else {
            context.print("nothing reviewed"); return ExitCode.success
        }
        let codeID = try code.map { try store.resolveCode($0) }
        try store.write { for a in chosen { try store.review(annotation: a.id, status: status, comment: comment, code: a.status == .suggested ? codeID : nil) } }
        context.print("\(status.rawValue) \(chosen.count) annotation\(chosen.count == 1 ? "" : "s")")
        return ExitCode.success
    }
}
