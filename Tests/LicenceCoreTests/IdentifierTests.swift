import Testing
@testable import LicenceCore

struct HolderCodeTests {
    @Test(arguments: ["91110000600037341L", "91350100MA2Y01111F", "11350000003591037R", "11430000006122244L"])
    func validCreditCodes(_ code: String) throws {
        let holder = try HolderCode(code, kind: .creditCode)
        #expect(holder.value == code)
        #expect(holder.kind.rawValue == "001")
        #expect(holder.disclosedForm == code)
    }

    @Test func validCitizenID() throws {
        let holder = try HolderCode("11010519491231002X", kind: .citizenID)
        #expect(holder.kind.rawValue == "111")
        #expect(holder.disclosedForm == "110105********002X")
        // Lower-case x is accepted and normalised.
        #expect(try HolderCode("11010519491231002x", type: "111").value == "11010519491231002X")
    }

    @Test(arguments: [
        ("91110000600037341A", HolderCode.Kind.creditCode, "L"),
        ("91110000600037342L", .creditCode, "P"),
        ("11010519491231002Y", .citizenID, "X"),
        ("110105194912310021", .citizenID, "X"),
        ("11010519491231003X", .citizenID, "8"),
    ])
    func wrongCheckCharacterNamesTheExpectedOne(_ code: String, _ kind: HolderCode.Kind, _ expected: String) {
        #expect {
            _ = try HolderCode(code, kind: kind)
        } throws: { error in
            guard let error = error as? LicenceCoreError else { return false }
            if code.last == "Y" { return error.code == .invalidHolderCode }
            return error.code == .wrongCheckCharacter && error.message.hasSuffix("expected \(expected)")
        }
    }

    @Test(arguments: [
        ("9111000060003734", HolderCode.Kind.creditCode, "16 characters"),
        ("91110000600037341I", .creditCode, "\"I\" at position 18"),
        ("9111A000600037341L", .creditCode, "positions 3-8"),
        ("1101051949123100", .citizenID, "16 characters"),
        ("11010519491331002X", .citizenID, "birth date 19491331"),
        ("1101A519491231002X", .citizenID, "position 5"),
    ])
    func malformedCodesSayWhatIsWrong(_ code: String, _ kind: HolderCode.Kind, _ fragment: String) {
        #expect {
            _ = try HolderCode(code, kind: kind)
        } throws: { error in
            (error as? LicenceCoreError).map { $0.code == .invalidHolderCode && $0.message.contains(fragment) } ?? false
        }
    }

    @Test func pilotCodesNeedTheExplicitFlag() throws {
        #expect(throws: LicenceCoreError.self) { try HolderCode("91110000600037341A", kind: .creditCode) }
        let waived = try HolderCode("91110000600037341A", kind: .creditCode, allowBadChecksum: true)
        #expect(waived.checksumWaived)
        #expect(try !HolderCode("91110000600037341L", kind: .creditCode, allowBadChecksum: true).checksumWaived)
        // The flag never waives a citizen ID's check.
        #expect(throws: LicenceCoreError.self) { try HolderCode("110105194912310021", kind: .citizenID, allowBadChecksum: true) }
    }

    @Test func unknownHolderCodeType() {
        #expect(throws: LicenceCoreError.self) { try HolderCode("91110000600037341L", type: "002") }
    }
}

struct LicenceIdentifierTests {
    static let example = "1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001.U"

    @Test func designExampleHasCheckU() throws {
        let id = try LicenceIdentifier(typeCode: "11100000000013338W011", issuerCode: "11430000006122244L",
                                       serial: "20230000403", version: 1)
        #expect(id.check == "U")
        #expect(id.description == Self.example)
        let parsed = try LicenceIdentifier(parsing: Self.example)
        #expect(parsed == id)
        #expect(parsed.version == 1)
        #expect(ISO7064.mod37_36("11100000000013338W01111430000006122244L20230000403001") == "U")
    }

    /// The step by subtraction is ISO 7064's MOD 37,36 step, as the standard writes it with
    /// remainders, for every state and value.
    @Test func mod37_36StepMatchesTheStandardsFormula() {
        for p in 1...36 {
            for value in 0...35 {
                var expected = (p + value) % 36
                if expected == 0 { expected = 36 }
                expected = expected * 2 % 37
                #expect(ISO7064.mod37_36Step(p, value) == expected, "p \(p), value \(value)")
            }
        }
    }

