import Foundation
import HTTPTypes
import Hummingbird

extension Request {
    static let useCauseField = HTTPField.Name("X-Use-Cause")!
    /// The longest `X-Use-Cause` accepted, as sent: about 110 Chinese characters percent-encoded.
    static let maxUseCauseLength = 1024

    /// 办事事由 from `X-Use-Cause` (UTF-8 percent-encoded, since header values are ASCII), without
    /// control or format characters (it is printed to operators' terminals later). Its length was
    /// checked by ``AgencyAuthenticationMiddleware`` before any handler ran.
    var useCause: String? {
        headers[Self.useCauseField].map { raw in
            let decoded = raw.removingPercentEncoding ?? raw
            let clean = decoded.unicodeScalars.filter {
                $0.properties.generalCategory != .control && $0.properties.generalCategory != .format
            }
            return String(String.UnicodeScalarView(clean))
        }
    }

    var forwardedFor: String? { headers[HTTPField.Name("X-Forwarded-For")!] }
}
