/// 电子证照标识: the identifier of one licence, in the GB/T 36904 layout
/// `1.2.156.3005.2.<type code>.<issuer code>.<serial>.<version>.<check>`.
///
/// The check character is ISO 7064 MOD 37,36 over type code, issuer code, serial and version
/// joined without dots.
public struct LicenceIdentifier: Sendable, Hashable, Comparable, TextCodable {
    public static let prefix = "1.2.156.3005.2."
    private static let prefixUTF8 = Array(prefix.utf8)

    /// 证照类型代码, e.g. `11100000000013338W011`.
    public let typeCode: String
    /// 颁证单位代码 (the issuer's unified social credit code).
    public let issuerCode: String
    /// Decimal serial, unique for the type and issuer.
    public let serial: String
    /// Version, 1...999.
    public let version: Int
    public let check: Character

    public init(typeCode: String, issuerCode: String, serial: String, version: Int) throws(LicenceCoreError) {
        try Self.validatePart(typeCode, name: "type code", chineseName: "证照类型代码", minimum: 4, maximum: 32, digitsOnly: false)
        try Self.validatePart(issuerCode, name: "issuer code", chineseName: "颁证单位代码", minimum: 18, maximum: 18, digitsOnly: false)
        try Self.validatePart(serial, name: "serial", chineseName: "序号", minimum: 1, maximum: 24, digitsOnly: true)
        guard (1...999).contains(version) else {
            throw LicenceCoreError(.invalidIdentifier, "version \(version) is out of range; expected 1 to 999",
                                   zh: "版本号 \(version) 超出范围，应为 1 至 999")
        }
        self.typeCode = typeCode
        self.issuerCode = issuerCode
        self.serial = serial
        self.version = version
        self.check = ISO7064.mod37_36(typeCode + issuerCode + serial + Self.versionText(version))!
        description = Self.prefix + typeCode + "." + issuerCode + "." + serial + "." + Self.versionText(version) + "."
            + String(check)
    }

    private init(typeCode: String, issuerCode: String, serial: String, version: Int, check: Character, text: String) {
        self.typeCode = typeCode
        self.issuerCode = issuerCode
        self.serial = serial
        self.version = version
        self.check = check
        description = text
    }

    /// Parses and validates an identifier, including its check character.
    public init(parsing text: String) throws(LicenceCoreError) {
        if let parsed = Self.parseWellFormed(text) {
            self = parsed
            return
        }
        try self.init(describingFailureOf: text)
    }

    /// One pass over the UTF-8 of a well-formed identifier, as every token carries one; nil for
    /// anything else, which ``init(describingFailureOf:)`` then explains.
    private static func parseWellFormed(_ text: String) -> LicenceIdentifier? {
        var utf8 = text
        return utf8.withUTF8 { bytes -> LicenceIdentifier? in
            let prefix = Self.prefixUTF8
            guard bytes.count > prefix.count, bytes.prefix(prefix.count).elementsEqual(prefix) else { return nil }
            // Part boundaries: type, issuer, serial, version, check.
            var ends: (Int, Int, Int, Int) = (0, 0, 0, 0)
            var found = 0
            var index = prefix.count
            var p = 36
            while index < bytes.count {
                let byte = bytes[index]
                if byte == UInt8(ascii: ".") {
                    switch found {
                    case 0: ends.0 = index
                    case 1: ends.1 = index
                    case 2: ends.2 = index
                    case 3: ends.3 = index
                    default: return nil
                    }
                    found += 1
                } else if found < 4 {
                    guard let value = ISO7064.value(byte) else { return nil }
                    if found >= 2, value > 9 { return nil }  // serial and version are digits
                    p = ISO7064.mod37_36Step(p, value)
                }
                index += 1
            }
            let start = prefix.count
            guard found == 4, (4...32).contains(ends.0 - start), ends.1 - ends.0 - 1 == 18,
                  (1...24).contains(ends.2 - ends.1 - 1), ends.3 - ends.2 - 1 == 3, bytes.count - ends.3 - 1 == 1
            else { return nil }
            let version = (Int(bytes[ends.2 + 1]) - 48) * 100 + (Int(bytes[ends.2 + 2]) - 48) * 10 + Int(bytes[ends.2 + 3]) - 48
            let check = ISO7064.mod37_36Check(p)
            guard version >= 1, bytes[ends.3 + 1] == check.asciiValue else { return nil }
            func part(_ from: Int, _ to: Int) -> String {
                String(decoding: UnsafeBufferPointer(rebasing: bytes[from..<to]), as: UTF8.self)
            }
            return LicenceIdentifier(typeCode: part(start, ends.0), issuerCode: part(ends.0 + 1, ends.1),
                                     serial: part(ends.1 + 1, ends.2), version: version, check: check, text: text)
        }
    }

