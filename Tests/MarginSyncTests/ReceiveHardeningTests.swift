import Foundation
@testable import MarginCore
import MarginCrypto
@testable import MarginSync
import XCTest

/// A bundle as PROTOCOL.md §7 lays it out, from changes and signatures a
/// test chooses: what a colleague (or an attacker) could send as a file.
func craftedBundle(_ changes: [Change], _ signatures: [HeadSignature]) -> [UInt8] {
    var w = ByteWriter()
    w.raw(Array("MRGNBNDL".utf8))
    w.u16(1)
    w.u16(UInt16(Store.schemaVersion))
    w.uvarint(UInt64(changes.count))
    for c in changes { ChangeCodec.encode(c, into: &w) }
    HeadSignature.encode(signatures, into: &w)
    w.raw(SHA256.hash(w.bytes))
    return w.bytes
}

/// Issue 23, "Defects": each observation of the second implementation and
/// the red team, through a real server or a real bundle.
final class ReceiveHardeningTests: HostileServerTestCase {
    let now = SystemClock().nowMilliseconds()

    func change(_ signer: TestSigner, _ seq: Int64, _ kind: EntityKind, _ entity: String, _ field: String, _ value: FieldValue,
                ms: Int64, supersedes: ChangeID? = nil) -> Change {
        change(origin: signer.origin, seq, kind, entity, field, value, ms: ms, supersedes: supersedes)
    }

    /// With the origin given: a signer derives it from its key each time.
    func change(origin: NodeID, _ seq: Int64, _ kind: EntityKind, _ entity: String, _ field: String, _ value: FieldValue,
                ms: Int64, supersedes: ChangeID? = nil) -> Change {
        Change(id: ChangeID(origin: origin, seq: seq), hlc: HLC(milliseconds: ms, counter: 0), kind: kind, entity: EntityID(stored: entity),
               field: field, value: value, supersedes: supersedes)
    }

    /// The server's own changes, as it would send them.
    func held(_ s: Store) throws -> [Change] {
        var out: [Change] = []
        try s.forEachChange(above: VersionVector()) { out.append($0); return true }
        return out
    }

    // MARK: Every change a store accepts is covered by its origin's signature

    /// `[X:n+1 forged, X:n already held]`: the held change was last, so no
    /// signature was asked for, and the forgery under the server's own id
    /// was applied, then signed by the server as its own work.
    func testAForgedChangeBeforeAHeldOneIsRefusedBySessionAndBundle() throws {
        let mine = try held(server.store).filter { $0.id.origin == server.store.node.id }
        guard let last = mine.last else { return XCTFail("the server wrote nothing") }
        let annotation = String(repeating: "9", count: 32)
        var forged = Change(id: ChangeID(origin: last.id.origin, seq: last.id.seq + 1), hlc: HLC(milliseconds: now, counter: 0),
                            kind: .annotation, entity: EntityID(stored: annotation), field: "record", value: .text(Store.recordID(body: SyncTestCase.body)))
        forged.prev = last.hash
        let p = try RawPeer(server.endpoint)
        _ = try p.handshake()
        try p.send(.batch(number: 1, changes: [forged, last], signatures: []))
        let e = try p.errorThenClose()
        XCTAssertEqual(e?.code, ErrorCode.refusedChange.rawValue, "\(String(describing: e))")
        XCTAssertTrue(e?.message.contains("come in sequence, each once") ?? false, "\(String(describing: e))")
        try checkServerSurvives("come in sequence, each once")
        XCTAssertEqual(try server.store.head(of: last.id.origin), last.id.seq)

        // The same as a file, into a colleague's store that holds X's changes.
        try good.sync(with: server)
        let goodBefore = try good.store.digest()
        XCTAssertThrowsError(try good.store.importBundle(craftedBundle([forged, last], []))) { error in
            XCTAssertTrue(MarginError.message(for: error).contains("come in sequence, each once"), "\(error)")
        }
        XCTAssertEqual(try good.store.digest(), goodBefore)
        XCTAssertEqual(try good.store.head(of: last.id.origin), last.id.seq)
        // Under a third node's id, forged below the held change too.
        let third = TestSigner(0x31)
        let (chain, signatures) = third.chained([change(third, 1, .code, String(repeating: "3", count: 16), "name", .text("third"), ms: now)])
        _ = try good.store.importBundle(craftedBundle(chain, signatures))
        var fake = change(third, 2, .code, String(repeating: "3", count: 16), "description", .text("forged"), ms: now + 1)
        fake.prev = chain[0].hash
        XCTAssertThrowsError(try good.store.importBundle(craftedBundle([fake] + chain, [])))
        XCTAssertEqual(try good.store.head(of: third.origin), 1)
    }

