/// 持证主体: the enterprise or citizen a licence is issued to.
public struct Holder: Sendable, Hashable {
    public var name: String
    public var code: HolderCode

    public init(name: String, code: HolderCode) {
        self.name = name
        self.code = code
    }
}

/// 颁证单位: the agency that issues and signs a licence.
public struct Issuer: Sendable, Hashable, Codable {
    public var code: String
    public var name: String

    public init(code: String, name: String) {
        self.code = code
        self.name = name
    }
}

/// A licence's content as issued (GB/T 36903 metadata), before and apart from its signature.
public struct Licence: Sendable, Hashable {
    /// 证照类型代码
    public var typeCode: String
    /// 证照名称
    public var typeName: String
    /// 证照编号: the number printed on the licence.
    public var number: String
    public var holder: Holder
    public var issuer: Issuer
    public var validFrom: CalendarDate
    /// The last valid day; nil when open-ended (长期).
    public var validUntil: CalendarDate?
    /// 关联事项
    public var relatedMatter: String?
    /// Extension fields defined by the licence type.
    public var fields: [String: String]

    public init(typeCode: String, typeName: String, number: String, holder: Holder, issuer: Issuer,
                validFrom: CalendarDate, validUntil: CalendarDate?, relatedMatter: String? = nil,
                fields: [String: String] = [:]) {
        self.typeCode = typeCode
        self.typeName = typeName
        self.number = number
        self.holder = holder
        self.issuer = issuer
        self.validFrom = validFrom
        self.validUntil = validUntil
        self.relatedMatter = relatedMatter
        self.fields = fields
    }

    /// `nbf`: 00:00 China time on the first valid day.
    public var notBefore: Int64 { validFrom.startInChina }
    /// `exp`: 00:00 China time on the day after the last valid day; nil when open-ended.
    public var expires: Int64? { validUntil?.endInChina }
}

/// Where a licence's entry sits in a status list (the `status` claim, IETF Token Status List).
public struct StatusReference: Sendable, Hashable, Codable {
    public var index: UInt64
    public var uri: String

    public init(index: UInt64, uri: String) {
        self.index = index
        self.uri = uri
    }
}
