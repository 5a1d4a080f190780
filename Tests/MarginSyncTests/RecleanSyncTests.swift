import Foundation
@testable import MarginCore
@testable import MarginSync
import XCTest

/// A reclean on one laptop while a colleague codes the earlier cleaning
/// offline, then a sync over TCP: the colleague's spans are taken (they
/// hold on the body they were made on), `check` names them, and the next
/// reclean places them (issue 26, part 3).
final class RecleanSyncTests: SyncTestCase {
    static let received = """
        秦安县团县委组织青年志愿者投身疫情防控
        来源:天水日报

        疫情发生以来,秦安县团县委迅速动员全县青年志愿者投身防控一线,共组建青年突击队16支,参与人员达420名,协助社区开展卡口值守和物资配送。

        网站声明
        一、凡本网注明来源为本网的所有作品,版权均属本网所有,未经授权不得转载。
        """

    func testAColleaguesCodingOfTheEarlierCleaningSyncsAndIsPlacedByTheNextReclean() throws {
        let alice = try node("alice"), bob = try node("bob", serve: false)
        // An older cleaning: the disclaimer kept in the body.
        let older = Self.received.split(separator: "\n").map(String.init).filter { !$0.isEmpty && !$0.hasPrefix("来源") }.dropFirst()
        let (record, _) = try alice.store.importReport(ReportDraft(body: older.joined(separator: "\n\n"), title: "秦安县", received: Self.received))
        let code = try alice.store.addCode(name: "teams", description: nil, colour: nil, parent: nil)
        _ = try bob.sync(with: alice)

        XCTAssertTrue(try alice.store.reclean(records: [record])[0].cleaned)
        let teams = try bob.store.annotate(record: record, code: code, span: .quote("16支", occurrence: nil), value: "16", note: nil)
        let gone = try bob.store.annotate(record: record, code: code, span: .quote("版权均属本网所有", occurrence: nil), value: nil, note: nil)
        let report = try bob.sync(with: alice)
        XCTAssertGreaterThan(report.sent, 0, "a span on the earlier body is taken, not refused")
        XCTAssertEqual(try alice.store.digest(), try bob.store.digest())
        for n in [alice, bob] {
            XCTAssertEqual(Set(try n.store.unanchoredAnnotations().map(\.id)), [teams, gone], n.name)
            XCTAssertThrowsError(try n.store.check(), n.name)
        }

        let outcome = try alice.store.reclean(records: [record])[0]
        XCTAssertEqual(outcome.moved, [teams])
        XCTAssertEqual(outcome.orphaned, [gone])
        _ = try bob.sync(with: alice)
        XCTAssertEqual(try bob.store.unanchoredAnnotations().map(\.id), [gone])
        let placed = try XCTUnwrap(bob.store.annotation(teams)?.span)
        XCTAssertEqual(ScalarText(try XCTUnwrap(bob.store.record(record)).body).slice(placed.start, placed.end), "16支")
        // The orphan is bob's: he takes it out, and both stores check clean.
        try bob.store.delete(annotation: gone)
        _ = try bob.sync(with: alice)
        XCTAssertEqual(try alice.store.digest(), try bob.store.digest())
        try alice.store.check()
        try bob.store.check()
    }
}
