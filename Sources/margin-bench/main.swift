import Foundation
import MarginCore

let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mb-\(UUID().uuidString)")
try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(at: dir) }
let origin = "00000000000000aa"
var changes: [Change] = []
var seq: Int64 = 0
let rec = String(repeating: "a", count: 32)
for i in 0..<(CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1])! : 5000) {
    let id = String(format: "%032x", i + 1)
    for (f, v) in [("record", FieldValue.text(rec)), ("code", .text("c1")), ("start", .int(5)), ("end", .int(9)), ("quote", .text("159名黨員")), ("prefix", .text("共有")), ("suffix", .text("加入")), ("value", .text("159")), ("status", .text("open")), ("author", .text("x"))] {
        seq += 1
        changes.append(Change(id: ChangeID(origin: origin, seq: seq), hlc: HLC(milliseconds: 1_700_000_000_000 + seq, counter: 0), kind: .annotation, entity: id, field: f, value: v))
    }
}
let s = try Store.create(directory: dir.appendingPathComponent("s").path, name: "s")
let t0 = Date()
for chunk in stride(from: 0, to: changes.count, by: 5000) {
    _ = try s.receiveBatch(Array(changes[chunk..<min(changes.count, chunk + 5000)]))
}
let dt = Date().timeIntervalSince(t0)
print("applied \(changes.count) in \(dt) s: \(Int(Double(changes.count) / dt))/s")
