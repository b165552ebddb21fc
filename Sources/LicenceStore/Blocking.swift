import NIOPosix

/// Work that holds its thread while it waits (opening a SQLite file, a pragma on a connection of our
/// own) runs on NIO's thread pool, never on a thread of Swift's cooperative pool or an event loop.
enum Blocking {
    static func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await NIOThreadPool.singleton.runIfActive(work)
    }
}
