import LicenceCore

/// A status list's place in the registry.
public struct StatusListInfo: Sendable, Hashable {
    public var number: Int64
    public var uri: String
    public var size: Int
}

/// The status of the licence in one status-list slot.
public struct SlotStatus: Sendable {
    public var list: Int64
    public var index: Int
    public var status: LicenceStatus
    public var licenceID: String
    /// The index of the licence's issuance leaf in the transparency log.
    public var logIndex: Int64?
}

/// One page of every licence's slot, and where the next page starts (nil after the last).
public struct SlotPage: Sendable {
    public var slots: [SlotStatus]
    /// An opaque position in the licence table.
    public var next: String?
}

/// The changes committed after a position: the lists they touch, the current status of each
/// licence they touch, and the new position.
public struct StatusChanges: Sendable {
    public var lists: [StatusListInfo]
    public var slots: [SlotStatus]
    public var position: Int64
}

/// What a server needs to keep every licence's status in memory and exact: a full load in pages,
/// the changes after a position, and a cheap test of whether anything changed at all.
///
/// Slots always carry a licence's *current* status, so applying a slot twice, or a change already
/// seen by a page, is harmless: a loader reads the position first, then the lists and pages, then
/// the changes after that position.
public protocol StatusFeed: Sendable {
    /// The position to ask for changes after; read it before the lists and pages.
    func position() async throws(RegistryError) -> Int64
    /// Every status list.
    func lists() async throws(RegistryError) -> [StatusListInfo]
    /// Up to `limit` licences' slots, from `start` (nil: the beginning) in a fixed order.
    func slots(from start: String?, limit: Int) async throws(RegistryError) -> SlotPage
    /// Lists and slot statuses changed after `position` (issuances and status changes).
    func changes(after position: Int64) async throws(RegistryError) -> StatusChanges
    /// A number that grows whenever another connection, in this process or another, commits, and
    /// only then. Cheap enough to read before every answer.
    func changeCounter() async throws(RegistryError) -> Int64
}
