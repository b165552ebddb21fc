import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import LicenceCore
import LicenceCrypto
import LicenceQR
import LicenceStore

struct EnrolRequest: Decodable {
    var code: String
    /// What the device is (the browser), shown in the holder's list of devices.
    var label: String?
}

/// A licence as its holder's wallet shows it: everything on it, its status, its token and the QR
/// code of the token (an SVG, so that the wallet shows it offline).
struct WalletLicence: Encodable {
    var id: String
    var type: String
    var typeName: String
    var number: String
    var holderName: String
    var issuerName: String
    var validFrom: String
    var validUntil: String?
    var relatedMatter: String?
    var status: LicenceStatus
    var valid: Bool
    var fields: [String: String]
    /// The fields a presentation discloses unless the holder chooses fewer.
    var disclosable: [String]
    var token: String
    var qr: String
    /// The first 8 bytes of SHA-256 of the identifier, base64url, as presentation codes carry it.
    var presentationID: String
}

struct WalletAnswer<Item: Encodable>: Encodable {
    var holderCode: String
    var device: String
    var items: [Item]
}

struct WalletUsage: Encodable {
    var licence: String
    var typeName: String
    /// The agency's name; nil for a verification by an anonymous window.
    var agency: String?
    var action: UsageRecord.Action
    var cause: String?
    var outcome: String
    var at: String
}

/// `/v1/wallet/…`: the holder's side. Every request but enrolment carries a DPoP proof signed by an
/// enrolled device's key; enrolment carries one signed by the key it enrols (proof of possession).
struct WalletController: Sendable {
    let registry: any Registry
    /// Wrong enrolment codes, per address: ten a minute.
    let wrongCodes: RateLimiter

    init(registry: any Registry, trustedProxies: Set<String>) {
        self.registry = registry
        wrongCodes = RateLimiter(perMinute: 10, trustedProxies: trustedProxies)
    }

    /// The DPoP proof of a request, checked: signature, method, URL, time, and a `jti` never seen.
    func proof(_ request: Request) async throws -> DPoPProof {
        guard let header = request.headers[HTTPField.Name("DPoP")!] else {
            throw Problem(.unauthorized, "missing-dpop", zh: "钱包请求须附带设备证明（DPoP 请求头）。",
                          en: "Wallet requests carry a device proof (the DPoP header).", headers: [.wwwAuthenticate: "DPoP algs=\"ES256\""])
        }
        let now = SystemClock().now
        do {
            let proof = try DPoPProof(jwt: header)
            try proof.check(request, now: now)
            let once = Array(SHA256.hash(data: Array("dpop:\(proof.deviceID):\(proof.jti)".utf8)))
            guard try await registry.useOnce(once, expires: proof.issuedAt + 120, now: now) else { throw DPoPProof.Failure.replayed }
            return proof
        } catch let failure as DPoPProof.Failure {
            throw failure.problem
        }
    }

    /// The enrolled, active device that signed the request's proof.
    func device(_ request: Request) async throws -> HolderDevice {
        let proof = try await proof(request)
        guard let device = try await registry.device(id: proof.deviceID), device.isActive, device.publicKey == proof.publicKey else {
            throw DPoPProof.Failure.unknownDevice.problem
        }
        return device
    }

