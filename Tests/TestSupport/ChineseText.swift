import Foundation

/// Checks that a message meant for Chinese readers is Chinese throughout.
public enum ChineseText {
    /// Words that may stay as the API spells them: field and header names, JSON's own words, HTTP
    /// methods, and the names of formats.
    public static let apiWords: Set<String> = [
        "id", "token", "tokens", "holderCode", "allowBadChecksum", "JSON", "null", "true", "false", "Authorization", "Bearer",
        "X-Use-Cause", "GET", "POST", "PUT", "DELETE", "HEAD", "PATCH", "OPTIONS", "HTTP", "CBOR", "COSE",
    ]

    /// The English words of `text`: runs of two or more Latin letters that are neither a code (codes
    /// hold digits, such as 91350100MA2Y01111F or Base45), a URL, nor one of `allowed`.
    public static func englishWords(in text: String, allowed: Set<String> = apiWords) -> [String] {
        let withoutURLs = text.replacingOccurrences(of: #"https?://\S+"#, with: " ", options: .regularExpression)
        var words: [String] = []
        var current = ""
        func finish() {
            defer { current = "" }
            let letters = current.filter(\.isLetter)
            guard letters.count >= 2, current.allSatisfy({ $0.isLetter || $0 == "-" }), !allowed.contains(current) else { return }
            words.append(current)
        }
        for character in withoutURLs {
            if character.isASCII && (character.isLetter || character.isNumber || character == "-" || character == "_") {
                current.append(character)
            } else {
                finish()
            }
        }
        finish()
        return words
    }
}
