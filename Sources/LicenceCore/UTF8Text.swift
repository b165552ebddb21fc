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
        // `String(decoding:)` checks as strictly as RFC 3629 and replaces what fails with U+FFFD;
        // the text is the input byte for byte exactly when nothing was replaced.
        var text = String(decoding: bytes, as: UTF8.self)
        let unchanged = text.withUTF8 { decoded in
            decoded.count == bytes.count
                && (bytes.isEmpty || memcmp(decoded.baseAddress!, bytes.baseAddress!, bytes.count) == 0)
        }
        return unchanged ? text : nil
    }
}
