import Foundation
import LicenceCore

/// The authorities (other provinces' registries) whose signed trust lists were imported, under
/// `Keys/authorities/<name>/`:
///
/// ```
/// anchor.pem          the anchor public key(s) the list must be signed by (SPKI PEM; two while one replaces the other)
/// trust-list.cose     the last list accepted, exactly as signed
/// authority.json      where the list comes from, what was accepted, and the last refusal
/// ```
///
/// A new list replaces the stored one only when it verifies against the anchor, has not expired and
/// does not go back in sequence; otherwise the last good one is kept and the refusal recorded.
/// Every call here reads or writes files: the server calls them on NIO's thread pool.
public struct AuthorityDirectory: Sendable {
    public let directory: String

    public init(keys: KeyStore) {
        directory = keys.directory + "/authorities"
    }

    /// What `authority.json` holds.
    public struct Metadata: Sendable, Hashable, Codable {
        /// Where the list is fetched from: an http(s) URL or a file.
        public var url: String?
        public var file: String?
        public var authorityCode: String?
        public var authorityName: String?
        public var sequence: UInt64?
        public var statusBase: String?
        public var keys: Int?
        /// RFC 3339 times: when the list in force was accepted, when it was issued and when it lapses.
        public var fetchedAt: String?
        public var issuedAt: String?
        public var expires: String?
        /// The last refresh attempt that failed, and why; cleared by the next success.
        public var lastFailureAt: String?
        public var lastFailure: String?

        public init(url: String? = nil, file: String? = nil) {
            self.url = url
            self.file = file
        }
    }

    /// One imported authority as stored.
    public struct Imported: Sendable {
        public var name: String
        public var metadata: Metadata
        public var anchors: [Anchor]
        /// The list in force (its signature checked again when read), nil before the first success.
        public var list: SignedTrustList?

        /// The keys of the list in force that verify licences and status lists, tagged with their authority.
        public func trustedKeys() throws(LicenceCryptoError) -> [TrustedKey] {
            guard let list else { return [] }
            let authority = TrustAuthority(name: name, code: list.authorityCode, displayName: list.authorityName,
                                           statusBase: list.statusBase, sequence: list.sequence, listExpires: list.expires)
            var keys: [TrustedKey] = []
            for key in list.keys where key.role == .issuer || key.role == .status {
                let verifier: any SignatureVerifier
                do { verifier = try PublicKeys.verifier(spki: key.spki) } catch {
                    throw LicenceCryptoError(.trustList, "authority \(name): key \(Hex.encode(key.kid)): \(error.message)")
                }
                guard KeyID.of(spki: key.spki) == key.kid, verifier.algorithm == key.algorithm else {
                    throw LicenceCryptoError(.trustList, "authority \(name): key \(Hex.encode(key.kid)) does not match its public key")
                }
                keys.append(TrustedKey(kid: key.kid, role: key.role, issuer: key.issuer, notBefore: key.notBefore,
                                       notAfter: key.notAfter, state: key.state, verifier: verifier, authority: authority))
            }
            return keys
        }
    }

    /// An anchor public key.
    public struct Anchor: Sendable {
        public var kid: [UInt8]
        public var verifier: any SignatureVerifier
        public var pem: String
    }

    public func path(_ name: String) -> String { directory + "/" + name }

    /// Names are what `--name` says: letters, digits, `.`, `_` and `-`, up to 64, not starting with a dot.
    public static func validate(name: String) throws(LicenceCryptoError) {
        let allowed = name.utf8.allSatisfy {
            (0x30...0x39).contains($0) || (0x41...0x5a).contains($0) || (0x61...0x7a).contains($0) || $0 == 0x2e || $0 == 0x5f || $0 == 0x2d
        }
        guard (1...64).contains(name.utf8.count), allowed, !name.hasPrefix(".") else {
            throw LicenceCryptoError(.trustList, "authority name \"\(name)\" must be 1 to 64 letters, digits, '.', '_' or '-', not starting with '.'")
        }
    }

