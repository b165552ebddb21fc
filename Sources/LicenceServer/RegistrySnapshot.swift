import LicenceStore
import Synchronization

/// A value read from the registry and kept until the registry's change counter moves: the active
/// agencies, the catalogue. Whatever another process commits is seen by the very next request; in
/// between, requests read memory. The registry is read without holding the lock.
final class RegistrySnapshot<Value: Sendable>: Sendable {
    private let statuses: StatusIndex
    private let read: @Sendable () async throws -> Value
    private let state = Mutex<(counter: Int64, value: Value?)>((.min, nil))

    /// - Parameters:
    ///   - statuses: whose feed gives the registry's change counter.
    ///   - read: reads the value from the registry.
    init(statuses: StatusIndex, read: @escaping @Sendable () async throws -> Value) {
        self.statuses = statuses
        self.read = read
    }

    /// The value as of now, and the change counter it is exact for.
    func current() async throws -> (value: Value, counter: Int64) {
        let counter = try await statuses.changeCounter()
        if let value = state.withLock({ $0.counter == counter ? $0.value : nil }) { return (value, counter) }
        let value = try await read()
        state.withLock { state in
            if state.counter <= counter { state = (counter, value) }
        }
        return (value, counter)
    }
}
