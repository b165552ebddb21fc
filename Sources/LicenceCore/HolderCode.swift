/// The number that identifies a licence holder (持证主体代码) together with its type.
///
/// - 统一社会信用代码 (unified social credit code, GB 32100-2015), holder-code type `001`.
/// - 公民身份号码 (citizen identity number, GB 11643-1999), holder-code type `111`.
///
/// Both end in a check character, which is verified; a wrong one is an error that names the
/// expected character.
public struct HolderCode: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable, CaseIterable, Codable {
        /// 统一社会信用代码
        case creditCode = "001"
        /// 公民身份号码
        case citizenID = "111"

        public var chineseName: String {
            switch self {
            case .creditCode: return "统一社会信用代码"
            case .citizenID: return "公民身份号码"
            }
        }
    }

    public let kind: Kind
    public let value: String
    /// Set when the code was accepted although its check character is wrong (early pilot codes).
    public let checksumWaived: Bool

    public var description: String { value }

    /// Validates `value` as a code of `kind`. Lower-case letters are accepted and upper-cased.
    /// - Parameter allowBadChecksum: accept a code whose only fault is its check character (some
    ///   early pilot credit codes are legal yet fail it); ``checksumWaived`` then says so.
    public init(_ value: String, kind: Kind, allowBadChecksum: Bool = false) throws(LicenceCoreError) {
        let normalized = value.uppercased()
        let expected: Character
        switch kind {
        case .creditCode: expected = try CreditCode.expectedCheck(normalized)
        case .citizenID: expected = try CitizenID.expectedCheck(normalized)
        }
        let actual = normalized.last!
        if actual != expected {
            guard allowBadChecksum, kind == .creditCode else {
                throw LicenceCoreError(.wrongCheckCharacter,
                    "\(kind.chineseName) \(value) has check character \(actual); expected \(expected)")
            }
            checksumWaived = true
        } else {
            checksumWaived = false
        }
        self.kind = kind
        self.value = normalized
    }

    /// Validates a code whose type is given by its holder-code type string (`001` or `111`).
    public init(_ value: String, type: String, allowBadChecksum: Bool = false) throws(LicenceCoreError) {
        guard let kind = Kind(rawValue: type) else {
            throw LicenceCoreError(.invalidHolderCode, "holder-code type \"\(type)\" is not known; expected 001 (统一社会信用代码) or 111 (公民身份号码)")
        }
        try self.init(value, kind: kind, allowBadChecksum: allowBadChecksum)
    }

    /// The valid code that starts with `body` (17 characters): its check character appended.
    public static func completing(_ body: String, kind: Kind) throws(LicenceCoreError) -> HolderCode {
        let placeholder = body + "0"
        let check: Character
        switch kind {
        case .creditCode: check = try CreditCode.expectedCheck(placeholder)
        case .citizenID: check = try CitizenID.expectedCheck(placeholder)
        }
        return try HolderCode(body + String(check), kind: kind)
    }

    /// The form shown in a token: citizen ID numbers keep their first 6 and last 4 characters.
    public var disclosedForm: String {
        switch kind {
        case .creditCode: return value
        case .citizenID: return Self.mask(value)
        }
    }

    static func mask(_ value: String) -> String {
        let characters = Array(value)
        guard characters.count > 10 else { return String(repeating: "*", count: characters.count) }
        return String(characters[..<6]) + String(repeating: "*", count: characters.count - 10)
            + String(characters[(characters.count - 4)...])
    }
}

/// GB 32100-2015: 18 characters over a 31-character alphabet, weights 3^(i−1) mod 31,
/// check = (31 − Σ mod 31) mod 31.
enum CreditCode {
    static let alphabet = Array("0123456789ABCDEFGHJKLMNPQRTUWXY")
    static let weights = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]

    static func expectedCheck(_ code: String) throws(LicenceCoreError) -> Character {
        let characters = Array(code)
        guard characters.count == 18 else {
            throw LicenceCoreError(.invalidHolderCode,
                "统一社会信用代码 \(code) has \(characters.count) characters; expected 18")
        }
        var sum = 0
        for (index, character) in characters.enumerated() {
            guard let value = alphabet.firstIndex(of: character) else {
                throw LicenceCoreError(.invalidHolderCode,
                    "统一社会信用代码 \(code) has \"\(character)\" at position \(index + 1); expected one of 0-9 and ABCDEFGHJKLMNPQRTUWXY (no I, O, Z, S, V)")
            }
            if (2...7).contains(index), !character.isASCIIDigit {
                throw LicenceCoreError(.invalidHolderCode,
                    "统一社会信用代码 \(code) has \"\(character)\" at position \(index + 1); positions 3-8 are the administrative division code and must be digits")
            }
            if index < 17 { sum += value * weights[index] }
        }
        return alphabet[(31 - sum % 31) % 31]
    }
}

/// GB 11643-1999: 17 digits and an ISO 7064 MOD 11-2 check character.
enum CitizenID {
    static let weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    static let checks = Array("10X98765432")

    static func expectedCheck(_ code: String) throws(LicenceCoreError) -> Character {
        let characters = Array(code)
        guard characters.count == 18 else {
            throw LicenceCoreError(.invalidHolderCode,
                "公民身份号码 \(code) has \(characters.count) characters; expected 18")
        }
        var sum = 0
        for index in 0..<17 {
            guard let digit = characters[index].wholeNumberValue, characters[index].isASCIIDigit else {
                throw LicenceCoreError(.invalidHolderCode,
                    "公民身份号码 \(code) has \"\(characters[index])\" at position \(index + 1); expected a digit")
            }
            sum += digit * weights[index]
        }
        guard characters[17].isASCIIDigit || characters[17] == "X" else {
            throw LicenceCoreError(.invalidHolderCode,
                "公民身份号码 \(code) ends in \"\(characters[17])\"; expected a digit or X")
        }
        let birth = String(characters[6..<14])
        guard let year = Int(birth.prefix(4)), let month = Int(birth.dropFirst(4).prefix(2)),
              let day = Int(birth.suffix(2)), year >= 1800, CalendarDate.isValid(year: year, month: month, day: day)
        else {
            throw LicenceCoreError(.invalidHolderCode,
                "公民身份号码 \(code) has birth date \(birth) at positions 7-14, which is not a real date")
        }
        return checks[sum % 11]
    }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}
