import CSV
import Foundation
import LicenceCore
import LicenceCrypto
import LicenceStore

/// One line of a batch file: its number, and the licence JSON read from it or why it could not be read.
struct BatchLine: Sendable {
    var line: Int
    var document: Result<LicenceDocument, LicenceCoreError>
}

/// Reads JSONL and CSV batch files into licence JSON, a transaction's lines at a time: memory holds one
/// chunk of the file, whatever its size. A first pass counts the lines and checks that the file is
/// UTF-8 text, so that a file that is not is refused before anything is issued.
enum BatchReader {
    static let maxLineLength = 64 << 10
    static let fixedColumns = ["type", "number", "holderName", "holderCode", "holderCodeType", "validFrom", "validUntil",
                               "relatedMatter"]

    static func open(path: String, format: IssueCommand.BatchFormat?) throws -> BatchStream {
        // Read twice (counted, then issued), so a file: not a pipe or a device, which could also never end.
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw CLIError.badInput("--batch: cannot read \(path): \(String(cString: strerror(errno)))")
        }
        guard info.st_mode & S_IFMT == S_IFREG else {
            throw CLIError.badInput("--batch: \(path) is not a regular file; give the path of a JSONL or CSV file")
        }
        var lines = try LineReader(path: path)
        var count = 0
        while let line = try lines.next() {
            guard line.overlong || String(validating: line.bytes, as: UTF8.self) != nil else {
                throw CLIError.badInput("--batch: \(path) is not UTF-8 text (line \(line.number)); save it as UTF-8 "
                    + "(CSV UTF-8 in a spreadsheet)")
            }
            if !line.isBlank { count += 1 }
        }
        if isCSV(path: path, format: format) {
            guard let stream = InputStream(fileAtPath: path) else { throw CLIError.badInput("--batch: cannot read \(path)") }
            return try BatchStream(csv: stream, path: path, total: max(count - 1, 0))
        }
        return BatchStream(jsonl: try LineReader(path: path), total: count)
    }

    /// Whether a batch file is read as CSV: `--format`, else its extension.
    static func isCSV(path: String, format: IssueCommand.BatchFormat?) -> Bool {
        (format ?? (path.lowercased().hasSuffix(".csv") ? .csv : .jsonl)) == .csv
    }

    /// Decodes JSON lines; decoding is the costly part of reading, and every line is independent.
    static func jsonLines(_ numbered: [LineReader.Line]) -> [BatchLine] {
        numbered.concurrentMap { entry in
            guard !entry.overlong, entry.bytes.count <= maxLineLength else {
                return BatchLine(line: entry.number, document: .failure(LicenceCoreError(.invalidField,
                    "the line is longer than \(maxLineLength) bytes")))
            }
            do {
                let document = try JSONDecoder().decode(LicenceDocument.self, from: Data(entry.bytes))
                return BatchLine(line: entry.number, document: .success(document))
            } catch {
                return BatchLine(line: entry.number, document: .failure(LicenceCoreError(.invalidField, JSONErrors.describe(error))))
            }
        }
    }

    /// The columns of a CSV batch file's header row, checked.
    static func csvColumns(_ reader: CSVReader, path: String) throws -> [String] {
        guard let header = reader.headerRow else { throw CLIError.badInput("--batch: \(path) is empty; expected a header row") }
        let columns = header.map { $0.trimmingCharacters(in: .whitespaces) }
        for required in ["type", "number", "holderName", "holderCode", "validFrom"] where !columns.contains(required) {
            throw CLIError.badInput("--batch: \(path) line 1: the header has no column \"\(required)\"; expected "
                + fixedColumns.joined(separator: ",") + " and field:NAME columns")
        }
        for column in columns where !fixedColumns.contains(column) && !column.hasPrefix("field:") {
            throw CLIError.badInput("--batch: \(path) line 1: unknown column \"\(column)\"; extension fields are named field:NAME")
        }
        return columns
    }

    /// One CSV row as licence JSON, or nil for a blank row.
    static func csvLine(_ row: [String], columns: [String], lineNumber: Int) -> BatchLine? {
        if row.count == 1 && row[0].trimmingCharacters(in: .whitespaces).isEmpty { return nil }
        guard row.count == columns.count else {
            return BatchLine(line: lineNumber, document: .failure(LicenceCoreError(.invalidField,
                "has \(row.count) columns; the header has \(columns.count)")))
        }
        var values: [String: String] = [:]
        var fields: [String: String] = [:]
        for (column, value) in zip(columns, row) {
            if column.hasPrefix("field:") {
                if !value.isEmpty { fields[String(column.dropFirst(6))] = value }
            } else {
                values[column] = value
            }
        }
        func value(_ name: String) -> String? { values[name].flatMap { $0.isEmpty ? nil : $0 } }
        let validUntil: LicenceDocument.ValidUntil
        switch value("validUntil") {
        case nil: validUntil = .absent
        case "null"?, "长期"?, "open-ended"?: validUntil = .openEnded
        case let date?: validUntil = .date(date)
        }
        let document = LicenceDocument(
            type: value("type"), number: value("number"),
            holder: .init(name: value("holderName"), code: value("holderCode"), codeType: value("holderCodeType")),
            validFrom: value("validFrom"), validUntil: validUntil, relatedMatter: value("relatedMatter"), fields: fields)
        return BatchLine(line: lineNumber, document: .success(document))
    }

    /// The CSV column of a licence-JSON path, for messages about CSV lines.
    static func csvColumn(_ path: String) -> String {
        switch path {
        case "holder.name": return "holderName"
        case "holder.code": return "holderCode"
        case "holder.codeType": return "holderCodeType"
        default: return path.hasPrefix("fields.") ? "field:" + path.dropFirst(7) : path
        }
    }
}

