/// What one write keeps in memory for its own length, and nothing longer.
///
/// The outermost `Store.write` makes one, nested writes share it, and it
/// is dropped when the outermost write ends, committed or not: nothing in
/// it is reset by hand, and outside a write `Store.scope` is nil. A
/// received batch makes its own for each step (`Store.applyStep`), saying
/// that it saves the heads itself. A nested write that fails before writing
/// puts the scope back as it found it (see `Store.write`).
struct WriteScope {
    /// Whether the write saves the heads it moved and records itself as a
    /// step to undo when it ends. False for a received batch's step, which
    /// saves them along with what a fork recovery moved.
    let savesHeads: Bool
    /// Whether nested writes get savepoints (see `Store.write`).
    let isolatesNestedWrites: Bool
    /// Whether received batches may be applied inside this write: only one
    /// made for them (a bundle's or a copied store's changes, in one
    /// transaction), which moves no heads of its own. A received batch's
    /// steps save the heads they move and start from the saved ones, so
    /// inside any other write they dropped the heads it had moved and not
    /// saved (an import's reports before a bundle, in one chunk), and its
    /// next change reused a sequence number (`Receiver.receive`).
    let holdsReceivedBatches: Bool
    /// This node's head when the write began, for `undo`.
    var headAtStart: Int64?
    /// The sequence heads and chain tips moved, saved once at the end.
    var heads = PendingHeads()
    /// The author names this write appended, saved with the heads.
    var nodeAuthors = NodeAuthors()
    /// This node's changes appended since its head was last signed, and
    /// their values' bytes: a long write signs every `Store.signEvery` of
    /// them, or every `Store.signEveryBytes`, so that no signed stretch of
    /// the log outgrows a batch (a sender closes batches only at signed
    /// changes, PROTOCOL.md §6).
    var unsignedOwnChanges = 0
    var unsignedOwnBytes = 0
    /// Records whose title or body changed; their full-text entries are
    /// refreshed once, at the end.
    var reindex: Set<EntityID> = []
    /// Index entries made on another core for records this write imports,
    /// by record. `importReport` puts one here after writing the title and
    /// body it was made from; any later change to either removes it, so an
    /// entry here is always the record's current one.
    var preparedIndex: [EntityID: Store.IndexEntry] = [:]
    /// The last record an annotation's change was found to name rightly
    /// (it has a body); see `Store.ruleProblem`.
    var lastRecordWithBody: EntityID?
    /// The last annotation found to have its record; see `Store.ruleProblem`.
    var lastAnnotationWithRecord: (annotation: EntityID, record: EntityID)?
    /// While a received batch is applied: the annotations whose `record`
    /// it sets, and the origin that sets it (see `Store.receiveBatch`).
    var annotationsGivenRecords: Set<AnnotationByOrigin> = []
    /// The last entity looked for and not found (see `Projector.numberedEntity`).
    var lastMissingEntity: EntityRef?
    /// The fields an arrival or a fold in this write has found logged
    /// changes of; found a second time, a field's history is read and kept
    /// in `fieldHistories` (see `FieldHistory`).
    var fieldsWithHistory: Set<FieldHistory.Key> = []
    var fieldHistories: [FieldHistory.Key: FieldHistory] = [:]
    /// The error of a nested write that failed after writing: the
    /// outermost write fails with it (see `Store.write`).
    var failedNestedWrite: (any Error)?

    init(savesHeads: Bool = true, isolatesNestedWrites: Bool = false, holdsReceivedBatches: Bool = false,
         annotationsGivenRecords: Set<AnnotationByOrigin> = []) {
        self.savesHeads = savesHeads
        self.isolatesNestedWrites = isolatesNestedWrites
        self.holdsReceivedBatches = holdsReceivedBatches
        self.annotationsGivenRecords = annotationsGivenRecords
    }

    /// Forgets what the rules and the fields' histories remembered about
    /// the rows (after a rollback, or when changes leave the log): a record
    /// may hold no body now, a field fewer changes.
    mutating func forgetRules() {
        lastRecordWithBody = nil
        lastAnnotationWithRecord = nil
        fieldHistories.removeAll()
    }

    /// What runs when the outermost write's body has returned, in this
    /// order, inside its transaction.
    enum EndStep: CaseIterable {
        /// A nested write that failed after writing fails the whole write.
        case failIfANestedWriteFailed
        /// What the write added to this node's history, for `undo --last`.
        case recordUndoStep
        /// The heads and chain tips moved (`savesHeads`).
        case saveHeads
        /// The full-text entries, once: FTS5 flushes what it holds at every
        /// savepoint, so indexing inside each nested write (one per imported
        /// file) cost a flush per document.
        case reindex
        /// This node's head, if the write appended unsigned changes.
        case signHead
        case saveClock
    }
}

/// The sequence heads and chain tips a write (or a received batch) has
/// moved, kept in memory and saved once at its end. The origin moved last is
/// kept apart from the others: changes come in runs of one origin, so most
/// of them cost no hashing of a node id.
struct PendingHeads {
    private var heads: [NodeID: Int64] = [:]
    private var tips: [NodeID: [UInt8]] = [:]
    private var last: (origin: NodeID, seq: Int64, tip: [UInt8]?)?

    func head(_ origin: NodeID) -> Int64? {
        if let last, last.origin == origin { return last.seq }
        return heads[origin]
    }

    /// The hash of `origin`'s change number `seq`, when it is the head
    /// held here and its hash is known.
    func tip(_ origin: NodeID, at seq: Int64) -> [UInt8]? {
        if let last, last.origin == origin { return last.seq == seq ? last.tip : nil }
        return heads[origin] == seq ? tips[origin] : nil
    }

    /// Moves `origin`'s head to `seq`; `tip`: the hash of that change, nil
    /// when not known here.
    mutating func set(_ origin: NodeID, _ seq: Int64, tip: [UInt8]?) {
        if let last, last.origin != origin {
            heads[last.origin] = last.seq
            tips[last.origin] = last.tip
        }
        last = (origin, seq, tip)
    }

    /// Every origin's head held here.
    var all: [NodeID: Int64] {
        var out = heads
        if let last { out[last.origin] = last.seq }
        return out
    }
}

/// An annotation and an origin that writes to it.
struct AnnotationByOrigin: Hashable {
    var annotation: EntityID
    var origin: NodeID
}
