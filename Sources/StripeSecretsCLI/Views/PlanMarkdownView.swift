import SecretsCore
import SecretsModel

/// A plan as a pull-request comment: summary, deletions called out, a table of changes, the
/// unchanged folded away. Never longer than GitHub's comment limit: past it, rows are
/// summarised.
struct PlanMarkdownView {
    /// GitHub refuses comments over 65,536 characters; keep a margin.
    static let limit = 65_000

    let saved: SavedPlan
    /// Where the full plan can be seen, when it was saved.
    let planFile: String?
    /// Set when no state was found and one was created for this plan.
    var missingState: MissingState? = nil

    private var plan: Plan { saved.plan }

    /// Writes the comment; at most `limit` characters, so it is made whole and then written.
    func render(to output: inout some TextOutputStream) {
        var parts = [heading, ""]
        if let missingState {
            parts += [
                "> [!CAUTION]",
                "> No state was found at \(Markdown.code(missingState.statePath, inTable: false)), so every secret is "
                    + "planned as a create. If they already exist in Stripe, point `--state` at the right state, or "
                    + "adopt them with `stripe-secrets import --all` (or see them with `plan --refresh`).",
                "",
            ]
        }
        let deletions = plan.count(.delete)
        if deletions > 0 {
            var room = 2_000
            let list = joined(
                plan.changes.lazy.filter { $0.action == .delete }.map {
                    Markdown.code($0.address.description, inTable: false)
                }, count: deletions, budget: &room)
            parts += ["> [!WARNING]", "> \(deletions.counted("secret")) will be deleted: \(list)", ""]
        }
        let unknown = plan.count(.unknown)
        if unknown > 0 {
            parts += [
                "> [!CAUTION]",
                "> \(unknown == 1 ? "1 value" : "\(unknown) values") could not be read; this plan cannot be applied.",
                "",
            ]
        }
        if !plan.unmanaged.isEmpty {
            var room = 2_000
            let list = joined(
                plan.unmanaged.lazy.map { Markdown.code($0.description, inTable: false) }, count: plan.unmanaged.count,
                budget: &room)
            let manifest = Markdown.code(String(saved.manifestPath.prefix(200)), inTable: false)
            parts += [
                "> [!NOTE]",
                "> \(plan.unmanaged.count.counted("secret")) in managed scopes \(plan.unmanaged.count == 1 ? "is" : "are") "
                    + "not in \(manifest) and will not be touched: \(list)",
                "",
            ]
        }
        if !plan.expiring.isEmpty {
            var room = 2_000
            let list = joined(
                plan.expiring.lazy.map {
                    Markdown.code($0.address.description, inTable: false) + " "
                        + ExpiryText.when($0, now: saved.createdAt)
                }, count: plan.expiring.count, budget: &room)
            parts += [
                "> [!WARNING]",
                "> \(plan.expiring.count.counted("secret")) \(plan.expiring.count == 1 ? "expires" : "expire") soon; "
                    + "rotate and update `expires_at`: \(list)",
                "",
            ]
        }
        let refreshed =
            switch plan.refresh {
            case nil: "offline"
            case .secrets: "refreshed from Stripe (secrets, not values)"
            case .values: "refreshed from Stripe (secrets and values)"
            }
        let footer = [
            "",
            "<sub>\(Markdown.code(String(saved.manifestPath.prefix(200)), inTable: false)) (sha256 \(saved.manifestDigest.prefix(12))) · state serial \(saved.serial) · "
                + "\(saved.mode.map { "\($0.rawValue) mode" } ?? "no apply yet") · \(refreshed) · no secret values are shown</sub>",
        ]
        var budget = Self.limit - (parts + footer).reduce(0) { $0 + $1.count + 1 } - 400
        if !plan.isEmpty {
            parts += ["| | address | why |", "|---|---|---|"]
            budget -= 40
            let protections = plan.protection.lazy.map { change in
                let address = Markdown.code(change.address.description, inTable: true)
                return change.protect
                    ? "| 🔒 | \(address) | protect: true recorded; no plan may delete it until released |"
                    : "| 🔓 | \(address) | protection released: it may be deleted once this is applied |"
            }
            parts += rows(
                [AnySequence(plan.changes.lazy.map(row)), AnySequence(protections)].joined(),
                count: plan.changes.count + plan.protection.count, budget: &budget, noun: "change")
        }
        if !plan.unchanged.isEmpty {
            let names = plan.unchanged.lazy.map { Markdown.code($0.description, inTable: false) }
            parts += ["", "<details><summary>\(plan.unchanged.count) unchanged</summary>", ""]
            parts.append(joined(names, count: plan.unchanged.count, budget: &budget))
            parts.append("</details>")
        }
        for line in parts + footer { output.write(line + "\n") }
    }

