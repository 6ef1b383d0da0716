import Crypto
import Foundation
import HTTPTypes
import Hummingbird

/// Keel's web UI: plain HTML, CSS and JavaScript modules shipped as package resources
/// (`Resources/ui`), no build step. `GET /` answers the page; `GET /assets/{version}/{file}`
/// answers the files under a version that is a digest of all of them, so they are cached for a
/// year (`immutable`) and a new release changes every URL. Every answer carries an `ETag` (a
/// conditional request gets 304) and a strict Content-Security-Policy: scripts and styles only
/// from this origin, no inline script, no framing.
struct WebUI: Sendable {
    struct Asset: Sendable {
        var body: [UInt8]
        var contentType: String
        var etag: String
    }

    /// Scripts, styles, images and connections only from this origin; nothing inline; no plugins,
    /// frames or form targets elsewhere.
    static let contentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        + "font-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

    static let referrerPolicy = HTTPField.Name("Referrer-Policy")!

    let version: String
    let assets: [String: Asset]
    let page: Asset

    /// Loads the files of `Resources/ui`; the page names the API prefix in a meta tag (the UI
    /// reads it there: no inline script) and the versioned asset URLs.
    init(apiPrefix: String) {
        var files: [String: Data] = [:]
        if let directory = Bundle.module.url(forResource: "ui", withExtension: nil),
            let names = try? FileManager.default.contentsOfDirectory(atPath: directory.path)
        {
            for name in names.sorted() where !name.hasPrefix(".") {
                if let data = try? Data(contentsOf: directory.appendingPathComponent(name)) { files[name] = data }
            }
        }
        var digest = SHA256()
        for (name, data) in files.sorted(by: { $0.key < $1.key }) {
            digest.update(data: Data(name.utf8))
            digest.update(data: data)
        }
        version = String(digest.finalize().map { String(format: "%02x", $0) }.joined().prefix(16))
        var assets: [String: Asset] = [:]
        for (name, data) in files where name != "index.html" {
            assets[name] = Self.asset(Array(data), contentType: Self.contentType(of: name))
        }
        self.assets = assets
        let template = files["index.html"].map { String(decoding: $0, as: UTF8.self) } ?? "<!doctype html><title>Keel</title>"
        let html = template
            .replacingOccurrences(of: "{{API_PREFIX}}", with: Self.escapeAttribute(apiPrefix))
            .replacingOccurrences(of: "{{ASSETS}}", with: "/assets/\(version)")
        page = Self.asset(Array(html.utf8), contentType: "text/html; charset=utf-8")
    }

    func addRoutes(to router: Router<KeelRequestContext>) {
        router.get("/") { request, _ in
            respond(page, to: request, cacheControl: "no-cache")
        }
        router.get("assets/{version}/{file}") { request, context in
            guard context.parameters.get("version") == version, let name = context.parameters.get("file"),
                let asset = assets[name]
            else { throw APIError(.notFound, code: "asset_not_found", "No such UI file") }
            return respond(asset, to: request, cacheControl: "public, max-age=31536000, immutable")
        }
    }

    private func respond(_ asset: Asset, to request: Request, cacheControl: String) -> Response {
        var headers: HTTPFields = [
            .contentType: asset.contentType, .eTag: asset.etag, .cacheControl: cacheControl,
            .contentSecurityPolicy: Self.contentSecurityPolicy, .xContentTypeOptions: "nosniff",
            Self.referrerPolicy: "same-origin",
        ]
        if request.headers[.ifNoneMatch]?.split(separator: ",").contains(where: {
            $0.trimmingCharacters(in: .whitespaces) == asset.etag
        }) == true {
            headers[.contentType] = nil
            return Response(status: .notModified, headers: headers)
        }
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: asset.body)))
    }

    static func asset(_ body: [UInt8], contentType: String) -> Asset {
        let digest = SHA256.hash(data: body).map { String(format: "%02x", $0) }.joined()
        return Asset(body: body, contentType: contentType, etag: "\"\(digest.prefix(32))\"")
    }

    static func contentType(of name: String) -> String {
        switch name.split(separator: ".").last.map(String.init) ?? "" {
        case "js": "text/javascript; charset=utf-8"
        case "css": "text/css; charset=utf-8"
        case "svg": "image/svg+xml"
        case "json": "application/json"
        case "html": "text/html; charset=utf-8"
        default: "application/octet-stream"
        }
    }

    static func escapeAttribute(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "\"", with: "&quot;")
            .replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }
}
