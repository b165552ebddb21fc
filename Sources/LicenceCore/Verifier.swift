/// A source of the current time, in Unix seconds. Injected so that verification is testable.
public protocol LicenceClock: Sendable {
    var now: Int64 { get }
}

/// A clock that always answers the same time.
public struct FixedClock: LicenceClock {
    public var now: Int64
    public init(_ now: Int64) { self.now = now }
}

/// What a status source knows about one licence.
public enum LicenceStatusAnswer: Sendable, Hashable {
    case valid
    case suspended
    case revoked
    case superseded
    /// Online only: the registry has no such licence.
    case unknownLicence
    /// A source was asked but could not answer (no list for this URI, list expired, bad signature…),
    /// and why, in both languages.
    case unavailable(BilingualMessage)
    /// No source was consulted (offline without a status list).
    case notChecked
}

/// Where a verifier learns whether a licence was revoked or suspended: a registry, a cached
/// status list, or nothing.
public protocol StatusSource: Sendable {
    func status(of claims: LicenceClaims, now: Int64) -> LicenceStatusAnswer
    /// The status of a licence whose signature `key` verified; a source that answers for several
    /// authorities looks at `key.authority`. By default, ``status(of:now:)``.
    func status(of claims: LicenceClaims, key: TrustedKey, now: Int64) -> LicenceStatusAnswer
}

extension StatusSource {
    public func status(of claims: LicenceClaims, key: TrustedKey, now: Int64) -> LicenceStatusAnswer {
        status(of: claims, now: now)
    }
}

/// The status source of an offline verifier with no status list.
public struct NoStatusSource: StatusSource {
    public init() {}
    public func status(of claims: LicenceClaims, now: Int64) -> LicenceStatusAnswer { .notChecked }
}

/// Why a licence is or is not valid. Exactly one outcome per verification.
public enum VerificationOutcome: Sendable, Hashable {
    case valid
    case malformed(layer: TokenLayer, detail: String)
    case unknownKey
    case badSignature
    case issuerMismatch
    case keyCompromised
    /// The token's `iat` lies outside its key's period of use (`notBefore`…`notAfter`).
    case keyNotValid
    case expired
    case notYetValid
    case revoked
    case suspended
    case superseded
    case unknownLicence
    case statusUnavailable(BilingualMessage)
    /// A presentation code signed by a device that is not enrolled, was removed, or belongs to
    /// another holder.
    case unknownDevice
    /// A presentation code outside its few minutes of life.
    case presentationExpired
    /// A presentation code shown before (its nonce was used).
    case presentationReplayed

    /// The stable code used in JSON and logs.
    public var code: String {
        switch self {
        case .valid: return "valid"
        case .malformed: return "malformed"
        case .unknownKey: return "unknown_key"
        case .badSignature: return "bad_signature"
        case .issuerMismatch: return "issuer_mismatch"
        case .keyCompromised: return "key_compromised"
        case .keyNotValid: return "key_not_valid"
        case .expired: return "expired"
        case .notYetValid: return "not_yet_valid"
        case .revoked: return "revoked"
        case .suspended: return "suspended"
        case .superseded: return "superseded"
        case .unknownLicence: return "unknown_licence"
        case .statusUnavailable: return "status_unavailable"
        case .unknownDevice: return "unknown_device"
        case .presentationExpired: return "presentation_expired"
        case .presentationReplayed: return "presentation_replayed"
        }
    }

    public var isValid: Bool { self == .valid }
}

/// A message in both languages a verifier shows.
public struct BilingualMessage: Sendable, Hashable, Codable {
    public var zh: String
    public var en: String
    public init(zh: String, en: String) {
        self.zh = zh
        self.en = en
    }
}

/// The answer of one verification: always a value, never a thrown error.
public struct VerificationResult: Sendable {
    public var outcome: VerificationOutcome
    /// Whether a status source answered for this licence.
    public var statusChecked: Bool
    /// The disclosed licence data, once the token could be read (also for a licence that is not valid).
    public var claims: LicenceClaims?
    public var algorithm: SignatureAlgorithm?
    public var kid: [UInt8]?
    /// The key that verified the signature, when one did.
    public var signingKey: TrustedKey?

    public init(outcome: VerificationOutcome, statusChecked: Bool, claims: LicenceClaims? = nil,
                algorithm: SignatureAlgorithm? = nil, kid: [UInt8]? = nil, signingKey: TrustedKey? = nil) {
        self.outcome = outcome
        self.statusChecked = statusChecked
        self.claims = claims
        self.algorithm = algorithm
        self.kid = kid
        self.signingKey = signingKey
    }

    public var valid: Bool { outcome.isValid }

    /// The imported authority whose trust list vouches for the signing key (跨省互认); nil for
    /// the verifier's own keys.
    public var authority: TrustAuthority? { signingKey?.authority }

