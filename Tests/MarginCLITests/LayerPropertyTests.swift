import Foundation
@testable import MarginCLI
@testable import MarginCore
import XCTest

/// Issue 24: random multi-coder stores (suggestions accepted and rejected,
/// attempted edits of a colleague's coding, copies into one's own layer,
/// reviews, done marks, a gold layer) and `agree`'s unit and presence
/// counts and `table values` checked against a direct computation from
/// the store's JSON Lines export, which states the layer rules plainly.
final class LayerPropertyTests: CLITestCase {
    static let coders = ["alice", "bob", "carol"]
    static let codes = ["figures", "branches", "positive"]

    func testAgreeAndTablesMatchADirectComputationOnRandomStores() throws {
        for seed in UInt64(1)...6 {
            try check(seed: seed)
        }
    }

    func check(seed: UInt64) throws {
        var rng = SeededGenerator(seed: seed)
        let path = try folder("store-\(seed)")
        let store = try Store.create(directory: path, name: "alice")
        var codeIDs: [String: String] = [:]
        for c in LayerPropertyTests.codes { codeIDs[c] = try store.addCode(name: c, description: nil, colour: nil, parent: nil) }
        var records: [String] = []
        for i in 0..<8 {
            let body = "第\(i)份简报:全县组织\(30 + i)名党员干部,设立\(i + 3)个临时党支部,走访\(100 + i)户。"
            records.append(try store.importReport(ReportDraft(body: body, title: "简报\(i)")).id)
        }
        let spans = [(7, 13), (14, 20), (21, 25), (7, 9)]
        var refusedEdits = 0
        for record in records {
            for coder in LayerPropertyTests.coders {
                // Coding: spans with figures, tags.
                for _ in 0..<Int.random(in: 0...3, using: &rng) {
                    let (s, e) = spans.randomElement(using: &rng) ?? (7, 13)
                    let code = LayerPropertyTests.codes[Int.random(in: 0..<2, using: &rng)]
                    try store.annotate(record: record, code: codeIDs[code], span: .range(s, e), value: String(Int.random(in: 1...500, using: &rng)),
                                       note: nil, author: coder)
                }
                if Bool.random(using: &rng) { try store.annotate(record: record, code: codeIDs["positive"], span: nil, value: nil, note: nil, author: coder) }
                if Int.random(in: 0..<4, using: &rng) == 0 { try store.annotate(record: record, code: nil, span: nil, value: nil, note: "a note", author: coder) }
                if Int.random(in: 0..<5, using: &rng) != 0 { try store.markDone(record: record, as: coder) }
            }
            // Suggestions: some accepted (alice's now), some rejected, some left.
            for _ in 0..<Int.random(in: 0...3, using: &rng) {
                let (s, e) = spans.randomElement(using: &rng) ?? (7, 13)
                let id = try store.annotate(record: record, code: codeIDs["figures"], span: .range(s, e), value: "11000", note: nil,
                                            author: LayerPropertyTests.coders.randomElement(using: &rng), status: .suggested)
                switch Int.random(in: 0..<3, using: &rng) {
                case 0: try store.review(annotation: id, status: .accepted, comment: nil)
                case 1: try store.review(annotation: id, status: .rejected, comment: nil)
                default: break
                }
            }
            // alice tries to edit a colleague's coding: refused, nothing
            // changes; she copies it into her layer instead.
            if let other = try store.annotations(record: record).first(where: { $0.layer != nil && $0.layer != "alice" && $0.code != nil }) {
                var e = Store.AnnotationEdit(); e.value = .some("999")
                XCTAssertThrowsError(try store.edit(annotation: other.id, e))
                refusedEdits += 1
                XCTAssertEqual(try store.annotation(other.id)?.value, other.value)
                if Bool.random(using: &rng) { try store.copyAsMine(annotation: other.id, e) }
            }
            // Reviews by alice of anyone's: they never change a layer.
            for a in try store.annotations(record: record) where a.status != .suggested && Int.random(in: 0..<3, using: &rng) == 0 {
                try store.review(annotation: a.id, status: Bool.random(using: &rng) ? .accepted : .rejected, comment: "checked")
            }
        }
        XCTAssertGreaterThan(refusedEdits, 0)
        // A gold layer on some records.
        if seed % 2 == 0 {
            for record in records.prefix(3) {
                for d in try store.compare(record: record, coders: ("alice", "bob")).differ { try store.adjudicate(d, .first, coders: ("alice", "bob")) }
                try store.adoptAgreements(record: record, coders: ("alice", "bob"))
                try store.markDone(record: record, as: Store.goldAuthor)
            }
        }

        // The export, read plainly.
        let lines = try margin("--store", path, "export").out.split(separator: "\n").map {
            try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        let done = Dictionary(uniqueKeysWithValues: lines.filter { $0["type"] as? String == "record" }.map {
            ($0["id"] as? String ?? "", Set($0["done"] as? [String] ?? []))
        })
        let codeNames = Dictionary(uniqueKeysWithValues: lines.filter { $0["type"] as? String == "code" }.map { ($0["id"] as? String ?? "", $0["name"] as? String ?? "") })
        struct Coding { var record: String, layer: String, code: String, span: Bool, value: String? }
        let coding: [Coding] = lines.filter { $0["type"] as? String == "annotation" }.compactMap { a in
            guard a["status"] as? String != "suggested", let author = a["author"] as? String, let code = a["code"] as? String else { return nil }
            return Coding(record: a["record"] as? String ?? "", layer: author, code: codeNames[code] ?? code, span: a["start"] != nil, value: a["value"] as? String)
        }

        for chosen in [["alice", "bob"], LayerPropertyTests.coders] {
            let set = Set(chosen)
            let units = done.filter { $0.value.intersection(set).count >= 2 }.map(\.key)
            let touched = Set(done.filter { !$0.value.intersection(set).isEmpty }.map(\.key))
                .union(coding.filter { set.contains($0.layer) }.map(\.record))
            let notDone = lines.filter { $0["type"] as? String == "annotation" }.filter { a in
                guard a["status"] as? String != "suggested", let author = a["author"] as? String, set.contains(author) else { return false }
                return done[a["record"] as? String ?? ""]?.contains(author) != true
            }.count
            let r = margin("--store", path, "agree", "--coders", chosen.joined(separator: ","), "--json")
            XCTAssertEqual(r.code, 0, r.err)
            let o = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any])
            XCTAssertEqual(o["records"] as? Int, units.count, "seed \(seed) \(chosen): units")
            XCTAssertEqual(o["records_left_out"] as? Int, touched.count - units.count, "seed \(seed) \(chosen): left out")
            XCTAssertEqual(o["annotations_not_done"] as? Int, notDone, "seed \(seed) \(chosen): not done")
            for row in o["spans"] as? [[String: Any]] ?? [] where row["code"] as? String != "(all codes)" {
                let code = row["code"] as? String ?? ""
                for coder in chosen {
                    let expected = coding.filter { $0.layer == coder && $0.code == code && $0.span && units.contains($0.record) && done[$0.record]?.contains(coder) == true }.count
                    XCTAssertEqual((row["spans"] as? [String: Int])?[coder] ?? 0, expected, "seed \(seed) \(chosen): \(coder)'s \(code) spans")
                }
            }
            for row in o["tags"] as? [[String: Any]] ?? [] where row["code"] as? String != "(all codes)" {
                XCTAssertEqual(row["units"] as? Int, units.count, "seed \(seed) \(chosen): tag units")
            }
        }

