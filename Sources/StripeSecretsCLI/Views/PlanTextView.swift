import SecretsCore
import SecretsModel

/// How a plan reads in a terminal or a CI log, in the manner of `terraform plan`.
struct PlanTextView {
    let saved: SavedPlan
    let colour: Bool
    /// `plan` or `plan file plan.json`, for the header.
    let title: String

    private var plan: Plan { saved.plan }

    func render() -> String {
        var lines = [header, ""]
        if plan.isEmpty {
            return lines.dropLast().joined(separator: "\n") + "\n\n"
                + "No changes. \(plan.unchanged.count.counted("secret")) match \(TerminalText.safe(saved.statePath)).\n"
        }
        let width = min(48, plan.changes.map { $0.address.description.count }.max() ?? 0)
        for change in plan.changes {
            let (symbol, colourCode) = Self.marker(change.action)
            let action = change.action.rawValue.padding(toLength: 8, withPad: " ", startingAt: 0)
            let address = change.address.description
            let reason = PlanReasonText(change: change, manifestPath: saved.manifestPath, style: .text).text
            var line = "  " + paint("\(symbol) \(action)", colourCode) + " " + address
            if !reason.isEmpty {
                line += String(repeating: " ", count: max(0, width - address.count)) + "  " + reason
            }
            lines.append(line)
        }
        lines.append("")
        lines.append(summary)
        return lines.joined(separator: "\n") + "\n"
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
        let unknown = plan.count(.unknown)
        if unknown > 0 { text += ", \(unknown) unknown (a plan with unknown values cannot be saved or applied)" }
        return text + "."
    }

    private static func marker(_ action: Plan.Action) -> (String, String) {
        switch action {
        case .create: ("+", "32")
        case .replace: ("~", "33")
        case .delete: ("-", "31")
        case .unknown: ("?", "36")
        }
    }

    private func paint(_ text: String, _ code: String) -> String {
        colour ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text
    }
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
        }
    }

    private var valueChanged: String {
        let before = change.fingerprintBefore?.short ?? "none"
        let after = change.fingerprintAfter?.short ?? "unknown"
        return style == .text
            ? "value changed (fp \(before) -> \(after))"
            : "value changed (\(code(before)) → \(code(after)))"
    }

    private var expiryChanged: String {
        let before = change.expiresBefore.map(Timestamp.formatShort) ?? "never"
        let after = change.expiresAfter.map(Timestamp.formatShort) ?? "never"
        return "expires_at \(before) \(style == .text ? "->" : "→") \(after)"
    }

    private func code(_ text: String) -> String {
        style == .markdown ? Markdown.code(text, inTable: true) : TerminalText.safe(text)
    }
}
