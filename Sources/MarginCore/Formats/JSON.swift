import Foundation
import MarginCrypto

/// A JSON value as the text wrote it (RFC 8259). Foundation's
/// JSONSerialization on Linux reads 0 and 1 as booleans, which made every
/// export with a span at offset 0 or 1 unimportable; this reader keeps an
/// integer an integer, a boolean a boolean, and refuses duplicate keys.
public enum JSONValue: Equatable, Sendable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public var string: String? { if case .string(let s) = self { return s } else { return nil } }
    public var int: Int64? { if case .int(let n) = self { return n } else { return nil } }
    /// A number of either kind, as a Double.
    public var double: Double? {
        switch self {
        case .double(let d): d
        case .int(let n): Double(n)
        default: nil
        }
    }
    public var object: [String: JSONValue]? { if case .object(let o) = self { return o } else { return nil } }
    public var array: [JSONValue]? { if case .array(let a) = self { return a } else { return nil } }

    /// Parses one JSON text; anything but white space after it is an error.
    public static func parse(_ text: String) throws -> JSONValue {
        var p = JSONParser(Array(text.utf8))
        p.skipSpace()
        let v = try p.value(depth: 0)
        p.skipSpace()
        guard p.i == p.bytes.count else { throw p.error("unexpected text after the JSON value") }
        return v
    }
}

struct JSONParser {
    let bytes: [UInt8]
    var i = 0
    static let maxDepth = 64

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    func error(_ message: String) -> MarginError { MarginError.invalid("invalid JSON at byte \(i + 1): \(message)") }

    mutating func skipSpace() {
        while i < bytes.count, [0x20, 0x09, 0x0a, 0x0d].contains(bytes[i]) { i += 1 }
    }

    mutating func literal(_ word: String, _ v: JSONValue) throws -> JSONValue {
        let w = Array(word.utf8)
        guard i + w.count <= bytes.count, Array(bytes[i..<(i + w.count)]) == w else { throw error("unknown literal") }
        i += w.count
        return v
    }

