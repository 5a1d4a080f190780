import Foundation
@testable import MarginCore
import MarginCrypto
import MarginTestSupport
import XCTest

/// Issue "No silent loss", 2: exports round-trip exactly, an old export never
/// reverts newer work, bundles import as a sync would, and text with a NUL
/// is refused instead of cut short.
final class ExchangeTests: StoreTestCase {
    /// Random stores with spans at 0, 1 and the end of the body and astral
    /// characters: export, import into a fresh store, same digest. Spans at
    /// 0 or 1 used to make the whole export unimportable (Foundation read
    /// them as booleans).
    func testExportRoundTripsExactlyOnRandomStores() throws {
        let seed = UInt64(ProcessInfo.processInfo.environment["MARGIN_EXPORT_SEED"] ?? "") ?? UInt64.random(in: 0...UInt64(UInt32.max))
        print("export round trip seed: MARGIN_EXPORT_SEED=\(seed)")
        var rng = SplitMix64(seed: seed)
        let pieces = ["曲麻萊縣", "159名黨員", "𠀋𡈽𠮷", "😀", "e\u{301}", "16個臨時黨支部", "\n", "Ünïcode", "1.2萬人次", " "]
        for round in 0..<12 {
            let a = try makeStore("a\(round)")
            let code = try a.addCode(name: "figure", description: "a number 𠀋", colour: "red", parent: nil)
            let child = try a.addCode(name: "party", description: nil, colour: nil, parent: code)
            for r in 0..<3 {
                var body = "報告\(round)-\(r):"
                for _ in 0..<(4 + Int(rng.next() % 10)) { body += pieces[Int(rng.next() % UInt64(pieces.count))] }
                let (rid, _) = try a.importReport(ReportDraft(body: body, title: "標題 \(r)", place: rng.next() % 2 == 0 ? "瑪多縣" : nil))
                let length = ScalarText(try XCTUnwrap(try a.record(rid)).body).count
                var ranges = [(0, 1), (0, length), (1, 2), (length - 1, length), (1, length)]
                for _ in 0..<4 {
                    let s = Int(rng.next() % UInt64(length)), e = s + 1 + Int(rng.next() % UInt64(length - s))
                    ranges.append((s, e))
                }
                for (s, e) in ranges {
                    // Ranges that would split a character are refused; that is fine here.
                    guard let id = try? a.annotate(record: rid, code: rng.next() % 2 == 0 ? code : child, span: .range(s, e),
                                                   value: rng.next() % 3 == 0 ? nil : String(rng.next() % 1000),
                                                   note: rng.next() % 4 == 0 ? "note 😀\n第二行" : nil) else { continue }
                    if rng.next() % 3 == 0 { try a.review(annotation: id, status: .accepted, comment: "ok 𠮷") }
                }
                _ = try a.annotate(record: rid, code: code, span: nil, value: "0", note: nil)
            }
            let text = try a.exportLines().joined(separator: "\n")
            let b = try makeStore("b\(round)")
            _ = try b.importJSONLines(text)
            XCTAssertEqual(try b.digest(), try a.digest(), "round \(round), seed \(seed)")
        }
    }

