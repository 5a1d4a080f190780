import MarginCore

// Each command's options, declared once: parsing validates against them
// (unknown options, missing and malformed values, exit 64), and `--help`,
// the man page and the shell completions are made from them.

extension AnnotateCommand {
    static let options: [OptionSpec] = [
        OptionSpec(["--code"], .text("CODE"), "a code name or id from the codebook"),
        OptionSpec(["--quote"], .text("TEXT"), "the exact text to mark"),
        OptionSpec(["--occurrence"], .count("N"), "which occurrence of the quote (1 = first)"),
        OptionSpec(["--range"], .text("S..E"), "offsets instead of a quote"),
        OptionSpec(["--value"], .text("V"), "an extracted value, e.g. the figure 159"),
        OptionSpec(["--note"], .text("N"), "a note"),
        OptionSpec(["--again"], .none, "code the same span with the same code a second time (refused otherwise: you coded it already)"),
    ]
}

extension TagCommand {
    static let options: [OptionSpec] = [
        OptionSpec(["--value"], .text("V"), "an extracted value"),
        OptionSpec(["--note"], .text("N"), "a note"),
        OptionSpec(["--again"], .none, "tag the record with the same code a second time (refused otherwise: you tagged it already)"),
    ]
}

extension NoteCommand {
    static let options: [OptionSpec] = [
        OptionSpec(["--quote"], .text("Q"), "the text of the span (either script)"),
        OptionSpec(["--occurrence"], .count("N"), "which occurrence of the quote (1 = first)"),
        OptionSpec(["--range"], .text("S..E"), "the span as offsets (Unicode scalars)"),
    ]
}

extension EditCommand {
    static let options: [OptionSpec] = [
        OptionSpec(["--code"], .text("CODE"), "recode the annotation"),
        OptionSpec(["--value"], .text("V"), "its value"),
        OptionSpec(["--clear-value"], .none, "remove its value"),
        OptionSpec(["--note"], .text("N"), "its note"),
        OptionSpec(["--clear-note"], .none, "remove its note"),
        OptionSpec(["--quote"], .text("Q"), "the text of the span (either script)"),
        OptionSpec(["--occurrence"], .count("N"), "which occurrence of the quote (1 = first)"),
        OptionSpec(["--range"], .text("S..E"), "the span as offsets (Unicode scalars)"),
        OptionSpec(["--as-mine"], .none, "leave it as it is and make a copy in your own layer, with the changes given"),
        OptionSpec(["--title"], .text("T"), "a record's title (\"\" clears it)"),
        OptionSpec(["--source"], .text("S"), "a record's source"),
        OptionSpec(["--published"], .text("D"), "a record's publication date"),
        OptionSpec(["--place"], .text("P"), "a record's place"),
        OptionSpec(["--url"], .text("U"), "a record's URL"),
        OptionSpec(["--author"], .text("A"), "a record's author"),
        OptionSpec(["--editor"], .text("E"), "a record's editor"),
        OptionSpec(["--set"], .text("KEY=VALUE"), "set a free metadata field (repeatable)"),
        OptionSpec(["--unset"], .text("KEY"), "remove a free metadata field (repeatable)"),
    ]
}

extension DeleteCommand {
    static let options: [OptionSpec] = [
        OptionSpec(["--yes", "-y"], .none, "do not ask before deleting a record"),
    ]
}

extension ReviewCommand {
    static let options: [OptionSpec] = [
        OptionSpec(["--accept"], .none, "mark accepted (a suggestion: make it your annotation)"),
        OptionSpec(["--reject"], .none, "mark rejected (a suggestion: delete it)"),
        OptionSpec(["--reopen"], .none, "put back to open"),
        OptionSpec(["--comment"], .text("C"), "the reviewer's comment"),
        OptionSpec(["--with-code"], .text("CODE"), "the code a suggestion is accepted with"),
        OptionSpec(["--yes", "-y"], .none, "do not ask before a bulk review"),
        OptionSpec(["--conflicts-only"], .none, "walk through open conflicts only"),
        OptionSpec(["--code"], .text("CODE"), "annotations of this code (and its children)"),
        OptionSpec(["--author"], .text("NAME"), "made by this coder (`gold`: the adjudicated layer)"),
        OptionSpec(["--record"], .text("ID"), "on this record"),
        OptionSpec(["--status"], .choice(["open", "accepted", "rejected", "suggested"]), "in this review state"),
        OptionSpec(["--text"], .text("T"), "on records whose text holds T"),
    ]
}

