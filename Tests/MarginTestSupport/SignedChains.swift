import MarginCore
import MarginCrypto

/// Changes made as a peer sends them: one origin's chain, hashed and
/// signed at its head, for a receiver to take with `receiveBatch`.
public enum SignedChains {
    /// `n` changes from the origin of `seed`, dated over the last `n`
    /// milliseconds: `make` gives the i-th, given its id and reading; its
    /// link to the one before is set here.
    public static func chain(_ n: Int, seed: [UInt8], _ make: (_ i: Int, _ id: ChangeID, _ hlc: HLC) -> Change)
        -> (changes: [Change], signatures: [HeadSignature]) {
        let origin = NodeKey.derivedID(Ed25519.publicKey(seed: seed))
        let start = SystemClock().nowMilliseconds() - Int64(n) - 10
        var prev = ChangeHash.genesis
        var out: [Change] = []
        for i in 0..<n {
            var c = make(i, ChangeID(origin: origin, seq: Int64(i + 1)), HLC(milliseconds: start + Int64(i), counter: 0))
            c.prev = prev
            prev = c.hash
            out.append(c)
        }
        guard let last = out.last else { return ([], []) }
        let signature = HeadSignature(origin: origin, seq: last.id.seq, publicKey: Ed25519.publicKey(seed: seed),
                                      signature: Ed25519.sign(NodeKey.message(origin: origin, seq: last.id.seq, hash: last.hash), seed: seed))
        return (out, [signature])
    }

    /// `n` changes to codes' names. `oneField`: all to one code's name,
    /// each superseding the one before (a value edited over and over, or a
    /// hostile peer's run of edits); else each to a code of its own.
    public static func codeNames(_ n: Int, seed: [UInt8], oneField: Bool) -> (changes: [Change], signatures: [HeadSignature]) {
        chain(n, seed: seed) { i, id, hlc in
            let entity = oneField ? oneFieldCode : String(format: "%016llx", 0xc0de_0000 + i)
            let supersedes = oneField && i > 0 ? ChangeID(origin: id.origin, seq: id.seq - 1) : nil
            return Change(id: id, hlc: hlc, kind: .code, entity: EntityID(stored: entity), field: "name", value: .text("code-\(i)"),
                          supersedes: supersedes)
        }
    }

    /// The code `codeNames(oneField: true)` changes.
    public static let oneFieldCode = "00000000000f1e1d"
}
