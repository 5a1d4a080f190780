import MarginSQLite

/// The store's tables and their forward migrations. Index `i` of `migrations`
/// brings `user_version` from `i` to `i + 1`.
///
/// `log` is the change log and the source of truth (`changes` is the same log
/// with public ids, a view; `entities` and `nodes` number the ids). Everything
/// else is derived from it and can be rebuilt from it: the `current` flag marks the winning
/// change of each field (the LWW state; the `fields` view lists them),
/// `records`/`annotations`/`codes` are column-shaped projections of the
/// winners for querying, `conflicts` pairs concurrent changes.
enum Schema {
    /// "MRGN": marks a SQLite file as a Margin store.
    static let applicationID: Int32 = 0x4D52_474E

    static let migrations: [@Sendable (Database) throws -> Void] = [
        { db in
            try db.execute("""
            CREATE TABLE meta(key TEXT PRIMARY KEY, value) WITHOUT ROWID;

            CREATE TABLE changes(
                origin TEXT NOT NULL, seq INTEGER NOT NULL,
                ms INTEGER NOT NULL, ctr INTEGER NOT NULL,
                kind TEXT NOT NULL, entity TEXT NOT NULL, field TEXT NOT NULL, value,
                sup_origin TEXT, sup_seq INTEGER,
                del_origin TEXT, del_seq INTEGER,
                seen TEXT,
                PRIMARY KEY(origin, seq)) WITHOUT ROWID;
            CREATE INDEX changes_by_field ON changes(kind, entity, field, sup_origin, sup_seq);
            CREATE INDEX changes_by_time ON changes(ms, ctr, origin);

            CREATE TABLE heads(origin TEXT PRIMARY KEY, seq INTEGER NOT NULL) WITHOUT ROWID;

            CREATE TABLE fields(
                kind TEXT NOT NULL, entity TEXT NOT NULL, field TEXT NOT NULL, value,
                origin TEXT NOT NULL, seq INTEGER NOT NULL, ms INTEGER NOT NULL, ctr INTEGER NOT NULL,
                PRIMARY KEY(kind, entity, field)) WITHOUT ROWID;

            CREATE TABLE records(
                id TEXT PRIMARY KEY, title TEXT, source TEXT, published TEXT, place TEXT, url TEXT,
                author TEXT, editor TEXT, body TEXT, folded TEXT,
                deleted INTEGER NOT NULL DEFAULT 0, ever_deleted INTEGER NOT NULL DEFAULT 0, created_ms INTEGER, updated_ms INTEGER);
            CREATE TABLE record_meta(
                record TEXT NOT NULL REFERENCES records(id), key TEXT NOT NULL, value TEXT,
                PRIMARY KEY(record, key)) WITHOUT ROWID;
            CREATE TABLE annotations(
                id TEXT PRIMARY KEY, record TEXT, code TEXT, span_start INTEGER, span_end INTEGER,
                quote TEXT, prefix TEXT, suffix TEXT, value TEXT, note TEXT, status TEXT, comment TEXT,
                reviewer TEXT, author TEXT,
                deleted INTEGER NOT NULL DEFAULT 0, ever_deleted INTEGER NOT NULL DEFAULT 0, created_ms INTEGER, updated_ms INTEGER);
            CREATE INDEX annotations_by_record ON annotations(record);
            CREATE INDEX annotations_by_code ON annotations(code);
            CREATE TABLE codes(
                id TEXT PRIMARY KEY, name TEXT, description TEXT, colour TEXT, parent TEXT, merged_into TEXT,
                deleted INTEGER NOT NULL DEFAULT 0, ever_deleted INTEGER NOT NULL DEFAULT 0, created_ms INTEGER, updated_ms INTEGER);
            CREATE TABLE conflicts(
                id TEXT PRIMARY KEY, kind TEXT NOT NULL, entity TEXT NOT NULL, field TEXT NOT NULL,
                winner_origin TEXT NOT NULL, winner_seq INTEGER NOT NULL,
                loser_origin TEXT NOT NULL, loser_seq INTEGER NOT NULL, ms INTEGER NOT NULL);
            CREATE INDEX conflicts_by_time ON conflicts(ms);

            CREATE TABLE peers(
                id TEXT PRIMARY KEY, name TEXT, address TEXT, last_sync_ms INTEGER,
                their_vv TEXT, our_vv TEXT) WITHOUT ROWID;

            CREATE VIRTUAL TABLE record_fts USING fts5(folded, content='records', content_rowid='rowid', tokenize='trigram');
            """)
        },
        { db in
            // Schema 2: the hash chain of every origin (PROTOCOL.md §1), what
            // a review reviewed, and the forks this node has seen. Hashes of
            // the existing log are computed here; every node computes the
            // same ones from the same changes.
            try db.execute("""
            ALTER TABLE changes ADD COLUMN hash BLOB;
            ALTER TABLE annotations ADD COLUMN reviewed TEXT;
            CREATE TABLE conflict_aliases(alias TEXT PRIMARY KEY, id TEXT NOT NULL) WITHOUT ROWID;
            CREATE TABLE forks(
                origin TEXT NOT NULL, seq INTEGER NOT NULL, peer TEXT, ours BLOB, theirs BLOB, detected_ms INTEGER NOT NULL,
                PRIMARY KEY(origin, seq)) WITHOUT ROWID;
            """)
            try Store.rehashLog(db)
        },
        { db in
            // Schema 3: signed chain heads (PROTOCOL.md §1, "Signatures"), and
            // the key each origin signs with.
            try db.execute("""
            CREATE TABLE keys(origin TEXT PRIMARY KEY, public_key BLOB NOT NULL) WITHOUT ROWID;
            CREATE TABLE signatures(origin TEXT NOT NULL, seq INTEGER NOT NULL, signature BLOB NOT NULL,
                PRIMARY KEY(origin, seq)) WITHOUT ROWID;
            CREATE TABLE legacy_origins(origin TEXT PRIMARY KEY) WITHOUT ROWID;
            INSERT INTO legacy_origins(origin) SELECT DISTINCT origin FROM changes;
            """)
        },
        { db in
            // File version 4 (data schema still 3): the index of characters
            // and pairs (GramIndex) in place of the trigram index, filled
            // from the records' folded text.
            try db.execute("DROP TABLE record_fts")
            try db.execute(GramIndex.createTable)
            let insert = try db.statement("INSERT INTO record_grams(rowid, grams) VALUES(?, ?)")
            try db.statement("SELECT rowid, folded FROM records WHERE folded IS NOT NULL").forEach { s in
                if let id = s.column(0).int, let folded = s.column(1).string {
                    try insert.run([.integer(id), .text(GramIndex.grams(folded))])
                }
                return true
            }
        },
        { db in
            // File version 5 (data schema still 3): the log clustered by the
            // field a change sets, so that one range probe finds a field's
            // winner and the siblings a conflict needs, and each batch writes
            // into few pages. The winner is a flag on its log row (`current`)
            // instead of a copy in a `fields` table, which becomes a view;
            // the indexes by field and by time go (the log is read newest
            // first by merging origins, whose sequence order is clock order).
            try db.execute("""
            CREATE TABLE changes_clustered(
                kind TEXT NOT NULL, entity TEXT NOT NULL, field TEXT NOT NULL, origin TEXT NOT NULL, seq INTEGER NOT NULL,
                ms INTEGER NOT NULL, ctr INTEGER NOT NULL, value,
                sup_origin TEXT, sup_seq INTEGER, del_origin TEXT, del_seq INTEGER, seen TEXT, hash BLOB,
                current INTEGER NOT NULL DEFAULT 0,
                PRIMARY KEY(kind, entity, field, origin, seq)) WITHOUT ROWID;
            INSERT INTO changes_clustered
                SELECT c.kind, c.entity, c.field, c.origin, c.seq, c.ms, c.ctr, c.value, c.sup_origin, c.sup_seq,
                    c.del_origin, c.del_seq, c.seen, c.hash,
                    EXISTS(SELECT 1 FROM fields f WHERE f.kind = c.kind AND f.entity = c.entity AND f.field = c.field
                           AND f.origin = c.origin AND f.seq = c.seq)
                FROM changes c ORDER BY 1, 2, 3, 4, 5;
            DROP TABLE changes;
            DROP TABLE fields;
            ALTER TABLE changes_clustered RENAME TO changes;
            CREATE UNIQUE INDEX changes_by_origin ON changes(origin, seq);
            CREATE VIEW fields AS SELECT kind, entity, field, value, origin, seq, ms, ctr FROM changes WHERE current = 1;
            """)
        },
        { db in
            // File version 6 (data schema still 3): local keys. The log
            // names entities and origins by small integers (`entities`,
            // `nodes`: each public id once, numbered in arrival order), so
            // its key and its index by origin are a few bytes, not a hundred,
            // and a batch appends where it writes. `changes` becomes a view
            // with the public ids, read as before; the log is written
            // through `Store` only.
            try db.execute("""
            CREATE TABLE nodes(key INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE);
            CREATE TABLE entities(key INTEGER PRIMARY KEY, kind TEXT NOT NULL, id TEXT NOT NULL, UNIQUE(kind, id));
            CREATE TABLE log(
                entity INTEGER NOT NULL, field TEXT NOT NULL, origin INTEGER NOT NULL, seq INTEGER NOT NULL,
                ms INTEGER NOT NULL, ctr INTEGER NOT NULL, value,
                sup_origin INTEGER, sup_seq INTEGER, del_origin INTEGER, del_seq INTEGER, seen TEXT, hash BLOB,
                current INTEGER NOT NULL DEFAULT 0,
                PRIMARY KEY(entity, field, origin, seq)) WITHOUT ROWID;
            INSERT INTO nodes(id)
                SELECT origin FROM changes UNION SELECT sup_origin FROM changes WHERE sup_origin IS NOT NULL
                UNION SELECT del_origin FROM changes WHERE del_origin IS NOT NULL;
            INSERT INTO entities(kind, id) SELECT kind, entity FROM changes GROUP BY kind, entity ORDER BY min(ms), kind, entity;
            INSERT INTO log
                SELECT e.key, c.field, o.key, c.seq, c.ms, c.ctr, c.value,
                    (SELECT key FROM nodes WHERE id = c.sup_origin), c.sup_seq,
                    (SELECT key FROM nodes WHERE id = c.del_origin), c.del_seq, c.seen, c.hash, c.current
                FROM changes c JOIN entities e ON e.kind = c.kind AND e.id = c.entity JOIN nodes o ON o.id = c.origin
                ORDER BY 1, 2, 3, 4;
            DROP VIEW fields;
            DROP TABLE changes;
            CREATE UNIQUE INDEX log_by_origin ON log(origin, seq);
            CREATE VIEW changes AS
                SELECT e.kind AS kind, e.id AS entity, l.field AS field, o.id AS origin, l.seq AS seq, l.ms AS ms, l.ctr AS ctr,
                    l.value AS value, so.id AS sup_origin, l.sup_seq AS sup_seq, d.id AS del_origin, l.del_seq AS del_seq,
                    l.seen AS seen, l.hash AS hash, l.current AS current
                FROM log l JOIN entities e ON e.key = l.entity JOIN nodes o ON o.key = l.origin
                    LEFT JOIN nodes so ON so.key = l.sup_origin LEFT JOIN nodes d ON d.key = l.del_origin;
            CREATE VIEW fields AS SELECT kind, entity, field, value, origin, seq, ms, ctr FROM changes WHERE current = 1;
            """)
        },
        { db in
            // File version 7 (data schema 5): the coders who marked each
            // record done (`done.<coder>` fields), this node's own settings
            // that never sync (blind coding), and its writes, newest last,
            // for `undo --last N` and `redo` (the last one, if any, from
            // the single `last_write` kept before).
            try db.execute("""
            CREATE TABLE record_done(record TEXT NOT NULL, coder TEXT NOT NULL, PRIMARY KEY(record, coder)) WITHOUT ROWID;
            CREATE TABLE local_settings(key TEXT PRIMARY KEY, value) WITHOUT ROWID;
            CREATE TABLE write_history(
                n INTEGER PRIMARY KEY, origin TEXT NOT NULL, first INTEGER NOT NULL, last INTEGER NOT NULL,
                undone INTEGER NOT NULL DEFAULT 0, undo_first INTEGER, undo_last INTEGER);
            INSERT INTO write_history(origin, first, last)
                SELECT substr(value, 1, instr(value, ':') - 1),
                       CAST(substr(value, instr(value, ':') + 1, instr(substr(value, instr(value, ':') + 1), ':') - 1) AS INTEGER),
                       CAST(substr(substr(value, instr(value, ':') + 1), instr(substr(value, instr(value, ':') + 1), ':') + 1) AS INTEGER)
                FROM meta WHERE key = 'last_write' AND value LIKE '%:%:%';
            """)
        },
        { db in
            // File version 8 (data schema 6): records found by their body,
            // for the reposts an import names and `list --duplicates`. The
            // record field `received` needs no column: it is read from the log.
            try db.execute("CREATE INDEX records_by_body ON records(length(body), substr(body, 1, 64))")
        },
        { db in
            // File version 9 (data schema still 6): the log by clock
            // reading, so that `log -n N` reads the newest N changes instead
            // of sorting the whole log (readings rise along an origin's
            // sequence except for values imported from an export, so no
            // merge of origins by sequence can stand in for it).
            try db.execute("CREATE INDEX log_by_time ON log(ms, ctr)")
        },
        { db in
            // File version 10 (data schema still 6): each origin's `author`
            // changes, so that naming a node that came by bundle (`log`,
            // `conflicts`) reads one row instead of walking back through
            // every change it made since its last annotation. Partial: one
            // row per annotation, not per change.
            try db.execute("CREATE INDEX log_authors ON log(origin, seq) WHERE field = 'author'")
        },
        { db in
            // File version 11 (data schema still 6): whether an accepted or
            // rejected annotation's code, span or value changed after its
            // review, projected (`Store.staleReviewSQL`) instead of looked
            // up in the log for each annotation every read: `status`, the
            // lists, the tables and the exports all ask it of every
            // annotation. And whether a record is deleted, by its id, from
            // an index: the same readers ask it once per annotation, and a
            // record's own row (with its body) is a deeper look-up.
            try db.execute("ALTER TABLE annotations ADD COLUMN stale INTEGER NOT NULL DEFAULT 0")
            try db.execute("UPDATE annotations AS a SET stale = 1 WHERE \(Store.staleReviewSQL)")
            try db.execute("CREATE UNIQUE INDEX records_alive ON records(id, deleted)")
        },
        { db in
            // File version 12 (data schema still 6): the live records in
            // the order `list` and the workspace show them, so that a page
            // of them reads its rows from the index instead of sorting
            // every record (100,000 records: 300 ms to 3 ms for the first
            // page), and the total is a count of the index.
            try db.execute("""
                CREATE INDEX records_listed ON records(coalesce(published, '') DESC, title, id)
                WHERE deleted = 0 AND typeof(body) = 'text'
                """)
        },
        { db in
            // File version 13 (data schema still 6): what `status` counts
            // of every annotation (live or not, its record, status, stale),
            // in an index that holds nothing else: counted from the table,
            // each row with its quote and context, it took 77 ms of
            // `status`'s 111 ms at a million changes; from this index, with
            // each record asked once whether it is live, 19 ms.
            try db.execute("CREATE INDEX annotations_counted ON annotations(deleted, record, status, stale)")
        },
        { db in
            // File version 14 (data schema still 6): the metadata `search`
            // looks in, for the live records, in an index that holds nothing
            // else: a record's row holds its text after these fields, and
            // its deleted mark after the text, so a scan of the table read
            // every report (a million changes: 14 ms of the search's 80 ms;
            // from this index, 2 ms).
            try db.execute("""
                CREATE INDEX records_searched ON records(id, place, source, url, author, editor)
                WHERE deleted = 0 AND typeof(body) = 'text'
                """)
        },
        { db in
            // File version 15 (data schema still 6): a record's folded text
            // in a table of its own, and the publication date beside the
            // metadata `search` reads. In the record's row the folded text
            // came after the body, so reading it read the body's pages too,
            // and a ranked search reads the folded text of every report
            // holding a common word (`search 党员 -n 20` at a million
            // changes, as a process: 51-57 ms to 29-36 ms, medians of 15,
            // with the ranking kept by rowid). Its rowid is the record's, as
            // in the index of characters and pairs.
            try db.execute("""
                CREATE TABLE record_folded(rowid INTEGER PRIMARY KEY, folded TEXT NOT NULL);
                INSERT INTO record_folded(rowid, folded) SELECT rowid, folded FROM records WHERE folded IS NOT NULL;
                ALTER TABLE records DROP COLUMN folded;
                DROP INDEX records_searched;
                CREATE INDEX records_searched ON records(id, place, source, url, author, editor, published)
                WHERE deleted = 0 AND typeof(body) = 'text';
                """)
        },
        { db in
            // File version 16 (data schema still 6): a conflict's aliases by
            // the conflict, so that finding the resolution of one conflict
            // (`Store.resolutionEntitySQL`, what `conflicts --all` and
            // `show` read) is a look-up by key, not a pass over every alias.
            try db.execute("CREATE INDEX conflict_aliases_by_id ON conflict_aliases(id)")
        },
        { db in
            // File version 17 (data schema still 6): an annotation's row
            // keyed by its entity's number (`entities.key`), not by its id.
            // Ids are random, so a new annotation's id landed at a random
            // place in two indexes, `entities(kind, id)` and this table's
            // own index of ids, and a sync of a million changes wrote ever
            // more pages of both at each commit. By number, the row appends
            // (numbers rise in arrival order) and the one index of ids is
            // `entities`', through which a look-up by id goes
            // (`Store.annotationByID`). The id stays in the row, unindexed,
            // for the readers that show it.
            try db.execute("""
                CREATE TABLE annotations_keyed(
                    key INTEGER PRIMARY KEY, id TEXT NOT NULL, record TEXT, code TEXT, span_start INTEGER, span_end INTEGER,
                    quote TEXT, prefix TEXT, suffix TEXT, value TEXT, note TEXT, status TEXT, comment TEXT,
                    reviewer TEXT, author TEXT,
                    deleted INTEGER NOT NULL DEFAULT 0, ever_deleted INTEGER NOT NULL DEFAULT 0, created_ms INTEGER, updated_ms INTEGER,
                    reviewed TEXT, stale INTEGER NOT NULL DEFAULT 0);
                INSERT INTO annotations_keyed(key, \(annotationColumnsButKey.joined(separator: ", ")))
                    SELECT e.key, \(annotationColumnsButKey.map { "a." + $0 }.joined(separator: ", "))
                    FROM annotations a JOIN entities e ON e.kind = 'annotation' AND e.id = a.id ORDER BY e.key;
                DROP TABLE annotations;
                ALTER TABLE annotations_keyed RENAME TO annotations;
                CREATE INDEX annotations_by_record ON annotations(record);
                CREATE INDEX annotations_by_code ON annotations(code);
                CREATE INDEX annotations_counted ON annotations(deleted, record, status, stale);
                """)
        },
        { db in
            // File version 18 (data schema still 6): the partial index
            // `log_authors` (version 10) gives way to a table of one row a
            // node, the name it last wrote as an author (`NodeAuthors`). The
            // index tested every change logged and took a row for each
            // annotation: about 7% of a receive's time.
            try db.execute("""
                CREATE TABLE node_authors(origin INTEGER PRIMARY KEY, seq INTEGER NOT NULL, name TEXT NOT NULL);
                DROP INDEX log_authors;
                """)
            try NodeAuthors.rebuild(db)
        },
    ]

