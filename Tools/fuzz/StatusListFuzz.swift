// libFuzzer target: the signed status list (a CWT in a COSE_Sign1), from bytes to the answers an
// offline verifier takes from it.
import LicenceCore

/// Stops the run when a property does not hold (fatalError, unlike precondition, keeps its message under -O).
func check(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { fatalError(message()) }
}

/// Trusts every kid as a status key of each algorithm. Its "signature check" accepts any signature
/// that does not start with 0xff, so both answers run; the key state comes from the kid's last
/// byte. Cryptography is not what is fuzzed here: the decoding behind the signature check is.
struct TrustEveryKid: TrustStore {
    struct Check: SignatureVerifier {
        var algorithm: SignatureAlgorithm
        func isValidSignature(_ signature: [UInt8], for message: [UInt8]) -> Bool { signature.first != 0xff }
    }

    func keys(kid: [UInt8]) -> [TrustedKey] {
        let state: KeyState = (kid.last ?? 0) % 4 == 3 ? .compromised : .active
        return SignatureAlgorithm.allCases.map { algorithm in
            TrustedKey(kid: kid, role: .status, issuer: Issuer(code: "11350000003591037R", name: "福州市市场监督管理局"),
                       notBefore: .min, notAfter: .max, state: state, verifier: Check(algorithm: algorithm))
        }
    }
}

let identifier = try! LicenceIdentifier(parsing: "1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001.U")
let validFrom = try! CalendarDate(year: 2026, month: 1, day: 15)

/// The claims of a licence at slot `index` of the list at `uri`.
func claims(uri: String, index: UInt64) -> LicenceClaims {
    LicenceClaims(issuerCode: identifier.issuerCode, notBefore: validFrom.startInChina, expires: nil,
                  issuedAt: validFrom.startInChina, identifier: identifier, status: StatusReference(index: index, uri: uri),
                  typeCode: identifier.typeCode, typeName: "营业执照", number: "1", holderName: "某某公司",
                  holderCode: "91350100MA2Y01111F", holderCodeType: .creditCode, issuerName: "福州市市场监督管理局",
                  validFrom: validFrom, validUntil: nil, version: 1, fields: [:])
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = Array(UnsafeBufferPointer(start: data, count: size))

    // Without trusted keys a list is malformed or of an unknown key.
    do {
        _ = try StatusListToken.verify(input, trustStore: TrustList([]))
        fatalError("an empty trust store accepted a status list")
    } catch {
        switch error {
        case .malformed, .unknownKey: break
        default: fatalError("an empty trust store answered \(error)")
        }
    }

    guard let token = try? StatusListToken.verify(input, trustStore: TrustEveryKid()) else { return 0 }
    check(token.list.bytes.count <= StatusListToken.maxListBytes, "the list inflated beyond its limit")
    let source = StatusListSource([token])
    let count = UInt64(token.list.count)
    // Slots at both ends, one past the end and far beyond it, at times before, at and after exp.
    let slots: [UInt64] = [0, count / 2, count &- 1, count, UInt64(Int64.max), .max]
    let times: [Int64] = [token.issuedAt, token.expires ?? 0, (token.expires ?? 0) &- 1, .min, .max]
    for slot in slots {
        for time in times {
            _ = source.status(of: claims(uri: token.uri, index: slot), now: time)
        }
    }
    return 0
}
