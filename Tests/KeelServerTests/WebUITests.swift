import Foundation
import HTTPTypes
import Testing

/// The web UI's page and files as the server serves them; the browser suite (scripts/ui-test)
/// drives the same page in chromium.
@Suite("Web UI")
struct WebUITests {
    @Test("the page names the API prefix, revalidates by ETag and carries a strict CSP; files are versioned and immutable")
    func pageAndAssets() async throws {
        try await TestServer.run(environment: ["API_PREFIX": "/api"]) { server in
            let page = try await server.request(.get, "/")
            #expect(page.status == 200)
            #expect(page.headers[.contentType] == "text/html; charset=utf-8")
            #expect(page.headers[.cacheControl] == "no-cache")
            let csp = try #require(page.headers[.contentSecurityPolicy])
            #expect(csp.contains("script-src 'self'") && !csp.contains("unsafe") && csp.contains("frame-ancestors 'none'"))
            #expect(page.headers[.xContentTypeOptions] == "nosniff")
            #expect(page.text.contains(#"<meta name="keel-api-prefix" content="/api">"#))
            let etag = try #require(page.headers[.eTag])
            let again = try await server.request(.get, "/", headers: [.ifNoneMatch: etag])
            #expect(again.status == 304 && again.text.isEmpty)

            let script = try #require(page.text.range(of: #"src="(/assets/[0-9a-f]{16}/app\.js)""#, options: .regularExpression))
            let path = String(page.text[script].dropFirst(5).dropLast())
            let asset = try await server.request(.get, path)
            #expect(asset.status == 200 && asset.headers[.contentType] == "text/javascript; charset=utf-8")
            #expect(asset.headers[.cacheControl] == "public, max-age=31536000, immutable")
            #expect(asset.text.contains("import"))
            let stale = try await server.request(.get, "/assets/0000000000000000/app.js")
            #expect(stale.status == 404 && stale.json["error"]?["code"] == "asset_not_found")
            #expect(try await server.request(.get, path.replacingOccurrences(of: "app.js", with: "missing.js")).status == 404)
        }
    }
}
