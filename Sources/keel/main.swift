import ArgumentParser
import Foundation
import KeelServer
import Logging

/// The `keel` command line: `keel server` runs the API server (`keel worker` arrives with the
/// durable engine).
@main
struct Keel: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keel", abstract: "Keel — a durable AI-agent execution server.",
        subcommands: [ServerCommand.self])
}

struct ServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "server", abstract: "Run the HTTP API server (configured by environment variables; see README).")

    func run() async throws {
        let configuration: KeelConfiguration
        do {
            configuration = try KeelConfiguration(environment: ProcessInfo.processInfo.environment)
        } catch {
            FileHandle.standardError.write(Data("keel: configuration error: \(error)\n".utf8))
            throw ExitCode(2)
        }
        let level = Logger.Level(rawValue: configuration.logLevel.rawValue) ?? .info
        let json = configuration.logFormat == .json
        LoggingSystem.bootstrap { label in
            var handler: any LogHandler = json ? JSONLogHandler(label: label) : StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
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
