import Dispatch
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension Collection where Index == Int, Element: Sendable {
    /// `map` spread over every core, results in order. For CPU-bound work such as signing,
    /// verifying or decoding many independent items; `transform` must be safe to run concurrently.
    public func concurrentMap<T: Sendable>(_ transform: @Sendable (Element) -> T) -> [T] {
        let count = self.count
        guard count > 1 else { return map(transform) }
        let items = Array(self)
        return [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            let output = OutputBuffer(base: buffer.baseAddress!)
            // Chunks of work, a few per core, so that small items do not drown in scheduling.
            let chunks = Swift.min(count, 16 * Swift.max(1, System.coreCount))
            DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
                let range = (chunk * count / chunks)..<((chunk + 1) * count / chunks)
                for index in range { (output.base + index).initialize(to: transform(items[index])) }
            }
            initialized = count
        }
    }
}

/// The destination of `concurrentMap`: each worker initialises only the indexes of its own chunk.
private struct OutputBuffer<T>: @unchecked Sendable {
    // @unchecked: workers write disjoint index ranges, and the buffer is read only after all finish.
    let base: UnsafeMutablePointer<T>
}

enum System {
    static let coreCount: Int = {
        #if canImport(Glibc) || canImport(Darwin)
        return Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        #else
        return 1
        #endif
    }()
}
