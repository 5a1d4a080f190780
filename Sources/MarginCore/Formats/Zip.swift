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
        var c: UInt32 = 0xFFFF_FFFF
        for b in bytes { c = table[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
        return c ^ 0xFFFF_FFFF
    }
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

    /// A fixed timestamp (1980-01-01 00:00, the format's epoch): the same
    /// entries always make the same archive.
    public static func archive(_ entries: [Entry]) -> [UInt8] {
        var out: [UInt8] = [], central: [UInt8] = []
        func u16(_ v: Int, _ into: inout [UInt8]) { into += [UInt8(v & 0xFF), UInt8((v >> 8) & 0xFF)] }
        func u32(_ v: UInt32, _ into: inout [UInt8]) { for i in 0..<4 { into.append(UInt8((v >> (8 * UInt32(i))) & 0xFF)) } }
        for e in entries {
            let name = Array(e.name.utf8), crc = CRC32.checksum(e.data), offset = UInt32(out.count)
            // Local file header.
            u32(0x0403_4B50, &out); u16(20, &out); u16(0x0800, &out); u16(0, &out); u16(0, &out); u16(0x21, &out)
            u32(crc, &out); u32(UInt32(e.data.count), &out); u32(UInt32(e.data.count), &out)
            u16(name.count, &out); u16(0, &out); out += name; out += e.data
            // Central directory entry (bit 11: names are UTF-8).
            u32(0x0201_4B50, &central); u16(20, &central); u16(20, &central); u16(0x0800, &central); u16(0, &central)
            u16(0, &central); u16(0x21, &central); u32(crc, &central); u32(UInt32(e.data.count), &central)
            u32(UInt32(e.data.count), &central); u16(name.count, &central); u16(0, &central); u16(0, &central)
            u16(0, &central); u16(0, &central); u32(0, &central); u32(offset, &central); central += name
        }
        let start = UInt32(out.count)
        out += central
        u32(0x0605_4B50, &out); u16(0, &out); u16(0, &out); u16(entries.count, &out); u16(entries.count, &out)
        u32(UInt32(central.count), &out); u32(start, &out); u16(0, &out)
        return out
    }

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
