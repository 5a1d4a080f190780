import Foundation
@testable import MarginCore
import MarginSQLite
import XCTest

/// `table codes` counts in SQLite (by record, code and layer) instead of
/// reading each annotation. Its numbers must be those of the annotations a
/// table reads (`tableAnnotations`, each annotation whole), counted here
/// one by one as the second computation: with a merged code, suggestions,
/// a stale review, two coders, the gold layer and a deleted record.
final class TableCountTests: StoreTestCase {
    func testCountsInSQLiteEqualCountsOfTheAnnotationsRead() throws {
        let s = try makeStore("alice")
        let a = try s.addCode(name: "party-members", description: nil, colour: nil, parent: nil)
        let b = try s.addCode(name: "cadres", description: nil, colour: nil, parent: nil)
        let c = try s.addCode(name: "volunteers", description: nil, colour: nil, parent: a)
        var records: [String] = []
        let places = ["玛多县", "曲麻萊縣", nil]
        for i in 0..<9 {
            let body = "第\(i)份报告：组建党员突击队\(i + 1)支，\(10 + i)名党员干部参加，志愿者\(i * 3)人。"
            records.append(try s.importReport(ReportDraft(body: body, title: "报告\(i)", published: "2020-0\(1 + i % 3)-15", place: places[i % 3])).id)
        }
        var made: [String] = []
        for (n, record) in records.enumerated() {
            for k in 0..<6 {
                let code = [a, b, c][(n + k) % 3]
                let author = ["alice", "bob", "alice"][k % 3]
                let status: ReviewStatus = k == 4 ? .suggested : .open
                made.append(try s.annotate(record: record, code: code, span: nil, value: nil, note: nil, author: author, status: status))
            }
        }
        // A review made stale (its annotation shows as open, counted), one
        // suggestion accepted, one annotation with no code.
        try s.review(annotation: made[0], status: .accepted, comment: nil)
        var edit = Store.AnnotationEdit()
        edit.code = .some(b)
        try s.edit(annotation: made[0], edit, anyLayer: true)
        try s.review(annotation: made[4], status: .accepted, comment: nil)
        _ = try s.annotate(record: records[1], code: nil, span: nil, value: nil, note: "no code", author: "bob")
        // A code merged into another, and an annotation still naming it
        // (as one synced from a colleague who had not seen the merge would).
        _ = try s.mergeCode(c, into: a)
        try s.write { _ = try s.set(.annotation, EntityID(stored: made[2]), "code", .text(c)) }
        // A deleted record's annotations do not count.
        try s.delete(record: records[8])

        func expected(by: Store.TableGroup?, coder: String?, code: String? = nil) throws -> [Store.CodeCount] {
            var grouping = try Store.TableGrouping(s, by: by)
            var counts: [String: [String: [String: (n: Int, records: Set<String>)]]] = [:]
            for x in try s.tableAnnotations(code: code, coder: coder) {
                let g = grouping.group(x), p = grouping.code(x)
                counts[x.layer ?? "", default: [:]][g, default: [:]][p, default: (0, [])].n += 1
                counts[x.layer ?? ""]?[g]?[p]?.records.insert(x.record)
            }
            return counts.flatMap { layer, groups in groups.flatMap { g, codes in codes.map { code, v in
                Store.CodeCount(layer: layer, group: by == nil ? nil : g, code: code, annotations: v.n, records: v.records.count)
            } } }.sorted { ($0.layer, $0.group ?? "", $0.code) < ($1.layer, $1.group ?? "", $1.code) }
        }
        func check() throws {
            for by in [nil] + Store.TableGroup.allCases.map(Optional.some) {
                for coder in [nil, "alice", "bob"] {
                    XCTAssertEqual(try s.codeCounts(by: by, coder: coder), try expected(by: by, coder: coder), "\(String(describing: by)) \(coder ?? "-")")
                }
            }
            for code in [a, b] {
                XCTAssertEqual(try s.codeCounts(code: code, by: .place), try expected(by: .place, coder: nil, code: code), "code \(code)")
            }
        }
        try check()
        XCTAssertFalse(try s.codeCounts().isEmpty)
        // With a gold layer, only it counts.
        _ = try s.annotate(record: records[2], code: b, span: nil, value: nil, note: nil, author: Store.goldAuthor)
        try check()
        XCTAssertEqual(Set(try s.codeCounts().map(\.layer)), [Store.goldAuthor])
    }
}
