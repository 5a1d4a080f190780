import Foundation
import MarginCore
import MarginCrypto
import MarginTestSupport
@testable import MarginSync
import XCTest

/// The codec, without sockets.
final class WireTests: XCTestCase {
    static let a: NodeID = "00112233445566aa", b: NodeID = "ffeeddccbbaa9988"

    static let sample: [Message] = [
        .open(version: Wire.protocolVersion, noise: Array(0..<48)),
        .handshake(Array(repeating: 0xab, count: 96)),
        .sealed(Array(repeating: 0xcd, count: 17)),
        .hello(Hello(schemaVersion: 1, node: a, publicKey: Array(0..<32), signature: Array(repeating: 9, count: 64),
                     wallClock: 1_700_000_000_000, sends: true, receives: false, name: "alice 瑪多")),
        .have(VersionVector([a: 12, b: 300]), tips: [a: [UInt8](repeating: 7, count: 32), b: ChangeHash.genesis], resendFrom: 9),
        .have(VersionVector(), tips: [:], resendFrom: 0),
        .batch(number: 1, changes: [
            Change(id: ChangeID(origin: a, seq: 1), hlc: HLC(milliseconds: 1_700_000_000_123, counter: 0), kind: .record,
                   entity: "ebf6ae38d54391c67383e72d88da0836", field: "body", value: .text("共有159名黨員𠀋👍🏽")),
            Change(id: ChangeID(origin: b, seq: 70_000), hlc: HLC(milliseconds: 5, counter: 400), kind: .annotation,
                   entity: "aa", field: "start", value: .int(-42), supersedes: ChangeID(origin: a, seq: 3),
                   deletionBase: ChangeID(origin: b, seq: 9)),
            Change(id: ChangeID(origin: b, seq: 70_001), hlc: HLC(milliseconds: 6, counter: 0), kind: .annotation,
                   entity: "aa", field: "deleted", value: .int(1), seen: VersionVector([a: 3, b: 70_000])),
            Change(id: ChangeID(origin: b, seq: 70_002), hlc: HLC(milliseconds: 7, counter: 0), kind: .conflict,
                   entity: "c0", field: "comment", value: .null),
        ], signatures: [HeadSignature(origin: b, seq: 70_002, publicKey: Array(repeating: 1, count: 32), signature: Array(repeating: 2, count: 64))]),
        .batch(number: 2, changes: []),
        .ack(number: 1, applied: 4),
        .done(count: 4),
        .error(code: 3, message: "authentication failed"),
    ]

    static let batchIndex = 6

    func decodeAll(_ bytes: [UInt8], chunk: Int) throws -> [Message] {
        var d = FrameDecoder()
        var out: [Message] = []
        var i = 0
        while i < bytes.count {
            d.append(bytes[i..<min(bytes.count, i + chunk)])
            i += chunk
            while let f = try d.next() { out.append(try Wire.decode(type: f.type, payload: f.payload)) }
        }
        return out
    }

    func testRoundTripWhateverTheChunking() throws {
        let stream = WireTests.sample.flatMap(Wire.frame)
        for chunk in [1, 2, 3, 7, 64, stream.count] {
            XCTAssertEqual(try decodeAll(stream, chunk: chunk), WireTests.sample, "chunk \(chunk)")
        }
    }

    func testFrameLayout() {
        XCTAssertEqual(Wire.frame(.done(count: 4)), [0, 0, 0, 2, 6, 4])
        XCTAssertEqual(Wire.frame(.ack(number: 1, applied: 300)), [0, 0, 0, 4, 5, 1, 0xac, 0x02])
        XCTAssertEqual(Wire.frame(.error(code: 3, message: "no")), [0, 0, 0, 6, 7, 0, 3, 2, 0x6e, 0x6f])
        var w = ByteWriter()
        w.svarint(-1); w.svarint(1); w.svarint(-64)
        XCTAssertEqual(w.bytes, [1, 2, 127])
    }

    func testBatchFrameEqualsEncodingTheMessage() {
        guard case .batch(let n, let changes, let signatures) = WireTests.sample[WireTests.batchIndex] else { return XCTFail() }
        var w = ByteWriter()
        for c in changes { ChangeCodec.encode(c, into: &w) }
        XCTAssertEqual(Wire.batchFrame(number: n, count: changes.count, encodedChanges: w.bytes, signatures: signatures),
                       Wire.frame(WireTests.sample[WireTests.batchIndex]))
    }

    func testTruncatedFramesWaitThenFail() throws {
        let frame = Wire.frame(WireTests.sample[WireTests.batchIndex])
        var d = FrameDecoder()
        d.append(frame.dropLast())
        XCTAssertNil(try d.next(), "an incomplete frame is not returned")
        XCTAssertEqual(d.wanted, 1)
        // A frame whose declared length is honest but whose payload stops short.
        let body = Array(frame[4...].dropLast(5))
        var cut = ByteWriter()
        cut.u32(UInt32(body.count))
        cut.raw(body)
        var d2 = FrameDecoder()
        d2.append(cut.bytes)
        let f = try XCTUnwrap(try d2.next())
        XCTAssertThrowsError(try Wire.decode(type: f.type, payload: f.payload))
    }

