/// The status of a licence in the registry.
public enum LicenceStatus: String, Sendable, Hashable, Codable, CaseIterable {
    case valid, suspended, revoked, superseded

    /// The value in a status list: 0 valid, 1 invalid (revoked), 2 suspended, and 3, which the
    /// Token Status List leaves to applications, for superseded.
    public var listValue: UInt8 {
        switch self {
        case .valid: return 0
        case .revoked: return 1
        case .suspended: return 2
        case .superseded: return 3
        }
    }

    public init?(listValue: UInt8) {
        switch listValue {
        case 0: self = .valid
        case 1: self = .revoked
        case 2: self = .suspended
        case 3: self = .superseded
        default: return nil
        }
    }

    public var chineseName: String {
        switch self {
        case .valid: return "有效"
        case .suspended: return "中止"
        case .revoked: return "吊销"
        case .superseded: return "已换发"
        }
    }
}

/// A status list (IETF Token Status List): 2 bits per licence, the first entry in the least
/// significant bits of the first byte.
public struct StatusList: Sendable, Hashable {
    public static let bits = 2
    public private(set) var bytes: [UInt8]

    public var count: Int { bytes.count * 8 / Self.bits }

    public init(count: Int) {
        bytes = [UInt8](repeating: 0, count: (count * Self.bits + 7) / 8)
    }

    public init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    public subscript(index: Int) -> UInt8 {
        get {
            let (byte, shift) = Self.position(index)
            return (bytes[byte] >> shift) & 0b11
        }
        set {
            let (byte, shift) = Self.position(index)
            bytes[byte] = bytes[byte] & ~(0b11 << shift) | ((newValue & 0b11) << shift)
        }
    }

    private static func position(_ index: Int) -> (Int, UInt8) {
        (index / 4, UInt8((index % 4) * 2))
    }

    /// The `lst` value: the list compressed with zlib.
    public var compressed: [UInt8] { Zlib.compress(bytes) }
}

/// A signed status list as a CWT: `sub` (2) the list's URI, `iat` (6), `exp` (4), `ttl` (65534) and
/// `status_list` (65533) `{"bits": 2, "lst": zlib bytes}`, in a COSE_Sign1 whose protected header
/// adds `typ` (16) `application/statuslist+cwt`.
public struct StatusListToken: Sendable {
    public enum Key {
        public static let sub: Int64 = 2
        public static let exp: Int64 = 4
        public static let iat: Int64 = 6
        public static let ttl: Int64 = 65534
        public static let statusList: Int64 = 65533
        public static let typHeader: Int64 = 16
    }

    public static let mediaType = "application/statuslist+cwt"
    /// The largest list accepted: 2^22 entries (1 MiB of 2-bit entries).
    public static let maxListBytes = 1 << 20

    public var uri: String
    public var issuedAt: Int64
    public var expires: Int64?
    public var ttl: Int64?
    public var list: StatusList
    /// The imported authority whose status key signed the list, once verified; nil for the
    /// verifier's own key.
    public var authority: TrustAuthority?

    public init(uri: String, issuedAt: Int64, expires: Int64?, ttl: Int64?, list: StatusList, authority: TrustAuthority? = nil) {
        self.uri = uri
        self.issuedAt = issuedAt
        self.expires = expires
        self.ttl = ttl
        self.list = list
        self.authority = authority
    }

    /// The signed CWT bytes (tagged COSE_Sign1).
    public func signed(with signer: any Signer) throws -> [UInt8] {
        var claims: [CBOR.Entry] = [
            .init(.int(Key.sub), .text(uri)),
            .init(.int(Key.iat), .int(issuedAt)),
            .init(.int(Key.statusList), .map([.init("bits", .int(Int64(StatusList.bits))), .init("lst", .bytes(list.compressed))])),
        ]
        if let expires { claims.append(.init(.int(Key.exp), .int(expires))) }
        if let ttl { claims.append(.init(.int(Key.ttl), .int(ttl))) }
        let protectedBytes = CBOR.map([
            .init(.int(COSESign1.HeaderLabel.alg), .int(signer.algorithm.rawValue)),
            .init(.int(COSESign1.HeaderLabel.kid), .bytes(signer.kid)),
            .init(.int(Key.typHeader), .text(Self.mediaType)),
        ]).encoded()
        let payload = CBOR.map(claims).encoded()
        let signature = try signer.sign(COSESign1.toBeSigned(protectedBytes: protectedBytes, payload: payload))
        return COSESign1(protectedBytes: protectedBytes, payload: payload, signature: signature).encoded()
    }

    /// Why a status list token was not accepted.
    public enum Failure: Error, Sendable, Equatable, CustomStringConvertible {
        case malformed(String)
        case unknownKey
        case badSignature
        case keyCompromised
        /// Signed by an imported authority's key, but its URI is not under that authority's status base.
        case foreignURI(String)

        public var description: String {
            switch self {
            case .foreignURI(let uri): return "the status list names \(uri), which is not under its authority's status base URL"
            case .malformed(let why): return "the status list is malformed: \(why)"
            case .unknownKey: return "the status list is signed by a key that is not a trusted status key"
            case .badSignature: return "the status list's signature does not verify"
            case .keyCompromised: return "the status list is signed by a compromised key"
            }
        }
    }

