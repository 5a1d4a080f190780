import Foundation
import MarginCrypto

/// The few XML facilities REFI-QDA needs, written here (no XML library):
/// escaping for the writer, and a reader of elements, attributes and text
/// (comments, processing instructions and the document type are skipped;
/// CDATA is text).
public enum XML {
    public static func escape(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for c in s.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "\n": out += "&#10;"
            case "\t": out += "&#9;"
            case "\r": out += "&#13;"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }

    /// An element with its attributes, children and text.
    public final class Element {
        public let name: String
        public let attributes: [String: String]
        public var children: [Element] = []
        public var text = ""
        init(name: String, attributes: [String: String]) { self.name = name; self.attributes = attributes }

        public func child(_ name: String) -> Element? { children.first { $0.name == name } }
        public func all(_ name: String) -> [Element] { children.filter { $0.name == name } }
        /// Every descendant named `name`, depth first.
        public func descendants(_ name: String) -> [Element] {
            children.flatMap { ($0.name == name ? [$0] : []) + $0.descendants(name) }
        }
    }

    /// How deep elements may nest: far more than a REFI-QDA project needs
    /// (a code tree deeper than `Store.maxCodeDepth` is refused anyway), and
    /// little enough that nothing recursive over the tree runs out of stack.
    public static let maxDepth = 256

    /// The document's root element. Element names lose their namespace prefix.
    public static func parse(_ text: String) throws -> Element {
        let s = Array(text.unicodeScalars)
        var i = 0
        var stack: [Element] = []
        var root: Element?
        func fail(_ why: String) -> Error { MarginError.invalid("XML: \(why) (at character \(i))") }
        func decode(_ raw: [Unicode.Scalar]) throws -> String {
            var out = String.UnicodeScalarView(), j = 0
            while j < raw.count {
                guard raw[j] == "&" else { out.append(raw[j]); j += 1; continue }
                guard let semi = raw[j...].firstIndex(of: ";"), semi - j <= 10 else { throw fail("a bare & in text") }
                let entity = String(String.UnicodeScalarView(raw[(j + 1)..<semi]))
                switch entity {
                case "amp": out.append("&")
                case "lt": out.append("<")
                case "gt": out.append(">")
                case "quot": out.append("\"")
                case "apos": out.append("'")
                default:
                    let number = entity.hasPrefix("#x") ? UInt32(entity.dropFirst(2), radix: 16) : entity.hasPrefix("#") ? UInt32(entity.dropFirst(), radix: 10) : nil
                    guard let n = number, let u = Unicode.Scalar(n) else { throw fail("unknown entity &\(entity);") }
                    out.append(u)
                }
                j = semi + 1
            }
            return String(out)
        }
        func local(_ name: String) -> String { name.split(separator: ":").last.map(String.init) ?? name }
        func starts(_ p: String) -> Bool { Array(p.unicodeScalars).enumerated().allSatisfy { i + $0.offset < s.count && s[i + $0.offset] == $0.element } }
        func skip(past end: String) throws {
            let e = Array(end.unicodeScalars)
            while i + e.count <= s.count { if Array(s[i..<(i + e.count)]) == e { i += e.count; return }; i += 1 }
            throw fail("\(end) missing")
        }
        while i < s.count {
            if s[i] != "<" {
                let start = i
                while i < s.count && s[i] != "<" { i += 1 }
                if let top = stack.last { top.text += try decode(Array(s[start..<i])) }
                continue
            }
            if starts("<!--") { try skip(past: "-->"); continue }
            if starts("<?") { try skip(past: "?>"); continue }
            if starts("<![CDATA[") {
                i += 9
                let start = i
                try skip(past: "]]>")
                stack.last?.text += String(String.UnicodeScalarView(s[start..<(i - 3)]))
                continue
            }
            if starts("<!") { try skip(past: ">"); continue }
            if starts("</") {
                i += 2
                let start = i
                while i < s.count && s[i] != ">" { i += 1 }
                guard i < s.count else { throw fail("unclosed end tag") }
                let name = local(String(String.UnicodeScalarView(s[start..<i])).trimmingCharacters(in: .whitespaces))
                i += 1
                guard let top = stack.popLast(), top.name == name else { throw fail("</\(name)> does not close the open element") }
                continue
            }
            // A start tag.
            i += 1
            func word() -> String {
                let start = i
                while i < s.count, !s[i].properties.isWhitespace, s[i] != ">", s[i] != "/", s[i] != "=" { i += 1 }
                return String(String.UnicodeScalarView(s[start..<i]))
            }
            func spaces() { while i < s.count && s[i].properties.isWhitespace { i += 1 } }
            let name = local(word())
            guard !name.isEmpty else { throw fail("an element without a name") }
            var attributes: [String: String] = [:]
            var selfClosing = false
            while true {
                spaces()
                guard i < s.count else { throw fail("unclosed start tag <\(name)>") }
                if s[i] == ">" { i += 1; break }
                if s[i] == "/" { selfClosing = true; i += 1; spaces(); guard i < s.count, s[i] == ">" else { throw fail("bad />") }; i += 1; break }
                let key = local(word())
                spaces()
                guard i < s.count, s[i] == "=" else { throw fail("attribute \(key) has no value") }
                i += 1; spaces()
                guard i < s.count, s[i] == "\"" || s[i] == "'" else { throw fail("attribute \(key) is not quoted") }
                let quote = s[i]; i += 1
                let start = i
                while i < s.count && s[i] != quote { i += 1 }
                guard i < s.count else { throw fail("attribute \(key) is not closed") }
                attributes[key] = try decode(Array(s[start..<i]))
                i += 1
            }
            let element = Element(name: name, attributes: attributes)
            if let top = stack.last { top.children.append(element) } else if root == nil { root = element } else { throw fail("two root elements") }
            if !selfClosing {
                guard stack.count < maxDepth else { throw fail("elements nest deeper than \(maxDepth)") }
                stack.append(element)
            }
        }
        guard stack.isEmpty, let root else { throw fail(stack.isEmpty ? "no root element" : "<\(stack.last?.name ?? "")> is not closed") }
        return root
    }
}

