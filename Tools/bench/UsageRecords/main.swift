import Foundation
import LicenceStore
import Logging

// Writes usage records into a registry the way the server does (transactions of one flush, here
// 5,000 records: half a second at 10,000 verifications a second, spread over four agencies, five
// causes and every licence of the registry at random), and prints the cost of an insert at the
// start and at the end as JSON lines. The registry's licences must be there already.
//   usage-records-bench DATABASE RECORDS [BATCH]
// The PostgreSQL password, if any, comes from ELICENCE_DATABASE_PASSWORD.

let arguments = CommandLine.arguments.dropFirst()
guard arguments.count >= 2, let total = Int(arguments[arguments.startIndex + 1]), total > 0 else {
    FileHandle.standardError.write(Data("usage: usage-records-bench DATABASE RECORDS [BATCH]\n".utf8))
    exit(2)
}
let batch = arguments.count > 2 ? Int(arguments[arguments.startIndex + 2]) ?? 5_000 : 5_000
let location = try RegistryLocation(parsing: arguments.first!)
let password = ProcessInfo.processInfo.environment["ELICENCE_DATABASE_PASSWORD"]

/// A small deterministic generator (SplitMix64), so that runs are alike.
struct Generator {
    var state: UInt64 = 0x5eed
    mutating func next(_ bound: Int) -> Int {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return Int((z ^ (z >> 31)) % UInt64(bound))
    }
}

func emit(_ fields: [String: Any]) {
    let data = try! JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys])
    FileHandle.standardOutput.write(data + Data("\n".utf8))
}

try await location.withRegistry(password: password, create: false) { registry in
    var licences: [String] = []
    while true {
        let page = try await registry.licences(LicenceFilter(limit: 10_000, offset: licences.count))
        licences += page.map(\.id.description)
        if page.count < 10_000 { break }
    }
    guard !licences.isEmpty else {
        FileHandle.standardError.write(Data("usage-records-bench: the registry has no licences\n".utf8))
        exit(2)
    }
    let agencies = ["91350100MA2Y01111F", "91110000600037341L", "11350000003591037R", "11430000006122244L"]
    let existing = Set(try await registry.agencies().map(\.code))
    for (number, code) in agencies.enumerated() where !existing.contains(code) {
        try await registry.addAgency(Agency(code: code, name: "测试部门\(number)", grants: [], createdAt: 0),
                                     keyHash: Array(repeating: UInt8(number + 1), count: 32))
    }
    let causes = ["企业开办", "不动产登记", "社保办理", "招投标", "公积金提取"]
    var generator = Generator()
    let start = Int64(Date().timeIntervalSince1970)
    let window = min(100_000, total)
    var written = 0
    var spent = 0.0, firstSpent = 0.0, lastSpent = 0.0, lastCount = 0
    while written < total {
        let count = min(batch, total - written)
        let records = (0..<count).map { offset in
            UsageRecord(agency: agencies[generator.next(agencies.count)], licence: licences[generator.next(licences.count)],
                        action: .verify, cause: causes[generator.next(causes.count)], outcome: "valid",
                        at: start + Int64((written + offset) / 10_000))
        }
        let began = ContinuousClock.now
        try await registry.recordUsage(records)
        let elapsed = ContinuousClock.now - began
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        spent += seconds
        if written < window { firstSpent += seconds }
        if written + count > total - window {
            lastSpent += seconds
            lastCount += count
        }
        written += count
        if written % 1_000_000 < batch || written == total {
            emit(["kind": "usage-progress", "records": written, "us_per_record": (spent / Double(written) * 1e6).rounded()])
        }
    }
    emit(["kind": "usage", "records": total, "licences": licences.count, "batch": batch,
          "first_us": (firstSpent / Double(min(window, total)) * 1e6 * 100).rounded() / 100,
          "last_us": (lastSpent / Double(lastCount) * 1e6 * 100).rounded() / 100,
          "mean_us": (spent / Double(total) * 1e6 * 100).rounded() / 100])
}
