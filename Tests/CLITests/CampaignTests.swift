import Foundation
import Testing
import TestSupport

/// Small runs of the crash and fault campaigns (`scripts/`), against the built binary, so that
/// a regression shows in the ordinary suite; the full campaigns are the documented commands.
@Suite struct CampaignTests {
    private static let scripts = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("scripts")

    private func run(_ script: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [Self.scripts.appendingPathComponent(script).path] + arguments
        var environment = ProcessInfo.processInfo.environment
        environment["STRIPE_SECRETS_BIN"] = BinaryRunner.executable.path
        environment["PATH"] = "/usr/bin:/bin:/usr/sbin:/sbin"
        process.environment = environment
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: output, as: UTF8.self))
    }

    @Test func aFewCrashTrialsOnEachBackendLoseNothing() throws {
        let backend = PostgresCluster.skipReason == nil ? "both" : "file"
        let result = try run("crash-campaign.sh", ["6", "4242", "--backend", backend])
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("crash campaign passed (seed 4242"))
        #expect(result.output.contains("file: 6 trials"))
    }

    @Test func aFaultyAPIConvergesWithoutReusingAKey() throws {
        let result = try run("fault-campaign.sh", ["40", "4242", "--backend", "file"])
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("0 keys reused with other parameters, 0 POSTs without a key"))
        #expect(result.output.contains("fault campaign passed (seed 4242"))
    }
}
