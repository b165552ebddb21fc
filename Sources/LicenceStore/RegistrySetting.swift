import LicenceCore

/// A setting kept in the registry itself (the `setting` table), so that every host and every
/// command that uses the registry agrees on it.
public enum RegistrySetting: String, Sendable, Hashable, CaseIterable {
    /// The registry's public address as verifiers reach it: the base of the status-list URIs that
    /// tokens carry (`<public URL>/v1/status-lists/<n>`). A token is signed once, so this must be
    /// right before real licences are issued.
    case publicURL = "public-url"

    /// What the setting is, for `registry settings`.
    public var summary: String {
        switch self {
        case .publicURL: return "the registry's public address; tokens name <URL>/v1/status-lists/<n>"
        }
    }

    /// The value as it is stored, or an error that says what is expected.
    public func normalised(_ value: String) throws(RegistryError) -> String {
        switch self {
        case .publicURL:
            do { return try StatusListURI.base(publicURL: value.trimmingWhitespace()) } catch {
                throw RegistryError(.invalid, "public-url \"\(value)\" must be an http:// or https:// URL, such as https://licences.example.gov.cn")
            }
        }
    }
}

/// Where the public URL of an issuance comes from, first match wins: the `--public-url` option, the
/// `ELICENCE_PUBLIC_URL` environment variable, the registry's `public-url` setting, and last the
/// default, this host's loopback address.
public struct PublicURLChoice: Sendable, Hashable {
    public enum Source: String, Sendable, Hashable {
        case option = "--public-url"
        case environment = "ELICENCE_PUBLIC_URL"
        case registry = "the registry's public-url setting"
        case fallback = "the default"
    }

    public static let fallback = "http://127.0.0.1:8080"

    public var url: String
    public var source: Source

    public init(option: String?, environment: String?, registry: String?) {
        if let option, !option.isEmpty {
            (url, source) = (option, .option)
        } else if let environment, !environment.isEmpty {
            (url, source) = (environment, .environment)
        } else if let registry, !registry.isEmpty {
            (url, source) = (registry, .registry)
        } else {
            (url, source) = (Self.fallback, .fallback)
        }
    }
}
