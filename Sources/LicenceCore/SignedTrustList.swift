/// The signed trust list (跨省互认): an authority's public keys in a COSE_Sign1 signed by its
/// anchor key, which other authorities hold beforehand and import the list under. The layout is in
/// the article "Signed trust lists".
///
/// ```
/// 18([ << {1: alg, 4: kid, 16: "application/elicence-trust-list+cwt"} >>, {},
///      << {1: authority code, 4: exp, 6: iat,
///          -65538: {1: authority name, 2: sequence, 3: [key, …], 4: status base URL}} >>, signature ])
/// key = {1: kid, 2: alg, 3: role, 4: issuer code, 5: issuer name, 6: SPKI DER, 7: notBefore,
///        8: notAfter, 9: state, ? 10: compromisedAt}
/// ```
public struct SignedTrustList: Sendable, Hashable {
    public enum Claim {
        public static let authority: Int64 = 1
        public static let exp: Int64 = 4
        public static let iat: Int64 = 6
        public static let body: Int64 = -65538
    }

    public enum BodyKey {
        public static let name: Int64 = 1
        public static let sequence: Int64 = 2
        public static let keys: Int64 = 3
        public static let statusBase: Int64 = 4
    }

    public enum KeyField {
        public static let kid: Int64 = 1
        public static let alg: Int64 = 2
        public static let role: Int64 = 3
        public static let issuerCode: Int64 = 4
        public static let issuerName: Int64 = 5
        public static let spki: Int64 = 6
        public static let notBefore: Int64 = 7
        public static let notAfter: Int64 = 8
        public static let state: Int64 = 9
        public static let compromisedAt: Int64 = 10
    }

    /// The HTTP media type of the signed list.
    public static let mediaType = #"application/cose; cose-type="cose-sign1""#
    /// `typ` (16) of its protected header, which tells it from a licence token or a status list.
    public static let typ = "application/elicence-trust-list+cwt"
    /// Largest signed list accepted: about 2,000 keys.
    public static let maxBytes = 1 << 20

    /// One public key of the list.
    public struct Key: Sendable, Hashable {
        public var kid: [UInt8]
        public var algorithm: SignatureAlgorithm
        public var role: KeyRole
        public var issuer: Issuer
        /// SubjectPublicKeyInfo DER.
        public var spki: [UInt8]
        public var notBefore: Int64
        public var notAfter: Int64
        public var state: KeyState
        public var compromisedAt: Int64?

        public init(kid: [UInt8], algorithm: SignatureAlgorithm, role: KeyRole, issuer: Issuer, spki: [UInt8], notBefore: Int64,
                    notAfter: Int64, state: KeyState, compromisedAt: Int64? = nil) {
            self.kid = kid
            self.algorithm = algorithm
            self.role = role
            self.issuer = issuer
            self.spki = spki
            self.notBefore = notBefore
            self.notAfter = notAfter
            self.state = state
            self.compromisedAt = compromisedAt
        }

        var cbor: CBOR {
            var entries: [CBOR.Entry] = [
                .init(.int(KeyField.kid), .bytes(kid)),
                .init(.int(KeyField.alg), .int(algorithm.rawValue)),
                .init(.int(KeyField.role), .text(role.rawValue)),
                .init(.int(KeyField.issuerCode), .text(issuer.code)),
                .init(.int(KeyField.issuerName), .text(issuer.name)),
                .init(.int(KeyField.spki), .bytes(spki)),
                .init(.int(KeyField.notBefore), .int(notBefore)),
                .init(.int(KeyField.notAfter), .int(notAfter)),
                .init(.int(KeyField.state), .text(state.rawValue)),
            ]
            if let compromisedAt { entries.append(.init(.int(KeyField.compromisedAt), .int(compromisedAt))) }
            return .map(entries)
        }

        init(cbor: CBOR, index: Int) throws(Failure) {
            func fail(_ why: String) -> Failure { .malformed("key \(index): \(why)") }
            guard case .map = cbor else { throw fail("must be a map") }
            guard let kid = cbor[.int(KeyField.kid)]?.bytesValue, kid.count == 8 else { throw fail("kid (1) must be 8 bytes") }
            guard let alg = cbor[.int(KeyField.alg)]?.int64, let algorithm = SignatureAlgorithm(rawValue: alg) else {
                throw fail("alg (2) must be -7, -8 or -65601")
            }
            guard let roleText = cbor[.int(KeyField.role)]?.textValue, let role = KeyRole(rawValue: roleText) else {
                throw fail("role (3) must be issuer, status, anchor or log")
            }
            guard let code = cbor[.int(KeyField.issuerCode)]?.textValue, !code.isEmpty,
                  let name = cbor[.int(KeyField.issuerName)]?.textValue else {
                throw fail("issuer code (4) and name (5) must be text")
            }
            guard let spki = cbor[.int(KeyField.spki)]?.bytesValue, !spki.isEmpty else { throw fail("SPKI (6) must be bytes") }
            guard let notBefore = cbor[.int(KeyField.notBefore)]?.int64, let notAfter = cbor[.int(KeyField.notAfter)]?.int64,
                  notBefore <= notAfter else {
                throw fail("notBefore (7) and notAfter (8) must be times in order")
            }
            guard let stateText = cbor[.int(KeyField.state)]?.textValue, let state = KeyState(rawValue: stateText) else {
                throw fail("state (9) must be active, retired or compromised")
            }
            var compromisedAt: Int64?
            if let value = cbor[.int(KeyField.compromisedAt)] {
                guard let at = value.int64 else { throw fail("compromisedAt (10) must be a time") }
                compromisedAt = at
            }
            self.init(kid: kid, algorithm: algorithm, role: role, issuer: Issuer(code: code, name: name), spki: spki,
                      notBefore: notBefore, notAfter: notAfter, state: state, compromisedAt: compromisedAt)
        }
    }