    /// Every SPKI PEM block of `text`.
    public static func anchors(pem text: String, source: String) throws(LicenceCryptoError) -> [Anchor] {
        var anchors: [Anchor] = []
        var rest = Substring(text)
        let end = "-----END PUBLIC KEY-----"
        while let start = rest.range(of: "-----BEGIN PUBLIC KEY-----") {
            guard let stop = rest.range(of: end, range: start.upperBound..<rest.endIndex) else { break }
            let block = String(rest[start.lowerBound..<stop.upperBound]) + "\n"
            guard let der = PEM.decode(block, label: "PUBLIC KEY") else {
                throw LicenceCryptoError(.keyFile, "\(source): a PUBLIC KEY block is not valid base64")
            }
            let verifier: any SignatureVerifier
            do { verifier = try PublicKeys.verifier(spki: der) } catch {
                throw LicenceCryptoError(.keyFile, "\(source): \(error.message)")
            }
            anchors.append(Anchor(kid: KeyID.of(spki: der), verifier: verifier, pem: block))
            rest = rest[stop.upperBound...]
        }
        guard !anchors.isEmpty else {
            throw LicenceCryptoError(.keyFile, "\(source) holds no anchor public key (-----BEGIN PUBLIC KEY-----)")
        }
        return anchors
    }

