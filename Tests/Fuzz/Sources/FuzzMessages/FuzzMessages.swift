import MarginSync

/// The first byte is the message type, the rest its payload. A message that
/// decodes must encode back to a payload that decodes to the same message.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzMessages(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    guard count >= 1 else { return 0 }
    let bytes = Array(UnsafeBufferPointer(start: start, count: count))
    guard let message = try? Wire.decode(type: bytes[0], payload: Array(bytes[1...])) else { return 0 }
    let again = try? Wire.decode(type: message.type.rawValue, payload: Wire.payload(message))
    precondition(again == message, "a decoded message does not survive encoding")
    return 0
}
