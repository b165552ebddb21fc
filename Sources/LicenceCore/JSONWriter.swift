/// Writes JSON without Foundation, for the verification hot path: objects are written with their
/// keys in the order given (callers give them sorted), strings escaped per RFC 8259.
public struct JSONWriter {
    public private(set) var bytes: [UInt8] = []
    private var needsComma: [Bool] = [false]

    public init(capacity: Int = 1024) {
        bytes.reserveCapacity(capacity)
    }

    private mutating func separator() {
        if needsComma[needsComma.count - 1] { bytes.append(UInt8(ascii: ",")) }
        needsComma[needsComma.count - 1] = true
    }

    public mutating func beginObject() {
        bytes.append(UInt8(ascii: "{"))
        needsComma.append(false)
    }

    public mutating func endObject() {
        bytes.append(UInt8(ascii: "}"))
        needsComma.removeLast()
    }

    public mutating func beginArray() {
        bytes.append(UInt8(ascii: "["))
        needsComma.append(false)
    }

    public mutating func endArray() {
        bytes.append(UInt8(ascii: "]"))
        needsComma.removeLast()
    }

    /// Starts a member of the current object.
    public mutating func key(_ name: String) {
        separator()
        writeString(name)
        bytes.append(UInt8(ascii: ":"))
        needsComma[needsComma.count - 1] = false
        pendingMember = true
    }

    private var pendingMember = false

    /// Before a value: a comma in arrays; nothing right after a key.
    private mutating func beforeValue() {
        if pendingMember {
            pendingMember = false
            needsComma[needsComma.count - 1] = true
        } else {
            separator()
        }
    }

    public mutating func string(_ value: String) {
        beforeValue()
        writeString(value)
    }

    public mutating func bool(_ value: Bool) {
        beforeValue()
        bytes.append(contentsOf: (value ? "true" : "false").utf8)
    }

    public mutating func int(_ value: Int64) {
        beforeValue()
        bytes.append(contentsOf: String(value).utf8)
    }

    public mutating func uint(_ value: UInt64) {
        beforeValue()
        bytes.append(contentsOf: String(value).utf8)
    }

    public mutating func null() {
        beforeValue()
        bytes.append(contentsOf: "null".utf8)
    }

    /// Starts an object or array as a value (after `key` or in an array).
    public mutating func objectValue(_ body: (inout JSONWriter) -> Void) {
        beforeValue()
        beginObject()
        body(&self)
        endObject()
    }

    public mutating func arrayValue(_ body: (inout JSONWriter) -> Void) {
        beforeValue()
        beginArray()
        body(&self)
        endArray()
    }

    private mutating func writeString(_ value: String) {
        bytes.append(UInt8(ascii: "\""))
        var value = value
        value.withUTF8 { utf8 in
            // Runs of bytes that need no escape are copied whole.
            var run = 0
            for index in 0..<utf8.count {
                let byte = utf8[index]
                guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[run..<index]))
                appendEscaped(byte)
                run = index + 1
            }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[run...]))
        }
        bytes.append(UInt8(ascii: "\""))
    }

    private mutating func appendEscaped(_ byte: UInt8) {
        switch byte {
        case UInt8(ascii: "\""): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
        case UInt8(ascii: "\\"): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
        case 0x0a: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
        case 0x0d: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
        case 0x09: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
        case 0x08: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "b")])
        case 0x0c: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "f")])
        default:
            let hex = Array("0123456789abcdef".utf8)
            bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"),
                                      hex[Int(byte >> 4)], hex[Int(byte & 0xf)]])
        }
    }
}

extension VerificationReport {
    /// The report as JSON, keys sorted, written without Foundation.
    public var json: [UInt8] {
        var writer = JSONWriter()
        writer.beginObject()
        if let alg { writer.key("alg"); writer.string(alg) }
        if let authority {
            writer.key("authority")
            writer.objectValue { w in
                w.key("code"); w.string(authority.code)
                w.key("displayName"); w.string(authority.displayName)
                w.key("name"); w.string(authority.name)
            }
        }
        if let detail { writer.key("detail"); writer.string(detail) }
        if let kid { writer.key("kid"); writer.string(kid) }
        if let layer { writer.key("layer"); writer.string(layer.rawValue) }
        if let licence {
            writer.key("licence")
            writer.objectValue { licence.write(to: &$0) }
        }
        if let log {
            writer.key("log")
            writer.objectValue { w in
                w.key("index"); w.int(log.index)
                w.key("treeSize"); w.int(log.treeSize)
            }
        }
        writer.key("message")
        writer.objectValue { w in
            w.key("en"); w.string(message.en)
            w.key("zh"); w.string(message.zh)
        }
        writer.key("outcome"); writer.string(outcome)
        if let presentation {
            writer.key("presentation")
            writer.objectValue { w in
                w.key("device"); w.string(presentation.device)
                w.key("disclosed")
                w.arrayValue { a in for name in presentation.disclosed { a.string(name) } }
                w.key("presentedAt"); w.string(presentation.presentedAt)
            }
        }
        writer.key("statusChecked"); writer.bool(statusChecked)
        if let statusSince { writer.key("statusSince"); writer.string(statusSince) }
        writer.key("valid"); writer.bool(valid)
        writer.endObject()
        return writer.bytes
    }
}

extension LicenceJSON {
    /// The members of the licence JSON, keys sorted.
    public func write(to writer: inout JSONWriter) {
        writer.key("fields")
        writer.objectValue { w in
            for (name, value) in fields.sorted(by: { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }) {
                w.key(name); w.string(value)
            }
        }
        writer.key("holder")
        writer.objectValue { w in
            if let code = holder.code { w.key("code"); w.string(code) }
            if let codeType = holder.codeType { w.key("codeType"); w.string(codeType) }
            if let name = holder.name { w.key("name"); w.string(name) }
        }
        writer.key("id"); writer.string(id)
        writer.key("issuedAt"); writer.string(issuedAt)
        writer.key("issuer")
        writer.objectValue { w in
            if let code = issuer.code { w.key("code"); w.string(code) }
            if let name = issuer.name { w.key("name"); w.string(name) }
        }
        writer.key("number"); writer.string(number)
        if let relatedMatter { writer.key("relatedMatter"); writer.string(relatedMatter) }
        if let status { writer.key("status"); writer.string(status.rawValue) }
        if let statusList {
            writer.key("statusList")
            writer.objectValue { w in
                w.key("index"); w.uint(statusList.index)
                w.key("uri"); w.string(statusList.uri)
            }
        }
        if let supersededBy { writer.key("supersededBy"); writer.string(supersededBy) }
        if let token { writer.key("token"); writer.string(token) }
        writer.key("type"); writer.string(type)
        writer.key("typeName"); writer.string(typeName)
        writer.key("validFrom"); writer.string(validFrom)
        writer.key("validUntil")
        if let validUntil { writer.string(validUntil) } else { writer.null() }
        writer.key("version"); writer.int(Int64(version))
    }
}
