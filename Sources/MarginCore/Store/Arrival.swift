import Foundation
import Glibc
import MarginCrypto
import MarginSQLite

/// The receiver's one change: how a change made on another node joins the
/// log (a batch's verification, steps and forks are in Replication.swift).
extension Store {
    /// What receiving one change found.
    enum Arrival: Equatable {
        case applied
        /// Already held: the same change (same hash) is in the log.
        case alreadyHeld
        /// The log holds a different change under this origin and sequence
        /// number, or the change does not continue the origin's chain as held
        /// here: the origin's history has forked. `exact` when the chains
        /// agree up to the change before, so the fork is at `change.id.seq`.
        case fork(exact: Bool)
    }

    /// Takes a change made on another node into the log and the state,
    /// checking it against the origin's hash chain. Refuses a change that
    /// would leave a gap in its origin's sequence or that does not fit the
    /// schema. Must run inside `write`.
    /// `hash`: the change's hash, when the caller has computed it already.
    /// `checkedAlone`: the caller has checked `ChangeRules.problem`.
    func arrive(_ change: Change, hash known: [UInt8]? = nil, checkedAlone: Bool = false) throws -> Arrival {
        let origin = change.id.origin
        let head = try head(of: origin)
        let hash = known ?? change.hash
        if change.id.seq <= head {
            if try storedHash(change.id) == hash { return .alreadyHeld }
            return .fork(exact: try tip(of: origin, head: change.id.seq - 1) == change.prev)
        }
        guard change.id.seq == head + 1 else {
            throw MarginError.invalid("change \(change.id) refused: sequence gap from \(origin): expected \(head + 1), got \(change.id.seq)")
        }
        let field = try fieldChanges(change.kind, change.entity, change.field, .near(change.supersedes))
        if let problem = try ruleProblem(change, field: field, checkedAlone: checkedAlone) { throw MarginError.invalid("change \(change.id) refused: \(problem)") }
        if try tip(of: origin, head: head) != change.prev { return .fork(exact: false) }
        try fold(change, hash: hash, logged: false, field: field)
        return .applied
    }

    /// `arrive` for callers that expect no fork: true when applied, false
    /// when already held.
    @discardableResult
    func receive(_ change: Change) throws -> Bool {
        switch try arrive(change) {
        case .applied: return true
        case .alreadyHeld: return false
        case .fork: throw MarginError.invalid("change \(change.id) forks the history of \(change.id.origin)")
        }
    }
}
