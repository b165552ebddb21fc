import Foundation
import Logging
import NIOCore
import PostgresNIO
import Synchronization

/// A connection of its own that `LISTEN`s on `elicence_changes` and counts what it hears. When the
/// connection breaks it is made again (after 50 ms, then up to 1 s apart). It runs as part of the
/// registry's `run()`; nothing here holds a thread while it waits.
final class PostgresChangeListener: Sendable {
    private struct State {
        var listening = false
        /// Connections made so far, and failed attempts since the last success.
        var connections = 0
        var failures = 0
        var lastError: RegistryError?
    }

    private let database: PostgresDatabase
    private let state = Mutex(State())
    private let heard = Atomic<Int64>(0)
    private let wanted = AsyncStream.makeStream(of: Void.self)

    init(database: PostgresDatabase) {
        self.database = database
    }

    /// How often the `LISTEN` connection has been (re)established; for tests and logs.
    var connections: Int { state.withLock { $0.connections } }

    /// Moves with every notification and reconnection; while not listening, with every call.
    func counter() -> Int64 {
        let listening = state.withLock { $0.listening }
        if listening { return heard.load(ordering: .sequentiallyConsistent) }
        return heard.add(1, ordering: .sequentiallyConsistent).newValue
    }

    /// Returns once the connection listens; throws the reason when the first attempts after this
    /// call fail (an unreachable database is reported before a server starts answering).
    func ready() async throws(RegistryError) {
        let start = state.withLock { $0.failures }
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline {
            let (listening, failures, error) = state.withLock { ($0.listening, $0.failures, $0.lastError) }
            if listening { return }
            if failures > start, let error { throw error }
            do { try await Task.sleep(for: .milliseconds(10)) } catch { throw RegistryError(.storage, "cancelled") }
        }
        throw RegistryError(.storage, "PostgreSQL \(database.location): the LISTEN connection was not made within 20 s")
    }

    /// Asks ``run()`` to start listening (only servers need to: a command never does).
    func start() {
        wanted.continuation.yield()
    }

    /// Once ``start()`` was called, listens until cancelled, reconnecting after each break.
    func run() async {
        for await _ in wanted.stream { break }
        var delay = Duration.milliseconds(50)
        while !Task.isCancelled {
            do {
                try await listenOnce()
                delay = .milliseconds(50)
                if !Task.isCancelled {
                    database.logger.warning("the LISTEN connection was lost; reconnecting",
                                            metadata: ["database": "\(database.location)"])
                }
            } catch {
                state.withLock { state in
                    state.failures += 1
                    state.lastError = error
                }
                database.logger.warning("LISTEN connection failed", metadata: ["error": "\(error)"])
                delay = min(delay * 2, .seconds(1))
            }
            do { try await Task.sleep(for: delay) } catch { break }
        }
    }

    /// One connection: listens, counts, and returns when it closes (or the task is cancelled).
    private func listenOnce() async throws(RegistryError) {
        let connection = try await database.connect(applicationName: "elicence-listen")
        do {
            try await withTaskCancellationHandler {
                try await connection.listen(on: PostgresRegistry.channel) { notifications in
                    // `LISTEN` has succeeded: anything committed while no connection listened is read
                    // at the next answer.
                    state.withLock { state in
                        state.listening = true
                        state.connections += 1
                        state.failures = 0
                        state.lastError = nil
                    }
                    heard.add(1, ordering: .sequentiallyConsistent)
                    for try await _ in notifications { heard.add(1, ordering: .sequentiallyConsistent) }
                }
            } onCancel: {
                let _: EventLoopFuture<Void> = connection.close()
            }
        } catch {
            state.withLock { $0.listening = false }
            // A connection is closed before it is released (postgres-nio asserts it).
            try? await connection.close()
            // A connection that listened and then broke is a reconnection, not a failure to report.
            if state.withLock({ $0.connections }) > 0, !(error is RegistryError) { return }
            throw PostgresDatabase.registryError(error, location: database.location)
        }
        state.withLock { $0.listening = false }
        try? await connection.close()
    }
}
