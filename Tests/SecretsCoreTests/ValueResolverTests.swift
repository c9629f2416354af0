import Foundation
import Testing
import TestSupport
@testable import SecretsCore
import SecretsModel

@Suite struct ValueResolverTests {
    private func resolve(file bytes: [UInt8], trimNewline: Bool = true) throws -> Result<SecretValue, ValueProblem> {
        let folder = try TemporaryFolder()
        try folder.write("value.txt", bytes)
        return ValueResolver(environment: [:], directory: folder.path)
            .resolve(.file(path: "value.txt", trimNewline: trimNewline))
    }

    private func resolve(env value: String?) -> Result<SecretValue, ValueProblem> {
        ValueResolver(environment: Environment(values: value.map { ["KEY": $0] } ?? [:]), directory: ".").resolve(
            .environment("KEY"))
    }

    @Test(arguments: [
        ("abc\n", true, "abc"),
        ("abc\r\n", true, "abc"),
        ("abc", true, "abc"),
        ("abc\n\n", true, "abc\n"),
        ("abc\n", false, "abc\n"),
        ("\u{FEFF}abc\n", true, "abc"),
        ("  spaced  \n", true, "  spaced  "),
    ])
    func fileValuesAreTrimmedExactlyOnce(content: String, trim: Bool, expected: String) throws {
        #expect(try resolve(file: Array(content.utf8), trimNewline: trim) == .success(SecretValue(expected)))
    }

    @Test func limitsCountCharactersNotBytes() throws {
        let exactly = String(repeating: "é", count: 5000)
        #expect(try resolve(file: Array(exactly.utf8)) == .success(SecretValue(exactly)))
        let over = String(repeating: "x", count: 5001)
        #expect(
            try resolve(file: Array(over.utf8))
                == .failure(ValueProblem("value.txt is 5,001 characters; Stripe allows at most 5,000")))
    }

    @Test func problemsNameTheSourceNeverTheContent() throws {
        #expect(try resolve(file: []) == .failure(ValueProblem("value.txt is empty; Stripe refuses an empty secret")))
        #expect(
            try resolve(file: Array("\r\n".utf8))
                == .failure(
                    ValueProblem("value.txt is empty after trimming the final newline; Stripe refuses an empty secret"))
        )
        #expect(try resolve(file: [0x61, 0xFF, 0x62]) == .failure(ValueProblem("value.txt is not valid UTF-8 text")))
        #expect(
            try resolve(file: [0x61, 0x00, 0x62])
                == .failure(ValueProblem("value.txt is binary (it holds a NUL byte); secret files must be UTF-8 text")))
        #expect(resolve(env: nil) == .failure(ValueProblem("environment variable KEY is not set")))
        #expect(
            resolve(env: "")
                == .failure(ValueProblem("environment variable KEY is empty; Stripe refuses an empty secret")))
        #expect(resolve(env: " x\n") == .success(SecretValue(" x\n")))
    }

    @Test func directoriesAndMissingFilesAreNamed() throws {
        let folder = try TemporaryFolder()
        try FileManager.default.createDirectory(atPath: folder.path + "/keys", withIntermediateDirectories: true)
        let resolver = ValueResolver(environment: [:], directory: folder.path)
        #expect(
            resolver.resolve(.file(path: "keys", trimNewline: true))
                == .failure(ValueProblem("keys is a directory, not a file")))
        #expect(
            resolver.resolve(.file(path: "keys/none.pem", trimNewline: true))
                == .failure(
                    ValueProblem("keys/none.pem does not exist (relative paths start at the manifest's folder)")))
    }

    @Test func aFIFOIsRefusedWithoutWaitingForAWriter() throws {
        let folder = try TemporaryFolder()
        try #require(mkfifo(folder.path + "/pipe", 0o600) == 0)
        let resolver = ValueResolver(environment: [:], directory: folder.path)
        #expect(
            resolver.resolve(.file(path: "pipe", trimNewline: true))
                == .failure(ValueProblem("pipe is not a regular file")))
    }

    @Test func environmentValuesThatAreNotUTF8AreReportedNotRepaired() throws {
        let name = "STRIPE_SECRETS_TEST_NOT_UTF8"
        let bytes: [CChar] = [CChar(bitPattern: 0xFF), CChar(bitPattern: 0xFE), 0]
        try #require(setenv(name, bytes, 1) == 0)
        defer { unsetenv(name) }
        let environment = Environment.process
        #expect(environment.notUTF8.contains(name))
        #expect(environment.values[name] == nil)
        #expect(
            ValueResolver(environment: environment, directory: ".").resolve(.environment(name))
                == .failure(ValueProblem("environment variable \(name) is not UTF-8 text")))
    }

    @Test func unreadableFilesSayWhy() throws {
        let folder = try TemporaryFolder()
        let resolver = ValueResolver(environment: [:], directory: folder.path)
        // A socket cannot be opened for reading, even by root (which ignores permission bits).
        let socketPath = folder.path + "/socket"
        let server = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(server) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            for (index, byte) in socketPath.utf8.prefix(buffer.count - 1).enumerated() { buffer[index] = byte }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(server, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        try #require(bound == 0)
        #expect(
            resolver.resolve(.file(path: "socket", trimNewline: true))
                == .failure(ValueProblem("socket cannot be read: No such device or address")))

        if geteuid() != 0 {
            try folder.write("locked.txt", "x")
            chmod(folder.path + "/locked.txt", 0)
            #expect(
                resolver.resolve(.file(path: "locked.txt", trimNewline: true))
                    == .failure(ValueProblem("locked.txt cannot be read: Permission denied")))
        }
    }
}
