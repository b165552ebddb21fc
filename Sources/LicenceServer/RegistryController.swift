import Hummingbird
import LicenceCore
import LicenceCrypto
import LicenceStore

/// A licence as an agency may see it: always whether it is valid; the details only where the type's
/// sharing level and the agency's grants allow.
struct LicenceRead: Encodable {
    var id: String
    var type: String
    var typeName: String
    var status: LicenceStatus
    var valid: Bool
    var sharing: LicenceType.Sharing
    var detailsShared: Bool
    var licence: LicenceJSON?

    /// The members, keys sorted, as `JSONEncoder` would write them (without its cost, on the path
    /// of every registry read).
    func write(to writer: inout JSONWriter) {
        writer.key("detailsShared"); writer.bool(detailsShared)
        writer.key("id"); writer.string(id)
        if let licence {
            writer.key("licence")
            writer.objectValue { licence.write(to: &$0) }
        }
        writer.key("sharing"); writer.string(sharing.rawValue)
        writer.key("status"); writer.string(status.rawValue)
        writer.key("type"); writer.string(type)
        writer.key("typeName"); writer.string(typeName)
        writer.key("valid"); writer.bool(valid)
    }

    var json: [UInt8] {
        var writer = JSONWriter(capacity: 2048)
        writer.objectValue { write(to: &$0) }
        return writer.bytes
    }
}

struct HolderLookupAnswer: Encodable {
    var holderCode: String
    /// The licences whose details this agency may read.
    var licences: [LicenceRead]
    /// How many other licences the holder has that are not shared with this agency.
    var withheld: Int
    /// More licences exist than one answer lists.
    var truncated: Bool

    var json: [UInt8] {
        var writer = JSONWriter(capacity: 256 + licences.count * 2048)
        writer.objectValue { w in
            w.key("holderCode"); w.string(holderCode)
            w.key("licences")
            w.arrayValue { a in for read in licences { a.objectValue { read.write(to: &$0) } } }
            w.key("truncated"); w.bool(truncated)
            w.key("withheld"); w.int(Int64(withheld))
        }
        return writer.bytes
    }
}

struct UsageAnswer: Encodable {
    var licence: String
    var records: [UsageRecord]
}

/// `GET /v1/licences/{id}`, `POST /v1/holders/licences`, `GET /v1/licences/{id}/usage`.
struct RegistryController: Sendable {
    static let maxHolderLicences = 1000
    let registry: any Registry
    let recorder: UsageRecorder
    let trust: TrustSource
    /// The catalogue by type code, read again only after a commit.
    let catalogue: RegistrySnapshot<[String: LicenceType]>

    init(registry: any Registry, recorder: UsageRecorder, trust: TrustSource, statuses: StatusIndex) {
        self.registry = registry
        self.recorder = recorder
        self.trust = trust
        catalogue = RegistrySnapshot(statuses: statuses) {
            Dictionary(try await registry.types().map { ($0.code, $0) }, uniquingKeysWith: { a, _ in a })
        }
    }

    private func viewer(_ agency: Agency, now: Int64) async throws -> Viewer {
        Viewer(types: try await catalogue.current().value, trust: await trust.current().list, agency: agency,
               today: CalendarDate(chinaDayOf: now))
    }

    /// The `{id}` of the path, parsed: a malformed identifier or a wrong check character is bad input.
    static func identifier(_ context: ServerContext) throws -> LicenceIdentifier {
        let text = try context.parameters.require("id")
        do { return try LicenceIdentifier(parsing: text) } catch {
            throw Problem.invalidParameter("id", error)
        }
    }

    func licence(_ request: Request, context: ServerContext) async throws -> Response {
        guard let agency = context.agency else { throw Problem.unauthenticated }
        let id = try Self.identifier(context)
        let now = SystemClock().now
        guard let stored = try await registry.licence(id: id) else {
            recorder.record(UsageRecord(agency: agency.code, licence: id.description, action: .read, cause: request.useCause,
                                        outcome: "not_found", at: now))
            throw Problem.licenceNotFound(id)
        }
        let read = try await viewer(agency, now: now).view(stored)
        recorder.record(UsageRecord(agency: agency.code, licence: id.description, action: .read, cause: request.useCause,
                                    outcome: read.detailsShared ? "details" : "status_only", at: now))
        return JSONBody.response(bytes: read.json)
    }

