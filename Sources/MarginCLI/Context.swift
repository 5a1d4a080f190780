import Foundation
import MarginCore

/// Where a command's output goes. The binary writes to the real streams; tests
/// pass closures that collect text, so most CLI tests run in-process.
public struct Console {
    /// Standard output. Setting it sends bytes (`out(bytes:)`) through it too.
    public var out: (String) -> Void { didSet { outBytes = nil } }
    public var err: (String) -> Void
    /// Whether standard output is a terminal (colour, highlighting).
    public var outIsTerminal: Bool
    /// Whether standard error is a terminal (progress lines).
    public var errIsTerminal: Bool

    /// One line of standard input, without its line break; nil at its end.
    public var input: () -> String?
    /// Whether standard input is a terminal (which echoes what is typed).
    public var inputIsTerminal = false
    /// Where output already in UTF-8 goes as it is (the process's standard
    /// output); nil sends it through `out` as text. A megabyte of a
    /// whole-store listing made into a String and back cost a copy, a
    /// validation and fresh memory each way (`list --annotations --json`
    /// at a million changes: 22,000 page faults).
    public var outBytes: ((UnsafeRawBufferPointer) -> Void)?

    public init(out: @escaping (String) -> Void, err: @escaping (String) -> Void, outIsTerminal: Bool = false, errIsTerminal: Bool = false,
                input: @escaping () -> String? = { Swift.readLine(strippingNewline: true) }) {
        self.out = out
        self.err = err
        self.input = input
        self.outIsTerminal = outIsTerminal
        self.errIsTerminal = errIsTerminal
    }

    /// The process's own standard output and error.
    public static func standard() -> Console {
        var console = Console(out: { writeAll(1, $0) }, err: { writeAll(2, $0) },
                              outIsTerminal: isatty(1) == 1, errIsTerminal: isatty(2) == 1)
        console.inputIsTerminal = isatty(0) == 1
        console.outBytes = { writeAll(1, $0) }
        return console
    }

    /// Writes UTF-8 output: as it is where the console takes bytes, else as text.
    public func out(bytes: [UInt8]) {
        if let outBytes {
            bytes.withUnsafeBytes(outBytes)
        } else {
            out(String(decoding: bytes, as: UTF8.self))
        }
    }

    static func writeAll(_ fd: Int32, _ text: String) {
        var text = text
        text.withUTF8 { writeAll(fd, UnsafeRawBufferPointer($0)) }
    }

    /// Writes to a file descriptor with write(2). A reader that has gone
    /// away (`margin log | head`) ends the output quietly instead of
    /// crashing, as Foundation's FileHandle.write would.
    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress else { return }
        var offset = 0
        while offset < bytes.count {
            let n = write(fd, base + offset, bytes.count - offset)
            if n > 0 { offset += n; continue }
            if n < 0 && errno == EINTR { continue }
            return   // EPIPE or another failure: nobody is reading
        }
    }
}

/// Output built in bytes and handed to the console a megabyte at a time:
/// a whole-store listing streams with flat memory and one write per chunk,
/// not one per line.
struct OutputChunks {
    let console: Console
    var bytes: [UInt8] = []
    static let size = 1 << 20

    init(_ console: Console) {
        self.console = console
        bytes.reserveCapacity(Self.size + 4096)
    }

    mutating func flushIfFull() { if bytes.count >= Self.size { flush() } }

    mutating func flush() {
        guard !bytes.isEmpty else { return }
        console.out(bytes: bytes)
        bytes.removeAll(keepingCapacity: true)
    }
}

/// What every command runs with: its console, environment, working
/// directory, and the store, opened on first use.
public final class Context {
    /// Swapped while `paged` collects a command's output.
    public private(set) var console: Console
    public let environment: [String: String]
    public let workingDirectory: String
    /// `--store` given before or after the command name.
    public var storeOption: String?
    private var opened: Store?

    public init(console: Console, environment: [String: String], workingDirectory: String) {
        self.console = console
        self.environment = environment
        self.workingDirectory = workingDirectory
    }

    public func print(_ line: String = "") { console.out(line + "\n") }

    /// Streams what `body` writes to the file `output` names, through a
    /// temporary file renamed over it at the end (all or nothing: a failure
    /// leaves no partial file), or to standard output when none; a
    /// megabyte at a time either way.
    func streamOut(to output: String?, _ body: (_ write: (String) throws -> Void) throws -> Void) throws {
        guard let output else {
            var out = OutputChunks(console)
            try body { text in
                out.bytes += text.utf8
                out.flushIfFull()
            }
            out.flush()
            return
        }
        let file = try AtomicFile(absolute(output), shownAs: output)
        do {
            try body { text in try file.write(text.utf8) }
            try file.commit()
        } catch {
            file.discard()
            throw error
        }
    }

