// The state document reader, the form both backends store: no crash; a document read is
// written back byte-stable and reads back equal; no error quotes the stored fingerprint key.
import Foundation
import SecretsCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = input(data, size)
    do throws(DocumentError) {
        roundTrip(try StateDocument.decode(bytes, path: "fuzz.state.json"))
    } catch {
        check(error, bytes)
        // A state that keeps its key apart is read again with the key its seeds were made with.
        guard error.problem == .keyNeeded(given: nil) else { return 0 }
        do throws(DocumentError) {
            roundTrip(try StateDocument.decode(bytes, path: "fuzz.state.json", keptApart: fuzzKey))
        } catch {
            check(error, bytes)
        }
    }
    return 0
}

private let fuzzKey = StateDocument.KeptApartKey(seedKey, origin: "the fuzz key")

private func roundTrip(_ state: State) {
    let encoded = StateDocument.encode(state)
    do throws(DocumentError) {
        let again = try StateDocument.decode(
            encoded, path: "again.state.json", keptApart: state.keyIsKeptApart ? fuzzKey : nil)
        require(again == state, "a state read back differs")
        require(StateDocument.encode(again) == encoded, "a state's document is not stable")
    } catch {
        require(false, "a state this tool wrote cannot be read: \(error)")
    }
}

/// Every message, for a file and a database, names the document and never quotes its key.
private func check(_ error: DocumentError, _ bytes: [UInt8]) {
    var inDatabase = error
    inDatabase.place = .database
    let key = (try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])?["fingerprint_key"] as? String
    for message in [error.description, inDatabase.description] {
        require(message.contains("fuzz.state.json") || message.contains("the fuzz key"), message)
        if let key { require(!quotes(message, key), "a message quotes the fingerprint key") }
    }
}
