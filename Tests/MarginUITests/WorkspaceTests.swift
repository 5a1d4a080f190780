import Foundation
import MarginCore
import MarginSync
@testable import MarginUI
import XCTest

/// The workspace through a real socket on 127.0.0.1: every refusal the
/// security rules name, and each API call against the store it writes.
final class WorkspaceTests: XCTestCase {
    var directory = ""
    var store: Store!
    var workspace: Workspace!
    var thread: Thread?
    var record = ""
    var code = ""

    struct Reply {
        var status: Int
        var headers: [String: String]
        var body: String
        var json: [String: JSONValue] { (try? JSONValue.parse(body).object) ?? [:] }
    }

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("margin-ui-\(UUID().uuidString)").path
        store = try Store.create(directory: directory, name: "alice")
        record = try store.importReport(ReportDraft(body: "𠀀😷 曲麻萊縣成立16個臨時黨支部,159名黨員參加防疫。", title: "曲麻萊縣防疫")).id
        code = try store.addCode(name: "party-members", description: nil, colour: "red", parent: nil)
        var options = Workspace.Options()
        options.requestTimeout = 1
        workspace = try Workspace(directory: directory, endpoint: Endpoint(host: "127.0.0.1", port: 0), options: options)
        let w = workspace!
        let t = Thread { w.serve() }
        t.start()
        thread = t
    }

    override func tearDownWithError() throws {
        workspace.stop()
        store.db.close()
        try? FileManager.default.removeItem(atPath: directory)
    }

    var host: String { "127.0.0.1:\(workspace.port)" }
    var cookie: String { "margin_ui=\(workspace.token)" }

    /// Sends `raw` to the workspace on `port` and reads the reply whole, as text.
    static func exchange(port: UInt16, _ raw: [UInt8]) throws -> String {
        let c = try TCPConnection.connect(to: Endpoint(host: "127.0.0.1", port: port), timeout: 5)
        defer { c.close() }
        try c.write(raw, until: Date(timeIntervalSinceNow: 5))
        var bytes: [UInt8] = []
        while true {
            let chunk = try c.read(max: 65536, until: Date(timeIntervalSinceNow: 30))
            if chunk.isEmpty { break }
            bytes += chunk
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Sends `raw` and reads the reply to the end.
    func send(_ raw: [UInt8]) throws -> Reply {
        let text = try WorkspaceTests.exchange(port: workspace.port, raw)
        let parts = text.components(separatedBy: "\r\n\r\n")
        var lines = parts[0].components(separatedBy: "\r\n")
        let status = Int(lines.removeFirst().split(separator: " ")[1]) ?? 0
        var headers: [String: String] = [:]
        for l in lines {
            let kv = l.split(separator: ":", maxSplits: 1)
            headers[kv[0].lowercased()] = kv[1].trimmingCharacters(in: .whitespaces)
        }
        return Reply(status: status, headers: headers, body: parts.dropFirst().joined(separator: "\r\n\r\n"))
    }

    func get(_ path: String, host: String? = nil, cookie: String? = nil) throws -> Reply {
        var raw = "GET \(path) HTTP/1.1\r\nHost: \(host ?? self.host)\r\n"
        if let c = cookie ?? Optional(self.cookie), !c.isEmpty { raw += "Cookie: \(c)\r\n" }
        return try send(Array((raw + "\r\n").utf8))
    }

    func post(_ path: String, _ body: String, origin: String? = "", contentType: String = "application/json") throws -> Reply {
        var raw = "POST \(path) HTTP/1.1\r\nHost: \(host)\r\nCookie: \(cookie)\r\nContent-Type: \(contentType)\r\n"
        let o = origin == "" ? "http://\(host)" : origin
        if let o { raw += "Origin: \(o)\r\n" }
        raw += "Content-Length: \(body.utf8.count)\r\n\r\n" + body
        return try send(Array(raw.utf8))
    }

    func testTheTokenIsAskedOnceThenKeptInAStrictHttpOnlyCookie() throws {
        let entry = try get("/?token=\(workspace.token)", cookie: "")
        XCTAssertEqual(entry.status, 303)
        XCTAssertEqual(entry.headers["location"], "/")
        let set = try XCTUnwrap(entry.headers["set-cookie"])
        XCTAssertTrue(set.hasPrefix("margin_ui=\(workspace.token);"), set)
        XCTAssertTrue(set.contains("HttpOnly"), set)
        XCTAssertTrue(set.contains("SameSite=Strict"), set)
        XCTAssertEqual(try get("/", cookie: "").status, 401, "no cookie")
        XCTAssertEqual(try get("/api/state", cookie: "margin_ui=" + String(repeating: "0", count: 48)).status, 401, "a wrong cookie")
        XCTAssertEqual(try get("/?token=nottheone", cookie: "").status, 403)
        let page = try get("/")
        XCTAssertEqual(page.status, 200)
        XCTAssertTrue(page.body.contains("<script src=\"/app.js\""))
        let style = try get("/app.css")
        XCTAssertEqual(style.status, 200)
        XCTAssertTrue(style.headers["content-type"]?.hasPrefix("text/css") == true)
        XCTAssertEqual(try get("/nothing-here").status, 404)
        XCTAssertEqual(try get("/api/nothing-here").status, 404)
        for r in [entry, page, try get("/app.js"), try get("/api/state"), try get("/", cookie: "")] {
            let csp = try XCTUnwrap(r.headers["content-security-policy"])
            XCTAssertTrue(csp.contains("default-src 'none'") && csp.contains("script-src 'self'"), csp)
            XCTAssertFalse(csp.contains("unsafe"), csp)
            XCTAssertEqual(r.headers["x-content-type-options"], "nosniff")
            XCTAssertNil(r.headers["access-control-allow-origin"], "no CORS")
        }
    }

    /// DNS rebinding: a name that resolves to 127.0.0.1 still names itself in Host.
    func testAnotherHostIsRefusedEvenWithTheToken() throws {
        XCTAssertEqual(try get("/api/state", host: "attacker.example:\(workspace.port)").status, 403)
        XCTAssertEqual(try get("/api/state", host: "127.0.0.1:1").status, 403)
        XCTAssertEqual(try get("/?token=\(workspace.token)", host: "attacker.example").status, 403)
        XCTAssertEqual(try get("/api/state", host: "localhost:\(workspace.port)").status, 200)
    }

    func testAWriteNeedsThisOriginAndJSONAndChangesNothingOtherwise() throws {
        let before = try store.changeCount()
        let body = #"{"record":"\#(record)","done":true}"#
        XCTAssertEqual(try post("/api/done", body, origin: nil).status, 403, "no Origin")
        XCTAssertEqual(try post("/api/done", body, origin: "http://attacker.example").status, 403)
        XCTAssertEqual(try post("/api/done", body, origin: "http://127.0.0.1:1").status, 403)
        XCTAssertEqual(try post("/api/done", body, contentType: "text/plain").status, 415)
        let malformed = try post("/api/done", "{\"record\":")
        XCTAssertEqual(malformed.status, 400)
        XCTAssertNotNil(malformed.json["error"]?.string)
        XCTAssertEqual(try post("/api/done", "[1]").status, 400)
        XCTAssertEqual(try post("/api/done", #"{"record":"\#(record)","done":"yes"}"#).status, 400)
        XCTAssertEqual(try post("/api/done", #"{"x":""# + String(repeating: "a", count: 300 * 1024) + #""}"#).status, 413)
        XCTAssertEqual(try post("/api/nothing", "{}").status, 404)
        XCTAssertEqual(try get("/api/done").status, 404, "a write is not a GET")
        let put = try send(Array("PUT /api/done HTTP/1.1\r\nHost: \(host)\r\nCookie: \(cookie)\r\nContent-Length: 0\r\n\r\n".utf8))
        XCTAssertEqual(put.status, 405)
        XCTAssertEqual(try store.changeCount(), before, "nothing was written")
        XCTAssertEqual(try post("/api/done", body).status, 200)
        XCTAssertEqual(try store.doneCoders(record: record), ["alice"])
    }

    /// A client that sends half a request is cut after the timeout; others
    /// are answered meanwhile.
    func testASlowClientTimesOutWithoutHoldingUpOthers() throws {
        let slow = try TCPConnection.connect(to: Endpoint(host: "127.0.0.1", port: workspace.port), timeout: 5)
        defer { slow.close() }
        try slow.write(Array("GET /api/state HTTP/1.1\r\nHost: \(host)\r\n".utf8), until: Date(timeIntervalSinceNow: 5))
        XCTAssertEqual(try get("/api/state").status, 200, "answered while the slow one waits")
        var bytes: [UInt8] = []
        while true {
            let chunk = try slow.read(max: 4096, until: Date(timeIntervalSinceNow: 10))
            if chunk.isEmpty { break }
            bytes += chunk
        }
        XCTAssertTrue(String(decoding: bytes, as: UTF8.self).hasPrefix("HTTP/1.1 408 "))
    }

    /// Offsets are code points: after 𠀀 and 😷 (two UTF-16 units each) the
    /// span the API is given lands on the characters the CLI shows.
    func testAnAnnotationIsWrittenAtCodePointOffsets() throws {
        let body = try XCTUnwrap(try store.record(record)).body
        let scalars = Array(body.unicodeScalars)
        let quote = Array("159名黨員".unicodeScalars)
        let start = try XCTUnwrap((0...(scalars.count - quote.count)).first { Array(scalars[$0..<($0 + quote.count)]) == quote })
        let r = try post("/api/annotate", #"{"record":"\#(record)","code":"party-members","start":\#(start),"end":\#(start + quote.count),"value":"159"}"#)
        XCTAssertEqual(r.status, 200, r.body)
        let id = try XCTUnwrap(r.json["id"]?.string)
        let a = try XCTUnwrap(try store.annotation(id))
        XCTAssertEqual(a.span?.quote, "159名黨員")
        XCTAssertEqual(a.value, "159")
        XCTAssertEqual(a.author, "alice")
        // The record as the page reads it holds it, at the same offsets.
        let shown = try get("/api/record?id=\(record)").json
        let listed = try XCTUnwrap(shown["annotations"]?.array?.first?.object)
        XCTAssertEqual(listed["start"]?.int, Int64(start))
        XCTAssertEqual(listed["quote"]?.string, "159名黨員")
        // A range past the end is refused, and nothing is written.
        let count = try store.changeCount()
        let bad = try post("/api/annotate", #"{"record":"\#(record)","code":"\#(code)","start":5,"end":9999}"#)
        XCTAssertEqual(bad.status, 400)
        XCTAssertNotNil(bad.json["error"]?.string)
        XCTAssertEqual(try store.changeCount(), count)
        // Reviewed, then deleted, through the API.
        XCTAssertEqual(try post("/api/review", #"{"annotation":"\#(id)","status":"accepted"}"#).status, 200)
        XCTAssertEqual(try store.annotation(id)?.status, .accepted)
        XCTAssertEqual(try post("/api/review", #"{"annotation":"\#(id)","status":"suggested"}"#).status, 400)
        XCTAssertEqual(try post("/api/delete", #"{"annotation":"\#(id)"}"#).status, 200)
        XCTAssertNil(try store.annotations(record: record).first { $0.id == id })
        XCTAssertEqual(try get("/api/record?id=nope").status, 404)
    }

    func testRecordsArePagedWithTheirTotalAndFoundInEitherScript() throws {
        try store.write {
            for i in 0..<120 { _ = try store.importReport(ReportDraft(body: "第\(i)号报告:全县共有\(i)名党员下沉社区。", title: "报告 \(i)")) }
        }
        let page = try get("/api/records?limit=50&offset=100").json
        XCTAssertEqual(page["total"]?.int, 121)
        XCTAssertEqual(page["records"]?.array?.count, 21)
        let found = try get("/api/records?q=" + "黨員".addingPercentEncoding(withAllowedCharacters: .alphanumerics)!).json
        XCTAssertEqual(found["total"]?.int, 121, "Traditional finds Simplified")
        try store.setRecordField(record, field: "published", value: "2022-11-07")
        try store.setRecordField(record, field: "place", value: "曲麻萊縣")
        let dated = try get("/api/records?since=2022-11-01&until=2022-11").json
        XCTAssertEqual(dated["records"]?.array?.compactMap { $0.object?["id"]?.string }, [record])
        let placed = try get("/api/records?place=" + "曲麻莱".addingPercentEncoding(withAllowedCharacters: .alphanumerics)!).json
        XCTAssertEqual(placed["total"]?.int, 1, "a place in Simplified finds 曲麻萊縣")
        XCTAssertEqual(try get("/api/records?done=maybe").status, 400)
        XCTAssertEqual(try get("/api/records?limit=0").status, 400)
        XCTAssertEqual(try get("/api/records?status=maybe").status, 400)
        XCTAssertEqual(try get("/api/records?code=nosuchcode").status, 404)
    }

    /// Report text is data: it reaches the page as JSON only, never in the
    /// page's markup (the browser test checks that it runs no script).
    func testHostileTextIsServedAsJSONOnly() throws {
        let hostile = "<script>document.title='owned'</script><img src=x onerror=alert(1)>\u{202E}txt.exe"
        let id = try store.importReport(ReportDraft(body: hostile + " 共有5名黨員。", title: hostile)).id
        let r = try get("/api/record?id=\(id)")
        XCTAssertEqual(r.status, 200)
        XCTAssertTrue(r.headers["content-type"]?.hasPrefix("application/json") == true)
        XCTAssertEqual(r.json["title"]?.string, hostile)
        XCTAssertFalse(try get("/").body.contains("owned"))
    }

    func testOnlyALoopbackAddressIsServed() {
        XCTAssertThrowsError(try Workspace(directory: directory, endpoint: Endpoint(host: "0.0.0.0", port: 0)))
    }

    /// "Sync now" against a real `margin serve` (a SyncServer on loopback),
    /// its progress and outcome readable meanwhile; a conflict it brings
    /// shown with both sides and resolved with a comment.
    func testSyncNowBringsAConflictThatIsResolvedWithAComment() throws {
        let bobDir = directory + "-bob"
        defer { try? FileManager.default.removeItem(atPath: bobDir) }
        let bob = try Store.create(directory: bobDir, name: "bob")
        let server = try SyncServer(directory: bobDir, endpoint: Endpoint(host: "127.0.0.1", port: 0), options: SyncServer.Options()) { _ in }
        let t = Thread { server.serve() }
        t.start()
        defer { server.stop() }
        let peer = #"{"address":"127.0.0.1:\#(server.endpoint.port)"}"#
        let id = try store.annotate(record: record, code: code, span: .quote("159名黨員", occurrence: nil), value: "159", note: nil)
        let first = try post("/api/sync", peer)
        XCTAssertEqual(first.status, 200, first.body)
        XCTAssertEqual(first.json["peer"]?.string, "bob")
        XCTAssertGreaterThan(first.json["sent"]?.int ?? 0, 0)
        XCTAssertNotNil(try bob.annotation(id), "bob has alice's annotation")
        try store.review(annotation: id, status: .accepted, comment: nil)
        try bob.review(annotation: id, status: .rejected, comment: "the report says 160")
        let second = try post("/api/sync", peer)
        XCTAssertEqual(second.json["new_conflicts"]?.int, 1, second.body)
        XCTAssertTrue(try get("/api/sync-status").json["last"]?.string?.hasPrefix("synced with bob") == true)
        XCTAssertEqual(try get("/api/peers").body.contains("\"name\":\"bob\""), true)
        // Both sides in full.
        let listed = try XCTUnwrap(try JSONValue.parse(try get("/api/conflicts").body).array)
        XCTAssertEqual(listed.count, 1)
        let c = try XCTUnwrap(listed.first?.object)
        let sides = [c["winner"], c["other"]].compactMap { $0?.object?["lines"]?.array?.compactMap(\.string).joined(separator: "\n") }
        XCTAssertEqual(Set(sides.map { $0.contains("status: accepted") }), [true, false], "\(sides)")
        XCTAssertTrue(sides.contains { $0.contains("comment: the report says 160") })
        let conflict = try XCTUnwrap(c["id"]?.string)
        XCTAssertEqual(try post("/api/resolve", #"{"conflict":"\#(conflict)","keep":"other","value":"x"}"#).status, 400, "keep or a value, not both")
        XCTAssertEqual(try post("/api/resolve", #"{"conflict":"\#(conflict)","keep":"other","comment":"checked the report"}"#).status, 200)
        XCTAssertEqual(try store.conflicts(includeResolved: false).count, 0)
        XCTAssertEqual(try store.conflicts(includeResolved: true).first?.comment, "checked the report")
        XCTAssertEqual(try post("/api/sync", #"{"address":"127.0.0.1:1"}"#).status, 400, "a peer that is not there")
        XCTAssertFalse(try get("/api/sync-status").json["running"] == .bool(true))
    }

    /// The team's numbers in the page are the store's: agreement as
    /// `agree --json` computes it, frequencies as `table codes --by`, and
    /// adjudication through `compare` checked against what the page saw.
    func testTeamNumbersAndAdjudication() throws {
        let other = try store.addCode(name: "cadres", description: nil, colour: "#00aa00", parent: nil)
        _ = try store.annotate(record: record, code: code, span: .quote("159名黨員", occurrence: nil), value: "159", note: nil)
        _ = try store.annotate(record: record, code: code, span: .quote("159名黨員", occurrence: nil), value: "159", note: nil, author: "bob")
        _ = try store.annotate(record: record, code: other, span: .quote("16個臨時黨支部", occurrence: nil), value: nil, note: nil, author: "bob")
        try store.markDone(record: record)
        try store.markDone(record: record, as: "bob")
        var expected: [UInt8] = []
        JSONText.write(try store.agreement(coders: ["alice", "bob"]).json, into: &expected)
        let agree = try get("/api/agree?coders=alice,bob")
        XCTAssertEqual(agree.status, 200)
        XCTAssertEqual(agree.body, String(decoding: expected, as: UTF8.self))
        let csv = try get("/api/agree.csv?coders=alice,bob")
        XCTAssertTrue(csv.headers["content-disposition"]?.contains("attachment") == true)
        XCTAssertTrue(csv.body.contains("party-members,span_exact_f1,1.0"), csv.body)
        XCTAssertEqual(try JSONValue.parse(try get("/api/coders").body), .array([.string("alice"), .string("bob")]))
        let frequencies = try XCTUnwrap(try get("/api/frequencies?by=place").json["rows"]?.array)
        XCTAssertEqual(frequencies.count, try store.codeCounts(by: .place).count)
        XCTAssertEqual(try get("/api/frequencies?by=colour").status, 400)
        let frequencyCSV = try get("/api/frequencies.csv?by=month")
        XCTAssertTrue(frequencyCSV.headers["content-type"]?.hasPrefix("text/csv") == true)
        let csvRows = frequencyCSV.body.components(separatedBy: "\r\n").filter { !$0.isEmpty }
        XCTAssertEqual(csvRows.first, "layer,month,code,annotations,records")
        XCTAssertEqual(csvRows.count - 1, try store.codeCounts(by: .month).count)
        let compared = try get("/api/compare?record=\(record.prefix(10))&coders=alice,bob").json
        let differ = try XCTUnwrap(compared["differ"]?.array?.first?.object)
        XCTAssertEqual(differ["kind"]?.string, "only-second")
        let bobs = try XCTUnwrap(differ["second"]?.object?["id"]?.string)
        let wrong = #"{"record":"\#(record)","coders":"alice,bob","index":0,"take":"second","first":null,"second":"not-this-one"}"#
        XCTAssertEqual(try post("/api/adjudicate", wrong).status, 400, "a list that changed is refused")
        XCTAssertTrue(try store.goldAnnotations(record: record).isEmpty)
        let right = #"{"record":"\#(record)","coders":"alice,bob","index":0,"take":"second","first":null,"second":"\#(bobs)"}"#
        XCTAssertEqual(try post("/api/adjudicate", right).status, 200)
        XCTAssertEqual(try store.goldAnnotations(record: record).map(\.code), [other])
        XCTAssertEqual(try get("/api/compare?record=\(record)&coders=alice").status, 400)
    }

    /// Tags, notes, re-spans and the code picker's folding, each as the
    /// CLI's operation: the same coding twice asks for `again`, another
    /// coder's annotation is not re-spanned, offsets past the text refused.
    func testTagsNotesRespansAndTheFoldedPicker() throws {
        let tag = try post("/api/tag", #"{"record":"\#(record)","code":"party-members","value":"16"}"#)
        XCTAssertEqual(tag.status, 200, tag.body)
        let tagID = try XCTUnwrap(tag.json["id"]?.string)
        XCTAssertNil(try store.annotation(tagID)?.span)
        XCTAssertEqual(try post("/api/tag", #"{"record":"\#(record)","code":"party-members"}"#).status, 409, "tagged already")
        XCTAssertEqual(try post("/api/tag", #"{"record":"\#(record)","code":"party-members","again":true}"#).status, 200)
        // A code whose values are numbers refuses another value, as `annotate --value` does.
        _ = try store.addCode(name: "members", description: nil, colour: nil, parent: nil, valueType: "number")
        let count = try store.changeCount()
        let notANumber = try post("/api/tag", #"{"record":"\#(record)","code":"members","value":"many"}"#)
        XCTAssertEqual(notANumber.status, 400, notANumber.body)
        XCTAssertEqual(try store.changeCount(), count)
        XCTAssertEqual(try post("/api/tag", #"{"record":"\#(record)","code":"members","value":"159"}"#).status, 200)
        let note = try post("/api/note", #"{"record":"\#(record)","text":"待核","start":3,"end":7}"#)
        let noteID = try XCTUnwrap(note.json["id"]?.string, note.body)
        XCTAssertEqual(try store.annotation(noteID)?.span?.start, 3)
        XCTAssertEqual(try store.annotation(noteID)?.note, "待核")
        XCTAssertEqual(try post("/api/note", #"{"record":"\#(record)","text":""}"#).status, 400)
        let span = try post("/api/annotate", #"{"record":"\#(record)","code":"\#(code)","start":3,"end":7}"#)
        let spanID = try XCTUnwrap(span.json["id"]?.string)
        XCTAssertEqual(try post("/api/annotate", #"{"record":"\#(record)","code":"\#(code)","start":3,"end":7}"#).status, 409, "coded already")
        XCTAssertEqual(try post("/api/respan", #"{"annotation":"\#(spanID)","start":4,"end":7}"#).status, 200)
        XCTAssertEqual(try store.annotation(spanID)?.span?.start, 4)
        XCTAssertEqual(try post("/api/respan", #"{"annotation":"\#(spanID)","start":4,"end":9999}"#).status, 400)
        let bobs = try store.annotate(record: record, code: code, span: .range(8, 10), value: nil, note: nil, author: "bob")
        let refused = try post("/api/respan", #"{"annotation":"\#(bobs)","start":8,"end":11}"#)
        XCTAssertEqual(refused.status, 400, refused.body)
        XCTAssertEqual(try store.annotation(bobs)?.span?.end, 10, "bob's coding is bob's")
        // The picker's folding: Traditional typed, Simplified names found.
        _ = try store.addCode(name: "党员人数", description: nil, colour: nil, parent: nil)
        XCTAssertEqual(try get("/api/fold?text=黨員").json["folded"]?.string, "党员")
        let codes = try XCTUnwrap(try get("/api/state").json["codes"]?.array)
        XCTAssertTrue(codes.contains { $0.object?["folded"]?.string == "党员人数" })
        XCTAssertEqual(try get("/api/version").json["changes"]?.int, Int64(try store.changeCount()))
    }

    /// The review walk: suggestions first, then open annotations, then conflicts.
    func testTheReviewQueueIsInTheOrderOfMarginReview() throws {
        let open = try store.annotate(record: record, code: code, span: .quote("159名黨員", occurrence: nil), value: "159", note: nil)
        try store.storeSuggestions(try store.suggestions(record: record, triggers: try store.suggestionTriggers()))
        let queue = try get("/api/review").json
        XCTAssertEqual(queue["more"], .bool(false))
        let items = try XCTUnwrap(queue["items"]?.array)
        let statuses = items.compactMap { $0.object?["annotation"]?.object?["status"]?.string }
        XCTAssertGreaterThan(statuses.count, 1)
        XCTAssertEqual(statuses.last, "open")
        XCTAssertEqual(Set(statuses.dropLast()), ["suggested"])
        XCTAssertEqual(items.last?.object?["annotation"]?.object?["id"]?.string, open)
    }

    /// The page, the CLI (another connection to the store) and `margin
    /// serve` (a peer syncing in) write the same store at once: every write
    /// of each lands, and the store checks whole.
    func testThePageTheCLIAndServeWriteTheStoreAtOnce() throws {
        let server = try SyncServer(directory: directory, endpoint: Endpoint(host: "127.0.0.1", port: 0), options: SyncServer.Options()) { _ in }
        let served = Thread { server.serve() }
        served.start()
        defer { server.stop() }
        let peerDir = directory + "-peer"
        defer { try? FileManager.default.removeItem(atPath: peerDir) }
        try Store.create(directory: peerDir, name: "carol").db.close()
        let n = 20
        let group = DispatchGroup()
        let failures = LockedList()
        let length = try XCTUnwrap(try store.record(record)).body.unicodeScalars.count
        let (port, token, record, code, directory, syncPort) = (workspace.port, workspace.token, self.record, self.code, self.directory, server.endpoint.port)
        DispatchQueue.global().async(group: group) {
            for i in 0..<n {
                let start = i % (length - 2)
                let json = #"{"record":"\#(record)","code":"\#(code)","start":\#(start),"end":\#(start + 2),"note":"page \#(i)","again":true}"#
                let raw = "POST /api/annotate HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nCookie: margin_ui=\(token)\r\nOrigin: http://127.0.0.1:\(port)\r\n"
                    + "Content-Type: application/json\r\nContent-Length: \(json.utf8.count)\r\n\r\n" + json
                do {
                    let reply = try WorkspaceTests.exchange(port: port, Array(raw.utf8))
                    if !reply.hasPrefix("HTTP/1.1 200") { failures.add("page: \(reply)") }
                } catch { failures.add("page: \(error)") }
            }
        }
        DispatchQueue.global().async(group: group) {
            do {
                let cli = try Store(directory: directory)
                defer { cli.db.close() }
                for i in 0..<n { _ = try cli.annotate(record: record, code: nil, span: nil, value: nil, note: "cli \(i)") }
            } catch { failures.add("cli: \(error)") }
        }
        DispatchQueue.global().async(group: group) {
            do {
                let peer = try Store(directory: peerDir)
                defer { peer.db.close() }
                for round in 0..<4 {
                    try peer.write { for i in 0..<5 { _ = try peer.addCode(name: "peer-\(round)-\(i)", description: nil, colour: nil, parent: nil) } }
                    _ = try SyncSession.syncSettling(store: peer, with: Endpoint(host: "127.0.0.1", port: syncPort), options: SyncOptions())
                }
            } catch { failures.add("serve: \(error)") }
        }
        XCTAssertEqual(group.wait(timeout: .now() + 120), .success)
        XCTAssertEqual(failures.all, [])
        let notes = try store.annotations(record: record).compactMap(\.note)
        XCTAssertEqual(notes.filter { $0.hasPrefix("page ") }.count, n)
        XCTAssertEqual(notes.filter { $0.hasPrefix("cli ") }.count, n)
        XCTAssertEqual(try store.codes(counted: false).filter { $0.name.hasPrefix("peer-") }.count, 20)
        XCTAssertNoThrow(try store.check())
    }
}

/// Failures gathered from several threads.
final class LockedList: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [String] = []
    func add(_ s: String) { lock.withLock { items.append(s) } }
    var all: [String] { lock.withLock { items } }
}
