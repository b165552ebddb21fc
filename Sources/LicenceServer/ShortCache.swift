import Synchronization

/// Values kept for a few seconds, keyed; bounded by the number of keys callers use.
final class ShortCache<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private let lifetime: Int64
    private let entries = Mutex<[Key: (made: Int64, value: Value)]>([:])

    init(lifetime: Int64) {
        self.lifetime = lifetime
    }

    func value(for key: Key, now: Int64, make: () async throws -> Value) async throws -> Value {
        if let entry = entries.withLock({ $0[key] }), now - entry.made < lifetime { return entry.value }
        let value = try await make()
        entries.withLock { entries in
            if entries.count > 10_000 { entries.removeAll() }
            entries[key] = (now, value)
        }
        return value
    }
}