/// The lines of a batch file, read a chunk at a time. One task at a time reads it (each chunk is asked
/// for after the previous one came back), which is what makes it safe to hand from task to task.
final class BatchStream: @unchecked Sendable {
    /// Lines that are not blank (CSV: rows after the header), counted before issuing, for progress.
    let total: Int
    private var jsonl: LineReader?
    private var csv: (reader: CSVReader, columns: [String])?
    private var csvLineNumber = 1

    init(jsonl: LineReader, total: Int) {
        self.jsonl = jsonl
        self.total = total
    }

    init(csv stream: InputStream, path: String, total: Int) throws {
        let reader: CSVReader
        do { reader = try CSVReader(stream: stream, hasHeaderRow: true) } catch {
            throw CLIError.badInput("--batch: \(path) is not readable CSV: \(error)")
        }
        csv = (reader, try BatchReader.csvColumns(reader, path: path))
        self.total = total
    }

    /// Up to `count` more lines, decoded; empty at the end of the file.
    func next(_ count: Int) throws -> [BatchLine] {
        if jsonl != nil {
            var numbered: [LineReader.Line] = []
            while numbered.count < count, let line = try jsonl!.next() {
                if !line.isBlank { numbered.append(line) }
            }
            return BatchReader.jsonLines(numbered)
        }
        guard let (reader, columns) = csv else { return [] }
        var lines: [BatchLine] = []
        while lines.count < count, let row = reader.next() {
            csvLineNumber += 1
            if let line = BatchReader.csvLine(row, columns: columns, lineNumber: csvLineNumber) { lines.append(line) }
        }
        return lines
    }
}

/// The lines of a file, read in blocks of 1 MiB: each without its line break (LF or CRLF), numbered
/// from 1. A line longer than ``BatchReader/maxLineLength`` is not kept: it comes back empty and
/// marked overlong, so that one broken line cannot fill memory.
struct LineReader {
    struct Line: Sendable {
        var number: Int
        var bytes: [UInt8]
        var overlong = false

        /// Nothing but spaces and tabs: not a licence, and not counted.
        var isBlank: Bool { !overlong && !bytes.contains(where: { $0 != 0x20 && $0 != 0x09 }) }
    }

    private let file: FileHandle
    private let path: String
    private var buffer: [UInt8] = []
    private var start = 0
    private var number = 0
    private var atEnd = false
    private var first = true

    init(path: String) throws(CLIError) {
        guard let file = FileHandle(forReadingAtPath: path) else {
            throw CLIError.badInput("--batch: cannot read \(path): \(String(cString: strerror(errno)))")
        }
        self.file = file
        self.path = path
    }

