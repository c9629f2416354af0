import Foundation
import Testing
import TestSupport
import SecretsCore
import SecretsModel
@testable import StateStorage

@Suite struct FileStateBackendTests {
    private func permissions(_ path: String) throws -> Int {
        try (FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int) ?? -1
    }

    @Test func roundTripsSortedAndPrivate() throws {
        let folder = try TemporaryFolder()
        let store = FileStateBackend(path: folder.path + "/secrets.state.json")
        let state = sampleState()
        try store.write(state)
        #expect(try store.load() == state)
        #expect(try permissions(store.path) == 0o600)
        let text = try String(contentsOfFile: store.path, encoding: .utf8)
        let addresses = text.split(separator: "\n").filter { $0.contains("\"address\"") }.map {
            $0.trimmingCharacters(in: .whitespaces)
        }
        #expect(
            addresses == [
                "\"address\" : \"account/a\",", "\"address\" : \"account/c/d\",",
                "\"address\" : \"acct_A1/account/b\",",
            ])
        #expect(!text.contains(canaryValue))
        // Writing the same state again gives the same bytes: diffs show only real changes.
        try store.write(state)
        #expect(try String(contentsOfFile: store.path, encoding: .utf8) == text)
    }

    @Test func theFirstLoadOfAMissingStateIsNil() throws {
        let folder = try TemporaryFolder()
        #expect(try FileStateBackend(path: folder.path + "/none.state.json").load() == nil)
    }

    @Test func everyWriteKeepsThePreviousVersionAsBackup() throws {
        let folder = try TemporaryFolder()
        let store = FileStateBackend(path: folder.path + "/s.state.json")
        var state = sampleState()
        try store.write(state)
        let first = try String(contentsOfFile: store.path, encoding: .utf8)
        state.serial += 1
        try store.write(state)
        #expect(try String(contentsOfFile: store.backupPath, encoding: .utf8) == first)
        #expect(try store.load()?.serial == 8)
    }

    @Test func aCrashBeforeTheRenameLeavesTheOldStateIntact() throws {
        struct Crash: Error {}
        let folder = try TemporaryFolder()
        let store = FileStateBackend(path: folder.path + "/s.state.json")
        let old = sampleState()
        try store.write(old)
        var new = old
        new.serial += 1
        new.forget(SecretAddress(account: nil, scope: .account, name: "a"))
        var temporaryFiles: [String] = []
        #expect(throws: Crash.self) {
            try store.write(new) {
                temporaryFiles = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter {
                    $0.contains(".tmp-")
                }
                throw Crash()
            }
        }
        #expect(temporaryFiles.count == 1)  // the new state was fully written before the "crash"
        #expect(try store.load() == old)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).allSatisfy { !$0.contains(".tmp-") })
    }

    @Test(arguments: [
        (
            "{not json",
            "s.state.json is corrupt (not valid JSON); it was left untouched. The previous version, if any, is in s.state.json.backup"
        ),
        ("[1, 2]", "s.state.json is not a stripe-secrets state file; pass the right one with --state PATH"),
        (
            "{\"format\": \"other\"}",
            "s.state.json is not a stripe-secrets state file; pass the right one with --state PATH"
        ),
        (
            "{\"format\": \"stripe-secrets-state\", \"format_version\": 9}",
            "s.state.json has format version 9, written by a newer stripe-secrets; this one reads version 1. Upgrade stripe-secrets"
        ),
        (
            "{\"format\": \"stripe-secrets-state\", \"format_version\": 1, \"lineage\": \"x\"}",
            "s.state.json is corrupt (no serial); it was left untouched. The previous version, if any, is in s.state.json.backup"
        ),
        (
            "{\"format\": \"stripe-secrets-state\", \"format_version\": 1, \"lineage\": \"x\", \"serial\": 1, \"fingerprint_key\": \"AA==\", \"secrets\": []}",
            "s.state.json is corrupt (fingerprint_key is not 32 bytes of base64); it was left untouched. The previous version, if any, is in s.state.json.backup"
        ),
        (
            "",
            "s.state.json is corrupt (it is empty); it was left untouched. The previous version, if any, is in s.state.json.backup"
        ),
        (
            "{\"format\": \"stripe-secrets-state\", \"format_version\": 0}",
            "s.state.json is corrupt (format_version is missing or not a positive number); it was left untouched. The previous version, if any, is in s.state.json.backup"
        ),
    ])
    func unusableFilesAreClearErrorsAndStayUntouched(content: String, message: String) throws {
        let folder = try TemporaryFolder()
        try folder.write("s.state.json", content)
        let store = FileStateBackend(path: folder.path + "/s.state.json")
        #expect {
            _ = try store.load()
        } throws: { error in
            (error as? DocumentError)?.description.replacing(folder.path + "/", with: "") == message
        }
        #expect(try String(contentsOfFile: store.path, encoding: .utf8) == content)
    }

    @Test func invalidAddressesExpiriesAndSerialsInAStateAreCorrupt() throws {
        let folder = try TemporaryFolder()
        let store = FileStateBackend(path: folder.path + "/s.state.json")
        try store.write(sampleState())
        let good = try String(contentsOfFile: store.path, encoding: .utf8)
        for (bad, replacement) in [
            ("\"address\" : \"account/a\"", "\"address\" : \"account/a\\u001b[31m\""),
            ("\"expires_at\" : 4102444800", "\"expires_at\" : -9223372036854775808"),
            ("\"serial\" : 7", "\"serial\" : 9223372036854775807"),
        ] {
            try folder.write("s.state.json", good.replacing(bad, with: replacement))
            #expect(throws: DocumentError.self) { try store.load() }
        }
    }

    @Test func aSymlinkedStateIsRefused() throws {
        let folder = try TemporaryFolder()
        let store = FileStateBackend(path: folder.path + "/real.state.json")
        try store.write(sampleState())
        try FileManager.default.createSymbolicLink(
            atPath: folder.path + "/link.state.json", withDestinationPath: store.path)
        #expect(throws: DocumentError.self) { try FileStateBackend(path: folder.path + "/link.state.json").load() }
    }

    @Test func backupsArePrivateAndAbandonedTemporariesAreRemoved() throws {
        let folder = try TemporaryFolder()
        let store = FileStateBackend(path: folder.path + "/s.state.json")
        try store.write(sampleState())
        chmod(store.path, 0o644)
        // A temporary file left by a process that no longer exists (no pid is this high).
        try folder.write(".s.state.json.tmp-2147483000-1", "old copy")
        try store.write(sampleState())
        #expect(try permissions(store.backupPath) == 0o600)
        #expect(!FileManager.default.fileExists(atPath: folder.path + "/.s.state.json.tmp-2147483000-1"))
    }

    @Test func aWriteInterruptedBeforeItsRenameLeavesNoCopyBehindTheNext() throws {
        struct Interrupted: Error {}
        let folder = try TemporaryFolder()
        let store = FileStateBackend(path: folder.path + "/s.state.json")
        var state = sampleState()
        try store.write(state)
        state.serial += 1
        #expect(throws: Interrupted.self) { try store.write(state, beforeRename: { throw Interrupted() }) }
        // The backup is now the state file itself (one inode); the next write keeps it again.
        try store.write(state)
        #expect(try store.load() == state)
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted() == [
                "s.state.json", "s.state.json.backup",
            ])
    }

    @Test func theLockIsExclusiveAndNamesItsHolder() throws {
        let folder = try TemporaryFolder()
        let store = FileStateBackend(path: folder.path + "/s.state.json")
        let held = try StateLock.acquire(
            store.lockPath, statePath: store.path, operation: "apply", now: { 1_800_000_000 })
        #expect(StateLock.status(of: store.lockPath).isHeld)
        #expect {
            _ = try StateLock.acquire(store.lockPath, statePath: store.path, operation: "plan")
        } throws: { error in
            guard case .held(_, let holder?, false) = error as? StateLockError else { return false }
            return holder.operation == "apply" && holder.pid == getpid() && holder.since == 1_800_000_000
        }
        withExtendedLifetime(held) {}
    }

    @Test func aReleasedLockCanBeTakenAgain() throws {
        let folder = try TemporaryFolder()
        let store = FileStateBackend(path: folder.path + "/s.state.json")
        do {
            let lock = try StateLock.acquire(store.lockPath, statePath: store.path, operation: "first")
            withExtendedLifetime(lock) {}
        }
        #expect(!StateLock.status(of: store.lockPath).isHeld)
        let again = try StateLock.acquire(store.lockPath, statePath: store.path, operation: "second")
        withExtendedLifetime(again) {}
    }

    @Test func aStateFileNamedAfterPostgreSQLIsStillAFile() throws {
        let location = try StateLocation.resolve(
            state: "postgres.state.json", workspace: nil, manifest: "secrets.yaml", environment: [:])
        #expect(location == .file("postgres.state.json"))
        #expect(throws: StateLocationError.self) {
            try StateLocation.resolve(state: "postgres:/u@h/db", workspace: nil, manifest: "s.yaml", environment: [:])
        }
    }
}