extension RecodeCommand {
    static let options: [OptionSpec] = [
        OptionSpec(["--from"], .text("CODE"), "the code to move annotations from"),
        OptionSpec(["--to"], .text("CODE"), "the code to move them to"),
        OptionSpec(["--yes", "-y"], .none, "do not ask"),
        OptionSpec(["--code"], .text("CODE"), "annotations of this code (and its children)"),
        OptionSpec(["--author"], .text("NAME"), "made by this coder (`gold`: the adjudicated layer)"),
        OptionSpec(["--record"], .text("ID"), "on this record"),
        OptionSpec(["--status"], .choice(["open", "accepted", "rejected", "suggested"]), "in this review state"),
        OptionSpec(["--text"], .text("T"), "on records whose text holds T"),
    ]
}

extension UndoCommand {
    static let options: [OptionSpec] = [
        OptionSpec(["--last"], .optionalCount("N"), "this store's last write, or its last N writes"),
    ]
}

extension RedoCommand {
    static let options: [OptionSpec] = []
}

extension SuggestCommand {
    static let options: [OptionSpec] = [
        OptionSpec(["--all"], .none, "every record"),
        OptionSpec(["--code"], .text("CODE"), "the code for figures no trigger word names"),
        OptionSpec(["--dry-run"], .none, "list what would be suggested, store nothing (no -n: -n is a count in list, search and log)"),
        OptionSpec(["--durations"], .none, "also propose durations and ages (24小时, 36個年頭), noted as such"),
    ]
}

extension CodesCommand {
    static let options: [OptionSpec] = [
        OptionSpec(["--json"], .none, "list: one JSON object a line"),
        OptionSpec(["--description"], .text("D"), "add, describe: what the code means"),
        OptionSpec(["--colour", "--color"], .text("C"), "add, describe: a colour name, colour0…colour255 or #rrggbb"),
        OptionSpec(["--no-colour", "--no-color"], .none, "describe: remove the colour"),
        OptionSpec(["--parent"], .text("CODE"), "add, describe: the code above it"),
        OptionSpec(["--no-parent"], .none, "describe: make it a top-level code"),
        OptionSpec(["--triggers"], .text("WORDS"), "add, describe: words that suggest the code, comma-separated"),
        OptionSpec(["--value-type"], .choice(["number", "text", "none"]), "add, describe: what its values are (none clears it)"),
        OptionSpec(["--format"], .choice(["tsv", "refi"]), "export: TSV (what codes import reads) or a REFI-QDA codebook"),
        OptionSpec(["--output", "-o"], .text("FILE"), "export: write to FILE"),
    ]
}

extension ConflictsCommand {
    static let options: [OptionSpec] = [
        OptionSpec(["--all"], .none, "include resolved conflicts"),
        OptionSpec(["--limit", "-n"], .count("N"), "the newest N only (default: all)"),
        OptionSpec(["--json"], .none, "JSON output"),
    ]
}

extension ResolveCommand {
    static let options: [OptionSpec] = [
        OptionSpec(["--keep"], .choice(["winner", "other"]), "keep the value every node shows now; other: bring back the other value (for a deletion that raced an edit: restore the entity, with the edit)"),
        OptionSpec(["--value"], .text("V"), "write a new value"),
        OptionSpec(["--comment"], .text("C"), "why"),
    ]
}

extension ImportCommand {
    static let options: [OptionSpec] = [
        OptionSpec(["--raw"], .none, "keep the text exactly as it is (no cleaning)"),
        OptionSpec(["--quiet", "-q"], .none, "do not list what was cleaned"),
        OptionSpec(["--encoding"], .text("NAME"), "read report files in this encoding (an iconv name: GB18030, GBK, BIG5, BIG5-HKSCS, UTF-16LE, ...)"),
        OptionSpec(["--explain"], .none, "import nothing: show what each line of each report file would become (title, metadata, furniture, body) and why"),
    ]
}

