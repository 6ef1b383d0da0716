import KeelCore

/// Validation of a message's `metadata`, which becomes `langfuse.trace.metadata.<key>` on traces.
/// The limits keep spans within collector limits and stop callers from landing bare attributes
/// (hence no dots in keys). A violation is `ServiceError.invalidMetadata` naming the offending key.
public enum RunMetadata {
    public static let maxKeys = 32
    public static let maxKeyLength = 64
    public static let maxStringLength = 512

    public static func validate(_ metadata: JSONValue?) throws(ServiceError) {
        guard let metadata else { return }
        guard let object = metadata.objectValue else {
            throw .invalidMetadata("metadata must be an object of scalar values")
        }
        guard object.count <= maxKeys else {
            throw .invalidMetadata("metadata has \(object.count) keys; at most \(maxKeys) are allowed")
        }
        for (key, value) in object.sorted(by: { $0.key < $1.key }) {
            let validKey =
                (1...maxKeyLength).contains(key.utf8.count)
                && key.utf8.allSatisfy { byte in
                    (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
                        || byte == 0x5F || byte == 0x2D
                }
            guard validKey else {
                throw .invalidMetadata(
                    "metadata key '\(key.prefix(80))' must be 1-\(maxKeyLength) characters of A-Z, a-z, 0-9, _ or -")
            }
            switch value {
            case .string(let text) where text.count > maxStringLength:
                throw .invalidMetadata("metadata['\(key)'] is longer than \(maxStringLength) characters")
            case .string, .number, .bool:
                continue
            case .null, .array, .object:
                throw .invalidMetadata("metadata['\(key)'] must be a string, number or boolean")
            }
        }
    }
}
