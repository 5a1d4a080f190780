import Foundation
@testable import MarginCrypto
import XCTest

/// The cacophony vectors for Noise_XXpsk3_25519_ChaChaPoly_SHA256
/// (Tests/Vectors/noise), and a
/// handshake between two fresh sides.
final class NoiseTests: XCTestCase {
    func h(_ s: String) -> [UInt8] { bytes(fromHex: s) ?? [] }

    func testCacophonyVectors() throws {
        let root = try Vectors.json("noise/cacophony_25519_ChaChaPoly_SHA256.json")
        let vectors = (root["vectors"] as? [[String: Any]] ?? []).filter { $0["protocol_name"] as? String == Noise.protocolName }
        XCTAssertFalse(vectors.isEmpty, "the file has vectors for \(Noise.protocolName)")
        for v in vectors {
            func s(_ k: String) -> [UInt8] { h(v[k] as? String ?? "") }
            func psk(_ k: String) -> [UInt8] { h((v[k] as? [String])?.first ?? "") }
            var initiator = Noise.Handshake(initiator: true, prologue: s("init_prologue"), staticPrivateKey: s("init_static"),
                                            psk: psk("init_psks"), ephemeral: s("init_ephemeral"))
            var responder = Noise.Handshake(initiator: false, prologue: s("resp_prologue"), staticPrivateKey: s("resp_static"),
                                            psk: psk("resp_psks"), ephemeral: s("resp_ephemeral"))
            var send: Noise.CipherState?, receive: Noise.CipherState?, rSend: Noise.CipherState?, rReceive: Noise.CipherState?
            for (i, m) in (v["messages"] as? [[String: String]] ?? []).enumerated() {
                let payload = h(m["payload"] ?? ""), expected = m["ciphertext"] ?? ""
                let fromInitiator = i % 2 == 0
                if i < 3 {
                    let wire = fromInitiator ? try initiator.writeMessage(payload) : try responder.writeMessage(payload)
                    XCTAssertEqual(wire.hex, expected, "handshake message \(i)")
                    let read = fromInitiator ? try responder.readMessage(wire) : try initiator.readMessage(wire)
                    XCTAssertEqual(read, payload, "message \(i) read back")
                    if i == 2 {
                        XCTAssertEqual(initiator.handshakeHash.hex, v["handshake_hash"] as? String)
                        XCTAssertEqual(responder.handshakeHash, initiator.handshakeHash)
                        XCTAssertEqual(initiator.remoteStatic, X25519.publicKey(privateKey: s("resp_static")))
                        XCTAssertEqual(responder.remoteStatic, X25519.publicKey(privateKey: s("init_static")))
                        (send, receive) = try initiator.transport()
                        (rSend, rReceive) = try responder.transport()
                    }
                } else {
                    let wire = fromInitiator ? try send!.encrypt(payload) : try rSend!.encrypt(payload)
                    XCTAssertEqual(wire.hex, expected, "transport message \(i)")
                    XCTAssertEqual(fromInitiator ? try rReceive!.decrypt(wire) : try receive!.decrypt(wire), payload)
                }
            }
        }
    }

    /// Fresh keys on both sides; a wrong pre-shared key, an altered message
    /// or a replayed one each end the exchange with an error.
    func testHandshakeAuthenticatesAndTransportRefusesTampering() throws {
        var g = SystemRandomNumberGenerator()
        func key() -> [UInt8] { (0..<32).map { _ in UInt8.random(in: 0...255, using: &g) } }
        let psk = key(), aStatic = key(), bStatic = key()
        var a = Noise.Handshake(initiator: true, prologue: Array("margin".utf8), staticPrivateKey: aStatic, psk: psk)
        var b = Noise.Handshake(initiator: false, prologue: Array("margin".utf8), staticPrivateKey: bStatic, psk: psk)
        _ = try b.readMessage(try a.writeMessage([]))
        _ = try a.readMessage(try b.writeMessage([]))
        _ = try b.readMessage(try a.writeMessage(Array("hello".utf8)))
        var (aSend, _) = try a.transport()
        var (_, bReceive) = try b.transport()
        let first = try aSend.encrypt(Array("38".utf8)), second = try aSend.encrypt(Array("99".utf8))
        var altered = first
        altered[0] ^= 1
        XCTAssertThrowsError(try bReceive.decrypt(altered), "an altered frame")
        XCTAssertEqual(try bReceive.decrypt(first), Array("38".utf8))
        XCTAssertThrowsError(try bReceive.decrypt(first), "a replayed frame")
        XCTAssertEqual(try bReceive.decrypt(second), Array("99".utf8))

        // Without the team secret the third message, where psk3 mixes it in,
        // fails: one guess per connection, and nothing to test guesses
        // against offline without the static keys.
        var c = Noise.Handshake(initiator: true, prologue: Array("margin".utf8), staticPrivateKey: key(), psk: key())
        var d = Noise.Handshake(initiator: false, prologue: Array("margin".utf8), staticPrivateKey: key(), psk: psk)
        _ = try d.readMessage(try c.writeMessage([]))
        _ = try c.readMessage(try d.writeMessage([]))
        XCTAssertThrowsError(try d.readMessage(try c.writeMessage(Array("hello".utf8))), "a wrong pre-shared key")
    }
}
