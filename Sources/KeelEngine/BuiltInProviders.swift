import Foundation
import KeelCore

/// The providers every organization starts with. They hold no key of their own, so calls through
/// them use the `DEFAULT_*_API_KEY` fallbacks; `llmsim` needs none and makes the quickstart work.
///
/// Provider ids are unique across organizations, so each organization gets its own ids: the
/// default organization (`BuiltIn.organizationID`) keeps the fixed ids it always had, and any
/// other organization's are derived from its id, the same on every call and every instance.
public enum BuiltInProviders {
    /// The fixed ids of the default organization's built-ins, in the order `make` lists them.
    static let fixedIDs = [
        "provider_00000000000000000000000000000001", "provider_00000000000000000000000000000002",
        "provider_00000000000000000000000000000003", "provider_00000000000000000000000000000004",
    ]

    public static func make(organizationID: String = BuiltIn.organizationID) -> [LLMProvider] {
        let ids = fixedIDs.map { providerID(fixedID: $0, organizationID: organizationID) }
        return [
            LLMProvider(
                id: ids[0], organizationID: organizationID, name: "Simulator",
                providerType: .llmsim, models: ["sim"], isBuiltIn: true),
            LLMProvider(
                id: ids[1], organizationID: organizationID, name: "OpenAI",
                providerType: .openai, models: ["gpt-4.1", "gpt-4.1-mini", "gpt-4o", "gpt-4o-mini"], isBuiltIn: true),
            LLMProvider(
                id: ids[2], organizationID: organizationID, name: "Anthropic",
                providerType: .anthropic, models: ["claude-sonnet-4-5", "claude-haiku-4-5", "claude-opus-4-1"],
                isBuiltIn: true),
            LLMProvider(
                id: ids[3], organizationID: organizationID, name: "Google Gemini",
                providerType: .gemini, models: ["gemini-2.5-flash", "gemini-2.5-pro"], isBuiltIn: true),
        ]
    }

    /// Stores the organization's built-ins that are missing (a restart, a repeated sign-up or a
    /// concurrent call finds them stored and adds nothing). Returns the providers it inserted.
    @discardableResult
    public static func provision(organizationID: String, in store: any KeelStore) async throws -> [LLMProvider] {
        var inserted: [LLMProvider] = []
        for provider in make(organizationID: organizationID)
        where try await store.provider(id: provider.id, organizationID: organizationID) == nil {
            do {
                try await store.insertProvider(provider)
                inserted.append(provider)
            } catch StoreError.conflict(let reason) {
                // Stored meanwhile by a concurrent call: fine. Taken by another organization's
                // row (the id is not ours after all): that must not pass unnoticed.
                guard try await store.provider(id: provider.id, organizationID: organizationID) != nil else {
                    throw StoreError.conflict(reason)
                }
            }
        }
        return inserted
    }

    /// The id of one built-in for the organization: the fixed id for the default organization,
    /// else `provider_` and 32 hex digits of a 128-bit FNV-1a hash of the organization id and
    /// the fixed id. (KeelEngine has no cryptographic hash at hand; the ids need to be stable and
    /// distinct, not secret, and organization ids are the server's own, not a caller's choice.)
    static func providerID(fixedID: String, organizationID: String) -> String {
        guard organizationID != BuiltIn.organizationID else { return fixedID }
        let hash = fnv1a128(Array("\(organizationID)/\(fixedID)".utf8))
        let hex = String(hash, radix: 16)
        return "provider_" + String(repeating: "0", count: 32 - hex.count) + hex
    }

    /// FNV-1a with the published 128-bit offset basis and prime.
    private static func fnv1a128(_ bytes: [UInt8]) -> UInt128 {
        let prime: UInt128 = (1 << 88) + 0x13B
        var hash: UInt128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d
        for byte in bytes {
            hash ^= UInt128(byte)
            hash = hash &* prime
        }
        return hash
    }
}
