import Foundation
@testable import MarginCrypto
import XCTest

/// SHA-512 against FIPS 180-4's examples, Ed25519 against RFC 8032 section
/// 7.1 and Wycheproof's ed25519_test.json (Tests/Vectors).
final class Ed25519Tests: XCTestCase {
    func testSHA512FIPS180Vectors() {
        XCTAssertEqual(SHA512.hash(Array("abc".utf8)).hex,
                       "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f")
        XCTAssertEqual(SHA512.hash([UInt8]()).hex,
                       "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e")
        XCTAssertEqual(SHA512.hash(Array("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu".utf8)).hex,
                       "8e959b75dae313da8cf4f72814fc143f8f7779c6eb9f7fa17299aeadb6889018501d289e4900f7e4331b99dec4b5433ac7d329eeb6dd26545e96e55b874be909")
        var h = SHA512()
        let chunk = [UInt8](repeating: UInt8(ascii: "a"), count: 1000)
        for _ in 0..<1000 { h.update(chunk) }
        XCTAssertEqual(h.finalize().hex,
                       "e718483d0ce769644e2e42c7bc15b4638e1f98b13b2044285632a803afa973ebde0ff244877ea60a4cb0432ce577c31beb009c5c2c49aa2e4eadb217ad8cc09b")
        let data = (0..<300).map { UInt8($0 & 0xff) }
        for split in [0, 1, 111, 112, 127, 128, 129, 239, 256, 300] {
            var s = SHA512()
            s.update(data[..<split]); s.update(data[split...])
            XCTAssertEqual(s.finalize(), SHA512.hash(data), "split at \(split)")
        }
    }

    func testFieldConstants() {
        // d = -121665/121666, and sqrt(-1) squares to -1.
        let d = FieldElement.d.multiplied(by: FieldElement(v0: 121666, v1: 0, v2: 0, v3: 0, v4: 0))
        XCTAssertEqual(d.bytes, FieldElement(v0: 121665, v1: 0, v2: 0, v3: 0, v4: 0).negated().bytes)
        XCTAssertEqual(FieldElement.sqrtMinusOne.squared().bytes, FieldElement.one.negated().bytes)
        let x = FieldElement(bytes: (0..<32).map { UInt8($0 * 7 + 3) })
        XCTAssertEqual(x.multiplied(by: x.inverted()).bytes, FieldElement.one.bytes)
    }

    /// RFC 8032, 7.1: TEST 1, 2, 3 and SHA(abc).
    static let rfc8032: [(seed: String, publicKey: String, message: String, signature: String)] = [
        ("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
         "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
         "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"),
        ("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
         "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
         "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"),
        ("c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
         "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
         "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"),
        ("833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42",
         "ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf",
         "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
         "dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b58909351fc9ac90b3ecfdfbc7c66431e0303dca179c138ac17ad9bef1177331a704"),
    ]

    func testRFC8032Vectors() throws {
        for v in Ed25519Tests.rfc8032 {
            let seed = try XCTUnwrap(bytes(fromHex: v.seed)), message = try XCTUnwrap(bytes(fromHex: v.message))
            let publicKey = try XCTUnwrap(bytes(fromHex: v.publicKey)), signature = try XCTUnwrap(bytes(fromHex: v.signature))
            XCTAssertEqual(Ed25519.publicKey(seed: seed).hex, v.publicKey)
            XCTAssertEqual(Ed25519.sign(message, seed: seed).hex, v.signature)
            XCTAssertTrue(Ed25519.verify(signature, of: message, publicKey: publicKey))
            XCTAssertFalse(Ed25519.verify(signature, of: message + [0], publicKey: publicKey), "another message")
            var flipped = signature
            flipped[5] ^= 1
            XCTAssertFalse(Ed25519.verify(flipped, of: message, publicKey: publicKey), "a flipped bit in R")
            flipped = signature
            flipped[40] ^= 1
            XCTAssertFalse(Ed25519.verify(flipped, of: message, publicKey: publicKey), "a flipped bit in S")
        }
    }

    /// S + L is the same point equation but not canonical: refused.
    func testNonCanonicalSIsRefused() throws {
        let v = Ed25519Tests.rfc8032[0]
        let signature = try XCTUnwrap(bytes(fromHex: v.signature)), publicKey = try XCTUnwrap(bytes(fromHex: v.publicKey))
        var s = Scalar(bytes: Array(signature[32...])).limbs
        var carry: UInt64 = 0
        for i in 0..<4 {
            let (a, o1) = s[i].addingReportingOverflow(Scalar.order[i])
            let (b, o2) = a.addingReportingOverflow(carry)
            s[i] = b
            carry = (o1 ? 1 : 0) + (o2 ? 1 : 0)
        }
        let malleated = Array(signature[..<32]) + Scalar(limbs: s).bytes
        XCTAssertFalse(Ed25519.verify(malleated, of: [], publicKey: publicKey))
    }

    /// The variable-time multiples a verification takes give the same
    /// points as the constant-time ones signing takes, for scalars with
    /// every digit (zero digits, a top digit, all ones) and arbitrary ones.
    func testPublicMultiplesMatchTheConstantTimeOnes() {
        var scalars: [[UInt8]] = [[UInt8](repeating: 0, count: 32), [1] + [UInt8](repeating: 0, count: 31),
                                  [UInt8](repeating: 0, count: 31) + [0x10], [UInt8](repeating: 0xff, count: 31) + [0x0f]]
        var state: UInt64 = 0x9e3779b97f4a7c15
        for _ in 0..<12 {
            scalars.append((0..<32).map { i in
                state = state &* 6364136223846793005 &+ 1442695040888963407
                return UInt8(truncatingIfNeeded: state >> 33) & (i == 31 ? 0x0f : 0xff)
            })
        }
        let point = Point.baseMultiple(scalars[scalars.count - 1])
        for k in scalars {
            XCTAssertEqual(Point.publicBaseMultiple(k).encoded(), Point.baseMultiple(k).encoded(), k.hex)
            XCTAssertEqual(point.multiplied(byPublic: k).encoded(), point.multiplied(by: k).encoded(), k.hex)
        }
    }

    func testWycheproofVectors() throws {
        let root = try Vectors.json("wycheproof/ed25519_test.json")
        var count = 0
        for group in root["testGroups"] as? [[String: Any]] ?? [] {
            let key = try XCTUnwrap((group["publicKey"] as? [String: Any])?["pk"] as? String)
            for test in group["tests"] as? [[String: Any]] ?? [] {
                let id = test["tcId"] as? Int ?? -1
                let expected = test["result"] as? String
                let message = bytes(fromHex: test["msg"] as? String ?? "") ?? []
                let signature = bytes(fromHex: test["sig"] as? String ?? "") ?? []
                let ok = Ed25519.verify(signature, of: message, publicKey: bytes(fromHex: key) ?? [])
                XCTAssertEqual(ok, expected == "valid", "Wycheproof tcId \(id): \(test["comment"] ?? "")")
                count += 1
            }
        }
        XCTAssertEqual(count, root["numberOfTests"] as? Int)
    }
}
