import Foundation
import TestSupport
import Testing

/// The libraries behind the server never hold a thread of Swift's cooperative pool or of an event
/// loop while they wait: no future `.wait()`, no semaphore, no sleeping thread, no synchronous
/// database access. (Work that must block runs on NIO's thread pool, through `Blocking.run`.)
struct NoBlockingTests {
    static let patterns: [(String, String)] = [
        (#"\.wait\(\)"#, "a future's or a semaphore's wait()"),
        (#"DispatchSemaphore"#, "a semaphore"),
        (#"Thread\.sleep|usleep\(|(?<![.\w])sleep\("#, "a sleeping thread"),
        (#"(?<!await )\bpool\.(read|write)\s*\{"#, "a synchronous GRDB access"),
        (#"\.sync\s*\{"#, "a synchronous dispatch"),
    ]

    @Test(arguments: ["LicenceStore", "LicenceServer", "LicenceCore", "LicenceCrypto"])
    func noBlockingWaits(_ target: String) throws {
        let directory = Paths.repositoryRoot + "/Sources/" + target
        let files = try FileManager.default.subpathsOfDirectory(atPath: directory).filter { $0.hasSuffix(".swift") }
        #expect(!files.isEmpty)
        for file in files {
            let lines = try String(contentsOfFile: directory + "/" + file, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
            for (number, line) in lines.enumerated() where !line.trimmingCharacters(in: .whitespaces).hasPrefix("//") {
                for (pattern, what) in Self.patterns where line.range(of: pattern, options: .regularExpression) != nil {
                    Issue.record("\(target)/\(file):\(number + 1) has \(what): \(line.trimmingCharacters(in: .whitespaces))")
                }
            }
        }
    }
}