    /// The slow parse, kept for the error it names.
    private init(describingFailureOf text: String) throws(LicenceCoreError) {
        guard text.hasPrefix(Self.prefix) else {
            throw LicenceCoreError(.invalidIdentifier, "\"\(text)\" does not start with \(Self.prefix)",
                                   zh: "电子证照标识应以 \(Self.prefix) 开头")
        }
        let parts = text.dropFirst(Self.prefix.count).split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 5 else {
            throw LicenceCoreError(.invalidIdentifier,
                "\"\(text)\" has \(parts.count) parts after \(Self.prefix); expected 5: type.issuer.serial.version.check",
                zh: "电子证照标识在 \(Self.prefix) 之后有 \(parts.count) 段，应为 5 段：证照类型代码、颁证单位代码、序号、版本号、校验位")
        }
        guard parts[3].count == 3, parts[3].allSatisfy(\.isASCIIDigit), let version = Int(parts[3]) else {
            throw LicenceCoreError(.invalidIdentifier, "version \"\(parts[3])\" in \"\(text)\" is not 3 digits",
                                   zh: "电子证照标识的版本号“\(parts[3])”应为 3 位数字")
        }
        try self.init(typeCode: String(parts[0]), issuerCode: String(parts[1]), serial: String(parts[2]), version: version)
        guard parts[4].count == 1, let given = parts[4].first else {
            throw LicenceCoreError(.invalidIdentifier, "check \"\(parts[4])\" in \"\(text)\" is not one character",
                                   zh: "电子证照标识的校验位“\(parts[4])”应为一个字符")
        }
        guard parts[4].utf8.elementsEqual(String(check).utf8) else {
            throw LicenceCoreError(.wrongCheckCharacter,
                "licence identifier \(text) has check character \(given); expected \(check)",
                zh: "电子证照标识 \(text) 的校验位是 \(given)，应为 \(check)")
        }
    }

    /// A new identifier issued at `seconds` (Unix time): a 24-digit serial of the China-time year, the
    /// second of that year in 8 digits, and 12 digits from `generator`, which must be
    /// cryptographically secure (SystemRandomNumberGenerator is).
    ///
    /// The 12 random digits keep serials unguessable; the time before them keeps the serials of one
    /// second together, so that a registry's index by identifier grows at its end, like an index of
    /// time-ordered UUIDs, instead of taking a page at random for every licence. Two licences of one
    /// issuer and type drawn in the same second share a serial about once in 10^12 pairs; the
    /// registry refuses the second, and its issuer draws again.
    public static func generate(typeCode: String, issuerCode: String, at seconds: Int64, version: Int = 1,
                                using generator: inout some RandomNumberGenerator) throws(LicenceCoreError) -> LicenceIdentifier {
        let year = CalendarDate(chinaDayOf: seconds).year
        let secondOfYear = seconds - (try CalendarDate(year: year, month: 1, day: 1)).startInChina
        let random = UInt64.random(in: 0..<1_000_000_000_000, using: &generator)
        let serial = String(year) + zeroPadded(UInt64(secondOfYear), digits: 8) + zeroPadded(random, digits: 12)
        return try LicenceIdentifier(typeCode: typeCode, issuerCode: issuerCode, serial: serial, version: version)
    }

    private static func zeroPadded(_ value: UInt64, digits: Int) -> String {
        let text = String(value)
        return String(repeating: "0", count: max(0, digits - text.count)) + text
    }

    /// An identifier from a per-issuer sequence number: the year followed by the number in 7 digits
    /// or more (`2023` and `403` give serial `20230000403`).
    public static func sequential(typeCode: String, issuerCode: String, year: Int, sequence: Int,
                                  version: Int = 1) throws(LicenceCoreError) -> LicenceIdentifier {
        guard sequence >= 0 else { throw LicenceCoreError(.invalidIdentifier, "sequence \(sequence) is negative") }
        let serial = String(year) + zeroPadded(UInt64(sequence), digits: 7)
        return try LicenceIdentifier(typeCode: typeCode, issuerCode: issuerCode, serial: serial, version: version)
    }

    /// The same licence with another version (a superseding edition keeps type, issuer and serial).
    public func withVersion(_ version: Int) throws(LicenceCoreError) -> LicenceIdentifier {
        try LicenceIdentifier(typeCode: typeCode, issuerCode: issuerCode, serial: serial, version: version)
    }

    static func versionText(_ version: Int) -> String {
        let text = String(version)
        return String(repeating: "0", count: 3 - text.count) + text
    }

    private static func validatePart(_ part: String, name: String, chineseName: String, minimum: Int, maximum: Int,
                                     digitsOnly: Bool) throws(LicenceCoreError) {
        let range = minimum == maximum ? "\(minimum)" : "\(minimum) to \(maximum)"
        guard (minimum...maximum).contains(part.count) else {
            throw LicenceCoreError(.invalidIdentifier,
                "\(name) \"\(part)\" has \(part.count) characters; expected \(range)",
                zh: "电子证照标识的\(chineseName)“\(part)”有 \(part.count) 位，应为 \(minimum == maximum ? "\(minimum)" : "\(minimum) 至 \(maximum)") 位")
        }
        for (offset, byte) in part.utf8.enumerated() {
            let allowed = digitsOnly ? (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) : ISO7064.value(byte) != nil
            guard allowed else {
                let character = part.utf8.count == part.count ? Character(UnicodeScalar(byte)) : Array(part)[min(offset, part.count - 1)]
                throw LicenceCoreError(.invalidIdentifier,
                    "\(name) \"\(part)\" contains \"\(character)\"; expected \(digitsOnly ? "digits" : "digits and upper-case letters")",
                    zh: "电子证照标识的\(chineseName)“\(part)”含有“\(character)”，应\(digitsOnly ? "只含数字" : "只含数字和大写字母")")
            }
        }
    }

    /// The identifier as text, kept rather than rebuilt: every answer and status lookup uses it.
    public let description: String

    public static func < (a: LicenceIdentifier, b: LicenceIdentifier) -> Bool { a.description < b.description }
}