    // MARK: Held-back changes leave no trace

    /// F (new, an hour and a half ahead) and G (now, superseding F's
    /// change) in one bundle: nothing is applied, and HAVE must not list F
    /// at 0, or every later sync with this store fails.
    func testAHeldBackOriginLeavesNoTraceAndIsTakenWhenTheClockCatchesUp() throws {
        let f = TestSigner(0x51), g = TestSigner(0x52)
        let code = String(repeating: "5", count: 16)
        let later = now + 90 * 60_000
        let (fChain, fSig) = f.chained([change(f, 1, .code, code, "name", .text("future-code"), ms: later)])
        let (gChain, gSig) = g.chained([change(g, 1, .code, code, "name", .text("present-code"), ms: now, supersedes: fChain[0].id)])
        let wall = ManualClock(now)
        let receiver = try node("receiver", wall: wall) { $0.sync.wall = { wall.now } }
        let before = try receiver.store.digest()
        let outcome = try receiver.store.importBundle(craftedBundle(fChain + gChain, fSig + gSig))
        XCTAssertEqual(outcome.applied, 0)
        XCTAssertEqual(outcome.outcome.heldBack, 2)
        XCTAssertEqual(try receiver.store.digest(), before)
        XCTAssertNil(try receiver.store.versionVector().heads[f.origin])
        XCTAssertNil(try receiver.store.db.scalar("SELECT seq FROM heads WHERE origin = ?", .node(f.origin)).int)
        // Syncs both ways, with a peer and as a server.
        try receiver.sync(with: server)
        try good.sync(with: receiver)
        XCTAssertEqual(try good.store.versionVector().heads[f.origin], nil)

        // Once the clock has caught up, F is taken, and G (which reads
        // lower than F, which it names) is refused with the rule it breaks.
        wall.now = later + 1
        let again = try Store(directory: receiver.directory, wall: wall)
        XCTAssertThrowsError(try again.importBundle(craftedBundle(fChain + gChain, fSig + gSig))) { error in
            XCTAssertTrue(MarginError.message(for: error).contains("not higher than \(fChain[0].id)"), "\(error)")
        }
        let taken = try again.importBundle(craftedBundle(fChain, fSig))
        XCTAssertEqual(taken.applied, 1)
        XCTAssertEqual(try again.versionVector().heads[f.origin], 1)
        try again.check()
    }

    // MARK: A change reads higher than what it names

    func testAChangeReadingLowerThanWhatItNamesIsRefused() throws {
        let f = TestSigner(0x61), g = TestSigner(0x62)
        let code = String(repeating: "6", count: 16)
        let (fChain, fSig) = f.chained([change(f, 1, .code, code, "name", .text("ahead"), ms: now + 10 * 60_000)])
        let (gChain, gSig) = g.chained([change(g, 1, .code, code, "name", .text("behind"), ms: now, supersedes: fChain[0].id)])
        let p = try RawPeer(server.endpoint)
        _ = try p.handshake()
        try p.send(.batch(number: 1, changes: fChain + gChain, signatures: fSig + gSig))
        let e = try p.errorThenClose()
        XCTAssertEqual(e?.code, ErrorCode.refusedChange.rawValue)
        XCTAssertTrue(e?.message.contains("change \(gChain[0].id) refused: it reads") ?? false, "\(String(describing: e))")
        XCTAssertNil(try server.store.versionVector().heads[g.origin])
        // The same reading is not higher either.
        let (same, sameSig) = g.chained([change(g, 1, .code, code, "name", .text("same"), ms: now + 10 * 60_000, supersedes: fChain[0].id)])
        XCTAssertThrowsError(try good.store.importBundle(craftedBundle(fChain + same, fSig + sameSig)))
    }

