import CSQLite
import Dispatch
import Synchronization

/// Copies a WAL database's committed pages back into its main file on a
/// thread of its own, so that a long run of writes (a sync applying a
/// million changes, a large import) does not stop every few megabytes for
/// the copy and its fsync. SQLite allows one checkpointer beside a writer:
/// the writer goes on appending to the log while committed pages are copied.
///
/// Owned by the `Database` whose commits request it (`checkpointInBackground`).
/// Each run opens a connection of its own and closes it, so between runs the
/// owner's is the only connection, and closing it still checkpoints and
/// removes the log as SQLite does for the last connection. `stop` waits for a
/// run under way.
final class Checkpointer: @unchecked Sendable {
    private let path: String
    private let queue = DispatchQueue(label: "margin.checkpoint")
    /// A run is queued and has not started: further requests join it.
    private let queued = Mutex(false)
    /// Set by `stop`, read on `queue`.
    private var stopped = false

    init(path: String) { self.path = path }

    func request() {
        let first = queued.withLock { queued in
            defer { queued = true }
            return !queued
        }
        guard first else { return }
        queue.async { [self] in
            queued.withLock { $0 = false }
            guard !stopped else { return }
            run()
        }
    }

    /// A PASSIVE checkpoint: as much as can be copied without waiting for
    /// any reader or writer. Failures are left to the next request (or to
    /// the owner's close, which checkpoints in full).
    private func run() {
        guard let db = try? Database(path: path, options: { var o = Database.Options(); o.create = false; return o }()) else { return }
        defer { db.close() }
        try? db.execute("PRAGMA synchronous=FULL")
        try? db.execute("PRAGMA wal_checkpoint(PASSIVE)")
    }

    /// Returns once the runs requested so far have finished.
    func drain() { queue.sync {} }

    /// Returns once no run is under way; later requests do nothing.
    func stop() {
        queue.sync { stopped = true }
    }
}
