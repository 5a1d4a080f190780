import Foundation
import MarginSQLite

/// Failures a user can cause and read about. Each message is one line meant
/// for the terminal, naming what was wrong.
public enum MarginError: Error, Equatable, CustomStringConvertible {
    /// The input is malformed or breaks a rule (bad range, unknown field).
    case invalid(String)
    /// An id, code or file that does not exist.
    case notFound(String)
    /// An id prefix or name that matches more than one thing.
    case ambiguous(String)
    /// The store is missing, unreadable, or not a Margin store.
    case store(String)
    /// The store's contents contradict themselves.
    case corrupt(String)

    public var description: String {
        switch self {
        case .invalid(let m), .notFound(let m), .ambiguous(let m), .store(let m), .corrupt(let m): return m
        }
    }

    /// A one-line message for any error thrown below the CLI.
    public static func message(for error: Error) -> String {
        if let e = error as? MarginError { return e.description }
        if let e = error as? SQLiteError {
            if e.isFull { return "the disk is full (or the store reached its size limit); nothing was written" }
            if e.isReadOnly { return "the store is read-only; nothing was written" }
            if e.isNotADatabase { return "the store file is not a database" }
            if e.primaryCode == 11 { return "the store file is damaged (\(e.message)): restore it from a backup, or create a new store and sync it from a colleague" }
            if e.primaryCode == 5 { return "the store is busy (locked by another process); try again" }
            return "storage error: \(e.message) (SQLite code \(e.code))"
        }
        if let e = error as? MigrationError, case .newerSchema(let found, let known) = e {
            return "the store was written by a newer margin (schema \(found); this margin knows up to \(known)): upgrade margin"
        }
        // Foundation's file errors, as one line: the path and the system's
        // reason, not the error domain's dump.
        let ns = error as NSError
        if ns.domain == NSCocoaErrorDomain {
            let path = (ns.userInfo[NSFilePathErrorKey] as? String) ?? (ns.userInfo[NSURLErrorKey] as? URL)?.path
            let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError
            let reason = underlying.flatMap { $0.domain == NSPOSIXErrorDomain ? String(cString: strerror(Int32($0.code))) : nil }
                ?? ns.localizedDescription
            return path.map { "\($0): \(reason)" } ?? reason
        }
        return "\(error)"
    }
}
