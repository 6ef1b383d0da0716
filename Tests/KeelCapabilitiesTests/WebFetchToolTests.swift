import AsyncHTTPClient
import Foundation
import KeelCore
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
            #expect(ContinuousClock.now - start < .seconds(1.5))
        }
    }

    @Test("follows redirects, re-checking every hop")
    func redirects() async throws {
        try await TestHTTPServer.withServer { base, port in
            let tool = WebFetchTool(configuration: Self.local)
            let followed = try await TestSupport.call(tool, ["url": .string("\(base)/redirect")])
            #expect(followed["body"] == "hello world")
            #expect(followed["url"] == .string("\(base)/hello"))

            let loop = await TestSupport.toolErrorMessage { _ = try await TestSupport.call(tool, ["url": .string("\(base)/redirect-loop")]) }
            #expect(loop == "web_fetch: too many redirects (more than 5)")

            let ftp = await TestSupport.toolErrorMessage { _ = try await TestSupport.call(tool, ["url": .string("\(base)/redirect-ftp")]) }
            #expect(ftp?.hasPrefix("only http and https URLs are allowed") == true)

            // 127.0.0.1 is presented as public, localhost as loopback: the first hop passes and
            // the redirect to localhost must be refused.
            let spoofed = WebFetchTool(configuration: WebFetchConfiguration(), httpClient: WebFetchHTTPClient.shared) { host in
                let text = host == "127.0.0.1" ? "93.184.216.34" : "127.0.0.1"
                return IPAddress(text).map { [$0] } ?? []
            }
            let refused = await TestSupport.toolErrorMessage {
                _ = try await TestSupport.call(spoofed, ["url": .string("\(base)/redirect-localhost?port=\(port)")])
            }
            #expect(refused?.contains("refusing to fetch 'http://localhost:\(port)/hello'") == true, "got \(refused ?? "nil")")
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

    @Test("reports connection failures as tool errors")
    func connectionFailure() async throws {
        // The client retries failed connections until its connect timeout, so a short one keeps
        // the test fast.
        var configuration = WebFetchHTTPClient.configuration
        configuration.timeout.connect = .seconds(1)
        let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
        // `.invalid` never resolves (RFC 2606); the policy skips DNS here, so the client fails.
        let message = await TestSupport.toolErrorMessage {
            _ = try await TestSupport.call(WebFetchTool(configuration: Self.local, httpClient: client), ["url": "http://keel-test.invalid/"])
        }
        try await client.shutdown()
        #expect(message?.hasPrefix("web_fetch: request to 'http://keel-test.invalid/' failed") == true, "got \(message ?? "nil")")

        let unresolvable = await TestSupport.toolErrorMessage {
            _ = try await TestSupport.call(WebFetchTool(), ["url": "http://keel-test.invalid/"])
        }
        #expect(unresolvable?.hasPrefix("could not resolve host 'keel-test.invalid'") == true, "got \(unresolvable ?? "nil")")
    }
}
