import Foundation
@testable import MarginCrypto
import XCTest

/// X25519 against RFC 7748, ChaCha20-Poly1305 against RFC 8439, HKDF-SHA256
/// against RFC 5869; all three and HMAC-SHA256 against Wycheproof
/// (Tests/Vectors).
final class SessionCryptoTests: XCTestCase {
    func h(_ s: String) -> [UInt8] { bytes(fromHex: s.filter { !$0.isWhitespace }) ?? [] }

    static func wycheproof(_ name: String) throws -> [String: Any] { try Vectors.wycheproof(name).root }

    static func tests(_ root: [String: Any]) -> [([String: Any], [String: Any])] {
        (root["testGroups"] as? [[String: Any]] ?? []).flatMap { g in (g["tests"] as? [[String: Any]] ?? []).map { (g, $0) } }
    }

    // MARK: X25519

    func testX25519RFC7748() {
        // Section 5.2, the two scalar-multiplication vectors.
        XCTAssertEqual(X25519.scalarMultiply(h("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4"),
                                             h("e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c")).hex,
                       "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552")
        XCTAssertEqual(X25519.scalarMultiply(h("4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d"),
                                             h("e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493")).hex,
                       "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957")
        // Section 5.2, iterated once.
        var k = X25519.basePoint, u = X25519.basePoint
        (k, u) = (X25519.scalarMultiply(k, u), k)
        XCTAssertEqual(k.hex, "422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079")
        // Section 6.1, Diffie-Hellman.
        let a = h("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a")
        let b = h("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb")
        XCTAssertEqual(X25519.publicKey(privateKey: a).hex, "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a")
        XCTAssertEqual(X25519.publicKey(privateKey: b).hex, "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f")
        let shared = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742"
        XCTAssertEqual(X25519.sharedSecret(privateKey: a, publicKey: X25519.publicKey(privateKey: b)).hex, shared)
        XCTAssertEqual(X25519.sharedSecret(privateKey: b, publicKey: X25519.publicKey(privateKey: a)).hex, shared)
    }

    func testX25519Wycheproof() throws {
        let root = try SessionCryptoTests.wycheproof("x25519_test.json")
        var count = 0
        for (_, t) in SessionCryptoTests.tests(root) {
            let shared = X25519.sharedSecret(privateKey: h(t["private"] as? String ?? ""), publicKey: h(t["public"] as? String ?? ""))
            // "acceptable" cases (small-order and non-canonical points) have
            // a defined result too; Noise callers refuse an all-zero one.
            XCTAssertEqual(shared.hex, t["shared"] as? String, "tcId \(t["tcId"] ?? "?"): \(t["comment"] ?? "")")
            count += 1
        }
        XCTAssertEqual(count, root["numberOfTests"] as? Int)
    }

    // MARK: ChaCha20-Poly1305

    func testChaCha20BlockAndPoly1305RFC8439() {
        // 2.3.2: the block function.
        let key = h("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")
        XCTAssertEqual(ChaCha20.block(key: key, nonce: h("000000090000004a00000000"), counter: 1).hex,
                       "10f1e7e4d13b5915500fdd1fa32071c4c7d1f4c733c068030422aa9ac3d46c4ed2826446079faa0914c2d705d98b02a2b5129cd1de164eb9cbd083e8a2503c4e")
        // 2.5.2: Poly1305.
        XCTAssertEqual(Poly1305.authenticate(Array("Cryptographic Forum Research Group".utf8),
                                             key: h("85d6be7857556d337f4452fe42d506a80103808afb0db2fd4abff6af4149f51b")).hex,
                       "a8061dc1305136c6c22b8baf0c0127a9")
    }

    func testAEADRFC8439() {
        // 2.8.2.
        let key = h("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f")
        let nonce = h("070000004041424344454647"), aad = h("50515253c0c1c2c3c4c5c6c7")
        let plaintext = Array("Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.".utf8)
        let sealed = ChaChaPoly.seal(plaintext, key: key, nonce: nonce, aad: aad)
        XCTAssertEqual(Array(sealed.suffix(16)).hex, "1ae10b594f09e26a7e902ecbd0600691")
        XCTAssertEqual(ChaChaPoly.open(sealed, key: key, nonce: nonce, aad: aad), plaintext)
        var flipped = sealed
        flipped[3] ^= 1
        XCTAssertNil(ChaChaPoly.open(flipped, key: key, nonce: nonce, aad: aad), "an altered ciphertext is refused")
        XCTAssertNil(ChaChaPoly.open(sealed, key: key, nonce: nonce, aad: []), "other associated data is refused")
    }

