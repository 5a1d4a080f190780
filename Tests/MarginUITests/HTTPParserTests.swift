import MarginUI
import XCTest

/// The codec alone, on bytes: what it takes, and each refusal with its status.
final class HTTPParserTests: XCTestCase {
    func parse(_ text: String, maxBody: Int = 1024) throws -> (request: HTTPRequest, consumed: Int)? {
        try HTTPParser.parse(Array(text.utf8), maxBody: maxBody)
    }

    func status(_ text: String, maxBody: Int = 1024) -> Int? {
        do { _ = try parse(text, maxBody: maxBody); return nil } catch let e as HTTPError { return e.status } catch { return -1 }
    }

    func testARequestIsReadWithItsQueryDecodedAndItsBody() throws {
        let raw = "POST /api/records?q=%E9%BB%A8%E5%93%A1&place=a+b HTTP/1.1\r\nHost: 127.0.0.1:8\r\nContent-Length: 2\r\nCookie: x=1; margin_ui=abc\r\n\r\n{}"
        let (r, consumed) = try XCTUnwrap(try parse(raw))
        XCTAssertEqual(consumed, raw.utf8.count)
        XCTAssertEqual(r.method, "POST")
        XCTAssertEqual(r.path, "/api/records")
        XCTAssertEqual(r.query, ["q": "黨員", "place": "a b"])
        XCTAssertEqual(r.header("host"), "127.0.0.1:8")
        XCTAssertEqual(r.cookie("margin_ui"), "abc")
        XCTAssertEqual(r.body, Array("{}".utf8))
    }

    func testAPartRequestAsksForMore() throws {
        XCTAssertNil(try parse("GET / HTTP/1.1\r\nHost: x"))
        XCTAssertNil(try parse("POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nab"))
    }

    func testRefusals() {
        XCTAssertEqual(status("GET / HTTP/2\r\n\r\n"), 400)
        XCTAssertEqual(status("get / HTTP/1.1\r\n\r\n"), 400)
        XCTAssertEqual(status("GET http://x/ HTTP/1.1\r\n\r\n"), 400)
        XCTAssertEqual(status("GET / HTTP/1.1\r\nno colon\r\n\r\n"), 400)
        XCTAssertEqual(status("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"), 400, "two hosts")
        XCTAssertEqual(status("POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx"), 400)
        XCTAssertEqual(status("POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n"), 400)
        XCTAssertEqual(status("POST / HTTP/1.1\r\nContent-Length: 2000\r\n\r\n"), 413)
        XCTAssertEqual(status("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"), 501)
        XCTAssertEqual(status("GET /%zz HTTP/1.1\r\n\r\n"), 400)
        XCTAssertEqual(status("GET /?a=%ff HTTP/1.1\r\n\r\n"), 400, "not UTF-8")
        XCTAssertEqual(status("GET /?a=1&a=2 HTTP/1.1\r\n\r\n"), 400, "a key twice")
        XCTAssertEqual(status("GET / HTTP/1.1\r\nX: " + String(repeating: "a", count: HTTPParser.maxHeaderBytes) + "\r\n\r\n"), 431)
        XCTAssertEqual(status("GET / HTTP/1.1\r\nX: " + String(repeating: "a", count: HTTPParser.maxHeaderBytes)), 431, "before the end arrives")
    }

    func testAResponseNamesItsLengthAndCloses() {
        let r = HTTPResponse(status: 404, contentType: "text/plain", body: Array("no".utf8))
        let text = String(decoding: r.bytes, as: UTF8.self)
        XCTAssertTrue(text.hasPrefix("HTTP/1.1 404 Not Found\r\n"))
        XCTAssertTrue(text.contains("Content-Length: 2\r\n"))
        XCTAssertTrue(text.contains("Connection: close\r\n"))
        XCTAssertTrue(text.hasSuffix("\r\n\r\nno"))
    }
}