/// REFI-QDA (www.qdasoftware.org), the exchange standard of NVivo, MAXQDA,
/// ATLAS.ti and QualCoder: a project (`.qdpx`, a zip of `project.qde` and
/// the sources) and a codebook (`.qdc`). Selections count positions in
/// Unicode code points, as Margin does.
public enum REFI {
    /// A selection's value and note from its Description, as the export
    /// writes them: `value: V`, then a line `note: N`, either one alone.
    /// A note runs to the end, line breaks and all (it was split at every
    /// line, so a note of two lines took the value with it); a Description
    /// in no such form is the note.
    static func valueAndNote(_ description: String) -> (value: String?, note: String?) {
        guard !description.isEmpty else { return (nil, nil) }
        if description.hasPrefix("note: ") { return (nil, String(description.dropFirst(6))) }
        guard description.hasPrefix("value: ") else { return (nil, description) }
        let rest = String(description.dropFirst(7))
        guard let split = rest.range(of: "\nnote: ") else { return (rest, nil) }
        return (String(rest[..<split.lowerBound]), String(rest[split.upperBound...]))
    }

    public static let projectNamespace = "urn:QDA-XML:project:1.0"
    public static let codebookNamespace = "urn:QDA-XML:codebook:1.0"

    /// A GUID for a Margin id: the id's own hex digits where it has 32, else
    /// the first 32 of SHA-256 of a label and the id; always the same for
    /// the same id.
    static func guid(_ label: String, _ id: String) -> String {
        let hex = id.count == 32 && id.allSatisfy(\.isHexDigit) ? id : String(SHA256Hex.of(label + ":" + id).prefix(32))
        let h = Array(hex)
        return [h[0..<8], h[8..<12], h[12..<16], h[16..<20], h[20..<32]].map { String($0) }.joined(separator: "-")
    }

    /// Margin's colour names as REFI's #RRGGBB, and back.
    static let namedColours = ["black": "#000000", "red": "#FF0000", "green": "#008000", "yellow": "#FFFF00", "blue": "#0000FF",
                               "magenta": "#FF00FF", "cyan": "#00FFFF", "white": "#FFFFFF", "orange": "#FFA500", "purple": "#800080",
                               "grey": "#808080"]

