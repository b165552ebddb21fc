import LicenceCore

/// One entry of the transparency log: an issuance or a status change, as deterministic CBOR.
///
/// - issuance: `[0, identifier, SHA-256(signed COSE bytes), kid, iat]`
/// - status change: `[1, identifier, status, at]`
public enum LogLeaf: Sendable, Hashable, CustomStringConvertible {
    case issuance(identifier: String, coseHash: [UInt8], kid: [UInt8], issuedAt: Int64)
    case statusChange(identifier: String, status: String, at: Int64)

    /// The bytes that are logged (and hashed as the leaf).
    public var encoded: [UInt8] {
        switch self {
        case .issuance(let identifier, let coseHash, let kid, let issuedAt):
            return CBOR.array([.unsigned(0), .text(identifier), .bytes(coseHash), .bytes(kid), .int(issuedAt)]).encoded()
        case .statusChange(let identifier, let status, let at):
            return CBOR.array([.unsigned(1), .text(identifier), .text(status), .int(at)]).encoded()
        }
    }

    /// Reads a logged entry; nil when it is not one of the two forms, in deterministic encoding.
    public init?(decoding bytes: [UInt8]) {
        let limits = CBORDecoder.Limits(maxDepth: 2, maxItems: 8, maxLength: 4096, requireDeterministic: true)
        guard let value = try? CBORDecoder.decode(bytes, limits: limits), let items = value.arrayValue,
              let kind = items.first?.uint64, items.count >= 2, let identifier = items[1].textValue else { return nil }
        switch (kind, items.count) {
        case (0, 5):
            guard let hash = items[2].bytesValue, hash.count == 32, let kid = items[3].bytesValue, kid.count == 8,
                  let issuedAt = items[4].int64 else { return nil }
            self = .issuance(identifier: identifier, coseHash: hash, kid: kid, issuedAt: issuedAt)
        case (1, 4):
            guard let status = items[2].textValue, let at = items[3].int64 else { return nil }
            self = .statusChange(identifier: identifier, status: status, at: at)
        default:
            return nil
        }
        guard encoded == bytes else { return nil }
    }

    public var identifier: String {
        switch self {
        case .issuance(let identifier, _, _, _), .statusChange(let identifier, _, _): return identifier
        }
    }

    public var description: String {
        switch self {
        case .issuance(let identifier, _, let kid, let issuedAt):
            return "issuance of \(identifier) by key \(Hex.encode(kid)) at \(Timestamp.format(issuedAt))"
        case .statusChange(let identifier, let status, let at):
            return "\(status) of \(identifier) at \(Timestamp.format(at))"
        }
    }
}
