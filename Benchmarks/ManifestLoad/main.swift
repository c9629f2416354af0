// Times manifest loading (parse, schema check, model) and the strict parse alone, best of 15.
// Run through Benchmarks/run.sh, which also times the plain C libyaml floor on the same file.
import Dispatch
import SecretsCore
import StrictYAML

guard CommandLine.arguments.count == 2 else {
    fatalError("usage: manifest-load-benchmark MANIFEST")
}
let path = CommandLine.arguments[1]
let bytes = try FileReader.contents(of: path, maxBytes: ManifestLoader.maxBytes)

func best(of runs: Int, _ body: () throws -> Void) rethrows -> Double {
    var best = Double.infinity
    for _ in 0..<runs {
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
    }
    return best
}

var secrets = 0
let parse = best(of: 15) { _ = StrictYAMLParser.parse(bytes) }
let load = try best(of: 15) { secrets = try ManifestLoader.decode(bytes, path: path, now: 0).secrets.count }
print("strict parse to node tree: \(String(format: parse)) ms")
print("manifest load (parse, schema check, model): \(String(format: load)) ms, \(secrets) secrets")

private func String(format milliseconds: Double) -> String {
    let hundredths = Int((milliseconds * 100).rounded())
    let fraction = hundredths % 100
    return "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)"
}
