import KeelCore

/// A new provider (`POST /v1/llm-providers`); `api_key` is sealed before it is stored.
public struct ProviderInput: Decodable, Sendable {
    public var name: String
    public var providerType: ProviderType
    public var apiKey: String?
    public var baseURL: String?
    public var models: [String]?
    public var status: ProviderStatus?

    public init(
        name: String, providerType: ProviderType, apiKey: String? = nil, baseURL: String? = nil, models: [String]? = nil,
        status: ProviderStatus? = nil
    ) {
        self.name = name
        self.providerType = providerType
        self.apiKey = apiKey
        self.baseURL = baseURL
        self.models = models
        self.status = status
    }

    enum CodingKeys: String, CodingKey {
        case name
        case providerType = "provider_type"
        case apiKey = "api_key"
        case baseURL = "base_url"
        case models, status
    }
}

/// A change to a provider; `api_key: null` removes the stored key, an absent field leaves it alone.
public struct ProviderPatch: Decodable, Sendable {
    public var name: String?
    public var apiKey: String??
    public var baseURL: String??
    public var models: [String]?
    public var status: ProviderStatus?

    public init(
        name: String? = nil, apiKey: String?? = nil, baseURL: String?? = nil, models: [String]? = nil,
        status: ProviderStatus? = nil
    ) {
        self.name = name
        self.apiKey = apiKey
        self.baseURL = baseURL
        self.models = models
        self.status = status
    }

    enum CodingKeys: String, CodingKey {
        case name
        case apiKey = "api_key"
        case baseURL = "base_url"
        case models, status
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decodeIfPresent(String.self, forKey: .name)
        if container.contains(.apiKey) { apiKey = .some(try container.decodeIfPresent(String.self, forKey: .apiKey)) }
        if container.contains(.baseURL) { baseURL = .some(try container.decodeIfPresent(String.self, forKey: .baseURL)) }
        models = try container.decodeIfPresent([String].self, forKey: .models)
        status = try container.decodeIfPresent(ProviderStatus.self, forKey: .status)
    }
}
