import Foundation
import Testing

/// Runs the built `stripe-secrets` binary as a user would, capturing its output.
struct BinaryRunner {
    struct Output {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    /// The binary `swift build` put beside the test bundle.
    static let executable: URL = {
        var folder = Bundle.main.bundleURL
        for _ in 0..<3 {
            let candidate = folder.appendingPathComponent("stripe-secrets")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            folder.deleteLastPathComponent()
        }
        fatalError("stripe-secrets is not built next to the tests; run `swift build` first")
    }()

    var environment: [String: String] = [:]
    var directory: String

    func run(_ arguments: String...) throws -> Output {
        try run(arguments)
    }

    func run(_ arguments: [String]) throws -> Output {
        try start(arguments).wait()
    }

    /// Starts the binary without waiting, so several can run at once.
    func start(_ arguments: String...) throws -> Running {
        try start(arguments)
    }

    /// Runs the binary with its stdout written to the file at `path` (`/dev/full`, say), not
    /// captured; the output's `stdout` is empty.
    func run(_ arguments: [String], stdoutTo path: String) throws -> Output {
        let file = try #require(FileHandle(forWritingAtPath: path), "cannot open \(path)")
        defer { try? file.close() }
        return try start(arguments, stdout: file).wait()
    }

    func start(_ arguments: [String], stdout file: FileHandle? = nil) throws -> Running {
        let process = Process()
        process.executableURL = Self.executable
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        process.environment = environment.merging(["PATH": "/usr/bin:/bin"]) { mine, _ in mine }
        let out = Pipe(), err = Pipe()
        process.standardOutput = file ?? out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        if file != nil { try out.fileHandleForWriting.close() }  // nothing writes it: read as empty
        return Running(process: process, out: out, err: err)
    }

    /// A started binary; `wait` collects its output.
    struct Running {
        let process: Process
        let out: Pipe
        let err: Pipe

        func wait() -> Output {
            // Read both pipes at once so that a full pipe cannot stall the child.
            let stderr = Collected()
            let group = DispatchGroup()
            let errors = err.fileHandleForReading
            DispatchQueue.global().async(group: group) { stderr.data = errors.readDataToEndOfFile() }
            let stdout = out.fileHandleForReading.readDataToEndOfFile()
            group.wait()
            process.waitUntilExit()
            return Output(
                status: process.terminationStatus,
                stdout: String(decoding: stdout, as: UTF8.self),
                stderr: String(decoding: stderr.data, as: UTF8.self))
        }
    }
}

/// Bytes collected on another thread; read only after that thread is done.
final class Collected: @unchecked Sendable {
    var data = Data()
}
