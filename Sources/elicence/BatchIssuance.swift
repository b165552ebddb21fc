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

/// Reads JSONL and CSV batch files into licence JSON, line by line.
enum BatchReader {
    static let maxFileSize = 512 << 20
    static let maxLineLength = 64 << 10
    static let fixedColumns = ["type", "number", "holderName", "holderCode", "holderCodeType", "validFrom", "validUntil",
                               "relatedMatter"]

    static func read(path: String, format: IssueCommand.BatchFormat?) throws -> [BatchLine] {
        let bytes: [UInt8]
        do { bytes = try FileIO.read(path, limit: maxFileSize) } catch {
            throw CLIError.badInput("--batch: \(error.message)")
        }
        var body = bytes[...]
        if body.starts(with: [0xef, 0xbb, 0xbf]) { body = body.dropFirst(3) }  // a UTF-8 byte-order mark from spreadsheets
        guard let text = String(validating: body, as: UTF8.self) else {
            throw CLIError.badInput("--batch: \(path) is not UTF-8 text; save it as UTF-8 (CSV UTF-8 in a spreadsheet)")
        }
        return isCSV(path: path, format: format) ? try csvLines(text, path: path) : jsonLines(text)
    }

    /// Whether a batch file is read as CSV: `--format`, else its extension.
    static func isCSV(path: String, format: IssueCommand.BatchFormat?) -> Bool {
        (format ?? (path.lowercased().hasSuffix(".csv") ? .csv : .jsonl)) == .csv
    }

    static func jsonLines(_ text: String) -> [BatchLine] {
        let numbered = text.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
            .map { (line: $0.offset + 1, text: $0.element.utf8.last == UInt8(ascii: "\r") ? $0.element.dropLast() : $0.element) }
            .filter { $0.text.utf8.contains(where: { $0 != 0x20 && $0 != 0x09 }) }
            .map { (line: $0.line, text: String($0.text)) }
        // Decoding JSON is the costly part of reading; every line is independent.
        return numbered.concurrentMap { entry in
            guard entry.text.utf8.count <= maxLineLength else {
                return BatchLine(line: entry.line, document: .failure(LicenceCoreError(.invalidField,
                    "the line is longer than \(maxLineLength) bytes")))
            }
            do {
                let document = try JSONDecoder().decode(LicenceDocument.self, from: Data(entry.text.utf8))
                return BatchLine(line: entry.line, document: .success(document))
            } catch {
                return BatchLine(line: entry.line, document: .failure(LicenceCoreError(.invalidField, JSONErrors.describe(error))))
            }
        }
    }

    static func csvLines(_ text: String, path: String) throws -> [BatchLine] {
        let reader: CSVReader
        do { reader = try CSVReader(string: text, hasHeaderRow: true) } catch {
            throw CLIError.badInput("--batch: \(path) is not readable CSV: \(error)")
        }
        guard let header = reader.headerRow else { throw CLIError.badInput("--batch: \(path) is empty; expected a header row") }
        let columns = header.map { $0.trimmingCharacters(in: .whitespaces) }
        for required in ["type", "number", "holderName", "holderCode", "validFrom"] where !columns.contains(required) {
            throw CLIError.badInput("--batch: \(path) line 1: the header has no column \"\(required)\"; expected "
                + fixedColumns.joined(separator: ",") + " and field:NAME columns")
        }
        for column in columns where !fixedColumns.contains(column) && !column.hasPrefix("field:") {
            throw CLIError.badInput("--batch: \(path) line 1: unknown column \"\(column)\"; extension fields are named field:NAME")
        }
        var lines: [BatchLine] = []
        var lineNumber = 1
        while let row = reader.next() {
            lineNumber += 1
            if row.count == 1 && row[0].trimmingCharacters(in: .whitespaces).isEmpty { continue }
            guard row.count == columns.count else {
                lines.append(BatchLine(line: lineNumber, document: .failure(LicenceCoreError(.invalidField,
                    "has \(row.count) columns; the header has \(columns.count)"))))
                continue
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
            lines.append(BatchLine(line: lineNumber, document: .success(document)))
        }
        return lines
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
        let lines = try BatchReader.read(path: path, format: format)
        let isCSV = BatchReader.isCSV(path: path, format: format)
        var invitations = self.invitations
        let inviteReport = try invitesPath.map { try InviteReport(path: $0, csv: isCSV) }
        var invitedLines = 0
        let progress = Progress(total: lines.count, mode: progress)
        var errors: [LineError] = []
        var warnings: [LineError] = []
        var issued = 0, unchanged = 0, processed = 0
        let started = Date()
        for chunk in stride(from: 0, to: lines.count, by: batchSize).map({ lines[$0..<min($0 + batchSize, lines.count)] }) {
            var good: [(line: Int, licence: Licence)] = []
            let failedBefore = errors.count, warnedBefore = warnings.count
            let issuedBefore = issued, unchangedBefore = unchanged
            let prepared = chunk.concurrentMap { entry in entry.document.flatMap { issuance.prepare($0) } }
            for (entry, result) in zip(chunk, prepared) {
                switch result {
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
                warnedLines: Array(Set(warnings[warnedBefore...].map(\.line))).sorted(), issued: issued - issuedBefore, unchanged: unchanged - unchangedBefore, done: processed, total: lines.count))
        }
        progress.finish()
        errors.sort { $0.line < $1.line }
        try writeReport((errors + warnings).sorted { $0.line < $1.line })
        let seconds = Date().timeIntervalSince(started)
        let rate = seconds > 0 ? Int(Double(issued) / seconds) : issued
        var summary = "\(path): \(lines.count) \(lines.count == 1 ? "line" : "lines"): issued \(issued), unchanged \(unchanged), failed \(errors.count)"
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
