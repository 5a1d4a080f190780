import Foundation
@testable import MarginCore
import XCTest

/// The coefficients against worked examples from the literature, each
/// computed there by hand from the published formulas.
final class AgreementTests: StoreTestCase {
    /// Krippendorff, "Computing Krippendorff's Alpha-Reliability" (2011),
    /// section C: four observers, twelve units, nominal data with missing
    /// values. The paper gives α = 0.743 (and 40 pairable values, n).
    func testKrippendorffsNominalExampleWithMissingData() throws {
        let rows: [[Int?]] = [
            [1, 2, 3, 3, 2, 1, 4, 1, 2, nil, nil, nil],
            [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, nil, 3],
            [nil, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, nil],
            [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, nil],
        ]
        let units = (0..<12).map { u in rows.map { $0[u].map(String.init) } }
        let alpha = try XCTUnwrap(Agreement.krippendorffAlpha(units))
        XCTAssertEqual(try XCTUnwrap(alpha.value), 0.743, accuracy: 0.0005)
        XCTAssertEqual(alpha.units, 11, "unit 12 has one value and is not pairable")
    }

    /// The two-rater example of Wikipedia's "Cohen's kappa" article (as in
    /// most textbooks): 50 proposals, both yes 20, A yes B no 5, A no B yes
    /// 10, both no 15: p_o = 0.70, p_e = 0.50, κ = 0.40.
    func testCohensKappaTextbookTable() throws {
        var pairs: [(String, String)] = []
        pairs += Array(repeating: ("yes", "yes"), count: 20)
        pairs += Array(repeating: ("yes", "no"), count: 5)
        pairs += Array(repeating: ("no", "yes"), count: 10)
        pairs += Array(repeating: ("no", "no"), count: 15)
        let k = try XCTUnwrap(Agreement.cohenKappa(pairs))
        XCTAssertEqual(k.observed, 0.70, accuracy: 1e-9)
        XCTAssertEqual(k.expected, 0.50, accuracy: 1e-9)
        XCTAssertEqual(try XCTUnwrap(k.value), 0.40, accuracy: 1e-9)
    }

