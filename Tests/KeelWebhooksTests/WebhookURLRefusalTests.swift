import KeelCapabilities
import Testing
@testable import KeelWebhooks

@Suite("webhook URL refusal", .timeLimit(.minutes(1)))
struct WebhookURLRefusalTests {
    static func dispatcher(
        allowPrivate: Bool, maxURLLength: Int = 2048,
        resolve: @escaping @Sendable (String) async throws -> [IPAddress] = { try await HostResolver.resolve($0) }
    ) -> WebhookDispatcher {
        WebhookDispatcher(
            settings: WebhookSettings(allowPrivateAddresses: allowPrivate, maxURLLength: maxURLLength), logger: quietLogger,
            resolve: resolve, localAddresses: { [] })
    }

    struct Unresolvable: Error {}

    @Test("refuses loopback, private and special addresses unless allowed", arguments: [
        "http://127.0.0.1/hook", "http://10.1.2.3/hook", "http://[::1]:8080/", "http://169.254.169.254/latest/meta-data/",
        "https://192.168.0.10/", "http://127.1:9/", "http://localhost/hook", "http://[::ffff:10.0.0.1]/",
    ])
    func privateRefused(url: String) async {
        let reason = await Self.dispatcher(allowPrivate: false).refusal(forWebhookURL: url)
        #expect(reason?.hasSuffix("only public addresses are allowed") == true, "got \(reason ?? "nil")")
        #expect(await Self.dispatcher(allowPrivate: true).refusal(forWebhookURL: url) == nil)
    }

    @Test("names the address and its class")
    func reasonText() async {
        let reason = await Self.dispatcher(allowPrivate: false).refusal(forWebhookURL: "http://10.1.2.3/hook?token=abc")
        #expect(reason == "webhook host '10.1.2.3' resolves to 10.1.2.3, a private (10.0.0.0/8) address; only public addresses are allowed")
    }

    @Test("accepts a public address")
    func publicAccepted() async {
        #expect(await Self.dispatcher(allowPrivate: false).refusal(forWebhookURL: "https://93.184.215.14/hook?token=x") == nil)
        let byName = Self.dispatcher(allowPrivate: false) { _ in [.v4([93, 184, 215, 14])] }
        #expect(await byName.refusal(forWebhookURL: "https://hooks.example.com/run-finished") == nil)
    }

    @Test("refuses a name with any non-public address")
    func mixedAddressesRefused() async {
        let dispatcher = Self.dispatcher(allowPrivate: false) { _ in [.v4([93, 184, 215, 14]), .v4([192, 168, 1, 1])] }
        let reason = await dispatcher.refusal(forWebhookURL: "https://hooks.example.com/")
        #expect(reason?.contains("192.168.1.1") == true, "got \(reason ?? "nil")")
    }

    @Test("refuses a host that does not resolve")
    func unresolvableRefused() async {
        let dispatcher = Self.dispatcher(allowPrivate: true) { _ in throw Unresolvable() }
        #expect(await dispatcher.refusal(forWebhookURL: "https://nowhere.invalid/") == "could not resolve webhook host 'nowhere.invalid'")
    }

    @Test("refuses non-http schemes, relative URLs and user information even when private addresses are allowed", arguments: [
        ("ftp://example.com/x", "webhook URL must use http or https"),
        ("file:///etc/passwd", "webhook URL must use http or https"),
        ("javascript:alert(1)", "webhook URL must use http or https"),
        ("gopher://127.0.0.1:70/", "webhook URL must use http or https"),
        ("/runs/finished", "webhook URL is not an absolute URL"),
        ("not a url", "webhook URL is not an absolute URL"),
        ("https://user:secret@example.com/hook", "webhook URL must not contain user information (user:password@)"),
        ("https://user@example.com/hook", "webhook URL must not contain user information (user:password@)"),
        ("http:///no-host", "webhook URL has no host"),
    ])
    func staticRefusals(url: String, expected: String) async {
        #expect(await Self.dispatcher(allowPrivate: true).refusal(forWebhookURL: url) == expected)
    }

    @Test("refuses URLs over the length limit")
    func length() async {
        let prefix = "http://127.0.0.1/"
        let fits = prefix + String(repeating: "a", count: 2048 - prefix.count)
        let dispatcher = Self.dispatcher(allowPrivate: true)
        #expect(await dispatcher.refusal(forWebhookURL: fits) == nil)
        #expect(await dispatcher.refusal(forWebhookURL: fits + "a") == "webhook URL is longer than 2048 characters")
        let short = Self.dispatcher(allowPrivate: true, maxURLLength: 20)
        #expect(await short.refusal(forWebhookURL: "http://127.0.0.1/hook?x=1") == "webhook URL is longer than 20 characters")
    }

    @Test("log form drops user information, query and fragment")
    func loggable() {
        #expect(WebhookTarget.loggable("https://u:p@example.com:8443/hook/run?token=abc#frag") == "https://example.com:8443/hook/run")
    }
}
