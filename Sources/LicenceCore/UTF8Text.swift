#if canImport(Glibc)
import Glibc
#endif
/// Strict UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF) turned into
/// a `String`. The standard library's `String(validating:as:)` takes a generic path that costs
/// far more than the check itself; tokens carry about twenty texts each.
public enum UTF8Text {
    /// The text, or nil when `bytes` are not strict UTF-8.
    @inlinable
    public static func string(_ bytes: some Collection<UInt8>) -> String? {
        if let result = bytes.withContiguousStorageIfAvailable({ string($0) }) { return result }
        return string(Array(bytes))
    }

    public static func string(_ bytes: UnsafeBufferPointer<UInt8>) -> String? {
        // `String(decoding:)` checks as strictly as `isValid` and replaces what fails with U+FFFD;
        // the text is the input byte for byte exactly when nothing was replaced.
        var text = String(decoding: bytes, as: UTF8.self)
        let unchanged = text.withUTF8 { decoded in
            decoded.count == bytes.count
                && (bytes.isEmpty || memcmp(decoded.baseAddress!, bytes.baseAddress!, bytes.count) == 0)
        }
        return unchanged ? text : nil
    }

    public static func isValid(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        var index = 0
        let count = bytes.count
        while index < count {
            let lead = bytes[index]
            if lead < 0x80 {
                index += 1
                continue
            }
            @inline(__always) func continuation(_ offset: Int) -> UInt8? {
                guard index + offset < count else { return nil }
                let byte = bytes[index + offset]
                return byte & 0xc0 == 0x80 ? byte : nil
            }
            switch lead {
            case 0xc2...0xdf:
                guard continuation(1) != nil else { return false }
                index += 2
            case 0xe0...0xef:
                guard let second = continuation(1), continuation(2) != nil else { return false }
                if lead == 0xe0 && second < 0xa0 { return false }  // overlong
                if lead == 0xed && second >= 0xa0 { return false }  // surrogate
                index += 3
            case 0xf0...0xf4:
                guard let second = continuation(1), continuation(2) != nil, continuation(3) != nil else { return false }
                if lead == 0xf0 && second < 0x90 { return false }  // overlong
                if lead == 0xf4 && second >= 0x90 { return false }  // above U+10FFFF
                index += 4
            default:
                return false
            }
        }
        return true
    }
}
