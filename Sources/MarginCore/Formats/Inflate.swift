/// DEFLATE decoding (RFC 1951), for the compressed entries of the zip
/// archives other tools write (`.qdpx` from QualCoder, ATLAS.ti, MAXQDA).
/// A canonical-Huffman decoder after the RFC's own description (§3.2):
/// stored, fixed and dynamic blocks. Output is bounded by `limit`, so a
/// small archive cannot unpack into gigabytes (a zip bomb): past it, a
/// clear error, never more memory.
public enum Inflate {
    /// The bytes `data` (a raw DEFLATE stream, no zlib or gzip wrapper)
    /// decode to. Throws when the stream is damaged, ends early, or would
    /// produce more than `limit` bytes.
    public static func decode(_ data: ArraySlice<UInt8>, limit: Int) throws -> [UInt8] {
        var input = BitReader(data)
        var out: [UInt8] = []
        out.reserveCapacity(min(limit, max(64, data.count * 4)))
        var last = false
        while !last {
            last = try input.bits(1) == 1
            switch try input.bits(2) {
            case 0: try stored(&input, &out, limit)
            case 1: try codes(&input, &out, limit, Fixed.lengths, Fixed.distances)
            case 2:
                let (lengths, distances) = try dynamicTables(&input)
                try codes(&input, &out, limit, lengths, distances)
            default: throw damaged("a block of the reserved type 3")
            }
        }
        return out
    }

    static func damaged(_ why: String) -> MarginError { MarginError.invalid("the compressed data is damaged: \(why)") }

    static func tooLarge(_ limit: Int) -> MarginError {
        MarginError.invalid("the compressed data unpacks to more than \(limit) bytes, more than it declares or Margin reads (a zip bomb?); refused")
    }

    /// Bits least significant first, as DEFLATE packs them.
    struct BitReader {
        let bytes: ArraySlice<UInt8>
        var position: Int
        var buffer: UInt32 = 0
        var count = 0

        init(_ bytes: ArraySlice<UInt8>) { self.bytes = bytes; position = bytes.startIndex }

        /// The next `n` bits (n ≤ 16) as a number.
        mutating func bits(_ n: Int) throws -> Int {
            while count < n {
                guard position < bytes.endIndex else { throw Inflate.damaged("it ends before its last block does") }
                buffer |= UInt32(bytes[position]) << UInt32(count)
                position += 1
                count += 8
            }
            let value = Int(buffer & ((1 << UInt32(n)) - 1))
            buffer >>= UInt32(n)
            count -= n
            return value
        }

        /// Drops the bits left of the current byte (before a stored block).
        mutating func alignToByte() { buffer = 0; count = 0 }
    }

    /// A canonical Huffman code (RFC 1951 §3.2.2) given by its code lengths:
    /// how many codes of each length, and the symbols in code order.
    struct Huffman {
        var counts = [Int](repeating: 0, count: 16)
        var symbols: [Int] = []

        init(lengths: [Int]) throws {
            for l in lengths { counts[l] += 1 }
            var left = 1
            for len in 1...15 {
                left <<= 1
                left -= counts[len]
                guard left >= 0 else { throw Inflate.damaged("a Huffman code with more codes than its lengths allow") }
            }
            var offsets = [Int](repeating: 0, count: 16)
            for len in 1..<15 { offsets[len + 1] = offsets[len] + counts[len] }
            symbols = [Int](repeating: 0, count: lengths.count)
            for (symbol, l) in lengths.enumerated() where l != 0 {
                symbols[offsets[l]] = symbol
                offsets[l] += 1
            }
        }

        /// Reads one code a bit at a time: codes of each length are
        /// consecutive numbers, so the code is found by comparing with the
        /// first code of its length.
        func decode(_ input: inout BitReader) throws -> Int {
            var code = 0, first = 0, index = 0
            for len in 1...15 {
                code |= try input.bits(1)
                let count = counts[len]
                if code - count < first { return symbols[index + code - first] }
                index += count
                first = (first + count) << 1
                code <<= 1
            }
            throw Inflate.damaged("a code that is not in its Huffman table")
        }
    }

