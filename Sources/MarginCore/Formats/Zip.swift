import Foundation

/// CRC-32 as zip, PNG and Ethernet use it (ISO-HDLC: polynomial 0x04C11DB7
/// reflected, initial and final XOR 0xFFFFFFFF). Check value: "123456789"
/// gives 0xCBF43926.
public enum CRC32 {
    static let table: [UInt32] = (0..<256).map { n -> UInt32 in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    public static func checksum(_ bytes: [UInt8]) -> UInt32 {
        finish(update(start, bytes))
    }

    /// A checksum taken over parts: `finish(update(update(start, a), b))`
    /// is `checksum(a + b)`.
    static let start: UInt32 = 0xFFFF_FFFF
    static func update(_ crc: UInt32, _ bytes: [UInt8]) -> UInt32 {
        var c = crc
        table.withUnsafeBufferPointer { t in
            for b in bytes { c = t[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
        }
        return c
    }
    static func finish(_ crc: UInt32) -> UInt32 { crc ^ 0xFFFF_FFFF }
}

/// Zip archives: what REFI-QDA's `.qdpx` needs, without a compression
/// library. Margin writes stored (uncompressed) entries; it reads stored
/// and deflated ones (`Inflate`), as QualCoder and ATLAS.ti write them.
public enum Zip {
    /// The most bytes an archive's entries may unpack to, together (1 GiB):
    /// more is refused before anything is unpacked.
    public static let maxUnpackedBytes = 1 << 30

    public struct Entry: Equatable, Sendable {
        public var name: String
        public var data: [UInt8]
        public init(name: String, data: [UInt8]) { self.name = name; self.data = data }
    }

    /// The entries as one archive in memory.
    public static func archive(_ entries: [Entry]) throws -> [UInt8] {
        var out: [UInt8] = []
        var writer = Writer { out += $0 }
        for e in entries { try writer.add(name: e.name, data: e.data) }
        try writer.finish()
        return out
    }

    /// A zip archive of stored entries written in order to `sink` (a file
    /// as it grows, or memory), so that an archive of a whole store is
    /// never held whole. Every entry bears a fixed timestamp (1980-01-01
    /// 00:00, the format's epoch): the same entries always make the same
    /// archive. Past 65,535 entries or 4 GiB the format needs ZIP64, which
    /// Margin does not write: refused, not written wrong.
    public struct Writer {
        private let sink: ([UInt8]) throws -> Void
        private var central: [UInt8] = []
        private var count = 0
        /// Bytes written so far: where the next entry starts.
        private var offset = 0

        public init(_ sink: @escaping ([UInt8]) throws -> Void) { self.sink = sink }

        public mutating func add(name: String, data: [UInt8]) throws {
            try add(name: name, crc: CRC32.checksum(data), size: data.count) { write in try write(data) }
        }

        /// An entry whose bytes come in parts, its checksum and size known
        /// before (the header holds them): `parts` hands each part to
        /// `write`, and they must add up to `size` bytes.
        public mutating func add(name: String, crc: UInt32, size: Int, parts: (_ write: ([UInt8]) throws -> Void) throws -> Void) throws {
            guard count < 0xFFFF, offset + size < 0xFFFF_FFFF, size < 0xFFFF_FFFF else {
                throw MarginError.invalid("the archive would hold more than 65,535 files or 4 GiB, which needs ZIP64; Margin does not write it")
            }
            let name = Array(name.utf8)
            var header: [UInt8] = []
            // Local file header (bit 11: names are UTF-8).
            Zip.u32(0x0403_4B50, &header); Zip.u16(20, &header); Zip.u16(0x0800, &header); Zip.u16(0, &header); Zip.u16(0, &header); Zip.u16(0x21, &header)
            Zip.u32(crc, &header); Zip.u32(UInt32(size), &header); Zip.u32(UInt32(size), &header)
            Zip.u16(name.count, &header); Zip.u16(0, &header); header += name
            try sink(header)
            var written = 0
            let sink = self.sink
            try parts { part in
                written += part.count
                try sink(part)
            }
            guard written == size else { throw MarginError.invalid("zip entry \(String(decoding: name, as: UTF8.self)): \(written) bytes written, \(size) declared") }
            // Its central directory entry.
            Zip.u32(0x0201_4B50, &central); Zip.u16(20, &central); Zip.u16(20, &central); Zip.u16(0x0800, &central); Zip.u16(0, &central)
            Zip.u16(0, &central); Zip.u16(0x21, &central); Zip.u32(crc, &central); Zip.u32(UInt32(size), &central)
            Zip.u32(UInt32(size), &central); Zip.u16(name.count, &central); Zip.u16(0, &central); Zip.u16(0, &central)
            Zip.u16(0, &central); Zip.u16(0, &central); Zip.u32(0, &central); Zip.u32(UInt32(offset), &central); central += name
            offset += header.count + size
            count += 1
        }

        /// The central directory and its end record.
        public mutating func finish() throws {
            guard offset + central.count < 0xFFFF_FFFF else {
                throw MarginError.invalid("the archive would hold more than 4 GiB, which needs ZIP64; Margin does not write it")
            }
            var end: [UInt8] = []
            Zip.u32(0x0605_4B50, &end); Zip.u16(0, &end); Zip.u16(0, &end); Zip.u16(count, &end); Zip.u16(count, &end)
            Zip.u32(UInt32(central.count), &end); Zip.u32(UInt32(offset), &end); Zip.u16(0, &end)
            try sink(central)
            try sink(end)
        }
    }

    /// Little-endian fields, as zip lays them out.
    static func u16(_ v: Int, _ into: inout [UInt8]) { into += [UInt8(v & 0xFF), UInt8((v >> 8) & 0xFF)] }
    static func u32(_ v: UInt32, _ into: inout [UInt8]) { for i in 0..<4 { into.append(UInt8((v >> (8 * UInt32(i))) & 0xFF)) } }

    /// The entries of an archive, read through its central directory.
    public static func entries(_ bytes: [UInt8]) throws -> [Entry] {
        func u16(_ at: Int) throws -> Int {
            guard at >= 0, at + 2 <= bytes.count else { throw MarginError.invalid("the zip archive is truncated") }
            return Int(bytes[at]) | Int(bytes[at + 1]) << 8
        }
        func u32(_ at: Int) throws -> Int {
            let low = try u16(at), high = try u16(at + 2)
            return low | high << 16
        }
        // The end-of-central-directory record: within the last 64 KiB + 22 bytes.
        var end = -1
        var i = bytes.count - 22
        while i >= max(0, bytes.count - 22 - 65_535) {
            if bytes[i] == 0x50, bytes[i + 1] == 0x4B, bytes[i + 2] == 0x05, bytes[i + 3] == 0x06 { end = i; break }
            i -= 1
        }
        guard end >= 0 else { throw MarginError.invalid("not a zip archive (no central directory)") }
        let count = try u16(end + 10)
        var at = try u32(end + 16)
        var out: [Entry] = []
        // Where each entry lies, header to data end: entries that share
        // bytes (a zip bomb's trick, one small archive read as gigabytes)
        // are refused, so what is read is never more than the archive.
        var spans: [(start: Int, end: Int, name: String)] = []
        var unpacked = 0
        guard count <= bytes.count / 46 else { throw MarginError.invalid("the zip archive's central directory is damaged") }
        for _ in 0..<count {
            guard try u32(at) == 0x0201_4B50 else { throw MarginError.invalid("the zip archive's central directory is damaged") }
            let method = try u16(at + 10), size = try u32(at + 20), stored = try u32(at + 24)
            let nameLength = try u16(at + 28), extra = try u16(at + 30), comment = try u16(at + 32), local = try u32(at + 42)
            guard at + 46 + nameLength <= bytes.count else { throw MarginError.invalid("the zip archive is truncated") }
            let name = String(decoding: bytes[(at + 46)..<(at + 46 + nameLength)], as: UTF8.self)
            guard method == 0 || method == 8 else {
                throw MarginError.invalid("\(Printable.line(name)) in the zip archive uses compression method \(method); Margin reads stored and deflated entries (re-save the project with ordinary zip compression)")
            }
            guard size != 0xFFFF_FFFF, stored != 0xFFFF_FFFF else {
                throw MarginError.invalid("\(Printable.line(name)) in the zip archive is in the ZIP64 form (4 GiB or more), which Margin does not read")
            }
            unpacked += stored
            guard unpacked <= maxUnpackedBytes else {
                throw MarginError.invalid("the zip archive would unpack to more than \(maxUnpackedBytes) bytes (1 GiB), more than Margin reads; refused")
            }
            let localName = try u16(local + 26), localExtra = try u16(local + 28)
            let dataStart = local + 30 + localName + localExtra
            guard try u32(local) == 0x0403_4B50, dataStart + size <= bytes.count else { throw MarginError.invalid("the zip archive is damaged at \(Printable.line(name))") }
            spans.append((local, dataStart + size, name))
            let data: [UInt8]
            if method == 0 {
                guard size == stored else { throw MarginError.invalid("the zip archive is damaged at \(Printable.line(name))") }
                data = Array(bytes[dataStart..<(dataStart + size)])
            } else {
                // Never more than the entry declares: a stream that would
                // unpack to more is refused as it reaches the bound.
                do { data = try Inflate.decode(bytes[dataStart..<(dataStart + size)], limit: stored) } catch {
                    throw MarginError.invalid("\(Printable.line(name)) in the zip archive: \(MarginError.message(for: error))")
                }
                guard data.count == stored else {
                    throw MarginError.invalid("\(Printable.line(name)) in the zip archive unpacks to \(data.count) bytes, not the \(stored) it declares")
                }
            }
            let crc = try u32(at + 16)
            guard CRC32.checksum(data) == UInt32(crc) else { throw MarginError.invalid("\(Printable.line(name)) in the zip archive fails its CRC-32 check") }
            out.append(Entry(name: name, data: data))
            at += 46 + nameLength + extra + comment
        }
        spans.sort { $0.start < $1.start }
        for (a, b) in zip(spans, spans.dropFirst()) where b.start < a.end {
            throw MarginError.invalid("the zip archive's entries \(Printable.line(a.name)) and \(Printable.line(b.name)) overlap; it is refused")
        }
        return out
    }
}

/// Bytes set aside and read back in order: a part of an archive entry
/// made before what must precede it (a zip header holds its entry's
/// checksum and length). In a file, written 1 MB at a time, so that memory
/// stays one chunk however large the part; or in memory when no file is
/// named.
final class Spool {
    private let path: String?
    private let file: FileHandle?
    private var pending: [UInt8] = []
    /// Every byte appended, in memory or in the file.
    private(set) var count = 0
    private static let chunk = 1 << 20

    init(path: String?) throws {
        self.path = path
        guard let path else { file = nil; return }
        guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]),
              let handle = FileHandle(forUpdatingAtPath: path) else {
            throw MarginError.invalid("cannot write \(path)")
        }
        file = handle
    }

    func append(_ bytes: [UInt8]) throws {
        pending += bytes
        count += bytes.count
        if let file, pending.count >= Spool.chunk {
            try file.write(contentsOf: pending)
            pending.removeAll(keepingCapacity: true)
        }
    }

    /// What was appended, from the start, a chunk at a time.
    func forEachChunk(_ body: ([UInt8]) throws -> Void) throws {
        guard let file else {
            if !pending.isEmpty { try body(pending) }
            return
        }
        if !pending.isEmpty {
            try file.write(contentsOf: pending)
            pending.removeAll(keepingCapacity: true)
        }
        try file.seek(toOffset: 0)
        var read = 0
        while read < count {
            guard let data = try file.read(upToCount: min(Spool.chunk, count - read)), !data.isEmpty else {
                throw MarginError.invalid("\(path ?? "the spool") ended early")
            }
            read += data.count
            try body(Array(data))
        }
        try file.seekToEnd()
    }

    /// Closes and deletes the file, if any.
    func remove() {
        try? file?.close()
        if let path { unlink(path) }
    }
}
