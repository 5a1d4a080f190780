import MarginCore
import MarginSync

/// The first byte is the message type, the rest its payload. A message that
/// decodes must encode back to a payload that decodes to the same message,
/// and the session order (`SessionOrder`) at each of its receiving steps, on
/// either side, must take it or refuse it with a SyncError, never moving a
/// step back.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzMessages(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    guard count >= 1 else { return 0 }
    let bytes = Array(UnsafeBufferPointer(start: start, count: count))
    guard let message = try? Wire.decode(type: bytes[0], payload: Array(bytes[1...])) else { return 0 }
    let again = try? Wire.decode(type: message.type.rawValue, payload: Wire.payload(message))
    precondition(again == message, "a decoded message does not survive encoding")
    for stop in stops {
        var order = stop
        if (try? order.receive(message)) == nil { precondition(order.step == stop.step, "a refused message moved the order") }
    }
    return 0
}

/// Session orders of both sides, stopped at each step where they receive.
let stops = receivingSteps(.client) + receivingSteps(.server)

/// A session order stopped at each step where it receives.
func receivingSteps(_ role: SessionOrder.Role) -> [SessionOrder] {
    let hello = Hello(schemaVersion: 6, node: "0123456789abcdef", publicKey: [], signature: [], wallClock: 0, sends: true, receives: true, name: "p")
    var order = SessionOrder(role: role, window: 2)
    var stops: [SessionOrder] = []
    while order.step != .finished, stops.count < 8 {
        switch order.step {
        case .sendHello: try? order.sendHello(hello)
        case .sendHave: try? order.sendHave()
        case .sendChanges:
            if order.batchesSent == 0 {
                _ = try? order.sendBatch(count: 1, heads: [:])
                stops.append(order)
            }
            _ = try? order.sendDone()
            stops.append(order)
            _ = try? order.receive(.ack(number: 1, applied: 1))
        case .receiveHello: stops.append(order); _ = try? order.receive(.hello(hello))
        case .receiveHave: stops.append(order); _ = try? order.receive(.have(VersionVector()))
        case .receiveChanges: stops.append(order); _ = try? order.receive(.done(count: 0))
        case .finished: break
        }
    }
    stops.append(order)
    return stops
}
