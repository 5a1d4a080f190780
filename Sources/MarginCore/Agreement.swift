/// Inter-annotator agreement: the published coefficients, as pure
/// functions of the coders' values, so that each can be checked against the
/// worked examples of the literature (AgreementTests names them).
public enum Agreement {
    /// A chance-corrected coefficient with what it was computed from.
    public struct Coefficient: Equatable, Sendable {
        /// Units that entered the computation.
        public var units: Int
        /// Observed agreement (share of agreeing pairable values).
        public var observed: Double
        /// Agreement expected by chance from the values' distribution.
        public var expected: Double
        /// κ or α: 1 − (1 − observed) / (1 − expected). Nil when expected
        /// agreement is 1 (every value the same): the coefficient is undefined.
        public var value: Double?
    }

    /// Cohen's κ for two coders: each pair is one unit's two values.
    /// κ = (p_o − p_e) / (1 − p_e), p_e from each coder's own marginals
    /// (Cohen 1960).
    public static func cohenKappa(_ pairs: [(String, String)]) -> Coefficient? {
        guard !pairs.isEmpty else { return nil }
        let n = Double(pairs.count)
        var agree = 0.0
        var first: [String: Double] = [:], second: [String: Double] = [:]
        for (a, b) in pairs {
            if a == b { agree += 1 }
            first[a, default: 0] += 1
            second[b, default: 0] += 1
        }
        let po = agree / n
        let pe = first.reduce(0.0) { $0 + $1.value * (second[$1.key] ?? 0) } / (n * n)
        return Coefficient(units: pairs.count, observed: po, expected: pe, value: chanceCorrected(po, pe))
    }

    /// Fleiss' κ for any fixed number of coders (Fleiss 1971): each row is
    /// one unit's count of coders per category; every row must have the
    /// same total, of at least two. Rows with another total are left out.
    public static func fleissKappa(_ rows: [[Int]]) -> Coefficient? {
        guard let raters = rows.map({ $0.reduce(0, +) }).max(), raters >= 2 else { return nil }
        let used = rows.filter { $0.reduce(0, +) == raters }
        guard !used.isEmpty, let categories = used.first?.count else { return nil }
        let n = Double(raters), units = Double(used.count)
        var totals = [Double](repeating: 0, count: categories)
        var pBar = 0.0
        for row in used {
            for (j, c) in row.enumerated() where j < categories { totals[j] += Double(c) }
            pBar += (row.reduce(0.0) { $0 + Double($1 * $1) } - n) / (n * (n - 1))
        }
        pBar /= units
        let pe = totals.reduce(0.0) { let p = $1 / (units * n); return $0 + p * p }
        return Coefficient(units: used.count, observed: pBar, expected: pe, value: chanceCorrected(pBar, pe))
    }

    /// Krippendorff's α for nominal data, any number of coders, missing
    /// values allowed (nil): each unit is the list of the coders' values.
    /// Units with fewer than two values are not pairable and are left out.
    /// Computed through the coincidence matrix, as in Krippendorff,
    /// "Computing Krippendorff's Alpha-Reliability" (2011), section C.
    public static func krippendorffAlpha(_ units: [[String?]]) -> Coefficient? {
        var coincidences: [String: [String: Double]] = [:]
        var pairable = 0
        for unit in units {
            let values = unit.compactMap { $0 }
            let m = Double(values.count)
            guard values.count >= 2 else { continue }
            pairable += 1
            for (i, c) in values.enumerated() {
                for (j, k) in values.enumerated() where i != j {
                    coincidences[c, default: [:]][k, default: 0] += 1 / (m - 1)
                }
            }
        }
        guard pairable > 0 else { return nil }
        let marginals = coincidences.mapValues { $0.values.reduce(0, +) }
        let n = marginals.values.reduce(0, +)
        let disagreeing = coincidences.reduce(0.0) { sum, row in
            sum + row.value.reduce(0.0) { $0 + ($1.key == row.key ? 0 : $1.value) }
        }
        var expectedPairs = 0.0
        for (c, nc) in marginals { for (k, nk) in marginals where k != c { expectedPairs += nc * nk } }
        let observed = 1 - disagreeing / n
        let expected = 1 - expectedPairs / (n * (n - 1))
        return Coefficient(units: pairable, observed: observed, expected: expected, value: chanceCorrected(observed, expected))
    }

    static func chanceCorrected(_ observed: Double, _ expected: Double) -> Double? {
        guard expected < 1 - 1e-12 else { return nil }
        return 1 - (1 - observed) / (1 - expected)
    }

    /// A 95% percentile bootstrap interval for a statistic of units: the
    /// units are drawn with replacement `rounds` times and the statistic
    /// recomputed. The generator is seeded, so the same data always gives
    /// the same interval. Nil when fewer than two units or no draw gives a
    /// value.
    public static func bootstrapInterval<Unit>(_ units: [Unit], rounds: Int = 1000,
                                               _ statistic: ([Unit]) -> Double?) -> (low: Double, high: Double)? {
        guard units.count >= 2 else { return nil }
        var generator = SplitMix64(seed: 0x4D52_474E)
        var values: [Double] = []
        values.reserveCapacity(rounds)
        for _ in 0..<rounds {
            let sample = (0..<units.count).map { _ in units[Int(generator.next() % UInt64(units.count))] }
            if let v = statistic(sample), v.isFinite { values.append(v) }
        }
        guard !values.isEmpty else { return nil }
        values.sort()
        func at(_ q: Double) -> Double { values[min(values.count - 1, max(0, Int((q * Double(values.count - 1)).rounded())))] }
        return (at(0.025), at(0.975))
    }

