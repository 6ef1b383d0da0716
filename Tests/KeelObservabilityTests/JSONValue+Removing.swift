import KeelCore

extension JSONValue {
    /// This object without `key`: a payload that no longer decodes, for malformed-event tests.
    func removing(_ key: String) -> JSONValue {
        guard case .object(var object) = self else { return self }
        object[key] = nil
        return .object(object)
    }
}