    @Test func wrongVariantsAreRejected() throws {
        let wrongCheck = "1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001.V"
        #expect(throws: LicenceCoreError(.wrongCheckCharacter,
            "licence identifier \(wrongCheck) has check character V; expected U")) {
            try LicenceIdentifier(parsing: wrongCheck)
        }
        let changedSerial = "1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000404.001.U"
        #expect(throws: LicenceCoreError.self) { try LicenceIdentifier(parsing: changedSerial) }
        for malformed in ["1.2.156.3005.1.11100000000013338W011.11430000006122244L.20230000403.001.U",
                          "1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.1.U",
                          "1.2.156.3005.2.11100000000013338W011.11430000006122244L.2023A000403.001.U",
                          "1.2.156.3005.2.11100000000013338W011.1143000000612224.20230000403.001.U",
                          "1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001",
                          "1.2.156.3005.2.11100000000013338w011.11430000006122244L.20230000403.001.U"] {
            #expect(throws: LicenceCoreError.self) { try LicenceIdentifier(parsing: malformed) }
        }
    }

    @Test func generatedSerialsAreRandomAndValid() throws {
        var generator = SystemRandomNumberGenerator()
        var seen = Set<String>()
        // 2026-03-01 00:00:05 China time: second 5,097,605 of 2026.
        let time = try CalendarDate(year: 2026, month: 3, day: 1).startInChina + 5
        for _ in 0..<1000 {
            let id = try LicenceIdentifier.generate(typeCode: "11100000000013338W011", issuerCode: "11350000003591037R",
                                                    at: time, using: &generator)
            #expect(id.serial.count == 24 && id.serial.hasPrefix("202605097605"))
            #expect(try LicenceIdentifier(parsing: id.description) == id)
            seen.insert(id.serial)
        }
        #expect(seen.count == 1000)
        // The year and the second are China time: 2026-12-31 16:00 UTC is the first second of 2027 there.
        let newYear = try CalendarDate(year: 2027, month: 1, day: 1).startInChina
        let first = try LicenceIdentifier.generate(typeCode: "11100000000013338W011", issuerCode: "11350000003591037R",
                                                   at: newYear, using: &generator)
        let last = try LicenceIdentifier.generate(typeCode: "11100000000013338W011", issuerCode: "11350000003591037R",
                                                  at: newYear - 1, using: &generator)
        #expect(first.serial.hasPrefix("202700000000") && last.serial.hasPrefix("202631535999"))
        // Within a year, an identifier drawn a second later sorts after: a registry's index grows at its end.
        for _ in 0..<100 {
            let earlier = try LicenceIdentifier.generate(typeCode: "11100000000013338W011", issuerCode: "11350000003591037R",
                                                         at: time, using: &generator)
            let later = try LicenceIdentifier.generate(typeCode: "11100000000013338W011", issuerCode: "11350000003591037R",
                                                       at: time + 1, using: &generator)
            #expect(earlier.description < later.description)
        }
    }

    @Test func sequentialSerialsFollowTheExampleLayout() throws {
        let id = try LicenceIdentifier.sequential(typeCode: "11100000000013338W011", issuerCode: "11430000006122244L",
                                                  year: 2023, sequence: 403)
        #expect(id.description == Self.example)
        #expect(try id.withVersion(2).description.hasSuffix(".20230000403.002.\(id.withVersion(2).check)"))
    }
}

struct CalendarDateTests {
    @Test func chinaMidnights() throws {
        let day = try CalendarDate(parsing: "2026-01-15")
        // 2026-01-15T00:00+08:00 = 2026-01-14T16:00Z
        #expect(day.startInChina == 1_768_406_400)
        #expect(day.endInChina == 1_768_492_800)
        #expect(CalendarDate(chinaDayOf: 1_768_406_400) == day)
        #expect(CalendarDate(chinaDayOf: 1_768_406_399) == (try CalendarDate(parsing: "2026-01-14")))
    }

    @Test func epochDaysRoundTrip() {
        for days in stride(from: Int64(-800_000), through: 2_900_000, by: 997) {
            #expect(CalendarDate(daysSinceEpoch: days).daysSinceEpoch == days)
        }
    }

    @Test(arguments: ["2026-02-29", "2026-13-01", "2026-1-5", "20260115", "2026-01-15T00:00", "", "abcd-ef-gh", "2026-04-31"])
    func invalidDates(_ text: String) {
        #expect(throws: LicenceCoreError.self) { try CalendarDate(parsing: text) }
    }

    @Test func leapDaysAndYears() throws {
        #expect(throws: Never.self) { try CalendarDate(parsing: "2024-02-29") }
        #expect(throws: Never.self) { try CalendarDate(parsing: "2000-02-29") }
        #expect(throws: LicenceCoreError.self) { try CalendarDate(parsing: "1900-02-29") }
        #expect(try CalendarDate(parsing: "2024-02-29").adding(years: 1).description == "2025-02-28")
    }

    @Test func timestamps() {
        #expect(Timestamp.format(0) == "1970-01-01T00:00:00Z")
        #expect(Timestamp.format(1_768_406_400) == "2026-01-14T16:00:00Z")
        #expect(Timestamp.parse("2026-01-15T00:00:00+08:00") == 1_768_406_400)
        #expect(Timestamp.parse("2026-01-14T16:00:00.123Z") == 1_768_406_400)
        #expect(Timestamp.parse("2026-01-14 16:00:00") == nil)
    }
}