    private var heading: String {
        if plan.isEmpty { return "### stripe-secrets plan: no changes, \(plan.unchanged.count) unchanged" }
        let delete = plan.count(.delete)
        let deleteText = delete > 0 ? "**\(delete) to delete**" : "0 to delete"
        var text =
            "### stripe-secrets plan: \(plan.count(.create)) to create, \(plan.count(.replace)) to replace, "
            + "\(deleteText), \(plan.unchanged.count) unchanged"
        if !plan.protection.isEmpty { text += ", \(plan.protection.count.counted("protection")) to record" }
        let unknown = plan.count(.unknown)
        if unknown > 0 { text += ", \(unknown) unknown" }
        return text
    }

    private func row(_ change: Plan.Change) -> String {
        let symbol =
            switch change.action {
            case .create: "+"
            case .replace: "~"
            case .delete: "-"
            case .unknown: "?"
            }
        let reason = PlanReasonText(change: change, manifestPath: saved.manifestPath, style: .markdown).text
        return "| \(symbol) | \(Markdown.code(change.address.description, inTable: true)) | \(reason) |"
    }

    /// As many of the `count` rows as fit in `budget` (made only as far as they fit), then one
    /// line that says how many were left out.
    private func rows(_ all: some Sequence<String>, count: Int, budget: inout Int, noun: String) -> [String] {
        var kept: [String] = []
        for row in all {
            guard row.count + 1 <= budget else {
                let left = count - kept.count
                let whereToLook =
                    planFile.map { "; see them all with " + Markdown.code("stripe-secrets show \($0)", inTable: true) }
                    ?? ""
                kept.append("| … | \(left.counted("more \(noun)")) not shown\(whereToLook) | |")
                budget -= 120
                return kept
            }
            budget -= row.count + 1
            kept.append(row)
        }
        return kept
    }

    /// As many of the `count` names as fit in `budget`, comma-separated (made only as far as they
    /// fit), then how many more there are.
    private func joined(_ names: some Sequence<String>, count: Int, budget: inout Int) -> String {
        var text = ""
        // `text.count`, kept as it grows: each name begins with a backtick and ends in ASCII, and
        // so do the joints, so no character spans two pieces and the counts add up.
        var length = 0
        for (index, name) in names.enumerated() {
            let nameLength = name.count
            guard length + nameLength + 2 <= budget else {
                let more = ", … and \(count - index) more"
                text += more
                length += more.count
                break
            }
            text += (index == 0 ? "" : ", ") + name
            length += (index == 0 ? 0 : 2) + nameLength
        }
        budget -= length
        return text
    }
}

/// Markdown escaping for text we did not write (names, paths and messages may hold any
/// printable character, and paths even line breaks).
enum Markdown {
    /// An inline code span that survives backticks in `text`; line breaks become spaces, and in
    /// a table cell pipes are escaped (GitHub unescapes them there, and only there).
    static func code(_ text: String, inTable: Bool) -> String {
        var longest = 0
        var run = 0
        for character in text {
            run = character == "`" ? run + 1 : 0
            longest = max(longest, run)
        }
        let fence = String(repeating: "`", count: longest + 1)
        var body = TerminalText.safe(
            text.replacing("\r\n", with: " ").replacing("\n", with: " ").replacing("\r", with: " "))
        if body.hasPrefix("`") || body.hasSuffix("`") { body = " \(body) " }
        if inTable { body = body.replacing("|", with: "\\|") }
        return fence + body + fence
    }

    /// Plain text with every character Markdown or HTML would act on escaped, on one line.
    static func text(_ text: String) -> String {
        var out = ""
        for character in TerminalText.safeKeepingLines(text) {
            switch character {
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "&": out += "&amp;"
            case "\n", "\r", "\r\n": out += " "
            case "\\", "`", "*", "_", "[", "]", "#", "|", "!", "~": out += "\\\(character)"
            default: out.append(character)
            }
        }
        return out
    }
}
