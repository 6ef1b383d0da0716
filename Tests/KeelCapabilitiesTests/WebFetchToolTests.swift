import AsyncHTTPClient
import Foundation
import KeelCore
import Synchronization
import Testing
@testable import KeelCapabilities

@Suite("web_fetch", .timeLimit(.minutes(1)))
struct WebFetchToolTests {
    static let local = WebFetchConfiguration(allowPrivateAddresses: true)

    @Test("fetches a local page when private addresses are allowed")
    func fetchAllowed() async throws {
        try await TestHTTPServer.withServer { base, _ in
            let result = try await TestSupport.call(WebFetchTool(configuration: Self.local), ["url": .string("\(base)/hello")])
            #expect(result["status"] == 200)
            #expect(result["body"] == "hello world")
            #expect(result["truncated"] == false)
            #expect(result["content_type"]?.stringValue?.hasPrefix("text/plain") == true)
        }
    }

    @Test("refuses loopback by default")
    func loopbackRefused() async throws {
        try await TestHTTPServer.withServer { base, port in
            let tool = WebFetchTool()
            let byIP = await TestSupport.toolErrorMessage { _ = try await TestSupport.call(tool, ["url": .string("\(base)/hello")]) }
            #expect(byIP?.contains("loopback") == true, "got \(byIP ?? "nil")")
            let byName = await TestSupport.toolErrorMessage {
                _ = try await TestSupport.call(tool, ["url": .string("http://localhost:\(port)/hello")])
            }
            #expect(byName?.contains("only public addresses may be fetched") == true, "got \(byName ?? "nil")")
        }
    }

    @Test("refuses non-public IP literals in any spelling", arguments: [
        "http://[::1]:1/", "http://0x7f000001:1/", "http://127.1:1/", "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:10.0.0.1]/", "https://10.0.0.1/",
    ])
    func literalRefused(url: String) async {
        let message = await TestSupport.toolErrorMessage { _ = try await TestSupport.call(WebFetchTool(), ["url": .string(url)]) }
        #expect(message?.contains("only public addresses may be fetched") == true, "got \(message ?? "nil")")
    }

    @Test("refuses schemes other than http and https", arguments: ["ftp://example.com/x", "file:///etc/passwd", "gopher://h/", "javascript:alert(1)"])
    func schemeRefused(url: String) async {
        let message = await TestSupport.toolErrorMessage { _ = try await TestSupport.call(WebFetchTool(), ["url": .string(url)]) }
        #expect(message?.hasPrefix("only http and https URLs are allowed") == true, "got \(message ?? "nil")")
    }

    @Test("refuses methods other than GET and requires a url")
    func argumentValidation() async {
        let post = await TestSupport.toolErrorMessage {
            _ = try await TestSupport.call(WebFetchTool(), ["url": "https://example.com", "method": "POST"])
        }
        #expect(post == "web_fetch: only GET is supported (got 'POST')")
        let missing = await TestSupport.toolErrorMessage { _ = try await TestSupport.call(WebFetchTool(), [:]) }
        #expect(missing == "web_fetch: missing required argument 'url'")
        let relative = await TestSupport.toolErrorMessage { _ = try await TestSupport.call(WebFetchTool(), ["url": "/just/a/path"]) }
        #expect(relative?.contains("not an absolute URL") == true)
    }

    @Test("truncates bodies over maxBytes and flags it")
    func truncation() async throws {
        try await TestHTTPServer.withServer { base, _ in
            let tool = WebFetchTool(configuration: WebFetchConfiguration(allowPrivateAddresses: true, maxBytes: 1000))
            let result = try await TestSupport.call(tool, ["url": .string("\(base)/big")])
            #expect(result["body"]?.stringValue?.utf8.count == 1000)
            #expect(result["truncated"] == true)
        }
    }

    @Test("times out on a slow response head and on a slow body", arguments: ["slow-head", "slow-body"])
    func timeout(path: String) async throws {
        try await TestHTTPServer.withServer { base, _ in
            let tool = WebFetchTool(configuration: WebFetchConfiguration(allowPrivateAddresses: true, timeout: .milliseconds(300)))
            let start = ContinuousClock.now
            let message = await TestSupport.toolErrorMessage { _ = try await TestSupport.call(tool, ["url": .string("\(base)/\(path)")]) }
            #expect(message == "timed out after 300ms")
            #expect(ContinuousClock.now - start < .seconds(15))  // the server answers after 30 s; loose for a loaded machine
        }
    }

