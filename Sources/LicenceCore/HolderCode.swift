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

        public var englishName: String {
            switch self {
            case .creditCode: return "unified social credit code"
            case .citizenID: return "citizen ID number"
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
    /// A valid code of the other kind is named as such (``LicenceCoreError/Code/wrongHolderKind``)
    /// rather than reported as a wrong check character: a citizen ID number given for an enterprise
    /// is a mistake of kind, not of a character.
    public init(_ value: String, kind: Kind, allowBadChecksum: Bool = false) throws(LicenceCoreError) {
        let normalized = value.uppercased()
        let expected: Character
        do {
            switch kind {
            case .creditCode: expected = try CreditCode.expectedCheck(normalized)
            case .citizenID: expected = try CitizenID.expectedCheck(normalized)
            }
        } catch {
            throw Self.otherKind(normalized, than: kind) ?? error
        }
        let actual = normalized.last!
        if actual != expected {
            guard allowBadChecksum, kind == .creditCode else {
                throw Self.otherKind(normalized, than: kind) ?? LicenceCoreError(.wrongCheckCharacter,
                    "\(kind.chineseName) \(value) has check character \(actual); expected \(expected)",
                    zh: "\(kind.chineseName) \(value) 的校验位是 \(actual)，应为 \(expected)")
            }
            checksumWaived = true
        } else {
            checksumWaived = false
        }
        self.kind = kind
        self.value = normalized
    }

    /// The error for `value` when it is a valid code of the other kind than `kind` and looks like one
    /// (an ID number is digits but for a final X; a credit code that is not has letters before its
    /// last character), else nil: a malformed code of the kind asked for keeps its own error.
    static func otherKind(_ value: String, than kind: Kind) -> LicenceCoreError? {
        let other: Kind = kind == .creditCode ? .citizenID : .creditCode
        let digitsOnly = value.dropLast().allSatisfy(\.isASCIIDigit)
        guard digitsOnly == (other == .citizenID), isValid(value, as: other) else { return nil }
        return LicenceCoreError(.wrongHolderKind,
            "\(value) is a \(other.chineseName) (\(other.englishName)), not a \(kind.chineseName) (\(kind.englishName))",
            zh: "\(value) 是\(other.chineseName)，不是\(kind.chineseName)")
    }

    /// Whether `value` (upper case) is a valid code of `kind`, check character included.
    static func isValid(_ value: String, as kind: Kind) -> Bool {
        switch kind {
        case .creditCode: return (try? CreditCode.expectedCheck(value)) == value.last
        case .citizenID: return (try? CitizenID.expectedCheck(value)) == value.last
        }
    }

    /// Validates a code whose type is given by its holder-code type string (`001` or `111`).
    public init(_ value: String, type: String, allowBadChecksum: Bool = false) throws(LicenceCoreError) {
        guard let kind = Kind(rawValue: type) else {
            throw LicenceCoreError(.invalidHolderCode, "holder-code type \"\(type)\" is not known; expected 001 (统一社会信用代码) or 111 (公民身份号码)",
                                   zh: "持证主体代码类型“\(type)”无法识别，应为 001（统一社会信用代码）或 111（公民身份号码）")
        }
        try self.init(value, kind: kind, allowBadChecksum: allowBadChecksum)
    }

    /// A code typed without its type, as a lookup takes it: valid as a credit code or as a citizen ID
    /// number, whichever it is; otherwise the error of the kind it most looks like, which names the
    /// expected check character.
    public static func lookup(_ text: String, allowBadChecksum: Bool = false) throws(LicenceCoreError) -> HolderCode {
        if let credit = try? HolderCode(text, kind: .creditCode) { return credit }
        if let citizen = try? HolderCode(text, kind: .citizenID) { return citizen }
        return try likeliest(text, allowBadChecksum: allowBadChecksum)
    }

    /// `text` as the kind it most looks like: all digits (and a final X) is an ID number.
    static func likeliest(_ text: String, allowBadChecksum: Bool) throws(LicenceCoreError) -> HolderCode {
        if text.allSatisfy({ $0.isASCIIDigit || $0 == "X" || $0 == "x" }) {
            return try HolderCode(text, kind: .citizenID)
        }
        return try HolderCode(text, kind: .creditCode, allowBadChecksum: allowBadChecksum)
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

    /// `text` as a token or a page may show it: a citizen's ID number, when `text` is that number
    /// (a driving licence's number often is), masked like the holder code; anything else unchanged.
    public func masking(_ text: String) -> String {
        guard kind == .citizenID, text.trimmingWhitespace().uppercased() == value else { return text }
        return disclosedForm
    }

    /// `text` masked when it is the ID number of the holder whose masked code is `maskedCode` (what a
    /// token carries): an 18-character ID number with the same first 6 and last 4 characters. For
    /// tokens signed before numbers were masked.
    public static func masking(_ text: String, maskedCode: String) -> String {
        let candidate = Array(text.trimmingWhitespace().uppercased())
        let masked = Array(maskedCode)
        guard candidate.count == 18, masked.count == 18, masked[6..<14].allSatisfy({ $0 == "*" }),
              Array(candidate.prefix(6)) == Array(masked.prefix(6)), Array(candidate.suffix(4)) == Array(masked.suffix(4)),
              candidate.prefix(17).allSatisfy(\.isASCIIDigit) else { return text }
        return Self.mask(String(candidate))
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
                "统一社会信用代码 \(code) has \(characters.count) characters; expected 18",
                zh: "统一社会信用代码 \(code) 有 \(characters.count) 位，应为 18 位")
        }
        var sum = 0
        for (index, character) in characters.enumerated() {
            guard let value = alphabet.firstIndex(of: character) else {
                throw LicenceCoreError(.invalidHolderCode,
                    "统一社会信用代码 \(code) has \"\(character)\" at position \(index + 1); expected one of 0-9 and ABCDEFGHJKLMNPQRTUWXY (no I, O, Z, S, V)",
                    zh: "统一社会信用代码 \(code) 第 \(index + 1) 位是“\(character)”，应为数字或除 I、O、Z、S、V 以外的大写字母")
            }
            if (2...7).contains(index), !character.isASCIIDigit {
                throw LicenceCoreError(.invalidHolderCode,
                    "统一社会信用代码 \(code) has \"\(character)\" at position \(index + 1); positions 3-8 are the administrative division code and must be digits",
                    zh: "统一社会信用代码 \(code) 第 \(index + 1) 位是“\(character)”；第 3 至 8 位是行政区划代码，应为数字")
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
                "公民身份号码 \(code) has \(characters.count) characters; expected 18",
                zh: "公民身份号码 \(code) 有 \(characters.count) 位，应为 18 位")
        }
        var sum = 0
        for index in 0..<17 {
            guard let digit = characters[index].wholeNumberValue, characters[index].isASCIIDigit else {
                throw LicenceCoreError(.invalidHolderCode,
                    "公民身份号码 \(code) has \"\(characters[index])\" at position \(index + 1); expected a digit",
                    zh: "公民身份号码 \(code) 第 \(index + 1) 位是“\(characters[index])”，应为数字")
            }
            sum += digit * weights[index]
        }
        guard characters[17].isASCIIDigit || characters[17] == "X" else {
            throw LicenceCoreError(.invalidHolderCode,
                "公民身份号码 \(code) ends in \"\(characters[17])\"; expected a digit or X",
                zh: "公民身份号码 \(code) 末位是“\(characters[17])”，应为数字或 X")
        }
        let birth = String(characters[6..<14])
        guard let year = Int(birth.prefix(4)), let month = Int(birth.dropFirst(4).prefix(2)),
              let day = Int(birth.suffix(2)), year >= 1800, CalendarDate.isValid(year: year, month: month, day: day)
        else {
            throw LicenceCoreError(.invalidHolderCode,
                "公民身份号码 \(code) has birth date \(birth) at positions 7-14, which is not a real date",
                zh: "公民身份号码 \(code) 第 7 至 14 位的出生日期 \(birth) 不是真实的日期")
        }
        return checks[sum % 11]
    }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}