    /// A store that already holds a change reading lower than one it
    /// supersedes (from before the rule) sends the one named first, so a
    /// fresh receiver takes both.
    func testTheSenderSendsWhatAChangeNamesFirst() throws {
        let f = TestSigner(0x71), g = TestSigner(0x72)
        let code = String(repeating: "7", count: 16)
        let (fChain, fSig) = f.chained([change(f, 1, .code, code, "name", .text("ahead"), ms: now + 10 * 60_000)])
        let (gChain, gSig) = g.chained([change(g, 1, .code, code, "name", .text("behind"), ms: now, supersedes: fChain[0].id)])
        let legacy = try node("legacy", serve: false)
        _ = try legacy.store.importBundle(craftedBundle(fChain, fSig))
        // Written as a release before the rule would have taken it.
        try legacy.store.write {
            try legacy.store.fold(gChain[0], hash: nil, logged: false)
            try legacy.store.pin(g.origin, g.publicKey)
            try legacy.store.db.run("INSERT INTO signatures(origin, seq, signature) VALUES(?, 1, ?)", .node(g.origin), .blob(gSig[0].signature))
        }
        var order: [ChangeID] = []
        try legacy.store.forEachChange(above: VersionVector()) { order.append($0.id); return true }
        let fi = try XCTUnwrap(order.firstIndex(of: fChain[0].id)), gi = try XCTUnwrap(order.firstIndex(of: gChain[0].id))
        XCTAssertLessThan(fi, gi)
        nodes.removeAll { $0 === legacy }   // `check` rightly refuses its log
    }

    // MARK: An annotation is on one record, from its first change

    func testAnAnnotationChangeWithoutItsRecordIsRefused() throws {
        let a = TestSigner(0x81)
        let annotation = String(repeating: "8a", count: 16)
        let (note, noteSig) = a.chained([change(a, 1, .annotation, annotation, "note", .text("ghost"), ms: now)])
        let p = try RawPeer(server.endpoint)
        _ = try p.handshake()
        try p.send(.batch(number: 1, changes: note, signatures: noteSig))
        let e = try p.errorThenClose()
        XCTAssertEqual(e?.code, ErrorCode.refusedChange.rawValue)
        XCTAssertTrue(e?.message.contains("has no record") ?? false, "\(String(describing: e))")
        // Review fields alone, the same.
        let (review, reviewSig) = a.chained([change(a, 1, .annotation, annotation, "status", .text("accepted"), ms: now)])
        XCTAssertThrowsError(try good.store.importBundle(craftedBundle(review, reviewSig))) { error in
            XCTAssertTrue(MarginError.message(for: error).contains("has no record"), "\(error)")
        }
    }

    /// An earlier release's JSON Lines import wrote an annotation's fields
    /// in name order, `code` before `record`, in one write: such a log still
    /// passes on. Another origin's `record` does not stand in for one's own.
    func testAnAnnotationsRecordMayFollowInTheSameBatchFromTheSameOrigin() throws {
        let record = Store.recordID(body: SyncTestCase.body)
        try good.sync(with: server)
        let code = try XCTUnwrap(good.store.codes().first?.id)
        let a = TestSigner(0x84)
        let annotation = String(repeating: "8c", count: 16)
        let (old, oldSig) = a.chained([change(a, 1, .annotation, annotation, "code", .text(code), ms: now),
                                       change(a, 2, .annotation, annotation, "record", .text(record), ms: now + 1)])
        XCTAssertEqual(try good.store.importBundle(craftedBundle(old, oldSig)).applied, 2)
        XCTAssertEqual(try good.store.annotations(record: record).first { $0.id == annotation }?.code, code)
        let g = TestSigner(0x85), h = TestSigner(0x86)
        let other = String(repeating: "8d", count: 16)
        let (note, noteSig) = g.chained([change(g, 1, .annotation, other, "note", .text("ghost"), ms: now)])
        let (rec, recSig) = h.chained([change(h, 1, .annotation, other, "record", .text(record), ms: now + 1)])
        XCTAssertThrowsError(try good.store.importBundle(craftedBundle(note + rec, noteSig + recSig))) { error in
            XCTAssertTrue(MarginError.message(for: error).contains("has no record"), "\(error)")
        }
    }