    mutating func next() throws(CLIError) -> Line? {
        var overlong = false
        while true {
            if let end = buffer[start...].firstIndex(of: 0x0a) {
                defer { start = end + 1 }
                return line(upTo: end, overlong: overlong)
            }
            if atEnd {
                guard start < buffer.count || overlong else { return nil }
                defer { start = buffer.count }
                return line(upTo: buffer.count, overlong: overlong)
            }
            // Keep what is left of the current line, drop the rest, and read the next block.
            buffer.removeSubrange(0..<start)
            start = 0
            if buffer.count > BatchReader.maxLineLength {
                overlong = true
                buffer.removeAll(keepingCapacity: true)
            }
            let block: Data?
            do { block = try file.read(upToCount: 1 << 20) } catch {
                throw CLIError.badInput("--batch: cannot read \(path): \(error.localizedDescription)")
            }
            guard let block, !block.isEmpty else {
                atEnd = true
                continue
            }
            buffer.append(contentsOf: block)
            if first {
                first = false
                if buffer.starts(with: [0xef, 0xbb, 0xbf]) { buffer.removeFirst(3) }  // a UTF-8 byte-order mark from spreadsheets
            }
        }
    }

    /// The next line, from `start` to `end` (a line break or the end of the file), without a CR before it.
    private mutating func line(upTo end: Int, overlong: Bool) -> Line {
        number += 1
        var bytes = Array(buffer[start..<end])
        if bytes.last == 0x0d { bytes.removeLast() }
        if overlong || bytes.count > BatchReader.maxLineLength { return Line(number: number, bytes: [], overlong: true) }
        return Line(number: number, bytes: bytes)
    }
}

/// `issue --batch`: validates every line, issues the good ones in transactions of `batchSize`,
/// and reports the bad ones by line.
struct BatchIssuance {
    let issuance: Issuance
    let path: String
    let format: IssueCommand.BatchFormat?
    let batchSize: Int
    let reportPath: String
    var progress: IssueCommand.ProgressMode = .auto
    /// `--invite`: the enrolment codes of the run's holders, and where they are written.
    var invitations: Invitations?
    var invitesPath: String?

    /// One line of the report: an error (the line was not issued) or a warning (it was).
    struct LineError: Encodable {
        var line: Int
        var field: String?
        var error: String?
        var warning: String?

        init(line: Int, field: String?, error: String) {
            (self.line, self.field, self.error, warning) = (line, field, error, nil)
        }

        init(line: Int, field: String?, warning: String) {
            (self.line, self.field, error, self.warning) = (line, field, nil, warning)
        }

        var text: String { "\(field.map { "\($0): " } ?? "")\(error ?? warning ?? "")" }
    }