    static func colour(_ c: String?) -> String? {
        guard let c else { return nil }
        if c.hasPrefix("#"), c.count == 7 { return c.uppercased() }
        return namedColours[c == "gray" ? "grey" : c]
    }

    /// A REFI colour as Margin writes colours: a name where one matches.
    static func colourName(_ rgb: String) -> String {
        let upper = rgb.uppercased()
        if upper.count == 4, upper.hasPrefix("#") { return "#" + upper.dropFirst().map { "\($0)\($0)" }.joined().lowercased() }
        return namedColours.first { $0.value == upper }?.key ?? rgb.lowercased()
    }

    /// `<Codes>` with nested `<Code>` elements, children inside parents.
    static func codesXML(_ codes: [Code], indent: String) -> String {
        let live = codes.filter { $0.mergedInto == nil }
        let ids = Set(live.map(\.id))
        func element(_ c: Code, _ pad: String) -> String {
            var s = pad + "<Code guid=\"\(guid("code", c.id))\" name=\"\(XML.escape(c.name))\" isCodable=\"true\""
            if let rgb = colour(c.colour) { s += " color=\"\(rgb)\"" }
            let children = live.filter { $0.parent == c.id }
            if c.description == nil && children.isEmpty { return s + "/>\n" }
            s += ">\n"
            if let d = c.description { s += pad + "  <Description>\(XML.escape(d))</Description>\n" }
            for child in children { s += element(child, pad + "  ") }
            return s + pad + "</Code>\n"
        }
        let roots = live.filter { $0.parent.map { !ids.contains($0) } ?? true }
        return indent + "<Codes>\n" + roots.map { element($0, indent + "  ") }.joined() + indent + "</Codes>\n"
    }

    /// A codebook file (`.qdc`).
    public static func codebook(_ codes: [Code]) -> String {
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<CodeBook xmlns=\"\(codebookNamespace)\" origin=\"Margin\">\n"
            + codesXML(codes, indent: "  ") + "</CodeBook>\n"
    }

    /// The codes of a `.qdc` or `.qde` document, parents before children:
    /// (name, parent name, colour, description).
    public static func codes(in root: XML.Element) -> [(name: String, parent: String?, colour: String?, description: String?)] {
        var out: [(String, String?, String?, String?)] = []
        func walk(_ e: XML.Element, parent: String?) {
            for code in e.all("Code") {
                guard let name = code.attributes["name"] else { continue }
                let description = code.child("Description")?.text
                out.append((name, parent, code.attributes["color"].map(colourName), description?.isEmpty == false ? description : nil))
                walk(code, parent: name)
            }
        }
        for codes in [root.child("Codes"), root.child("CodeBook")?.child("Codes")].compactMap({ $0 }) { walk(codes, parent: nil) }
        return out
    }
}

/// SHA-256 as lower-case hex, for derived identifiers.
enum SHA256Hex {
    static func of(_ s: String) -> String { SHA256.hash(s).hex }
}

extension Store {
    /// The order exports write annotations in: by record, span and id, the
    /// same in every store that holds them (not by when each store made its
    /// copy), so an export imported elsewhere exports to the same bytes.
    public static func exportOrder(_ list: [Annotation]) -> [Annotation] {
        list.sorted { a, b in
            (a.record, a.span?.start ?? Int.max, a.span?.end ?? Int.max, a.id) < (b.record, b.span?.start ?? Int.max, b.span?.end ?? Int.max, b.id)
        }
    }
}

extension REFI {
    /// Another tool's variable name as a Margin metadata key: one line,
    /// `=` as `-`, at most 59 bytes (PROTOCOL.md §1).
    static func metadataKey(_ name: String) -> String {
        var key = oneLine(name).replacingOccurrences(of: "=", with: "-").trimmingCharacters(in: .whitespaces)
        while key.utf8.count > 59 { key.removeLast() }
        return key.trimmingCharacters(in: .whitespaces)
    }

    /// Text for a one-line field: line breaks and tabs as spaces, other
    /// control characters left out.
    static func oneLine(_ s: String) -> String {
        var out = String.UnicodeScalarView()
        for c in s.unicodeScalars {
            if c == "\n" || c == "\r" || c == "\t" { out.append(" ") } else if c.value >= 0x20 && c.value != 0x7F { out.append(c) }
        }
        return String(out)
    }
}

