import Foundation
@testable import MarginCore
import MarginTestSupport
import XCTest

/// Whole-store outputs stream (issue 28): the streamed CSV is, byte for
/// byte, what the whole export set writes, with the same rows left out.
final class ExportStreamTests: StoreTestCase {
    func testTheStreamedCSVIsTheCSVOfTheWholeExportSet() throws {
        checkStoresAtTheEnd = false   // the orphan is left on purpose: `check` names it
        let s = try makeStore("a")
        let (first, _) = try s.importReport(RecordIdentityTests.olderCleaning(RecordIdentityTests.report))
        let (second, _) = try s.importReport(ReportDraft(body: "全县共有16名党员,\"志愿者\"38人。", title: "=第二份, 报告"))
        let teams = try s.addCode(name: "teams", description: nil, colour: nil, parent: nil)
        let old = try s.addCode(name: "old-teams", description: nil, colour: nil, parent: nil)
        _ = try s.annotate(record: first, code: old, span: .quote("16支", occurrence: nil), value: "16", note: "=SUM(A1)")
        _ = try s.annotate(record: first, code: teams, span: .quote("版权均属本网所有", occurrence: nil), value: nil, note: nil)
        _ = try s.annotate(record: first, code: teams, span: nil, value: nil, note: "a tag, \"quoted\"\r\nover two lines")
        _ = try s.annotate(record: second, code: teams, span: .quote("16名党员", occurrence: nil), value: "16", note: "+1")
        _ = try s.mergeCode(old, into: teams)
        // The reclean orphans the second span: left out by both, and counted.
        _ = try s.reclean(records: [first])
        for excel in [false, true] {
            let set = try ExportSet(s)
            var streamed = ""
            let (rows, left) = try ExportSet.streamCSV(s, excel: excel) { streamed += $0 }
            XCTAssertEqual(streamed, set.csv(excel: excel))
            XCTAssertEqual(rows, set.annotations.count)
            XCTAssertEqual(left, set.unanchored)
            XCTAssertEqual(left, 1)
            XCTAssertEqual(rows, 3)
            XCTAssertTrue(streamed.contains(",teams,"), "the merged code is named as the code it stands for")
        }
    }
}