    public var message: BilingualMessage {
        switch outcome {
        case .valid:
            if let authority {
                return statusChecked
                    ? BilingualMessage(zh: "证照有效（由\(authority.displayName)的信任列表认证，状态经其状态列表核验）。",
                                       en: "The licence is valid (vouched for by the trust list of \(authority.displayName), whose status list was checked).")
                    : BilingualMessage(zh: "证照签名有效（由\(authority.displayName)的信任列表认证），在有效期内；未核验吊销或中止状态。",
                                       en: "The licence is genuine (vouched for by the trust list of \(authority.displayName)) and within its validity period; its revocation status was not checked.")
            }
            return statusChecked
                ? BilingualMessage(zh: "证照有效。", en: "The licence is valid.")
                : BilingualMessage(zh: "证照签名有效，在有效期内；未核验吊销或中止状态。",
                                   en: "The licence is genuine and within its validity period; its revocation status was not checked.")
        case .malformed(let layer, let detail):
            // The detail is technical English; the Chinese message says what to do instead.
            return BilingualMessage(zh: "无法识别的证照码（\(Self.layerName(layer))层出错）：扫描可能不完整，或这不是电子证照码，请重新扫描。",
                                    en: "Not a readable licence code (the \(layer.rawValue) layer failed): \(detail)")
        case .unknownKey:
            return BilingualMessage(zh: "签发密钥不在信任列表中，无法确认证照来源。",
                                    en: "The signing key is not in the trust list, so the licence's origin cannot be confirmed.")
        case .badSignature:
            return BilingualMessage(zh: "签名验证失败，证照内容可能被篡改。",
                                    en: "The signature does not verify; the licence may have been altered.")
        case .issuerMismatch:
            return BilingualMessage(zh: "证照所载颁证单位与签名密钥的所属单位不一致。",
                                    en: "The issuer named in the licence is not the agency that owns the signing key.")
        case .keyCompromised:
            return BilingualMessage(zh: "签发密钥已声明泄露，该密钥签发的证照一律无效。",
                                    en: "The signing key has been declared compromised; every licence it signed is invalid.")
        case .keyNotValid:
            return BilingualMessage(zh: "证照的签发时间不在签名密钥的使用期内。",
                                    en: "The licence was signed outside its signing key's period of use.")
        case .expired:
            return BilingualMessage(zh: "证照已过有效期。", en: "The licence has expired.")
        case .notYetValid:
            return BilingualMessage(zh: "证照尚未生效。", en: "The licence is not yet valid.")
        case .revoked:
            return BilingualMessage(zh: "证照已被吊销（注销）。", en: "The licence has been revoked.")
        case .suspended:
            return BilingualMessage(zh: "证照已被中止（暂停使用）。", en: "The licence is suspended.")
        case .superseded:
            return BilingualMessage(zh: "证照已被新版本取代。", en: "The licence has been superseded by a newer version.")
        case .unknownLicence:
            return BilingualMessage(zh: "登记库中没有这份证照。", en: "The registry has no such licence.")
        case .statusUnavailable(let why):
            return BilingualMessage(zh: "无法核验证照的吊销或中止状态：\(why.zh)",
                                    en: "The licence's revocation status could not be checked: \(why.en)")
        case .unknownDevice:
            return BilingualMessage(zh: "亮证码不是由持证人登记的设备生成的，请持证人在本人手机上重新出示。",
                                    en: "The presentation code was not made by a device the holder enrolled; the holder should show it again from their own phone.")
        case .presentationExpired:
            return BilingualMessage(zh: "亮证码已过期，请持证人刷新后重新出示。",
                                    en: "The presentation code has expired; the holder should refresh it and show it again.")
        case .presentationReplayed:
            return BilingualMessage(zh: "该亮证码已使用过，不能重复使用，请持证人刷新后重新出示。",
                                    en: "This presentation code was used before and cannot be used again; the holder should refresh it and show it again.")
        }
    }

    static func layerName(_ layer: TokenLayer) -> String {
        switch layer {
        case .prefix: return "前缀"
        case .base45: return "Base45"
        case .zlib: return "压缩"
        case .cbor: return "CBOR"
        case .cose: return "COSE 签名结构"
        case .claims: return "声明"
        }
    }
}

/// Remembers tokens whose signature a trusted key has verified, so that a token shown again is not
/// decoded and verified again. Only the signature check is skipped: key state, issuer, validity
/// period and status are checked on every answer.
public protocol VerificationCache: Sendable {
    /// A token seen before: its claims, algorithm and the kid of the key that verified it.
    func lookup(_ token: String) -> VerifiedToken?
    func store(_ token: String, _ verified: VerifiedToken)
}

/// What a ``VerificationCache`` keeps of a verified token.
public struct VerifiedToken: Sendable {
    public var claims: LicenceClaims
    public var algorithm: SignatureAlgorithm
    public var kid: [UInt8]

