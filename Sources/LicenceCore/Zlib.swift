import CZlib

/// The zlib (RFC 1950) step of the token: compression, and decompression that stops at a fixed
/// output size so a small hostile input cannot expand without bound.
public enum Zlib {
    public enum Error: Swift.Error, Sendable, Equatable, CustomStringConvertible {
        case corrupt(String)
        case truncated
        case outputTooLarge(limit: Int)
        case trailingBytes

        public var description: String {
            switch self {
            case .corrupt(let why): return "zlib data is corrupt: \(why)"
            case .truncated: return "zlib data ends before its stream does"
            case .outputTooLarge(let limit): return "zlib data expands beyond \(limit) bytes"
            case .trailingBytes: return "zlib data has bytes after the end of its stream"
            }
        }
    }

    public static func compress(_ input: [UInt8], level: Int32 = 9) -> [UInt8] {
        var stream = z_stream()
        guard elicence_deflateInit(&stream, level) == Z_OK else {
            preconditionFailure("deflateInit failed: out of memory")
        }
        defer { deflateEnd(&stream) }
        var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, uLong(input.count))))
        var input = input
        let produced = input.withUnsafeMutableBufferPointer { inBuffer in
            output.withUnsafeMutableBufferPointer { outBuffer in
                stream.next_in = inBuffer.baseAddress
                stream.avail_in = uInt(inBuffer.count)
                stream.next_out = outBuffer.baseAddress
                stream.avail_out = uInt(outBuffer.count)
                let status = deflate(&stream, Z_FINISH)
                precondition(status == Z_STREAM_END, "deflate into a deflateBound buffer must finish")
                return outBuffer.count - Int(stream.avail_out)
            }
        }
        output.removeSubrange(produced...)
        return output
    }

    /// Inflates `input`, failing once the output would exceed `limit` bytes.
    public static func decompress(_ input: [UInt8], limit: Int) throws(Zlib.Error) -> [UInt8] {
        try input.withUnsafeBufferPointer { buffer throws(Zlib.Error) in try decompress(buffer, limit: limit) }
    }

    /// Inflates `input` in one call with `Z_FINISH` into room for one byte more than `limit`: zlib
    /// then keeps no sliding window, and a stream that fills the room is over the limit.
    public static func decompress(_ input: UnsafeBufferPointer<UInt8>, limit: Int) throws(Zlib.Error) -> [UInt8] {
        var stream = z_stream()
        guard elicence_inflateInit(&stream) == Z_OK else { throw .corrupt("inflateInit failed") }
        defer { inflateEnd(&stream) }
        // Deflate expands at most about 1032:1, so a small input needs little room whatever the limit.
        let limit = min(max(limit, 0), Int(UInt32.max) - 1)
        let room = min(limit + 1, input.count * 1032 + 64)
        let scratch = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: room)
        defer { scratch.deallocate() }
        stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress)
        stream.avail_in = uInt(input.count)
        stream.next_out = scratch.baseAddress
        stream.avail_out = uInt(room)
        let status = inflate(&stream, Z_FINISH)
        let produced = room - Int(stream.avail_out)
        switch status {
        case Z_STREAM_END:
            guard produced <= limit else { throw .outputTooLarge(limit: limit) }
            guard stream.avail_in == 0 else { throw .trailingBytes }
            return Array(UnsafeBufferPointer(rebasing: scratch[0..<produced]))
        case Z_BUF_ERROR, Z_OK:
            // Out of room (over the limit) or out of input (the stream goes on).
            if stream.avail_out == 0 { throw .outputTooLarge(limit: limit) }
            throw .truncated
        default:
            throw .corrupt(stream.msg.map { String(cString: $0) } ?? "error \(status)")
        }
    }
}
