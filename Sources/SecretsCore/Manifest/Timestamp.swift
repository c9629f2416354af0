/// Reading `expires_at`: RFC 3339 with an offset, or whole unix seconds.
public enum Timestamp {
    /// Year 9999's last second: later values are surely mistakes.
    static let latest: Int64 = 253_402_300_799

    /// Unix seconds from `2027-06-30T00:00:00Z` or `2027-06-30T02:00:00+02:00`.
    ///
    /// Fractions of a second are accepted only when zero: Stripe keeps whole seconds.
    public static func parseRFC3339(_ text: String) -> Int64? {
        var text = text
        return text.withUTF8 { parseRFC3339(bytes: $0) }
    }

    /// `parseRFC3339` of a text's UTF-8 bytes.
    public static func parseRFC3339(bytes: UnsafeBufferPointer<UInt8>) -> Int64? {
        var index = 0
        func number(_ digits: Int) -> Int? {
            guard index + digits <= bytes.count else { return nil }
            var value = 0
            for byte in bytes[index..<index + digits] {
                guard byte >= 48, byte <= 57 else { return nil }
                value = value * 10 + Int(byte - 48)
            }
            index += digits
            return value
        }
        func expect(_ allowed: StaticString) -> Bool {
            guard index < bytes.count,
                UnsafeBufferPointer(start: allowed.utf8Start, count: allowed.utf8CodeUnitCount).contains(bytes[index])
            else { return false }
            index += 1
            return true
        }
        guard let year = number(4), expect("-"), let month = number(2), expect("-"),
            let day = number(2), expect("Tt "), let hour = number(2), expect(":"),
            let minute = number(2), expect(":"), let second = number(2)
        else { return nil }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            let start = index
            while index < bytes.count, bytes[index] == UInt8(ascii: "0") { index += 1 }
            guard index > start else { return nil }
        }
        var offset = 0
        if expect("Zz") {
            offset = 0
        } else if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
            let sign = bytes[index] == UInt8(ascii: "-") ? -1 : 1
            index += 1
            guard let hours = number(2), expect(":"), let minutes = number(2), hours < 24, minutes < 60
            else { return nil }
            offset = sign * (hours * 3600 + minutes * 60)
        } else {
            return nil
        }
        guard index == bytes.count, (1...12).contains(month), day >= 1,
            day <= daysIn(month: month, year: year), hour < 24, minute < 60, second < 60
        else { return nil }
        let days = daysFromCivil(year: year, month: month, day: day)
        return Int64(days) * 86_400 + Int64(hour * 3600 + minute * 60 + second - offset)
    }

    /// Whole unix seconds written as plain digits.
    static func parseUnixSeconds(_ text: String) -> Int64? {
        guard !text.isEmpty, text.utf8.count <= 12, text.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 })
        else { return nil }
        return Int64(text)
    }

    /// True for nil or a time from 1970 to the year 9999: what our files may hold.
    public static func isInRange(_ seconds: Int64?) -> Bool {
        seconds.map { (0...latest).contains($0) } ?? true
    }

    /// The times `format` writes as they are: the years 1 to 9999, in UTC.
    public static let writable: ClosedRange<Int64> = -62_135_596_800...latest

    /// `parseRFC3339` for a time in one of the tool's own documents, which must read back
    /// equal once written: nil for a time outside `writable` too (`0000-01-01T00:00:00Z`,
    /// `9999-12-31T23:59:59-00:01`), which would be written back as another.
    public static func parseStored(_ text: String) -> Int64? {
        var text = text
        return text.withUTF8 { parseStored(bytes: $0) }
    }

    /// `parseStored` of a text's UTF-8 bytes.
    public static func parseStored(bytes: UnsafeBufferPointer<UInt8>) -> Int64? {
        parseRFC3339(bytes: bytes).flatMap { writable.contains($0) ? $0 : nil }
    }

    /// `2027-06-30T00:00:00Z` for unix seconds, in UTC (clamped to `writable`).
    public static func format(_ unclamped: Int64) -> String {
        let seconds = min(max(unclamped, writable.lowerBound), writable.upperBound)
        let days = Int(seconds.floorDivided(by: 86_400))
        let rest = Int(seconds - Int64(days) * 86_400)
        let (year, month, day) = civilFromDays(days)
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        let yearText = String(repeating: "0", count: max(0, 4 - String(year).count)) + String(year)
        return "\(yearText)-\(two(month))-\(two(day))T\(two(rest / 3600)):\(two(rest / 60 % 60)):\(two(rest % 60))Z"
    }

    private static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days since 1970-01-01 (Howard Hinnant's algorithm).
    private static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    private static func civilFromDays(_ days: Int) -> (Int, Int, Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}

extension Int64 {
    fileprivate func floorDivided(by divisor: Int64) -> Int64 {
        let quotient = self / divisor
        return (self % divisor != 0 && (self < 0) != (divisor < 0)) ? quotient - 1 : quotient
    }
}

extension Timestamp {
    /// `2027-06-30` when the time is midnight UTC, else the full `2027-06-30T12:00:00Z`.
    public static func formatShort(_ seconds: Int64) -> String {
        let full = format(seconds)
        return full.hasSuffix("T00:00:00Z") ? String(full.prefix(10)) : full
    }
}

extension Timestamp {
    /// Which part of `text` keeps it from being an `expires_at`, in words: for a value that
    /// neither `parseRFC3339` nor (when `plain`) `parseUnixSeconds` reads. Nil when no single
    /// part can be named.
    static func problem(with text: String, plain: Bool) -> String? {
        let bytes = Array(text.utf8)
        let digitsOnly = !bytes.isEmpty && bytes.allSatisfy { $0 >= 48 && $0 <= 57 }
        if digitsOnly {
            guard plain else { return "is quoted, so it is text, not unix seconds; remove the quotes" }
            if bytes.count >= 13, bytes.count <= 15 {
                return "has \(bytes.count) digits: it looks like milliseconds, and Stripe takes whole seconds; "
                    + "drop the last three digits"
            }
            return "has \(bytes.count) digits, too many for unix seconds"
        }
        func digits(_ range: Range<Int>) -> Int? {
            guard range.upperBound <= bytes.count else { return nil }
            var value = 0
            for byte in bytes[range] {
                guard byte >= 48, byte <= 57 else { return nil }
                value = value * 10 + Int(byte - 48)
            }
            return value
        }
        guard let year = digits(0..<4), bytes.count >= 10, bytes[4] == UInt8(ascii: "-"),
            bytes[7] == UInt8(ascii: "-"), let month = digits(5..<7), let day = digits(8..<10)
        else { return nil }
        guard (1...12).contains(month) else { return "has month \(month), which does not exist" }
        guard day >= 1, day <= daysIn(month: month, year: year) else {
            let names = [
                "January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
                "November", "December",
            ]
            return "has day \(day), which \(names[month - 1]) \(year) does not have"
        }
        guard bytes.count > 10 else { return "is a date without a time; write \(text)T00:00:00Z for midnight UTC" }
        guard bytes.count >= 19, let hour = digits(11..<13), let minute = digits(14..<16),
            let second = digits(17..<19)
        else { return nil }
        guard hour < 24, minute < 60, second < 60 else {
            return "has the time \(hour):\(minute):\(second), which does not exist"
        }
        let rest = bytes[19...]
        if rest.first == UInt8(ascii: "."),
            rest.dropFirst().prefix(while: { $0 >= 48 && $0 <= 57 }).contains(where: {
                $0 != 48
            })
        {
            return "has a fraction of a second; Stripe keeps whole seconds, so drop it"
        }
        let offset = rest.drop { $0 == UInt8(ascii: ".") || ($0 >= 48 && $0 <= 57) }
        if offset.isEmpty { return "has no offset; add Z for UTC, or one like +02:00" }
        return nil
    }
}
