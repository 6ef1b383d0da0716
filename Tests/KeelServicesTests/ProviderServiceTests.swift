import Foundation
import KeelCore
import KeelEngine
import KeelSecrets
import Testing
@testable import KeelServices

@Suite("ProviderService: sealed keys, built-ins, input rules")
struct ProviderServiceTests {
    static let secret = "sk-test-4f1a9c0e-never-shown"

    @Test("a key is stored sealed to its provider's row and nothing the service returns holds it")
    func keyIsSealed() async throws {
        let fixture = try await ServiceFixture()
        let providers = fixture.services.providers
        let created = try await providers.create(
            ProviderInput(name: "Mine", providerType: .openai, apiKey: Self.secret, models: ["m"]),
            organizationID: fixture.organizationID)
        let stored = try await providers.find(created.id, organizationID: fixture.organizationID)
        let sealed = try #require(stored.encryptedAPIKey)
        for returned in [created, stored] + (try await providers.list(organizationID: fixture.organizationID)) {
            let encoded = String(decoding: try JSONEncoder().encode(returned), as: UTF8.self)
            #expect(!encoded.contains(Self.secret))
            #expect(!String(describing: returned).contains(Self.secret))
        }
        #expect(providers.hasAPIKey(stored))
        let binding = SecretBinding.providerKey(providerID: created.id, organizationID: fixture.organizationID)
        #expect(try fixture.cipher.decrypt(sealed, boundTo: binding) == Self.secret)
        let otherRow = SecretBinding.providerKey(providerID: PublicID.make(.provider), organizationID: fixture.organizationID)
        #expect(throws: (any Error).self) { try fixture.cipher.decrypt(sealed, boundTo: otherRow) }
    }

    @Test("a patch's api_key: null removes the key, an absent one keeps it, a new one is sealed")
    func patchKey() async throws {
        let fixture = try await ServiceFixture()
        let providers = fixture.services.providers
        let created = try await providers.create(
            ProviderInput(name: "Mine", providerType: .openai, apiKey: Self.secret), organizationID: fixture.organizationID)
        let renamed = try await providers.update(created, with: ProviderPatch(name: "Renamed"))
        #expect(renamed.encryptedAPIKey == created.encryptedAPIKey)
        let rotated = try await providers.update(renamed, with: ProviderPatch(apiKey: .some("sk-rotated")))
        #expect(rotated.encryptedAPIKey != nil && rotated.encryptedAPIKey != created.encryptedAPIKey)
        #expect(rotated.encryptedAPIKey?.contains("sk-rotated") == false)
        let cleared = try await providers.update(rotated, with: ProviderPatch(apiKey: .some(nil)))
        #expect(cleared.encryptedAPIKey == nil)
        #expect(!providers.hasAPIKey(cleared))
    }

    @Test("built-in providers can be neither changed nor deleted")
    func builtInsAreReadOnly() async throws {
        let fixture = try await ServiceFixture()
        let providers = fixture.services.providers
        let builtIn = try #require(try await providers.list(organizationID: fixture.organizationID).first(where: \.isBuiltIn))
        let edit = await serviceError { _ = try await providers.update(builtIn, with: ProviderPatch(baseURL: .some("https://evil.example"))) }
        #expect(edit?.inputCode == "builtin_provider")
        let delete = await serviceError { try await providers.delete(builtIn) }
        #expect(delete?.inputCode == "builtin_provider")
        #expect(try await providers.find(builtIn.id, organizationID: fixture.organizationID).baseURL == builtIn.baseURL)
    }

    @Test("base URLs must be http(s) and pass the address policy; keys and model lists are bounded")
    func inputRules() async throws {
        let refusing = EngineConfiguration(baseURLPolicy: ProviderAddressPolicy { _ in throw Refused() })
        let fixture = try await ServiceFixture(configuration: refusing)
        let providers = fixture.services.providers
        let org = fixture.organizationID
        let ftp = await serviceError {
            _ = try await providers.create(ProviderInput(name: "p", providerType: .openai, baseURL: "ftp://x"), organizationID: org)
        }
        #expect(ftp?.inputCode == "invalid_request")
        let privateURL = await serviceError {
            _ = try await providers.create(
                ProviderInput(name: "p", providerType: .openai, baseURL: "http://10.0.0.1/v1"), organizationID: org)
        }
        #expect(privateURL?.inputCode == "base_url_not_allowed")
        let longKey = await serviceError {
            _ = try await providers.create(
                ProviderInput(name: "p", providerType: .openai, apiKey: String(repeating: "k", count: 4097)), organizationID: org)
        }
        #expect(longKey == .invalidInput(code: "invalid_request", message: "api_key exceeds 4096 bytes"))
        let slashModel = await serviceError {
            _ = try await providers.create(ProviderInput(name: "p", providerType: .openai, models: ["a/b"]), organizationID: org)
        }
        #expect(slashModel?.inputCode == "invalid_request")
        #expect(try await providers.list(organizationID: org).allSatisfy(\.isBuiltIn))
    }

    struct Refused: Error, CustomStringConvertible {
        var description: String { "private address" }
    }
}
