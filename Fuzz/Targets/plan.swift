// The plan file reader: no crash; a plan read is written back byte-stable, as `JSONEncoder`
// would write it, and reads back equal.
@testable import SecretsCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let plan: SavedPlan
    do throws(DocumentError) {
        plan = try SavedPlan.decode(input(data, size), path: "fuzz.plan.json")
    } catch {
        require(error.description.contains("fuzz.plan.json"), "a message that does not name the file: \(error)")
        return 0
    }
    let encoded = plan.encoded()
    require(encoded == plan.encodedByFoundation(), "the plan writer and JSONEncoder write different bytes")
    do throws(DocumentError) {
        let again = try SavedPlan.decode(encoded, path: "again.plan.json")
        require(again == plan, "a plan read back differs")
        require(again.encoded() == encoded, "a plan's document is not stable")
    } catch {
        require(false, "a plan this tool wrote cannot be read: \(error)")
    }
    return 0
}