    @Test("follows redirects, re-checking every hop")
    func redirects() async throws {
        try await TestHTTPServer.withServer { base, _ in
            let tool = WebFetchTool(configuration: Self.local)
            let followed = try await TestSupport.call(tool, ["url": .string("\(base)/redirect")])
            #expect(followed["body"] == "hello world")
            #expect(followed["url"] == .string("\(base)/hello"))

            let loop = await TestSupport.toolErrorMessage { _ = try await TestSupport.call(tool, ["url": .string("\(base)/redirect-loop")]) }
            #expect(loop == "web_fetch: too many redirects (more than 5)")

            let ftp = await TestSupport.toolErrorMessage { _ = try await TestSupport.call(tool, ["url": .string("\(base)/redirect-ftp")]) }
            #expect(ftp?.hasPrefix("only http and https URLs are allowed") == true)
        }
    }

    /// A resolver that answers `first` once and `later` for every further call, like a DNS
    /// server rebinding the name after the check; it counts its calls.
    final class RebindingResolver: Sendable {
        let calls = Mutex(0)
        let first: IPAddress
        let later: IPAddress
        init(first: String, later: String) throws {
            self.first = try #require(IPAddress(first))
            self.later = try #require(IPAddress(later))
        }
        func resolve(_ host: String) -> [IPAddress] {
            calls.withLock { count in
                count += 1
                return count == 1 ? [first] : [later]
            }
        }
    }

    @Test("connects to the address that was checked, with the original Host header")
    func connectsToCheckedAddress() async throws {
        try await TestHTTPServer.withServer { _, port in
            // The server listens on 127.0.0.1 only; nothing answers on 127.0.0.2. A second
            // resolution (the client's own, or ours) would not reach it; `.invalid` never
            // resolves in real DNS either.
            let resolver = try RebindingResolver(first: "127.0.0.1", later: "127.0.0.2")
            let tool = WebFetchTool(configuration: Self.local, resolve: { resolver.resolve($0) })
            let result = try await TestSupport.call(tool, ["url": .string("http://rebind.invalid:\(port)/host")])
            #expect(result["body"] == .string("rebind.invalid:\(port)"))
            #expect(resolver.calls.withLock { $0 } == 1)
        }
    }

    @Test("a name the system resolves to the server is not re-resolved after the check")
    func noSecondResolution() async throws {
        try await TestHTTPServer.withServer { base, port in
            // The system resolves localhost to the test server; the checked answer is
            // 127.0.0.2, where nothing listens. Reaching the server would prove a second
            // resolution — directly and on a redirect hop.
            let tool = WebFetchTool(
                configuration: WebFetchConfiguration(allowPrivateAddresses: true, timeout: .seconds(2)),
                clientConfiguration: Self.fastFailing,
                resolve: { host in host == "localhost" ? [IPAddress("127.0.0.2")].compactMap { $0 } : [] }
            )
            for url in ["http://localhost:\(port)/hello", "\(base)/redirect-localhost?port=\(port)"] {
                let message = await TestSupport.toolErrorMessage { _ = try await TestSupport.call(tool, ["url": .string(url)]) }
                #expect(message != nil, "\(url) reached the server through a second resolution")
            }
        }
    }

    @Test("returns metadata only for binary content")
    func binary() async throws {
        try await TestHTTPServer.withServer { base, _ in
            let tool = WebFetchTool(configuration: Self.local)
            let png = try await TestSupport.call(tool, ["url": .string("\(base)/png")])
            #expect(png["binary"] == true)
            #expect(png["body"] == nil)
            #expect(png["content_type"] == "image/png")
            #expect(png["content_length"] == 7)

            let untyped = try await TestSupport.call(tool, ["url": .string("\(base)/untyped-binary")])
            #expect(untyped["binary"] == true)
            #expect(untyped["body"] == nil)

            let json = try await TestSupport.call(tool, ["url": .string("\(base)/json")])
            #expect(json["body"] == #"{"ok":true}"#)
        }
    }

    /// The client retries failed connections until its connect timeout; a short one keeps
    /// connection-failure tests fast.
    static var fastFailing: HTTPClient.Configuration {
        var configuration = WebFetchHTTPClient.configuration
        configuration.timeout.connect = .seconds(1)
        return configuration
    }

    @Test("reports connection failures as tool errors")
    func connectionFailure() async throws {
        // Nothing listens on 127.0.0.2:1.
        let tool = WebFetchTool(
            configuration: Self.local, clientConfiguration: Self.fastFailing, resolve: { _ in [IPAddress("127.0.0.2")].compactMap { $0 } })
        let message = await TestSupport.toolErrorMessage { _ = try await TestSupport.call(tool, ["url": "http://keel-test.invalid:1/"]) }
        #expect(message?.hasPrefix("web_fetch: request to 'http://keel-test.invalid:1/' failed") == true, "got \(message ?? "nil")")

        let unresolvable = await TestSupport.toolErrorMessage {
            _ = try await TestSupport.call(WebFetchTool(), ["url": "http://keel-test.invalid/"])
        }
        #expect(unresolvable?.hasPrefix("could not resolve host 'keel-test.invalid'") == true, "got \(unresolvable ?? "nil")")
    }
}