    /// Fleiss (1971) as worked in Wikipedia's "Fleiss' kappa" article: ten
    /// subjects, fourteen raters, five categories: P̄ = 0.378, P̄e = 0.213,
    /// κ = 0.210.
    func testFleissKappaWorkedExample() throws {
        let rows = [[0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
                    [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7]]
        let k = try XCTUnwrap(Agreement.fleissKappa(rows))
        XCTAssertEqual(k.observed, 0.378, accuracy: 0.0005)
        XCTAssertEqual(k.expected, 0.213, accuracy: 0.0005)
        XCTAssertEqual(try XCTUnwrap(k.value), 0.210, accuracy: 0.0005)
    }

    func testUndefinedWhenEveryValueIsTheSame() {
        XCTAssertNil(Agreement.cohenKappa([("yes", "yes"), ("yes", "yes")])?.value)
        XCTAssertNil(Agreement.krippendorffAlpha([["a", "a"], ["a", nil]])?.value)
    }

    func testTheBootstrapIntervalIsSeededAndHoldsTheEstimate() throws {
        let units: [[String?]] = (0..<40).map { i in [i % 3 == 0 ? "yes" : "no", i % 5 == 0 ? "no" : (i % 3 == 0 ? "yes" : "no")] }
        let a = try XCTUnwrap(Agreement.bootstrapInterval(units) { Agreement.krippendorffAlpha($0)?.value })
        let b = try XCTUnwrap(Agreement.bootstrapInterval(units) { Agreement.krippendorffAlpha($0)?.value })
        XCTAssertEqual(a.low, b.low)
        XCTAssertEqual(a.high, b.high)
        let estimate = try XCTUnwrap(Agreement.krippendorffAlpha(units)?.value)
        XCTAssertLessThanOrEqual(a.low, estimate)
        XCTAssertGreaterThanOrEqual(a.high, estimate)
        XCTAssertLessThan(a.low, a.high)
    }

    func testSpanMatchingRules() {
        let a = [Agreement.SpanItem(id: "a1", code: "x", start: 0, end: 5, value: nil),
                 Agreement.SpanItem(id: "a2", code: "x", start: 10, end: 15, value: nil)]
        let b = [Agreement.SpanItem(id: "b1", code: "x", start: 0, end: 5, value: nil),
                 Agreement.SpanItem(id: "b2", code: "x", start: 12, end: 20, value: nil),
                 Agreement.SpanItem(id: "b3", code: "y", start: 10, end: 15, value: nil)]
        XCTAssertEqual(Agreement.match(a, b, rule: .exact).map { [$0.0, $0.1] }, [[0, 0]])
        XCTAssertEqual(Agreement.match(a, b, rule: .overlap).map { [$0.0, $0.1] }, [[0, 0], [1, 1]], "codes must agree; b3 is another code")
        XCTAssertEqual(try XCTUnwrap(Agreement.f1(pairs: 2, 2, 3)), 0.8, accuracy: 1e-12)
    }

    /// Two coders on real stores: the report assembles units, spans and
    /// values from who made each annotation.
    func testAgreementBetweenTwoCodersOfOneStore() throws {
        let alice = try makeStore("alice"), bob = try makeStore("bob")
        let body = "曲麻萊縣成立16個臨時黨支部,共有159名黨員參加。全縣抽調354名幹部。"
        let rid = try alice.importReport(ReportDraft(body: body, title: "曲麻萊縣")).id
        let other = try alice.importReport(ReportDraft(body: "玛多县组建党员突击队3支,38名党员干部参加。", title: "玛多县")).id
        let party = try alice.addCode(name: "party-members", description: nil, colour: nil, parent: nil)
        let cadres = try alice.addCode(name: "cadres", description: nil, colour: nil, parent: nil)
        let positive = try alice.addCode(name: "positive", description: nil, colour: nil, parent: nil)
        try exchange(alice, bob)
        try alice.annotate(record: rid, code: party, span: .quote("159名黨員", occurrence: nil), value: "159", note: nil)
        try alice.annotate(record: rid, code: cadres, span: .quote("354名幹部", occurrence: nil), value: "354", note: nil)
        try alice.annotate(record: rid, code: positive, span: nil, value: nil, note: nil)
        try alice.annotate(record: other, code: party, span: .quote("38名党员", occurrence: nil), value: "38", note: nil)
        try bob.annotate(record: rid, code: party, span: .quote("159名黨員", occurrence: nil), value: "160", note: nil)
        try bob.annotate(record: rid, code: cadres, span: .quote("354名", occurrence: nil), value: "354", note: nil)
        try bob.annotate(record: rid, code: positive, span: nil, value: nil, note: nil)
        try alice.markDone(record: rid); try alice.markDone(record: other); try bob.markDone(record: rid)
        try exchange(alice, bob)
        let r = try alice.agreement()
        XCTAssertEqual(r.coders, ["alice", "bob"])
        XCTAssertEqual(r.records, 1, "bob coded only the first record")
        XCTAssertEqual(r.leftOut, 1, "the second record: only alice marked it done")
        let spans = try XCTUnwrap(r.spans.first { $0.code == "(all codes)" })
        XCTAssertEqual(spans.exactF1 ?? -1, 0.5, accuracy: 1e-12, "one of two spans each is exact")
        XCTAssertEqual(spans.overlapF1 ?? -1, 1.0, accuracy: 1e-12)
        XCTAssertEqual(r.valuePairs, 2)
        XCTAssertEqual(r.valueAgreements, 1)
        XCTAssertEqual(r.valueDisagreements.first?.values, ["alice": "159", "bob": "160"])
        XCTAssertEqual(r.tags.first?.code, "positive")
        XCTAssertEqual(r.tags.first?.units, 1)
        XCTAssertThrowsError(try alice.agreement(coders: ["alice", "carol"]))

        // Compare and adjudicate.
        let (agreed, differ) = try alice.compare(record: rid, coders: ("alice", "bob"))
        XCTAssertEqual(agreed.count, 1, "the tag")
        XCTAssertEqual(differ.map(\.fields), [["value"], ["span"]])
        XCTAssertEqual(try alice.adoptAgreements(record: rid, coders: ("alice", "bob")), 1)
        try alice.adjudicate(differ[0], .second, coders: ("alice", "bob"))
        try alice.adjudicate(differ[1], .first, coders: ("alice", "bob"))
        let gold = try alice.goldAnnotations(record: rid)
        XCTAssertEqual(gold.count, 3)
        XCTAssertTrue(gold.allSatisfy { $0.status == .accepted && $0.reviewer == "alice" })
        XCTAssertEqual(Set(gold.compactMap(\.value)), ["160", "354"])
        XCTAssertTrue(try alice.compare(record: rid, coders: ("alice", "bob")).differ.allSatisfy(\.settled))
        XCTAssertEqual(try alice.coders(), ["alice", "bob"], "gold is not a coder")
        try exchange(alice, bob)
        XCTAssertEqual(try bob.goldAnnotations(record: rid).count, 3, "decisions sync")
        XCTAssertThrowsError(try Store.create(directory: dir.appendingPathComponent("g").path, name: "gold"))
    }
}
