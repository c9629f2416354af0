// An apply's journal as the file backend stores it: a header line, then one line per entry
// (`JournalRecord.parse`, which hands each record to the decoder the PostgreSQL backend uses
// for its rows). Checked: no crash; a journal read is written back and reads back equal;
// judged and folded against a state of its lineage made with the seed key, an authentic one
// gives a state that reads back, and any other leaves the state as it was.
import Foundation
import SecretsCore

private let place = JournalPlace(journal: "fuzz.journal", state: "fuzz.state.json", setAside: "mv fuzz.journal x")

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let journal: JournalRecord
    do throws(JournalError) {
        guard let read = try JournalRecord.parse(lines: input(data, size), place: place) else { return 0 }
        journal = read
    } catch {
        require(error.problem == .damaged, "a read refused as other than damaged: \(error)")
        return 0
    }
    do {
        let lines = try journal.entries.reduce(try JSONCoding.encodeLine(journal.header)) {
            $0 + (try JSONCoding.encodeLine($1))
        }
        let again = try JournalRecord.parse(lines: lines, place: place)
        require(again?.header == journal.header && again?.entries == journal.entries, "a journal read back differs")
    } catch {
        require(false, "a journal this tool wrote cannot be read: \(error)")
    }
    // A journal is only ever judged against a state, whose lineage and serial are valid.
    let (lineage, serial) = (journal.header.lineage, journal.header.serial)
    guard State.isValidLineage(lineage), (0...State.maxSerial).contains(serial) else { return 0 }
    let state = State(lineage: lineage, serial: serial, mode: nil, fingerprintKey: seedKey, secrets: [:])
    let folded = state.folding(journal)
    guard journal.verdict(against: state) == .pending else {
        require(folded == state, "a journal not pending was folded")
        return 0
    }
    do throws(DocumentError) {
        let again = try StateDocument.decode(StateDocument.encode(folded), path: "folded")
        require(again == folded, "a folded state read back differs")
    } catch {
        require(false, "a state folded from an authentic journal cannot be read: \(error)")
    }
    return 0
}
