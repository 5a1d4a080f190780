import MarginSync

/// Feeds the input to the frame decoder in pieces whose sizes come from the
/// input itself, the way a socket delivers it. Any outcome but a crash, a hang
/// or an unbounded allocation is fine: a frame, a need for more bytes, or a
/// clean error.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFrames(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: start, count: count))
    var decoder = FrameDecoder(maxFrame: 1 << 16)
    var offset = 0
    var piece = 1
    while offset < bytes.count {
        let end = min(bytes.count, offset + piece)
        decoder.append(bytes[offset..<end])
        piece = Int(bytes[offset] % 17) + 1
        offset = end
        do {
            while let frame = try decoder.next() {
                precondition(frame.raw.count == frame.payload.count + 5, "frame bytes do not add up")
                _ = try? Wire.decode(type: frame.type, payload: frame.payload)
            }
        } catch {
            return 0
        }
        precondition(decoder.buffered <= (1 << 16) + 4 + 17, "decoder buffered more than one frame")
    }
    return 0
}