    /// The file `output` names, written as `body` hands over bytes,
    /// all or nothing as `streamOut`.
    func streamBytes(to output: String, _ body: (_ write: ([UInt8]) throws -> Void) throws -> Void) throws {
        let file = try AtomicFile(absolute(output), shownAs: output)
        do {
            try body { try file.write($0) }
            try file.commit()
        } catch {
            file.discard()
            throw error
        }
    }

    /// Whether `path` is written into where it is rather than replaced by a
    /// file renamed over it: a symbolic link (`/dev/stdout` is one, to
    /// `/proc/self/fd/1`), written through as a shell's `>` writes, or a
    /// device, a pipe or a socket (`-o /dev/null`, a FIFO).
    static func isWrittenInPlace(_ path: String) -> Bool {
        var info = stat()
        if lstat(path, &info) == 0, info.st_mode & S_IFMT == S_IFLNK { return true }
        guard stat(path, &info) == 0 else { return false }
        let type = info.st_mode & S_IFMT
        return type != S_IFREG && type != S_IFDIR
    }

    /// A file written through a temporary one beside it, renamed over it
    /// once whole (`commit`); `discard` leaves no partial file. A link, a
    /// device, a pipe or a socket is written into directly
    /// (`isWrittenInPlace`): a file renamed over `/dev/null` replaced it
    /// with a regular file, into which every later `> /dev/null` on the
    /// machine then wrote, and one renamed over `/dev/stdout` replaced the
    /// link. Bytes are gathered a megabyte at a time.
    private final class AtomicFile {
        let path: String, shown: String
        /// The temporary file, or nil when the target is written directly.
        let temporary: String?
        let file: FileHandle
        var buffer: [UInt8] = []

        init(_ path: String, shownAs shown: String) throws {
            self.path = path
            self.shown = shown
            var isFolder: ObjCBool = false
            if FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), isFolder.boolValue {
                throw MarginError.invalid("cannot write \(shown): it is a folder")
            }
            if Context.isWrittenInPlace(path) {
                temporary = nil
                // Emptied first when it is a file behind a link, as `>` would.
                let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
                guard fd >= 0 else { throw MarginError.invalid("cannot write \(shown): \(String(cString: strerror(errno)))") }
                file = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
            } else {
                let temporary = path + ".margin-export-\(getpid())"
                guard FileManager.default.createFile(atPath: temporary, contents: nil), let file = FileHandle(forWritingAtPath: temporary) else {
                    throw MarginError.invalid("cannot write \(shown)")
                }
                self.temporary = temporary
                self.file = file
            }
            buffer.reserveCapacity(OutputChunks.size + 4096)
        }

        func write<Bytes: Sequence<UInt8>>(_ bytes: Bytes) throws {
            buffer += bytes
            if buffer.count >= OutputChunks.size {
                try file.write(contentsOf: buffer)
                buffer.removeAll(keepingCapacity: true)
            }
        }

        func commit() throws {
            try file.write(contentsOf: buffer)
            try file.close()
            guard let temporary else { return }
            guard rename(temporary, path) == 0 else { throw MarginError.invalid("cannot write \(shown): \(String(cString: strerror(errno)))") }
        }

