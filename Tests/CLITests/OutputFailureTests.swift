import Foundation
import Testing
import TestSupport

/// Output that cannot be written (a full disk, here `/dev/full`) fails the run, whatever the
/// command would have exited with: a plan cut short must not pass for a whole one in CI.
@Suite(.enabled(if: FileManager.default.fileExists(atPath: "/dev/full"), "needs /dev/full"))
struct OutputFailureTests {
    let folder: TemporaryFolder
    let runner: BinaryRunner

    init() throws {
        folder = try TemporaryFolder()
        try folder.write("secrets.yaml", "version: 1\nsecrets:\n  - name: a\n    value: {env: V}\n")
        runner = BinaryRunner(environment: ["V": "value-a"], directory: folder.path)
    }

    @Test(arguments: [
        ["plan"], ["plan", "--detailed-exitcode"], ["plan", "--format", "json", "--detailed-exitcode"],
        ["plan", "--format", "markdown"], ["validate"], ["schema"], ["--version"],
    ])
    func outputThatCannotBeWrittenFailsTheRun(arguments: [String]) throws {
        let written = try runner.run(arguments, stdoutTo: "/dev/null")
        #expect([0, 2].contains(written.status), "\(written.stderr)")

        let lost = try runner.run(arguments, stdoutTo: "/dev/full")

        #expect(lost.status == 1)
        #expect(
            lost.stderr.hasSuffix(
                "error: could not write standard output (No space left on device); its output is incomplete\n"),
            "\(lost.stderr)")
    }
}
