/// The one error type of LicenceCrypto: a stable code and a message a person can act on.
public struct LicenceCryptoError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// OpenSSL refused an operation.
        public static let openssl = Code(rawValue: "openssl")
        /// A key file is missing, unreadable or not a key of the expected kind.
        public static let keyFile = Code(rawValue: "key_file")
        /// A private key file can be read by group or others.
        public static let insecurePermissions = Code(rawValue: "insecure_permissions")
        /// A key is encrypted and no passphrase (or a wrong one) was given.
        public static let passphrase = Code(rawValue: "passphrase")
        /// The trust list is missing, unreadable or malformed.
        public static let trustList = Code(rawValue: "trust_list")
        /// No key in the store fits the request.
        public static let noSuchKey = Code(rawValue: "no_such_key")
        /// The request contradicts the key's state (e.g. reactivating a compromised key).
        public static let keyState = Code(rawValue: "key_state")
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