        func discard() {
            try? file.close()
            if let temporary { unlink(temporary) }
        }
    }

    /// Writes `text` to the file `output` names (atomically, then says
    /// `summary` on standard error), or to standard output when none.
    func emit(_ text: String, to output: String?, summary: @autoclosure () -> String) throws {
        guard let output else { console.out(text); return }
        try streamBytes(to: output) { write in try write(Array(text.utf8)) }
        warn(summary() + " to \(output)")
    }
    public func warn(_ line: String) { console.err(line + "\n") }

    /// `--color=auto|always|never` (also spelled --colour).
    public enum ColourMode: String, Sendable { case auto, always, never }
    public var colourMode = ColourMode.auto
    /// False after `--no-pager`.
    public var pagerAllowed = true

    /// Colour with --color=always; never with --color=never; otherwise
    /// only on a terminal, and not when NO_COLOR is set (no-color.org).
    public var useColour: Bool {
        switch colourMode {
        case .always: return true
        case .never: return false
        case .auto:
            return console.outIsTerminal && environment["NO_COLOR"].map(\.isEmpty) != false && environment["TERM"] != "dumb"
        }
    }

    /// The terminal's height: LINES, else the window size, else 24.
    var terminalRows: Int {
        if let lines = environment["LINES"].flatMap({ Int($0) }), lines > 0 { return lines }
        var size = winsize()
        if ioctl(1, UInt(TIOCGWINSZ), &size) == 0, size.ws_row > 0 { return Int(size.ws_row) }
        return 24
    }

    /// Runs `body`, and sends what it printed through a pager ($PAGER,
    /// else `less -R`) when standard output is a terminal, --no-pager was
    /// not given, and the output is longer than the screen; otherwise
    /// prints it as it is. Errors and warnings are not paged.
    func paged(_ body: () throws -> Int32) rethrows -> Int32 {
        guard console.outIsTerminal, pagerAllowed else { return try body() }
        let real = console
        var buffer = ""
        console.out = { buffer += $0 }
        defer { console = real }
        let status = try body()
        console = real
        let lines = buffer.reduce(0) { $1 == "\n" ? $0 + 1 : $0 }
        guard lines >= terminalRows, !buffer.isEmpty else { console.out(buffer); return status }
        let command = environment["PAGER"].flatMap { $0.trimmingCharacters(in: .whitespaces).isEmpty ? nil : $0 } ?? "less -R"
        var env = environment
        if env["LESS"] == nil { env["LESS"] = "FRX" }
        if !Pager.run(command, input: buffer, environment: env) { console.out(buffer) }
        return status
    }

    /// `path` made absolute against the working directory, a leading `~`
    /// expanded, and `.`, `..` and repeated slashes taken out by the text
    /// alone, as the shell's `cd` does: a symbolic link in it stays as
    /// given (resolving every folder of the path with readlink(2), as
    /// Foundation's `standardizingPath` does, was a tenth of `margin show`'s
    /// own work).
    func absolute(_ path: String) -> String {
        let expanded = path.hasPrefix("~") ? (path as NSString).expandingTildeInPath : path
        let full = expanded.hasPrefix("/") ? expanded : workingDirectory + "/" + expanded
        var parts: [Substring] = []
        for part in full.split(separator: "/", omittingEmptySubsequences: true) {
            switch part {
            case ".": continue
            case "..": _ = parts.popLast()
            default: parts.append(part)
            }
        }
        return "/" + parts.joined(separator: "/")
    }

    /// The store directory: `--store`, else `MARGIN_STORE`, else the nearest
    /// `.margin/` from the working directory upwards. A path given explicitly
    /// may name the `.margin` folder or the folder that holds it.
    public func storeDirectory() throws -> String {
        if let explicit = storeOption ?? environment["MARGIN_STORE"].flatMap({ $0.isEmpty ? nil : $0 }) {
            let path = absolute(explicit)
            let nested = (path == "/" ? "" : path) + "/.margin"
            if Store.exists(nested + "/" + Store.fileName) { return nested }
            return path
        }
        // Upwards from the working directory, made absolute as a path given is.
        var dir = absolute("")
        while true {
            let candidate = (dir == "/" ? "" : dir) + "/.margin"
            if Store.exists(candidate + "/" + Store.fileName) { return candidate }
            guard dir != "/", let slash = dir.lastIndex(of: "/") else { break }
            dir = slash == dir.startIndex ? "/" : String(dir[..<slash])
        }
        throw MarginError.store("no Margin store here or in any parent folder (run `margin init`, or give --store PATH)")
    }

    public func store() throws -> Store {
        if let opened { return opened }
        let s = try Store(directory: try storeDirectory())
        opened = s
        return s
    }

    /// Prints a JSON value on one line.
    func printJSON(_ value: Any) throws {
        print(try JSONText.encode(value))
    }
}

/// Short forms for display.
enum Format {
    static func id(_ id: String) -> String { String(id.prefix(10)) }

