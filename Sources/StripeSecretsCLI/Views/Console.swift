import ArgumentParser
import SecretsCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The process's surroundings, read in one place: environment, clock, standard error.
enum Console {
    static var environment: [String: String] {
        var result: [String: String] = [:]
        var pointer = environ
        while let entry = pointer.pointee {
            let text = String(cString: entry)
            if let equals = text.firstIndex(of: "=") {
                result[String(text[..<equals])] = String(text[text.index(after: equals)...])
            }
            pointer += 1
        }
        return result
    }

    /// Unix seconds now.
    static var now: Int64 {
        Int64(time(nil))
    }

    static func printError(_ text: String) {
        var line = text + "\n"
        line.withUTF8 { bytes in _ = write(STDERR_FILENO, bytes.baseAddress, bytes.count) }
    }

    /// Prints the problems on stderr and returns the failure exit code to throw.
    static func fail(_ error: DiagnosticsError) -> ExitCode {
        printError(error.description)
        return .failure
    }

    /// Checks a manifest (and its values when asked), or prints every problem and fails.
    static func check(_ path: String, resolvingValues: Bool) throws -> (manifest: Manifest, secrets: [ResolvedSecret]) {
        do {
            return try ManifestLoader.check(
                path: path, now: now, environment: environment, resolvingValues: resolvingValues)
        } catch {
            throw fail(error)
        }
    }
}

extension Int {
    /// `1 secret`, `12 secrets`.
    func counted(_ noun: String) -> String {
        self == 1 ? "1 \(noun)" : "\(self) \(noun)s"
    }
}
