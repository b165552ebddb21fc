import Foundation
import TestSupport
import Testing
@testable import LicenceQR

struct QRCodeTests {
    static let alphanumeric = "EL1:" + String((0..<296).map { i in Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")[(i * 7) % 45] })

    @Test func pngDecodesToExactlyTheText() throws {
        let dir = TemporaryDirectory("elicence-qr")
        for text in [Self.alphanumeric, "EL1:NCFOXN%TSMAHN-H", "HELLO"] {
            let code = try QRCode(text: text)
            let path = try dir.write("code.png", bytes: code.png(scale: 4))
            let decoded = try run("zbarimg", ["--raw", "--nodbus", "-q", path])
            #expect(decoded.status == 0, "\(decoded)")
            #expect(decoded.stdout == text + "\n")
        }
    }

    @Test func alphanumericTextUsesAlphanumericMode() throws {
        // 300 characters at level M: version 10 in alphanumeric mode, 13 in byte mode.
        #expect(try QRCode(text: Self.alphanumeric, errorCorrection: .medium).version == 10)
        #expect(try QRCode(text: Self.alphanumeric.lowercased(), errorCorrection: .medium).version == 13)
    }

    @Test func pngLayoutHasTheQuietZone() throws {
        let code = try QRCode(text: "EL1:ABC")
        let png = code.png(scale: 3)
        #expect(Array(png.prefix(8)) == [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])
        let width = png[16..<20].reduce(0) { $0 << 8 | Int($1) }
        #expect(width == (code.size + 8) * 3)
        #expect(!code.isDark(x: -1, y: 0) && code.isDark(x: 0, y: 0))  // finder pattern corner
    }

    @Test func svgAndTerminalRenderings() throws {
        let code = try QRCode(text: "EL1:ABC")
        let svg = code.svg(scale: 5)
        #expect(svg.contains("viewBox=\"0 0 \(code.size + 8) \(code.size + 8)\""))
        #expect(svg.contains("<path fill=\"#000000\" d=\"M4,4h7v1h-7z"))
        let lines = code.terminal().split(separator: "\n")
        #expect(lines.count == (code.size + 8 + 1) / 2)
        #expect(lines.allSatisfy { $0.hasPrefix("\u{1b}[30;47m") && $0.hasSuffix("\u{1b}[0m") })
    }

    @Test func textTooLongIsAnError() {
        #expect(throws: QRCode.Error.self) { try QRCode(text: String(repeating: "A", count: 5000), errorCorrection: .high) }
    }
}
