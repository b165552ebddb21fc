// libFuzzer target: the licence token, through every layer (prefix, base45, zlib, CBOR, COSE_Sign1,
// claims) and then through the offline Verifier and the JSON answer it leads to.
//
// An input that starts like token text (`E` or whitespace) is read as token text. Any other input
// is taken as the COSE_Sign1 bytes inside a token and wrapped (zlib, base45, `EL1:`) first: zlib's
// checksum makes nearly every mutation of token text fail at the zlib layer, so this is how the
// mutations reach the CBOR, COSE and claims layers through the same full decode.
import LicenceCore

/// Stops the run when a property does not hold (fatalError, unlike precondition, keeps its message under -O).
func check(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { fatalError(message()) }
}

/// Trusts every kid, with a key of each algorithm for the issuer of the sample licences. Its
/// "signature check" accepts any signature that does not start with 0xff, so both answers run;
/// the key state comes from the kid's last byte. Cryptography is not what is fuzzed here.
struct TrustEveryKid: TrustStore {
    static let issuer = Issuer(code: "11350000003591037R", name: "福州市市场监督管理局")

    struct Check: SignatureVerifier {
        var algorithm: SignatureAlgorithm
        func isValidSignature(_ signature: [UInt8], for message: [UInt8]) -> Bool { signature.first != 0xff }
    }

    func keys(kid: [UInt8]) -> [TrustedKey] {
        let state: KeyState = switch (kid.last ?? 0) % 4 {
        case 0, 1: .active
        case 2: .retired
        default: .compromised
        }
        return SignatureAlgorithm.allCases.map { algorithm in
            TrustedKey(kid: kid, role: .issuer, issuer: Self.issuer, notBefore: .min, notAfter: .max, state: state,
                       verifier: Check(algorithm: algorithm))
        }
    }
}

let now = try! CalendarDate(year: 2027, month: 6, day: 1).startInChina
/// One status list at the URI tokens from a default registry point into: every value 0–3 occurs.
let statusLists = StatusListSource([
    StatusListToken(uri: "http://127.0.0.1:8080/v1/status-lists/0", issuedAt: now, expires: now + 86_400, ttl: 3600,
                    list: StatusList(bytes: (0..<1024).map { UInt8(truncatingIfNeeded: $0 &* 0x9d) })),
])
let untrusting = Verifier(trustStore: TrustList([]), clock: FixedClock(now))
let trusting = [
    Verifier(trustStore: TrustEveryKid(), clock: FixedClock(now)),
    Verifier(trustStore: TrustEveryKid(), clock: FixedClock(now), requireStatus: true),
    Verifier(trustStore: TrustEveryKid(), statusSource: statusLists, clock: FixedClock(now)),
]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = Array(UnsafeBufferPointer(start: data, count: size))
    let text: String
    switch input.first {
    case UInt8(ascii: "E"), 0x09, 0x0a, 0x0d, 0x20: text = String(decoding: input, as: UTF8.self)
    default: text = LicenceToken.encode(coseBytes: input)
    }

    // Without trusted keys a token is malformed or of an unknown key, never anything else.
    let result = untrusting.verify(text)
    switch result.outcome {
    case .malformed, .unknownKey: break
    default: fatalError("an empty trust store answered \(result.outcome.code)")
    }
    _ = VerificationReport(result).json

    guard let decoded = try? LicenceToken.decode(text) else { return 0 }
    check(result.outcome == .unknownKey, "a token that decodes was reported malformed")

    // The claims re-encode to a payload that reads back as the same claims.
    let payload = decoded.claims.encoded
    guard let item = try? CBORDecoder.decode(payload, limits: CBORDecoder.Limits(requireDeterministic: true)),
          let reread = try? LicenceClaims(cbor: item) else {
        fatalError("the claims of a token do not re-encode to readable claims")
    }
    check(reread == decoded.claims, "the claims of a token change when re-encoded")

    for verifier in trusting {
        _ = VerificationReport(verifier.verify(decoded)).json
    }
    return 0
}
