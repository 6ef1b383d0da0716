import AsyncHTTPClient
import KeelCore

/// The capabilities this server offers, and resolution of an agent's capability references.
///
/// Experimental capabilities are left out entirely unless `allowExperimental` is set, so they
/// can neither be listed nor referenced: for every caller the catalog is the single answer to
/// "does capability X exist here".
public struct CapabilityCatalog: Sendable {
    /// Visible capabilities, in presentation order.
    public let all: [Capability]
    private let index: [String: Int]

    /// - Parameters:
    ///   - httpClient: used by `web_fetch`. It should not follow redirects itself (see
    ///     `WebFetchHTTPClient`), otherwise redirect targets are requested before being checked.
    public init(
        allowExperimental: Bool = false, webFetch: WebFetchConfiguration = WebFetchConfiguration(),
        httpClient: HTTPClient = WebFetchHTTPClient.shared, python: PythonConfiguration = PythonConfiguration()
    ) {
        let builtins = [
            BuiltinCapabilities.currentTime(),
            BuiltinCapabilities.sessionFileSystem(),
            BuiltinCapabilities.webFetch(configuration: webFetch, httpClient: httpClient),
            BuiltinCapabilities.statelessTodoList(),
            BuiltinCapabilities.testMath(),
            BuiltinCapabilities.python(configuration: python),
        ]
        self.init(capabilities: builtins.filter { allowExperimental || !$0.experimental })
    }

    /// A catalog of exactly `capabilities` (first occurrence wins on duplicate ids); for tests
    /// and for servers that add their own capabilities.
    public init(capabilities: [Capability]) {
        var index: [String: Int] = [:]
        var kept: [Capability] = []
        for capability in capabilities where index[capability.id] == nil {
            index[capability.id] = kept.count
            kept.append(capability)
        }
        self.all = kept
        self.index = index
    }

    public func capability(id: String) -> Capability? {
        index[id].map { all[$0] }
    }

    /// The capabilities for an agent's references: unknown ids rejected, duplicates dropped,
    /// order kept, and each capability's dependencies placed (once) before it.
    ///
    /// Dependencies come first because prompt additions are concatenated in this order and a
    /// capability's instructions may refer to tools of the ones it builds on.
    public func resolve(_ refs: [String]) throws(UnknownCapability) -> [Capability] {
        var resolved: [Capability] = []
        var visited: Set<String> = []

        func visit(_ id: String) throws(UnknownCapability) {
            guard !visited.contains(id) else { return }
            guard let capability = capability(id: id) else { throw UnknownCapability(id) }
            // Marked before recursing so a dependency cycle terminates instead of looping.
            visited.insert(id)
            for dependency in capability.dependencies { try visit(dependency) }
            resolved.append(capability)
        }

        for ref in refs { try visit(ref) }
        return resolved
    }
}
