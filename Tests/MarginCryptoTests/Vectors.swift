import Foundation
import XCTest

/// The published test vectors in Tests/Vectors (Wycheproof, cacophony),
/// read by every crypto test from one place. They are part of the
/// repository, so a clean clone checks every primitive; a missing file is
/// a failure, not a skip.
enum Vectors {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Vectors")

    /// The JSON object of `path` (relative to Tests/Vectors).
    static func json(_ path: String) throws -> [String: Any] {
        let data = try Data(contentsOf: folder.appendingPathComponent(path))
        return try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any], "\(path) is not a JSON object")
    }

    /// A Wycheproof file's tests, each with its group.
    static func wycheproof(_ name: String) throws -> (root: [String: Any], tests: [([String: Any], [String: Any])]) {
        let root = try json("wycheproof/" + name)
        let tests = (root["testGroups"] as? [[String: Any]] ?? []).flatMap { g in (g["tests"] as? [[String: Any]] ?? []).map { (g, $0) } }
        return (root, tests)
    }
}
