import Foundation
import Testing
import TestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// Output that cannot be written fails the run, whatever the command would have exited with: a
/// plan cut short (a full disk, a pipe closed early, stdout closed) must not pass for a whole one
/// in CI. Output that is only slow to drain (a non-blocking stdout) is waited for.
@Suite(.enabled(if: FileManager.default.fileExists(atPath: "/dev/full"), "needs /dev/full"))
struct OutputFailureTests {
    static let lost = "error: could not write standard output"

    let folder: TemporaryFolder
    let runner: BinaryRunner

    init() throws {
        folder = try TemporaryFolder()
        try folder.write("secrets.yaml", "version: 1\nsecrets:\n  - name: a\n    value: {env: V}\n")
        runner = BinaryRunner(environment: ["V": "value-a"], directory: folder.path)
    }

    @Test(arguments: [
        ["plan"], ["plan", "--detailed-exitcode"], ["plan", "--format", "json", "--detailed-exitcode"],
        ["plan", "--format", "markdown"], ["validate"], ["schema"], ["--version"], ["--help"], ["help", "plan"],
        ["plan", "--help"],
    ])
    func outputThatCannotBeWrittenFailsTheRun(arguments: [String]) throws {
        let written = try runner.run(arguments, stdoutTo: "/dev/null")
        #expect([0, 2].contains(written.status), "\(written.stderr)")
        #expect(!written.stderr.contains(Self.lost))

        let lost = try runner.run(arguments, stdoutTo: "/dev/full")

        #expect(lost.status == 1)
        #expect(
            lost.stderr.contains(
                "\(Self.lost) (No space left on device), so what it shows is incomplete; the command itself ran as it "
                    + "would have (what it changed, if anything, is recorded)\n"),
            "\(lost.stderr)")
    }

    @Test func anEmulatorWhoseAddressCannotBeShownStopsAtOnce() throws {
        let file = try #require(FileHandle(forWritingAtPath: "/dev/full"))
        defer { try? file.close() }
        let running = try runner.start(["emulator", "--port", "0"], stdout: file)
        let deadline = Date().addingTimeInterval(20)
        while running.process.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        if running.process.isRunning { running.process.terminate() }
        let result = running.wait()
        #expect(result.status == 1)
        #expect(result.stderr.contains("\(Self.lost) (No space left on device)"), "\(result.stderr)")
    }

    @Test func aPipeClosedEarlyFailsTheRunOnceItIsDone() throws {
        let pipe = Pipe()
        try pipe.fileHandleForReading.close()
        let result = try runner.start(["plan"], stdout: pipe.fileHandleForWriting).wait()
        #expect(result.status == 1)
        #expect(result.stderr.contains("\(Self.lost) (Broken pipe)"), "\(result.stderr)")
    }

    /// Runs the binary with `arguments` and its stdout closed (`>&-`): its exit status and stderr.
    private func runWithStdoutClosed(_ arguments: String) throws -> (status: Int32, stderr: String) {
        let shell = Process()
        shell.executableURL = URL(fileURLWithPath: "/bin/sh")
        shell.arguments = ["-c", "exec \"$0\" \(arguments) >&-", BinaryRunner.executable.path]
        shell.currentDirectoryURL = URL(fileURLWithPath: folder.path)
        shell.environment = ["V": "value-a", "PATH": "/usr/bin:/bin"]
        let errors = Pipe()
        shell.standardError = errors
        try shell.run()
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        shell.waitUntilExit()
        return (shell.terminationStatus, stderr)
    }

    @Test func aClosedStdoutFailsTheRunAndNoFileTakesItsPlace() throws {
        _ = try runner.run(["plan"])  // the state, created
        let state = try Data(contentsOf: URL(fileURLWithPath: folder.path + "/secrets.state.json"))
        let closed = try runWithStdoutClosed("plan")
        #expect(closed.status == 1)
        #expect(closed.stderr.contains("\(Self.lost) (Bad file descriptor)"), "\(closed.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: folder.path + "/secrets.state.json")) == state)
    }

    @Test func aClosedStdoutThatNothingWasWrittenToIsNoFailure() throws {
        let usage = try runWithStdoutClosed("plan --bogus")
        #expect(usage.status == 64)
        #expect(!usage.stderr.contains(Self.lost), "\(usage.stderr)")
    }

    #if os(Linux)
        @Test func aNonBlockingStdoutIsWaitedForNotCutShort() throws {
            let whole = try runner.run("schema")
            let pipe = Pipe()
            let writing = pipe.fileHandleForWriting.fileDescriptor
            _ = fcntl(writing, 1031 /* F_SETPIPE_SZ */, 4096)
            _ = fcntl(writing, F_SETFL, fcntl(writing, F_GETFL) | O_NONBLOCK)
            let running = try runner.start(["schema"], stdout: pipe.fileHandleForWriting)
            try pipe.fileHandleForWriting.close()
            Thread.sleep(forTimeInterval: 0.5)  // the 4 KB pipe fills, and the writes would block
            let output = pipe.fileHandleForReading.readDataToEndOfFile()
            let result = running.wait()
            #expect(result.status == 0, "\(result.stderr)")
            #expect(whole.stdout.utf8.count > 4096)
            #expect(String(decoding: output, as: UTF8.self) == whole.stdout)
        }
    #endif
}