    /// Decodes a status list CWT and checks its signature against the trusted `status` keys.
    public static func verify(_ bytes: [UInt8], trustStore: any TrustStore) throws(Failure) -> StatusListToken {
        let limits = CBORDecoder.Limits(maxDepth: 6, maxItems: 64, maxLength: maxListBytes)
        let sign1: COSESign1
        let algorithm: SignatureAlgorithm
        let kid: [UInt8]
        do {
            sign1 = try COSESign1(decoding: bytes, limits: limits)
            (algorithm, kid) = try sign1.headers(limits: limits, understood: [COSESign1.HeaderLabel.alg, COSESign1.HeaderLabel.kid,
                                                                             COSESign1.HeaderLabel.typ])
        } catch {
            throw .malformed(error.description)
        }
        let candidates = trustStore.keys(kid: kid).filter { $0.role == .status && $0.algorithm == algorithm }
        guard !candidates.isEmpty else { throw .unknownKey }
        let signed = sign1.toBeSigned
        guard let key = candidates.first(where: { $0.verifier.isValidSignature(sign1.signature, for: signed) }) else {
            throw .badSignature
        }
        guard key.state != .compromised else { throw .keyCompromised }
        let claims: CBOR
        do { claims = try CBORDecoder.decode(sign1.payload, limits: limits) } catch { throw .malformed(error.description) }
        guard let uri = claims[.int(Key.sub)]?.textValue else { throw .malformed("claim sub (2) must be the list's URI") }
        guard let iat = claims[.int(Key.iat)]?.int64 else { throw .malformed("claim iat (6) is missing") }
        guard let statusList = claims[.int(Key.statusList)], let bits = statusList[.text("bits")]?.int64,
              let lst = statusList[.text("lst")]?.bytesValue else {
            throw .malformed("claim status_list (65533) must be {\"bits\", \"lst\"}")
        }
        guard bits == Int64(StatusList.bits) else { throw .malformed("status list has \(bits) bits per entry; expected 2") }
        if let authority = key.authority, !authority.ownsStatusURI(uri) { throw .foreignURI(uri) }
        let raw: [UInt8]
        do { raw = try Zlib.decompress(lst, limit: maxListBytes) } catch { throw .malformed("lst: \(error)") }
        return StatusListToken(uri: uri, issuedAt: iat, expires: claims[.int(Key.exp)]?.int64,
                               ttl: claims[.int(Key.ttl)]?.int64, list: StatusList(bytes: raw), authority: key.authority)
    }
}

/// The status source of an offline verifier: status lists that were verified when loaded.
public struct StatusListSource: StatusSource {
    public let lists: [String: StatusListToken]

    public init(_ lists: [StatusListToken]) {
        self.lists = Dictionary(lists.map { ($0.uri, $0) }, uniquingKeysWith: { a, b in a.issuedAt >= b.issuedAt ? a : b })
    }

    public func status(of claims: LicenceClaims, now: Int64) -> LicenceStatusAnswer {
        answer(claims, authority: nil, now: now)
    }

    /// A list answers only for licences of the authority whose key signed it.
    public func status(of claims: LicenceClaims, key: TrustedKey, now: Int64) -> LicenceStatusAnswer {
        answer(claims, authority: key.authority, now: now)
    }

    private func answer(_ claims: LicenceClaims, authority: TrustAuthority?, now: Int64) -> LicenceStatusAnswer {
        guard let reference = claims.status else {
            return .unavailable(BilingualMessage(zh: "证照未载明状态列表。", en: "the licence carries no status-list reference"))
        }
        if let authority, !authority.ownsStatusURI(reference.uri) {
            return .unavailable(BilingualMessage(
                zh: "证照所载的状态列表 \(reference.uri) 不在 \(authority.displayName) 的状态列表地址 \(authority.statusBase) 之下。",
                en: "the licence names the status list \(reference.uri), which is not under the status base "
                    + "\(authority.statusBase) of \(authority.displayName)"))
        }
        guard let list = lists[reference.uri], list.authority?.code == authority?.code else {
            return .unavailable(BilingualMessage(zh: "未提供证照所载的状态列表 \(reference.uri)。",
                                                 en: "no status list for \(reference.uri) was given"))
        }
        if let expires = list.expires, now >= expires {
            return .unavailable(BilingualMessage(zh: "状态列表 \(reference.uri) 已于 \(Timestamp.format(expires)) 过期，请取得最新的状态列表。",
                                                 en: "the status list \(reference.uri) expired at \(Timestamp.format(expires))"))
        }
        guard reference.index < UInt64(list.list.count) else {
            return .unavailable(BilingualMessage(zh: "状态列表 \(reference.uri) 中没有第 \(reference.index) 项。",
                                                 en: "index \(reference.index) is beyond the end of \(reference.uri)"))
        }
        return list.answer(index: reference.index)
    }
}

extension StatusListToken {
    /// The answer of entry `index` (already checked to be in the list).
    public func answer(index: UInt64) -> LicenceStatusAnswer {
        switch LicenceStatus(listValue: list[Int(index)]) {
        case .valid?: return .valid
        case .revoked?: return .revoked
        case .suspended?: return .suspended
        case .superseded?, nil: return .superseded
        }
    }
}
