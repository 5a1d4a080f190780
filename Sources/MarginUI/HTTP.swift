import Foundation

/// The workspace's HTTP/1.1, as a pure codec: bytes in, a request out (or
/// "more bytes", or a refusal with its status); a response in, bytes out.
/// No sockets here, so every refusal is tested on bytes alone. It speaks
/// only what a browser on the same machine needs: one request per
/// connection (`Connection: close`), a body by `Content-Length` only.

/// A request as the parser read it: header names lower-cased, the path and
/// the query percent-decoded.
public struct HTTPRequest: Sendable {
    public var method: String
    public var path: String
    public var query: [String: String]
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    /// The header's value; nil when absent. A header given twice is refused
    /// by the parser when it matters (Host, Content-Length, Origin, Cookie).
    public func header(_ name: String) -> String? {
        headers.first { $0.name == name }?.value
    }

    /// A cookie's value from the `Cookie` header.
    public func cookie(_ name: String) -> String? {
        guard let line = header("cookie") else { return nil }
        for part in line.split(separator: ";") {
            let pair = part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            if pair.count == 2, pair[0] == name { return pair[1] }
        }
        return nil
    }
}

/// A request refused before it is understood, with the status it gets.
public struct HTTPError: Error, Equatable, Sendable {
    public var status: Int
    public var message: String
    public init(_ status: Int, _ message: String) { self.status = status; self.message = message }
}

public enum HTTPParser {
    /// The request line and headers together; a browser's are a few hundred bytes.
    public static let maxHeaderBytes = 16 * 1024

    /// Headers that must not appear twice: a request that names two hosts,
    /// two lengths or two origins is refused, not read one way here and
    /// another way elsewhere.
    static let single: Set<String> = ["host", "content-length", "origin", "cookie", "content-type"]

