import Foundation
import MarginCrypto
import MarginSQLite

/// Two ways out of a store and back in.
///
/// - The **JSON Lines export** is the visible state, one object a line
///   (`"type"` among `code`, `record`, `annotation`), fields named as in the
///   change log, for other tools. Each object carries `"stamps"`: for each
///   field, the stamp (`ms.counter origin:seq`) of the change that set it.
///   Importing merges by the same last-writer-wins rule as sync, so an old
///   export never reverts newer work or brings back what was deleted.
/// - A **bundle** is the change log itself (PROTOCOL.md, "Bundles"): another
///   store imports it exactly as if it had synced. It is the sneaker-net path
///   for field work with no network.
extension Store {
    public static func jsonLine(_ object: [String: Any]) throws -> String {
        try JSONText.encode(object)
    }

    /// `ms.counter origin:seq`: the stamp LWW compares (PROTOCOL.md §2).
    /// A field's stamp in JSON Lines: the clock reading of the change that
    /// set it, `MS.COUNTER`. Not its origin: an import writes the value as
    /// this store's own change with that reading, so the origin would differ
    /// on every round trip, and the reading is what orders it.
    public static func stampText(_ hlc: HLC) -> String { "\(hlc.milliseconds).\(hlc.counter)" }

    /// `MS.COUNTER`, or `MS.COUNTER ORIGIN:SEQ` as earlier releases wrote
    /// it. Without an origin, a tie in readings keeps the store's value.
    public static func parseStamp(_ text: String) -> Change.Stamp? {
        let parts = text.split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 1 || parts.count == 2 else { return nil }
        var origin = NodeID(stored: ""), seq: Int64 = 0
        if parts.count == 2 {
            guard let id = ChangeID(String(parts[1])) else { return nil }
            origin = id.origin; seq = id.seq
        }
        let clock = parts[0].split(separator: ".", omittingEmptySubsequences: false)
        guard clock.count == 2, let ms = Int64(clock[0]), let ctr = Int64(clock[1]), ms >= 0, ctr >= 0 else { return nil }
        return Change.Stamp(hlc: HLC(milliseconds: ms, counter: ctr), origin: origin, seq: seq)
    }

    /// One entity's export object, typed: no casts from `Any` per value
    /// (they cost most of a whole-store export's time).
    private func object(_ kind: EntityKind, _ id: String, using fieldsOf: Statement) throws -> JSONText.Value {
        var pairs: [(String, JSONText.Value)] = [("type", .string(kind.rawValue)), ("id", .string(id))]
        var meta: [(String, JSONText.Value)] = [], stamps: [(String, JSONText.Value)] = [], done: [String] = []
        for row in try fieldsOf.all([.text(kind.rawValue), .text(id)]) {
            guard let field = row[0].string else { continue }
            let value = try FieldValue(row[1])
            if value == .null && field != FieldSchema.deleted { continue }
            stamps.append((field, .string(Store.stampText(HLC(milliseconds: row[2].int ?? 0, counter: row[3].int ?? 0)))))
            if field == FieldSchema.deleted { continue }
            let v: JSONText.Value
            switch value {
            case .int(let n): v = .int(Int(n))
            case .text(let t): v = .string(t)
            case .null: continue
            }
            if field.hasPrefix(FieldSchema.metaPrefix) {
                meta.append((String(field.dropFirst(FieldSchema.metaPrefix.count)), v))
            } else if field.hasPrefix(FieldSchema.donePrefix) {
                if value == .int(1) { done.append(String(field.dropFirst(FieldSchema.donePrefix.count))) }
            } else {
                pairs.append((field, v))
            }
        }
        if !meta.isEmpty { pairs.append(("meta", .sortedObject(meta))) }
        if !done.isEmpty { pairs.append(("done", .array(done.sorted().map { .string($0) }))) }
        pairs.append(("stamps", .sortedObject(stamps)))
        return .sortedObject(pairs)
    }

    /// Every live code, record and annotation, one JSON object a line.
    /// `onlyAuthor`: only that author's annotations (blind coding).
    public func exportLines(onlyAuthor: String? = nil) throws -> [String] {
        var lines: [String] = []
        try exportLines(onlyAuthor: onlyAuthor) { lines.append($0) }
        return lines
    }