    func testAnAnnotationsRecordIsNeverMoved() throws {
        let other = try good.store.records().first?.id
        let record = Store.recordID(body: SyncTestCase.body)
        try good.sync(with: server)
        let a = TestSigner(0x82)
        let annotation = String(repeating: "8b", count: 16)
        let (chain, sig) = a.chained([change(a, 1, .annotation, annotation, "record", .text(record), ms: now),
                                      change(a, 2, .annotation, annotation, "record", .text(try XCTUnwrap(other)), ms: now + 1,
                                             supersedes: ChangeID(origin: a.origin, seq: 1))])
        XCTAssertThrowsError(try good.store.importBundle(craftedBundle(chain, sig))) { error in
            XCTAssertTrue(MarginError.message(for: error).contains("is set once and never moved"), "\(error)")
        }
        let b = TestSigner(0x83)
        let (cleared, clearedSig) = b.chained([change(b, 1, .annotation, annotation, "record", .null, ms: now)])
        XCTAssertThrowsError(try good.store.importBundle(craftedBundle(cleared, clearedSig))) { error in
            XCTAssertTrue(MarginError.message(for: error).contains("cannot be cleared"), "\(error)")
        }
    }

    // MARK: A span from another tool is written whole

    /// A JSON Lines annotation with start, end, quote, prefix and suffix and
    /// no stamps, as another tool writes it: each field took its own
    /// reading, so the span was torn and every peer refused this store.
    func testAJSONLinesSpanWithoutStampsIsWrittenAsOneGroup() throws {
        let record = Store.recordID(body: SyncTestCase.body)
        let text = ScalarText(SyncTestCase.body)
        let annotation = String(repeating: "c1", count: 16)
        func line(_ fields: [String: Any]) throws -> String { try Store.jsonLine(fields) }
        let lines = [
            try line(["type": "annotation", "id": annotation, "record": record, "start": 11, "end": 16,
                      "quote": text.slice(11, 16), "prefix": text.slice(0, 11), "suffix": text.slice(16, 48), "note": "from another tool"]),
            // Only start, end and quote: the context is made from the body.
            try line(["type": "annotation", "id": String(repeating: "c2", count: 16), "record": record, "start": 0, "end": 3,
                      "quote": text.slice(0, 3), "status": "accepted"]),
        ].joined(separator: "\n")
        _ = try server.store.importJSONLines(lines)
        let readings = try server.store.db.rows("""
            SELECT count(DISTINCT ms || '.' || ctr), count(*) FROM changes
            WHERE kind = 'annotation' AND field IN ('start', 'end', 'quote', 'prefix', 'suffix') GROUP BY entity
            """)
        XCTAssertEqual(readings.count, 2)
        for r in readings { XCTAssertEqual(r.map(\.int), [1, 5]) }
        try server.store.check()
        // And a fresh peer takes this store's log.
        try good.sync(with: server)
        XCTAssertEqual(try good.store.annotations(record: record).count, 2)
        before = try server.store.digest()
    }

    // MARK: Every batch fits a frame

    /// One import of many long reports was signed as one stretch, which a
    /// sender cannot cut: every fresh peer's sync failed with "frame of …
    /// bytes is over the limit".
    func testALargeImportReachesAFreshPeerInBatchesThatFitAFrame() throws {
        let big = try node("big")
        let line = String(repeating: "全縣黨員幹部堅守疫情防控一線,", count: 1_600)   // about 70 KB a report
        try big.store.write {
            for i in 0..<40 { _ = try big.store.importReport(ReportDraft(body: "第\(i)篇報告。\n" + line, title: "報告\(i)")) }
        }
        let fresh = try node("fresh", serve: false)
        // The receiver's log is started again between steps once past its
        // limit (64 MiB; 1 MiB here), not left to grow with the receive.
        Store.logLimitBytes = 1 << 20
        defer { Store.logLimitBytes = 64 << 20 }
        let r = try fresh.sync(with: big) { $0.maxFrame = 2 << 20 }
        XCTAssertEqual(Int64(r.received), try big.store.versionVector().heads.values.reduce(0, +))
        XCTAssertEqual(try fresh.store.digest(), try big.store.digest())
        XCTAssertLessThan(fresh.store.db.walBytes, 4 << 20)
    }

    /// One value over 4 MiB is refused where it is written and where it is
    /// received, with a clear error, never stored.
    func testAValueOverFourMiBIsRefusedWhereWrittenAndWhereReceived() throws {
        let huge = String(repeating: "黨", count: (4 << 20) / 3 + 1)
        XCTAssertThrowsError(try good.store.importReport(ReportDraft(body: huge))) { error in
            XCTAssertTrue(MarginError.message(for: error).contains("4 MiB"), "\(error)")
        }
        let a = TestSigner(0x91)
        let record = Store.recordID(body: huge)
        let (chain, sig) = a.chained([change(a, 1, .record, record, "body", .text(huge), ms: now)])
        XCTAssertThrowsError(try good.store.importBundle(craftedBundle(chain, sig))) { error in
            XCTAssertTrue(MarginError.message(for: error).contains("4 MiB"), "\(error)")
        }
        XCTAssertNil(try good.store.versionVector().heads[a.origin])
    }

