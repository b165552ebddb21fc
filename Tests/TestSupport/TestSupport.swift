import Foundation
import Synchronization

/// A directory of its own for one test, removed when the value is released.
public final class TemporaryDirectory: Sendable {
    public let path: String

    public init(_ label: String = "elicence") {
        var template = Array((NSTemporaryDirectory() + "/\(label)-XXXXXX").utf8CString)
        let created = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(created != nil, "mkdtemp failed")
        path = String(cString: template.map { $0 })
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    public func file(_ name: String) -> String { path + "/" + name }

    @discardableResult
    public func write(_ name: String, _ text: String, mode: Int = 0o644) throws -> String {
        let target = file(name)
        try FileManager.default.createDirectory(atPath: (target as NSString).deletingLastPathComponent,
                                                withIntermediateDirectories: true)
        try Data(text.utf8).write(to: URL(fileURLWithPath: target))
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: target)
        return target
    }

    public func write(_ name: String, bytes: [UInt8]) throws -> String {
        let target = file(name)
        try Data(bytes).write(to: URL(fileURLWithPath: target))
        return target
    }

    public func read(_ name: String) throws -> String {
        try String(contentsOfFile: file(name), encoding: .utf8)
    }
}

/// What a finished child process left.
public struct ProcessResult: Sendable, CustomStringConvertible {
    public var status: Int32
    public var stdout: String
    public var stderr: String
    public var description: String { "exit \(status)\nstdout: \(stdout)\nstderr: \(stderr)" }
}

public enum Paths {
    /// The package root, found from this file's location.
    public static let repositoryRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    /// The build directory the tests run from (it also holds the `elicence` executable).
    public static let buildDirectory: String = {
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var url = URL(fileURLWithPath: executable).deletingLastPathComponent()
        // On Linux the test runner is .build/<config>/<Package>PackageTests.xctest
        if url.lastPathComponent.hasSuffix(".xctest") { url.deleteLastPathComponent() }
        return url.path
    }()

    public static var elicence: String {
        if let override = ProcessInfo.processInfo.environment["ELICENCE_BIN"] { return override }
        return buildDirectory + "/elicence"
    }

    /// The test-only key store committed under Keys/test.
    public static let testKeys = repositoryRoot + "/Keys/test"
}

/// Runs a program to completion, feeding `stdin`, and collects its output. Bounded by `timeout`.
public func run(_ executable: String, _ arguments: [String], stdin: String? = nil, environment: [String: String] = [:],
                currentDirectory: String? = nil, timeout: TimeInterval = 120) throws -> ProcessResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable.hasPrefix("/") ? executable : "/usr/bin/env")
    process.arguments = executable.hasPrefix("/") ? arguments : [executable] + arguments
    var env = ProcessInfo.processInfo.environment
    env.removeValue(forKey: "ELICENCE_KEY_PASSPHRASE")
    env.removeValue(forKey: "ELICENCE_DATABASE_PASSWORD")
    for (key, value) in environment { env[key] = value }
    process.environment = env
    if let currentDirectory { process.currentDirectoryURL = URL(fileURLWithPath: currentDirectory) }
    let out = Pipe(), err = Pipe(), input = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = input
    try process.run()
    if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
    try input.fileHandleForWriting.close()
    // Read both pipes while the child runs so neither can fill and block it.
    let collected = OutputCollector()
    let group = DispatchGroup()
    for (index, pipe) in [out, err].enumerated() {
        group.enter()
        DispatchQueue.global().async {
            let data = pipe.fileHandleForReading.readDataToEndOfFile()
            collected.set(index, data)
            group.leave()
        }
    }
    if group.wait(timeout: .now() + timeout) == .timedOut {
        process.terminate()
        throw ProcessTimeout(command: ([executable] + arguments).joined(separator: " "))
    }
    process.waitUntilExit()
    return ProcessResult(status: process.terminationStatus, stdout: collected.text(0), stderr: collected.text(1))
}

public struct ProcessTimeout: Error, CustomStringConvertible {
    public var command: String
    public var description: String { "timed out: \(command)" }
}

/// Output of a child process gathered from two reader threads.
private final class OutputCollector: Sendable {
    private let data = Mutex<[Data]>([Data(), Data()])

    func set(_ index: Int, _ value: Data) { data.withLock { $0[index] = value } }

    func text(_ index: Int) -> String { data.withLock { String(decoding: $0[index], as: UTF8.self) } }
}

/// Waits until `condition` holds, looking every 10 ms, for at most `seconds`; returns whether it held.
public func eventually(within seconds: Double, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    repeat {
        if try condition() { return true }
        Thread.sleep(forTimeInterval: 0.01)
    } while Date() < deadline
    return try condition()
}

/// Whether `condition` becomes true within `seconds`, asked every 10 ms without holding a thread.
public func eventually(within seconds: Double, _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
    repeat {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(10))
    } while ContinuousClock.now < deadline
    return try await condition()
}