    /// Local time, `2022-11-07 09:00:00`, through the C library (the TZ
    /// variable or the system's zone): a formatter per line was most of
    /// `log` on a large store.
    static func time(_ ms: Int64) -> String {
        var t = time_t(ms >= 0 ? ms / 1000 : (ms - 999) / 1000)
        var parts = tm()
        guard localtime_r(&t, &parts) != nil else { return ISOTime.format(ms) }
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday)) \(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))"
    }

    /// `2022-11-07T09:00:00.123Z` from milliseconds, exactly: the seconds
    /// through the formatter (whole seconds are exact in a Double), the
    /// milliseconds by integer arithmetic (a Double of them may print one
    /// less, and an export imported and exported again would drift).
    static func iso(_ ms: Int64) -> String { ISOTime.format(ms) }

    /// Text from elsewhere on one line: line breaks as spaces, controls
    /// escaped (`Printable`), cut at `max` characters.
    static func oneLine(_ s: String, max: Int = 60) -> String {
        // Line feeds become spaces scalar by scalar (Foundation's replacing
        // was an eighth of `margin conflicts`), only in text that has one.
        // Both are one byte, so the bytes are swapped in place.
        let spaced = s.utf8.contains(0x0a) ? String(decoding: s.utf8.map { $0 == 0x0a ? 0x20 : $0 }, as: UTF8.self) : s
        let flat = Printable.line(spaced, max: nil)
        // No more scalars than `max`, so no more characters: nothing to cut,
        // and no character boundaries worked out (a search's snippets are
        // cut to 40 three at a time for every hit).
        if flat.unicodeScalars.count <= max { return flat }
        // Characters counted only as far as the cut.
        guard let cut = flat.index(flat.startIndex, offsetBy: max, limitedBy: flat.endIndex), cut != flat.endIndex else { return flat }
        return String(flat.prefix(max - 1)) + "…"
    }

    /// Text from elsewhere on one line, not cut.
    static func safe(_ s: String) -> String { Printable.line(s, max: nil) }

    /// Pads to a display width, counting CJK characters as two columns.
    static func pad(_ s: String, _ width: Int) -> String {
        let w = displayWidth(s)
        return w >= width ? s : s + String(repeating: " ", count: width - w)
    }

    static func displayWidth(_ s: String) -> Int {
        s.unicodeScalars.reduce(0) { n, u in
            let v = u.value
            let wide = (0x1100...0x115F).contains(v) || (0x2E80...0xA4CF).contains(v) || (0xAC00...0xD7A3).contains(v)
                || (0xF900...0xFAFF).contains(v) || (0xFE30...0xFE4F).contains(v) || (0xFF00...0xFF60).contains(v)
                || (0xFFE0...0xFFE6).contains(v) || (0x1F300...0x1FAFF).contains(v) || (0x20000...0x3FFFD).contains(v)
            return n + (wide ? 2 : 1)
        }
    }
}

/// Runs a pager as git does. Foundation's `Process` starts a child in a
/// process group of its own: not the terminal's foreground group, so
/// `less` was stopped (SIGTTIN) the moment it read a key, the screen stayed
/// blank, and `q` did nothing. Here the pager is spawned in margin's own
/// process group, which the shell made the foreground one; margin writes
/// the text into its standard input and waits for it. While it runs,
/// Ctrl-C and Ctrl-\ are the pager's (less takes them; margin ignores them,
/// and the pager gets the default handlers back), and a pager quit early
/// (q) closes the pipe: the rest is dropped, and margin's exit status is
/// the command's.
enum Pager {
    /// False when the pager could not be started (the caller prints the
    /// text itself).
    static func run(_ command: String, input: String, environment: [String: String]) -> Bool {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { return false }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, fds[0], 0)
        posix_spawn_file_actions_addclose(&actions, fds[0])
        posix_spawn_file_actions_addclose(&actions, fds[1])
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaults = sigset_t(), mask = sigset_t()
        sigemptyset(&defaults); sigemptyset(&mask)
        for s in [SIGINT, SIGQUIT, SIGPIPE, SIGTSTP, SIGTTIN, SIGTTOU] { sigaddset(&defaults, s) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setsigmask(&attributes, &mask)
        // No POSIX_SPAWN_SETPGROUP: the pager stays in the foreground group.
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
        func copy(_ s: String) -> UnsafeMutablePointer<CChar>? { s.withCString { strdup($0) } }
        // A simple command (no pipe, list or redirection) is exec'd by the
        // shell, so that no shell stands between margin and the pager: a
        // shell waiting for it would take Ctrl-C and die, leaving the
        // pager without its parent.
        let simple = !command.contains { "|&;<>()`$\n".contains($0) }
        let argv = ["/bin/sh", "-c", simple ? "exec " + command : command].map(copy) + [nil]
        let envp = environment.map { copy("\($0.key)=\($0.value)") } + [nil]
        defer { for p in argv + envp { free(p) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, "/bin/sh", &actions, &attributes, argv, envp)
        close(fds[0])
        guard spawned == 0 else { close(fds[1]); return false }
        let previousInterrupt = signal(SIGINT, SIG_IGN), previousQuit = signal(SIGQUIT, SIG_IGN)
        defer { signal(SIGINT, previousInterrupt); signal(SIGQUIT, previousQuit) }
        Console.writeAll(fds[1], input)
        close(fds[1])
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        return true
    }
}