    /// Parses the request at the start of `buffer`. Nil: not all of it has
    /// arrived. `maxBody`: the largest body taken (413 above it).
    public static func parse(_ buffer: [UInt8], maxBody: Int) throws(HTTPError) -> (request: HTTPRequest, consumed: Int)? {
        guard let end = headerEnd(buffer) else {
            if buffer.count > maxHeaderBytes { throw HTTPError(431, "the request's headers are too long") }
            return nil
        }
        if end > maxHeaderBytes { throw HTTPError(431, "the request's headers are too long") }
        guard let head = String(validating: buffer[0..<end], as: UTF8.self) else { throw HTTPError(400, "the request's headers are not UTF-8") }
        var lines = head.components(separatedBy: "\r\n")
        let requestLine = lines.removeFirst().split(separator: " ", omittingEmptySubsequences: false)
        guard requestLine.count == 3, requestLine[2] == "HTTP/1.1" || requestLine[2] == "HTTP/1.0" else {
            throw HTTPError(400, "not an HTTP/1.1 request line")
        }
        let method = String(requestLine[0])
        guard !method.isEmpty, method.utf8.allSatisfy({ $0 >= 0x41 && $0 <= 0x5A }) else { throw HTTPError(400, "a malformed method") }
        let target = String(requestLine[1])
        guard target.hasPrefix("/") else { throw HTTPError(400, "the target must be a path") }
        var headers: [(name: String, value: String)] = []
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { throw HTTPError(400, "a header line without a colon") }
            let name = line[..<colon].lowercased()
            guard !name.isEmpty, !name.contains(" "), !name.contains("\t") else { throw HTTPError(400, "a malformed header name") }
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            if single.contains(name), headers.contains(where: { $0.name == name }) { throw HTTPError(400, "the header \(name) is given twice") }
            headers.append((name, value))
        }
        if headers.contains(where: { $0.name == "transfer-encoding" }) {
            throw HTTPError(501, "chunked bodies are not taken; send Content-Length")
        }
        var length = 0
        if let text = headers.first(where: { $0.name == "content-length" })?.value {
            guard !text.isEmpty, text.count <= 12, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let n = Int(text) else {
                throw HTTPError(400, "a malformed Content-Length")
            }
            length = n
        }
        if length > maxBody { throw HTTPError(413, "the body is larger than \(maxBody) bytes") }
        let bodyStart = end + 4
        guard buffer.count >= bodyStart + length else { return nil }
        let (path, query) = try split(target)
        return (HTTPRequest(method: method, path: path, query: query, headers: headers,
                            body: Array(buffer[bodyStart..<(bodyStart + length)])), bodyStart + length)
    }

    /// Where the header section ends (the index of its blank line's CR).
    static func headerEnd(_ b: [UInt8]) -> Int? {
        guard b.count >= 4 else { return nil }
        for i in 0...(b.count - 4) where b[i] == 13 && b[i + 1] == 10 && b[i + 2] == 13 && b[i + 3] == 10 { return i }
        return nil
    }

    /// The path and the query's pairs, each percent-decoded (`+` is a space
    /// in the query, as forms write it).
    static func split(_ target: String) throws(HTTPError) -> (String, [String: String]) {
        let parts = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        let path = try decode(String(parts[0]), plusIsSpace: false)
        var query: [String: String] = [:]
        if parts.count == 2 {
            for pair in parts[1].split(separator: "&") where !pair.isEmpty {
                let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                let key = try decode(String(kv[0]), plusIsSpace: true)
                if query[key] != nil { throw HTTPError(400, "the query names \(key) twice") }
                query[key] = kv.count == 2 ? try decode(String(kv[1]), plusIsSpace: true) : ""
            }
        }
        return (path, query)
    }

    static func decode(_ s: String, plusIsSpace: Bool) throws(HTTPError) -> String {
        var out: [UInt8] = []
        var bytes = Array(s.utf8)[...]
        while let b = bytes.popFirst() {
            if b == UInt8(ascii: "%") {
                guard bytes.count >= 2, let hi = hex(bytes[bytes.startIndex]), let lo = hex(bytes[bytes.startIndex + 1]) else {
                    throw HTTPError(400, "a malformed percent escape")
                }
                out.append(hi << 4 | lo)
                bytes = bytes.dropFirst(2)
            } else if b == UInt8(ascii: "+") && plusIsSpace {
                out.append(0x20)
            } else {
                out.append(b)
            }
        }
        guard let text = String(validating: out, as: UTF8.self) else { throw HTTPError(400, "the address is not UTF-8") }
        return text
    }

    static func hex(_ b: UInt8) -> UInt8? {
        switch b {
        case 0x30...0x39: b - 0x30
        case 0x41...0x46: b - 0x41 + 10
        case 0x61...0x66: b - 0x61 + 10
        default: nil
        }
    }
}

/// A response; `bytes` is what goes on the wire.
public struct HTTPResponse: Sendable {
    public var status: Int
    public var headers: [(String, String)]
    public var body: [UInt8]

    public init(status: Int, contentType: String, body: [UInt8], headers: [(String, String)] = []) {
        self.status = status
        self.headers = [("Content-Type", contentType)] + headers
        self.body = body
    }

    public static func text(_ status: Int, _ message: String) -> HTTPResponse {
        HTTPResponse(status: status, contentType: "text/plain; charset=utf-8", body: Array((message + "\n").utf8))
    }

    static let reasons: [Int: String] = [
        200: "OK", 303: "See Other", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
        405: "Method Not Allowed", 408: "Request Timeout", 409: "Conflict", 413: "Content Too Large",
        415: "Unsupported Media Type", 431: "Request Header Fields Too Large", 500: "Internal Server Error",
        501: "Not Implemented",
    ]

    public var bytes: [UInt8] {
        var head = "HTTP/1.1 \(status) \(HTTPResponse.reasons[status] ?? "Status")\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        head += "Content-Length: \(body.count)\r\nConnection: close\r\n\r\n"
        return Array(head.utf8) + body
    }
}
