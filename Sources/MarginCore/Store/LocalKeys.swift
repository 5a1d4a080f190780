import MarginSQLite

/// An entity named by kind and id.
struct EntityRef: Hashable {
    var kind: EntityKind
    var id: EntityID
}

/// The log's local numbers for node ids and entities (tables `nodes` and
/// `entities`): the log's rows hold these small integers, not the ids.
/// Numbers are never changed or reused, so one read (or made and committed)
/// stays true for every connection; the store calls `forget` when a
/// transaction rolls back, taking new numbers with it.
final class LocalKeys {
    private let db: Database
    private var prepared: (nodeKey: Statement, newNode: Statement, entityKey: Statement, newEntity: Statement)?
    private var nodes: [NodeID: Int64] = [:]
    private var lastNode: (id: NodeID, key: Int64)?
    /// The last entity is kept apart (changes come in runs of one entity),
    /// the others up to 4,096, about a 1 MB batch's entities (its span
    /// checks look its annotations up again): enough for a batch, flat in
    /// memory for a sync.
    private var entities: [EntityRef: Int64] = [:]
    private var lastEntity: (kind: EntityKind, id: EntityID, key: Int64)?

    init(_ db: Database) { self.db = db }

    private func statements() throws -> (nodeKey: Statement, newNode: Statement, entityKey: Statement, newEntity: Statement) {
        if let prepared { return prepared }
        let made = (nodeKey: try db.statement("SELECT key FROM nodes WHERE id = ?1"),
                    newNode: try db.statement("INSERT INTO nodes(id) VALUES(?1)"),
                    entityKey: try db.statement("SELECT key FROM entities WHERE kind = ?1 AND id = ?2"),
                    newEntity: try db.statement("INSERT INTO entities(kind, id) VALUES(?1, ?2)"))
        prepared = made
        return made
    }

    /// The number of a node id; with `create`, a new id is numbered.
    func node(_ id: NodeID, create: Bool) throws -> Int64? {
        // Changes come in runs of one origin.
        if let last = lastNode, last.id == id { return last.key }
        if let key = nodes[id] {
            lastNode = (id, key)
            return key
        }
        let s = try statements()
        var key = try find(s.nodeKey, [.node(id)])
        if key == nil, create { key = try make(s.newNode, [.node(id)]) }
        guard let key else { return nil }
        nodes[id] = key
        lastNode = (id, key)
        return key
    }

    /// The number of an entity, when this connection has read or made it
    /// lately (the question most changes end with).
    func cachedEntity(_ kind: EntityKind, _ id: EntityID) -> Int64? {
        if let last = lastEntity, last.kind == kind, last.id == id { return last.key }
        guard let key = entities[EntityRef(kind: kind, id: id)] else { return nil }
        lastEntity = (kind, id, key)
        return key
    }

    /// Takes an entity's number read beside its change (a reader of the
    /// log has both), so that the rules' look-ups of that entity (an
    /// annotation's record) need no search of the ids' index: `check`'s
    /// log pass reads a million rows, and each look-up by id was a descent
    /// of that index.
    func remember(_ kind: EntityKind, _ id: EntityID, key: Int64) {
        lastEntity = (kind, id, key)
    }

    /// The number of an entity not in the cache (ask `cachedEntity` first),
    /// and whether this call numbered it (then it had no logged change
    /// before, so it has no row either). `knownMissing`: the caller knows it
    /// has no number yet, so it is not looked for.
    func entity(_ kind: EntityKind, _ id: EntityID, create: Bool, knownMissing: Bool) throws -> (key: Int64, made: Bool)? {
        let ref = EntityRef(kind: kind, id: id)
        let s = try statements()
        let values: [SQLValue] = [.text(kind.rawValue), .entity(id)]
        var key = knownMissing ? nil : try find(s.entityKey, values)
        var made = false
        if key == nil {
            guard create else { return nil }
            key = try make(s.newEntity, values)
            made = true
        }
        guard let key else { return nil }
        lastEntity = (kind, id, key)
        if entities.count >= 4096 { entities.removeAll(keepingCapacity: true) }
        entities[ref] = key
        return (key, made)
    }

    /// Forgets the numbers read or made: after a rollback.
    func forget() {
        nodes.removeAll()
        lastNode = nil
        entities.removeAll()
        lastEntity = nil
    }

    /// How many times a number was searched for by id in the database
    /// (for tests: a pass over the log that reads each row's numbers
    /// searches for none of them).
    private(set) var searches = 0

    private func find(_ find: Statement, _ values: [SQLValue]) throws -> Int64? {
        searches += 1
        find.reset()
        defer { find.reset() }
        for (i, v) in values.enumerated() { try find.bind(Int32(i + 1), v) }
        return try find.step() ? find.int(0) : nil
    }

    private func make(_ make: Statement, _ values: [SQLValue]) throws -> Int64 {
        make.reset()
        for (i, v) in values.enumerated() { try make.bind(Int32(i + 1), v) }
        try make.execute()
        return db.lastInsertRowID
    }
}