    // MARK: HELLO is under the handshake limit

    /// A client that completes Noise and then sends no HELLO, or trickles
    /// it a byte at a time, is cut by the handshake limit, not the idle one.
    func testHelloMustArriveWithinTheHandshakeLimit() throws {
        let strict = try node("strict") { $0.sync.handshakeTimeout = 1; $0.sync.idleTimeout = 30 }
        let silent = try RawPeer(strict.endpoint)
        try silent.open()
        let e = try silent.errorThenClose()
        XCTAssertEqual(e?.code, ErrorCode.timeout.rawValue, "\(String(describing: e))")
        XCTAssertTrue(e?.message.contains("handshake") ?? false, "\(String(describing: e))")

        let trickle = try RawPeer(strict.endpoint)
        try trickle.open()
        let bytes = try trickle.sealed(Wire.frame(.hello(trickle.hello(as: TestSigner(0x99)))))
        var sent = 0
        // A byte every 50 ms: the whole HELLO would take several seconds.
        while sent < bytes.count, (try? trickle.send([bytes[sent]])) != nil {
            sent += 1
            usleep(50_000)
        }
        XCTAssertLessThan(sent, bytes.count, "the server waited for the whole trickled HELLO")
        XCTAssertTrue(strict.log.wait { $0.contains("did not complete the handshake") }, "\(strict.log.all)")
    }

    // MARK: The digest as PROTOCOL.md §3 writes it

    /// Computed from the export, as a second implementation would from its
    /// own state, after a deletion and a restore (`deleted` = 0) and with an
    /// open conflict: the server left `deleted` out, the spec said every field.
    func testTheDigestIsWhatTheProtocolSays() throws {
        let record = Store.recordID(body: SyncTestCase.body)
        let code = try XCTUnwrap(server.store.codes().first?.id)
        let annotation = try server.store.annotate(record: record, code: code, span: nil, value: "16", note: nil)
        _ = try server.store.write { try server.store.set(.annotation, EntityID(stored: annotation), "deleted", .int(1)) }
        _ = try server.store.write { try server.store.set(.annotation, EntityID(stored: annotation), "deleted", .int(0)) }
        try good.sync(with: server)
        try edit(server.store, annotation, value: "159")
        try edit(good.store, annotation, value: "354")
        try good.sync(with: server)
        XCTAssertFalse(try server.store.conflicts(includeResolved: false).isEmpty)

        var entries: [(kind: String, entity: String, field: String, value: JSONValue)] = []
        for line in try server.store.exportLines() {
            let o = try XCTUnwrap(JSONValue.parse(line).object)
            let kind = try XCTUnwrap(o["type"]?.string), id = try XCTUnwrap(o["id"]?.string)
            for (k, v) in o where !["type", "id", "stamps", "meta"].contains(k) && v != .null { entries.append((kind, id, k, v)) }
            for (k, v) in o["meta"]?.object ?? [:] { entries.append((kind, id, "meta." + k, v)) }
        }
        func key(_ e: (kind: String, entity: String, field: String, value: JSONValue)) -> [UInt8] {
            // Each part ends with a byte below any UTF-8 byte: byte order, part by part.
            Array(e.kind.utf8) + [0] + Array(e.entity.utf8) + [0] + Array(e.field.utf8)
        }
        entries.sort { key($0).lexicographicallyPrecedes(key($1)) }
        var bytes: [UInt8] = []
        func put(_ s: String) { bytes += Array("\(s.utf8.count):".utf8) + Array(s.utf8) }
        for e in entries {
            put(e.kind); put(e.entity); put(e.field)
            switch e.value {
            case .int(let n): put("i"); put(String(n))
            case .string(let t): put("t"); put(t)
            default: XCTFail("\(e.field) is neither text nor an integer")
            }
        }
        bytes += Array("conflicts\n".utf8)
        for id in try server.store.conflicts(includeResolved: false).map(\.id).sorted(by: { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }) { put(id) }
        XCTAssertEqual(SHA256.hash(bytes).hex, try server.store.digest())
        before = try server.store.digest()
    }

