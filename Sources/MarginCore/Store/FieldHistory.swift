/// One field's logged changes, held by a write that has changed the field
/// more than once, so that each further change to it is answered from
/// memory instead of reading the field's rows again.
///
/// The log's rows of one field sit together, but finding the field's
/// winner and the changes that supersede one given change means reading
/// all of them: no index holds either (an index of winners cost every
/// write and apply about a sixth). For the usual field, changed once or
/// twice, that is a row or two. A field changed thousands of times in one
/// batch (a value edited over and over, or a hostile peer's run of edits)
/// made each change read every row before it. Read once per write and kept
/// in step with every row the write logs or re-flags, the history answers
/// each change in constant time, whatever the field's length.
///
/// It lives in the write's scope (`WriteScope.fieldHistories`), so it ends
/// with the write, and is dropped with what else the write remembered about
/// rows after a rollback or when changes leave the log (`forgetRules`).
struct FieldHistory {
    struct Key: Hashable {
        let entity: Int64
        let field: String
    }

    /// One logged change, without its value (a record's body can be
    /// long): the value of a change the write is given is read by key.
    struct Row {
        var id: ChangeID
        /// The log's number for the change's origin, to read its value by key.
        var originKey: Int64
        var stamp: Change.Stamp
        var supersedes: ChangeID?
        var current: Bool
    }

    private(set) var rows: [Row] = []
    private var byID: [ChangeID: Int] = [:]
    private var bySupersedes: [ChangeID?: [Int]] = [:]
    private var winner: Int?

    init(_ rows: [Row]) {
        for row in rows { append(row) }
    }

    mutating func append(_ row: Row) {
        let i = rows.count
        rows.append(row)
        byID[row.id] = i
        bySupersedes[row.supersedes, default: []].append(i)
        if row.current { winner = i }
    }

    /// The log's `current` flag of one change moved.
    mutating func setCurrent(_ id: ChangeID, _ current: Bool) {
        guard let i = byID[id] else { return }
        rows[i].current = current
        if current {
            winner = i
        } else if winner == i {
            winner = nil
        }
    }

    /// What `Projector.FieldRows.near(target)` reads: the winner and the
    /// changes that supersede `target` (nil: first writes), each once, in
    /// the log's order (by origin's number, then sequence number).
    func near(_ target: ChangeID?) -> [Row] {
        var picked = bySupersedes[target] ?? []
        if let winner, !picked.contains(winner) { picked.append(winner) }
        return picked.map { rows[$0] }.sorted { ($0.originKey, $0.id.seq) < ($1.originKey, $1.id.seq) }
    }
}
