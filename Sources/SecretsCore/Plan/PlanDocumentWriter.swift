import SecretsModel

/// Writes a plan's document straight from the plan: `PlanDocument`'s fields, byte for byte as
/// `JSONEncoder` writes that type (the tests compare the two), keys sorted, absent values `null`.
enum PlanDocumentWriter {
    /// The document in chunks of about `chunkSize` bytes, each handed to `emit` as it is made.
    static func write(_ saved: SavedPlan, chunkSize: Int, to emit: ([UInt8]) -> Void) {
        let plan = saved.plan
        var json = JSONWriter()
        json.object { json in
            json.key("changes")
            json.array(plan.changes) { json, change in
                write(change, to: &json)
                json.drain(over: chunkSize, to: emit)
            }
            json.member("complete", plan.isComplete)
            json.member("created_at", Timestamp.format(saved.createdAt))
            json.key("expiring")
            json.array(plan.expiring) { json, warning in
                json.object { json in
                    json.key("address")
                    json.string(warning.address)
                    json.member("days_left", warning.daysLeft(from: saved.createdAt))
                    json.member("expires_at", warning.expiresAt)
                }
            }
            json.member("format", SavedPlan.format)
            json.member("format_version", SavedPlan.formatVersion)
            json.key("manifest")
            json.object { json in
                if let folder = saved.folder { json.member("folder", folder) }
                json.member("path", saved.manifestPath)
                json.member("sha256", saved.manifestDigest)
            }
            json.key("protection")
            json.array(plan.protection) { json, change in
                json.object { json in
                    json.key("address")
                    json.string(change.address)
                    json.member("protect", change.protect)
                }
            }
            json.member("refresh", plan.refresh?.rawValue ?? PlanDocument.offline)
            json.key("state")
            json.object { json in
                json.member("lineage", saved.lineage)
                json.member("mode", saved.mode?.rawValue)
                json.member("path", saved.statePath)
                json.member("serial", saved.serial)
            }
            json.key("summary")
            json.object { json in
                json.member("create", plan.count(.create))
                json.member("delete", plan.count(.delete))
                json.member("protection", plan.protection.count)
                json.member("replace", plan.count(.replace))
                json.member("unchanged", plan.unchanged.count)
                json.member("unknown", plan.count(.unknown))
            }
            json.member("tool_version", saved.toolVersion)
            json.key("unchanged")
            json.array(plan.unchanged) { json, address in
                json.string(address)
                json.drain(over: chunkSize, to: emit)
            }
            json.key("unmanaged")
            json.array(plan.unmanaged) { json, address in
                json.string(address)
                json.drain(over: chunkSize, to: emit)
            }
        }
        json.finish()
        emit(json.bytes)
    }

    private static func write(_ change: Plan.Change, to json: inout JSONWriter) {
        let address = change.address
        json.object { json in
            json.member("account", address.account)
            json.member("action", change.action.rawValue)
            json.key("address")
            json.string(address)
            if case .unresolved(let message) = change.reason {
                json.member("detail", message)
            } else {
                json.member("detail", nil as String?)
            }
            json.member("expires_at_after", change.expiresAfter)
            json.member("expires_at_before", change.expiresBefore)
            json.member("fingerprint_after", change.fingerprintAfter?.hex)
            json.member("fingerprint_before", change.fingerprintBefore?.hex)
            json.key("in_stripe")
            if let seen = change.inStripe {
                json.object { json in
                    json.member("expires_at", seen.expiresAt)
                    json.member("fingerprint", seen.fingerprint?.hex)
                    json.member("id", seen.id)
                }
            } else {
                json.null()
            }
            json.member("name", address.name)
            json.member("reason", change.reason.code)
            json.member("remote_id", change.remoteID)
            json.key("scope")
            json.object { json in
                switch address.scope {
                case .account:
                    json.member("type", "account")
                    json.member("user", nil as String?)
                case .user(let user):
                    json.member("type", "user")
                    json.member("user", user)
                }
            }
            json.key("source")
            switch change.source {
            case .environment(let variable):
                json.object { json in json.member("env", variable) }
            case .file(let path, let trim):
                json.object { json in
                    json.member("file", path)
                    json.member("trim_newline", trim)
                }
            case nil: json.null()
            }
        }
    }
}
