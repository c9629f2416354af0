import SecretsCore
import SecretsModel

/// How a plan reads in a terminal or a CI log, in the manner of `terraform plan`.
struct PlanTextView {
    let saved: SavedPlan
    let colour: Bool
    /// `plan` or `plan file plan.json`, for the header.
    let title: String

    private var plan: Plan { saved.plan }

    /// What the refresh cost, when this plan was just made with one.
    var refreshCost: RefreshCost? = nil
    /// Set when no state was found and one was created for this plan.
    var missingState: MissingState? = nil

    /// Writes the plan, line by line: nothing holds the whole text.
    func render(to output: inout some TextOutputStream) {
        output.write(header + "\n")
        if let refreshLine { output.write(refreshLine + "\n") }
        output.write("\n")
        if let missingState { output.write(missingState.text + "\n\n") }
        if plan.isEmpty {
            output.write(
                "No changes. \(plan.unchanged.count.counted("secret")) match \(TerminalText.safe(saved.statePath)).\n")
            for block in [notes, warnings] where !block.isEmpty {
                output.write("\n")
                write(block, to: &output)
            }
            return
        }
        let widest = max(
            plan.changes.lazy.map { Self.width(of: $0.address) }.max() ?? 0,
            plan.protection.lazy.map { Self.width(of: $0.address) }.max() ?? 0)
        let width = min(48, widest)
        for change in plan.changes {
            let (symbol, action, colourCode) = Self.marker(change.action)
            output.write("  ")
            paint(symbol + " " + action, colourCode, to: &output)
            output.write(" ")
            change.address.write(to: &output)
            let reason = PlanReasonText(change: change, manifestPath: saved.manifestPath, style: .text).text
            if !reason.isEmpty {
                pad(change.address, to: width, then: reason, to: &output)
            }
            output.write("\n")
        }
        for change in plan.protection {
            let (action, why) =
                change.protect
                ? ("protect ", "protect: true; no plan may delete it until released")
                : ("release ", "protect: false; it may be deleted once this is applied")
            output.write("  ")
            paint("! " + action, "35", to: &output)
            output.write(" ")
            change.address.write(to: &output)
            pad(change.address, to: width, then: why + " (state only)", to: &output)
            output.write("\n")
        }
        output.write("\n")
        for block in [notes, warnings] where !block.isEmpty {
            write(block, to: &output)
            output.write("\n")
        }
        output.write(summary + "\n")
    }

    private func write(_ lines: [String], to output: inout some TextOutputStream) {
        for line in lines { output.write(line + "\n") }
    }

    /// The spaces that line `text` up in a column after `address`, two more, and `text`.
    private func pad(_ address: SecretAddress, to width: Int, then text: String, to output: inout some TextOutputStream)
    {
        output.write(String(repeating: " ", count: max(0, width - Self.width(of: address)) + 2))
        output.write(text)
    }

    /// How many characters `address` shows, as `description.count` counts them: its UTF-8 length
    /// when it is ASCII without carriage returns (each such byte is one character), counted
    /// otherwise.
    private static func width(of address: SecretAddress) -> Int {
        var ascii = ASCIILength()
        address.write(to: &ascii)
        return ascii.length ?? address.description.count
    }

    /// The length of text that is all ASCII without `\r`; nil once any other text is written.
    private struct ASCIILength: TextOutputStream {
        var length: Int? = 0

        mutating func write(_ text: String) {
            guard let counted = length, text.utf8.allSatisfy({ $0 < 0x80 && $0 != 0x0D }) else {
                length = nil
                return
            }
            length = counted + text.utf8.count
        }
    }

    /// `Refreshed 14 scopes and 38 values from Stripe (52 requests).`, or how a saved plan was
    /// refreshed.
    private var refreshLine: String? {
        guard let refresh = plan.refresh else { return nil }
        guard let refreshCost else {
            return "Refreshed from Stripe when planned (\(refresh == .values ? "secrets and values" : "secrets only"))."
        }
        let values = refresh == .values ? " and \(refreshCost.values.counted("value"))" : ""
        return "Refreshed \(refreshCost.scopes.counted("scope"))\(values) from Stripe "
            + "(\(refreshCost.requests.counted("request")))."
    }

    private var warnings: [String] {
        saved.plan.expiring.map { ExpiryText.warning($0, now: saved.createdAt) }
    }

    /// The unmanaged secrets a refresh found, at most 50 by name.
    private var notes: [String] {
        let unmanaged = plan.unmanaged
        guard !unmanaged.isEmpty else { return [] }
        let shown = unmanaged.prefix(50).map { "      " + $0.description }
        let more = unmanaged.count > 50 ? ["      … and \(unmanaged.count - 50) more (all of them: --format json)"] : []
        let verb = unmanaged.count == 1 ? "is" : "are"
        return [
            "note: \(unmanaged.count.counted("secret")) in managed scopes \(verb) not in "
                + "\(TerminalText.safe(saved.manifestPath)) and will not be touched:"
        ] + shown + more
    }

    private var header: String {
        let mode = saved.mode.map { "\($0.rawValue) mode" } ?? "no apply yet"
        return
            "stripe-secrets \(TerminalText.safe(title)): \(TerminalText.safe(saved.manifestPath)) against \(TerminalText.safe(saved.statePath)) (serial \(saved.serial), \(mode))"
    }