    /// The authority's credit code (`iss`, 1).
    public var authorityCode: String
    public var authorityName: String
    public var issuedAt: Int64
    public var expires: Int64
    /// Grows with every change of the keys.
    public var sequence: UInt64
    public var keys: [Key]
    /// Where the authority's status lists live: `<public URL>/v1/status-lists/`.
    public var statusBase: String

    public init(authorityCode: String, authorityName: String, issuedAt: Int64, expires: Int64, sequence: UInt64, keys: [Key],
                statusBase: String) {
        self.authorityCode = authorityCode
        self.authorityName = authorityName
        self.issuedAt = issuedAt
        self.expires = expires
        self.sequence = sequence
        self.keys = keys
        self.statusBase = statusBase
    }

    /// The claims map in deterministic CBOR.
    public var payload: [UInt8] {
        CBOR.map([
            .init(.int(Claim.authority), .text(authorityCode)),
            .init(.int(Claim.iat), .int(issuedAt)),
            .init(.int(Claim.exp), .int(expires)),
            .init(.int(Claim.body), .map([
                .init(.int(BodyKey.name), .text(authorityName)),
                .init(.int(BodyKey.sequence), .unsigned(sequence)),
                .init(.int(BodyKey.keys), .array(keys.map(\.cbor))),
                .init(.int(BodyKey.statusBase), .text(statusBase)),
            ])),
        ]).encoded()
    }

    /// The protected header `{1: alg, 4: kid, 16: typ}` in deterministic CBOR.
    public static func protectedHeader(algorithm: SignatureAlgorithm, kid: [UInt8]) -> [UInt8] {
        CBOR.map([.init(.int(COSESign1.HeaderLabel.alg), .int(algorithm.rawValue)),
                  .init(.int(COSESign1.HeaderLabel.kid), .bytes(kid)),
                  .init(.int(COSESign1.HeaderLabel.typ), .text(typ))]).encoded()
    }

    /// The signed bytes: a tagged COSE_Sign1 by the anchor key `signer`.
    public func signed(with signer: any Signer) throws -> [UInt8] {
        let protectedBytes = Self.protectedHeader(algorithm: signer.algorithm, kid: signer.kid)
        let payload = self.payload
        let signature = try signer.sign(COSESign1.toBeSigned(protectedBytes: protectedBytes, payload: payload))
        return COSESign1(protectedBytes: protectedBytes, payload: payload, signature: signature).encoded()
    }

    /// Why a signed trust list was refused. The last good list stays in force.
    public enum Failure: Error, Sendable, Equatable, CustomStringConvertible {
        case tooLarge(Int)
        case malformed(String)
        /// Its kid and algorithm name none of the anchors it is checked against.
        case unknownAnchor(kid: String)
        case badSignature
        case expired(Int64)
        /// Issued for another authority than the one it is imported as.
        case wrongAuthority(String)
        /// Older than the last list accepted (a rollback).
        case rolledBack(sequence: UInt64, accepted: UInt64)
        /// The same sequence as the last list accepted, with other keys.
        case sequenceReused(UInt64)

        public var description: String {
            switch self {
            case .tooLarge(let size): return "the list has \(size) bytes; at most \(SignedTrustList.maxBytes) are accepted"
            case .malformed(let why): return "the list is malformed: \(why)"
            case .unknownAnchor(let kid): return "the list is signed by key \(kid), which is not a configured anchor"
            case .badSignature: return "the list's signature does not verify with the anchor key"
            case .expired(let at): return "the list expired at \(Timestamp.format(at))"
            case .wrongAuthority(let code): return "the list is issued by authority \(code), not the one imported under this name"
            case .rolledBack(let sequence, let accepted):
                return "the list has sequence \(sequence), lower than \(accepted) already accepted (a rollback)"
            case .sequenceReused(let sequence):
                return "the list has sequence \(sequence), already accepted with different keys"
            }
        }

        /// A stable code for logs and metrics.
        public var code: String {
            switch self {
            case .tooLarge: return "too_large"
            case .malformed: return "malformed"
            case .unknownAnchor: return "unknown_anchor"
            case .badSignature: return "bad_signature"
            case .expired: return "expired"
            case .wrongAuthority: return "wrong_authority"
            case .rolledBack: return "rolled_back"
            case .sequenceReused: return "sequence_reused"
            }
        }
    }

