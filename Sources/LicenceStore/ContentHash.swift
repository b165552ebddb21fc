import Crypto
import LicenceCore

/// SHA-256 over a canonical encoding of everything a licence says, to tell a repeated issuance
/// (a no-op) from a changed one.
enum ContentHash {
    static func of(_ licence: Licence) -> [UInt8] {
        let canonical = CBOR.array([
            .text(licence.typeCode), .text(licence.number), .text(licence.holder.name), .text(licence.holder.code.value),
            .text(licence.holder.code.kind.rawValue), .text(licence.issuer.code), .text(licence.issuer.name),
            .text(licence.validFrom.description), licence.validUntil.map { .text($0.description) } ?? .null,
            licence.relatedMatter.map { .text($0) } ?? .null,
            .map(licence.fields.map { CBOR.Entry(.text($0.key), .text($0.value)) }),
        ]).encoded()
        return Array(SHA256.hash(data: canonical))
    }
}
