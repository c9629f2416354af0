import ArgumentParser
import CProcessGuard
import Foundation
import SecretsCore
import SecretsModel

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The process's surroundings, read in one place: environment, clock, terminal, stderr.
enum Console {
    /// Unix seconds now.
    static var now: Int64 {
        Int64(time(nil))
    }

    /// Colour only for a terminal, and never when `NO_COLOR` is set (no-color.org).
    static var usesColour: Bool {
        isatty(STDOUT_FILENO) == 1 && getenv("NO_COLOR") == nil && getenv("TERM").map { String(cString: $0) } != "dumb"
    }

    /// Writes a line to stderr; control and bidi characters are escaped (a message may quote a
    /// path, a name or a server's words), line feeds kept.
    static func printError(_ text: String) {
        writeLine(TerminalText.safeKeepingLines(text), to: STDERR_FILENO)
    }

    /// Writes a line to stdout at once, unbuffered (for lines another process waits for).
    static func printLine(_ text: String) {
        writeLine(text, to: STDOUT_FILENO)
    }

    /// Writes to stdout at once, as is (for output interleaved with unbuffered lines).
    static func writeOut(_ text: String) {
        emit(text, to: STDOUT_FILENO)
    }

    /// Writes to stderr without a newline (progress that redraws itself).
    static func writeError(_ text: String) {
        emit(text, to: STDERR_FILENO)
    }

    private static func writeLine(_ text: String, to descriptor: Int32) {
        emit(text + "\n", to: descriptor)
    }

    /// Writes to stdout as `body` makes the output, in chunks (see `ChunkedOutput`), flushed at the end.
    static func streamOut<T>(_ body: (inout ChunkedOutput) throws -> T) rethrows -> T {
        var output = ChunkedOutput()
        defer { output.flush() }
        return try body(&output)
    }

    private static func emit(_ text: String, to descriptor: Int32) {
        var text = text
        text.withUTF8 { emit(UnsafeRawBufferPointer($0), to: descriptor) }
    }

    /// Writes all of `bytes`, however many calls it takes. A failed write to stdout is kept for
    /// `checkOutputWasWritten`; one to stderr has nowhere to be told.
    fileprivate static func emit(_ bytes: UnsafeRawBufferPointer, to descriptor: Int32) {
        // Closed when the process started, stdout is /dev/null now: what is written is lost.
        if descriptor == STDOUT_FILENO, !bytes.isEmpty, stripe_secrets_stdout_was_closed() != 0 {
            noteOutputFailure(EBADF)
        }
        var done = 0
        while done < bytes.count {
            let written = write(descriptor, bytes.baseAddress.map { $0 + done }, bytes.count - done)
            if written < 0, errno == EINTR { continue }
            if written < 0, errno == EAGAIN || errno == EWOULDBLOCK {  // a non-blocking stdout: wait
                var ready = pollfd(fd: descriptor, events: Int16(POLLOUT), revents: 0)
                _ = poll(&ready, 1, -1)
                continue
            }
            guard written > 0 else {
                if descriptor == STDOUT_FILENO { noteOutputFailure(written < 0 ? errno : EIO) }
                return
            }
            done += written
        }
    }

    /// The `errno` of the first write to stdout that failed. Guarded by `outputFailureLock`.
    nonisolated(unsafe) private static var outputFailure: Int32?
    private static let outputFailureLock = NSLock()

    private static func noteOutputFailure(_ code: Int32) {
        outputFailureLock.withLock { outputFailure = outputFailure ?? code }
    }

    /// Exits 1 with `error: …` on stderr when any of stdout could not be written (a full disk, a
    /// pipe closed early, stdout closed): a plan or a listing cut short must not pass for a whole
    /// one. (Commands write stdout only through `Console`, never `print`, whose buffered
    /// failures would go unseen.)
    static func checkOutputWasWritten() {
        guard let failure = outputFailureLock.withLock({ outputFailure }) else { return }
        printError(
            "error: could not write standard output (\(String(cString: strerror(failure)))), so what it shows is "
                + "incomplete; the command itself ran as it would have (what it changed, if anything, is recorded)")
        terminate(.failure)
    }

    /// Ends the process with `code` at once.
    static func terminate(_ code: ExitCode) -> Never {
        exit(code.rawValue)
    }

    /// The user's home folder, for `~/.pgpass`.
    static var homeDirectory: String? {
        Environment.process.values["HOME"]
    }

    /// Whether stdin is a person's terminal, who can answer a prompt.
    static var canAsk: Bool {
        isatty(STDIN_FILENO) == 1
    }

    /// Whether stderr is a terminal, where a progress bar can redraw itself.
    static var showsProgress: Bool {
        isatty(STDERR_FILENO) == 1 && getenv("TERM").map { String(cString: $0) } != "dumb"
    }

    /// Prints the problems on stderr and returns the failure exit code to throw.
    static func fail(_ error: DiagnosticsError) -> ExitCode {
        printError(error.description)
        return .failure
    }

    /// Prints `error: message` on stderr and returns the failure exit code to throw.
    static func fail(_ message: String) -> ExitCode {
        printError("error: \(message)")
        return .failure
    }

    /// Runs `body`, turning any of our typed errors into `error: …` on stderr and exit 1.
    static func reportingErrors<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch {
            throw failure(for: error)
        }
    }

    /// `reportingErrors` for async work.
    static func reportingErrors<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch {
            throw failure(for: error)
        }
    }

    private static func failure(for error: any Error) -> any Error {
        switch error {
        case let error as ExitCode: error
        case let error as DiagnosticsError: fail(error)
        case let error as CustomStringConvertible: fail(error.description)
        default: fail(String(describing: error))
        }
    }

    /// Checks a manifest (and its values as asked), or prints every problem and fails.
    static func check(_ path: String, values: ValueReading) throws -> CheckedManifest {
        try take(checked(path, values: values))
    }

    /// A manifest checked (and its values read as asked), or its problems, not yet printed.
    static func checked(_ path: String, values: ValueReading) -> Result<CheckedManifest, DiagnosticsError> {
        Result { () throws(DiagnosticsError) in
            try ManifestLoader.check(path: path, now: now, environment: .process, values: values)
        }
    }

    /// The checked manifest, or its problems printed and exit 1 thrown.
    static func take(_ checked: consuming Result<CheckedManifest, DiagnosticsError>) throws -> CheckedManifest {
        switch checked {
        case .success(let manifest): return manifest
        case .failure(let problems): throw fail(problems)
        }
    }
}

/// Standard output written 64 KB at a time: a long plan goes out while it is made, never held
/// whole. What it holds is lost unless `flush` is called; `Console.streamOut` calls it.
struct ChunkedOutput: TextOutputStream {
    static let chunkSize = 1 << 16

    private var buffer: [UInt8] = []

    mutating func write(_ text: String) {
        buffer.append(contentsOf: text.utf8)
        if buffer.count >= Self.chunkSize { flush() }
    }

    /// Writes bytes that are UTF-8 already (a plan's JSON).
    mutating func write(bytes: [UInt8]) {
        buffer.append(contentsOf: bytes)
        if buffer.count >= Self.chunkSize { flush() }
    }

    mutating func flush() {
        buffer.withUnsafeBytes { Console.emit($0, to: STDOUT_FILENO) }
        buffer.removeAll(keepingCapacity: true)
    }
}

extension Int {
    /// `1 secret`, `12 secrets`.
    func counted(_ noun: String) -> String {
        self == 1 ? "1 \(noun)" : "\(self) \(noun)s"
    }
}
