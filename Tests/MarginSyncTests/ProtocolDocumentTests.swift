import Foundation
import MarginCore
import MarginCrypto
@testable import MarginSync
import XCTest

/// PROTOCOL.md's worked example must be the bytes this code sends.
final class ProtocolDocumentTests: XCTestCase {
    static let secret = Array("correct horse battery staple".utf8)
    /// Alice's and Bob's keys: seeds of 32 bytes 01 and 02.
    static let aliceSeed = [UInt8](repeating: 1, count: 32), bobSeed = [UInt8](repeating: 2, count: 32)
    static let alice = NodeKey.derivedID(Ed25519.publicKey(seed: aliceSeed))
    static let bob = NodeKey.derivedID(Ed25519.publicKey(seed: bobSeed))

    /// The session's Noise keys, fixed here so that the example can be
    /// checked; a real session draws them fresh.
    static let aliceStatic = [UInt8](repeating: 0x11, count: 32), aliceEphemeral = [UInt8](repeating: 0x12, count: 32)
    static let bobStatic = [UInt8](repeating: 0x21, count: 32), bobEphemeral = [UInt8](repeating: 0x22, count: 32)

    /// The example, as (name, bytes) in the order PROTOCOL.md shows them.
    static func example() throws -> [(String, [UInt8])] {
        let schema = UInt16(Store.schemaVersion)
        let psk = SessionKeys.psk(secret)
        var a = Noise.Handshake(initiator: true, prologue: SessionKeys.prologue, staticPrivateKey: aliceStatic, psk: psk, ephemeral: aliceEphemeral)
        var b = Noise.Handshake(initiator: false, prologue: SessionKeys.prologue, staticPrivateKey: bobStatic, psk: psk, ephemeral: bobEphemeral)
        let m1 = try a.writeMessage([]); _ = try b.readMessage(m1)
        let m2 = try b.writeMessage([]); _ = try a.readMessage(m2)
        let m3 = try a.writeMessage([]); _ = try b.readMessage(m3)
        let h = a.handshakeHash
        var (aliceSend, _) = try a.transport()
        var (bobSend, _) = try b.transport()

        let first = Change(id: ChangeID(origin: alice, seq: 1), hlc: HLC(milliseconds: 1_700_000_000_000, counter: 0),
                           kind: .code, entity: "da591c591bdc9edd", field: "name", value: .text("party-members"))
        let second = Change(id: ChangeID(origin: alice, seq: 2), hlc: HLC(milliseconds: 1_700_000_000_001, counter: 0),
                            kind: .code, entity: "da591c591bdc9edd", field: "name", value: .text("party-member"),
                            supersedes: first.id, prev: first.hash)
        let message = NodeKey.message(origin: alice, seq: 2, hash: second.hash)
        let signature = HeadSignature(origin: alice, seq: 2, publicKey: Ed25519.publicKey(seed: aliceSeed),
                                      signature: Ed25519.sign(message, seed: aliceSeed))
        let clientHello = Wire.frame(.hello(Hello(
            schemaVersion: schema, node: alice, publicKey: Ed25519.publicKey(seed: aliceSeed),
            signature: Ed25519.sign(SessionKeys.identityMessage(signerIsClient: true, handshakeHash: h), seed: aliceSeed),
            wallClock: 1_700_000_000_000, sends: true, receives: true, name: "alice")))
        let serverHello = Wire.frame(.hello(Hello(
            schemaVersion: schema, node: bob, publicKey: Ed25519.publicKey(seed: bobSeed),
            signature: Ed25519.sign(SessionKeys.identityMessage(signerIsClient: false, handshakeHash: h), seed: bobSeed),
            wallClock: 1_700_000_000_500, sends: true, receives: true, name: "bob")))
        return [
            ("alice-public-key", Ed25519.publicKey(seed: aliceSeed)),
            ("signed-message", message),
            ("change-1", ChangeCodec.encoded(first)),
            ("change-1-hash", first.hash),
            ("change-2-hash", second.hash),
            ("psk", psk),
            ("client-open", Wire.frame(.open(version: Wire.protocolVersion, noise: m1))),
            ("server-handshake", Wire.frame(.handshake(m2))),
            ("client-handshake", Wire.frame(.handshake(m3))),
            ("handshake-hash", h),
            ("client-hello", clientHello),
            ("client-hello-sealed", Wire.frame(.sealed(try aliceSend.encrypt(clientHello)))),
            ("server-hello", serverHello),
            ("server-hello-sealed", Wire.frame(.sealed(try bobSend.encrypt(serverHello)))),
            ("client-have", Wire.frame(.have(VersionVector([alice: 2]), tips: [alice: second.hash], resendFrom: 2))),
            ("server-have", Wire.frame(.have(VersionVector([alice: 1]), tips: [alice: first.hash], resendFrom: 0))),
            ("client-batch", Wire.frame(.batch(number: 1, changes: [second], signatures: [signature]))),
            ("client-done", Wire.frame(.done(count: 1))),
            ("server-ack", Wire.frame(.ack(number: 1, applied: 1))),
            ("server-done", Wire.frame(.done(count: 0))),
        ]
    }

