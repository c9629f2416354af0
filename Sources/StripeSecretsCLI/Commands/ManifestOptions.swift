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

    func validate() throws {
        if let path, path.isEmpty { throw ValidationError("--state needs a path") }
    }

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

/// A duration such as `500ms`, `30s`, `2m`, `1h` or `1m30s` (units largest first, each once),
/// or whole seconds alone; at most a day.
struct LockTimeout: ExpressibleByArgument {
    let seconds: Double

    init(seconds: Double) {
        self.seconds = seconds
    }

    init?(argument: String) {
        if !argument.isEmpty, argument.allSatisfy(\.isASCII), argument.allSatisfy(\.isNumber) {
            guard let whole = Double(argument), whole <= 86_400 else { return nil }
            seconds = whole
            return
        }
        let units: [(String, Double)] = [("h", 3600), ("m", 60), ("s", 1), ("ms", 0.001)]
        var total = 0.0
        var rest = Substring(argument)
        var nextUnit = 0
        while !rest.isEmpty {
            let number = rest.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
            rest = rest.dropFirst(number.count)
            // "ms" before "m", so that 500ms is not read as 500 minutes and a stray "s".
            guard let value = Double(number), !number.hasPrefix("."),
                let index = units.indices.dropFirst(nextUnit).sorted(by: { units[$0].0.count > units[$1].0.count })
                    .first(where: { rest.hasPrefix(units[$0].0) })
            else { return nil }
            total += value * units[index].1
            rest = rest.dropFirst(units[index].0.count)
            nextUnit = index + 1
        }
        guard !argument.isEmpty, total <= 86_400 else { return nil }
        seconds = total
    }
}

/// How `plan` and `show` print a plan.
enum PlanFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json, markdown
}
