import SecretsModel

/// The manifest's JSON Schema (draft 2020-12, schema version 1), for editors that check YAML
/// against one (yaml-language-server). `stripe-secrets schema` prints it.
///
/// As strict as `ManifestDecoder` wherever JSON Schema can say it, and never stricter: where
/// the decoder reads a key's scalar as text (a name, a path), numbers and booleans are
/// accepted too, since an editor's YAML parser types `name: 0123` as a number. Rules across
/// entries (unique names, 10 secrets per scope), the clock (an expiry in the future) and the
/// values themselves are left to `stripe-secrets validate`.
public enum ManifestSchema {
    /// The schema as pretty JSON, ending with a newline; `docs/manifest.schema.json` holds a copy.
    public static let text = #"""
        {
          "$schema": "https://json-schema.org/draft/2020-12/schema",
          "$id": "https://github.com/stripe-secrets/stripe-secrets/docs/manifest.schema.json",
          "title": "stripe-secrets manifest, schema version 1",
          "description": "The secrets that should exist in the Stripe Apps Secret Store, and where each value comes from (never the value). Scalars are read as written: a name or path that YAML types as a number or boolean is its text. `stripe-secrets validate` also checks what a schema cannot: each (account, scope, name) once, at most 10 secrets per scope, expiry in the future, values that resolve.",
          "type": "object",
          "additionalProperties": false,
          "required": ["version", "secrets"],
          "properties": {
            "version": {"description": "The manifest's schema version: the number 1 (not the text \"1\").", "const": 1},
            "defaults": {
              "description": "The account, scope and protection of secrets that do not set their own.",
              "type": "object",
              "additionalProperties": false,
              "properties": {
                "account": {"description": "The connected account of secrets without account or accounts. Default: the API key's own account.", "$ref": "#/$defs/account_id"},
                "scope": {"description": "The scope of secrets without their own. Default: account.", "$ref": "#/$defs/scope"},
                "protect": {"description": "Whether secrets without their own protect are protected. Default: false.", "$ref": "#/$defs/protect"}
              }
            },
            "secrets": {
              "description": "The secrets to manage, possibly none ([]). Stripe allows at most 10 secrets per (account, scope); stripe-secrets checks that, a schema cannot.",
              "type": "array",
              "items": {"$ref": "#/$defs/secret"}
            }
          },
          "$defs": {
            "protect": {"description": "true or false only (not yes or no).", "type": "boolean"},
            "secret": {
              "description": "One secret: its name and value source, optionally its scope, account(s), expiry and protection. Not both account and accounts.",
              "type": "object",
              "additionalProperties": false,
              "required": ["name", "value"],
              "not": {"required": ["account", "accounts"]},
              "properties": {
                "name": {
                  "description": "The secret's name in Stripe: 1 to \#(SecretAddress.maxNameLength) characters, no control or invisible characters (tab, newline, zero-width space, bidi controls); may contain /. Read as written: name: no is \"no\", name: 0123 is \"0123\"; quote such names so that YAML 1.1 tools read them alike.",
                  "type": ["string", "number", "boolean"],
                  "minLength": 1,
                  "maxLength": \#(SecretAddress.maxNameLength),
                  "pattern": \#(json(visibleText)),
                  "patternErrorMessage": "A name has no control or invisible characters (tab, newline, zero-width space, bidi controls)."
                },
                "value": {"description": "Where the value comes from: {env: NAME} or {file: PATH}. Never the value itself: value: \"abc\" is refused.", "$ref": "#/$defs/value"},
                "scope": {"description": "Whose secret it is within its account. Default: defaults.scope, else account.", "$ref": "#/$defs/scope"},
                "account": {"description": "The connected account the secret lives in (sent as Stripe-Account). Default: defaults.account, else the API key's own account.", "$ref": "#/$defs/account_id"},
                "accounts": {
                  "description": "Fan-out: the secret is declared once in each of these connected accounts, each listed once.",
                  "type": "array",
                  "minItems": 1,
                  "uniqueItems": true,
                  "items": {"$ref": "#/$defs/account_id"}
                },
                "protect": {"description": "Once applied with protect: true, no plan may delete the secret (removed, renamed or moved) until protect: false is applied. Default: defaults.protect, else false.", "$ref": "#/$defs/protect"},
                "expires_at": {
                  "description": "When Stripe deletes the secret: an RFC 3339 time with an offset (2027-06-30T00:00:00Z, 2027-06-30T02:00:00+02:00) or whole unix seconds (1814313600), at most the year 9999. stripe-secrets also checks that it is in the future.",
                  "oneOf": [
                    {
                      "description": "RFC 3339 date-time with an offset; fractional seconds only when zero (Stripe keeps whole seconds).",
                      "type": "string",
                      "format": "date-time",
                      "pattern": \#(json("^" + date + "[Tt]" + time + "$")),
                      "patternErrorMessage": "An RFC 3339 time with an offset, like 2027-06-30T00:00:00Z."
                    },
                    {
                      "description": "The same with a space between date and time, which RFC 3339 allows (and format date-time does not).",
                      "type": "string",
                      "pattern": \#(json("^" + date + " " + time + "$")),
                      "patternErrorMessage": "An RFC 3339 time with an offset, like 2027-06-30 00:00:00Z."
                    },
                    {"description": "Whole unix seconds, written as plain digits.", "type": "integer", "minimum": 0, "maximum": \#(Timestamp.latest)}
                  ]
                }
              }
            },
            "value": {
              "description": "A value source: exactly one of {env: NAME} and {file: PATH}.",
              "oneOf": [
                {
                  "description": "An environment variable's value, verbatim (no trimming).",
                  "type": "object",
                  "additionalProperties": false,
                  "required": ["env"],
                  "properties": {
                    "env": {
                      "description": "The variable's name: letters, digits and _, not starting with a digit, at most \#(CredentialShape.maxNameLength) characters, and not shaped like a credential (\#(credentialExamples)).",
                      "type": ["string", "boolean"],
                      "maxLength": \#(CredentialShape.maxNameLength),
                      "pattern": \#(json("^" + notCredential + "[A-Za-z_][0-9A-Za-z_]*$")),
                      "patternErrorMessage": "A variable name: letters, digits and _, not starting with a digit, not a credential.",
                      "not": {"description": "stripe-secrets' own credentials are never a secret's value.", "enum": [\#(ManifestDecoder.toolCredentials.sorted().map(json).joined(separator: ", "))]}
                    }
                  }
                },
                {
                  "description": "A UTF-8 text file's contents, 1 to \#(StripeLimits.maxLength) characters; one trailing newline is removed unless trim_newline is false.",
                  "type": "object",
                  "additionalProperties": false,
                  "required": ["file"],
                  "properties": {
                    "file": {
                      "description": "The file's path; a relative path starts at the manifest's folder. Not shaped like a credential (\#(credentialExamples)).",
                      "type": ["string", "number", "boolean"],
                      "minLength": 1,
                      "pattern": \#(json("^" + notCredential)),
                      "patternErrorMessage": "A path, not a credential.",
                      "not": {"type": "string", "pattern": "\\u0000", "description": "No NUL: the file read would end the path there."}
                    },
                    "trim_newline": {"description": "Whether one trailing \\n or \\r\\n is removed (true or false only; not yes or no).", "type": "boolean", "default": true}
                  }
                }
              ]
            },
            "scope": {
              "description": "Whose secret it is: the account's own (account, or {type: account}) or one user's ({type: user, user: usr_...}). The short form user is refused: it cannot say which user.",
              "oneOf": [
                {"description": "The account's own scope, short form.", "const": "account"},
                {
                  "description": "The account's own scope.",
                  "type": "object",
                  "additionalProperties": false,
                  "required": ["type"],
                  "properties": {"type": {"description": "The scope's type: account.", "const": "account"}}
                },
                {
                  "description": "One user's scope.",
                  "type": "object",
                  "additionalProperties": false,
                  "required": ["type", "user"],
                  "properties": {
                    "type": {"description": "The scope's type: user.", "const": "user"},
                    "user": {"description": "The user's Stripe id: usr_ and letters and digits, \#(SecretAddress.maxIDLength) characters at most.", "type": "string", "pattern": \#(json(stripeID("usr_")))}
                  }
                }
              ]
            },
            "account_id": {
              "description": "A connected account's Stripe id: acct_ and letters and digits, \#(SecretAddress.maxIDLength) characters at most.",
              "type": "string",
              "pattern": \#(json(stripeID("acct_")))
            }
          }
        }

        """#

    /// What `SecretAddress.nameProblem` calls invisible: the general categories Cc, Cf, Zl and
    /// Zp, as Swift 6.3's Unicode data has them. ManifestSchemaTests checks every scalar against
    /// `nameProblem`.
    private static let invisibleCharacters: [ClosedRange<Unicode.Scalar>] = [
        "\u{0}"..."\u{1F}", "\u{7F}"..."\u{9F}", "\u{AD}"..."\u{AD}", "\u{600}"..."\u{605}", "\u{61C}"..."\u{61C}",
        "\u{6DD}"..."\u{6DD}", "\u{70F}"..."\u{70F}", "\u{890}"..."\u{891}", "\u{8E2}"..."\u{8E2}",
        "\u{180E}"..."\u{180E}", "\u{200B}"..."\u{200F}", "\u{2028}"..."\u{202E}", "\u{2060}"..."\u{2064}",
        "\u{2066}"..."\u{206F}", "\u{FEFF}"..."\u{FEFF}", "\u{FFF9}"..."\u{FFFB}", "\u{110BD}"..."\u{110BD}",
        "\u{110CD}"..."\u{110CD}", "\u{13430}"..."\u{1343F}", "\u{1BCA0}"..."\u{1BCA3}", "\u{1D173}"..."\u{1D17A}",
        "\u{E0001}"..."\u{E0001}", "\u{E0020}"..."\u{E007F}",
    ]

    /// A pattern for text with none of `invisibleCharacters`.
    private static let visibleText: String = {
        let ranges = invisibleCharacters.map { range in
            range.lowerBound == range.upperBound
                ? String(range.lowerBound) : "\(range.lowerBound)-\(range.upperBound)"
        }
        return "^[^\(ranges.joined())]*$"
    }()

    /// A negative lookahead: not starting like a credential (`CredentialShape`), each prefix
    /// taken literally.
    private static let notCredential: String = {
        let syntax = Set(#"^$\.*+?()[]{}|/"#)
        let literals = CredentialShape.prefixes.map { prefix in
            prefix.map { syntax.contains($0) ? "\\\($0)" : String($0) }.joined()
        }
        return "(?!\(literals.joined(separator: "|")))"
    }()

    private static let credentialExamples = CredentialShape.prefixes.prefix(4).map { $0 + "..." }
        .joined(separator: ", ")

    /// RFC 3339's full-date with each month's days, and February 29 only in leap years. (A time
    /// on 9999-12-31 whose offset puts it past the year's end matches; the decoder refuses it.)
    private static let date =
        #"(?:[0-9]{4}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)"#
        + #"|02-(?:0[1-9]|1[0-9]|2[0-8]))|(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:[02468][048]|[13579][26])00)"#
        + #"-02-29)"#

    /// The time and its offset as `Timestamp.parseRFC3339` reads them: whole seconds (a zero
    /// fraction allowed), no leap second, `Z` or `±hh:mm`.
    private static let time =
        #"(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.0+)?(?:[Zz]|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])"#

    private static func stripeID(_ prefix: String) -> String {
        "^\(prefix)[0-9A-Za-z]{1,\(SecretAddress.maxIDLength - prefix.count)}$"
    }

    /// `text` as a JSON string literal, ASCII only: controls and everything beyond ASCII as
    /// `\uXXXX` (UTF-16, so pairs above U+FFFF), which a JSON reader turns back into the
    /// characters themselves. Patterns are written this way because ECMA-262 (editors) and
    /// other regex dialects agree on literal characters but not on escapes above U+FFFF.
    private static func json(_ text: String) -> String {
        var literal = "\""
        for unit in text.utf16 {
            switch unit {
            case 0x22: literal += "\\\""
            case 0x5C: literal += "\\\\"
            case 0x20..<0x7F: literal.unicodeScalars.append(Unicode.Scalar(UInt8(unit)))
            default:
                let hex = String(unit, radix: 16)
                literal += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            }
        }
        return literal + "\""
    }
}
