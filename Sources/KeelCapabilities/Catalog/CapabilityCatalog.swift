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
    /// Capabilities left out because this host cannot run them safely: id → reason.
    public let unavailable: [String: String]

    /// - Parameters:
    ///   - httpClient: used by `web_fetch`. It should not follow redirects itself (see
    ///     `WebFetchHTTPClient`), otherwise redirect targets are requested before being checked.
    ///   - pythonSandboxProblem: why `python` cannot be sandboxed on this host, or `nil`; asked
    ///     only when experimental capabilities are allowed. By default a trivial program is run
    ///     in the sandbox once per process (a fraction of a second, blocking).
    public init(
        allowExperimental: Bool = false, webFetch: WebFetchConfiguration = WebFetchConfiguration(),
        httpClient: HTTPClient = WebFetchHTTPClient.shared, python: PythonConfiguration = PythonConfiguration(),
        pythonSandboxProblem: (PythonConfiguration) -> PythonSandboxUnavailable? = PythonSandboxUnavailable.probe
    ) {
        var builtins = [
            BuiltinCapabilities.currentTime(),
            BuiltinCapabilities.sessionFileSystem(),
            BuiltinCapabilities.webFetch(configuration: webFetch, httpClient: httpClient),
            BuiltinCapabilities.statelessTodoList(),
            BuiltinCapabilities.testMath(),
            BuiltinCapabilities.askUser(),
            BuiltinCapabilities.toolApproval(),
        ]
        var unavailable: [String: String] = [:]
        if allowExperimental {
            // Never offered unsandboxed: without a working sandbox the capability does not exist here.
            if let problem = pythonSandboxProblem(python) {
                unavailable["python"] = problem.reason
            } else {
                builtins.append(BuiltinCapabilities.python(configuration: python))
            }
        }
        self.init(capabilities: builtins.filter { allowExperimental || !$0.experimental }, unavailable: unavailable)
    }

    /// A catalog of exactly `capabilities` (first occurrence wins on duplicate ids); for tests
    /// and for servers that add their own capabilities. `unavailable` names capabilities this
    /// host cannot offer, with the reason (for the start-up log; clients get a generic message).
    public init(capabilities: [Capability], unavailable: [String: String] = [:]) {
        var index: [String: Int] = [:]
        var kept: [Capability] = []
        for capability in capabilities where index[capability.id] == nil {
            index[capability.id] = kept.count
            kept.append(capability)
        }
        self.all = kept
        self.index = index
        self.unavailable = unavailable.filter { index[$0.key] == nil }
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
            guard let capability = capability(id: id) else {
                throw UnknownCapability(id, unavailableOnHost: unavailable[id] != nil)
            }
            // Marked before recursing so a dependency cycle terminates instead of looping.
            visited.insert(id)
            for dependency in capability.dependencies { try visit(dependency) }
            resolved.append(capability)
        }

        for ref in refs { try visit(ref) }
        return resolved
    }
}
