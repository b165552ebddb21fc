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
        var stream = z_stream()
        guard elicence_inflateInit(&stream) == Z_OK else { throw .corrupt("inflateInit failed") }
        defer { inflateEnd(&stream) }
        var input = input
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: min(max(limit, 1), 16_384))
        var status: Int32 = Z_OK
        let result: Result<Int, Zlib.Error> = input.withUnsafeMutableBufferPointer { inBuffer in
            stream.next_in = inBuffer.baseAddress
            stream.avail_in = uInt(inBuffer.count)
            while true {
                let produced = chunk.withUnsafeMutableBufferPointer { outBuffer in
                    stream.next_out = outBuffer.baseAddress
                    stream.avail_out = uInt(outBuffer.count)
                    status = inflate(&stream, Z_NO_FLUSH)
                    return outBuffer.count - Int(stream.avail_out)
                }
                switch status {
                case Z_OK, Z_STREAM_END, Z_BUF_ERROR:
                    if output.count + produced > limit { return .failure(.outputTooLarge(limit: limit)) }
                    output.append(contentsOf: chunk[0..<produced])
                default:
                    let message = stream.msg.map { String(cString: $0) } ?? "error \(status)"
                    return .failure(.corrupt(message))
                }
                if status == Z_STREAM_END { return .success(Int(stream.avail_in)) }
                if status == Z_BUF_ERROR || (produced == 0 && stream.avail_in == 0) {
                    return .failure(.truncated)
                }
            }
        }
        switch result {
        case .failure(let error): throw error
        case .success(let remaining):
            guard remaining == 0 else { throw .trailingBytes }
            return output
        }
    }
}
