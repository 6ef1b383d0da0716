import Foundation

/// What an encrypted value belongs to, sealed into its envelope as AES-GCM associated data.
///
/// The binding is not stored in the envelope: the reader supplies it from the row the envelope
/// was read from. An envelope copied into another row (another provider, another organization)
/// then fails authentication instead of handing that row someone else's key.
public struct SecretBinding: Sendable, Hashable {
    /// The associated data: a purpose tag and the row's identifiers, NUL-separated so that no
    /// two distinct bindings produce the same bytes.
    public let associatedData: Data

    init(purpose: String, fields: [String]) {
        associatedData = Data(([purpose] + fields).joined(separator: "\u{0}").utf8)
    }

    /// A provider's stored API key, bound to the provider row and its organization.
    public static func providerKey(providerID: String, organizationID: String) -> SecretBinding {
        SecretBinding(purpose: "keel.provider-api-key", fields: [organizationID, providerID])
    }
}