    /// The same lines, each handed to `each` as it is made, so that a whole
    /// store's export streams to its file in flat memory. Returns how many.
    @discardableResult
    public func exportLines(onlyAuthor: String? = nil, _ each: (String) throws -> Void) throws -> Int {
        var count = 0
        var bytes: [UInt8] = []
        let fieldsOf = try db.statement("SELECT field, value, ms, ctr FROM fields WHERE kind = ? AND entity = ?")
        func write(_ kind: EntityKind, _ ids: [String]) throws {
            for id in ids {
                bytes.removeAll(keepingCapacity: true)
                JSONText.write(try object(kind, id, using: fieldsOf), into: &bytes)
                try each(String(decoding: bytes, as: UTF8.self))
                count += 1
            }
        }
        // The ids first, then each object: no query is held open while the
        // lines are written (a reader paging through them would keep the
        // log from being checkpointed meanwhile). Codes and records by id;
        // annotations a record at a time, so that what is held is one
        // record's ids, not every annotation's (observed: 21 MB at 100,000
        // changes, 37 MB at a million).
        func ids(_ sql: String, _ values: [SQLValue] = []) throws -> [String] {
            var out: [String] = []
            try db.statement(sql).forEach(values) { s in
                if let id = s.text(0) { out.append(id) }
                return true
            }
            return out
        }
        try write(.code, ids("SELECT id FROM codes WHERE deleted = 0 AND name IS NOT NULL ORDER BY id"))
        try write(.record, ids("SELECT id FROM records WHERE deleted = 0 AND body IS NOT NULL ORDER BY id"))
        let byAuthor = onlyAuthor == nil ? "" : " AND author = ?"
        let author = onlyAuthor.map { [SQLValue.text($0)] } ?? []
        for record in try ids("SELECT DISTINCT record FROM annotations WHERE deleted = 0 AND record IS NOT NULL\(byAuthor) ORDER BY record", author) {
            try write(.annotation, ids("SELECT id FROM annotations WHERE deleted = 0 AND record = ?\(byAuthor) ORDER BY span_start, id",
                                       [.text(record)] + author))
        }
        return count
    }

    public struct ExchangeCounts: Equatable, Sendable {
        public var records = 0, annotations = 0, codes = 0, unchanged = 0
        /// Fields the store already held at a newer stamp than the import's.
        public var newerHere = 0
        /// Entities deleted here after the export was made: left deleted.
        public var deletedHere = 0
    }