    /// A small, fast, seedable generator (Steele, Lea and Flood 2014).
    struct SplitMix64 {
        var state: UInt64
        init(seed: UInt64) { state = seed }
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE5_E9B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    // MARK: - Spans

    /// One coded span, as span agreement compares them.
    public struct SpanItem: Equatable, Sendable {
        public var id: String
        public var code: String
        public var start: Int
        public var end: Int
        public var value: String?
        public init(id: String, code: String, start: Int, end: Int, value: String?) {
            self.id = id; self.code = code; self.start = start; self.end = end; self.value = value
        }
    }

    /// How two coders' spans are paired.
    public enum MatchRule: String, CaseIterable, Sendable {
        /// Same code, same start and end (code points).
        case exact
        /// Same code and at least one code point in common; each span is
        /// paired at most once, largest overlaps first (ties: earlier spans).
        case overlap
    }

    /// The one-to-one pairs of `a`'s and `b`'s spans under `rule`, as
    /// indexes into each.
    public static func match(_ a: [SpanItem], _ b: [SpanItem], rule: MatchRule) -> [(Int, Int)] {
        var candidates: [(overlap: Int, i: Int, j: Int)] = []
        for (i, x) in a.enumerated() {
            for (j, y) in b.enumerated() where x.code == y.code {
                switch rule {
                case .exact:
                    if x.start == y.start && x.end == y.end { candidates.append((x.end - x.start, i, j)) }
                case .overlap:
                    let overlap = min(x.end, y.end) - max(x.start, y.start)
                    if overlap > 0 { candidates.append((overlap, i, j)) }
                }
            }
        }
        candidates.sort { ($0.overlap, -$0.i, -$0.j) > ($1.overlap, -$1.i, -$1.j) }
        var usedA = Set<Int>(), usedB = Set<Int>(), pairs: [(Int, Int)] = []
        for c in candidates where !usedA.contains(c.i) && !usedB.contains(c.j) {
            usedA.insert(c.i); usedB.insert(c.j)
            pairs.append((c.i, c.j))
        }
        return pairs.sorted { ($0.0, $0.1) < ($1.0, $1.1) }
    }

    /// F1 of two coders' spans: 2 × pairs / (spans of one + spans of the
    /// other), the same whichever coder is taken as the reference. Nil when
    /// neither coded a span.
    public static func f1(pairs: Int, _ countA: Int, _ countB: Int) -> Double? {
        countA + countB == 0 ? nil : 2 * Double(pairs) / Double(countA + countB)
    }
}

extension Store.AgreementReport {
    /// The report as `margin agree --json` prints it and the workspace
    /// charts it: coefficients and F1 rounded to four decimals.
    public var json: JSONText.Value {
        typealias V = JSONText.Value
        func rounded(_ v: Double?) -> V { v.map { .double(($0 * 10000).rounded() / 10000) } ?? .null }
        func coefficient(_ c: Agreement.Coefficient?) -> V {
            guard let c else { return .null }
            return .sortedObject([("units", .int(c.units)), ("observed", rounded(c.observed)), ("expected", rounded(c.expected)), ("value", rounded(c.value))])
        }
        func interval(_ i: (low: Double, high: Double)?) -> V { i.map { .array([rounded($0.low), rounded($0.high)]) } ?? .null }
        return .sortedObject([
            ("coders", .array(coders.map { .string($0) })), ("records", .int(records)),
            ("records_left_out", .int(leftOut)), ("annotations_not_done", .int(notDoneAnnotations)),
            ("tags", .array(tags.map { t in
                .sortedObject([("code", .string(t.code)), ("units", .int(t.units)), ("kappa", coefficient(t.kappa)),
                               ("kappa_kind", .string(coders.count == 2 ? "cohen" : "fleiss")),
                               ("alpha", coefficient(t.alpha)), ("alpha_ci95", interval(t.alphaInterval))])
            })),
            ("spans", .array(spans.map { s in
                .sortedObject([("code", .string(s.code)), ("spans", .sortedObject(s.spans.map { ($0.key, .int($0.value)) })),
                               ("exact_f1", rounded(s.exactF1)), ("overlap_f1", rounded(s.overlapF1)),
                               ("overlap_f1_ci95", interval(s.overlapInterval))])
            })),
            ("values", .sortedObject([
                ("pairs", .int(valuePairs)), ("agree", .int(valueAgreements)),
                ("disagreements", .array(valueDisagreements.map { d in
                    .sortedObject([("record", .string(d.record)), ("code", .string(d.code)), ("quote", .string(d.quote)),
                                   ("values", .sortedObject(d.values.map { ($0.key, .string($0.value)) }))])
                })),
            ])),
        ])
    }
}