extension ListCommand {
    static let options: [OptionSpec] = [
        OptionSpec(["--code"], .text("CODE"), "a code name or id"),
        OptionSpec(["--status"], .choice(["open", "accepted", "rejected", "suggested"]), "in this review state"),
        OptionSpec(["--text"], .text("TEXT"), "full-text filter, Simplified and Traditional alike"),
        OptionSpec(["--place"], .text("P"), "place contains P"),
        OptionSpec(["--source"], .text("S"), "source contains S"),
        OptionSpec(["--author"], .text("A"), "the report's author contains A"),
        OptionSpec(["--since"], .text("DATE"), "published on or after DATE (2022-11-07, 2022/11/7, 2022年11月7日)"),
        OptionSpec(["--until"], .text("DATE"), "published on or before DATE"),
        OptionSpec(["--annotations", "-a"], .none, "list annotations rather than records"),
        OptionSpec(["--duplicates"], .none, "list sets of records whose cleaned text is the same (a report reposted by another site)"),
        OptionSpec(["--limit", "-n"], .count("N"), "at most N rows"),
        OptionSpec(["--json"], .none, "one JSON object a line"),
    ]
}

extension RecleanCommand {
    static let options: [OptionSpec] = [
        OptionSpec(["--all"], .none, "every record in the store"),
        OptionSpec(["--json"], .none, "one JSON object a record: {record, cleaned, filled, moved, orphaned, skipped}"),
    ]
}

extension ShowCommand {
    static let options: [OptionSpec] = [
        OptionSpec(["--json"], .none, "one JSON object with the record and its annotations"),
    ]
}

extension SearchCommand {
    static let options: [OptionSpec] = [
        OptionSpec(["--limit", "-n"], .count("N"), "at most N records"),
        OptionSpec(["--sort"], .choice(["relevance", "published", "imported"]), "relevance (default), published (newest first) or imported (most recently imported first; printed as found)"),
        OptionSpec(["--json"], .none, "one JSON object a line: the record, its title, and every match as {\"start\", \"end\"} in scalar offsets"),
    ]
}

extension InitCommand {
    static let options: [OptionSpec] = [
        OptionSpec(["--name"], .text("NAME"), "this node's human name"),
        OptionSpec(["--from"], .text("SOURCE"), "copy every change of a store folder or a bundle"),
    ]
}

extension StatusCommand {
    static let options: [OptionSpec] = [
        OptionSpec(["--json"], .none, "print one JSON object"),
    ]
}

extension LogCommand {
    static let options: [OptionSpec] = [
        OptionSpec(["--limit", "-n"], .count("N"), "show at most N changes (default 50; 0 for all)"),
        OptionSpec(["--json"], .none, "one JSON object a line"),
    ]
}

extension DigestCommand {
    static let options: [OptionSpec] = [
        OptionSpec(["--json"], .none, "print one JSON object"),
    ]
}

extension ExportCommand {
    static let options: [OptionSpec] = [
        OptionSpec(["--format"], .choice(["jsonl", "csv", "w3c", "doccano", "brat", "refi"]), "jsonl (default), csv, w3c, doccano, brat or refi"),
        OptionSpec(["--excel"], .none, "with csv: a byte-order mark, and cells that Excel would run as formulas (=, +, -, @, tab, CR) start with '"),
        OptionSpec(["--log"], .none, "a bundle of the change log instead (needs -o)"),
        OptionSpec(["--output", "-o"], .text("F"), "write to F instead of standard output (brat: a folder)"),
    ]
}

extension CheckCommand {
    static let options: [OptionSpec] = [
        OptionSpec(["--json"], .none, "print {\"ok\", \"checks\", \"problem\"} instead of lines"),
    ]
}

extension ServeCommand {
    static let options: [OptionSpec] = [
        OptionSpec(["--listen"], .text("HOST:PORT"), "address to listen on (default 127.0.0.1:7433; port 0 picks a free port)"),
        OptionSpec(["--stdio"], .none, "one session on standard input and output"),
        OptionSpec(["--secret-file"], .text("F"), "the team secret (mode 600)"),
        OptionSpec(["--max-sessions"], .count("N"), "concurrent authenticated sessions (default 16; a peer waits up to 2 s for a free one, then is told busy)"),
        OptionSpec(["--max-per-address"], .count("N"), "of them from one address (default 8)"),
        OptionSpec(["--max-pending"], .count("N"), "handshakes in progress (default 64; when full, the oldest is cut for a newcomer)"),
        OptionSpec(["--idle-timeout"], .text("S"), "seconds a peer may stay silent (default 30)"),
        OptionSpec(["--handshake-timeout"], .text("S"), "seconds a peer has to authenticate (default 5)"),
        OptionSpec(["--session-timeout"], .text("S"), "seconds a session may last (default 3600)"),
        OptionSpec(["--max-frame"], .count("BYTES"), "largest frame accepted after the handshake (8388608 to 1073741824, default 16777216; before it, 4096)"),
        OptionSpec(["--max-future"], .text("S"), "hold back changes stamped more than S seconds ahead of this clock (default 3600)"),
    ]
}

