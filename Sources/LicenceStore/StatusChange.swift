import Foundation
import LicenceCore

/// The rules of a status change, the same whatever engine holds the registry.
enum StatusChange {
    /// The reason, trimmed, for a change to `status`; refused when no such change can be asked for.
    static func reason(_ reason: String, to status: LicenceStatus) throws(RegistryError) -> String {
        guard status != .superseded else {
            throw RegistryError(.invalid, "a licence is superseded only by issuing a new version of it")
        }
        let trimmed = reason.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { throw RegistryError(.invalid, "--reason must say why the status changes") }
        guard trimmed.count <= 1000 else { throw RegistryError(.invalid, "--reason is longer than 1000 characters") }
        return trimmed
    }

    /// Refuses a change the licence's current status does not allow: revocation is final, a
    /// superseded licence is changed through its newer version, and a change must change something.
    static func check(_ current: StoredLicence, to status: LicenceStatus) throws(RegistryError) {
        let id = current.id.description
        switch (current.status, status) {
        case (.revoked, _):
            throw RegistryError(.conflict, "licence \(id) is revoked; revocation is final")
        case (.superseded, _):
            throw RegistryError(.conflict, "licence \(id) is superseded by \(current.supersededBy ?? "a newer version"); change that one instead")
        case (.valid, .valid):
            throw RegistryError(.conflict, "licence \(id) is valid, not suspended; there is nothing to reinstate")
        case (.suspended, .suspended):
            throw RegistryError(.conflict, "licence \(id) is already suspended")
        default:
            break
        }
    }

    /// The answer when the licence to change is not in the registry.
    static func notFound(_ id: LicenceIdentifier) -> RegistryError {
        RegistryError(.notFound, "no licence \(id) in the registry")
    }
}
