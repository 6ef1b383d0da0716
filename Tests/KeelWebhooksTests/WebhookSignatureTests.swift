import Crypto
import Foundation
import Testing
import KeelWebhooks

@Suite("webhook signature")
struct WebhookSignatureTests {
    let body = Array(#"{"run_id":"run_1","status":"success"}"#.utf8)

    @Test("is v1= and the lowercase hex HMAC-SHA256 of \"<timestamp>.<body>\"")
    func matchesIndependentHMAC() {
        let signature = WebhookSignature.sign(secret: "whsec", timestamp: 1_700_000_000, body: body)
        let expected = HMAC<SHA256>.authenticationCode(
            for: Array("1700000000.".utf8) + body, using: SymmetricKey(data: Array("whsec".utf8)))
        #expect(signature == "v1=" + expected.map { String(format: "%02x", $0) }.joined())
        #expect(signature.count == 3 + 64)
    }

    @Test("matches the Python recipe in docs/webhooks.md")
    func fixedVector() {
        // python3: "v1=" + hmac.new(b"whsec_test", b"1700000000." + body, hashlib.sha256).hexdigest()
        #expect(WebhookSignature.sign(secret: "whsec_test", timestamp: 1_700_000_000, body: body)
            == "v1=3781a212bca22f3f6c96cc76e52f3a5725eed87bc2a179211493bbb1dbc89f79")
    }

    @Test("verifies with the secret, not with another secret, body, timestamp or scheme")
    func verification() {
        let signature = WebhookSignature.sign(secret: "whsec", timestamp: 1_700_000_000, body: body)
        #expect(WebhookSignature.verify(secret: "whsec", timestamp: 1_700_000_000, body: body, signature: signature))
        #expect(WebhookSignature.verify(secret: "whsec", timestamp: 1_700_000_000, body: Data(body), signature: "v1=" + signature.dropFirst(3).uppercased()))
        #expect(!WebhookSignature.verify(secret: "other", timestamp: 1_700_000_000, body: body, signature: signature))
        #expect(!WebhookSignature.verify(secret: "whsec", timestamp: 1_700_000_001, body: body, signature: signature))
        #expect(!WebhookSignature.verify(secret: "whsec", timestamp: 1_700_000_000, body: body + [0x20], signature: signature))
        #expect(!WebhookSignature.verify(secret: "whsec", timestamp: 1_700_000_000, body: body, signature: String(signature.dropFirst(3))))
        #expect(!WebhookSignature.verify(secret: "whsec", timestamp: 1_700_000_000, body: body, signature: "v1=zz"))
        #expect(!WebhookSignature.verify(secret: "whsec", timestamp: 1_700_000_000, body: body, signature: ""))
    }

    @Test("accepts one matching signature among several (secret rotation)")
    func rotation() {
        let old = WebhookSignature.sign(secret: "old", timestamp: 42, body: body)
        let new = WebhookSignature.sign(secret: "new", timestamp: 42, body: body)
        #expect(WebhookSignature.verify(secret: "new", timestamp: 42, body: body, signature: "\(old), \(new)"))
        #expect(!WebhookSignature.verify(secret: "third", timestamp: 42, body: body, signature: "\(old) \(new)"))
    }

    @Test("with a tolerance, refuses timestamps too far from now")
    func tolerance() {
        let now = Date(timeIntervalSince1970: 1_700_000_000)
        let signature = WebhookSignature.sign(secret: "s", timestamp: 1_700_000_000 - 200, body: body)
        #expect(WebhookSignature.verify(
            secret: "s", timestamp: 1_700_000_000 - 200, body: body, signature: signature, tolerance: .seconds(300), now: now))
        #expect(!WebhookSignature.verify(
            secret: "s", timestamp: 1_700_000_000 - 200, body: body, signature: signature, tolerance: .seconds(60), now: now))
    }

    @Test("settings never print the secret")
    func settingsDescription() {
        let settings = WebhookSettings(signingSecret: "do-not-print")
        #expect(!"\(settings)".contains("do-not-print"))
        #expect(!String(reflecting: settings).contains("do-not-print"))
    }
}
