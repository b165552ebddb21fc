/// Who may call a route.
enum Access: String, Sendable {
    /// Anyone; anonymous callers are rate-limited per address.
    case anyoneRateLimited
    /// Anyone, without limit.
    case anyone
    /// Agencies with a key.
    case agency
    /// A holder's enrolled device, by a DPoP proof signed with its key (enrolment: with the key it enrols).
    case device
    /// A service window signed in as its agency (the session cookie).
    case window
}
