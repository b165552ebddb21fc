import CZlib
import Synchronization

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

    /// Deflates `input` whole. A token is a few hundred bytes, for which setting up a stream (a
    /// quarter of a megabyte of tables, allocated and cleared) costs more than compressing; so
    /// streams at level 9 (the default here) are kept and reset, which gives the same bytes as a new one.
    public static func compress(_ input: [UInt8], level: Int32 = 9) -> [UInt8] {
        let stream = level == 9 ? (idleStreams.withLock { $0.popLast() } ?? newStream(level: level)) : newStream(level: level)
        defer { release(stream, level: level) }
        guard deflateReset(stream.pointer) == Z_OK else { preconditionFailure("deflateReset of a stream set up by deflateInit failed") }
        var output = [UInt8](repeating: 0, count: Int(deflateBound(stream.pointer, uLong(input.count))))
        var input = input
        let produced = input.withUnsafeMutableBufferPointer { inBuffer in
            output.withUnsafeMutableBufferPointer { outBuffer in
                stream.pointer.pointee.next_in = inBuffer.baseAddress
                stream.pointer.pointee.avail_in = uInt(inBuffer.count)
                stream.pointer.pointee.next_out = outBuffer.baseAddress
                stream.pointer.pointee.avail_out = uInt(outBuffer.count)
                let status = deflate(stream.pointer, Z_FINISH)
                precondition(status == Z_STREAM_END, "deflate into a deflateBound buffer must finish")
                return outBuffer.count - Int(stream.pointer.pointee.avail_out)
            }
        }
        // The stream keeps no pointer into this call's buffers past it.
        stream.pointer.pointee.next_in = nil
        stream.pointer.pointee.next_out = nil
        output.removeSubrange(produced...)
        return output
    }

    /// A deflate stream at a fixed address (zlib's state points back at it), used by one call at a time.
    private struct Stream: @unchecked Sendable {
        let pointer: UnsafeMutablePointer<z_stream>
    }

    /// Streams kept between calls: enough for every core to compress at once, 256 KiB each.
    private static let maxIdleStreams = 16
    private static let idleStreams = Mutex<[Stream]>([])

    private static func release(_ stream: Stream, level: Int32) {
        let kept = level == 9 && idleStreams.withLock { streams in
            guard streams.count < maxIdleStreams else { return false }
            streams.append(stream)
            return true
        }
        guard !kept else { return }
        deflateEnd(stream.pointer)
        stream.pointer.deinitialize(count: 1)
        stream.pointer.deallocate()
    }

    private static func newStream(level: Int32) -> Stream {
        let pointer = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        pointer.initialize(to: z_stream())
        guard elicence_deflateInit(pointer, level) == Z_OK else {
            preconditionFailure("deflateInit failed: out of memory")
        }
        return Stream(pointer: pointer)
    }

    /// Inflates `input`, failing once the output would exceed `limit` bytes.
    public static func decompress(_ input: [UInt8], limit: Int) throws(Zlib.Error) -> [UInt8] {
        try input.withUnsafeBufferPointer { buffer throws(Zlib.Error) in try decompress(buffer, limit: limit) }
    }

    /// Inflates `input` with `Z_FINISH` into room for one byte more than `limit`: a stream that
    /// fills the room is over the limit. The first room is a small multiple of the input, enough
    /// for a token in one call (zlib then keeps no sliding window); a stream that needs more is
    /// given more, up to the limit, and goes on where it stopped.
    public static func decompress(_ input: UnsafeBufferPointer<UInt8>, limit: Int) throws(Zlib.Error) -> [UInt8] {
        var stream = z_stream()
        guard elicence_inflateInit(&stream) == Z_OK else { throw .corrupt("inflateInit failed") }
        defer { inflateEnd(&stream) }
        // Deflate expands at most about 1032:1, so a small input needs little room whatever the limit.
        let limit = min(max(limit, 0), Int(UInt32.max) - 1)
        let room = min(limit + 1, input.count * 1032 + 64)
        var capacity = min(room, max(1024, input.count * 4))
        var buffer = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: capacity)
        defer { buffer.deallocate() }
        stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress)
        stream.avail_in = uInt(input.count)
        stream.next_out = buffer.baseAddress
        stream.avail_out = uInt(capacity)
        while true {
            let status = inflate(&stream, Z_FINISH)
            let produced = capacity - Int(stream.avail_out)
            switch status {
            case Z_STREAM_END:
                guard produced <= limit else { throw .outputTooLarge(limit: limit) }
                guard stream.avail_in == 0 else { throw .trailingBytes }
                return Array(UnsafeBufferPointer(rebasing: buffer[0..<produced]))
            case Z_BUF_ERROR, Z_OK:
                // Out of input (the stream goes on), or out of room: more room up to the limit's,
                // past which the stream is over the limit.
                guard stream.avail_out == 0 else { throw .truncated }
                guard capacity < room else { throw .outputTooLarge(limit: limit) }
                let larger = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: min(room, capacity * 8))
                _ = larger.initialize(from: buffer[0..<produced])
                buffer.deallocate()
                buffer = larger
                capacity = larger.count
                stream.next_out = buffer.baseAddress! + produced
                stream.avail_out = uInt(capacity - produced)
            default:
                throw .corrupt(stream.msg.map { String(cString: $0) } ?? "error \(status)")
            }
        }
    }
}