    /// Imports a JSON Lines export, merging field by field under
    /// last-writer-wins: a field is written only where the export's stamp
    /// for it is newer than the store's (a field without a stamp, as from
    /// another tool, only where the store has no value). The whole text is
    /// one transaction: a bad line leaves the store as it was.
    public func importJSONLines(_ text: String) throws -> ExchangeCounts {
        var counts = ExchangeCounts()
        try write {
            for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                let line = raw.trimmingCharacters(in: .whitespacesAndNewlines)
                if line.isEmpty { continue }
                do {
                    guard let obj = try JSONValue.parse(line).object else { throw MarginError.invalid("not a JSON object") }
                    guard let typeName = obj["type"]?.string, let kind = EntityKind(rawValue: typeName), kind != .conflict else {
                        throw MarginError.invalid("\"type\" must be code, record or annotation")
                    }
                    let changed = try importObject(kind, obj, &counts)
                    if !changed { counts.unchanged += 1 } else {
                        switch kind {
                        case .record: counts.records += 1
                        case .annotation: counts.annotations += 1
                        case .code: counts.codes += 1
                        case .conflict: break
                        }
                    }
                } catch {
                    throw MarginError.invalid("line \(n + 1): \(MarginError.message(for: error))")
                }
            }
        }
        return counts
    }


    private func importObject(_ kind: EntityKind, _ obj: [String: JSONValue], _ counts: inout ExchangeCounts) throws -> Bool {
        var id = obj["id"]?.string
        var values: [(String, FieldValue)] = []
        for (key, raw) in obj where !["type", "id", "meta", "stamps", "done"].contains(key) {
            guard let type = FieldSchema.type(of: kind, field: key), key != FieldSchema.deleted, !key.hasPrefix(FieldSchema.donePrefix) else {
                throw MarginError.invalid("unknown \(kind.rawValue) field '\(key)'")
            }
            switch (type, raw) {
            case (.text, .string(let s)):
                if ChangeRules.multiline.contains(key) { try TextRules.requireText(s, what: "field '\(key)'") }
                else { try TextRules.requireLine(s, what: "field '\(key)'") }
                values.append((key, .text(TextNormalization.nfc(s))))
            case (.int, .int(let n)): values.append((key, .int(n)))
            default: throw MarginError.invalid("field '\(key)' has the wrong type")
            }
        }
        if let meta = obj["meta"] {
            guard kind == .record, let m = meta.object else { throw MarginError.invalid("\"meta\" must be an object of strings") }
            for (k, v) in m {
                guard let text = v.string else { throw MarginError.invalid("\"meta\" must be an object of strings") }
                if let p = FieldSchema.metaKeyProblem(k) { throw MarginError.invalid(p) }
                try TextRules.requireText(text, what: "metadata '\(k)'")
                values.append((FieldSchema.metaPrefix + k, .text(TextNormalization.nfc(text))))
            }
        }
        if let done = obj["done"] {
            guard kind == .record, let list = done.array else { throw MarginError.invalid("\"done\" must be an array of coder names") }
            for coder in list {
                guard let name = coder.string else { throw MarginError.invalid("\"done\" must be an array of coder names") }
                try TextRules.requireLine(name, what: "a coder name in \"done\"")
                values.append((FieldSchema.donePrefix + name, .int(1)))
            }
        }
        var stamps: [String: Change.Stamp] = [:]
        if let raw = obj["stamps"] {
            guard let m = raw.object else { throw MarginError.invalid("\"stamps\" must be an object") }
            for (field, v) in m {
                guard let text = v.string, let stamp = Store.parseStamp(text) else {
                    throw MarginError.invalid("the stamp of '\(field)' must read \"MS.COUNTER\" (or \"MS.COUNTER ORIGIN:SEQ\")")
                }
                stamps[field] = stamp
            }
        }
        let field = Dictionary(values, uniquingKeysWith: { a, _ in a })
        // Span fields another tool may leave out, made from the body.
        var filled: [String: FieldValue] = [:]
        switch kind {
        case .record:
            guard let body = field["body"]?.string, !body.isEmpty else { throw MarginError.invalid("a record needs a body") }
            // The id is the hash of the text as received (schema 6), or of
            // the body for a record that has none (it was received so).
            let received = field["received"]?.string
            if let r = received, !Store.received(r).hasSameBytes(as: r) {
                throw MarginError.invalid("a record's received text must be normalised (NFC, LF line ends, no white space around it)")
            }
            let derived = Store.recordID(received: received ?? body)
            if let given = id {
                guard given == derived || (received == nil && given == Store.recordID(body: body)) else {
                    throw MarginError.invalid("record id \(given) does not match its \(received == nil ? "body" : "received text")")
                }
            } else {
                id = derived
            }
        case .annotation:
            guard let given = id, ChangeRules.isID(given, of: .annotation) else { throw MarginError.invalid("an annotation needs an id of 32 lower-case hexadecimal digits") }
            guard let record = field["record"]?.string, let body = try winner(.record, EntityID(stored: record), "body")?.value.string, try !isDeleted(.record, EntityID(stored: record)) else {
                throw MarginError.notFound("annotation \(given) refers to a record that is not in the store")
            }
            if let code = field["code"]?.string, try winner(.code, EntityID(stored: code), "name") == nil {
                throw MarginError.notFound("annotation \(given) refers to unknown code \(code)")
            }
            if let s = field["status"]?.string, ReviewStatus(rawValue: s) == nil { throw MarginError.invalid("unknown status '\(s)'") }
            let hasStart = field["start"] != nil, hasEnd = field["end"] != nil
            if hasStart || hasEnd {
                guard let s = field["start"]?.int, let e = field["end"]?.int, let quote = field["quote"]?.string else {
                    throw MarginError.invalid("annotation \(given) has an incomplete span")
                }
                guard let start = Int(exactly: s), let end = Int(exactly: e) else { throw MarginError.invalid("annotation \(given): span out of range") }
                let span = try Span(in: ScalarText(body), start: start, end: end)
                guard span.quote.hasSameBytes(as: quote) else { throw MarginError.invalid("annotation \(given): the quote does not match the record at \(s)..\(e)") }
                if let p = field["prefix"]?.string, !p.hasSameBytes(as: span.prefix) { throw MarginError.invalid("annotation \(given): the prefix does not match the record") }
                if let p = field["suffix"]?.string, !p.hasSameBytes(as: span.suffix) { throw MarginError.invalid("annotation \(given): the suffix does not match the record") }
                filled = ["prefix": .text(span.prefix), "suffix": .text(span.suffix)]
            }
        case .code:
            guard let given = id, ChangeRules.isID(given, of: .code) else { throw MarginError.invalid("a code needs an id of 16 lower-case hexadecimal digits") }
            guard let name = field["name"]?.string else { throw MarginError.invalid("a code needs a name") }
            try Store.checkCodeName(name)
            if let colour = field["colour"]?.string { try Store.checkColour(colour) }
        case .conflict:
            throw MarginError.invalid("conflicts are not imported")
        }
        guard let entity = id else { throw MarginError.invalid("missing id") }
        // An entity deleted here stays deleted unless the export saw it
        // restored after that deletion.
        if let deletion = try winner(kind, EntityID(stored: entity), FieldSchema.deleted), deletion.value == .int(1) {
            guard let restored = stamps[FieldSchema.deleted], Change.wins(restored, over: deletion.stamp) else {
                counts.deletedHere += 1
                return false
            }
            try set(kind, EntityID(stored: entity), FieldSchema.deleted, .int(0))
        }
        var changed = false
        let groups = FieldSchema.groups[kind] ?? []
        var written: Set<String> = []
        // An annotation's `record` first: every other change to it names
        // its record (PROTOCOL.md §1, "Rules").
        for (f, v) in values.sorted(by: { ($0.0 == "record" ? 0 : 1, $0.0) < ($1.0 == "record" ? 0 : 1, $1.0) }) where !written.contains(f) {
            // A field group is written whole, with one reading (PROTOCOL.md
            // §1, "Field groups"): fields the line leaves out keep what they
            // hold here, or, for a span's context, what the body gives.
            if let group = groups.first(where: { $0.contains(f) }) {
                written.formUnion(group)
                let currents = try group.map { try winner(kind, EntityID(stored: entity), $0) }
                let wanted = zip(group, currents).map { name, current in (name, field[name] ?? filled[name] ?? current?.value ?? .null) }
                if zip(wanted, currents).allSatisfy({ $0.1 == ($1?.value ?? .null) }) { continue }
                let given = group.compactMap { stamps[$0] }.max()
                if let current = currents.compactMap({ $0?.stamp }).max() {
                    guard let given, Change.wins(given, over: current) else { counts.newerHere += 1; continue }
                }
                var reading: HLC?
                if let given = given?.hlc {
                    let now = clock.tick()
                    reading = given < now ? given : now
                }
                try setGroup(kind, EntityID(stored: entity), wanted, force: true, reading: reading)
                changed = true
                continue
            }
            let current = try winner(kind, EntityID(stored: entity), f)
            if let current {
                if current.value == v { continue }
                guard let given = stamps[f], Change.wins(given, over: current.stamp) else { counts.newerHere += 1; continue }
            }
            // Written with the reading the export carries, never a newer one,
            // so a value imported now still loses to work done after the
            // export was made, here or anywhere it syncs.
            var reading: HLC?
            if let given = stamps[f]?.hlc {
                let now = clock.tick()
                reading = given < now ? given : now
            }
            if try set(kind, EntityID(stored: entity), f, v, stamp: reading, always: current == nil) != nil { changed = true }
        }
        return changed
    }


}