    static func stored(_ input: inout BitReader, _ out: inout [UInt8], _ limit: Int) throws {
        input.alignToByte()
        let length = try input.bits(16), complement = try input.bits(16)
        guard length == ~complement & 0xFFFF else { throw damaged("a stored block whose length and its complement disagree") }
        guard input.position + length <= input.bytes.endIndex else { throw damaged("a stored block longer than the data") }
        guard out.count + length <= limit else { throw tooLarge(limit) }
        out += input.bytes[input.position..<(input.position + length)]
        input.position += length
    }

    static let lengthBase = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258]
    static let lengthExtra = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0]
    static let distanceBase = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073,
                               4097, 6145, 8193, 12289, 16385, 24577]
    static let distanceExtra = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13]

    /// The fixed codes of block type 1 (RFC 1951 §3.2.6).
    enum Fixed {
        static let lengths: Huffman = {
            let l = [Int](repeating: 8, count: 144) + [Int](repeating: 9, count: 112) + [Int](repeating: 7, count: 24) + [Int](repeating: 8, count: 8)
            // Well-formed by construction.
            return (try? Huffman(lengths: l)) ?? Huffman.empty
        }()
        static let distances: Huffman = (try? Huffman(lengths: [Int](repeating: 5, count: 30))) ?? Huffman.empty
    }

    /// A block's literal/length and distance codes, read from its header
    /// (RFC 1951 §3.2.7).
    static func dynamicTables(_ input: inout BitReader) throws -> (Huffman, Huffman) {
        let literals = try input.bits(5) + 257, distances = try input.bits(5) + 1, codeLengths = try input.bits(4) + 4
        guard literals <= 286, distances <= 30 else { throw damaged("a block with more codes than DEFLATE has") }
        let order = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]
        var lengthsOfLengths = [Int](repeating: 0, count: 19)
        for i in 0..<codeLengths { lengthsOfLengths[order[i]] = try input.bits(3) }
        let lengthCode = try Huffman(lengths: lengthsOfLengths)
        var lengths: [Int] = []
        lengths.reserveCapacity(literals + distances)
        while lengths.count < literals + distances {
            let symbol = try lengthCode.decode(&input)
            switch symbol {
            case 0...15: lengths.append(symbol)
            case 16:
                guard let previous = lengths.last else { throw damaged("a repeat with nothing before it") }
                lengths += repeatElement(previous, count: 3 + (try input.bits(2)))
            case 17: lengths += repeatElement(0, count: 3 + (try input.bits(3)))
            default: lengths += repeatElement(0, count: 11 + (try input.bits(7)))
            }
        }
        guard lengths.count == literals + distances else { throw damaged("code lengths that run past the block's codes") }
        guard lengths[256] != 0 else { throw damaged("a block with no end-of-block code") }
        return (try Huffman(lengths: Array(lengths[..<literals])), try Huffman(lengths: Array(lengths[literals...])))
    }

    /// Literals and back-references until the end-of-block code.
    static func codes(_ input: inout BitReader, _ out: inout [UInt8], _ limit: Int, _ lengths: Huffman, _ distances: Huffman) throws {
        while true {
            let symbol = try lengths.decode(&input)
            if symbol < 256 {
                guard out.count < limit else { throw tooLarge(limit) }
                out.append(UInt8(symbol))
            } else if symbol == 256 {
                return
            } else {
                let index = symbol - 257
                guard index < lengthBase.count else { throw damaged("a length code out of range") }
                let length = lengthBase[index] + (try input.bits(lengthExtra[index]))
                let d = try distances.decode(&input)
                guard d < distanceBase.count else { throw damaged("a distance code out of range") }
                let distance = distanceBase[d] + (try input.bits(distanceExtra[d]))
                guard distance <= out.count else { throw damaged("a distance further back than the data") }
                guard out.count + length <= limit else { throw tooLarge(limit) }
                let from = out.count - distance
                for k in 0..<length { out.append(out[from + k]) }
            }
        }
    }
}

extension Inflate.Huffman {
    static let empty = Inflate.Huffman()
    private init() {}
}
