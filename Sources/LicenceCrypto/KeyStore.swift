#if canImport(Glibc)
import Glibc
#endif
import Foundation
import LicenceCore

/// A key directory: `trust-list.json` with every public key and its state, and `private/` with one
/// PKCS#8 PEM file per private key (`<kid>.key.pem`, mode 0600, directory 0700).
public struct KeyStore: Sendable {
    public let directory: String

    public init(directory: String) {
        self.directory = directory
    }

    public var trustListPath: String { directory + "/trust-list.json" }
    public var privateDirectory: String { directory + "/private" }
    public func privateKeyPath(kid: String) -> String { privateDirectory + "/\(kid).key.pem" }

    // MARK: Trust list

    /// The trust list, or an empty one when the directory has none yet (`mustExist: false`).
    public func loadDocument(mustExist: Bool = true) throws(LicenceCryptoError) -> TrustListDocument {
        guard FileManager.default.fileExists(atPath: trustListPath) else {
            if mustExist {
                throw LicenceCryptoError(.trustList,
                    "no trust list at \(trustListPath); create a key with `elicence keys generate` or pass --keys DIR")
            }
            return TrustListDocument()
        }
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: trustListPath)) } catch {
            throw LicenceCryptoError(.trustList, "cannot read \(trustListPath): \(error.localizedDescription)")
        }
        return try Self.parseDocument(data, source: trustListPath)
    }

    public static func parseDocument(_ data: Data, source: String) throws(LicenceCryptoError) -> TrustListDocument {
        let document: TrustListDocument
        do { document = try JSONDecoder().decode(TrustListDocument.self, from: data) } catch {
            throw LicenceCryptoError(.trustList, "\(source) is not a valid trust list: \(JSONErrors.describe(error))")
        }
        guard document.version == 1 else {
            throw LicenceCryptoError(.trustList, "\(source) has version \(document.version); this program reads version 1")
        }
        return document
    }

    /// Writes the trust list atomically: a temporary file, fsync, rename, fsync of the directory.
    public func save(_ document: TrustListDocument) throws(LicenceCryptoError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let data: Data
        do { data = try encoder.encode(document) } catch {
            throw LicenceCryptoError(.trustList, "cannot encode the trust list: \(error)")
        }
        do {
            try FileIO.createDirectory(directory, mode: 0o755)
            try FileIO.writeAtomically(Array(data) + [0x0a], to: trustListPath, mode: 0o644)
        } catch {
            throw LicenceCryptoError(.trustList, "cannot write \(trustListPath): \(error.message)")
        }
    }

    /// The trusted keys of the list, ready to verify.
    public func trustList() throws(LicenceCryptoError) -> TrustList {
        try Self.trustList(from: loadDocument(), source: trustListPath)
    }

    public static func trustList(from document: TrustListDocument, source: String) throws(LicenceCryptoError) -> TrustList {
        var keys: [TrustedKey] = []
        for entry in document.keys {
            let verifier: any SignatureVerifier
            do { verifier = try PublicKeys.verifier(pem: entry.publicKey) } catch {
                throw LicenceCryptoError(.trustList, "\(source): key \(entry.kid): \(error.message)")
            }
            let spkiKid = Hex.encode(KeyID.of(spki: PEM.decode(entry.publicKey, label: "PUBLIC KEY") ?? []))
            guard spkiKid == entry.kid.lowercased() else {
                throw LicenceCryptoError(.trustList, "\(source): key \(entry.kid) has a public key whose kid is \(spkiKid)")
            }
            guard verifier.algorithm.name == entry.alg else {
                throw LicenceCryptoError(.trustList,
                    "\(source): key \(entry.kid) says alg \(entry.alg) but its public key is \(verifier.algorithm.name)")
            }
            guard let notBefore = Timestamp.parse(entry.notBefore), let notAfter = Timestamp.parse(entry.notAfter) else {
                throw LicenceCryptoError(.trustList, "\(source): key \(entry.kid) has notBefore/notAfter that are not RFC 3339 times")
            }
            keys.append(TrustedKey(kid: KeyID.of(spki: PEM.decode(entry.publicKey, label: "PUBLIC KEY")!), role: entry.role,
                                   issuer: entry.issuer, notBefore: notBefore, notAfter: notAfter, state: entry.state,
                                   verifier: verifier))
        }
        return TrustList(keys)
    }

    // MARK: Life cycle

    /// Creates a key pair: the private key file first (mode 0600, never overwritten), then its
    /// entry in the trust list.
    public func generate(algorithm: SignatureAlgorithm, role: KeyRole, issuer: Issuer, validYears: Int,
                         passphrase: String?, now: Int64) throws(LicenceCryptoError) -> TrustListDocument.Entry {
        var document = try loadDocument(mustExist: false)
        let key = try PrivateKey.generate(algorithm)
        let kid = Hex.encode(key.kid)
        let pem = try key.pkcs8PEM(passphrase: passphrase)
        do {
            try FileIO.createDirectory(directory, mode: 0o755)
            try FileIO.createDirectory(privateDirectory, mode: 0o700)
            try FileIO.createExclusive(pem, at: privateKeyPath(kid: kid), mode: 0o600)
        } catch {
            throw LicenceCryptoError(.keyFile, "cannot write the private key: \(error.message)")
        }
        let start = CalendarDate(chinaDayOf: now)
        let end = start.adding(years: validYears)
        let entry = TrustListDocument.Entry(
            kid: kid, alg: algorithm.name, role: role, issuer: issuer, publicKey: key.publicKeyPEM,
            notBefore: Timestamp.format(now), notAfter: Timestamp.format(end.startInChina + (now - start.startInChina)),
            state: .active)
        document.keys.append(entry)
        try save(document)
        return entry
    }

    /// Moves a key to `retired` or `compromised`. A compromised key stays compromised.
    @discardableResult
    public func setState(kid: String, to state: KeyState) throws(LicenceCryptoError) -> TrustListDocument.Entry {
        var document = try loadDocument()
        let matches = document.keys.indices.filter { document.keys[$0].kid == kid.lowercased() }
        guard let index = matches.first else {
            throw LicenceCryptoError(.noSuchKey, "no key with kid \(kid) in \(trustListPath); `elicence keys list` shows them")
        }
        let current = document.keys[index].state
        if current == .compromised && state != .compromised {
            throw LicenceCryptoError(.keyState, "key \(kid) is compromised; a compromised key can never be used again")
        }
        if current == .retired && state == .active {
            throw LicenceCryptoError(.keyState, "key \(kid) is retired; generate a new key instead of reactivating it")
        }
        document.keys[index].state = state
        try save(document)
        return document.keys[index]
    }

    /// The active key of `role` that fits the request: the given kid, or else the newest active key
    /// of the issuer (and algorithm) asked for.
    public func activeKey(role: KeyRole, issuerCode: String? = nil, algorithm: SignatureAlgorithm? = nil,
                          kid: String? = nil) throws(LicenceCryptoError) -> TrustListDocument.Entry {
        let document = try loadDocument()
        if let kid {
            guard let entry = document.keys.first(where: { $0.kid == kid.lowercased() }) else {
                throw LicenceCryptoError(.noSuchKey, "no key with kid \(kid) in \(trustListPath)")
            }
            guard entry.state == .active else {
                throw LicenceCryptoError(.keyState, "key \(kid) is \(entry.state.rawValue); only an active key signs")
            }
            guard entry.role == role else {
                throw LicenceCryptoError(.keyState, "key \(kid) has role \(entry.role.rawValue); this needs a \(role.rawValue) key")
            }
            return entry
        }
        let candidates = document.keys.filter {
            $0.state == .active && $0.role == role && (issuerCode == nil || $0.issuer.code == issuerCode)
                && (algorithm == nil || $0.alg == algorithm!.name)
        }
        // Newest by notBefore; of keys made in the same second, the one added last.
        guard let newest = candidates.enumerated().max(by: {
            (Timestamp.parse($0.element.notBefore) ?? 0, $0.offset) < (Timestamp.parse($1.element.notBefore) ?? 0, $1.offset)
        })?.element else {
            var wanted = "an active \(role.rawValue) key"
            if let issuerCode { wanted += " of issuer \(issuerCode)" }
            if let algorithm { wanted += " for \(algorithm.name)" }
            throw LicenceCryptoError(.noSuchKey,
                "\(trustListPath) has no \(wanted.dropFirst(3)); create one with `elicence keys generate --role \(role.rawValue) ...`")
        }
        return newest
    }

    /// Loads the private key of `entry`, refusing a file that group or others can read.
    public func privateKey(for entry: TrustListDocument.Entry, passphrase: String?) throws(LicenceCryptoError) -> PrivateKey {
        let path = privateKeyPath(kid: entry.kid)
        let pem: [UInt8]
        do {
            try FileIO.checkPrivate(path)
            pem = try FileIO.read(path, limit: 64 * 1024)
        } catch {
            throw LicenceCryptoError(error.isPermission ? .insecurePermissions : .keyFile, error.message)
        }
        let key: PrivateKey
        do { key = try PrivateKey(pem: pem, passphrase: passphrase) } catch {
            throw LicenceCryptoError(error.code, "\(path): \(error.message)")
        }
        guard Hex.encode(key.kid) == entry.kid else {
            throw LicenceCryptoError(.keyFile, "\(path) holds the key with kid \(Hex.encode(key.kid)), not \(entry.kid)")
        }
        return key
    }
}

