import Foundation
@testable import MarginCore
import XCTest

/// DEFLATE decoding against streams another implementation made: Python's
/// zlib (the reference implementation's) at every level and strategy, and
/// zip archives from Python's zipfile at every compression level, as
/// QualCoder writes `.qdpx` with it.
final class InflateTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        guard (try? run(["python3", "-c", "import zlib, zipfile"])) == 0 else {
            throw XCTSkip("python3 is not installed: its zlib makes the streams these tests decode")
        }
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("inflate-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { if let dir { try? FileManager.default.removeItem(at: dir) } }

    @discardableResult
    func run(_ args: [String]) throws -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = args
        try p.run()
        p.waitUntilExit()
        return p.terminationStatus
    }

    /// Inputs of every kind a project holds, and some that exercise the
    /// decoder's corners: empty, one byte, long runs (distances of 1 and
    /// lengths of 258), text in both scripts, random bytes (stored blocks),
    /// and more than 64 KiB (several blocks, distances up to 32 KiB).
    static let generator = #"""
import os, random, sys, zlib, zipfile
out = sys.argv[1]
rng = random.Random(1951)
report = ("曲麻萊縣成立16個臨時黨支部,共有159名黨員參加。全县抽调354名干部,设立卡点7个。\r\n" * 40).encode("utf-8")
inputs = {
    "empty": b"",
    "one": b"a",
    "run": b"\x00" * 100000,
    "report": report,
    "random": bytes(rng.getrandbits(8) for _ in range(70000)),
    "mixed": b"".join(report[: rng.randrange(1, len(report))] + bytes(rng.getrandbits(8) for _ in range(rng.randrange(0, 300))) for _ in range(60)),
}
strategies = {"default": zlib.Z_DEFAULT_STRATEGY, "fixed": zlib.Z_FIXED, "huffman": zlib.Z_HUFFMAN_ONLY, "rle": zlib.Z_RLE, "filtered": zlib.Z_FILTERED}
for name, data in inputs.items():
    open(os.path.join(out, name + ".raw"), "wb").write(data)
    for level in range(0, 10):
        for sname, strategy in strategies.items():
            c = zlib.compressobj(level, zlib.DEFLATED, -15, 9, strategy)
            open(os.path.join(out, "%s.%d.%s.deflate" % (name, level, sname)), "wb").write(c.compress(data) + c.flush())
for level in range(0, 10):
    with zipfile.ZipFile(os.path.join(out, "project.%d.zip" % level), "w", zipfile.ZIP_DEFLATED, compresslevel=level) as z:
        z.writestr("project.qde", "<?xml version=\"1.0\"?><Project name=\"x\"/>")
        z.writestr("sources/report.txt", report)
        z.writestr("sources/empty.txt", b"")
bomb = b"\x00" * (50 << 20)
with zipfile.ZipFile(os.path.join(out, "bomb.zip"), "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
    z.writestr("project.qde", bomb)
"""#

    func testEveryZlibLevelAndStrategyDecodesToTheOriginal() throws {
        XCTAssertEqual(try run(["python3", "-c", InflateTests.generator, dir.path]), 0)
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".deflate") }.sorted()
        XCTAssertEqual(files.count, 6 * 10 * 5)
        for file in files {
            let name = String(file.prefix { $0 != "." })
            let original = try [UInt8](Data(contentsOf: dir.appendingPathComponent(name + ".raw")))
            let stream = try [UInt8](Data(contentsOf: dir.appendingPathComponent(file)))
            XCTAssertEqual(try Inflate.decode(stream[...], limit: original.count), original, file)
            if !original.isEmpty {
                XCTAssertThrowsError(try Inflate.decode(stream[...], limit: original.count - 1), "\(file): one byte over the limit") { e in
                    XCTAssertTrue(MarginError.message(for: e).contains("unpacks to more than"), MarginError.message(for: e))
                }
                XCTAssertThrowsError(try Inflate.decode(stream.dropLast(), limit: original.count), "\(file): truncated")
            }
        }
    }

    func testZipArchivesFromPythonAtEveryLevelAndAZipBomb() throws {
        XCTAssertEqual(try run(["python3", "-c", InflateTests.generator, dir.path]), 0)
        let report = try Data(contentsOf: dir.appendingPathComponent("report.raw"))
        for level in 0...9 {
            let entries = try Zip.entries(try [UInt8](Data(contentsOf: dir.appendingPathComponent("project.\(level).zip"))))
            XCTAssertEqual(entries.map(\.name), ["project.qde", "sources/report.txt", "sources/empty.txt"], "level \(level)")
            XCTAssertEqual(entries[1].data, [UInt8](report), "level \(level)")
            XCTAssertEqual(entries[2].data, [])
        }
        // 50 MiB of zeros in about 50 KiB: read honestly it is within the
        // bound; declaring 1000 bytes, it is cut at 1000 and refused.
        var bomb = try [UInt8](Data(contentsOf: dir.appendingPathComponent("bomb.zip")))
        XCTAssertLessThan(bomb.count, 200_000)
        XCTAssertEqual(try Zip.entries(bomb).first?.data.count, 50 << 20)
        let central = try XCTUnwrap((0..<(bomb.count - 4)).last { bomb[$0] == 0x50 && bomb[$0 + 1] == 0x4B && bomb[$0 + 2] == 0x01 && bomb[$0 + 3] == 0x02 })
        func declare(_ n: UInt32) { for i in 0..<4 { bomb[central + 24 + i] = UInt8((n >> (8 * UInt32(i))) & 0xFF) } }
        declare(1000)
        XCTAssertThrowsError(try Zip.entries(bomb)) { e in
            XCTAssertTrue(MarginError.message(for: e).contains("unpacks to more than 1000 bytes"), MarginError.message(for: e))
        }
        declare(0x7FFF_FFFF)
        XCTAssertThrowsError(try Zip.entries(bomb)) { e in
            XCTAssertTrue(MarginError.message(for: e).contains("more than 1073741824 bytes (1 GiB)"), MarginError.message(for: e))
        }
    }

    /// Damaged streams end in an error, never a crash or a hang.
    func testDamagedStreamsAreRefusedCleanly() throws {
        XCTAssertEqual(try run(["python3", "-c", InflateTests.generator, dir.path]), 0)
        var rng = SystemRandomNumberGenerator()
        var refused = 0
        for file in ["report.6.default.deflate", "mixed.9.default.deflate", "run.1.rle.deflate", "random.0.default.deflate"] {
            let stream = try [UInt8](Data(contentsOf: dir.appendingPathComponent(file)))
            for _ in 0..<300 {
                var damaged = stream
                for _ in 0..<Int.random(in: 1...4, using: &rng) {
                    damaged[Int.random(in: 0..<damaged.count, using: &rng)] ^= UInt8.random(in: 1...255, using: &rng)
                }
                do { _ = try Inflate.decode(damaged[...], limit: 1 << 20) } catch { refused += 1 }
            }
        }
        XCTAssertGreaterThan(refused, 0)
        XCTAssertThrowsError(try Inflate.decode([0b111][...], limit: 10), "block type 3 is reserved")
        XCTAssertThrowsError(try Inflate.decode([0x01, 0x05, 0x00, 0xFA, 0xFF][...], limit: 10), "LEN and NLEN disagree")
    }
}
