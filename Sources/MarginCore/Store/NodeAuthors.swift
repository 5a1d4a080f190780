import MarginSQLite

/// The name each origin last wrote as an annotation's `author` (not the
/// gold layer's), one row a node in `node_authors`: how a node known only
/// through relays is named (`Store.nodeName`).
///
/// A table beside the log, not an index on it: the partial index it
/// replaces (`log_authors`, file versions 10 to 17) tested every change
/// logged and took a row for each annotation, about 7% of a receive's time
/// (Schema.swift, file version 18). A write collects the names it appends
/// in its scope and saves them once at its end, with the heads. The table
/// is a function of the log: `check` recomputes it in its log pass and
/// names any difference, and `rebuildState` makes it again.
struct NodeAuthors {
    /// Per origin (local key), the highest-numbered name this write appended.
    private var names: [Int64: (seq: Int64, name: String)] = [:]

    /// The name `c` writes, when it is a change the table keeps.
    static func named(by c: Change) -> String? {
        guard c.kind == .annotation, c.field == "author", case .text(let name) = c.value, name != Store.goldAuthor else { return nil }
        return name
    }

    /// Takes change `seq` of `origin`, which writes `name` (see `named(by:)`).
    mutating func take(origin: Int64, seq: Int64, name: String) {
        if (names[origin]?.seq ?? 0) < seq { names[origin] = (seq, name) }
    }

    /// Saves what was taken (a name replaces a stored one only from a
    /// higher-numbered change) and empties it.
    mutating func save(_ db: Database) throws {
        guard !names.isEmpty else { return }
        let upsert = try db.statement("""
            INSERT INTO node_authors(origin, seq, name) VALUES(?1, ?2, ?3)
            ON CONFLICT(origin) DO UPDATE SET seq = excluded.seq, name = excluded.name WHERE excluded.seq > node_authors.seq
            """)
        for (origin, a) in names { try upsert.run([.integer(origin), .integer(a.seq), .text(a.name)]) }
        names = [:]
    }

    /// Makes the table again from the whole log (a migration, or
    /// `rebuildState`): one scan of it.
    static func rebuild(_ db: Database) throws {
        try db.execute("DELETE FROM node_authors")
        try db.run("""
            INSERT INTO node_authors(origin, seq, name)
            SELECT l.origin, max(l.seq), l.value FROM log l JOIN entities e ON e.key = l.entity
            WHERE l.field = 'author' AND e.kind = 'annotation' AND typeof(l.value) = 'text' AND l.value <> ?1
            GROUP BY l.origin
            """, .text(Store.goldAuthor))
    }
}