    func run() async throws {
        let stream = try BatchReader.open(path: path, format: format)
        let isCSV = BatchReader.isCSV(path: path, format: format)
        var invitations = self.invitations
        let inviteReport = try invitesPath.map { try InviteReport(path: $0, csv: isCSV) }
        var invitedLines = 0
        let progress = Progress(total: stream.total, mode: progress)
        var errors: [LineError] = []
        var warnings: [LineError] = []
        var issued = 0, unchanged = 0, processed = 0
        let started = Date()
        let (issuance, batchSize) = (self.issuance, self.batchSize)
        // The next chunk is read, decoded and checked while the current one is signed and written.
        @Sendable func readChunk() throws -> [(line: Int, result: Result<Licence, LicenceCoreError>)] {
            let chunk = try stream.next(batchSize)
            return zip(chunk, chunk.concurrentMap { entry in entry.document.flatMap { issuance.prepare($0) } })
                .map { (line: $0.line, result: $1) }
        }
        var next = Task.detached { try readChunk() }
        while true {
            let chunk = try await next.value
            guard !chunk.isEmpty else { break }
            next = Task.detached { try readChunk() }
            var good: [(line: Int, licence: Licence)] = []
            let failedBefore = errors.count, warnedBefore = warnings.count
            let issuedBefore = issued, unchangedBefore = unchanged
            for entry in chunk {
                switch entry.result {
                case .success(let licence): good.append((entry.line, licence))
                case .failure(let error): errors.append(lineError(entry.line, error, csv: isCSV))
                }
            }
            if !good.isEmpty {
                let outcomes = try await issuance.issue(good.map(\.licence))
                for (item, notes) in zip(good, outcomes.notes) {
                    for note in notes {
                        warnings.append(LineError(line: item.line, field: note.field.map { isCSV ? BatchReader.csvColumn($0) : $0 },
                                                  warning: note.message))
                    }
                }
                for (item, outcome) in zip(good, outcomes) {
                    switch outcome {
                    case .issued: issued += 1
                    case .unchanged: unchanged += 1
                    case .failed(let error): errors.append(lineError(item.line, error, csv: isCSV))
                    }
                }
                // The transaction has committed: its licences' holders may be invited.
                if let inviteReport, var made = invitations {
                    for (item, outcome) in zip(good, outcomes) {
                        let stored: StoredLicence
                        switch outcome {
                        case .issued(let licence), .unchanged(let licence): stored = licence
                        case .failed: continue
                        }
                        let invite = try await made.invite(for: stored.licence.holder.code.value)
                        try inviteReport.write(line: item.line, licence: stored, invite: invite)
                        invitedLines += 1
                    }
                    invitations = made
                }
            }
            processed += chunk.count
            // The transaction has committed (or there was nothing to write): the chunk is settled.
            progress.update(done: processed, issued: issued)
            progress.committed(Progress.Transaction(
                firstLine: chunk.first!.line, lastLine: chunk.last!.line, failedLines: errors[failedBefore...].map(\.line).sorted(),
                warnedLines: Array(Set(warnings[warnedBefore...].map(\.line))).sorted(), issued: issued - issuedBefore, unchanged: unchanged - unchangedBefore, done: processed, total: max(stream.total, processed)))
        }
        progress.finish()
        errors.sort { $0.line < $1.line }
        try writeReport((errors + warnings).sorted { $0.line < $1.line })
        let seconds = Date().timeIntervalSince(started)
        let rate = seconds > 0 ? Int(Double(issued) / seconds) : issued
        var summary = "\(path): \(processed) \(processed == 1 ? "line" : "lines"): issued \(issued), unchanged \(unchanged), failed \(errors.count)"
        if !warnings.isEmpty { summary += ", \(warnings.count) \(warnings.count == 1 ? "warning" : "warnings")" }
        if issued > 0 { summary += " (\(rate) licences/s)" }
        print(summary)
        for warning in warnings.prefix(20) {
            Terminal.warning("\(path) line \(warning.line): \(warning.text)")
        }
        if warnings.count > 20 { Terminal.warning("… and \(warnings.count - 20) more, in \(reportPath)") }
        if let inviteReport, let invitations {
            let holders = invitations.made.count
            print("Enrolment codes (绑定码): \(holders) \(holders == 1 ? "holder" : "holders"), \(invitedLines) \(invitedLines == 1 ? "line" : "lines"), "
                + "one code per holder, one use each, valid \(invitations.validDays) days: \(inviteReport.path)")
        }
        if !errors.isEmpty {
            for error in errors.prefix(20) {
                Terminal.error("\(path) line \(error.line): \(error.text)")
            }
            if errors.count > 20 { Terminal.error("… and \(errors.count - 20) more") }
            throw CLIError(exitCode: CLIError.badInput,
                           message: "\(errors.count) \(errors.count == 1 ? "line" : "lines") failed; every error is in \(reportPath)")
        }
    }

    private func lineError(_ line: Int, _ error: LicenceCoreError, csv: Bool) -> LineError {
        LineError(line: line, field: error.field.map { csv ? BatchReader.csvColumn($0) : $0 }, error: error.message)
    }