extension UICommand {
    static let options: [OptionSpec] = [
        OptionSpec(["--listen"], .text("127.0.0.1:PORT"), "loopback address to serve on (default 127.0.0.1:0, a free port)"),
        OptionSpec(["--no-open"], .none, "only print the address; do not start a browser"),
        OptionSpec(["--secret-file"], .text("F"), "the team secret for syncing from the page (or MARGIN_SECRET)"),
    ]
}

extension SyncCommand {
    static let options: [OptionSpec] = [
        OptionSpec(["--secret-file"], .text("F"), "the team secret (or MARGIN_SECRET)"),
        OptionSpec(["--pull-only"], .none, "take the peer's changes, send none"),
        OptionSpec(["--push-only"], .none, "send this store's changes, take none"),
        OptionSpec(["--remote-margin"], .text("CMD"), "the margin command on the ssh host (default margin)"),
        OptionSpec(["--idle-timeout"], .text("S"), "seconds the peer may stay silent (default 30)"),
        OptionSpec(["--max-future"], .text("S"), "hold back changes stamped more than S seconds ahead of this clock (default 3600)"),
        OptionSpec(["--json"], .none, "print the summary as JSON"),
    ]
}

extension PeersCommand {
    static let options: [OptionSpec] = [
        OptionSpec(["--json"], .none, "one JSON object a line"),
    ]
}

extension SecretCommand {
    static let options: [OptionSpec] = []
}

extension TableCommand {
    static let options: [OptionSpec] = [
        OptionSpec(["--code"], .text("CODE"), "values: the code whose figures are summed (with its children)"),
        OptionSpec(["--by"], .choice(["record", "place", "source", "month"]), "one row per group"),
        OptionSpec(["--coder"], .text("NAME"), "one coder's layer (`gold`: the adjudicated layer)"),
        OptionSpec(["--csv"], .none, "CSV (RFC 4180, UTF-8) for R, pandas and spreadsheets"),
        OptionSpec(["--json"], .none, "a JSON array of one object per row"),
    ]
}

extension AgreeCommand {
    static let options: [OptionSpec] = [
        OptionSpec(["--coders", "--coder"], .text("A,B"), "the coders to compare (default: all)"),
        OptionSpec(["--code"], .text("CODE"), "only this code and its children (repeatable)"),
        OptionSpec(["--records"], .text("TEXT"), "only records whose text holds TEXT"),
        OptionSpec(["--json"], .none, "one JSON object"),
    ]
}

extension CompareCommand {
    static let options: [OptionSpec] = [
        OptionSpec(["--coders", "--coder"], .text("A,B"), "the two coders (default: the store's two, if it has two)"),
        OptionSpec(["--json"], .none, "one JSON object"),
    ]
}

extension AdjudicateCommand {
    static let options: [OptionSpec] = [
        OptionSpec(["--coders", "--coder"], .text("A,B"), "the two coders (default: the store's two, if it has two)"),
        OptionSpec(["--take"], .choice(["first", "second", "both", "neither"]), "the same decision for every open disagreement (for scripts)"),
    ]
}

extension DoneCommand {
    static let options: [OptionSpec] = [
        OptionSpec(["--undo"], .none, "take the marks back (the records are not done any more)"),
        OptionSpec(["--list"], .none, "the records marked done, and by whom"),
        OptionSpec(["--json"], .none, "with --list: a JSON array"),
    ]
}

extension BlindCommand {
    static let options: [OptionSpec] = []
}

extension ManCommand { static let options: [OptionSpec] = [] }
extension CompletionsCommand { static let options: [OptionSpec] = [] }
extension CompleteCommand { static let options: [OptionSpec] = [] }
