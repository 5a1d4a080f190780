import Foundation
import MarginCore

/// The team secret as people handle it: made by `margin secret new` as 256
/// random bits in base32 groups (easy to read aloud or type), or any
/// passphrase a team already has, which works but is weaker.
public enum TeamSecret {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
    public static let bits = 256

    /// A fresh secret, as text: 52 base32 letters in groups of four.
    public static func generate() -> String { text(NodeKey.randomSeed()) }

    /// `bytes` in base32 (RFC 4648, no padding), grouped by four with '-'.
    public static func text(_ bytes: [UInt8]) -> String {
        var out: [Character] = []
        var buffer = 0, bitsHeld = 0
        for b in bytes {
            buffer = (buffer << 8) | Int(b)
            bitsHeld += 8
            while bitsHeld >= 5 {
                bitsHeld -= 5
                out.append(alphabet[(buffer >> bitsHeld) & 31])
            }
        }
        if bitsHeld > 0 { out.append(alphabet[(buffer << (5 - bitsHeld)) & 31]) }
        return stride(from: 0, to: out.count, by: 4).map { String(out[$0..<min($0 + 4, out.count)]) }.joined(separator: "-")
    }

    /// What a session keys from `text` (already trimmed), and whether it has
    /// the full 256 bits. Text in the form `generate` makes is decoded, so
    /// case, spaces and dashes do not matter; anything else is a passphrase,
    /// used byte for byte.
    public static func parse(_ text: String) -> (bytes: [UInt8], fullStrength: Bool) {
        let letters = text.uppercased().filter { $0 != "-" && $0 != " " }
        if letters.count == 52, let decoded = base32(letters), decoded.count == 32 {
            return (decoded, true)
        }
        let hex = Array(text.utf8)
        if hex.count >= 64, hex.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) || (65...70).contains($0) }) {
            return (hex, true)
        }
        return (Array(text.utf8), false)
    }

    /// Why `text` cannot be a team secret, or nil. Text of 52 base32
    /// letters whose last letter has spare bits set is not what `generate`
    /// makes (a copying mistake, most likely): refused, rather than taken as
    /// a passphrase that no peer decoding the letters would share.
    public static func problem(_ text: String) -> String? {
        let letters = text.uppercased().filter { $0 != "-" && $0 != " " }
        guard letters.count == 52, letters.allSatisfy({ alphabet.contains($0) }), base32(letters) == nil else { return nil }
        return "the team secret looks generated but its last letter is not one `margin secret new` makes (its spare bits are set): check it was copied right"
    }

    static func base32(_ letters: String) -> [UInt8]? {
        var out: [UInt8] = []
        var buffer = 0, bitsHeld = 0
        for c in letters {
            guard let v = alphabet.firstIndex(of: c) else { return nil }
            buffer = ((buffer << 5) | v) & 0xffff
            bitsHeld += 5
            if bitsHeld >= 8 {
                bitsHeld -= 8
                out.append(UInt8((buffer >> bitsHeld) & 0xff))
            }
        }
        // The last letter's spare bits must be zero, so one secret has one spelling.
        guard buffer & ((1 << bitsHeld) - 1) == 0 else { return nil }
        return out
    }

    /// The warning for a secret without the full 256 bits.
    public static let weakWarning = "warning: the team secret is a passphrase, not a generated 256-bit secret: anyone who can pose as your server (on the same Wi-Fi, say) can test guesses against one sync offline; make a strong one with `margin secret new`"
}

extension TeamSecret {
    /// Reads the team secret from a file (`file` as the user named it,
    /// `path` resolved) or from `MARGIN_SECRET` in `environment`, both
    /// trimmed of surrounding blanks and newlines; no secret: empty. A file
    /// that others can read is refused, as ssh refuses such a key; a secret
    /// weaker than a generated one is taken, and `warn` names the risk.
    public static func load(file: String?, path: String?, environment: [String: String], warn: (String) -> Void) throws -> [UInt8] {
        let text: String
        if let file, let path {
            var st = stat()
            guard stat(path, &st) == 0 else { throw MarginError.notFound("secret file \(file): no such file") }
            if st.st_mode & 0o077 != 0 {
                throw MarginError.invalid("secret file \(file) is readable by others; run `chmod 600 \(file)`")
            }
            guard let data = FileManager.default.contents(atPath: path), let t = String(data: data, encoding: .utf8) else {
                throw MarginError.invalid("secret file \(file) cannot be read as text")
            }
            text = t.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !text.isEmpty else { throw MarginError.invalid("secret file \(file) is empty") }
        } else if let env = environment["MARGIN_SECRET"], !env.isEmpty {
            text = env.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !text.isEmpty else { throw MarginError.invalid("MARGIN_SECRET holds only blanks") }
        } else {
            return []
        }
        if let problem = problem(text) { throw MarginError.invalid(problem) }
        let secret = parse(text)
        if !secret.fullStrength { warn(weakWarning) }
        return secret.bytes
    }
}