// MARK: - Bundles

/// A bundle: the change log as a file (PROTOCOL.md, "Bundles").
public enum ChangeBundle {
    public static let magic = Array("MRGNBNDL".utf8)
    public static let formatVersion: UInt16 = 1

    /// True when `bytes` start like a bundle (so `import` can tell it from text).
    public static func looksLikeBundle(_ bytes: some Collection<UInt8>) -> Bool { bytes.starts(with: magic) }

    /// True when the file at `path` starts like a bundle: its first bytes
    /// only are read (a bundle is then read a piece at a time).
    public static func fileLooksLikeBundle(atPath path: String) -> Bool {
        guard let handle = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? handle.close() }
        return (try? handle.read(upToCount: magic.count)).map { looksLikeBundle($0) } ?? false
    }
}

extension Store {
    /// Every change this store holds, in the order sync sends them, as a bundle.
    public func bundle() throws -> [UInt8] {
        var bytes: [UInt8] = []
        _ = try writeBundle { bytes += $0 }
        return bytes
    }

    /// The bundle `bundle` makes, handed to `write` a piece at a time as
    /// the log is read (`export --log` of a million changes held 447 MB,
    /// its 147 MB bundle built in memory first). The count of changes comes
    /// first in the format, so it is taken from the ranges the read will
    /// cover; the checksum is taken as the pieces go. Returns the number
    /// of changes and of bytes written.
    public func writeBundle(_ write: ([UInt8]) throws -> Void) throws -> (changes: Int, bytes: Int) {
        var checksum = SHA256(), written = 0
        func put(_ bytes: [UInt8]) throws {
            checksum.update(bytes)
            written += bytes.count
            try write(bytes)
        }
        let count = try signedRanges(above: VersionVector()).reduce(0) { $0 + Int($1.last - $1.next + 1) }
        var header = ByteWriter()
        header.raw(ChangeBundle.magic)
        header.u16(ChangeBundle.formatVersion)
        header.u16(UInt16(Store.schemaVersion))
        header.uvarint(UInt64(count))
        try put(header.bytes)
        var signatures: [HeadSignature] = []
        var read = 0
        try forEachSignedChange(above: VersionVector()) { (_: Change, encoded: [UInt8], signature: HeadSignature?) in
            try put(encoded)
            if let signature { signatures.append(signature) }
            read += 1
            return true
        }
        guard read == count else { throw MarginError.corrupt("the log gave \(read) changes where its heads promise \(count): run `margin check`") }
        var tail = ByteWriter()
        HeadSignature.encode(signatures, into: &tail)
        try put(tail.bytes)
        let digest = checksum.finalize()
        try write(digest)
        return (count, written + digest.count)
    }