    /// The hex of each ```hex NAME block in PROTOCOL.md, whitespace and
    /// `#` comments removed.
    static func documentBlocks() throws -> [String: String] {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("PROTOCOL.md")
        let text = try String(contentsOf: url, encoding: .utf8)
        var blocks: [String: String] = [:]
        var current: String?
        var hex = ""
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if let name = current {
                if line.hasPrefix("```") { blocks[name] = hex; current = nil; hex = ""; continue }
                let code = line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
                hex += code.filter { $0.isHexDigit }
            } else if line.hasPrefix("```hex ") {
                current = String(line.dropFirst(7)).trimmingCharacters(in: .whitespaces)
            }
        }
        return blocks
    }

    func testWorkedExampleMatchesTheCode() throws {
        let blocks = try ProtocolDocumentTests.documentBlocks()
        for (name, bytes) in try ProtocolDocumentTests.example() {
            guard let doc = blocks[name] else {
                XCTFail("PROTOCOL.md has no ```hex \(name) block; the code sends:\n\(bytes.hex)")
                continue
            }
            XCTAssertEqual(doc.lowercased(), bytes.hex, "PROTOCOL.md block \(name)")
        }
    }

    func testWorkedExampleDecodes() throws {
        let notFrames: Set = ["handshake-hash", "psk", "change-1", "change-1-hash", "change-2-hash", "alice-public-key", "signed-message"]
        for (name, bytes) in try ProtocolDocumentTests.example() where !notFrames.contains(name) {
            var d = FrameDecoder()
            d.append(bytes)
            let f = try XCTUnwrap(try d.next(), name)
            XCTAssertNoThrow(try Wire.decode(type: f.type, payload: f.payload), name)
        }
    }

    /// The example's HELLOs prove the ids they claim, as a receiver checks.
    func testWorkedExampleHellosVerify() throws {
        let frames = Dictionary(try ProtocolDocumentTests.example(), uniquingKeysWith: { a, _ in a })
        let h = try XCTUnwrap(frames["handshake-hash"])
        for (name, client) in [("client-hello", true), ("server-hello", false)] {
            let bytes = try XCTUnwrap(frames[name])
            guard case .hello(let hello) = try Wire.decode(type: bytes[4], payload: Array(bytes[5...])) else { return XCTFail(name) }
            XCTAssertEqual(NodeKey.derivedID(hello.publicKey), hello.node, name)
            XCTAssertTrue(Ed25519.verify(hello.signature, of: SessionKeys.identityMessage(signerIsClient: client, handshakeHash: h),
                                         publicKey: hello.publicKey), name)
        }
    }
}