    func enrol(_ request: Request, context: ServerContext) async throws -> Response {
        let proof = try await proof(request)
        let body = try await JSONBody.decode(EnrolRequest.self, from: request, limit: 4096)
        let client = wrongCodes.client(remoteAddress: context.remoteAddress, forwardedFor: request.forwardedFor)
        func refuse(_ problem: Problem) throws -> Never {
            if let wait = wrongCodes.take(client) {
                throw Problem(.tooManyRequests, "rate-limited", zh: "登记码输错次数过多，请 \(wait) 秒后再试。",
                              en: "Too many wrong enrolment codes; try again in \(wait) s.", headers: [.retryAfter: String(wait)])
            }
            throw problem
        }
        guard let code = InviteCode.normalize(body.code) else {
            try refuse(Problem(.badRequest, "enrolment-code-mistyped",
                               zh: "登记码格式不对：应为 20 位字母数字（每 4 位一组），请核对后重新输入。",
                               en: "The enrolment code is mistyped: it has 20 letters and digits in groups of four; check it and type it again."))
        }
        let device = HolderDevice(id: proof.deviceID, holderCode: "", publicKey: proof.publicKey,
                                  label: String((body.label ?? "").prefix(80)), enrolledAt: 0)
        switch try await registry.enrol(codeHash: InviteCode.hash(normalized: code), device: device, now: SystemClock().now) {
        case .enrolled(let enrolled):
            return try JSONBody.response(["device": enrolled.id, "holderCode": Self.masked(enrolled.holderCode)])
        case .unknownCode:
            try refuse(Problem(.notFound, "enrolment-code-unknown", zh: "没有这个登记码，请核对后重新输入，或向发证机关重新申请。",
                               en: "There is no such enrolment code; check it, or ask the issuing agency for a new one."))
        case .usedCode:
            try refuse(Problem(.conflict, "enrolment-code-used", zh: "该登记码已使用过，每个登记码只能使用一次，请向发证机关重新申请。",
                               en: "This enrolment code was used before; each code works once. Ask the issuing agency for a new one."))
        case .expiredCode:
            try refuse(Problem(.gone, "enrolment-code-expired", zh: "该登记码已过期，请向发证机关重新申请。",
                               en: "This enrolment code has expired; ask the issuing agency for a new one."))
        }
    }

    /// A holder code as the wallet shows it: an ID number masked (the phone's screen is seen at the window).
    /// A citizen ID number is read as one only when its check character holds (an all-digit credit
    /// code could pass for one otherwise only by chance, and is then masked too: the safe side).
    static func masked(_ holderCode: String) -> String {
        (try? HolderCode(holderCode, kind: .citizenID))?.disclosedForm ?? holderCode
    }

    func licences(_ request: Request, context: ServerContext) async throws -> Response {
        let device = try await device(request)
        let types = Dictionary(try await registry.types().map { ($0.code, $0) }, uniquingKeysWith: { a, _ in a })
        let today = CalendarDate(chinaDayOf: SystemClock().now)
        let items = try await registry.licences(LicenceFilter(holderCode: device.holderCode, limit: 1000))
            .filter { $0.status != .superseded }
            .map { stored in
                let licence = stored.licence
                let inPeriod = licence.validFrom <= today && (licence.validUntil.map { today <= $0 } ?? true)
                let qr = (try? QRCode(text: stored.token).svg(scale: 4)) ?? ""
                let code = licence.holder.code
                return WalletLicence(
                    id: stored.id.description, type: licence.typeCode, typeName: licence.typeName, number: code.masking(licence.number),
                    holderName: licence.holder.name, issuerName: licence.issuer.name, validFrom: licence.validFrom.description,
                    validUntil: licence.validUntil?.description, relatedMatter: licence.relatedMatter, status: stored.status,
                    valid: stored.status == .valid && inPeriod, fields: licence.fields.mapValues(code.masking),
                    disclosable: types[licence.typeCode]?.disclosed ?? [], token: stored.token, qr: qr,
                    presentationID: Data(LicenceIDHash.of(stored.id.description)).base64EncodedString())
            }
        return try JSONBody.response(WalletAnswer(holderCode: Self.masked(device.holderCode), device: device.id, items: items))
    }

    func usage(_ request: Request, context: ServerContext) async throws -> Response {
        let device = try await device(request)
        let records = try await registry.holderUsage(holderCode: device.holderCode, limit: 500).map { record in
            WalletUsage(licence: record.licence, typeName: record.typeName, agency: record.agency, action: record.action,
                        cause: record.cause, outcome: record.outcome, at: Timestamp.format(record.at))
        }
        return try JSONBody.response(WalletAnswer(holderCode: Self.masked(device.holderCode), device: device.id, items: records))
    }

    func removeDevice(_ request: Request, context: ServerContext) async throws -> Response {
        let device = try await device(request)
        _ = try await registry.revokeDevice(id: device.id, now: SystemClock().now)
        return try JSONBody.response(["device": device.id, "status": "removed"])
    }
}