struct ZlibTests {
    @Test func roundTrip() throws {
        let text = Array(String(repeating: "福州市市场监督管理局 营业执照 ", count: 50).utf8)
        let compressed = Zlib.compress(text)
        #expect(compressed.count < text.count / 5)
        #expect(try Zlib.decompress(compressed, limit: 65_536) == text)
    }

    /// Streams are kept and reset between calls: whatever a stream compressed before, and however
    /// many calls run at once, the same input gives the same bytes, and a stream of another level
    /// is never kept.
    @Test func aKeptStreamWritesWhatANewOneWrites() async throws {
        let token = Array(String(repeating: "营业执照 91350100MA2Y01111F ", count: 12).utf8)
        let first = Zlib.compress(token)
        // What Python's zlib module writes for the same bytes at level 9 (`zlib.compress(token, 9)`).
        #expect(first == [
            0x78, 0xda, 0x7b, 0x31, 0x61, 0xe9, 0x93, 0x1d, 0xb3, 0x9e, 0x75, 0x2e, 0x7f, 0xde,
            0xba, 0x5c, 0xc1, 0xd2, 0xd0, 0xd8, 0xd4, 0xc0, 0xd0, 0xc0, 0xc0, 0xd7, 0xd1, 0x28,
            0xd2, 0xc0, 0x10, 0x08, 0xdc, 0x14, 0x5e, 0x8c, 0xca, 0xd3, 0x54, 0x1e, 0x00, 0xde,
            0x34, 0x97, 0x99,
        ])
        var generator = SplitMix64(seed: 11)
        _ = Zlib.compress((0..<100_000).map { _ in UInt8.random(in: 0...255, using: &generator) })
        #expect(Zlib.compress(token) == first)
        let results = await withTaskGroup(of: [UInt8].self) { group in
            for index in 0..<32 {
                group.addTask { Zlib.compress(index % 2 == 0 ? token : Array(repeating: UInt8(index), count: 5_000 * index)) }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        #expect(results.filter { $0 == first }.count == 16)
        let fast = Zlib.compress(token, level: 1)
        #expect(fast.prefix(2) == [0x78, 0x01])
        #expect(try Zlib.decompress(fast, limit: 4096) == token)
        #expect(Zlib.compress(token) == first)
    }

    @Test func decompressionIsBounded() {
        let bomb = Zlib.compress([UInt8](repeating: 0, count: 10_000_000))
        #expect(bomb.count < 20_000)
        #expect(throws: Zlib.Error.outputTooLarge(limit: 65_536)) { try Zlib.decompress(bomb, limit: 65_536) }
    }

    /// Streams far more compressible than a token need more room than the first guess: every size
    /// around the limit and around each step of the room comes back whole, or over the limit
    /// exactly when it is.
    @Test func roomGrowsUpToTheLimitExactly() throws {
        var generator = SplitMix64(seed: 5)
        for size in [0, 1, 1023, 1024, 1025, 4096, 8191, 8192, 8193, 65_535, 65_536, 65_537, 200_000] {
            for pattern in 0..<3 {
                let data: [UInt8] = (0..<size).map { index in
                    switch pattern {
                    case 0: return 0
                    case 1: return UInt8(index % 7)
                    default: return UInt8.random(in: 0...255, using: &generator)
                    }
                }
                let compressed = Zlib.compress(data)
                for limit in [size - 1, size, 65_536] where limit >= 0 {
                    if size <= limit {
                        #expect(try Zlib.decompress(compressed, limit: limit) == data, "size \(size), pattern \(pattern), limit \(limit)")
                    } else {
                        #expect(throws: Zlib.Error.outputTooLarge(limit: limit), "size \(size), pattern \(pattern), limit \(limit)") {
                            try Zlib.decompress(compressed, limit: limit)
                        }
                    }
                }
                // Without its checksum, or cut inside its data, the stream is truncated, whatever
                // room it took to get there.
                if compressed.count > 8 {
                    for cut in [4, 5] {
                        #expect(throws: Zlib.Error.truncated, "size \(size), pattern \(pattern), cut \(cut)") {
                            try Zlib.decompress(Array(compressed.dropLast(cut)), limit: 1 << 20)
                        }
                    }
                }
            }
        }
    }

    @Test func damagedStreamsAreErrors() {
        let good = Zlib.compress(Array("electronic licence".utf8))
        #expect(throws: Zlib.Error.truncated) { try Zlib.decompress(Array(good.dropLast(3)), limit: 1000) }
        #expect(throws: Zlib.Error.trailingBytes) { try Zlib.decompress(good + [0], limit: 1000) }
        #expect(throws: Zlib.Error.self) { try Zlib.decompress([0x78, 0x9c, 0xff, 0xff, 0xff], limit: 1000) }
        #expect(throws: Zlib.Error.self) { try Zlib.decompress([1, 2, 3], limit: 1000) }
        #expect(throws: Zlib.Error.truncated) { try Zlib.decompress([], limit: 1000) }
    }
}