    /// An annotation row's columns but its key (the entity's number, which
    /// differs from node to node): what two nodes' rows are compared by.
    static let annotationColumnsButKey = ["id", "record", "code", "span_start", "span_end", "quote", "prefix", "suffix", "value", "note",
                                       "status", "comment", "reviewer", "author", "deleted", "ever_deleted", "created_ms", "updated_ms",
                                       "reviewed", "stale"]

    /// The version of the file's layout: one per migration.
    static var fileVersion: Int { migrations.count }
    /// The version of the data model peers exchange (fields, kinds, rules),
    /// bumped whenever a receiver would judge a change differently: 4 added
    /// the `suggested` status, the code field `triggers` and the 256-colour
    /// palette names, 5 the record fields `done.<coder>` and the code field
    /// `value_type`, 6 the record field `received` (the record id its hash,
    /// the body free to change by `reclean`, spans held against any body the
    /// record had) (PROTOCOL.md §1). Data of an older version is valid in
    /// a newer one, so a store takes an older bundle; peers sync only at
    /// the same version.
    static let dataVersion = 6

    /// Tables derived from the log, emptied before a rebuild.
    static let derivedTables = ["record_meta", "record_done", "annotations", "codes", "conflicts", "conflict_aliases", "record_folded", "records"]
    /// Those of them keyed without a rowid (`WITHOUT ROWID`).
    static let derivedTablesWithoutRowid: Set<String> = ["record_meta", "record_done", "conflict_aliases"]
}