extension Store {
    /// The store as a REFI-QDA project: `project.qde` and one UTF-8 text
    /// per record under `sources/`, zipped (stored entries), held in
    /// memory (`writeREFIProject` streams it). Each annotation with a span
    /// is a PlainTextSelection whose GUID is the annotation's id, coded
    /// with its code if it has one (a tag or note without a span is left
    /// out: REFI codes whole sources through Cases, which Margin does not
    /// have); its value and note are its Description, as `value: …` and
    /// `note: …` lines; its author is its creating User. A record's
    /// metadata (title, place, published, source, url, author, editor and
    /// free keys) are Text Variables with a VariableValue on its
    /// TextSource. No creation times: importing the project and exporting
    /// it again gives the same bytes. The annotations are those every
    /// export writes (`ExportSet.forEachExported`): under blind coding one's
    /// own, unanchored ones left out.
    public func refiProject(name: String) throws -> [UInt8] {
        var out: [UInt8] = []
        _ = try writeREFIProject(name: name, spoolPath: nil) { out += $0 }
        return out
    }

    /// `refiProject`, written to `sink` as it is made: memory is one
    /// record and its annotations, not the store (observed: about 300 MB
    /// for 4,700 reports and 95,883 annotations). The project's header
    /// (its users and variables) comes before its sources and is known
    /// only after them, so the sources' XML is set aside first, in the
    /// file `spoolPath` names (removed after) or in memory when nil; the
    /// texts are read again in a second pass, on the same snapshot of the
    /// store. Returns the annotations left out as unanchored.
    public func writeREFIProject(name: String, spoolPath: String?, to sink: ([UInt8]) throws -> Void) throws -> Int {
        // The writer keeps the sink only while this call runs.
        try withoutActuallyEscaping(sink) { sink in try db.readingOneSnapshot {
            let spool = try Spool(path: spoolPath)
            defer { spool.remove() }
            let sources = try spoolREFISources(into: spool)
            var zip = Zip.Writer(sink)
            // project.qde: the header, the sources set aside, the end.
            let codes = try self.codes(includeMerged: true, counted: false)
            var head = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
            head += "<Project xmlns=\"\(REFI.projectNamespace)\" name=\"\(XML.escape(name))\" origin=\"Margin\">\n"
            if !sources.users.isEmpty {
                head += "  <Users>\n" + sources.users.map { "    <User guid=\"\(REFI.guid("user", $0))\" name=\"\(XML.escape($0))\"/>\n" }.joined() + "  </Users>\n"
            }
            if codes.contains(where: { $0.mergedInto == nil }) { head += "  <CodeBook>\n" + REFI.codesXML(codes, indent: "    ") + "  </CodeBook>\n" }
            if !sources.variables.isEmpty {
                head += "  <Variables>\n" + sources.variables.map {
                    "    <Variable guid=\"\(REFI.guid("variable", $0))\" name=\"\(XML.escape($0))\" typeOfVariable=\"Text\"/>\n"
                }.joined() + "  </Variables>\n"
            }
            if !sources.ids.isEmpty { head += "  <Sources>\n" }
            let tail = Array(((sources.ids.isEmpty ? "" : "  </Sources>\n") + "</Project>\n").utf8)
            let headBytes = Array(head.utf8)
            var crc = CRC32.update(CRC32.start, headBytes)
            try spool.forEachChunk { crc = CRC32.update(crc, $0) }
            crc = CRC32.update(crc, tail)
            try zip.add(name: "project.qde", crc: CRC32.finish(crc), size: headBytes.count + spool.count + tail.count) { write in
                try write(headBytes)
                try spool.forEachChunk(write)
                try write(tail)
            }
            // Each record's text, and the report as received, which the
            // record id is the hash of (data schema 6), beside it: read back
            // by a Margin import so the record keeps its id; other tools
            // ignore the file.
            for id in sources.ids {
                let source = REFI.guid("record", id)
                try zip.add(name: "sources/\(source).txt", data: Array((try recordBody(id) ?? "").utf8))
                if let received = try winner(.record, EntityID(stored: id), "received")?.value.string {
                    try zip.add(name: "sources/\(source).received.txt", data: Array(received.utf8))
                }
            }
            try zip.finish()
            return sources.unanchored
        } }
    }

