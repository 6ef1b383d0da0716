import ArgumentParser
import Foundation
import KeelCore
import KeelServer
import Logging

/// The `keel` command line: `keel server` runs the API server and control plane, `keel worker`
/// runs turn steps for a control plane over gRPC.
@main
struct Keel: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keel", abstract: "Keel — a durable AI-agent execution server.",
        subcommands: [ServerCommand.self, WorkerCommand.self, SecretsCommand.self])
}

struct ServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "server", abstract: "Run the HTTP API server (configured by environment variables; see README).")

    func run() async throws {
        let configuration: KeelConfiguration
        do {
            configuration = try KeelConfiguration(environment: ProcessInfo.processInfo.environment)
            SecretEnvironment.scrub()
        } catch {
            FileHandle.standardError.write(Data("keel: configuration error: \(error)\n".utf8))
            throw ExitCode(2)
        }
        bootstrapLogging(format: configuration.logFormat, level: configuration.logLevel)
        let logger = Logger(label: "keel")
        do {
            let app = try await KeelServer.makeApplication(configuration: configuration, logger: logger)
            try await app.runService()
        } catch let error as ConfigurationError {
            FileHandle.standardError.write(Data("keel: configuration error: \(error)\n".utf8))
            throw ExitCode(2)
        }
    }
}

struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Run a stateless step executor for a control plane (WORKER_GRPC_* variables; see README).")

    func run() async throws {
        let configuration: WorkerConfiguration
        do {
            configuration = try WorkerConfiguration(environment: ProcessInfo.processInfo.environment)
            SecretEnvironment.scrub()
        } catch {
            FileHandle.standardError.write(Data("keel: configuration error: \(error)\n".utf8))
            throw ExitCode(2)
        }
        bootstrapLogging(format: configuration.logFormat, level: configuration.logLevel)
        let logger = Logger(label: "keel.worker")
        do {
            try await KeelWorkerProcess.run(configuration: configuration, logger: logger)
        } catch let error as StepChannelError {
            FileHandle.standardError.write(Data("keel: worker cannot run: \(error)\n".utf8))
            throw ExitCode(3)
        }
    }
}

struct SecretsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "secrets", abstract: "Maintain stored secrets (provider API keys).",
        subcommands: [ReencryptCommand.self])
}

struct ReencryptCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reencrypt",
        abstract:
            "Re-seal every stored provider key under SECRETS_ENCRYPTION_KEY (reading SECRETS_ENCRYPTION_KEY_PREVIOUS) in the DATABASE_URL database; prints counts, never keys.")

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let setup: SecretsReencryption.Setup
        do {
            setup = try SecretsReencryption.configuration(environment: environment)
        } catch {
            FileHandle.standardError.write(Data("keel: configuration error: \(error)\n".utf8))
            throw ExitCode(2)
        }
        bootstrapLogging(format: .text, level: .warning)
        let report = try await SecretsReencryption.run(setup, logger: Logger(label: "keel.secrets"))
        print(report)
        if report.failed > 0 { throw ExitCode(1) }
    }
}

private func bootstrapLogging(format: KeelConfiguration.LogFormat, level: KeelConfiguration.LogLevel) {
    let level = Logger.Level(rawValue: level.rawValue) ?? .info
    let json = format == .json
    LoggingSystem.bootstrap { label in
        var handler: any LogHandler = json ? JSONLogHandler(label: label) : StreamLogHandler.standardError(label: label)
        handler.logLevel = level
        return handler
    }
}