    /// What importing a bundle did.
    public struct BundleOutcome: Sendable {
        public var changes = 0
        public var applied = 0
        public var outcome: BatchOutcome
    }

    /// Imports a bundle as a sync would, in one transaction: a bundle that
    /// does not fit (other schema, damaged, a gap) is refused whole, and
    /// one already imported changes nothing.
    public func importBundle(_ bytes: [UInt8]) throws -> BundleOutcome {
        try importBundle(from: BundleBytes(bytes: bytes))
    }

    /// `importBundle`, from a file read a piece at a time: a bundle of any
    /// size is imported with the memory of a batch and a window of its
    /// bytes (`init --from FILE`, `import FILE`; a bundle of a million
    /// changes, 147 MB, took 783 MB decoded whole first).
    public func importBundle(atPath path: String) throws -> BundleOutcome {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw MarginError.notFound("\(path): cannot be read") }
        defer { try? handle.close() }
        return try importBundle(from: BundleFile(handle: handle, size: Int(try handle.seekToEnd())))
    }

    /// The bundle is read twice: once whole, for its checksum and to reach
    /// the signatures, which follow the changes; then the changes again,
    /// each applied as it is decoded.
    /// `piece`: how many bytes ahead the window loads (tests make it small,
    /// so that values cross its edges).
    func importBundle(from source: some BundleSource, piece: Int = 1 << 20) throws -> BundleOutcome {
        guard source.size >= ChangeBundle.magic.count + 4 + 1 + ChangeHash.length else { throw MarginError.invalid("the bundle is truncated") }
        guard ChangeBundle.looksLikeBundle(try source.read(at: 0, count: ChangeBundle.magic.count)) else { throw MarginError.invalid("not a Margin bundle") }
        let body = source.size - ChangeHash.length
        var checksum = SHA256(), offset = 0
        while offset < body {
            let piece = try source.read(at: offset, count: min(1 << 20, body - offset))
            guard !piece.isEmpty else { throw MarginError.invalid("the bundle is truncated") }
            checksum.update(piece)
            offset += piece.count
        }
        guard checksum.finalize() == (try source.read(at: body, count: ChangeHash.length)) else {
            throw MarginError.invalid("the bundle is damaged or truncated (its checksum does not match)")
        }
        var r = BundleWindow(source, from: 0, end: body, piece: piece)
        do {
            let (format, schema) = try r.next { r in
                _ = try r.raw(ChangeBundle.magic.count)
                return (try r.u16(), try r.u16())
            }
            guard format == ChangeBundle.formatVersion else {
                throw MarginError.invalid("bundle format \(format) is not known to this margin (it knows \(ChangeBundle.formatVersion)): upgrade margin")
            }
            // Older data is valid in a newer schema; newer is not in an older.
            guard Int(schema) <= Store.schemaVersion, schema >= 3 else {
                let which = Int(schema) > Store.schemaVersion ? "upgrade margin here" : "upgrade margin where the bundle was made, and make it again"
                throw MarginError.invalid("the bundle has schema \(schema), this store \(Store.schemaVersion): \(which)")
            }
            let count = try r.next { try $0.count() }
            guard count <= (body - r.position) / 48 else { throw WireError("count out of range") }
            let changesStart = r.position
            for _ in 0..<count { _ = try r.next { try ChangeCodec.decode(&$0) } }
            let signatures = try r.next { try HeadSignature.decodeList(&$0) }
            let left = body - r.position
            if left != 0 { throw WireError("\(left) unexpected bytes at the end of a message") }
            var bySeq: [ChangeID: HeadSignature] = [:]
            for s in signatures { bySeq[ChangeID(origin: s.origin, seq: s.seq)] = s }
            var again = BundleWindow(source, from: changesStart, end: body, piece: piece)
            let outcome = try importSignedChanges(horizon: clock.wall.nowMilliseconds() + 3_600_000, peer: "a bundle") { take in
                for _ in 0..<count {
                    let c = try again.next { try ChangeCodec.decode(&$0) }
                    try take(c, bySeq[c.id])
                }
            }
            return BundleOutcome(changes: count, applied: outcome.applied, outcome: outcome)
        } catch let e as WireError {
            throw MarginError.invalid("the bundle is malformed: \(e.message)")
        } catch let e as MarginError {
            if case .invalid(let m) = e, m.contains("refused: sequence gap") { throw MarginError.invalid("the bundle does not fit this store: \(m)") }
            throw e
        }
    }

    /// Takes every change another store holds, as a sync from it would
    /// (see `importSignedChanges(horizon:peer:_:)`), reading it as it
    /// goes: the changes of a store of any size pass through the memory of
    /// one batch (`init --from STORE`: a copy of a million changes took
    /// 785 MB through a bundle built in memory first).
    public func importStore(_ source: Store) throws -> BundleOutcome {
        var count = 0
        let outcome = try importSignedChanges(horizon: clock.wall.nowMilliseconds() + 3_600_000, peer: "a copied store") { take in
            try source.forEachSignedChange(above: VersionVector()) { c, signature in
                count += 1
                try take(c, signature)
                return true
            }
        }
        return BundleOutcome(changes: count, applied: outcome.applied, outcome: outcome)
    }

    /// Applies signed changes in batches of about 1 MB that each end, for
    /// every origin, at a signed change (as a sync session would), all in one
    /// transaction: a store that imported a bundle can pass its changes on
    /// in batches of the same size. The changes are those `produce` hands,
    /// in order, to the function it is given, each with the signature of
    /// its head when it is a signed one: no more than a batch is held.
    private func importSignedChanges(horizon: Int64, peer: String,
                                     _ produce: (_ take: (Change, HeadSignature?) throws -> Void) throws -> Void) throws -> BatchOutcome {
        var total = BatchOutcome()
        // Inside another write, it is that write's scope, and the batches
        // are refused (`WriteScope.holdsReceivedBatches`).
        try write(opening: WriteScope(holdsReceivedBatches: true)) {
            var batcher = SignedBatcher(targetBytes: 1 << 20)
            func apply() throws {
                let b = batcher.take()
                guard !b.changes.isEmpty else { return }
                let o = try receiveBatch(b.changes, signatures: b.signatures, horizon: horizon, holding: total.held, peer: peer)
                total.applied += o.applied; total.skipped += o.skipped; total.heldBack += o.heldBack
                total.held = o.held; total.future.formUnion(o.future); total.forks += o.forks
                total.tookBack += o.tookBack; total.recovery = total.recovery ?? o.recovery
                if o.ownForkPending { total.ownForkPending = true }
            }
            try produce { c, signature in
                if batcher.mayClose(before: c) { try apply() }
                try batcher.add(c, signature: signature, in: self)
            }
            try apply()
        }
        return total
    }
}

