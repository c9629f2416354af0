import ArgumentParser
import SecretsCore

/// `-f FILE`: which manifest to read.
struct ManifestOptions: ParsableArguments {
    @Option(name: [.customShort("f"), .customLong("file")], help: "The manifest to read.")
    var file = "secrets.yaml"
}

/// `--state PATH`: which state file to use.
struct StateOptions: ParsableArguments {
    @Option(
        name: .customLong("state"),
        help: ArgumentHelp(
            "The state file.", discussion: "Default: NAME.state.json beside the manifest NAME.yaml.",
            valueName: "path"))
    var path: String?

    func store(manifest: String) -> StateStore {
        StateStore(path: path ?? StateStore.defaultPath(forManifest: manifest))
    }
}

/// `--lock-timeout DURATION`: how long to wait for another writer.
struct LockOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "How long to wait for the state's lock, e.g. 30s, 2m, 1m30s.",
            discussion: "Default 0: fail at once, naming the holder.", valueName: "duration"))
    var lockTimeout: LockTimeout = LockTimeout(seconds: 0)
}

/// A duration such as `500ms`, `30s`, `2m`, `1h` or `1m30s`; a bare number is seconds.
struct LockTimeout: ExpressibleByArgument {
    let seconds: Double

    init(seconds: Double) {
        self.seconds = seconds
    }

    init?(argument: String) {
        if let plain = Double(argument), plain >= 0 {
            seconds = plain
            return
        }
        var total = 0.0
        var number = ""
        var rest = Substring(argument)
        while let character = rest.first {
            if character.isNumber || character == "." {
                number.append(character)
                rest = rest.dropFirst()
                continue
            }
            guard let value = Double(number) else { return nil }
            let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
            guard let (unit, scale) = units.first(where: { rest.hasPrefix($0.0) }) else { return nil }
            total += value * scale
            rest = rest.dropFirst(unit.count)
            number = ""
        }
        guard number.isEmpty, !argument.isEmpty else { return nil }
        seconds = total
    }
}

/// How `plan` and `show` print a plan.
enum PlanFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json, markdown
}
