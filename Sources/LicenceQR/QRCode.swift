import CQRencode
import CZlib
#if canImport(Glibc)
import Glibc
#endif

/// A QR code symbol made by libqrencode, and its renderings: PNG, SVG and terminal text.
///
/// Text that is all upper-case alphanumeric (as base45 tokens are) is encoded in alphanumeric mode,
/// which libqrencode chooses by itself; each rendering keeps a quiet zone of 4 modules.
public struct QRCode: Sendable {
    public enum ErrorCorrection: String, Sendable, CaseIterable {
        case low = "L", medium = "M", quartile = "Q", high = "H"

        var level: QRecLevel {
            switch self {
            case .low: return QR_ECLEVEL_L
            case .medium: return QR_ECLEVEL_M
            case .quartile: return QR_ECLEVEL_Q
            case .high: return QR_ECLEVEL_H
            }
        }
    }

    public struct Error: Swift.Error, Sendable, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    public static let quietZone = 4

    /// Modules per side, without the quiet zone.
    public let size: Int
    /// QR version, 1–40.
    public let version: Int
    /// Row-major, true for a dark module.
    public let modules: [Bool]

    public init(text: String, errorCorrection: ErrorCorrection = .quartile) throws(QRCode.Error) {
        errno = 0
        let code = text.withCString { QRcode_encodeString($0, 0, errorCorrection.level, QR_MODE_8, 1) }
        guard let code else {
            let reason = errno == ERANGE ? "the text (\(text.utf8.count) bytes) is too long for a QR code at level \(errorCorrection.rawValue)"
                : "libqrencode failed (errno \(errno))"
            throw Error(message: reason)
        }
        defer { QRcode_free(code) }
        size = Int(code.pointee.width)
        version = Int(code.pointee.version)
        modules = (0..<(size * size)).map { code.pointee.data[$0] & 1 == 1 }
    }

    public func isDark(x: Int, y: Int) -> Bool {
        guard x >= 0, y >= 0, x < size, y < size else { return false }
        return modules[y * size + x]
    }

    // MARK: PNG

    /// A 1-bit grayscale PNG, `scale` pixels per module, with the quiet zone.
    public func png(scale: Int = 8) -> [UInt8] {
        let side = (size + 2 * Self.quietZone) * scale
        let rowBytes = (side + 7) / 8
        var raw = [UInt8]()
        raw.reserveCapacity((rowBytes + 1) * side)
        for py in 0..<side {
            raw.append(0)  // filter: none
            let my = py / scale - Self.quietZone
            var byte: UInt8 = 0
            for px in 0..<side {
                let light = !isDark(x: px / scale - Self.quietZone, y: my)
                if light { byte |= 0x80 >> UInt8(px % 8) }
                if px % 8 == 7 || px == side - 1 {
                    raw.append(byte)
                    byte = 0
                }
            }
        }
        var png: [UInt8] = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]
        var header = [UInt8]()
        header += Self.bigEndian(UInt32(side)) + Self.bigEndian(UInt32(side))
        header += [1, 0, 0, 0, 0]  // bit depth 1, grayscale, deflate, adaptive filtering, no interlace
        Self.appendChunk("IHDR", header, to: &png)
        Self.appendChunk("IDAT", Self.deflate(raw), to: &png)
        Self.appendChunk("IEND", [], to: &png)
        return png
    }

    private static func bigEndian(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8(value >> 16 & 0xff), UInt8(value >> 8 & 0xff), UInt8(value & 0xff)]
    }

    private static func appendChunk(_ type: String, _ data: [UInt8], to png: inout [UInt8]) {
        let typeBytes = Array(type.utf8)
        png += bigEndian(UInt32(data.count))
        let body = typeBytes + data
        png += body
        let crc = body.withUnsafeBufferPointer { crc32(0, $0.baseAddress, uInt($0.count)) }
        png += bigEndian(UInt32(crc))
    }

    private static func deflate(_ input: [UInt8]) -> [UInt8] {
        var length = compressBound(uLong(input.count))
        var output = [UInt8](repeating: 0, count: Int(length))
        let status = compress2(&output, &length, input, uLong(input.count), 9)
        precondition(status == Z_OK, "compress2 into a compressBound buffer cannot fail")
        return Array(output.prefix(Int(length)))
    }

    // MARK: SVG

    /// An SVG drawing, `scale` user units per module, with the quiet zone.
    public func svg(scale: Int = 8) -> String {
        let side = size + 2 * Self.quietZone
        var path = ""
        for y in 0..<size {
            var x = 0
            while x < size {
                guard isDark(x: x, y: y) else {
                    x += 1
                    continue
                }
                var run = 1
                while isDark(x: x + run, y: y) { run += 1 }
                path += "M\(x + Self.quietZone),\(y + Self.quietZone)h\(run)v1h-\(run)z"
                x += run
            }
        }
        return """
            <?xml version="1.0" encoding="UTF-8"?>
            <svg xmlns="http://www.w3.org/2000/svg" width="\(side * scale)" height="\(side * scale)" \
            viewBox="0 0 \(side) \(side)" shape-rendering="crispEdges">
            <rect width="\(side)" height="\(side)" fill="#ffffff"/>
            <path fill="#000000" d="\(path)"/>
            </svg>

            """
    }

    // MARK: Terminal

    /// Text for a terminal: two modules per character with half blocks, black on a white
    /// background set by ANSI colours, so it scans on dark and light terminals alike.
    public func terminal() -> String {
        let lo = -Self.quietZone, hi = size + Self.quietZone
        var lines: [String] = []
        var y = lo
        while y < hi {
            var line = "\u{1b}[30;47m"
            for x in lo..<hi {
                switch (isDark(x: x, y: y), isDark(x: x, y: y + 1) && y + 1 < hi) {
                case (false, false): line += " "
                case (true, false): line += "▀"
                case (false, true): line += "▄"
                case (true, true): line += "█"
                }
            }
            lines.append(line + "\u{1b}[0m")
            y += 2
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
