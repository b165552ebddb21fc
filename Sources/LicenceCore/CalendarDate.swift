/// A calendar day (`YYYY-MM-DD`) in China Standard Time, the unit of licence validity.
///
/// Licence dates carry no time of day: `nbf` is 00:00 +08:00 of the first day and `exp` is
/// 00:00 +08:00 of the day after the last day.
public struct CalendarDate: Sendable, Hashable, Comparable, TextCodable {
    public let year: Int
    public let month: Int
    public let day: Int

    /// Seconds east of UTC for China Standard Time.
    public static let chinaOffset: Int64 = 8 * 3600

    public init(year: Int, month: Int, day: Int) throws(LicenceCoreError) {
        guard (1...9999).contains(year), Self.isValid(year: year, month: month, day: day) else {
            throw LicenceCoreError(.invalidDate, "\(year)-\(month)-\(day) is not a calendar date")
        }
        self.year = year
        self.month = month
        self.day = day
    }

    /// Parses `YYYY-MM-DD`.
    public init(parsing text: String) throws(LicenceCoreError) {
        var text = text
        let fields = text.withUTF8 { bytes -> (Int, Int, Int)? in
            guard bytes.count == 10, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-") else { return nil }
            var value = 0
            var values = (0, 0, 0)
            for index in 0..<10 where index != 4 && index != 7 {
                let digit = Int(bytes[index]) &- 48
                guard (0...9).contains(digit) else { return nil }
                value = value * 10 + digit
                if index == 3 { values.0 = value; value = 0 }
                if index == 6 { values.1 = value; value = 0 }
            }
            values.2 = value
            return values
        }
        if let (y, m, d) = fields, y >= 1, Self.isValid(year: y, month: m, day: d) {
            try self.init(year: y, month: m, day: d)
            return
        }
        try self.init(describingFailureOf: text)
    }

    /// The slow parse, kept for the error it names.
    private init(describingFailureOf text: String) throws(LicenceCoreError) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
              parts.allSatisfy({ $0.allSatisfy(\.isASCIIDigit) }),
              let y = Int(parts[0]), let m = Int(parts[1]), let d = Int(parts[2])
        else {
            throw LicenceCoreError(.invalidDate, "\"\(text)\" is not a date; expected YYYY-MM-DD")
        }
        guard Self.isValid(year: y, month: m, day: d), y >= 1 else {
            throw LicenceCoreError(.invalidDate, "\"\(text)\" is not a calendar date")
        }
        self.year = y
        self.month = m
        self.day = d
    }

    static func isValid(year: Int, month: Int, day: Int) -> Bool {
        guard (1...12).contains(month), day >= 1 else { return false }
        return day <= daysIn(year: year, month: month)
    }

    static func daysIn(year: Int, month: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    public var description: String {
        let y = String(year), m = String(month), d = String(day)
        return String(repeating: "0", count: max(0, 4 - y.count)) + y + "-" + (m.count < 2 ? "0" : "") + m
            + "-" + (d.count < 2 ? "0" : "") + d
    }

    /// Days since 1970-01-01 (H. Hinnant's days_from_civil).
    public var daysSinceEpoch: Int64 {
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = Int64((month + 9) % 12)
        let doy = (153 * mp + 2) / 5 + Int64(day) - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// The day with the given number of days since 1970-01-01.
    public init(daysSinceEpoch z0: Int64) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        year = Int(yoe + era * 400 + (m <= 2 ? 1 : 0))
        month = Int(m)
        day = Int(d)
    }

    /// The China-time calendar day containing the Unix time `seconds`.
    public init(chinaDayOf seconds: Int64) {
        let local = seconds + Self.chinaOffset
        self.init(daysSinceEpoch: local >= 0 ? local / 86_400 : (local - 86_399) / 86_400)
    }

    /// 00:00 China time at the start of this day, as Unix seconds.
    public var startInChina: Int64 { daysSinceEpoch * 86_400 - Self.chinaOffset }

    /// 00:00 China time at the start of the following day, as Unix seconds.
    public var endInChina: Int64 { startInChina + 86_400 }

    public func adding(days: Int64) -> CalendarDate {
        CalendarDate(daysSinceEpoch: daysSinceEpoch + days)
    }

    /// The same day `years` later (29 February becomes 28 February in a common year).
    public func adding(years: Int) -> CalendarDate {
        let y = year + years
        let d = min(day, Self.daysIn(year: y, month: month))
        return (try? CalendarDate(year: y, month: month, day: d)) ?? self
    }

    public static func < (a: CalendarDate, b: CalendarDate) -> Bool {
        (a.year, a.month, a.day) < (b.year, b.month, b.day)
    }
}
