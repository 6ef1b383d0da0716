import Foundation
import KeelCore
import Logging

/// Agents every fresh server offers: a stable general assistant, and in `dev` grade an
/// experimental Python coder that uses the experimental `python` capability.
enum SeedAgents {
    static func install(into store: any KeelStore, grade: DeploymentGrade, logger: Logger) async throws {
        var agents = [
            Agent(
                name: "assistant", displayName: "Assistant", description: "A general helpful assistant.",
                systemPrompt: "You are a helpful assistant. Answer clearly and concisely.",
                capabilities: [CapabilityRef(ref: "current_time"), CapabilityRef(ref: "web_fetch")])
        ]
        if grade.allowsExperimental {
            agents.append(
                Agent(
                    name: "python-coder", displayName: "Python Coder",
                    description: "Writes and runs Python snippets (experimental).",
                    systemPrompt: "You are a careful Python programmer. Run code to check your answers.",
                    capabilities: [CapabilityRef(ref: "python"), CapabilityRef(ref: "session_file_system")],
                    tags: ["experimental"]))
        }
        for agent in agents where try await store.agent(named: agent.name, organizationID: agent.organizationID) == nil {
            try await store.insertAgent(agent)
            logger.info("seeded agent", metadata: ["agent": "\(agent.name)", "agent_id": "\(agent.id)"])
        }
    }
}