/// Where a bundle's bytes come from, read by offset (a bundle is read
/// twice, see `Store.importBundle`).
protocol BundleSource {
    var size: Int { get }
    /// Up to `count` bytes from `offset`; fewer only at the end.
    func read(at offset: Int, count: Int) throws -> [UInt8]
}

/// A bundle in memory.
struct BundleBytes: BundleSource {
    let bytes: [UInt8]
    var size: Int { bytes.count }
    func read(at offset: Int, count: Int) throws -> [UInt8] {
        let start = min(max(0, offset), bytes.count)
        return Array(bytes[start..<min(bytes.count, start + max(0, count))])
    }
}

/// A bundle in a file, read a piece at a time.
struct BundleFile: BundleSource {
    let handle: FileHandle
    let size: Int
    func read(at offset: Int, count: Int) throws -> [UInt8] {
        try handle.seek(toOffset: UInt64(max(0, offset)))
        var out: [UInt8] = []
        while out.count < count, let data = try handle.read(upToCount: count - out.count), !data.isEmpty { out += data }
        return out
    }
}

/// A bundle's bytes from `offset` to `end`, decoded a value at a time
/// through a window of them: at least `piece` bytes ahead are loaded
/// before a value is decoded, and a value longer than what is loaded (a
/// long report's body) is tried again with twice as much, until the end.
struct BundleWindow<Source: BundleSource> {
    private let piece: Int
    private let source: Source
    private let end: Int
    private var reader: ByteReader
    private var start: Int
    private var loadedEnd: Int