    // MARK: A client without a secret syncs over loopback only

    /// `margin sync 0.0.0.0:P` without a secret handed every change to
    /// whatever listened there (Linux connects 0.0.0.0 to this machine).
    func testAClientWithoutASecretRefusesAnAddressThatIsNotLoopback() throws {
        let port = server.endpoint.port
        XCTAssertThrowsError(try SyncSession.syncSettling(store: good.store, with: Endpoint(host: "0.0.0.0", port: port), options: SyncOptions())) { error in
            XCTAssertTrue(MarginError.message(for: error).contains("without a team secret"), "\(error)")
        }
        XCTAssertTrue(try server.store.peers().isEmpty)
        XCTAssertTrue(try good.store.peers().isEmpty)
        // Loopback, by address or by name, still syncs.
        XCTAssertEqual(try SyncSession.syncSettling(store: good.store, with: Endpoint(host: "localhost", port: port), options: SyncOptions()).peerName, "server")
        before = try server.store.digest()
    }

    // MARK: A deep code tree from a peer

    /// A codebook or a peer can make a chain of codes thousands deep (it
    /// took `codes list` 314 s at 20,000): reads walk it once, paths show
    /// their last 64 levels, and this node's own writes stop at 64.
    func testADeepCodeTreeFromAPeerIsReadInOnePassAndLocalWritesStopAt64() throws {
        let a = TestSigner(0xa1), origin = a.origin
        let depth = 3_000
        var changes: [Change] = []
        var previous: String?
        for i in 0..<depth {
            let id = "00000000" + String(0xabc0_0000 + i, radix: 16)
            let seq = Int64(changes.count + 1)
            changes.append(change(origin: origin, seq, .code, id, "name", .text("level-\(i)"), ms: now + Int64(i)))
            if let p = previous { changes.append(change(origin: origin, seq + 1, .code, id, "parent", .text(p), ms: now + Int64(i))) }
            previous = id
        }
        let (chain, sig) = a.chained(changes)
        _ = try good.store.importBundle(craftedBundle(chain, sig))
        let paths = try good.store.codePaths()
        let deepest = try XCTUnwrap(paths[try XCTUnwrap(previous)])
        XCTAssertTrue(deepest.hasPrefix("…/"), String(deepest.prefix(40)))
        XCTAssertEqual(deepest.split(separator: "/").count, Store.maxCodeDepth + 1)
        XCTAssertTrue(deepest.hasSuffix("level-\(depth - 2)/level-\(depth - 1)"))
        XCTAssertEqual(try good.store.codeFamily("00000000abc00000", includeChildren: true).count, depth)
        // This node adds no level past 64, nor moves a subtree to be deeper.
        XCTAssertThrowsError(try good.store.addCode(name: "deeper", description: nil, colour: nil, parent: previous)) { error in
            XCTAssertTrue(MarginError.message(for: error).contains("more than 64 levels"), "\(error)")
        }
        var parent: String?
        for i in 0..<Store.maxCodeDepth { parent = try good.store.addCode(name: "own-\(i)", description: nil, colour: nil, parent: parent) }
        XCTAssertThrowsError(try good.store.addCode(name: "own-64", description: nil, colour: nil, parent: parent))
        let top = try good.store.addCode(name: "top", description: nil, colour: nil, parent: nil)
        _ = try good.store.addCode(name: "under-top", description: nil, colour: nil, parent: top)
        let level63 = try good.store.resolveCode("own-62")
        XCTAssertThrowsError(try good.store.describeCode(top, description: nil, colour: nil, parent: .some(level63)))
    }

    // MARK: Wrong-secret back-off keeps doubling

    /// The penalty doubled to 16 s, and the address was forgotten while it
    /// waited that out (10 s of quiet), so it started again at 0.25 s:
    /// about 0.31 guesses a second for ever, not the doubling to 30 s.
    func testWaitingOutAPenaltyDoesNotResetTheDoubling() throws {
        let s = try XCTUnwrap(server.server)
        var t = Date()
        var penalties: [Double] = []
        for _ in 0..<10 {
            s.failed("192.0.2.7", "authentication failed", authentication: true, at: t)
            let until = s.penalty(of: "192.0.2.7")
            penalties.append(max(0, until.timeIntervalSince(t)))
            // Wait the penalty out, and the burst's quiet time with it.
            t = until.addingTimeInterval(s.options.burstQuiet + 1)
            s.flushBursts(force: false, at: t)
        }
        XCTAssertEqual(penalties.map { ($0 * 100).rounded() / 100 }, [0, 0, 0, 0.25, 0.5, 1, 2, 4, 8, 16])
        s.failed("192.0.2.7", "authentication failed", authentication: true, at: t)
        XCTAssertEqual(s.penalty(of: "192.0.2.7").timeIntervalSince(t), 30, accuracy: 0.01)
        // Forgiven after staying away twice the longest penalty.
        s.flushBursts(force: false, at: s.penalty(of: "192.0.2.7").addingTimeInterval(61))
        XCTAssertEqual(s.penalty(of: "192.0.2.7"), .distantPast)
    }

