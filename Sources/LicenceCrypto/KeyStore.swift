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
    /// Every save is a change of the keys, so it moves the list's sequence on by one.
    public func save(_ document: TrustListDocument) throws(LicenceCryptoError) {
        var document = document
        document.sequence = (document.sequence ?? 0) + 1
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
    /// `notAfter`, when given, ends the key's period of use instead of `validYears`.
    public func generate(algorithm: SignatureAlgorithm, role: KeyRole, issuer: Issuer, validYears: Int, notAfter: Int64? = nil,
                         passphrase: String?, now: Int64) throws(LicenceCryptoError) -> TrustListDocument.Entry {
        if let notAfter, notAfter <= now {
            throw LicenceCryptoError(.keyState, "the key's period of use must end after now, not at \(Timestamp.format(notAfter))")
        }
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
            notBefore: Timestamp.format(now),
            notAfter: Timestamp.format(notAfter ?? end.startInChina + (now - start.startInChina)),
            state: .active)
        document.keys.append(entry)
        try save(document)
        return entry
    }

    /// Moves a key to `retired` or `compromised`. A compromised key stays compromised, and the time
    /// it was declared so is kept (monitors of the transparency log look for licences signed after it).
    @discardableResult
    public func setState(kid: String, to state: KeyState, now: Int64 = SystemClock().now) throws(LicenceCryptoError) -> TrustListDocument.Entry {
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
        if state == .compromised && current != .compromised { document.keys[index].compromisedAt = Timestamp.format(now) }
        document.keys[index].state = state
        try save(document)
        return document.keys[index]
    }

    /// The active key of `role` that fits the request: the given kid, or else the newest active key
    /// of the issuer (and algorithm) asked for. A key past its `notAfter` (``generate``'s
    /// `validYears`) signs nothing new; the licences it signed stay valid.
    public func activeKey(role: KeyRole, issuerCode: String? = nil, algorithm: SignatureAlgorithm? = nil,
                          kid: String? = nil, now: Int64 = SystemClock().now) throws(LicenceCryptoError) -> TrustListDocument.Entry {
        let document = try loadDocument()
        func expired(_ entry: TrustListDocument.Entry) -> Bool { (Timestamp.parse(entry.notAfter) ?? .max) <= now }
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
            guard !expired(entry) else { throw Self.expiredKey(entry) }
            return entry
        }
        let fitting = document.keys.filter {
            $0.state == .active && $0.role == role && (issuerCode == nil || $0.issuer.code == issuerCode)
                && (algorithm == nil || $0.alg == algorithm!.name)
        }
        let candidates = fitting.filter { !expired($0) }
        if candidates.isEmpty, let last = fitting.max(by: { $0.notAfter < $1.notAfter }) {
            throw Self.expiredKey(last)
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

    static func expiredKey(_ entry: TrustListDocument.Entry) -> LicenceCryptoError {
        LicenceCryptoError(.keyState,
            "key \(entry.kid) (\(entry.alg) \(entry.role.rawValue), \(entry.issuer.code)) expired at \(entry.notAfter) and signs "
                + "nothing new; make a new key with `elicence keys generate` (the licences it signed stay valid)")
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
