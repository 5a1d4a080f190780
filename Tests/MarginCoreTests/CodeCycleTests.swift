import Foundation
@testable import MarginCore
import XCTest

/// Two people's concurrent edits can make codes each other's parents, or
/// merge two codes into each other. Neither change breaks a rule alone, so
/// both are kept, and every node reads the same cycle-free tree: the newest
/// link of a cycle is ignored (PROTOCOL.md §3). `check` passes (the base
/// class runs it on every store).
final class CodeCycleTests: StoreTestCase {
    func testConcurrentParentLinksThatCloseACycleAreReadTheSameEverywhere() throws {
        let a = try makeStore("a"), b = try makeStore("b")
        let x = try a.addCode(name: "x", description: nil, colour: nil, parent: nil)
        let y = try a.addCode(name: "y", description: nil, colour: nil, parent: nil)
        try exchange(a, b)
        try a.describeCode(x, description: nil, colour: nil, parent: .some(y))
        try b.describeCode(y, description: nil, colour: nil, parent: .some(x))
        try exchange(a, b)
        let codesA = try a.codes(), codesB = try b.codes()
        XCTAssertEqual(codesA, codesB)
        // Exactly one of the two links is ignored: the one with the newer stamp.
        let sx = try XCTUnwrap(try a.winner(.code, EntityID(stored: x), "parent")).stamp, sy = try XCTUnwrap(try a.winner(.code, EntityID(stored: y), "parent")).stamp
        let (newer, older, olderTarget) = sx < sy ? (y, x, y) : (x, y, x)
        XCTAssertNil(codesA.first { $0.id == newer }?.parent)
        XCTAssertNotNil(codesA.first { $0.id == newer }?.ignoredLink)
        XCTAssertEqual(codesA.first { $0.id == older }?.parent, olderTarget)
        XCTAssertEqual(try a.codeFamily(olderTarget, includeChildren: true), [x, y].sorted())
    }

    func testTwoCodesMergedIntoEachOtherConcurrently() throws {
        let a = try makeStore("a"), b = try makeStore("b")
        let x = try a.addCode(name: "x", description: nil, colour: nil, parent: nil)
        let y = try a.addCode(name: "y", description: nil, colour: nil, parent: nil)
        let (rid, _) = try a.importReport(ReportDraft(body: "共有159名黨員和16個臨時黨支部。"))
        let ann = try a.annotate(record: rid, code: x, span: .quote("159名黨員", occurrence: nil), value: nil, note: nil)
        try exchange(a, b)
        _ = try a.mergeCode(x, into: y)
        _ = try b.mergeCode(y, into: x)
        try exchange(a, b)
        XCTAssertEqual(try a.effectiveCode(x), try b.effectiveCode(x))
        XCTAssertEqual(try a.effectiveCode(y), try b.effectiveCode(y))
        XCTAssertEqual(try a.effectiveCode(x), try a.effectiveCode(y), "both stand for one code")
        XCTAssertEqual(try a.codes().map(\.id), try b.codes().map(\.id))
        XCTAssertEqual(try a.codes().count, 1, "one of the two is merged, the other stands")
        XCTAssertEqual(try a.annotation(ann)?.code, try b.annotation(ann)?.code)
        XCTAssertEqual(try a.digest(), try b.digest())
    }
}