    /// `--value 5` exported, edited to 6, the export imported again: it used
    /// to come back as 5, and deleted annotations came back to life.
    func testReimportingAnOldExportNeverRevertsNewerWork() throws {
        let a = try makeStore("a")
        let (rid, _) = try a.importReport(ReportDraft(body: "全縣共有159名黨員參加值守,設立16個臨時黨支部。", title: "old"))
        let code = try a.addCode(name: "party", description: nil, colour: nil, parent: nil)
        let kept = try a.annotate(record: rid, code: code, span: .quote("159名黨員", occurrence: nil), value: "5", note: nil)
        let gone = try a.annotate(record: rid, code: code, span: .quote("16個臨時黨支部", occurrence: nil), value: "16", note: nil)
        let old = try a.exportLines().joined(separator: "\n")
        try a.edit(annotation: kept, { var e = Store.AnnotationEdit(); e.value = .some("6"); return e }(), anyLayer: true)
        try a.setRecordField(rid, field: "title", value: "new")
        try a.delete(annotation: gone, anyLayer: true)
        let digest = try a.digest()
        let counts = try a.importJSONLines(old)
        XCTAssertEqual(try a.annotation(kept)?.value, "6")
        XCTAssertEqual(try a.record(rid)?.title, "new")
        XCTAssertNil(try a.annotation(gone), "a deleted annotation stays deleted")
        XCTAssertEqual(counts.deletedHere, 1)
        XCTAssertEqual(counts.newerHere, 2)
        XCTAssertEqual(try a.digest(), digest)

        // A newer export from elsewhere is taken, field by field.
        let b = try makeStore("b")
        _ = try b.importJSONLines(old)
        XCTAssertEqual(try b.annotation(kept)?.value, "5")
        _ = try b.importJSONLines(try a.exportLines().joined(separator: "\n"))
        XCTAssertEqual(try b.annotation(kept)?.value, "6")
        XCTAssertEqual(try b.record(rid)?.title, "new")
        // b had the deleted annotation from the old export; a's newer export
        // does not list it, and an export never deletes.
        XCTAssertNotNil(try b.annotation(gone))
    }

    /// The sneaker-net path: a bundle imports as if the stores had synced;
    /// importing it twice changes nothing.
    func testABundleImportsAsIfSynced() throws {
        let a = try makeStore("a"), b = try makeStore("b")
        let ids = try GeneratedReports.populate(a, reports: 5, seed: 7)
        try a.delete(annotation: try XCTUnwrap(try a.annotations(record: ids[0]).first).id, anyLayer: true)
        _ = try b.importReport(ReportDraft(body: "另一篇報告,共有80名黨員參加。"))
        let bundle = try a.bundle()
        XCTAssertTrue(ChangeBundle.looksLikeBundle(bundle))
        let first = try b.importBundle(bundle)
        XCTAssertEqual(first.applied, Int(try a.head(of: a.node.id)))
        XCTAssertEqual(try b.versionVector().heads[a.node.id], try a.head(of: a.node.id))
        XCTAssertEqual(try b.importBundle(bundle).applied, 0, "importing twice changes nothing")
        _ = try a.importBundle(try b.bundle())
        XCTAssertEqual(try a.digest(), try b.digest())
        XCTAssertEqual(try a.versionVector(), try b.versionVector())
    }

    /// A bundle read through a window of its bytes (a file read a piece
    /// at a time) gives what it gives read whole, whatever the window's
    /// size: values cross its edges, and a value longer than the window
    /// (a report's body) is read with a larger one.
    func testABundleReadThroughAWindowOfAnySizeGivesTheSameStore() throws {
        let a = try makeStore("a")
        try GeneratedReports.populate(a, reports: 3, seed: 5)
        let bundle = try a.bundle()
        for piece in [1, 3, 64, 700, 1 << 20] {
            let b = try makeStore("b\(piece)")
            XCTAssertEqual(try b.importBundle(from: BundleBytes(bytes: bundle), piece: piece).applied, try a.status().changes, "piece \(piece)")
            XCTAssertEqual(try b.digest(), try a.digest(), "piece \(piece)")
        }
        // From a file, as `init --from FILE` and `import FILE` read it.
        let file = dir.appendingPathComponent("a.bundle")
        try Data(bundle).write(to: file)
        let c = try makeStore("c")
        XCTAssertEqual(try c.importBundle(atPath: file.path).changes, try a.status().changes)
        XCTAssertEqual(try c.digest(), try a.digest())
        // A file cut short is refused by its checksum, nothing applied.
        try Data(bundle.dropLast(40)).write(to: file)
        let d = try makeStore("d")
        XCTAssertThrowsError(try d.importBundle(atPath: file.path)) { e in
            XCTAssertTrue(MarginError.message(for: e).contains("damaged or truncated"), MarginError.message(for: e))
        }
        XCTAssertEqual(try d.status().changes, 0)
    }