    func testOversizedAndEmptyFramesAreRefusedBeforeTheBody() {
        var d = FrameDecoder(maxFrame: 1024)
        d.append([0x7f, 0xff, 0xff, 0xff, 4])
        XCTAssertThrowsError(try d.next()) { XCTAssertTrue("\($0)".contains("over the limit"), "\($0)") }
        var e = FrameDecoder()
        e.append([0, 0, 0, 0])
        XCTAssertThrowsError(try e.next())
    }

    func testMalformedMessages() {
        func refuses(_ type: UInt8, _ payload: [UInt8], _ why: String, line: UInt = #line) {
            XCTAssertThrowsError(try Wire.decode(type: type, payload: payload), why, line: line)
        }
        refuses(99, [], "unknown message type")
        refuses(6, [4, 0], "trailing bytes")
        refuses(6, [0x80], "varint cut short")
        refuses(6, [0x84, 0x00], "non-minimal varint")
        refuses(6, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f], "varint over 64 bits")
        refuses(7, [0, 1, 2, 0xff, 0xfe], "invalid UTF-8")
        refuses(7, [0, 1, 2, 0xc0, 0x80], "an overlong NUL")
        refuses(7, [0, 1, 3, 0xed, 0xa0, 0x80], "a UTF-16 surrogate")
        refuses(7, [0, 1, 4, 0xf4, 0x90, 0x80, 0x80], "past U+10FFFF")
        refuses(1, Array("XXXX".utf8) + [0, 1], "bad magic")
        refuses(8, [0, 1] + Array("00112233445566aa".utf8) + [UInt8](repeating: 0, count: 95), "short HELLO")
        refuses(1, Array("MRGN".utf8) + [0], "version cut short")
        var w = ByteWriter()
        w.uvarint(1); w.uvarint(1)
        w.node(WireTests.a); w.uvarint(1); w.uvarint(5); w.uvarint(0)
        w.u8(9)   // no such entity kind
        w.string("e"); w.string("f"); w.u8(0); w.u8(0)
        refuses(4, w.bytes, "unknown entity kind")
        var huge = ByteWriter()
        huge.uvarint(1); huge.uvarint(1_000_000_000)
        refuses(4, huge.bytes, "a count larger than the payload could hold")
    }

    func testOpenFromAnotherVersionStillYieldsItsVersion() throws {
        var w = ByteWriter()
        w.raw(Wire.magic); w.u16(9); w.raw([1, 2, 3])   // the rest is version 9's business
        XCTAssertEqual(try Wire.decode(type: 1, payload: w.bytes), .open(version: 9, noise: []))
        // A version-3 client's HELLO has the same first six bytes: the server
        // reads its version and can answer it in words it understands.
        var old = ByteWriter()
        old.raw(Wire.magic); old.u16(3); old.u16(3); old.raw(Array("0123456789abcdef".utf8))
        XCTAssertEqual(try Wire.decode(type: 1, payload: old.bytes), .open(version: 3, noise: []))
    }

    /// Deterministic random bytes: the decoder never crashes or hangs, it
    /// returns messages or throws.
    /// A node id is written as its 8 bytes, the hex digits read in place;
    /// anything else is written as before (its bytes, or 8 zeros).
    func testNodeIDsAreWrittenAsTheirBytes() {
        func written(_ id: String) -> [UInt8] {
            var w = ByteWriter()
            w.node(NodeID(stored: id))
            return w.bytes
        }
        XCTAssertEqual(written("00112233445566aa"), [0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0xaa])
        XCTAssertEqual(written("FFEEDDCCBBAA9988"), [0xff, 0xee, 0xdd, 0xcc, 0xbb, 0xaa, 0x99, 0x88])
        var rng = SplitMix64(seed: 0x1D)
        for _ in 0..<200 {
            let id = String(format: "%016llx", rng.next())
            XCTAssertEqual(written(id), bytes(fromHex: id))
        }
        XCTAssertEqual(written("0011223344556677aa"), bytes(fromHex: "0011223344556677aa"))
        XCTAssertEqual(written("00112233445566zz"), [UInt8](repeating: 0, count: 8))
        XCTAssertEqual(written("00112233"), [0x00, 0x11, 0x22, 0x33])
    }

    /// Random bytes, half of them shaped as frames: the decoder never
    /// traps, and every message it accepts encodes back to a frame that
    /// decodes to the same message (the codec reads what it writes, and
    /// nothing it reads is lost on the way back).
    func testSeededRandomBytes() throws {
        var rng = SplitMix64(seed: 0x5EED)
        var accepted = 0
        for _ in 0..<3000 {
            let n = Int(rng.next() % 200)
            var bytes = (0..<n).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            if n > 5 && rng.next() % 2 == 0 {
                bytes[0] = 0; bytes[1] = 0; bytes[2] = 0; bytes[3] = UInt8(n - 4)
                bytes[4] = UInt8(1 + rng.next() % 9)
            }
            var d = FrameDecoder(maxFrame: 4096)
            d.append(bytes)
            while true {
                guard let f = try? d.next() else { break }
                guard let m = try? Wire.decode(type: f.type, payload: f.payload) else { continue }
                accepted += 1
                var again = FrameDecoder(maxFrame: 1 << 20)
                again.append(Wire.frame(m))
                let back = try XCTUnwrap(try again.next(), "a decoded message frames again")
                XCTAssertEqual(try Wire.decode(type: back.type, payload: back.payload), m)
            }
        }
        XCTAssertGreaterThan(accepted, 0, "some random frames are messages, and those round-trip")
    }
}
