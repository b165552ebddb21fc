import Foundation

/// A PostgreSQL database as `--database` names it: `postgres://USER@HOST[:PORT]/DATABASE`, with
/// optional `?sslmode=disable|require|verify-full` and `&sslrootcert=FILE`.
///
/// The password never appears in the URL (a command line is visible to every user of the host): it
/// comes from `ELICENCE_DATABASE_PASSWORD` or `--database-password-file`, and a URL that carries one
/// is refused.
public struct PostgresLocation: Sendable, Hashable, CustomStringConvertible {
    public enum TLSMode: String, Sendable, Hashable, CaseIterable {
        /// Plain TCP, for a database on the same host or a private network.
        case disable
        /// TLS without checking the server's certificate (encryption only).
        case require
        /// TLS, with the certificate checked against the system's roots (or `sslrootcert`) and the host name.
        case verifyFull = "verify-full"
    }

    public var user: String
    public var host: String
    public var port: Int
    public var database: String
    public var tls: TLSMode
    /// A PEM file of CA certificates for `verify-full`, instead of the system's roots.
    public var rootCertificate: String?

    public init(user: String, host: String, port: Int = 5432, database: String, tls: TLSMode = .disable,
                rootCertificate: String? = nil) {
        self.user = user
        self.host = host
        self.port = port
        self.database = database
        self.tls = tls
        self.rootCertificate = rootCertificate
    }

    public init(parsing text: String) throws(RegistryError) {
        func bad(_ message: String) -> RegistryError {
            RegistryError(.invalid, "--database \(Self.redacted(text)): \(message); expected postgres://USER@HOST:PORT/DATABASE")
        }
        guard let components = URLComponents(string: text), let scheme = components.scheme,
              ["postgres", "postgresql"].contains(scheme.lowercased()) else {
            throw bad("not a URL")
        }
        if components.password != nil || components.percentEncodedUser?.contains(":") == true {
            throw RegistryError(.invalid, "--database must not contain the password (command lines are visible to other users); "
                + "set ELICENCE_DATABASE_PASSWORD or give --database-password-file FILE")
        }
        guard let user = components.user, !user.isEmpty else { throw bad("the user name is missing") }
        guard var host = components.host, !host.isEmpty else { throw bad("the host is missing") }
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }  // IPv6
        let port = components.port ?? 5432
        guard (1...65535).contains(port) else { throw bad("the port must be from 1 to 65535") }
        var database = components.path
        while database.hasPrefix("/") { database.removeFirst() }
        guard !database.isEmpty, !database.contains("/") else { throw bad("the database name is missing") }
        var tls = TLSMode.disable
        var rootCertificate: String?
        for item in components.queryItems ?? [] {
            switch item.name {
            case "sslmode":
                guard let value = item.value, let mode = TLSMode(rawValue: value) else {
                    throw bad("sslmode must be one of \(TLSMode.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                tls = mode
            case "sslrootcert":
                guard let value = item.value, !value.isEmpty else { throw bad("sslrootcert must name a PEM file") }
                rootCertificate = value
            default:
                throw bad("unknown parameter \(item.name) (known: sslmode, sslrootcert)")
            }
        }
        if rootCertificate != nil && tls != .verifyFull { throw bad("sslrootcert needs sslmode=verify-full") }
        self.init(user: user, host: host, port: port, database: database, tls: tls, rootCertificate: rootCertificate)
    }

    /// The URL, without any password.
    public var description: String {
        let hostPart = host.contains(":") ? "[\(host)]" : host
        var text = "postgres://\(user)@\(hostPart):\(port)/\(database)"
        if tls != .disable { text += "?sslmode=\(tls.rawValue)" }
        if let rootCertificate { text += "&sslrootcert=\(rootCertificate)" }
        return text
    }

    /// `text` with anything between `://` and `@` cut out, for messages about a URL that may hold a password.
    static func redacted(_ text: String) -> String {
        guard let scheme = text.range(of: "://"), let at = text[scheme.upperBound...].firstIndex(of: "@") else { return text }
        let userInfo = text[scheme.upperBound..<at]
        guard let colon = userInfo.firstIndex(of: ":") else { return text }
        return String(text[..<colon]) + ":…" + String(text[at...])
    }
}