    func holder(_ request: Request, context: ServerContext) async throws -> Response {
        guard let agency = context.agency else { throw Problem.unauthenticated }
        let body = try await JSONBody.decode(HolderLookupRequest.self, from: request, limit: 4096)
        let code: HolderCode
        do { code = try HolderCode.lookup(body.holderCode.trimmingWhitespace(), allowBadChecksum: body.allowBadChecksum ?? false) } catch {
            throw Problem.invalidField("holderCode", error)
        }
        let now = SystemClock().now
        let found = try await registry.licences(LicenceFilter(holderCode: code.value, limit: Self.maxHolderLicences + 1))
        let viewer = try await viewer(agency, now: now)
        let reads = found.prefix(Self.maxHolderLicences).map { viewer.view($0) }
        // Only licences shared with this agency are listed: a holder number must not reveal, say, a
        // citizen's unshared licences; the rest are only counted.
        let shared = reads.filter(\.detailsShared)
        var records = shared.map {
            UsageRecord(agency: agency.code, licence: $0.id, action: .holderLookup, cause: request.useCause, outcome: "details", at: now)
        }
        if records.isEmpty {
            records.append(UsageRecord(agency: agency.code, licence: nil, action: .holderLookup, cause: request.useCause,
                                       outcome: reads.isEmpty ? "none_found" : "none_shared", at: now))
        }
        recorder.record(records)
        return JSONBody.response(bytes: HolderLookupAnswer(holderCode: code.value, licences: shared, withheld: reads.count - shared.count,
                                                           truncated: found.count > Self.maxHolderLicences).json)
    }

    func usage(_ request: Request, context: ServerContext) async throws -> Response {
        guard let agency = context.agency else { throw Problem.unauthenticated }
        let id = try Self.identifier(context)
        guard let stored = try await registry.licence(id: id) else { throw Problem.licenceNotFound(id) }
        let viewer = try await viewer(agency, now: SystemClock().now)
        guard viewer.view(stored).detailsShared else {
            throw Problem(.forbidden, "not-shared", zh: "本部门无权查看该证照的用证记录。",
                          en: "This agency may not read this licence's usage records.")
        }
        // Records still waiting for the twice-a-second write are included, newest first.
        let text = id.description
        let records = recorder.pendingRecords(licence: text).reversed()
            + (try await registry.usage(licenceID: text, agencyCode: nil, limit: 1000))
        recorder.record(UsageRecord(agency: agency.code, licence: text, action: .usageRead, cause: request.useCause,
                                    outcome: "details", at: SystemClock().now))
        return try JSONBody.response(UsageAnswer(licence: text, records: Array(records.prefix(1000))))
    }
}

/// What one agency may see of licences, at one moment: the catalogue and the trust list are read
/// once, however many licences an answer holds.
struct Viewer {
    let types: [String: LicenceType]
    let trust: TrustList
    let agency: Agency
    let today: CalendarDate

    func view(_ stored: StoredLicence) -> LicenceRead {
        let sharing = types[stored.licence.typeCode]?.sharing ?? LicenceType.Sharing.none
        let shared: Bool
        switch sharing {
        case .unconditional: shared = true
        case .conditional: shared = agency.grants.contains(stored.licence.typeCode)
        case .none: shared = false
        }
        let inPeriod = stored.licence.validFrom <= today && (stored.licence.validUntil.map { today <= $0 } ?? true)
        // A licence whose key is compromised, or no longer in the trust list, is not valid.
        let keyTrusted = trust.keys(kid: Hex.decode(stored.kid) ?? []).contains { $0.state != .compromised }
        return LicenceRead(id: stored.id.description, type: stored.licence.typeCode, typeName: stored.licence.typeName,
                           status: stored.status, valid: stored.status == .valid && inPeriod && keyTrusted, sharing: sharing,
                           detailsShared: shared, licence: shared ? LicenceJSON(stored) : nil)
    }
}
