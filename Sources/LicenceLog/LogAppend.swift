/// What appending leaves to a stored tree writes: each leaf with its hash, and each hash of a higher
/// level whose block of 256 the new leaves complete. The same for every storage engine; an engine
/// reads the right edge (``edge(size:)``), then writes what ``init(size:edge:leaves:)`` says, in the
/// transaction that makes the change the leaves record.
public struct LogAppend: Sendable {
    public struct Entry: Sendable {
        public var index: Int64
        public var data: [UInt8]
        public var hash: LogHash
    }

    public struct NodeHash: Sendable {
        public var level: Int
        public var index: Int64
        public var hash: LogHash
    }

    /// The new leaves, from index `size` on.
    public private(set) var entries: [Entry] = []
    /// New hashes of levels 1 and above.
    public private(set) var hashes: [NodeHash] = []
    public private(set) var newSize: Int64

    /// The stored hashes an append to a tree of `size` leaves needs: for each level, those of its
    /// last, incomplete block of 256.
    public static func edge(size: Int64) -> [(level: Int, range: Range<Int64>)] {
        var ranges: [(Int, Range<Int64>)] = []
        var count = size
        var level = 0
        while count > 0 {
            let start = count - count % Int64(Merkle.tileWidth)
            if start < count { ranges.append((level, start..<count)) }
            count /= Int64(Merkle.tileWidth)
            level += 1
        }
        return ranges
    }

    /// - Parameters:
    ///   - size: leaves in the tree now.
    ///   - edge: the hashes ``edge(size:)`` names, by level.
    ///   - leaves: the data of the new leaves, in order.
    public init(size: Int64, edge: [Int: [LogHash]], leaves: [[UInt8]]) {
        newSize = size
        var open: [[LogHash]] = []  // the incomplete block of each level
        var counts: [Int64] = []  // hashes of each level so far
        var count = size
        var level = 0
        repeat {
            open.append(edge[level] ?? [])
            counts.append(count)
            count /= Int64(Merkle.tileWidth)
            level += 1
        } while count > 0
        entries.reserveCapacity(leaves.count)
        for data in leaves {
            let hash = Merkle.leafHash(data)
            entries.append(Entry(index: newSize, data: data, hash: hash))
            newSize += 1
            var carry = hash
            var level = 0
            while true {
                if level == open.count {
                    open.append([])
                    counts.append(0)
                }
                open[level].append(carry)
                counts[level] += 1
                guard open[level].count == Merkle.tileWidth else { break }
                carry = Merkle.completeRoot(open[level])
                open[level].removeAll(keepingCapacity: true)
                if level + 1 == open.count {
                    open.append([])
                    counts.append(0)
                }
                hashes.append(NodeHash(level: level + 1, index: counts[level + 1], hash: carry))
                level += 1
            }
        }
    }
}
