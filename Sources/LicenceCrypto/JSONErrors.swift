import Foundation

/// Reading messages out of Foundation's JSON errors, in English and in Chinese, both naming the
/// JSON path of the problem as the document spells it (`holder.code`, `tokens[2]`).
public enum JSONErrors {
    /// A message naming the JSON path of the problem and what was expected.
    public static func describe(_ error: any Error) -> String {
        guard let decodingError = error as? DecodingError else { return "\(error)" }
        switch decodingError {
        case .typeMismatch(let type, let context):
            return "\(path(context.codingPath)): expected \(typeName(type))"
        case .valueNotFound(let type, let context):
            return "\(path(context.codingPath)): expected \(typeName(type)), found null"
        case .keyNotFound(let key, let context):
            return "\(path(context.codingPath + [key])): is missing"
        case .dataCorrupted(let context):
            guard context.codingPath.isEmpty else { return "\(path(context.codingPath)): \(context.debugDescription)" }
            let detail = (context.underlyingError as NSError?)?.userInfo[NSDebugDescriptionErrorKey] as? String
            return "not valid JSON" + (detail.map { " (\($0))" } ?? "")
        @unknown default:
            return "\(error)"
        }
    }

    /// The same in Chinese: only the JSON path and JSON's own words (`null`) stay as they are.
    public static func describeInChinese(_ error: any Error) -> String {
        guard let decodingError = error as? DecodingError else { return "内容无法读取" }
        switch decodingError {
        case .typeMismatch(let type, let context):
            return "\(path(context.codingPath, document: "请求体"))：应为\(chineseTypeName(type))"
        case .valueNotFound(let type, let context):
            return "\(path(context.codingPath, document: "请求体"))：应为\(chineseTypeName(type))，不能为 null"
        case .keyNotFound(let key, let context):
            return "缺少字段 \(path(context.codingPath + [key]))"
        case .dataCorrupted(let context):
            guard context.codingPath.isEmpty else { return "字段 \(path(context.codingPath)) 的取值不符合要求" }
            return "不是有效的 JSON"
        @unknown default:
            return "内容无法读取"
        }
    }

    private static func path(_ keys: [any CodingKey], document: String = "the document") -> String {
        let parts = keys.map { key in key.intValue.map { "[\($0)]" } ?? key.stringValue }
        return parts.isEmpty ? document : parts.joined(separator: ".").replacingOccurrences(of: ".[", with: "[")
    }

    private static func typeName(_ type: Any.Type) -> String {
        switch kind(type) {
        case .string: return "a string"
        case .integer: return "an integer"
        case .boolean: return "true or false"
        case .stringObject: return "an object of strings"
        case .array: return "an array"
        case .object: return "an object"
        }
    }

    private static func chineseTypeName(_ type: Any.Type) -> String {
        switch kind(type) {
        case .string: return "字符串"
        case .integer: return "整数"
        case .boolean: return "true 或 false"
        case .stringObject: return "值为字符串的对象"
        case .array: return "数组"
        case .object: return "对象"
        }
    }

    private enum Kind { case string, integer, boolean, stringObject, array, object }

    private static func kind(_ type: Any.Type) -> Kind {
        switch type {
        case is String.Type: return .string
        case is Int.Type, is Int64.Type, is UInt64.Type: return .integer
        case is Bool.Type: return .boolean
        case is [String: String].Type: return .stringObject
        default:
            let name = String(describing: type)
            if name.hasPrefix("Array") || name.hasPrefix("[") { return .array }
            return .object
        }
    }
}