    /// The `<TextSource>` elements of every live record, in id order, each
    /// with its selections in export order and its variables, appended to
    /// `spool`; with the users, the variables and the records they name.
    private func spoolREFISources(into spool: Spool) throws -> (users: [String], variables: [String], ids: [String], unanchored: Int) {
        var ids: [String] = []
        try db.statement("SELECT id FROM records WHERE deleted = 0 AND typeof(body) = 'text' ORDER BY id").forEach { s in
            if let id = s.text(0) { ids.append(id) }
            return true
        }
        var written: [String] = []
        var users = Set<String>(), fixed = Set<String>(), free = Set<String>()
        func source(_ r: Record, _ selections: [Annotation]) throws {
            written.append(r.id)
            // The record's variables in the project's order: the fixed
            // fields first, then free keys sorted.
            let own = Record.metadataFields.filter { r.metadata($0) != nil }
                + r.meta.keys.filter { !Record.metadataFields.contains($0) }.sorted()
            fixed.formUnion(own.filter { Record.metadataFields.contains($0) })
            free.formUnion(own.filter { !Record.metadataFields.contains($0) })
            let source = REFI.guid("record", r.id)
            var xml = "    <TextSource guid=\"\(source)\" name=\"\(XML.escape(r.title ?? String(r.body.prefix(20))))\" plainTextPath=\"internal://\(source).txt\">\n"
            for a in selections {
                guard let s = a.span else { continue }
                xml += "      <PlainTextSelection guid=\"\(REFI.guid("annotation", a.id))\" name=\"\(XML.escape(s.quote))\" startPosition=\"\(s.start)\" endPosition=\"\(s.end)\""
                if let u = a.author { xml += " creatingUser=\"\(REFI.guid("user", u))\"" }
                xml += ">\n"
                let description = [a.value.map { "value: \($0)" }, a.note.map { "note: \($0)" }].compactMap { $0 }.joined(separator: "\n")
                if !description.isEmpty { xml += "        <Description>\(XML.escape(description))</Description>\n" }
                if let code = a.code {
                    let effective = (try? effectiveCode(code)) ?? code
                    xml += "        <Coding guid=\"\(REFI.guid("coding", a.id))\""
                    if let u = a.author { xml += " creatingUser=\"\(REFI.guid("user", u))\"" }
                    xml += ">\n          <CodeRef targetGUID=\"\(REFI.guid("code", effective))\"/>\n        </Coding>\n"
                }
                xml += "      </PlainTextSelection>\n"
            }
            for v in own {
                guard let value = r.metadata(v) else { continue }
                xml += "      <VariableValue>\n        <VariableRef targetGUID=\"\(REFI.guid("variable", v))\"/>\n"
                xml += "        <TextValue>\(XML.escape(value))</TextValue>\n      </VariableValue>\n"
            }
            xml += "    </TextSource>\n"
            try spool.append(Array(xml.utf8))
        }
        // The records in id order, merged with the walk of the exported
        // annotations (by record, in the same order): a record with none
        // is written where it falls.
        var next = 0
        func recordsBefore(_ id: String?) throws {
            while next < ids.count, id.map({ ids[next] < $0 }) ?? true {
                if let r = try record(ids[next]) { try source(r, []) }
                next += 1
            }
        }
        var current: (record: Record, selections: [Annotation])?
        let counts = try ExportSet.forEachExported(self) { a, r, _ in
            if let u = a.author { users.insert(u) }
            guard let r else { return }
            if current?.record.id != r.id {
                if let c = current { try source(c.record, c.selections) }
                current = nil
                try recordsBefore(r.id)
                guard next < ids.count, ids[next] == r.id else { return }
                next += 1
                current = (r, [])
            }
            current?.selections.append(a)
        }
        if let c = current { try source(c.record, c.selections) }
        try recordsBefore(nil)
        let variables = Record.metadataFields.filter { fixed.contains($0) } + free.sorted()
        return (users.sorted(), variables, written, counts.unanchored)
    }