    mutating func value(depth: Int) throws -> JSONValue {
        guard depth < JSONParser.maxDepth else { throw error("nested too deeply") }
        guard i < bytes.count else { throw error("unexpected end") }
        switch bytes[i] {
        case UInt8(ascii: "{"):
            i += 1
            var out: [String: JSONValue] = [:]
            skipSpace()
            if i < bytes.count, bytes[i] == UInt8(ascii: "}") { i += 1; return .object(out) }
            while true {
                skipSpace()
                guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { throw error("expected a key") }
                let key = try string()
                skipSpace()
                guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { throw error("expected ':'") }
                i += 1
                skipSpace()
                guard out[key] == nil else { throw error("key \"\(key)\" appears twice") }
                out[key] = try value(depth: depth + 1)
                skipSpace()
                guard i < bytes.count else { throw error("unexpected end") }
                if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                if bytes[i] == UInt8(ascii: "}") { i += 1; return .object(out) }
                throw error("expected ',' or '}'")
            }
        case UInt8(ascii: "["):
            i += 1
            var out: [JSONValue] = []
            skipSpace()
            if i < bytes.count, bytes[i] == UInt8(ascii: "]") { i += 1; return .array(out) }
            while true {
                skipSpace()
                out.append(try value(depth: depth + 1))
                skipSpace()
                guard i < bytes.count else { throw error("unexpected end") }
                if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                if bytes[i] == UInt8(ascii: "]") { i += 1; return .array(out) }
                throw error("expected ',' or ']'")
            }
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): return try literal("true", .bool(true))
        case UInt8(ascii: "f"): return try literal("false", .bool(false))
        case UInt8(ascii: "n"): return try literal("null", .null)
        default: return try number()
        }
    }

    mutating func number() throws -> JSONValue {
        let start = i
        func digits() -> Int {
            let s = i
            while i < bytes.count, (0x30...0x39).contains(bytes[i]) { i += 1 }
            return i - s
        }
        if i < bytes.count, bytes[i] == UInt8(ascii: "-") { i += 1 }
        let intStart = i
        guard digits() > 0 else { throw error("expected a value") }
        if bytes[intStart] == 0x30 && i - intStart > 1 { throw error("a number has a leading zero") }
        var integral = true
        if i < bytes.count, bytes[i] == UInt8(ascii: ".") {
            i += 1
            integral = false
            guard digits() > 0 else { throw error("a number needs digits after '.'") }
        }
        if i < bytes.count, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
            i += 1
            integral = false
            if i < bytes.count, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") { i += 1 }
            guard digits() > 0 else { throw error("a number needs digits in its exponent") }
        }
        let text = String(decoding: bytes[start..<i], as: UTF8.self)
        if integral {
            guard let n = Int64(text) else { throw error("integer \(text) is out of range") }
            return .int(n)
        }
        guard let d = Double(text), d.isFinite else { throw error("number \(text) is out of range") }
        return .double(d)
    }

    mutating func hex4() throws -> UInt32 {
        guard i + 4 <= bytes.count else { throw error("unexpected end in \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let b = bytes[i]
            let d: UInt32
            switch b {
            case 0x30...0x39: d = UInt32(b - 0x30)
            case 0x41...0x46: d = UInt32(b - 0x41 + 10)
            case 0x61...0x66: d = UInt32(b - 0x61 + 10)
            default: throw error("bad \\u escape")
            }
            v = v << 4 | d
            i += 1
        }
        return v
    }

    /// A string, the opening quote at `i`.
    mutating func string() throws -> String {
        i += 1
        var out: [UInt8] = []
        while true {
            guard i < bytes.count else { throw error("unterminated string") }
            let b = bytes[i]
            if b == UInt8(ascii: "\"") { i += 1; break }
            if b < 0x20 { throw error("a control character inside a string must be escaped") }
            if b != UInt8(ascii: "\\") { out.append(b); i += 1; continue }
            i += 1
            guard i < bytes.count else { throw error("unterminated escape") }
            let e = bytes[i]
            i += 1
            switch e {
            case UInt8(ascii: "\""): out.append(0x22)
            case UInt8(ascii: "\\"): out.append(0x5c)
            case UInt8(ascii: "/"): out.append(0x2f)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0c)
            case UInt8(ascii: "n"): out.append(0x0a)
            case UInt8(ascii: "r"): out.append(0x0d)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var code = try hex4()
                if (0xD800...0xDBFF).contains(code) {
                    guard i + 2 <= bytes.count, bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u") else {
                        throw error("a lone surrogate in a \\u escape")
                    }
                    i += 2
                    let low = try hex4()
                    guard (0xDC00...0xDFFF).contains(low) else { throw error("a lone surrogate in a \\u escape") }
                    code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                } else if (0xDC00...0xDFFF).contains(code) {
                    throw error("a lone surrogate in a \\u escape")
                }
                guard let scalar = Unicode.Scalar(code) else { throw error("bad \\u escape") }
                out += Array(String(Character(scalar)).utf8)
            default: throw error("unknown escape \\\(Character(Unicode.Scalar(e)))")
            }
        }
        guard let s = String(validating: out, as: UTF8.self) else { throw error("a string is not valid UTF-8") }
        return s
    }
}

/// The one JSON writer: objects with sorted keys (by code point, the same
/// on every machine), strings, numbers, booleans, null, arrays. Written by
/// hand because Foundation's serializer (its key sort compares through a
/// locale) dominated `margin list --json` and every export on large stores.
/// `JSONValue` is the one reader.
public enum JSONText {
    public static func encode(_ value: Any) throws -> String {
        var out = ""
        try write(value, into: &out)
        return out
    }

    public static func write(_ value: Any, into out: inout String) throws {
        switch value {
        case let s as String: string(s, into: &out)
        case let id as NodeID: string(id.hex, into: &out)
        case let id as EntityID: string(id.text, into: &out)
        case let b as Bool: out += b ? "true" : "false"
        case let i as Int: out += String(i)
        case let i as Int64: out += String(i)
        case let d as Double:
            guard d.isFinite else { throw MarginError.invalid("cannot write \(d) as JSON") }
            out += d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : String(d)
        case is NSNull: out += "null"
        case let typed as Value:
            var bytes: [UInt8] = []
            write(typed, into: &bytes)
            out += String(decoding: bytes, as: UTF8.self)
        case let dict as [String: Any]:
            out += "{"
            for (n, key) in dict.keys.sorted().enumerated() {
                if n > 0 { out += "," }
                string(key, into: &out)
                out += ":"
                try write(dict[key] as Any, into: &out)
            }
            out += "}"
        case let array as [Any]:
            out += "["
            for (n, item) in array.enumerated() {
                if n > 0 { out += "," }
                try write(item, into: &out)
            }
            out += "]"
        default:
            throw MarginError.invalid("cannot write a \(type(of: value)) as JSON")
        }
    }

