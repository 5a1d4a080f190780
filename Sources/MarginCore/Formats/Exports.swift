import Foundation

/// The annotations and records every export writes (`Formats/`): the live
/// state, blind coding respected, unanchored spans left out. Each format
/// adds its writer in its own file, beside its reader where it has one.
/// The formats other tools read, each written from the store's live state.
/// Offsets are Unicode code points everywhere, as in Margin itself; see
/// each writer for what its format counts.
public struct ExportSet {
    public let store: Store
    public let records: [Record]
    public let annotations: [Annotation]
    public let codePaths: [String: String]
    /// Annotations left out: their span does not hold in their record's
    /// text of now (placed on an earlier cleaning, or orphaned by
    /// `reclean`), so their offsets would point at other text.
    public let unanchored: Int

    public init(_ store: Store) throws {
        self.store = store
        codePaths = try store.codePaths()
        let blind = try store.isBlind
        let (anchored, left) = try ExportSet.anchored(store, try store.annotations().filter { store.isVisible($0, blind: blind) })
        annotations = Store.exportOrder(anchored)
        unanchored = left
        var records: [Record] = []
        for summary in try store.records() { if let r = try store.record(summary.id) { records.append(r) } }
        self.records = records
    }

    /// `list` without the annotations whose span does not hold now, and how many those were.
    public static func anchored(_ store: Store, _ list: [Annotation]) throws -> ([Annotation], Int) {
        let out = Set(try store.unanchoredAnnotations().map(\.id))
        return out.isEmpty ? (list, 0) : (list.filter { !out.contains($0.id) }, list.filter { out.contains($0.id) }.count)
    }

    /// The warning an export gives when it left annotations out.
    public static func unanchoredWarning(_ n: Int) -> String {
        "margin export: \(n) annotation\(n == 1 ? " is" : "s are") not anchored in the text of now and left out "
            + "(margin check names them; margin reclean places them)"
    }

    public func path(_ a: Annotation) -> String? {
        a.code.map { (try? store.effectiveCode($0)) ?? $0 }.flatMap { codePaths[$0] }
    }
}