    /// What importing a REFI-QDA project did.
    public struct REFIImport: Equatable, Sendable {
        public var codes = 0
        public var records = 0
        public var annotations = 0
        public var alreadyPresent = 0
    }

    /// Imports a REFI-QDA project (`.qdpx`): its codes (by name, with their
    /// parents), its text sources as records (bodies as they are), and its
    /// coded text selections as annotations carrying their creating user's
    /// name as author. A Description written as `value: …` / `note: …`
    /// lines (as Margin writes it) gives the value and note; any other
    /// Description becomes the note. A selection's GUID is its annotation's
    /// id (Margin's own export makes them so; an id already held is
    /// present). Another tool's annotation already present (same record,
    /// code, span and author) is not made again. Text Variables become
    /// the record's metadata: those it does not hold yet (a project of
    /// Margin's own names its records' titles only there). One transaction.
    public func importREFIProject(_ bytes: [UInt8]) throws -> REFIImport {
        let entries = try Zip.entries(bytes)
        guard let qde = entries.first(where: { $0.name == "project.qde" || $0.name.hasSuffix("/project.qde") }) else {
            throw MarginError.invalid("not a REFI-QDA project: no project.qde in the archive")
        }
        guard let document = String(validating: qde.data, as: UTF8.self) else {
            throw MarginError.invalid("project.qde is not valid UTF-8")
        }
        let root = try XML.parse(document)
        guard root.name == "Project" else { throw MarginError.invalid("not a REFI-QDA project: the root element is <\(root.name)>") }
        var result = REFIImport()
        let users = Dictionary(root.child("Users")?.all("User").compactMap { u in u.attributes["guid"].map { ($0.lowercased(), u.attributes["name"] ?? $0) } } ?? [],
                               uniquingKeysWith: { a, _ in a })
        let variables = Dictionary(root.child("Variables")?.all("Variable").compactMap { v in
            v.attributes["guid"].flatMap { g in v.attributes["name"].map { (g.lowercased(), $0) } }
        } ?? [], uniquingKeysWith: { a, _ in a })
        let ownExport = root.attributes["origin"] == "Margin"
        try write {
            // Codes: by GUID, created by name where missing.
            var codeIDs: [String: String] = [:]
            func walk(_ e: XML.Element, parent: String?) throws {
                for c in e.all("Code") {
                    guard let name = c.attributes["name"], let guid = c.attributes["guid"]?.lowercased() else { continue }
                    let id: String
                    if let existing = try liveCodeID(named: name) {
                        id = existing
                    } else {
                        let description = c.child("Description")?.text
                        id = try addCode(name: name, description: description?.isEmpty == false ? description : nil,
                                         colour: c.attributes["color"].map(REFI.colourName).flatMap { (try? Store.checkColour($0)) == nil ? nil : $0 },
                                         parent: parent)
                        result.codes += 1
                    }
                    codeIDs[guid] = id
                    try walk(c, parent: id)
                }
            }
            if let codes = root.child("CodeBook")?.child("Codes") { try walk(codes, parent: nil) }
            for source in root.child("Sources")?.all("TextSource") ?? [] {
                var body: String?, received: String?
                if let path = source.attributes["plainTextPath"] {
                    let file = path.hasPrefix("internal://") ? "sources/" + path.dropFirst("internal://".count) : path
                    if ownExport, file.hasSuffix(".txt"), let entry = entries.first(where: { $0.name == String(file.dropLast(4)) + ".received.txt" }) {
                        received = try ReportFile.decodeText(Data(entry.data))
                    }
                    guard let entry = entries.first(where: { $0.name == file }) else {
                        throw MarginError.invalid("the project names \(Printable.line(path)), which is not in the archive")
                    }
                    body = try ReportFile.decodeText(Data(entry.data))
                } else {
                    body = source.child("PlainTextContent")?.text
                }
                guard let text = body, TextNormalization.hasText(text) else { continue }
                let name = source.attributes["name"]
                var metadata: [(String, String)] = []
                for value in source.all("VariableValue") {
                    guard let guid = value.child("VariableRef")?.attributes["targetGUID"]?.lowercased(), let variable = variables[guid],
                          let text = value.child("TextValue")?.text ?? value.children.first(where: { $0.name != "VariableRef" })?.text else { continue }
                    metadata.append((variable, text))
                }
                let title = ownExport ? metadata.first { $0.0 == "title" }?.1 : (name.flatMap { $0.isEmpty ? nil : $0 })
                let (rid, present) = try importReport(ReportDraft(body: text, title: title, received: received))
                if present { result.alreadyPresent += 1 } else { result.records += 1 }
                if let held = try record(rid) {
                    for (field, value) in metadata where field != "title" || !ownExport {
                        let key = Record.metadataFields.contains(field) ? field : REFI.metadataKey(field)
                        guard !key.isEmpty, held.metadata(key) == nil, TextNormalization.hasText(value) else { continue }
                        do { try setRecordField(rid, field: key, value: Record.metadataFields.contains(key) ? REFI.oneLine(value) : value) } catch {
                            throw MarginError.invalid("variable \(Printable.line(field)) of \(Printable.line(name ?? rid)): \(MarginError.message(for: error))")
                        }
                    }
                }
                let existing = try annotations(record: rid)
                // Offsets count the characters of the text as the project
                // gives it; the body is stored NFC-normalised, so each
                // selection is moved onto the stored body and checked there.
                let given = Array(text.unicodeScalars), stored = ScalarText(TextNormalization.nfc(text))
                for selection in source.all("PlainTextSelection") {
                    let what = "selection \(Printable.line(selection.attributes["guid"] ?? selection.attributes["name"] ?? "?")) of \(Printable.line(name ?? rid))"
                    guard let givenStart = selection.attributes["startPosition"].flatMap({ Int($0) }),
                          let givenEnd = selection.attributes["endPosition"].flatMap({ Int($0) }) else {
                        throw MarginError.invalid("\(what): startPosition and endPosition must be whole numbers")
                    }
                    guard 0 <= givenStart, givenStart < givenEnd, givenEnd <= given.count else {
                        throw MarginError.invalid("\(what): \(givenStart)..\(givenEnd) is not within the text (0..\(given.count))")
                    }
                    func nfcCount(_ scalars: ArraySlice<Unicode.Scalar>) -> Int {
                        TextNormalization.nfc(String(String.UnicodeScalarView(scalars))).unicodeScalars.count
                    }
                    let start = nfcCount(given[..<givenStart]), end = start + nfcCount(given[givenStart..<givenEnd])
                    let quote = TextNormalization.nfc(String(String.UnicodeScalarView(given[givenStart..<givenEnd])))
                    guard end <= stored.count, stored.slice(start, end).hasSameBytes(as: quote) else {
                        throw MarginError.invalid("\(what): \(givenStart)..\(givenEnd) splits a character that normalisation joins; it cannot be placed exactly")
                    }
                    let author = selection.attributes["creatingUser"].flatMap { users[$0.lowercased()] }
                    // The selection's GUID as an annotation id (32 hex digits).
                    var givenID = selection.attributes["guid"].map { String($0.lowercased().unicodeScalars.filter { CharacterSet(charactersIn: "0123456789abcdef").contains($0) }) }
                    if let id = givenID, !ChangeRules.isID(id, of: .annotation) { givenID = nil }
                    if let id = givenID, try hasWinner(.annotation, EntityID(stored: id), "record") { result.alreadyPresent += 1; continue }
                    let (value, note) = REFI.valueAndNote(selection.child("Description")?.text ?? "")
                    let codings = selection.all("Coding").compactMap { $0.child("CodeRef")?.attributes["targetGUID"]?.lowercased() }.compactMap { codeIDs[$0] }
                    for code in codings.isEmpty ? [nil] : codings.map(Optional.some) {
                        if code == nil && note == nil && value == nil { continue }
                        if existing.contains(where: { $0.code == code && $0.span?.start == start && $0.span?.end == end && $0.author == author }) {
                            continue
                        }
                        try annotate(record: rid, code: code, span: .range(start, end), value: value, note: note, author: author, id: givenID)
                        givenID = nil   // a second coding of the selection is an annotation of its own
                        result.annotations += 1
                    }
                }
            }
        }
        return result
    }
}
