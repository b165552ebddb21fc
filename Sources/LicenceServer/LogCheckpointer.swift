import Foundation
import LicenceCore
import LicenceCrypto
import LicenceLog
import LicenceStore
import Logging
import ServiceLifecycle
import Synchronization

/// The key that signs the log's checkpoints: an Ed25519 key of role `log`.
public struct LogSigningKey: Sendable {
    public var signer: any Signer
    /// Its 32-byte public key, which names it in signed notes.
    public var publicKey: [UInt8]

    public init(signer: any Signer, publicKey: [UInt8]) {
        self.signer = signer
        self.publicKey = publicKey
    }
}

/// Keeps the newest checkpoint of the registry's log, and — on a server that holds the log key —
/// signs a new one at most once a second while the tree grows. Checkpoints are kept in the registry,
/// so every server serves the same newest one, and signing one twice is harmless (Ed25519 is
/// deterministic: the same size gives the same note).
final class LogCheckpointer: Service, Sendable {
    private let registry: any Registry
    private let key: LogSigningKey?
    private let logger: Logger
    private struct State {
        var latest: StoredCheckpoint?
        var origin: String?
        var lastSigned: ContinuousClock.Instant?
    }
    private let state = Mutex(State())
    /// One look at the registry at a time.
    private let looking = Mutex<Task<Void, Never>?>(nil)

    init(registry: any Registry, key: LogSigningKey?, logger: Logger) {
        self.registry = registry
        self.key = key
        self.logger = logger
    }

    /// The newest checkpoint this server knows.
    var latest: StoredCheckpoint? { state.withLock { $0.latest } }

    /// The checkpoints' origin (and the key name of their signature): the log's URL without its
    /// scheme, `<public host>/v1/log`, fixed by the first checkpoint.
    var origin: String? { state.withLock { $0.origin } }

    func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            await update()
            try? await Task.sleep(for: .seconds(1))
        }
    }

    /// Reads the newest kept checkpoint and, with the log key, signs one for the tree as it is now if
    /// it grew (but not twice within a second).
    func update() async {
        let task = looking.withLock { task -> Task<Void, Never> in
            if let task { return task }
            let new = Task { await self.look() }
            task = new
            return new
        }
        await task.value
        looking.withLock { if $0 == task { $0 = nil } }
    }

    /// A checkpoint whose tree holds leaf `index`: the newest one, or a new one signed now.
    func checkpoint(covering index: Int64) async -> StoredCheckpoint? {
        if let latest, latest.size > index { return latest }
        if let last = state.withLock({ $0.lastSigned }) {
            let wait = last + .seconds(1) - ContinuousClock.now
            if wait > .zero { try? await Task.sleep(for: wait) }
        }
        await update()
        guard let latest, latest.size > index else { return nil }
        return latest
    }

    private func look() async {
        do {
            let stored = try await registry.latestCheckpoint()
            var origin = state.withLock { $0.origin }
            if origin == nil, let stored {
                origin = String(stored.note.prefix { $0 != "\n" })
            }
            if origin == nil, let url = try await registry.firstPublicURL() {
                origin = Self.origin(publicURL: url)
            }
            state.withLock { state in
                if let stored, stored.size >= state.latest?.size ?? -1 { state.latest = stored }
                state.origin = origin
            }
            guard let key, let origin else { return }
            let size = try await registry.logSize()
            guard size > (stored?.size ?? 0) else { return }
            let root = try await Merkle.rootHash(size: size, RegistryLogReader(registry))
            let checkpoint = Checkpoint(origin: origin, size: size, root: root)
            let note = try SignedNote.sign(checkpoint.text, key: SignedNote.Key(name: origin, publicKey: key.publicKey), signer: key.signer)
            let signed = StoredCheckpoint(size: size, root: root, note: note, signedAt: SystemClock().now)
            _ = try await registry.addCheckpoint(signed)
            state.withLock { state in
                if size > state.latest?.size ?? -1 { state.latest = signed }
                state.lastSigned = .now
            }
        } catch {
            logger.error("the transparency log's checkpoint cannot be made", metadata: ["error": "\(error)"])
        }
    }

    /// `https://licence.example.gov.cn/` → `licence.example.gov.cn/v1/log`.
    static func origin(publicURL: String) -> String {
        var url = publicURL
        for scheme in ["https://", "http://"] where url.hasPrefix(scheme) { url.removeFirst(scheme.count) }
        while url.hasSuffix("/") { url.removeLast() }
        return url + "/v1/log"
    }
}
