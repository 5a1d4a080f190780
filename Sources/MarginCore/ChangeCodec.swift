import Foundation
import MarginCrypto

/// The byte form of one change (PROTOCOL.md §5, "A change"), the only place
/// it is written. The sync protocol sends changes in this form, bundles store
/// them in it, and a change's hash is SHA-256 of it, so that every node
/// computes the same hash chain from the same change.
public enum ChangeCodec {
    static func kindCode(_ kind: EntityKind) -> UInt8 {
        switch kind {
        case .record: 1
        case .annotation: 2
        case .code: 3
        case .conflict: 4
        }
    }
    static func kind(code: UInt8) -> EntityKind? {
        switch code {
        case 1: .record
        case 2: .annotation
        case 3: .code
        case 4: .conflict
        default: nil
        }
    }

    public static func encode(_ c: Change, into w: inout ByteWriter) {
        w.changeID(c.id)
        w.uvarint(UInt64(max(0, c.hlc.milliseconds)))
        w.uvarint(UInt64(max(0, c.hlc.counter)))
        w.u8(kindCode(c.kind))
        w.string(c.entity.text)
        w.string(c.field)
        switch c.value {
        case .null: w.u8(0)
        case .int(let v): w.u8(1); w.svarint(v)
        case .text(let t): w.u8(2); w.string(t)
        }
        var flags: UInt8 = 0
        if c.supersedes != nil { flags |= 1 }
        if c.deletionBase != nil { flags |= 2 }
        if c.seen != nil { flags |= 4 }
        w.u8(flags)
        if let s = c.supersedes { w.changeID(s) }
        if let d = c.deletionBase { w.changeID(d) }
        if let seen = c.seen {
            let entries = seen.heads.sorted { $0.key < $1.key }
            w.uvarint(UInt64(entries.count))
            for (origin, seq) in entries { w.node(origin); w.uvarint(UInt64(seq)) }
        }
        w.raw(c.prev)
    }

    public static func encoded(_ c: Change) -> [UInt8] {
        // Room for the whole form: fixed parts, strings, `seen` and `prev`.
        var size = 96 + c.entity.text.utf8.count + c.field.utf8.count + (c.seen?.heads.count ?? 0) * 18
        if case .text(let t) = c.value { size += t.utf8.count }
        var w = ByteWriter(capacity: size)
        encode(c, into: &w)
        return w.bytes
    }

    public static func decode(_ r: inout ByteReader) throws -> Change {
        let id = try r.changeID()
        let ms = try r.count(), counter = try r.count()
        let kindCode = try r.u8()
        guard let kind = kind(code: kindCode) else { throw WireError("unknown entity kind \(kindCode)") }
        let entity = try r.string(), field = try r.string()
        guard !entity.isEmpty, entity.utf8.count <= 128 else { throw WireError("entity id must be 1 to 128 bytes") }
        let value: FieldValue
        switch try r.u8() {
        case 0: value = .null
        case 1: value = .int(try r.svarint())
        case 2: value = .text(try r.string())
        case let t: throw WireError("unknown value tag \(t)")
        }
        let flags = try r.u8()
        guard flags & ~7 == 0 else { throw WireError("unknown change flags \(flags)") }
        let supersedes = flags & 1 != 0 ? try r.changeID() : nil
        let deletionBase = flags & 2 != 0 ? try r.changeID() : nil
        var seen: VersionVector?
        if flags & 4 != 0 {
            let n = try r.count(max: r.remaining / 9)
            var heads: [NodeID: Int64] = [:]
            for _ in 0..<n {
                let o = try r.node()
                guard heads[o] == nil else { throw WireError("origin listed twice in seen") }
                heads[o] = Int64(try r.count())
            }
            seen = VersionVector(heads)
        }
        let prev = try r.raw(ChangeHash.length)
        return Change(id: id, hlc: HLC(milliseconds: Int64(ms), counter: Int64(counter)), kind: kind, entity: EntityID(stored: entity),
                      field: field, value: value, supersedes: supersedes, deletionBase: deletionBase, seen: seen, prev: prev)
    }
}

/// The hash chain of each origin's changes. A change's hash covers its
/// content and its `prev`, the hash of its origin's previous change, so one
/// hash names a change together with everything its origin wrote before it:
/// two stores that hold different changes under one `origin:seq` (a store
/// restored from a backup, or copied, that went on writing) are told apart by
/// hash wherever their changes meet.
public enum ChangeHash {
    public static let length = 32
    /// The `prev` of an origin's first change.
    public static let genesis = [UInt8](repeating: 0, count: length)

    public static func of(_ c: Change) -> [UInt8] { SHA256.hash(ChangeCodec.encoded(c)) }

    /// The hashes of many changes, on every core: a change's hash depends
    /// on its own content only (`prev` is a field of it), and a received
    /// batch of thousands is otherwise hashed on one core while the others
    /// wait for its apply to start.
    public static func of(_ changes: [Change]) -> [[UInt8]] {
        let cores = ProcessInfo.processInfo.activeProcessorCount
        // Below a few hundred changes, starting threads costs more than it saves.
        guard cores > 1, changes.count >= 512 else { return changes.map(of) }
        let parts = min(cores, changes.count / 256)
        return [[UInt8]](unsafeUninitializedCapacity: changes.count) { out, count in
            let slots = Slots(out)
            DispatchQueue.concurrentPerform(iterations: parts) { part in
                let range = changes.count * part / parts ..< changes.count * (part + 1) / parts
                for i in range { slots.initialize(i, to: of(changes[i])) }
            }
            count = changes.count
        }
    }

    /// The output of `of(_:)`, which each part fills at its own indices.
    private struct Slots: @unchecked Sendable {
        let buffer: UnsafeMutableBufferPointer<[UInt8]>
        init(_ buffer: UnsafeMutableBufferPointer<[UInt8]>) { self.buffer = buffer }
        func initialize(_ i: Int, to hash: [UInt8]) {
            guard let base = buffer.baseAddress else { return }
            (base + i).initialize(to: hash)
        }
    }
}
