/// The one error type of LicenceStore.
public struct RegistryError: Error, Sendable, CustomStringConvertible {
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// The database could not be opened, read or written.
        public static let storage = Code(rawValue: "storage")
        /// No such licence, type or list.
        public static let notFound = Code(rawValue: "not_found")
        /// The request conflicts with what the registry holds (duplicate type, final status…).
        public static let conflict = Code(rawValue: "conflict")
        /// The request itself is invalid.
        public static let invalid = Code(rawValue: "invalid")
    }

    public var code: Code
    public var message: String
    /// The PostgreSQL SQLSTATE behind a storage error, when there is one.
    var sqlState: String?
    /// Internal, never seen by callers: a write transaction was rolled back because these new
    /// licence identifiers were taken meanwhile.
    var takenIdentifiers: Set<String>?

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }

    static func identifiersTaken(_ identifiers: Set<String>) -> RegistryError {
        var error = RegistryError(.storage, "licence identifiers were taken meanwhile")
        error.takenIdentifiers = identifiers
        return error
    }
}