    /// Decodes `bytes` and checks the signature against `anchors`, the key (or keys, while one is
    /// being replaced) the importer holds; then that it has not expired at `now`. Sequence and
    /// authority are checked by ``accept(_:anchors:previous:expectedAuthority:now:)``. Without
    /// `now` (a list accepted earlier, read again from disk) expiry is not checked.
    public static func verify(_ bytes: [UInt8], anchors: [(kid: [UInt8], verifier: any SignatureVerifier)], now: Int64?)
        throws(Failure) -> SignedTrustList {
        guard bytes.count <= maxBytes else { throw .tooLarge(bytes.count) }
        let limits = CBORDecoder.Limits(maxDepth: 6, maxItems: 65_536, maxLength: maxBytes)
        let sign1: COSESign1
        let algorithm: SignatureAlgorithm
        let kid: [UInt8]
        let protected: [CBOR.Entry]
        do {
            sign1 = try COSESign1(decoding: bytes, limits: limits)
            (algorithm, kid) = try sign1.headers(limits: limits, understood: [COSESign1.HeaderLabel.alg, COSESign1.HeaderLabel.kid,
                                                                             COSESign1.HeaderLabel.typ])
            protected = try sign1.protectedHeader(limits: limits)
        } catch {
            throw .malformed("\(error.layer.rawValue): \(error.description)")
        }
        if let typ = protected.first(where: { $0.key == .int(COSESign1.HeaderLabel.typ) })?.value, typ != .text(Self.typ) {
            throw .malformed("typ (16) is \(typ), not \(Self.typ)")
        }
        let candidates = anchors.filter { $0.kid == kid && $0.verifier.algorithm == algorithm }
        guard !candidates.isEmpty else { throw .unknownAnchor(kid: Hex.encode(kid)) }
        let signed = sign1.toBeSigned
        guard candidates.contains(where: { $0.verifier.isValidSignature(sign1.signature, for: signed) }) else {
            throw .badSignature
        }
        let list = try decodePayload(sign1.payload, limits: limits)
        if let now, now >= list.expires { throw .expired(list.expires) }
        return list
    }

    /// Verifies `bytes` as ``verify(_:anchors:now:)`` does, then refuses a list older than
    /// `previous` (the last accepted), the same sequence with other keys, or one issued by another
    /// authority than `expectedAuthority`.
    public static func accept(_ bytes: [UInt8], anchors: [(kid: [UInt8], verifier: any SignatureVerifier)],
                              previous: SignedTrustList?, expectedAuthority: String?, now: Int64) throws(Failure) -> SignedTrustList {
        let list = try verify(bytes, anchors: anchors, now: now)
        if let expectedAuthority, list.authorityCode != expectedAuthority { throw .wrongAuthority(list.authorityCode) }
        if let previous {
            if list.sequence < previous.sequence { throw .rolledBack(sequence: list.sequence, accepted: previous.sequence) }
            if list.sequence == previous.sequence && (list.keys != previous.keys || list.statusBase != previous.statusBase) {
                throw .sequenceReused(list.sequence)
            }
        }
        return list
    }

    /// Reads the claims map (no signature check: for lists already accepted and stored).
    public static func decodePayload(_ payload: [UInt8], limits: CBORDecoder.Limits = CBORDecoder.Limits(maxDepth: 6, maxItems: 65_536, maxLength: maxBytes))
        throws(Failure) -> SignedTrustList {
        let claims: CBOR
        do { claims = try CBORDecoder.decode(payload, limits: limits) } catch { throw .malformed("payload: \(error)") }
        guard case .map = claims else { throw .malformed("the payload must be a map") }
        guard let code = claims[.int(Claim.authority)]?.textValue, !code.isEmpty else {
            throw .malformed("claim 1 must be the authority's code")
        }
        guard let iat = claims[.int(Claim.iat)]?.int64 else { throw .malformed("claim iat (6) is missing") }
        guard let exp = claims[.int(Claim.exp)]?.int64, exp > iat else { throw .malformed("claim exp (4) must be after iat") }
        guard let body = claims[.int(Claim.body)], case .map = body else { throw .malformed("claim -65538 must be a map") }
        guard let name = body[.int(BodyKey.name)]?.textValue else { throw .malformed("the authority's name (1) is missing") }
        guard let sequence = body[.int(BodyKey.sequence)]?.uint64 else { throw .malformed("the sequence (2) must be an unsigned integer") }
        guard let items = body[.int(BodyKey.keys)]?.arrayValue else { throw .malformed("the keys (3) must be an array") }
        guard let statusBase = body[.int(BodyKey.statusBase)]?.textValue,
              statusBase.hasPrefix("https://") || statusBase.hasPrefix("http://"), statusBase.hasSuffix("/") else {
            throw .malformed("the status base URL (4) must be an http(s) URL ending in /")
        }
        var keys: [Key] = []
        for (index, item) in items.enumerated() { keys.append(try Key(cbor: item, index: index)) }
        return SignedTrustList(authorityCode: code, authorityName: name, issuedAt: iat, expires: exp, sequence: sequence,
                               keys: keys, statusBase: statusBase)
    }
}