    func testChaChaPolyWycheproof() throws {
        let root = try SessionCryptoTests.wycheproof("chacha20_poly1305_test.json")
        var count = 0
        for (g, t) in SessionCryptoTests.tests(root) {
            count += 1
            let id = "tcId \(t["tcId"] ?? "?"): \(t["comment"] ?? "")"
            let key = h(t["key"] as? String ?? ""), iv = h(t["iv"] as? String ?? "")
            let aad = h(t["aad"] as? String ?? ""), msg = h(t["msg"] as? String ?? "")
            let ct = h(t["ct"] as? String ?? ""), tag = h(t["tag"] as? String ?? "")
            let valid = t["result"] as? String == "valid"
            guard (g["ivSize"] as? Int) == 96, key.count == 32 else {
                XCTAssertFalse(valid, "\(id): only 96-bit nonces and 256-bit keys are ChaCha20-Poly1305 (RFC 8439)")
                XCTAssertNil(ChaChaPoly.open(ct + tag, key: key, nonce: iv, aad: aad), id)
                continue
            }
            let opened = ChaChaPoly.open(ct + tag, key: key, nonce: iv, aad: aad)
            if valid {
                XCTAssertEqual(opened, msg, id)
                XCTAssertEqual(ChaChaPoly.seal(msg, key: key, nonce: iv, aad: aad), ct + tag, id)
            } else {
                XCTAssertNil(opened, id)
            }
        }
        XCTAssertEqual(count, root["numberOfTests"] as? Int)
    }

    // MARK: HKDF

    func testHKDFRFC5869() {
        // Test case 1.
        XCTAssertEqual(HKDF.extract(salt: h("000102030405060708090a0b0c"), inputKeyMaterial: h("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b")).hex,
                       "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5")
        XCTAssertEqual(HKDF.deriveKey(inputKeyMaterial: h("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b"), salt: h("000102030405060708090a0b0c"),
                                      info: h("f0f1f2f3f4f5f6f7f8f9"), length: 42).hex,
                       "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865")
        // Test case 3: no salt, no info.
        XCTAssertEqual(HKDF.deriveKey(inputKeyMaterial: h("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b"), salt: [], info: [], length: 42).hex,
                       "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8")
    }

    func testHMACWycheproof() throws {
        let (root, tests) = try Vectors.wycheproof("hmac_sha256_test.json")
        var count = 0, valid = 0
        for (group, t) in tests {
            count += 1
            // A tag shorter than 256 bits is the full tag's first bytes.
            let size = (group["tagSize"] as? Int ?? 256) / 8
            let tag = HMACSHA256.authenticate(h(t["msg"] as? String ?? ""), key: h(t["key"] as? String ?? ""))
            let matches = Array(tag.prefix(size)).hex == t["tag"] as? String
            let id = "tcId \(t["tcId"] ?? "?"): \(t["comment"] ?? "")"
            if t["result"] as? String == "valid" { XCTAssertTrue(matches, id); valid += 1 } else { XCTAssertFalse(matches, id) }
        }
        XCTAssertEqual(count, root["numberOfTests"] as? Int)
        XCTAssertGreaterThan(valid, 0)
    }

    func testHKDFWycheproof() throws {
        let root = try SessionCryptoTests.wycheproof("hkdf_sha256_test.json")
        var count = 0
        for (_, t) in SessionCryptoTests.tests(root) {
            count += 1
            let size = t["size"] as? Int ?? 0
            let id = "tcId \(t["tcId"] ?? "?"): \(t["comment"] ?? "")"
            guard t["result"] as? String == "valid" else {
                XCTAssertGreaterThan(size, 255 * 32, "\(id): the only invalid case is an output over 255 blocks")
                continue
            }
            XCTAssertEqual(HKDF.deriveKey(inputKeyMaterial: h(t["ikm"] as? String ?? ""), salt: h(t["salt"] as? String ?? ""),
                                          info: h(t["info"] as? String ?? ""), length: size).hex, t["okm"] as? String, id)
        }
        XCTAssertEqual(count, root["numberOfTests"] as? Int)
    }
}
