import Foundation
@testable import MarginCrypto
import XCTest

/// Published vectors: FIPS 180-4 examples (NIST CSRC) and RFC 4231.
final class SHA256Tests: XCTestCase {
    func testFIPS180Vectors() {
        XCTAssertEqual(SHA256.hash("abc").hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(SHA256.hash("").hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(SHA256.hash("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq").hex,
                       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        XCTAssertEqual(SHA256.hash("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu").hex,
                       "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1")
    }

    /// The vectors again, through the portable block function: on a
    /// processor with the SHA extensions the tests above took those.
    func testFIPS180VectorsOnThePortableFunction() {
        func portable(_ s: String) -> String {
            var h = SHA256.portable()
            h.update(s)
            return h.finalize().hex
        }
        XCTAssertEqual(portable("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(portable(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(portable("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
                       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        XCTAssertEqual(portable("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu"),
                       "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1")
        var h = SHA256.portable()
        h.update([UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000))
        XCTAssertEqual(h.finalize().hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    /// The two block functions give the same digests on messages of every
    /// length up to four blocks and some longer, of pseudo-random bytes,
    /// fed whole or in pieces (many blocks in one call, or one at a time).
    func testTheProcessorsInstructionsAndThePortableFunctionAgree() {
        var seed: UInt64 = 0x9e37_79b9_7f4a_7c15
        func next() -> UInt8 {
            seed ^= seed << 13; seed ^= seed >> 7; seed ^= seed << 17
            return UInt8(truncatingIfNeeded: seed)
        }
        for n in Array(0...260) + [511, 512, 513, 4096, 10_007] {
            let data = (0..<n).map { _ in next() }
            var portable = SHA256.portable()
            portable.update(data)
            let expected = portable.finalize()
            XCTAssertEqual(SHA256.hash(data), expected, "length \(n), one call")
            var pieces = SHA256()
            pieces.update(data[..<(n / 3)])
            pieces.update(data[(n / 3)...])
            XCTAssertEqual(pieces.finalize(), expected, "length \(n), in two pieces")
        }
    }

    /// The SHA extensions are used exactly where the kernel reports them
    /// (`sha_ni` in /proc/cpuinfo): CPUID is read right.
    func testTheExtensionsAreFoundWhereTheKernelReportsThem() throws {
        guard let cpuinfo = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else {
            throw XCTSkip("no /proc/cpuinfo here")
        }
        #if arch(x86_64)
        let flags = cpuinfo.split(separator: "\n").first { $0.hasPrefix("flags") }?.split(separator: " ") ?? []
        XCTAssertEqual(SHA256.extensionsAvailable, flags.contains("sha_ni") && flags.contains("ssse3") && flags.contains("sse4_1"))
        #else
        XCTAssertFalse(SHA256.extensionsAvailable)
        #endif
    }

    func testMillionAs() {
        var h = SHA256()
        let chunk = [UInt8](repeating: UInt8(ascii: "a"), count: 1000)
        for _ in 0..<1000 { h.update(chunk) }
        XCTAssertEqual(h.finalize().hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    func testIncrementalEqualsOneShotAcrossBlockBoundaries() {
        let data = (0..<200).map { UInt8($0 & 0xff) }
        for split in [0, 1, 55, 56, 63, 64, 65, 119, 128, 200] {
            var h = SHA256()
            h.update(data[..<split])
            h.update(data[split...])
            XCTAssertEqual(h.finalize(), SHA256.hash(data), "split at \(split)")
            // The same through a sequence without contiguous storage, then an array.
            var g = SHA256()
            g.update(data[..<split].lazy.map { $0 })
            g.update(Array(data[split...]))
            XCTAssertEqual(g.finalize(), SHA256.hash(data), "split at \(split), byte by byte first")
        }
    }

    /// `hash` of bytes in memory pads the last blocks itself: every length
    /// around one and two block boundaries must agree with the buffered
    /// path, fed a byte at a time.
    func testOneShotEqualsBufferedAtEveryLength() {
        let data = (0..<300).map { UInt8(($0 * 7 + 3) & 0xff) }
        for n in 0...data.count {
            var h = SHA256()
            for byte in data[..<n] { h.update(CollectionOfOne(byte)) }
            XCTAssertEqual(SHA256.hash(Array(data[..<n])), h.finalize(), "length \(n)")
        }
    }

    func testRFC4231() {
        func mac(_ key: [UInt8], _ data: [UInt8]) -> String { HMACSHA256.authenticate(data, key: key).hex }
        let aa131 = [UInt8](repeating: 0xaa, count: 131)
        XCTAssertEqual(mac([UInt8](repeating: 0x0b, count: 20), Array("Hi There".utf8)),
                       "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7")
        XCTAssertEqual(mac(Array("Jefe".utf8), Array("what do ya want for nothing?".utf8)),
                       "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        XCTAssertEqual(mac([UInt8](repeating: 0xaa, count: 20), [UInt8](repeating: 0xdd, count: 50)),
                       "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe")
        XCTAssertEqual(mac(Array(1...25), [UInt8](repeating: 0xcd, count: 50)),
                       "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b")
        XCTAssertEqual(String(mac([UInt8](repeating: 0x0c, count: 20), Array("Test With Truncation".utf8)).prefix(32)),
                       "a3b6167473100ee06e0c796c2955552b")
        XCTAssertEqual(mac(aa131, Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8)),
                       "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54")
        XCTAssertEqual(mac(aa131, Array("This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.".utf8)),
                       "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2")
    }

    func testConstantTimeEqual() {
        XCTAssertTrue(HMACSHA256.constantTimeEqual([1, 2, 3], [1, 2, 3]))
        XCTAssertFalse(HMACSHA256.constantTimeEqual([1, 2, 3], [1, 2, 4]))
        XCTAssertFalse(HMACSHA256.constantTimeEqual([1, 2, 3], [1, 2]))
    }

    func testHexRoundTrip() {
        XCTAssertEqual(bytes(fromHex: "00ff10Ab"), [0x00, 0xff, 0x10, 0xab])
        XCTAssertNil(bytes(fromHex: "abc"))
        XCTAssertNil(bytes(fromHex: "zz"))
        XCTAssertEqual([0x00, 0xff, 0x10, 0xab].hex, "00ff10ab")
    }

    /// Every byte's two digits, from contiguous storage (written in place)
    /// and from a sequence without it (collected first), alike.
    func testHexOfEveryByteFromEitherKindOfSequence() {
        let all = (0...255).map { UInt8($0) }
        let expected = all.map { String(format: "%02x", $0) }.joined()
        XCTAssertEqual(all.hex, expected)
        XCTAssertEqual(all[1...].hex, String(expected.dropFirst(2)))
        XCTAssertEqual((0...255).lazy.map { UInt8($0) }.hex, expected)
        XCTAssertEqual([UInt8]().hex, "")
    }
}
