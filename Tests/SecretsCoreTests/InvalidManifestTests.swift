import Foundation
import Testing
import TestSupport
@testable import SecretsCore

/// Each `Fixtures/invalid/NAME.yaml` must fail with exactly the text in `NAME.expected`.
@Suite struct InvalidManifestTests {
    @Test func corpusCoversEnoughCases() {
        #expect(Fixtures.names(in: "invalid").count >= 40)
    }

    @Test(arguments: Fixtures.names(in: "invalid"))
    func reportsExpectedDiagnostics(name: String) throws {
        let path = Fixtures.path("invalid", name)
        let expected = try String(contentsOfFile: Fixtures.path("invalid", name, "expected"), encoding: .utf8)
        let output = try #require(validationOutput(path: path), "\(name).yaml was accepted")
        let relative = output.replacingOccurrences(of: Fixtures.root.path + "/", with: "")
        #expect(relative + "\n" == expected)
        #expect(!output.contains(canaryValue))
        #expect(!output.contains("canary"))
        #expect(!output.contains("hunter2"))
    }
}

/// Inputs that are better made by the test than committed.
@Suite struct GeneratedInputTests {
    @Test func invalidUTF8IsReportedWithItsPosition() throws {
        let folder = try TemporaryFolder()
        let path = try folder.write(
            "bad.yaml", Array("version: 1\nsecrets:\n  - name: ".utf8) + [0xC3, 0x28] + Array("\n".utf8))
        let output = try #require(validationOutput(path: path))
        #expect(
            output == """
                \(path):3:12: error: the file is not valid UTF-8 text: invalid trailing UTF-8 octet (byte 0x28)
                1 error in \(path)
                """)
    }

    @Test func emptyFileIsEmptyManifest() throws {
        let folder = try TemporaryFolder()
        let path = try folder.write("empty.yaml", [])
        #expect(
            validationOutput(path: path) == """
                \(path):1:1: error: the manifest is empty; it needs 'version: 1' and a 'secrets:' list
                1 error in \(path)
                """)
    }

    @Test func fileOverTheSizeBoundIsRefusedUnread() throws {
        let folder = try TemporaryFolder()
        let path = folder.path + "/huge.yaml"
        #expect(FileManager.default.createFile(atPath: path, contents: nil))
        let handle = try #require(FileHandle(forWritingAtPath: path))
        try handle.truncate(atOffset: UInt64(ManifestLoader.maxBytes + 1))
        try handle.close()
        #expect(
            validationOutput(path: path) == """
                error: \(path) is 67,108,865 bytes; manifests are limited to 67,108,864 bytes
                1 error in \(path)
                """)
    }

    @Test func byteOrderMarkIsAccepted() throws {
        let folder = try TemporaryFolder()
        let path = try folder.write(
            "bom.yaml",
            [0xEF, 0xBB, 0xBF] + Array("version: 1\nsecrets:\n  - name: a\n    value: {env: OPENAI_API_KEY}\n".utf8))
        #expect(validationOutput(path: path) == nil)
    }

    @Test func deepNestingIsRefused() throws {
        let folder = try TemporaryFolder()
        let deep = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        let path = try folder.write("deep.yaml", "version: 1\nsecrets: \(deep)\n")
        let output = try #require(validationOutput(path: path))
        #expect(output.hasPrefix("\(path):2:"))
        #expect(output.contains("the document nests deeper than 64 levels"))
    }

    @Test func onlyTheFirstFiftyProblemsArePrinted() throws {
        let folder = try TemporaryFolder()
        let keys = (0..<60).map { "    unknown_\($0): x\n" }.joined()
        let path = try folder.write(
            "many.yaml", "version: 1\nsecrets:\n  - name: a\n    value: {env: OPENAI_API_KEY}\n" + keys)
        let lines = try #require(validationOutput(path: path)).split(separator: "\n")
        #expect(lines.count == 52)
        #expect(lines[50] == "… and 10 more")
        #expect(lines[51] == "60 errors in \(path)")
    }

    @Test func missingManifestNamesTheFlag() throws {
        let folder = try TemporaryFolder()
        let path = folder.path + "/nope.yaml"
        #expect(
            validationOutput(path: path) == """
                error: \(path) does not exist (pass the manifest with -f FILE)
                1 error in \(path)
                """)
    }
}
