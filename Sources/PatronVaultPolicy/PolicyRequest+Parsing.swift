import Foundation

extension PolicyRequest {
    /// Builds a request from `key=value` text, as typed for `policy explain` or written in test
    /// cases, checking every key and value against the schema so a typo is an error rather
    /// than a request that silently falls through to deny by default.
    ///
    /// - principal: `role=` (required), `id=`, `patron=`, `kind=` (`staff`/`patron`; inferred
    ///   from the role). For a patron, `id` and `patron` default to each other.
    /// - action: one action name.
    /// - resource: `kind=` (required), `patron=`, `state=`.
    /// - context: `purpose=`, `consent=`, `legalOrder=` (`true`/`false`), `time=` (ISO 8601, or a
    ///   date for midnight UTC), `frontEnd=` (`cli` by default). Purposes are not checked
    ///   against the list: the rules decide what an unlisted purpose gets.
    public static func parse(
        principal: String, action: String, resource: String, context: String = "",
        schema: PolicySchema, defaultTime: Date = Date()
    ) throws(PolicyRequestError) -> PolicyRequest {
        let who = try Pairs(part: "principal", text: principal, keys: ["kind", "role", "id", "patron"], schema: schema)
        let what = try Pairs(part: "resource", text: resource, keys: ["kind", "patron", "state"], schema: schema)
        let circumstances = try Pairs(part: "context", text: context, keys: ["purpose", "consent", "legalOrder", "time", "frontEnd"], schema: schema)

        guard let role = who["role"] else { throw PolicyRequestError(part: "principal", message: "role= is required, one of \(schema.roles.joined(separator: ", "))") }
        try who.check("role", against: schema.roles, naming: "role")
        let kind = who["kind"] ?? (role == "patron" ? "patron" : "staff")
        try who.check("kind", against: ["staff", "patron"], naming: "principal kind")
        let id: String
        let patron: String?
        if kind == "patron" {
            guard let given = who["id"] ?? who["patron"] else {
                throw PolicyRequestError(part: "principal", message: "a patron principal needs id= (the patron's pseudonym)")
            }
            id = given
            patron = who["patron"] ?? given
        } else {
            if let offset = who.offset(of: "patron") {
                throw PolicyRequestError(part: "principal", message: "a staff principal has no patron pseudonym; drop patron=", offset: offset)
            }
            guard let given = who["id"] else { throw PolicyRequestError(part: "principal", message: "id= (the staff id) is required") }
            id = given
            patron = nil
        }

        let actionName = action.trimmingSpaces
        guard !actionName.isEmpty else { throw PolicyRequestError(part: "action", message: "an action is required, such as history.read") }
        if !schema.actions.isEmpty, !schema.actions.contains(String(actionName)) {
            throw PolicyRequestError(part: "action", message: "unknown action \(actionName); the schema's actions are \(schema.actions.joined(separator: ", "))")
        }

        guard let resourceKind = what["kind"] else {
            throw PolicyRequestError(part: "resource", message: "kind= is required, one of \(schema.resourceKinds.joined(separator: ", "))")
        }
        try what.check("kind", against: schema.resourceKinds, naming: "resource kind")
        try what.checkEnumeration("state", path: "resource.state")
        try circumstances.checkEnumeration("frontEnd", path: "context.frontEnd")

        var time = defaultTime
        if let text = circumstances["time"] {
            guard let seconds = Timestamp.parseDateTime(text) ?? Timestamp.parseDate(text) else {
                throw PolicyRequestError(part: "context", message: "time=\(text) is not a date or time; write 2025-06-01 or 2025-06-01T09:00:00Z", offset: circumstances.offset(of: "time") ?? 0)
            }
            time = Date(timeIntervalSince1970: seconds)
        }
        return PolicyRequest(
            principalKind: kind, principalRole: role, principalID: id, principalPatron: patron,
            action: String(actionName), resourceKind: resourceKind, resourcePatron: what["patron"], resourceState: what["state"],
            purpose: circumstances["purpose"], consent: try circumstances.flag("consent"), legalOrder: try circumstances.flag("legalOrder"),
            time: time, frontEnd: circumstances["frontEnd"] ?? "cli")
    }
}

/// `key=value` pairs separated by commas, with the offset of each value for error locations.
private struct Pairs {
    let part: String
    let schema: PolicySchema
    private var values: [String: (value: String, offset: Int)] = [:]

    init(part: String, text: String, keys: [String], schema: PolicySchema) throws(PolicyRequestError) {
        self.part = part
        self.schema = schema
        var offset = 0
        for piece in text.split(separator: ",", omittingEmptySubsequences: false) {
            defer { offset += piece.unicodeScalars.count + 1 }
            let leading = piece.prefix { $0.isWhitespace }.unicodeScalars.count
            let trimmed = String(piece).trimmingSpaces
            if trimmed.isEmpty {
                if text.trimmingSpaces.isEmpty { continue }
                throw PolicyRequestError(part: part, message: "an empty item; write key=value pairs separated by commas", offset: offset)
            }
            guard let equals = trimmed.firstIndex(of: "=") else {
                throw PolicyRequestError(part: part, message: "\(trimmed) is not key=value", offset: offset + leading)
            }
            let key = String(trimmed[..<equals]).trimmingSpaces
            let value = String(String(trimmed[trimmed.index(after: equals)...]).trimmingSpaces)
            let valueOffset = offset + leading + trimmed[...equals].unicodeScalars.count
            guard keys.contains(String(key)) else {
                throw PolicyRequestError(part: part, message: "unknown key \(key); known keys are \(keys.joined(separator: ", "))", offset: offset + leading)
            }
            let path = "\(part).\(key)"
            if !schema.attributePaths.isEmpty, schema.attributes[path] == nil, path != "principal.role", path != "principal.kind", path != "resource.kind" {
                throw PolicyRequestError(part: part, message: "the schema declares no attribute \(path)", offset: offset + leading)
            }
            guard values[String(key)] == nil else {
                throw PolicyRequestError(part: part, message: "\(key) is given twice", offset: offset + leading)
            }
            guard !value.isEmpty else {
                throw PolicyRequestError(part: part, message: "\(key)= has no value", offset: valueOffset)
            }
            values[String(key)] = (value, valueOffset)
        }
    }

    subscript(key: String) -> String? { values[key]?.value }

    func offset(of key: String) -> Int? { values[key]?.offset }

    func check(_ key: String, against allowed: [String], naming noun: String) throws(PolicyRequestError) {
        guard let entry = values[key], !allowed.isEmpty, !allowed.contains(entry.value) else { return }
        throw PolicyRequestError(part: part, message: "unknown \(noun) \(entry.value); expected one of \(allowed.joined(separator: ", "))", offset: entry.offset)
    }

    func checkEnumeration(_ key: String, path: String) throws(PolicyRequestError) {
        guard case .enumeration(let name)? = schema.attributes[path]?.type else { return }
        try check(key, against: schema.members(of: name), naming: name)
    }

    func flag(_ key: String) throws(PolicyRequestError) -> Bool {
        guard let entry = values[key] else { return false }
        switch entry.value {
        case "true", "yes": return true
        case "false", "no": return false
        default: throw PolicyRequestError(part: part, message: "\(key)=\(entry.value) must be true or false", offset: entry.offset)
        }
    }
}