/// Reading messages out of Foundation's JSON errors.
public enum JSONErrors {
    /// A message naming the JSON path of the problem and what was expected.
    public static func describe(_ error: any Error) -> String {
        guard let decodingError = error as? DecodingError else { return "\(error)" }
        func path(_ keys: [any CodingKey]) -> String {
            let parts = keys.map { key in key.intValue.map { "[\($0)]" } ?? key.stringValue }
            return parts.isEmpty ? "the document" : parts.joined(separator: ".").replacingOccurrences(of: ".[", with: "[")
        }
        switch decodingError {
        case .typeMismatch(let type, let context):
            return "\(path(context.codingPath)): expected \(typeName(type))"
        case .valueNotFound(let type, let context):
            return "\(path(context.codingPath)): expected \(typeName(type)), found null"
        case .keyNotFound(let key, let context):
            return "\(path(context.codingPath + [key])): is missing"
        case .dataCorrupted(let context):
            guard context.codingPath.isEmpty else { return "\(path(context.codingPath)): \(context.debugDescription)" }
            let detail = (context.underlyingError as NSError?)?.userInfo[NSDebugDescriptionErrorKey] as? String
            return "not valid JSON" + (detail.map { " (\($0))" } ?? "")
        @unknown default:
            return "\(error)"
        }
    }

    private static func typeName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: return "a string"
        case is Int.Type, is Int64.Type, is UInt64.Type: return "an integer"
        case is Bool.Type: return "true or false"
        case is [String: String].Type: return "an object of strings"
        default:
            let name = String(describing: type)
            if name.hasPrefix("Array") || name.hasPrefix("[") { return "an array" }
            if name.hasPrefix("Dictionary") { return "an object" }
            return "an object"
        }
    }
}