    func testABundleThatDoesNotFitIsRefusedWhole() throws {
        let a = try makeStore("a"), b = try makeStore("b")
        try GeneratedReports.populate(a, reports: 2, seed: 3)
        let bundle = try a.bundle()
        func refused(_ bytes: [UInt8], _ expected: String, file: StaticString = #filePath, line: UInt = #line) {
            XCTAssertThrowsError(try b.importBundle(bytes), file: file, line: line) { e in
                XCTAssertTrue(MarginError.message(for: e).contains(expected), MarginError.message(for: e), file: file, line: line)
            }
            XCTAssertEqual(try b.status().changes, 0, "nothing applied", file: file, line: line)
        }
        refused(Array(bundle.dropLast(5)), "damaged or truncated")
        var flipped = bundle
        flipped[flipped.count / 2] ^= 0x01
        refused(flipped, "damaged or truncated")
        func resealed(_ body: [UInt8]) -> [UInt8] { body + SHA256.hash(body) }
        var otherSchema = Array(bundle.dropLast(32))
        otherSchema[11] = 99
        refused(resealed(otherSchema), "schema 99")
        otherSchema[11] = 2
        refused(resealed(otherSchema), "schema 2")
        // A bundle of the schema before suggestions (3) is valid data here.
        var older = Array(bundle.dropLast(32))
        older[11] = 3
        let other = try makeStore("c")
        XCTAssertGreaterThan(try other.importBundle(resealed(older)).applied, 0)
        XCTAssertEqual(try other.digest(), try a.digest())
        // A bundle missing its first change: a gap.
        var r = ByteReader(Array(bundle.dropLast(32)))
        _ = try r.raw(12)
        let count = try r.count()
        var changes: [Change] = []
        for _ in 0..<count { changes.append(try ChangeCodec.decode(&r)) }
        let signatures = try HeadSignature.decodeList(&r)
        var w = ByteWriter()
        w.raw(Array(bundle.prefix(12)))
        w.uvarint(UInt64(count - 1))
        for c in changes.dropFirst() { ChangeCodec.encode(c, into: &w) }
        HeadSignature.encode(signatures, into: &w)
        refused(resealed(w.bytes), "does not fit this store")
        refused(Array("MRGNBNDL".utf8), "truncated")
        // A byte after the signatures, the checksum taken again: the bundle
        // is read twice in place (to the signatures, then the changes
        // applied as they are decoded), and still refused whole.
        refused(resealed(Array(bundle.dropLast(32)) + [0]), "malformed: 1 unexpected bytes at the end")
        // A count of changes above what the bundle holds.
        var more = ByteWriter()
        more.raw(Array(bundle.prefix(12)))
        more.uvarint(UInt64(count + 1))
        for c in changes { ChangeCodec.encode(c, into: &more) }
        HeadSignature.encode(signatures, into: &more)
        refused(resealed(more.bytes), "malformed")
    }

    /// A NUL after the first 8 KB used to cut the body short silently; the
    /// record id then no longer matched and the export could not be imported.
    func testTextWithANULIsRefusedWithAClearLine() throws {
        let a = try makeStore("a")
        let body = String(repeating: "全縣共有159名黨員參加值守。", count: 700) + "\u{0}尾巴"
        XCTAssertGreaterThan(body.utf8.count, 8192)
        XCTAssertThrowsError(try a.importReport(ReportDraft(body: body))) { e in
            XCTAssertTrue(MarginError.message(for: e).contains("NUL"), MarginError.message(for: e))
        }
        XCTAssertEqual(try a.status().changes, 0)
        let (rid, _) = try a.importReport(ReportDraft(body: "全縣共有159名黨員。"))
        XCTAssertThrowsError(try a.annotate(record: rid, code: nil, span: nil, value: nil, note: "a\u{0}b"))
        let line = #"{"type":"record","body":"x\u0000y"}"#
        XCTAssertThrowsError(try a.importJSONLines(line)) { e in
            XCTAssertTrue(MarginError.message(for: e).contains("NUL"), MarginError.message(for: e))
        }
        XCTAssertEqual(try a.status().records, 1)
    }
}