    /// Writes the per-line report (JSONL) of errors and warnings, or removes a stale one when every
    /// line succeeded without a warning.
    private func writeReport(_ errors: [LineError]) throws {
        guard !errors.isEmpty else {
            if FileManager.default.fileExists(atPath: reportPath) { try? FileManager.default.removeItem(atPath: reportPath) }
            return
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var bytes: [UInt8] = []
        for error in errors {
            bytes += Array(try encoder.encode(error)) + [0x0a]
        }
        do { try FileIO.writeAtomically(bytes, to: reportPath, mode: 0o644) } catch {
            throw CLIError(exitCode: CLIError.badInput, message: "cannot write the error report: \(error.message)")
        }
    }
}

/// The enrolment codes of `issue --batch --invite`, one row per line whose licence is in the registry,
/// written as each transaction commits, so that a run stopped part-way still has the codes of what it
/// issued: CSV (for a CSV batch) or JSONL with `line`, `id`, `number`, `holderCode`, `holderName`,
/// `enrolmentCode`, `enrolmentLink` and `enrolmentExpiresAt`. Every line of one holder has the same
/// code. The codes enrol devices, so the file is readable by its owner only.
final class InviteReport {
    static let columns = ["line", "id", "number", "holderCode", "holderName", "enrolmentCode", "enrolmentLink", "enrolmentExpiresAt"]

    let path: String
    let csv: Bool
    private let file: FileHandle
    private let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    struct Row: Encodable {
        var line: Int
        var id: String
        var number: String
        var holderCode: String
        var holderName: String
        var enrolmentCode: String
        var enrolmentLink: String
        var enrolmentExpiresAt: String
    }

    init(path: String, csv: Bool) throws {
        self.path = path
        self.csv = csv
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw CLIError.badInput("--invites: cannot write \(path): \(String(cString: strerror(errno)))")
        }
        fchmod(descriptor, 0o600)  // a file that was there before keeps its mode otherwise
        file = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
        if csv { try append(Self.columns.joined(separator: ",") + "\n") }
    }

    func write(line: Int, licence stored: StoredLicence, invite: EnrolmentInvite) throws {
        let row = Row(line: line, id: stored.id.description, number: stored.licence.number, holderCode: invite.holderCode,
                      holderName: stored.licence.holder.name, enrolmentCode: invite.code, enrolmentLink: invite.link,
                      enrolmentExpiresAt: Timestamp.format(invite.expiresAt))
        if csv {
            let fields = [String(row.line), row.id, row.number, row.holderCode, row.holderName, row.enrolmentCode, row.enrolmentLink,
                          row.enrolmentExpiresAt]
            try append(fields.map(Self.csvField).joined(separator: ",") + "\n")
        } else {
            try append(String(decoding: try encoder.encode(row), as: UTF8.self) + "\n")
        }
    }

    /// A CSV field, quoted when it holds a comma, a quote or a line break.
    static func csvField(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    private func append(_ text: String) throws {
        do { try file.write(contentsOf: Data(text.utf8)) } catch {
            throw CLIError(exitCode: CLIError.internalFailure, message: "cannot write \(path): \(error.localizedDescription)")
        }
    }
}

/// Progress on standard error: a line that updates itself when standard error is a terminal
/// (`auto`), or one JSON line per settled transaction (`jsonl`), written after its commit, so that a
/// script that reads it knows which lines are durably in the registry even if the run is killed.
final class Progress {
    let total: Int
    let mode: IssueCommand.ProgressMode
    let terminal: Bool
    let started = Date()
    private let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }()

    /// One transaction of a batch: the lines it covered, which of them failed, and what it wrote.
    struct Transaction: Encodable {
        var firstLine: Int
        var lastLine: Int
        var failedLines: [Int]
        /// Lines issued with a warning (see the report file).
        var warnedLines: [Int]
        var issued: Int
        var unchanged: Int
        var done: Int
        var total: Int
    }

    init(total: Int, mode: IssueCommand.ProgressMode) {
        self.total = total
        self.mode = mode
        terminal = mode == .auto && isatty(STDERR_FILENO) == 1
    }

    func update(done: Int, issued: Int) {
        guard terminal else { return }
        let seconds = max(Date().timeIntervalSince(started), 0.001)
        let text = "\r\(done)/\(total) lines, \(issued) issued, \(Int(Double(issued) / seconds))/s "
        FileHandle.standardError.write(Data(text.utf8))
    }

    /// Reports a settled transaction (jsonl mode); one write(2) per line, so lines never interleave.
    func committed(_ transaction: Transaction) {
        guard mode == .jsonl, let line = try? encoder.encode(transaction) else { return }
        FileHandle.standardError.write(line + Data("\n".utf8))
    }

    func finish() {
        if terminal { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
