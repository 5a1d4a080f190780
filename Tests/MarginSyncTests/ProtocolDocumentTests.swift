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

    static var exampleFrames: [(String, [UInt8])] {
        let schema = UInt16(Store.schemaVersion)
        let clientHello = Wire.frame(.hello(Hello(schemaVersion: schema, node: alice, wallClock: 1_700_000_000_000,
                                                  nonce: Array(0..<32), sends: true, receives: true, name: "alice")))
        let serverHello = Wire.frame(.hello(Hello(schemaVersion: schema, node: bob, wallClock: 1_700_000_000_500,
                                                  nonce: Array(32..<64), sends: true, receives: true, name: "bob")))
        let transcript = SyncSession.transcript(clientHello: clientHello, serverHello: serverHello)
        let first = Change(id: ChangeID(origin: alice, seq: 1), hlc: HLC(milliseconds: 1_700_000_000_000, counter: 0),
                           kind: .code, entity: "da591c591bdc9edd", field: "name", value: .text("party-members"))
        let second = Change(id: ChangeID(origin: alice, seq: 2), hlc: HLC(milliseconds: 1_700_000_000_001, counter: 0),
                            kind: .code, entity: "da591c591bdc9edd", field: "name", value: .text("party-member"),
                            supersedes: first.id, prev: first.hash)
        let message = NodeKey.message(origin: alice, seq: 2, hash: second.hash)
        let signature = HeadSignature(origin: alice, seq: 2, publicKey: Ed25519.publicKey(seed: aliceSeed),
                                      signature: Ed25519.sign(message, seed: aliceSeed))
        return [
            ("alice-public-key", Ed25519.publicKey(seed: aliceSeed)),
            ("signed-message", message),
            ("change-1", ChangeCodec.encoded(first)),
            ("change-1-hash", first.hash),
            ("change-2-hash", second.hash),
            ("client-hello", clientHello),
            ("server-hello", serverHello),
            ("transcript", transcript),
            ("client-auth", Wire.frame(.auth(mac: SyncSession.mac(secret, role: .client, transcript: transcript)))),
            ("server-auth", Wire.frame(.auth(mac: SyncSession.mac(secret, role: .server, transcript: transcript)))),
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
        for (name, bytes) in ProtocolDocumentTests.exampleFrames {
            guard let doc = blocks[name] else {
                XCTFail("PROTOCOL.md has no ```hex \(name) block; the code sends:\n\(bytes.hex)")
                continue
            }
            XCTAssertEqual(doc.lowercased(), bytes.hex, "PROTOCOL.md block \(name)")
        }
    }

    func testWorkedExampleDecodes() throws {
        for (name, bytes) in ProtocolDocumentTests.exampleFrames where !["transcript", "change-1", "change-1-hash", "change-2-hash", "alice-public-key", "signed-message"].contains(name) {
            var d = FrameDecoder()
            d.append(bytes)
            let f = try XCTUnwrap(try d.next(), name)
            XCTAssertNoThrow(try Wire.decode(type: f.type, payload: f.payload), name)
        }
    }
}
