import ArgumentParser

/// `-f FILE`: which manifest to read.
struct ManifestOptions: ParsableArguments {
    @Option(name: [.customShort("f"), .customLong("file")], help: "The manifest to read.")
    var file = "secrets.yaml"
}