        func sum(_ layer: String) -> Decimal {
            coding.filter { $0.layer == layer && $0.code == "figures" }.compactMap { $0.value.flatMap { Decimal(string: $0) } }.reduce(0, +)
        }
        func table(_ extra: [String]) throws -> [[String: Any]] {
            let r = marginArgs(["--store", path, "table", "values", "--code", "figures", "--json"] + extra)
            XCTAssertEqual(r.code, 0, r.err)
            return try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [[String: Any]])
        }
        for coder in LayerPropertyTests.coders where coding.contains(where: { $0.layer == coder && $0.code == "figures" }) {
            let rows = try table(["--coder", coder])
            XCTAssertEqual(rows.map { $0["layer"] as? String }, [coder])
            XCTAssertEqual((rows.first?["sum"] as? Double).map { Decimal($0) }, sum(coder), "seed \(seed): \(coder)'s figures")
        }
        let defaultRows = try table([])
        let hasGold = coding.contains { $0.layer == Store.goldAuthor }
        let layers = hasGold ? [Store.goldAuthor] : Set(coding.filter { $0.code == "figures" }.map(\.layer)).sorted()
        XCTAssertEqual(defaultRows.compactMap { $0["layer"] as? String }, layers, "seed \(seed): the layers of the default table")
        for row in defaultRows {
            let layer = row["layer"] as? String ?? ""
            XCTAssertEqual((row["sum"] as? Double).map { Decimal($0) }, sum(layer), "seed \(seed): \(layer)")
        }
    }
}