    public init(claims: LicenceClaims, algorithm: SignatureAlgorithm, kid: [UInt8]) {
        self.claims = claims
        self.algorithm = algorithm
        self.kid = kid
    }
}

/// Verifies licence tokens: format, signature, issuer, validity period and status, in that order,
/// stopping at the first failure.
public struct Verifier: Sendable {
    public var trustStore: any TrustStore
    public var statusSource: any StatusSource
    public var clock: any LicenceClock
    /// Clock skew tolerated at both ends of the validity period, in seconds.
    public var skew: Int64
    /// Treat an unchecked status as a failure (`status_unavailable`) rather than valid.
    public var requireStatus: Bool
    public var limits: LicenceToken.Limits
    public var cache: (any VerificationCache)?

    public init(trustStore: any TrustStore, statusSource: any StatusSource = NoStatusSource(),
                clock: any LicenceClock, skew: Int64 = 300, requireStatus: Bool = false,
                limits: LicenceToken.Limits = LicenceToken.Limits(), cache: (any VerificationCache)? = nil) {
        self.cache = cache
        self.trustStore = trustStore
        self.statusSource = statusSource
        self.clock = clock
        self.skew = skew
        self.requireStatus = requireStatus
        self.limits = limits
    }

    public func verify(_ token: String) -> VerificationResult {
        if let cache, let seen = cache.lookup(token) {
            return verify(claims: seen.claims, algorithm: seen.algorithm, kid: seen.kid) { key in key.kid == seen.kid }
        }
        let decoded: LicenceToken.Decoded
        do {
            decoded = try LicenceToken.decode(token, limits: limits)
        } catch {
            return VerificationResult(outcome: .malformed(layer: error.layer, detail: error.description), statusChecked: false)
        }
        let result = verify(decoded)
        if let cache, let key = result.signingKey {
            cache.store(token, VerifiedToken(claims: decoded.claims, algorithm: decoded.algorithm, kid: key.kid))
        }
        return result
    }

    public func verify(_ decoded: LicenceToken.Decoded) -> VerificationResult {
        let signed = decoded.sign1.toBeSigned
        return verify(claims: decoded.claims, algorithm: decoded.algorithm, kid: decoded.kid) { key in
            key.verifier.isValidSignature(decoded.sign1.signature, for: signed)
        }
    }

    /// The checks after decoding; `signatureHolds` tells whether a candidate key's signature verifies.
    func verify(claims: LicenceClaims, algorithm: SignatureAlgorithm, kid: [UInt8],
                signatureHolds: (TrustedKey) -> Bool) -> VerificationResult {
        var result = VerificationResult(outcome: .valid, statusChecked: false, claims: claims, algorithm: algorithm, kid: kid)
        let candidates = trustStore.keys(kid: kid).filter { $0.role == .issuer && $0.algorithm == algorithm }
        guard !candidates.isEmpty else {
            result.outcome = .unknownKey
            return result
        }
        guard let key = candidates.first(where: signatureHolds) else {
            result.outcome = .badSignature
            return result
        }
        result.signingKey = key
        if key.state == .compromised {
            result.outcome = .keyCompromised
            return result
        }
        guard key.issuer.code == claims.issuerCode else {
            result.outcome = .issuerMismatch
            return result
        }
        guard key.notBefore <= claims.issuedAt, claims.issuedAt <= key.notAfter else {
            result.outcome = .keyNotValid
            return result
        }
        let now = clock.now
        if let authority = key.authority, now >= authority.listExpires {
            result.outcome = .statusUnavailable(BilingualMessage(
                zh: "\(authority.displayName)（\(authority.name)）的信任列表已于 \(Timestamp.format(authority.listExpires)) 过期，"
                    + "且未取得更新的列表；在列表更新之前，无法认可其证照。",
                en: "the trust list of \(authority.displayName) (\(authority.name)) expired at \(Timestamp.format(authority.listExpires)) "
                    + "and no newer one was accepted; its licences cannot be accepted until it is refreshed"))
            return result
        }
        if now + skew < claims.notBefore {
            result.outcome = .notYetValid
            return result
        }
        if let expires = claims.expires, now - skew >= expires {
            result.outcome = .expired
            return result
        }
        switch statusSource.status(of: claims, key: key, now: now) {
        case .valid:
            result.statusChecked = true
        case .suspended:
            result.statusChecked = true
            result.outcome = .suspended
        case .revoked:
            result.statusChecked = true
            result.outcome = .revoked
        case .superseded:
            result.statusChecked = true
            result.outcome = .superseded
        case .unknownLicence:
            result.statusChecked = true
            result.outcome = .unknownLicence
        case .unavailable(let why):
            result.outcome = .statusUnavailable(why)
        case .notChecked:
            if requireStatus {
                result.outcome = .statusUnavailable(BilingualMessage(zh: "未提供状态列表，也未查询登记库。",
                                                                     en: "no status list or registry was consulted"))
            }
        }
        return result
    }
}
