// The state document reader, the form both backends store: no crash; the one-pass reader
// (`StateScanner`) gives what `JSONDecoder` gives, and `JSONWriter` writes what `JSONEncoder`
// writes; a document read is written back byte-stable and reads back equal; no error quotes
// the stored fingerprint key.
import Foundation
@testable import SecretsCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = input(data, size)
    do throws(DocumentError) {
        roundTrip(try read(bytes, keptApart: nil))
    } catch {
        check(error, bytes)
        // A state that keeps its key apart is read again with the key its seeds were made with.
        guard error.problem == .keyNeeded(given: nil) else { return 0 }
        do throws(DocumentError) {
            roundTrip(try read(bytes, keptApart: fuzzKey))
        } catch {
            check(error, bytes)
        }
    }
    return 0
}

private let fuzzKey = StateDocument.KeptApartKey(seedKey, origin: "the fuzz key")

/// The state both readers make of `bytes`, which must be the same state or the same error.
private func read(_ bytes: [UInt8], keptApart: StateDocument.KeptApartKey?) throws(DocumentError) -> State {
    func decode(fastPath: Bool) -> Result<State, DocumentError> {
        do throws(DocumentError) {
            return .success(
                try StateDocument.decode(bytes, path: "fuzz.state.json", keptApart: keptApart, fastPath: fastPath))
        } catch {
            return .failure(error)
        }
    }
    let fast = decode(fastPath: true)
    switch (fast, decode(fastPath: false)) {
    case (.success(let state), .success(let slow)): require(state == slow, "the two readers read different states")
    case (.failure(let error), .failure(let slow)):
        require(error.description == slow.description, "the two readers refuse differently: \(error) / \(slow)")
    case (.success, .failure(let error)): require(false, "only the one-pass reader accepts: \(error)")
    case (.failure(let error), .success): require(false, "only JSONDecoder accepts: \(error)")
    }
    return try fast.get()
}

private func roundTrip(_ state: State) {
    let encoded = StateDocument.encode(state)
    require(encoded == StateDocument.encode(state, fastPath: false), "JSONWriter and JSONEncoder write different bytes")
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