    init(_ source: Source, from offset: Int, end: Int, piece: Int) {
        self.piece = max(1, piece)
        self.source = source
        self.end = end
        reader = ByteReader([])
        start = offset
        loadedEnd = offset
    }

    /// Where the next value starts, in the bundle.
    var position: Int { start + reader.offset }

    mutating func next<T>(_ decode: (inout ByteReader) throws -> T) throws -> T {
        var ahead = piece
        while true {
            if loadedEnd < end, loadedEnd - position < ahead { try load(ahead) }
            var attempt = reader
            do {
                let value = try decode(&attempt)
                reader = attempt
                return value
            } catch let e as WireError {
                // Only a value cut off by the window is tried again.
                guard loadedEnd < end else { throw e }
                ahead *= 2
            }
        }
    }

    /// Keeps the bytes not read yet and loads more, up to `ahead` past
    /// the position (at least a piece more).
    private mutating func load(_ ahead: Int) throws {
        let kept = Array(reader.bytes[reader.offset...])
        let wanted = min(end - loadedEnd, max(piece, position + ahead - loadedEnd))
        let more = try source.read(at: loadedEnd, count: wanted)
        guard more.count == wanted else { throw WireError("message truncated") }
        start = position
        loadedEnd += more.count
        reader = ByteReader(kept + more)
    }
}
