/// The one error type of LicenceCore: a stable code, the field it concerns (a JSON path such as
/// `holder.code`, when there is one) and a message a person can act on.
public struct LicenceCoreError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        public static let invalidHolderCode = Code(rawValue: "invalid_holder_code")
        public static let wrongCheckCharacter = Code(rawValue: "wrong_check_character")
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

    public init(_ code: Code, field: String? = nil, _ message: String) {
        self.code = code
        self.field = field
        self.message = message
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