    /// `Plan: 2 to create, 2 to replace, 1 to delete, 7 unchanged.`
    var summary: String {
        var text =
            "Plan: \(plan.count(.create)) to create, \(plan.count(.replace)) to replace, "
            + "\(plan.count(.delete)) to delete, \(plan.unchanged.count) unchanged"
        if !plan.protection.isEmpty { text += ", \(plan.protection.count.counted("protection")) to record" }
        let unknown = plan.count(.unknown)
        if unknown > 0 { text += ", \(unknown) unknown (a plan with unknown values cannot be saved or applied)" }
        return text + "."
    }

    /// The symbol, the action padded to 8 characters, and the colour code.
    private static func marker(_ action: Plan.Action) -> (String, String, String) {
        switch action {
        case .create: ("+", "create  ", "32")
        case .replace: ("~", "replace ", "33")
        case .delete: ("-", "delete  ", "31")
        case .unknown: ("?", "unknown ", "36")
        }
    }

    private func paint(_ text: String, _ code: String, to output: inout some TextOutputStream) {
        guard colour else { return output.write(text) }
        output.write("\u{1B}[\(code)m\(text)\u{1B}[0m")
    }
}

/// How an expiry warning reads.
enum ExpiryText {
    /// `in 12 days (2026-12-09)`, `in 1 day (…)`, `today (…)`.
    static func when(_ warning: Plan.ExpiryWarning, now: Int64) -> String {
        let days = warning.daysLeft(from: now)
        let date = Timestamp.formatShort(warning.expiresAt)
        return days == 0 ? "within a day (\(date))" : "in \(Int(days).counted("day")) (\(date))"
    }

    /// `warning: account/x expires in 12 days (2026-12-09); rotate it and update expires_at.`
    static func warning(_ warning: Plan.ExpiryWarning, now: Int64) -> String {
        "warning: \(warning.address) expires \(when(warning, now: now)); rotate it and update expires_at."
    }
}

/// No state was found, so one was created and every secret is planned as new: perhaps the
/// state is elsewhere, or the secrets already exist in Stripe.
struct MissingState {
    let statePath: String
    let manifestPath: String

    var text: String {
        "warning: no state at \(TerminalText.safe(statePath)): every secret in \(TerminalText.safe(manifestPath)) is "
            + "planned as a create.\n"
            + "         If these secrets already exist in Stripe, point --state at the right state, or adopt\n"
            + "         them with `stripe-secrets import --all` (or see them with `plan --refresh`)."
    }
}

/// What a refresh asked of Stripe.
struct RefreshCost {
    let scopes: Int
    let values: Int
    let requests: Int
}

/// Why a change is needed, in words; shows fingerprints (short), never values.
struct PlanReasonText {
    enum Style { case text, markdown }

    let change: Plan.Change
    let manifestPath: String
    let style: Style

    var text: String {
        switch change.reason {
        case .new: style == .text ? "" : "new"
        case .expired(let at): "expired \(Timestamp.formatShort(at))" + (style == .text ? " according to state" : "")
        case .valueChanged: valueChanged
        case .expiryChanged: expiryChanged
        case .valueAndExpiryChanged: "\(valueChanged), \(expiryChanged)"
        case .removedFromManifest: "removed from \(code(manifestPath))"
        case .unresolved(let message): style == .text ? "(\(TerminalText.safe(message)))" : Markdown.text(message)
        case .missingInStripe: "missing in Stripe (deleted outside stripe-secrets?)"
        case .changedInStripe:
            "changed in Stripe (fp \(short(change.fingerprintBefore)) in state, "
                + "\(short(change.inStripe?.fingerprint)) in Stripe)" + alsoInManifest
        case .expiryChangedInStripe:
            "expires_at changed in Stripe: \(times(change.expiresBefore, change.inStripe?.expiresAt))" + alsoInManifest
        case .untrackedInStripe:
            "in Stripe but not in the state: applying overwrites it (to adopt it instead: \(code("stripe-secrets import")))"
        case .valueUnknownSinceImport: "value unknown since import"
        case .goneFromStripe: "removed from \(code(manifestPath)); already gone from Stripe"
        }
    }

    /// What the manifest changes besides what drifted in Stripe.
    private var alsoInManifest: String {
        var parts: [String] = []
        if let before = change.fingerprintBefore, let after = change.fingerprintAfter, before != after {
            parts.append(valueChanged)
        }
        if change.expiresBefore != change.expiresAfter { parts.append(expiryChanged) }
        return parts.isEmpty ? "" : "; in \(code(manifestPath)): " + parts.joined(separator: ", ")
    }

    private var arrow: String { style == .text ? "->" : "→" }

    private func short(_ fingerprint: Fingerprint?) -> String {
        code(fingerprint?.short ?? "unknown")
    }

    /// `2027-06-30 -> 2027-12-31`, or both in full when either is not at midnight UTC, so that
    /// the two read alike.
    private func times(_ before: Int64?, _ after: Int64?) -> String {
        let short = [before, after].allSatisfy { time in time.map { Timestamp.formatShort($0).count == 10 } ?? true }
        func text(_ time: Int64?) -> String {
            time.map { short ? Timestamp.formatShort($0) : Timestamp.format($0) } ?? "never"
        }
        return "\(text(before)) \(arrow) \(text(after))"
    }

    private var valueChanged: String {
        let before = change.fingerprintBefore?.short ?? "none"
        let after = change.fingerprintAfter?.short ?? "unknown"
        return style == .text
            ? "value changed (fp \(before) -> \(after))"
            : "value changed (\(code(before)) → \(code(after)))"
    }

    private var expiryChanged: String {
        "expires_at \(times(change.expiresBefore, change.expiresAfter))"
    }

    private func code(_ text: String) -> String {
        style == .markdown ? Markdown.code(text, inTable: true) : TerminalText.safe(text)
    }
}
