/// What a write knows of one field it has changed more than once: the
/// field's winner, and the changes to it this write has logged, by the
/// change each supersedes. Each further change to the field that
/// supersedes one of those is answered from memory instead of reading the
/// field's rows again.
///
/// The log's rows of one field sit together, but finding the field's
/// winner and the changes that supersede one given change means reading
/// all of them: no index holds either (an index of winners cost every
/// write and apply about a sixth). For the usual field, changed once or
/// twice, that is a row or two. A field changed thousands of times (a
/// value edited over and over, or a hostile peer's run of edits) made each
/// change read every row before it.
///
/// A change can supersede only a change already held (`ruleProblem`), so
/// every change superseding one this write logged is logged after it, in
/// this write, and is here: for such a target the answer is whole. For
/// any other target (a change logged before the write, or none) the
/// caller reads the log as before. What is held grows with the write, not
/// with the field's history: a field changed a million times costs no
/// more memory than one changed once.
///
/// It lives in the write's scope (`WriteScope.fieldHistories`), so it ends
/// with the write, or with the received batch's step in a write that takes
/// several (a bundle's import), and is dropped with what else the write
/// remembered about rows after a rollback, when changes leave the log, or
/// when a rebuild sets the winner flags itself (`forgetRules`). What it
/// holds is bounded by one write or one batch.
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

    /// The field's winner, if it has one.
    private var winner: Row?
    /// The changes this write has logged to the field since the history
    /// was made, by id and by the change each supersedes.
    private var logged: [ChangeID: Row] = [:]
    /// The first change logged that supersedes a change, and any more:
    /// most changes have one successor, and an array for each cost more
    /// than the row.
    private var firstSuccessor: [ChangeID: ChangeID] = [:]
    private var moreSuccessors: [ChangeID: [ChangeID]] = [:]
    /// A change not held here became the winner: the history no longer
    /// knows the field, and the caller drops it.
    private(set) var isStale = false

    init(winner: Row?) {
        self.winner = winner
    }

    mutating func append(_ row: Row) {
        logged[row.id] = row
        if let target = row.supersedes {
            if firstSuccessor[target] == nil { firstSuccessor[target] = row.id } else { moreSuccessors[target, default: []].append(row.id) }
        }
        if row.current { winner = row }
    }

    /// The log's `current` flag of one change moved.
    mutating func setCurrent(_ id: ChangeID, _ current: Bool) {
        logged[id]?.current = current
        if current {
            guard let row = logged[id] else { isStale = true; return }
            winner = row
        } else if winner?.id == id {
            winner = nil
        }
    }

    /// What `Projector.FieldRows.near(target)` reads, when this history can
    /// answer it whole (`target` is a change this write logged since the
    /// history was made); nil when the log must be read. The winner and
    /// the changes that supersede `target`, each once, in the log's order
    /// (by origin's number, then sequence number).
    func near(_ target: ChangeID?) -> [Row]? {
        guard let target, logged[target] != nil else { return nil }
        var picked = ([firstSuccessor[target]].compactMap { $0 } + (moreSuccessors[target] ?? [])).compactMap { logged[$0] }
        if let winner, !picked.contains(where: { $0.id == winner.id }) { picked.append(winner) }
        return picked.sorted { ($0.originKey, $0.id.seq) < ($1.originKey, $1.id.seq) }
    }
}
