import Dispatch
import Foundation
import Glibc
import MarginCore
import MarginSync
import MarginUI

struct UICommand: Command {
    static let name = "ui"
    static let summary = "Open a workspace for this store in the browser (code by selecting text)"
    static let usage = "margin ui [--listen 127.0.0.1:PORT] [--no-open] [--secret-file F]"
    static let details = """
    Serves a workspace for this store to a browser on this machine, from this
    binary alone (nothing is fetched from the network), prints its address,
    and opens it in the browser when one is found (xdg-open). Ctrl-C stops it.

    Records: search (Simplified and Traditional alike), filters, pages. A
    record: select text with the mouse (or shift+arrows) and pick a code
    (type to filter, 1-9 for the first codes, Enter); tag (t), note (m),
    re-span yours (e to the selection, [ ] { } by one character), accept or
    reject suggestions and open annotations (a, x), delete (Delete), mark
    the record done (d). Each page lists its keys. Every
    change is the same change the matching command makes, and syncs as any.
    The page reads again when the store changes (a sync, the CLI).

    Review walks suggestions, open annotations and conflicts one key per
    decision; Conflicts shows both sides in full; Team compares two coders
    on a record and adjudicates into the gold layer, and charts agreement
    and code frequencies (each with its numbers as CSV); Sync lists the
    peers and syncs with one now (--secret-file F or MARGIN_SECRET: the team
    secret, as `margin sync` takes it).

    Security: loopback only; the address holds a token made for this run,
    which the browser then keeps in an HttpOnly, SameSite=Strict cookie;
    requests naming another Host, and writes from another Origin, are
    refused; a strict Content-Security-Policy; no CORS.
    """
    var listen: String?, noOpen: Bool, secretFile: String?
    init(_ args: inout Arguments) throws {
        listen = try args.option("--listen")
        noOpen = args.flag("--no-open")
        secretFile = try args.option("--secret-file")
    }

    func run(_ context: Context) throws -> Int32 {
        let listen = self.listen ?? "127.0.0.1:0"
        guard let endpoint = Endpoint(parsing: listen) else { throw UsageError("--listen takes 127.0.0.1:PORT, not '\(listen)'") }
        let store = try context.store()
        let directory = store.directory
        store.db.close()
        let workspace: Workspace
        do {
            workspace = try Workspace(directory: directory, endpoint: endpoint)
        } catch let e as NetworkError {
            throw MarginError.invalid(e.message)
        }
        workspace.syncSecret = try loadSecret(secretFile, context)
        return serveUntilInterrupted(context, ready: {
            context.print("workspace for \(Format.safe(directory)) at \(workspace.address)")
            context.print("Ctrl-C stops it")
            if !noOpen { UICommand.openBrowser(workspace.address) }
        }, serve: workspace.serve, stop: workspace.stop)
    }

    /// Starts the desktop's browser on `address` when there is a desktop
    /// and `xdg-open`; otherwise the printed address is the way in.
    static func openBrowser(_ address: String) {
        let env = ProcessInfo.processInfo.environment
        guard env["DISPLAY"] != nil || env["WAYLAND_DISPLAY"] != nil else { return }
        for dir in (env["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let path = "\(dir)/xdg-open"
            guard access(path, X_OK) == 0 else { continue }
            let p = Process()
            p.executableURL = URL(fileURLWithPath: path)
            p.arguments = [address]
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try? p.run()
            return
        }
    }
}
