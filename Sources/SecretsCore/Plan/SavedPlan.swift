import Foundation
import SecretsModel

/// This build's version, recorded in plan files and printed by `--version`.
public enum ToolVersion {
    public static let current = "0.1.0"
}

/// A plan with what it was made from: the manifest (by digest) and the state (by lineage and
/// serial), so that `apply` can refuse it once either has moved on. Its JSON form is both the
/// plan file and `plan --format json` (see docs/plan-json.md). It never holds a value.
public struct SavedPlan: Equatable, Sendable {
    public static let formatVersion = 1

    public let toolVersion: String
    /// Unix seconds.
    public let createdAt: Int64
    public let manifestPath: String
    /// The folder the plan was made in (absolute), which relative paths start at: recorded to
    /// say where to apply it from, never followed.
    public let folder: String?
    /// SHA-256 of the manifest's bytes, hex.
    public let manifestDigest: String
    public let statePath: String
    public let lineage: String
    public let serial: Int
    public let mode: StripeMode?
    public let plan: Plan

    public init(
        toolVersion: String = ToolVersion.current, createdAt: Int64, manifestPath: String, folder: String? = nil,
        manifestDigest: String, statePath: String, lineage: String, serial: Int, mode: StripeMode?, plan: Plan
    ) {
        self.toolVersion = toolVersion
        self.createdAt = createdAt
        self.manifestPath = manifestPath
        self.folder = folder
        self.manifestDigest = manifestDigest
        self.statePath = statePath
        self.lineage = lineage
        self.serial = serial
        self.mode = mode
        self.plan = plan
    }
}

extension SavedPlan {
    static let format = "stripe-secrets-plan"

    /// The versioned JSON form, pretty-printed with sorted keys; absent values are `null`.
    public func encoded() -> [UInt8] {
        var document: [UInt8] = []
        // With no limit the document comes in one chunk, taken without a copy.
        encode(inChunksOf: .max) { chunk in
            if document.isEmpty { document = chunk } else { document += chunk }
        }
        return document
    }

    /// `encoded()` in chunks of about `size` bytes, each handed to `emit` as it is made: a long
    /// plan is never held whole.
    public func encode(inChunksOf size: Int, to emit: ([UInt8]) -> Void) {
        PlanDocumentWriter.write(self, chunkSize: size, to: emit)
    }

    /// `encoded()` as `JSONEncoder` writes `PlanDocument`: the tests' oracle for the writer.
    func encodedByFoundation() -> [UInt8] {
        // Strings and integers always encode; a failure here would be a bug, not bad input.
        guard let bytes = try? JSONCoding.encodeDocument(PlanDocument(self)) else {
            preconditionFailure("plan did not encode")
        }
        return bytes
    }

    /// Reads a plan file's bytes; `path` names it in errors.
    public static func decode(_ bytes: [UInt8], path: String) throws(DocumentError) -> SavedPlan {
        try VersionedDocument.decode(
            PlanDocument.self, from: bytes, format: format, version: formatVersion, shape: PlanDocument.shape,
            kind: .plan, path: path
        ).savedPlan(path: path)
    }

    /// Reads a plan file.
    public static func load(_ path: String) throws(DocumentError) -> SavedPlan {
        guard let bytes = try VersionedDocument.read(path, as: .plan) else {
            throw DocumentError(.plan, path: path, .unreadable("no such file"))
        }
        return try decode(bytes, path: path)
    }
}
