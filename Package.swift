// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "Keel",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "keel", targets: ["keel"]),
        .executable(name: "keel-bench", targets: ["keel-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/grpc/grpc-swift-2.git", from: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport.git", from: "2.9.2"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.39.0"),
        // Already in the graph through Hummingbird; declared for the tests that build HTTP fields.
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/vapor/jwt-kit.git", from: "5.8.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", from: "2.5.0"),
    ],
    targets: [
        // Domain and agent loop: no I/O.
        .target(name: "KeelCore", dependencies: [
            .product(name: "Logging", package: "swift-log"),
        ]),
        // Streaming LLM drivers (OpenAI, Anthropic, Gemini, sim).
        .target(name: "KeelLLM", dependencies: [
            "KeelCore",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
        ]),
        // Envelope encryption of provider keys.
        .target(name: "KeelSecrets", dependencies: [
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        // Storage protocol implementations (in-memory today).
        .target(name: "KeelStorage", dependencies: [
            "KeelCore",
            .product(name: "PostgresNIO", package: "postgres-nio"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
        // Built-in capabilities and their tools.
        .target(name: "KeelCapabilities", dependencies: [
            "KeelCore",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
        ]),
        // Traces (OTLP fan-out), Braintrust logging and Prometheus metrics, built from events.
        .target(name: "KeelObservability", dependencies: [
            "KeelCore",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "GRPCCore", package: "grpc-swift-2"),
            .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
            .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
            .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
        // Turn execution: session mailboxes, cancellation, key resolution.
        .target(name: "KeelEngine", dependencies: [
            "KeelCore", "KeelSecrets",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
        // Durable turns on PostgreSQL: the step task queue, checkpoints, reclamation, embedded executors.
        .target(name: "KeelDurable", dependencies: [
            "KeelCore", "KeelEngine", "KeelStorage", "KeelCapabilities",
            .product(name: "PostgresNIO", package: "postgres-nio"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
        // Step executors: claim steps through a StepChannel and run them (embedded or `keel worker`).
        .target(name: "KeelWorker", dependencies: [
            "KeelCore",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
        // The worker protocol over gRPC: generated code, the control-plane service, the worker's client.
        .target(name: "KeelWorkerRPC", dependencies: [
            "KeelCore",
            .product(name: "GRPCCore", package: "grpc-swift-2"),
            .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
            .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
            .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
        // Users, organizations, sign-in, access and refresh tokens, API keys, OAuth.
        .target(name: "KeelAuth", dependencies: [
            "KeelCore",
            .product(name: "JWTKit", package: "jwt-kit"),
            .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // The resources' rules (agents, sessions, messages, events, providers, catalogue), for every API.
        .target(name: "KeelServices", dependencies: ["KeelCore", "KeelEngine", "KeelSecrets"]),
        // The Agent Protocol (LangGraph) view of the engine: assistants, threads, runs, their streams.
        .target(name: "KeelAgentProtocol", dependencies: [
            "KeelCore", "KeelEngine", "KeelServices",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
        // Signed, retried run-completion webhooks behind the web_fetch address policy.
        .target(name: "KeelWebhooks", dependencies: [
            "KeelCore", "KeelCapabilities",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
        // HTTP API, SSE, errors, CORS, OpenAPI document.
        .target(name: "KeelHTTP", dependencies: [
            "KeelCore", "KeelEngine", "KeelSecrets", "KeelServices", "KeelObservability", "KeelAuth", "KeelAgentProtocol",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "HummingbirdCore", package: "hummingbird"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Crypto", package: "swift-crypto"),
        ], resources: [.copy("Resources/openapi.json"), .copy("Resources/ui")]),
        // Configuration and application assembly.
        .target(name: "KeelServer", dependencies: [
            "KeelCore", "KeelEngine", "KeelHTTP", "KeelServices", "KeelStorage", "KeelSecrets", "KeelCapabilities", "KeelLLM",
            "KeelObservability", "KeelDurable", "KeelWorker", "KeelWorkerRPC", "KeelAuth", "KeelAgentProtocol", "KeelWebhooks",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
        .executableTarget(name: "keel", dependencies: [
            "KeelServer", "KeelCore",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // The benchmark: load generator, process orchestration, OpenAI-protocol mock. A black-box
        // client of the `keel` binary: it depends on no Keel module.
        .target(name: "KeelBench", dependencies: [
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "PostgresNIO", package: "postgres-nio"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .executableTarget(name: "keel-bench", dependencies: [
            "KeelBench",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // Shared by the test targets: loopback fake servers, the fake LLM provider.
        .target(name: "KeelTestSupport", dependencies: [
            "KeelCore",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ], path: "Tests/KeelTestSupport"),
        .testTarget(name: "KeelCoreTests", dependencies: [
            "KeelCore", "KeelTestSupport", .product(name: "Logging", package: "swift-log"),
        ]),
        .testTarget(name: "KeelBenchTests", dependencies: [
            "KeelBench", "KeelTestSupport",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOCore", package: "swift-nio"),
        ]),
        .testTarget(name: "KeelSecretsTests", dependencies: ["KeelSecrets"]),
        .testTarget(name: "KeelWebhooksTests", dependencies: [
            "KeelWebhooks", "KeelCore", "KeelCapabilities", "KeelTestSupport",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
        .testTarget(name: "KeelServicesTests", dependencies: [
            "KeelServices", "KeelCore", "KeelEngine", "KeelSecrets", "KeelStorage", "KeelTestSupport",
        ]),
        .testTarget(name: "KeelWorkerRPCTests", dependencies: [
            "KeelWorkerRPC", "KeelCore",
            .product(name: "GRPCCore", package: "grpc-swift-2"),
            .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
        .testTarget(name: "KeelStorageTests", dependencies: [
            "KeelStorage", "KeelCore",
            .product(name: "PostgresNIO", package: "postgres-nio"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .testTarget(name: "KeelObservabilityTests", dependencies: [
            "KeelTestSupport",
            "KeelObservability", "KeelCore",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "GRPCCore", package: "grpc-swift-2"),
            .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
            .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
        ]),
        .testTarget(name: "KeelLLMTests", dependencies: [
            "KeelTestSupport",
            "KeelLLM", "KeelCore",
            .product(name: "Hummingbird", package: "hummingbird"),
        ]),
        .testTarget(name: "KeelCapabilitiesTests", dependencies: [
            "KeelTestSupport",
            "KeelCapabilities", "KeelCore",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOCore", package: "swift-nio"),
        ]),
        .testTarget(name: "KeelServerTests", dependencies: [
            "KeelTestSupport",
            "KeelServer", "KeelHTTP", "KeelServices", "KeelEngine", "KeelCore", "KeelStorage", "KeelLLM", "KeelWorkerRPC", "KeelDurable",
            "KeelCapabilities", "KeelSecrets", "KeelAuth",
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdTesting", package: "hummingbird"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "PostgresNIO", package: "postgres-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
        ]),
    ],
    swiftLanguageModes: [.v6]
)
