/// The one error type of LicenceCore: a stable code, the field it concerns (a JSON path such as
/// `holder.code`, when there is one) and a message a person can act on, in English and, where a
/// clerk or another agency may read it (holder codes, identifiers), in Chinese too.
public struct LicenceCoreError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        public static let invalidHolderCode = Code(rawValue: "invalid_holder_code")
        public static let wrongCheckCharacter = Code(rawValue: "wrong_check_character")
        /// A citizen ID number where a credit code belongs, or the reverse.
        public static let wrongHolderKind = Code(rawValue: "wrong_holder_kind")
        public static let invalidIdentifier = Code(rawValue: "invalid_identifier")
        public static let invalidDate = Code(rawValue: "invalid_date")
        public static let invalidField = Code(rawValue: "invalid_field")
        public static let missingField = Code(rawValue: "missing_field")
        public static let invalidToken = Code(rawValue: "invalid_token")
        public static let signingFailed = Code(rawValue: "signing_failed")
    }

    public var code: Code
    public var field: String?
    public var message: String
    /// The message in Chinese, when there is one; ``chineseMessage`` always has one.
    public var zh: String?

    public init(_ code: Code, field: String? = nil, _ message: String, zh: String? = nil) {
        self.code = code
        self.field = field
        self.message = message
        self.zh = zh
    }

    /// The Chinese message, or a Chinese summary of the error's code when none was written.
    public var chineseMessage: String {
        if let zh { return zh }
        switch code {
        case .invalidHolderCode: return "持证主体代码不符合要求"
        case .wrongCheckCharacter: return "校验位不正确"
        case .wrongHolderKind: return "持证主体代码的类别不符"
        case .invalidIdentifier: return "不是有效的电子证照标识"
        case .invalidDate: return "日期不符合要求"
        case .missingField: return "缺少必填内容"
        case .invalidToken: return "证照码无法识别"
        case .signingFailed: return "签名失败"
        default: return "取值不符合要求"
        }
    }

    /// Equal when code, field and English message are: the Chinese text is a translation.
    public static func == (a: LicenceCoreError, b: LicenceCoreError) -> Bool {
        a.code == b.code && a.field == b.field && a.message == b.message
    }

    public var description: String {
        if let field { return "\(field): \(message)" }
        return message
    }

    /// The same error, reported against `path` (for example when a holder code sits in `holder.code`).
    public func at(_ path: String) -> LicenceCoreError {
        var copy = self
        copy.field = path
        return copy
    }
}
