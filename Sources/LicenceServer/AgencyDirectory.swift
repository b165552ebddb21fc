import LicenceStore

/// The active agencies in memory, reloaded whenever the registry's change counter moves, so that a
/// revocation made with the command line refuses the very next request.
struct AgencyDirectory: Sendable {
    private let snapshot: RegistrySnapshot<[[UInt8]: Agency]>

    /// - Parameter statuses: whose feed gives the registry's change counter.
    init(registry: any AgencyRegistry, statuses: StatusIndex) {
        snapshot = RegistrySnapshot(statuses: statuses) {
            Dictionary(try await registry.activeAgencies().map { ($0.keyHash, $0.agency) }, uniquingKeysWith: { a, _ in a })
        }
    }

    /// The active agency with this code.
    func agency(code: String) async throws -> Agency? {
        try await snapshot.current().value.values.first { $0.code == code }
    }

    /// The active agency with this key hash, and the registry's change counter it was read at.
    func agency(keyHash: [UInt8]) async throws -> (Agency?, counter: Int64) {
        let (byKey, counter) = try await snapshot.current()
        return (byKey[keyHash], counter)
    }
}