    // MARK: What a peer calls itself

    /// A peer's name with terminal escapes and bidi controls was stored raw
    /// (shown escaped), though none of them may enter a store.
    func testAPeerNameWithControlCharactersIsStoredWithoutThem() throws {
        let p = try RawPeer(server.endpoint)
        try p.open()
        var hello = p.hello(as: TestSigner(0x55))
        hello.name = "eve\u{1B}[31m\u{202E}lin\u{7}e\nbreak"
        try p.send(.hello(hello))
        guard let (m, _) = try p.receive(), case .hello = m else { return XCTFail("no HELLO") }
        try p.send(.have(VersionVector()))
        _ = try p.receive()
        try p.send(.done(count: 0))
        // The server's phase: each batch acknowledged, to its DONE.
        while let (m, _) = try p.receive() {
            if case .batch(let number, _, _) = m { try p.send(.ack(number: number, applied: 0)) }
            if case .done = m { break }
        }
        p.conn.close()
        XCTAssertTrue(server.log.wait { _ in ((try? self.server.store.peers()) ?? []).contains { $0.id == TestSigner(0x55).origin } })
        let name = try XCTUnwrap(server.store.peers().first { $0.id == TestSigner(0x55).origin }?.name)
        XCTAssertEqual(name, "eve[31mlinebreak")
    }

    // MARK: A stopping server does not finish a long batch first

    /// `serve` ignored SIGINT and SIGTERM while a long batch applied: the
    /// batch now asks between steps, and stops with its steps so far kept.
    func testABatchStopsBetweenStepsWhenAskedTo() throws {
        let a = TestSigner(0xb1), origin = a.origin
        let code = String(repeating: "b", count: 16)
        var changes = [change(origin: origin, 1, .code, code, "name", .text("c-0"), ms: now)]
        for i in 1..<2_000 {
            changes.append(change(origin: origin, Int64(i + 1), .code, code, "description", .text("d-\(i)"), ms: now + Int64(i),
                                  supersedes: i == 1 ? nil : ChangeID(origin: origin, seq: Int64(i))))
        }
        let (chain, sig) = a.chained(changes)
        var asked = 0
        XCTAssertThrowsError(try good.store.receiveBatch(chain, signatures: sig, stepMilliseconds: 1, cancelled: { asked += 1; return true })) { error in
            XCTAssertTrue(MarginError.message(for: error).contains("stopped while applying"), "\(error)")
        }
        XCTAssertEqual(asked, 1)
        let kept = try good.store.head(of: origin)
        XCTAssertGreaterThan(kept, 0)
        XCTAssertLessThan(kept, 2_000)
        // The rest arrives with the next session.
        let rest = try good.store.receiveBatch(chain, signatures: sig)
        XCTAssertEqual(Int64(rest.applied), 2_000 - kept)
    }

    // MARK: DONE's total is checked

    func testADoneWhoseTotalIsWrongEndsTheSessionAsMalformed() throws {
        let p = try RawPeer(server.endpoint)
        _ = try p.handshake()
        let (chain, sig) = attacker.chained([change(attacker, 1, .code, String(repeating: "d", count: 16), "name", .text("d"), ms: now)])
        try p.send(.batch(number: 1, changes: chain, signatures: sig))
        guard let (m, _) = try p.receive(), case .ack(1, 1) = m else { return XCTFail("no ACK") }
        try p.send(.done(count: 5))
        let e = try p.errorThenClose()
        XCTAssertEqual(e?.code, ErrorCode.malformed.rawValue, "\(String(describing: e))")
        XCTAssertTrue(e?.message.contains("DONE says 5 changes were sent; the batches held 1") ?? false, "\(String(describing: e))")
        before = try server.store.digest()
    }
}
