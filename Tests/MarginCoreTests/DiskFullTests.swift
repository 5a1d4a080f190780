import Foundation
@testable import MarginCore
import MarginSQLite
import XCTest

/// A disk that fills up, simulated with `PRAGMA max_page_count`: the write
/// fails with one clear line, nothing of it is kept, and the store stays
/// consistent and usable once there is room again.
final class DiskFullTests: StoreTestCase {
    func bigReport(_ n: Int) -> ReportDraft {
        let sentence = "第\(n)號:全縣組織159名黨員、16個臨時黨支部投入防控,晝夜值守。"
        return ReportDraft(body: String(repeating: sentence, count: 3000), title: "大報告 \(n)")
    }

    func fill(_ s: Store) throws {
        let pages = try s.db.scalar("PRAGMA page_count").int ?? 0
        try s.db.execute("PRAGMA max_page_count = \(pages)")
    }

    func testAWriteThatDoesNotFitChangesNothing() throws {
        let s = try makeStore("a")
        let (rid, _) = try s.importReport(ReportDraft(body: "共有159名黨員加入其中。", title: "小"))
        let code = try s.addCode(name: "party", description: nil, colour: nil, parent: nil)
        let before = (try s.digest(), try s.status().changes, try s.dumpDerivedState())
        try fill(s)

        XCTAssertThrowsError(try s.importReport(bigReport(1))) { error in
            let line = MarginError.message(for: error)
            XCTAssertTrue(line.contains("disk is full"), line)
            XCTAssertFalse(line.contains("\n"))
        }
        XCTAssertThrowsError(try s.write {
            for i in 0..<50 { _ = try s.annotate(record: rid, code: code, span: .quote("159名黨員", occurrence: nil), value: "\(i)", note: String(repeating: "註", count: 2000)) }
        })
        XCTAssertEqual(try s.digest(), before.0)
        XCTAssertEqual(try s.status().changes, before.1)
        XCTAssertEqual(try s.dumpDerivedState(), before.2)

        // Room again: the same store, the same connection, carries on.
        try s.db.execute("PRAGMA max_page_count = 1073741823")
        try s.check()
        let (big, _) = try s.importReport(bigReport(1))
        _ = try s.annotate(record: big, code: code, span: .quote("159名黨員", occurrence: 1), value: "159", note: nil)
        try s.check()
    }

    func testAReceivedBatchThatDoesNotFitIsRefusedWhole() throws {
        let a = try makeStore("a"), b = try makeStore("b")
        for i in 0..<3 { _ = try a.importReport(bigReport(i)) }
        var changes: [Change] = [], signatures: [HeadSignature] = []
        try a.forEachSignedChange(above: VersionVector()) { c, s in
            changes.append(c)
            if let s { signatures.append(s) }
            return true
        }
        try fill(b)
        let heads = try b.versionVector()
        XCTAssertThrowsError(try b.receiveBatch(changes, signatures: signatures)) { error in
            XCTAssertTrue(MarginError.message(for: error).contains("disk is full"), "\(error)")
        }
        XCTAssertEqual(try b.versionVector(), heads, "no part of the batch was kept")
        XCTAssertEqual(try b.status().changes, 0)
        try b.db.execute("PRAGMA max_page_count = 1073741823")
        try b.check()
        _ = try b.receiveBatch(changes, signatures: signatures)
        XCTAssertEqual(try b.digest(), try a.digest())
        try b.check()
    }
}
