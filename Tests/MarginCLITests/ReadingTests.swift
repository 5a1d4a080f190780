import Foundation
@testable import MarginCLI
@testable import MarginCore
import XCTest

/// Reading at the terminal: colour on demand, a pager for long output,
/// overlapping spans and notes drawn apart, names instead of hex ids.
final class ReadingTests: OneReportTestCase {
    func testColourModes() throws {
        XCTAssertEqual(margin("annotate", record, "--code", "party-members", "--quote", "1055名网格员").code, 0)
        XCTAssertTrue(margin("show", record, "--color=always").out.contains("\u{1B}["), "colour into a pipe when asked")
        let never = marginArgs(["show", record, "--colour=never", "--no-pager"], terminal: true)
        XCTAssertFalse(never.out.contains("\u{1B}["))
        XCTAssertTrue(never.out.contains("⟦1055名网格员⟧{party-members}"))
        XCTAssertTrue(marginArgs(["show", record, "--no-pager"], env: ["NO_COLOR": "1"], terminal: true).out.contains("⟦"), "NO_COLOR still honoured")
        XCTAssertEqual(margin("show", record, "--color=sometimes").code, 64)
    }

    /// An annotation's JSON is written member by member straight into
    /// bytes: every member a reviewed, then edited, annotation has, each
    /// once, keys in order, the same object from `list` and `show`.
    func testAnAnnotationsJSONHasEveryMemberOnceInKeyOrder() throws {
        XCTAssertEqual(margin("annotate", record, "--code", "party-members", "--quote", "1055名网格员", "--value", "1055", "--note", "核对\"户数\"").code, 0)
        let first = try XCTUnwrap(margin("list", "--annotations", "--json").out.split(separator: "\n").first.map(String.init))
        let annotation = try XCTUnwrap((try JSONSerialization.jsonObject(with: Data(first.utf8)) as? [String: Any])?["id"] as? String)
        XCTAssertEqual(margin("review", annotation, "--accept", "--comment", "ok").code, 0)
        XCTAssertEqual(margin("edit", annotation, "--value", "1056").code, 0)
        let line = try XCTUnwrap(margin("list", "--annotations", "--json").out.split(separator: "\n").first.map(String.init))
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        XCTAssertEqual(object["value"] as? String, "1056")
        XCTAssertEqual(object["note"] as? String, "核对\"户数\"")
        XCTAssertEqual(object["comment"] as? String, "ok")
        XCTAssertEqual(object["changed_since"] as? String, "accepted")
        XCTAssertEqual(object["quote"] as? String, "1055名网格员")
        XCTAssertEqual(object["code_name"] as? String, "party-members")
        XCTAssertNotNil(object["reviewer"] as? String)
        // Keys as they stand in the bytes: each once, in code-point order.
        let keys = object.keys.sorted { a, b in
            (line.range(of: "\"\(a)\":")?.lowerBound ?? line.endIndex) < (line.range(of: "\"\(b)\":")?.lowerBound ?? line.endIndex)
        }
        XCTAssertEqual(keys, object.keys.sorted(), line)
        XCTAssertEqual(keys.count, 19, "every member an annotation can have: \(line)")
        let shown = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(margin("show", record, "--json").out.utf8)) as? [String: Any])
        let inShow = try XCTUnwrap((shown["annotations"] as? [[String: Any]])?.first)
        XCTAssertEqual(NSDictionary(dictionary: inShow), NSDictionary(dictionary: object))
    }

    /// The body goes out in pieces between the offsets where spans open or
    /// close. Held to the text written a scalar at a time, as it was before:
    /// seeded spans (nested, overlapping, touching, at either end, notes
    /// among codes) over a body with line breaks, tabs, controls that are
    /// escaped, combining marks and both scripts, in colour and without.
    func testABodyDrawnInPiecesIsTheBodyDrawnScalarByScalar() {
        let body = "\u{202E}共有黨員159名,\n\t组建16个临时党支部。e\u{301}\u{1}志愿服務隊312支\u{7F}\r\n"
        let text = ScalarText(body, boundaries: false)
        var seed: UInt64 = 0x5eed
        func next(_ n: Int) -> Int {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            return Int((seed >> 33) % UInt64(n))
        }
        let colours: [String: String?] = ["c1": "green", "c2": nil]
        for round in 0..<300 {
            var annotations: [Annotation] = []
            for k in 0..<next(6) {
                let start = next(text.count), end = start + 1 + next(text.count - start)
                let quote = String(String.UnicodeScalarView(text.scalars[start..<end]))
                let code: String? = [nil, "c1", "c2"][next(3)]
                annotations.append(Annotation(id: "a\(round)-\(k)", record: "r", code: code, codeName: code.map { "name-\($0)" }, span: Span(start: start, end: end, quote: quote, prefix: "", suffix: ""),
                                              value: nil, note: nil, status: .open, comment: nil, reviewer: nil, author: nil, created: 0, updated: 0))
            }
            for colour in [false, true] {
                XCTAssertEqual(Highlighter.render(body: body, annotations: annotations, colours: colours, colour: colour),
                               Self.renderScalarByScalar(body: body, annotations: annotations, colours: colours, colour: colour), "round \(round)")
            }
        }
    }

    /// Highlighter.render as it was: every offset looked at, every scalar
    /// escaped and appended on its own.
    static func renderScalarByScalar(body: String, annotations: [Annotation], colours: [String: String?], colour: Bool) -> String {
        let text = ScalarText(body)
        let spans = annotations.compactMap { a in a.span.map { (a, $0) } }.filter { $0.1.matches(text) }
        var opens: [Int: [(Annotation, Span)]] = [:], closes: [Int: [(Annotation, Span)]] = [:]
        for (a, s) in spans {
            opens[s.start, default: []].append((a, s))
            closes[s.end, default: []].append((a, s))
        }
        var out = ""
        var active: [(Annotation, Span)] = []
        func label(_ a: Annotation) -> String { a.codeName.map(Format.safe) ?? a.code.map { Format.id($0) } ?? "note" }
        for i in 0...text.count {
            for (a, _) in (closes[i] ?? []).sorted(by: { $0.1.start > $1.1.start }) {
                active.removeAll { $0.0.id == a.id }
                if colour {
                    out += "\u{1B}[0m" + "\u{1B}[2m{\(label(a))}\u{1B}[0m"
                    if let top = active.last { out += Highlighter.style(top.0, depth: active.count, colours: colours) }
                } else {
                    out += "⟧{\(label(a))}"
                }
            }
            for (a, s) in (opens[i] ?? []).sorted(by: { $0.1.end > $1.1.end }) {
                active.append((a, s))
                if colour {
                    if active.count > 1 { out += "\u{1B}[0m\u{1B}[2m⟦\u{1B}[0m" }
                    out += Highlighter.style(a, depth: active.count, colours: colours)
                } else {
                    out += "⟦"
                }
            }
            if i < text.count { out += Printable.text(String(Character(text.scalars[i]))) }
        }
        return out
    }

    func testOverlappingSpansAndNotesAreDrawnApart() throws {
        XCTAssertEqual(margin("annotate", record, "--code", "party-members", "--quote", "1055名网格员").code, 0)
        XCTAssertEqual(margin("annotate", record, "--code", "party-members", "--quote", "1055名").code, 0)
        XCTAssertEqual(margin("note", record, "--quote", "网格员包户", "check the household count").code, 0)
        let plain = margin("show", record).out
        XCTAssertTrue(plain.contains("⟦⟦1055名⟧{party-members}⟦网格员⟧{party-members}包户⟧{note}"), plain)
        let coloured = margin("show", record, "--color=always").out
        XCTAssertTrue(coloured.contains("\u{1B}[2m⟦\u{1B}[0m"), "a span opening inside another is marked")
        XCTAssertTrue(coloured.contains("\u{1B}[53m"), "and overlined")
        XCTAssertTrue(coloured.contains(Highlighter.noteStyle), "notes have their own style")
        XCTAssertTrue(margin("codes", "list", "--color=always").out.contains(Highlighter.sgr(nil) + "party-members"), "codes in their colour")
    }

    func testLongOutputGoesThroughThePagerOnATerminal() throws {
        let paged = dir.appendingPathComponent("paged.txt").path
        let env = ["PAGER": "cat > '\(paged)'", "LINES": "5"]
        let r = marginArgs(["show", record], env: env, terminal: true)
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertEqual(r.out, "", "the pager had it")
        XCTAssertTrue(try String(contentsOfFile: paged, encoding: .utf8).contains("同仁县网格员织密疫情防控"))
        try FileManager.default.removeItem(atPath: paged)
        XCTAssertTrue(marginArgs(["show", record, "--no-pager"], env: env, terminal: true).out.contains("同仁县"))
        XCTAssertTrue(marginArgs(["show", record], env: env).out.contains("同仁县"), "not a terminal: no pager")
        XCTAssertTrue(marginArgs(["status"], env: env, terminal: true).out.contains("records"), "short commands are not paged")
        XCTAssertFalse(FileManager.default.fileExists(atPath: paged))
    }

    func testUntitledRecordsShowTheirFirstWords() throws {
        let file = dir.appendingPathComponent("untitled.txt")
        try Data("全縣共有159名黨員參加了志願服務活動,體現了先鋒模範作用。\n".utf8).write(to: file)
        XCTAssertEqual(margin("import", file.path).code, 0)
        XCTAssertTrue(margin("list").out.contains("… 全縣共有159名黨員參加了"), margin("list").out)
    }

    func testARelayedNodeAppearsByItsName() throws {
        let carol = try folder("carol"), dave = try folder("dave")
        XCTAssertEqual(margin("annotate", record, "--code", "party-members", "--quote", "1055名网格员").code, 0)
        for (from, to, name) in [(nil, carol, "carol"), (carol, dave, "dave")] as [(String?, String, String)] {
            let bundle = dir.appendingPathComponent("\(name).bundle").path
            XCTAssertEqual(marginArgs((from.map { ["--store", $0] } ?? []) + ["export", "--log", "-o", bundle]).code, 0)
            XCTAssertEqual(margin("--store", to, "init", "--name", name).code, 0)
            XCTAssertEqual(margin("--store", to, "import", bundle).code, 0)
        }
        // dave never met the first node; its name travelled in the changes.
        let log = margin("--store", dave, "log", "-n", "1").out
        XCTAssertTrue(log.contains(" t  annotation"), log)
    }
}
