import Foundation
import TestSupport
import Testing

/// The README's walk-through of the command line, run as a reader would run it, so that it cannot
/// drift from the program.
///
/// Every ```` ```sh ```` block from the section "Using the `elicence` command" up to "Reliability"
/// runs in order, in one empty folder, with the built `elicence` first on `PATH` and `SAMPLES` naming
/// a copy of `Tools/samples`, as the README's setup block arranges. A block right after a line
/// `<!-- not run: REASON -->` is skipped, and must give a reason. The placeholders the README
/// documents are filled in: `KID` with the kid the first `keys generate` printed, `ID` with the
/// identifier the first single `issue` printed, and `'EL1:…'` with the token in `token.txt`. Every
/// command must exit 0, or the code its `# exits N` comment names.
struct ReadmeTests {
    static let readme = Paths.repositoryRoot + "/README.md"

    /// One ```sh block of the README.
    struct Block {
        var line: Int
        var text: String
        /// Why it is not run, when the README says so.
        var notRun: String?

        /// Its commands: lines joined where they end in `\`, blank lines and comment lines left out.
        var commands: [String] {
            var commands: [String] = []
            var current = ""
            for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
                let trimmed = line.trimmingCharacters(in: .whitespaces)
                if current.isEmpty && (trimmed.isEmpty || trimmed.hasPrefix("#")) { continue }
                if trimmed.hasSuffix("\\") {
                    current += trimmed.dropLast() + " "
                } else {
                    commands.append(current + trimmed)
                    current = ""
                }
            }
            if !current.isEmpty { commands.append(current) }
            return commands
        }
    }

    /// The ```sh blocks of the command-line sections, in order.
    static func walkThroughBlocks() throws -> [Block] {
        let lines = try String(contentsOfFile: readme, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
            .map(String.init)
        guard let start = lines.firstIndex(of: "## Using the `elicence` command"),
              let end = lines[start...].firstIndex(of: "## Reliability") else {
            throw ReadmeError(message: "README.md has no section \"Using the `elicence` command\" followed by \"Reliability\"")
        }
        var blocks: [Block] = []
        var index = start
        while index < end {
            guard lines[index] == "```sh" else {
                index += 1
                continue
            }
            let previous = lines[start..<index].last { !$0.trimmingCharacters(in: .whitespaces).isEmpty } ?? ""
            var notRun: String?
            if let range = previous.range(of: #"^<!-- not run: (.*) -->$"#, options: .regularExpression), !range.isEmpty {
                notRun = String(previous.dropFirst("<!-- not run: ".count).dropLast(" -->".count))
            }
            guard let close = lines[(index + 1)...].firstIndex(of: "```") else {
                throw ReadmeError(message: "README.md line \(index + 1): a ```sh block is never closed")
            }
            blocks.append(Block(line: index + 1, text: lines[(index + 1)..<close].joined(separator: "\n"), notRun: notRun))
            index = close + 1
        }
        return blocks
    }

    struct ReadmeError: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }

    @Test func blocksThatAreNotRunSayWhy() throws {
        let blocks = try Self.walkThroughBlocks()
        #expect(blocks.filter { $0.notRun == nil }.count >= 10, "the walk-through runs most of the README's examples")
        for block in blocks {
            if let reason = block.notRun { #expect(reason.count >= 10, "README.md line \(block.line): say why the block is not run") }
        }
    }

    @Test func theCommandLineWalkThroughRunsInAnEmptyFolder() throws {
        let folder = TemporaryDirectory("elicence-readme")
        let work = folder.file("work")
        let bin = folder.file("bin")
        let samples = folder.file("samples")
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: bin + "/elicence", withDestinationPath: Paths.elicence)
        // A copy, so that the report a batch writes beside its file stays out of the repository.
        try FileManager.default.copyItem(atPath: Paths.repositoryRoot + "/Tools/samples", toPath: samples)
        let environment = [
            "PATH": bin + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"),
            "SAMPLES": samples,
            "ELICENCE_PUBLIC_URL": "",
        ]

        var kid: String?
        var id: String?
        var ran = 0
        for block in try Self.walkThroughBlocks() where block.notRun == nil {
            for command in block.commands {
                var filled = command
                if filled.range(of: #"\bKID\b"#, options: .regularExpression) != nil {
                    let value = try #require(kid, "README.md line \(block.line): KID is used before a key was made")
                    filled = filled.replacingOccurrences(of: #"\bKID\b"#, with: value, options: .regularExpression)
                }
                if filled.range(of: #"\bID\b"#, options: .regularExpression) != nil {
                    let value = try #require(id, "README.md line \(block.line): ID is used before a licence was issued")
                    filled = filled.replacingOccurrences(of: #"\bID\b"#, with: value, options: .regularExpression)
                }
                if filled.contains("EL1:…") {
                    let token = try String(contentsOfFile: work + "/token.txt", encoding: .utf8)
                        .trimmingCharacters(in: .whitespacesAndNewlines)
                    filled = filled.replacingOccurrences(of: "EL1:…", with: token)
                }
                var expected: Int32 = 0
                if let range = command.range(of: #"# exits [0-9]"#, options: .regularExpression) {
                    expected = Int32(String(command[range].last!))!
                }
                let result = try run("/bin/bash", ["-c", filled], environment: environment, currentDirectory: work)
                ran += 1
                guard result.status == expected else {
                    Issue.record("""
                        README.md line \(block.line): `\(command)` exited \(result.status), expected \(expected)
                        block:
                        \(block.text)
                        \(result)
                        """)
                    return
                }
                if kid == nil, command.hasPrefix("elicence keys generate"),
                   let match = result.stdout.range(of: #"key [0-9a-f]{16} for"#, options: .regularExpression) {
                    kid = String(result.stdout[match].dropFirst(4).prefix(16))
                }
                if id == nil, command.hasPrefix("elicence issue "), !command.contains("--batch") {
                    id = result.stdout.split(separator: "\n").first { $0.hasPrefix("1.2.156.3005.2.") }.map(String.init)
                }
            }
        }
        #expect(ran >= 25, "the walk-through ran \(ran) commands")
        #expect(kid != nil && id != nil)
    }

    /// The licence JSON the README shows is the sample file the walk-through signs.
    @Test func theLicenceJSONShownIsTheSample() throws {
        let text = try String(contentsOfFile: Self.readme, encoding: .utf8)
        let sample = try String(contentsOfFile: Paths.repositoryRoot + "/Tools/samples/business-licence.json", encoding: .utf8)
        #expect(text.contains("```json\n" + sample.trimmingCharacters(in: .newlines) + "\n```"))
    }
}