    /// A JSON value with its type known, for output written in bulk (no
    /// casts from `Any`).
    public indirect enum Value {
        case string(String), int(Int), bool(Bool), null
        /// Written as the `Any` path writes a Double: a whole number without
        /// a point, else Swift's shortest form; not finite: null.
        case double(Double)
        case object([(String, Value)])
        case array([Value])
        /// JSON already written (by a writer that puts an object's members
        /// straight into bytes, in key order), written as it is.
        case raw([UInt8])

        /// An object from pairs in any order: sorted by key here, as every
        /// `--json` output has them.
        public static func sortedObject(_ pairs: [(String, Value)]) -> Value {
            .object(pairs.sorted { $0.0 < $1.0 })
        }
    }

    /// Writes a value as UTF-8 bytes; an object's `pairs` must already be in
    /// key order. Bytes, not String appends: this is the bulk-output path.
    public static func write(_ value: Value, into out: inout [UInt8]) {
        switch value {
        case .string(let s): string(s, into: &out)
        case .int(let i): out.append(contentsOf: String(i).utf8)
        case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
        case .double(let d):
            guard d.isFinite else { out.append(contentsOf: "null".utf8); return }
            out.append(contentsOf: (d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : String(d)).utf8)
        case .null: out.append(contentsOf: "null".utf8)
        case .object(let pairs):
            out.append(UInt8(ascii: "{"))
            for (n, (key, v)) in pairs.enumerated() {
                if n > 0 { out.append(UInt8(ascii: ",")) }
                string(key, into: &out)
                out.append(UInt8(ascii: ":"))
                write(v, into: &out)
            }
            out.append(UInt8(ascii: "}"))
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (n, v) in items.enumerated() {
                if n > 0 { out.append(UInt8(ascii: ",")) }
                write(v, into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .raw(let bytes):
            out.append(contentsOf: bytes)
        }
    }

    /// One pass over the string's UTF-8, copying runs that need no escape
    /// whole (what JSON escapes is ASCII, so bytes decide as scalars do;
    /// `string(_:into: inout String)` is the same writer by scalars).
    public static func string(_ s: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        let written: Bool? = s.utf8.withContiguousStorageIfAvailable { bytes in
            var run = 0
            for i in 0..<bytes.count {
                let b = bytes[i]
                guard b < 0x20 || b == 0x22 || b == 0x5C else { continue }
                out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[run..<i]))
                out.append(UInt8(ascii: "\\"))
                switch b {
                case 0x22, 0x5C: out.append(b)
                case 0x0A: out.append(UInt8(ascii: "n"))
                case 0x0D: out.append(UInt8(ascii: "r"))
                case 0x09: out.append(UInt8(ascii: "t"))
                default: out.append(contentsOf: "u00".utf8); out.append(contentsOf: [b].hex.utf8)
                }
                run = i + 1
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[run...]))
            return true
        }
        if written == nil {
            // A bridged string without contiguous UTF-8: by scalars.
            var escaped = ""
            string(s, into: &escaped)
            out.append(contentsOf: escaped.utf8.dropFirst().dropLast())
        }
        out.append(UInt8(ascii: "\""))
    }

    public static func string(_ s: String, into out: inout String) {
        out += "\""
        // The scan on the string's own bytes when it has them (the UTF-8
        // view's generic walk was an eighth of the W3C export's time).
        let needsEscape: (UInt8) -> Bool = { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C }
        if !(s.utf8.withContiguousStorageIfAvailable { $0.contains(where: needsEscape) } ?? s.utf8.contains(where: needsEscape)) {
            out += s
            out += "\""
            return
        }
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where u.value < 0x20:
                let hex = String(u.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(u)
            }
        }
        out += "\""
    }
}