    /// The names of the imported authorities, sorted.
    public func names() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter { (try? Self.validate(name: $0)) != nil && FileManager.default.fileExists(atPath: path($0) + "/anchor.pem") }
            .sorted()
    }

    /// Reads one authority; the stored list's signature is checked again against its anchors.
    public func load(_ name: String) throws(LicenceCryptoError) -> Imported {
        try Self.validate(name: name)
        let dir = path(name)
        guard FileManager.default.fileExists(atPath: dir + "/anchor.pem") else {
            throw LicenceCryptoError(.noSuchKey, "no imported authority \(name) in \(directory); `elicence trust list` shows them")
        }
        let anchorText: [UInt8]
        do { anchorText = try FileIO.read(dir + "/anchor.pem", limit: 64 * 1024) } catch {
            throw LicenceCryptoError(.keyFile, error.message)
        }
        let anchors = try Self.anchors(pem: String(decoding: anchorText, as: UTF8.self), source: dir + "/anchor.pem")
        var metadata = Metadata()
        if FileManager.default.fileExists(atPath: dir + "/authority.json") {
            do {
                let bytes = try FileIO.read(dir + "/authority.json", limit: 1 << 20)
                metadata = try JSONDecoder().decode(Metadata.self, from: Data(bytes))
            } catch {
                throw LicenceCryptoError(.trustList, "\(dir)/authority.json cannot be read: \(JSONErrors.describe(error))")
            }
        }
        var list: SignedTrustList?
        if FileManager.default.fileExists(atPath: dir + "/trust-list.cose") {
            let bytes: [UInt8]
            do { bytes = try FileIO.read(dir + "/trust-list.cose", limit: SignedTrustList.maxBytes) } catch {
                throw LicenceCryptoError(.trustList, error.message)
            }
            do throws(SignedTrustList.Failure) {
                list = try SignedTrustList.verify(bytes, anchors: anchors.map { ($0.kid, $0.verifier) }, now: nil)
            } catch {
                throw LicenceCryptoError(.trustList, "\(dir)/trust-list.cose: \(error.description)")
            }
        }
        return Imported(name: name, metadata: metadata, anchors: anchors, list: list)
    }

    /// Every authority that can be read, and what went wrong with the others.
    public func loadAll() -> (authorities: [Imported], problems: [String]) {
        var authorities: [Imported] = []
        var problems: [String] = []
        for name in names() {
            do { authorities.append(try load(name)) } catch { problems.append("\(name): \(error.message)") }
        }
        return (authorities, problems)
    }

    /// Every key the imported lists vouch for.
    public func trustedKeys() -> (keys: [TrustedKey], problems: [String]) {
        let (authorities, problems) = loadAll()
        var keys: [TrustedKey] = []
        var all = problems
        for authority in authorities {
            do { keys += try authority.trustedKeys() } catch { all.append(error.message) }
        }
        return (keys, all)
    }

    /// Creates (or, for a name already imported, updates) an authority with its anchors and where
    /// its list comes from, then accepts `bytes` as its first list. Nothing is written when the list
    /// is refused. Re-importing keeps the sequence accepted before, so a rollback stays refused.
    @discardableResult
    public func importAuthority(name: String, anchorPEM: String, url: String?, file: String?, bytes: [UInt8],
                                now: Int64) throws(LicenceCryptoError) -> SignedTrustList {
        try Self.validate(name: name)
        let anchors = try Self.anchors(pem: anchorPEM, source: "the anchor")
        let previous = FileManager.default.fileExists(atPath: path(name) + "/anchor.pem") ? try? load(name) : nil
        let list: SignedTrustList
        do throws(SignedTrustList.Failure) {
            list = try SignedTrustList.accept(bytes, anchors: anchors.map { ($0.kid, $0.verifier) }, previous: previous?.list,
                                              expectedAuthority: previous?.list?.authorityCode, now: now)
        } catch {
            throw LicenceCryptoError(.trustList, "the trust list of \(name) is refused: \(error.description)")
        }
        var metadata = previous?.metadata ?? Metadata()
        metadata.url = url
        metadata.file = file
        let dir = path(name)
        do {
            try FileIO.createDirectory(directory, mode: 0o755)
            try FileIO.createDirectory(dir, mode: 0o755)
            try FileIO.writeAtomically(Array(anchors.map(\.pem).joined().utf8), to: dir + "/anchor.pem", mode: 0o644)
        } catch {
            throw LicenceCryptoError(.trustList, "cannot write \(dir): \(error.message)")
        }
        try store(name: name, list: list, bytes: bytes, metadata: metadata, now: now)
        return list
    }

    /// Accepts `bytes` as the new list of `name` when it is acceptable; otherwise records why not
    /// and throws, keeping the last good list.
    @discardableResult
    public func accept(name: String, bytes: [UInt8], now: Int64) throws(LicenceCryptoError) -> SignedTrustList {
        let current = try load(name)
        let list: SignedTrustList
        do throws(SignedTrustList.Failure) {
            list = try SignedTrustList.accept(bytes, anchors: current.anchors.map { ($0.kid, $0.verifier) }, previous: current.list,
                                              expectedAuthority: current.list?.authorityCode, now: now)
        } catch {
            try recordFailure(name: name, reason: error.description, now: now)
            throw LicenceCryptoError(.trustList, "the new trust list of \(name) is refused (\(error.code)): \(error.description); the last good one is kept")
        }
        try store(name: name, list: list, bytes: bytes, metadata: current.metadata, now: now)
        return list
    }

    /// Records a failed refresh (an unreachable server, a refused list) in `authority.json`.
    public func recordFailure(name: String, reason: String, now: Int64) throws(LicenceCryptoError) {
        var metadata = try load(name).metadata
        metadata.lastFailureAt = Timestamp.format(now)
        metadata.lastFailure = reason
        try write(metadata, name: name)
    }

    /// Deletes an imported authority: its licences are no longer accepted.
    public func remove(name: String) throws(LicenceCryptoError) {
        try Self.validate(name: name)
        let dir = path(name)
        guard FileManager.default.fileExists(atPath: dir) else {
            throw LicenceCryptoError(.noSuchKey, "no imported authority \(name) in \(directory)")
        }
        do { try FileManager.default.removeItem(atPath: dir) } catch {
            throw LicenceCryptoError(.trustList, "cannot remove \(dir): \(error.localizedDescription)")
        }
    }

    private func store(name: String, list: SignedTrustList, bytes: [UInt8], metadata: Metadata, now: Int64) throws(LicenceCryptoError) {
        var metadata = metadata
        metadata.authorityCode = list.authorityCode
        metadata.authorityName = list.authorityName
        metadata.sequence = list.sequence
        metadata.statusBase = list.statusBase
        metadata.keys = list.keys.count
        metadata.fetchedAt = Timestamp.format(now)
        metadata.issuedAt = Timestamp.format(list.issuedAt)
        metadata.expires = Timestamp.format(list.expires)
        metadata.lastFailure = nil
        metadata.lastFailureAt = nil
        do { try FileIO.writeAtomically(bytes, to: path(name) + "/trust-list.cose", mode: 0o644) } catch {
            throw LicenceCryptoError(.trustList, "cannot write the trust list of \(name): \(error.message)")
        }
        try write(metadata, name: name)
    }

    private func write(_ metadata: Metadata, name: String) throws(LicenceCryptoError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        do {
            let data = try encoder.encode(metadata)
            try FileIO.writeAtomically(Array(data) + [0x0a], to: path(name) + "/authority.json", mode: 0o644)
        } catch let error as FileError {
            throw LicenceCryptoError(.trustList, "cannot write \(path(name))/authority.json: \(error.message)")
        } catch {
            throw LicenceCryptoError(.trustList, "cannot encode authority.json: \(error)")
        }
    }
}
