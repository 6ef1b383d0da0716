import Foundation
import KeelCore
import KeelStorage
import Testing

/// The organization of the rows these tests read and change by id (the models' default one);
/// calls across organizations are `StoreOrganizationScopeTests`.
private let orgA = BuiltIn.organizationID

/// The storage contract, run identically against every `KeelStore` implementation.
@Suite("Store conformance", .timeLimit(.minutes(2)))
struct StoreConformanceTests {
    // MARK: Agents

    @Test("agents: insert, read by id and by name", arguments: StoreKind.allCases)
    func agentRoundTrip(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let agent = Agent(
                name: "writer", displayName: "Writer", description: "writes", systemPrompt: "Be terse.",
                defaultModelID: "model_1", capabilities: [CapabilityRef(ref: "web_fetch", config: ["depth": 2])],
                tools: [ToolDefinition(type: "client_side", name: "lookup", description: "d", parameters: ["type": "object"])],
                tags: ["a", "b"], maxIterations: 7, parallelToolCalls: false, now: day(0))
            try await store.insertAgent(agent)
            #expect(try await store.agent(id: agent.id, organizationID: orgA) == agent)
            #expect(try await store.agent(named: "writer", organizationID: agent.organizationID) == agent)
            #expect(try await store.agent(named: "writer", organizationID: "org_other") == nil)
            #expect(try await store.agent(named: "Writer", organizationID: agent.organizationID) == nil)
            #expect(try await store.agent(id: PublicID.make(.agent), organizationID: orgA) == nil)
        }
    }

    @Test("agents: duplicate ids and live names conflict; deleted names are free", arguments: StoreKind.allCases)
    func agentConflicts(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let first = Agent(name: "alpha", systemPrompt: "p", now: day(0))
            try await store.insertAgent(first)
            await #expect(throws: StoreError.conflict("agent \(first.id) already exists")) {
                try await store.insertAgent(first)
            }
            await #expect(throws: StoreError.conflict("an agent named 'alpha' already exists")) {
                try await store.insertAgent(Agent(name: "alpha", systemPrompt: "p", now: day(1)))
            }
            // Same name in another organization is fine.
            let elsewhere = Agent(organizationID: "org_other", name: "alpha", systemPrompt: "p", now: day(2))
            try await store.insertAgent(elsewhere)
            // A deleted agent cannot take a live agent's name either.
            await #expect(throws: StoreError.conflict("an agent named 'alpha' already exists")) {
                try await store.insertAgent(Agent(name: "alpha", systemPrompt: "p", status: .deleted, now: day(3)))
            }

            try await store.updateAgent(id: first.id, organizationID: orgA) { $0.status = .deleted }
            #expect(try await store.agent(id: first.id, organizationID: orgA) == nil)
            #expect(try await store.agent(named: "alpha", organizationID: first.organizationID) == nil)
            await #expect(throws: StoreError.notFound(kind: "agent", id: first.id)) {
                try await store.updateAgent(id: first.id, organizationID: orgA) { $0.status = .active }
            }
            // The deleted agent's id stays taken, its name is free.
            await #expect(throws: StoreError.conflict("agent \(first.id) already exists")) {
                try await store.insertAgent(first)
            }
            let second = Agent(name: "alpha", systemPrompt: "p2", now: day(4))
            try await store.insertAgent(second)
            #expect(try await store.agent(named: "alpha", organizationID: second.organizationID) == second)
        }
    }

    @Test("agents: update applies the change atomically and refuses a taken name", arguments: StoreKind.allCases)
    func agentUpdate(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let agent = Agent(name: "one", systemPrompt: "p", now: day(0))
            let other = Agent(name: "two", systemPrompt: "p", now: day(1))
            try await store.insertAgent(agent)
            try await store.insertAgent(other)

            let updated = try await store.updateAgent(id: agent.id, organizationID: orgA) {
                $0.name = "uno"
                $0.tags = ["x"]
                $0.status = .archived
            }
            #expect(updated.name == "uno" && updated.tags == ["x"] && updated.status == .archived)
            #expect(updated.updatedAt > agent.updatedAt)
            #expect(updated.createdAt == agent.createdAt)
            #expect(try await store.agent(id: agent.id, organizationID: orgA) == updated)
            #expect(try await store.agent(named: "uno", organizationID: agent.organizationID) == updated)
            #expect(try await store.agent(named: "one", organizationID: agent.organizationID) == nil)

            // Keeping one's own name is fine.
            let same = try await store.updateAgent(id: agent.id, organizationID: orgA) { $0.description = "same name" }
            #expect(same.name == "uno")

            await #expect(throws: StoreError.conflict("an agent named 'two' already exists")) {
                try await store.updateAgent(id: agent.id, organizationID: orgA) { $0.name = "two" }
            }
            // Even when the renamed agent is being deleted in the same change.
            await #expect(throws: StoreError.conflict("an agent named 'two' already exists")) {
                try await store.updateAgent(id: agent.id, organizationID: orgA) {
                    $0.name = "two"
                    $0.status = .deleted
                }
            }
            await #expect(throws: Refused.self) {
                try await store.updateAgent(id: agent.id, organizationID: orgA) {
                    $0.name = "changed"
                    throw Refused()
                }
            }
            #expect(try await store.agent(id: agent.id, organizationID: orgA) == same)
            await #expect(throws: StoreError.notFound(kind: "agent", id: "agent_missing")) {
                try await store.updateAgent(id: "agent_missing", organizationID: orgA) { $0.name = "x" }
            }
        }
    }

    @Test("agents: list is newest first, paged, filtered by archive state and search", arguments: StoreKind.allCases)
    func agentList(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let org = BuiltIn.organizationID
            let agents = [
                Agent(name: "alpha", displayName: "École Normale", systemPrompt: "p", now: day(10)),
                Agent(name: "beta", systemPrompt: "p", now: day(20)),
                Agent(name: "gamma-writer", systemPrompt: "p", now: day(30)),
                Agent(name: "delta", displayName: "The WRITER", systemPrompt: "p", status: .archived, now: day(40)),
                Agent(name: "epsilon", systemPrompt: "p", now: day(50)),
                Agent(organizationID: "org_other", name: "zeta", systemPrompt: "p", now: day(60)),
            ]
            for agent in agents { try await store.insertAgent(agent) }
            try await store.updateAgent(id: agents[4].id, organizationID: orgA) { $0.status = .deleted }

            let active = try await store.listAgents(
                organizationID: org, includeArchived: false, search: nil, offset: 0, limit: 10)
            #expect(active.items.map(\.name) == ["gamma-writer", "beta", "alpha"])
            #expect(active.total == 3 && active.offset == 0 && active.limit == 10)

            let all = try await store.listAgents(organizationID: org, includeArchived: true, search: "", offset: 0, limit: 10)
            #expect(all.items.map(\.name) == ["delta", "gamma-writer", "beta", "alpha"])
            #expect(all.items.first == agents[3])

            let page = try await store.listAgents(organizationID: org, includeArchived: true, search: nil, offset: 1, limit: 2)
            #expect(page.items.map(\.name) == ["gamma-writer", "beta"])
            #expect(page.total == 4 && page.offset == 1 && page.limit == 2)

            let beyond = try await store.listAgents(
                organizationID: org, includeArchived: true, search: nil, offset: 10, limit: 5)
            #expect(beyond.items.isEmpty && beyond.total == 4)

            let writers = try await store.listAgents(
                organizationID: org, includeArchived: true, search: "wRiTeR", offset: 0, limit: 10)
            #expect(writers.items.map(\.name) == ["delta", "gamma-writer"])
            #expect(writers.total == 2)
            let activeWriters = try await store.listAgents(
                organizationID: org, includeArchived: false, search: "writer", offset: 0, limit: 10)
            #expect(activeWriters.items.map(\.name) == ["gamma-writer"])
            let accented = try await store.listAgents(
                organizationID: org, includeArchived: false, search: "éCOLE", offset: 0, limit: 10)
            #expect(accented.items.map(\.name) == ["alpha"])
            let none = try await store.listAgents(
                organizationID: org, includeArchived: true, search: "nothing%_", offset: 0, limit: 10)
            #expect(none.items.isEmpty && none.total == 0)

            let other = try await store.listAgents(
                organizationID: "org_other", includeArchived: false, search: nil, offset: 0, limit: 10)
            #expect(other.items == [agents[5]])
        }
    }

    // MARK: Sessions

    @Test("sessions: insert, read, duplicate id conflicts", arguments: StoreKind.allCases)
    func sessionRoundTrip(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            var session = Session(
                agentID: "agent_1", title: "Trip", locale: "fr-FR", modelID: "m", systemPrompt: "s",
                capabilities: [CapabilityRef(ref: "current_time")], tags: ["t"], maxIterations: 3,
                parallelToolCalls: true, now: day(0))
            session.usage = Usage(inputTokens: 5, outputTokens: 6, cacheReadTokens: 7, cacheCreationTokens: 8)
            session.startedAt = day(1)
            try await store.insertSession(session)
            #expect(try await store.session(id: session.id, organizationID: orgA) == session)
            #expect(try await store.session(id: PublicID.make(.session), organizationID: orgA) == nil)
            await #expect(throws: StoreError.conflict("session \(session.id) already exists")) {
                try await store.insertSession(session)
            }
        }
    }

    @Test("sessions: list is newest first, paged, filtered by agent and title search", arguments: StoreKind.allCases)
    func sessionList(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let org = BuiltIn.organizationID
            let sessions = [
                Session(agentID: "agent_a", title: "Trip to PARIS", now: day(1)),
                Session(agentID: "agent_b", title: "Budget", now: day(2)),
                Session(agentID: "agent_a", now: day(3)),
                Session(title: "paris again", now: day(4)),
                Session(organizationID: "org_other", agentID: "agent_a", title: "Paris", now: day(5)),
            ]
            for session in sessions { try await store.insertSession(session) }

            let all = try await store.listSessions(organizationID: org, agentID: nil, search: nil, offset: 0, limit: 10)
            #expect(all.items.map(\.id) == [sessions[3], sessions[2], sessions[1], sessions[0]].map(\.id))
            #expect(all.total == 4)
            let byAgent = try await store.listSessions(
                organizationID: org, agentID: "agent_a", search: nil, offset: 0, limit: 10)
            #expect(byAgent.items == [sessions[2], sessions[0]])
            let paris = try await store.listSessions(organizationID: org, agentID: nil, search: "Paris", offset: 0, limit: 10)
            #expect(paris.items.map(\.id) == [sessions[3].id, sessions[0].id])
            let parisForA = try await store.listSessions(
                organizationID: org, agentID: "agent_a", search: "paris", offset: 0, limit: 10)
            #expect(parisForA.items.map(\.id) == [sessions[0].id])
            let paged = try await store.listSessions(organizationID: org, agentID: nil, search: "", offset: 2, limit: 1)
            #expect(paged.items.map(\.id) == [sessions[1].id])
            #expect(paged.total == 4 && paged.offset == 2 && paged.limit == 1)
            let empty = try await store.listSessions(
                organizationID: "org_none", agentID: nil, search: nil, offset: 0, limit: 10)
            #expect(empty.items.isEmpty && empty.total == 0)
        }
    }

    @Test("sessions: update applies the change or nothing", arguments: StoreKind.allCases)
    func sessionUpdate(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let session = Session(title: "before", now: day(0))
            try await store.insertSession(session)
            let updated = try await store.updateSession(id: session.id, organizationID: orgA) {
                $0.title = "after"
                $0.status = .active
                $0.usage = $0.usage + Usage(inputTokens: 10, outputTokens: 2)
            }
            #expect(updated.title == "after" && updated.status == .active && updated.usage.inputTokens == 10)
            #expect(updated.updatedAt > session.updatedAt)
            #expect(try await store.session(id: session.id, organizationID: orgA) == updated)
            await #expect(throws: Refused.self) {
                try await store.updateSession(id: session.id, organizationID: orgA) {
                    $0.title = "never"
                    throw Refused()
                }
            }
            #expect(try await store.session(id: session.id, organizationID: orgA) == updated)
            await #expect(throws: StoreError.notFound(kind: "session", id: "session_missing")) {
                try await store.updateSession(id: "session_missing", organizationID: orgA) { $0.title = "x" }
            }
            // The title change is visible to search.
            let found = try await store.listSessions(
                organizationID: session.organizationID, agentID: nil, search: "AFTER", offset: 0, limit: 5)
            #expect(found.items == [updated])
        }
    }

    @Test("sessions: concurrent updates are serialised (no lost update)", arguments: StoreKind.allCases)
    func sessionConcurrentUpdates(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let session = Session(now: day(0))
            try await store.insertSession(session)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<20 {
                    group.addTask {
                        try await store.updateSession(id: session.id, organizationID: orgA) { $0.usage.inputTokens += 1 }
                    }
                }
                try await group.waitForAll()
            }
            #expect(try await store.session(id: session.id, organizationID: orgA)?.usage.inputTokens == 20)
        }
    }

    @Test("sessions: delete removes the session and its events and wakes readers", arguments: StoreKind.allCases)
    func sessionDelete(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let doomed = Session(now: day(0))
            let kept = Session(now: day(1))
            try await store.insertSession(doomed)
            try await store.insertSession(kept)
            let doomedEvent = try await store.appendEvent(
                sessionID: doomed.id, organizationID: orgA, draft(EventType.inputMessage))
            _ = try await store.appendEvent(sessionID: doomed.id, organizationID: orgA, draft(EventType.turnStarted))
            let keptEvent = try await store.appendEvent(
                sessionID: kept.id, organizationID: orgA, draft(EventType.inputMessage))

            let signals = store.eventSignals.subscribe(sessionID: doomed.id)
            try await store.deleteSession(id: doomed.id, organizationID: orgA)
            #expect(await wakes(signals, within: .seconds(30)))  // liveness bound for a loaded machine
            #expect(try await store.session(id: doomed.id, organizationID: orgA) == nil)
            #expect(try await store.events(sessionID: doomed.id, organizationID: orgA, EventQuery()).isEmpty)
            #expect(try await store.event(id: doomedEvent.id, organizationID: orgA) == nil)
            await #expect(throws: StoreError.notFound(kind: "session", id: doomed.id)) {
                try await store.deleteSession(id: doomed.id, organizationID: orgA)
            }
            await #expect(throws: StoreError.notFound(kind: "session", id: doomed.id)) {
                try await store.appendEvent(sessionID: doomed.id, organizationID: orgA, draft(EventType.inputMessage))
            }
            #expect(try await store.event(id: keptEvent.id, organizationID: orgA) == keptEvent)
            #expect(try await store.events(sessionID: kept.id, organizationID: orgA, EventQuery()) == [keptEvent])
            let list = try await store.listSessions(
                organizationID: kept.organizationID, agentID: nil, search: nil, offset: 0, limit: 10)
            #expect(list.items == [kept] && list.total == 1)
        }
    }

    // MARK: Providers

    @Test("providers: insert, read, list oldest first, update, delete", arguments: StoreKind.allCases)
    func providers(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let second = LLMProvider(
                name: "Anthropic", providerType: .anthropic, encryptedAPIKey: "v1:abc", models: ["claude"],
                now: day(20))
            let first = LLMProvider(
                name: "OpenAI", providerType: .openai, baseURL: "https://example.test/v1", status: .disabled,
                models: ["gpt-a", "gpt-b"], isBuiltIn: true, now: day(10))
            let foreign = LLMProvider(organizationID: "org_other", name: "Sim", providerType: .llmsim, now: day(5))
            for provider in [second, first, foreign] { try await store.insertProvider(provider) }

            #expect(try await store.provider(id: second.id, organizationID: orgA) == second)
            #expect(try await store.provider(id: "provider_missing", organizationID: orgA) == nil)
            #expect(try await store.listProviders(organizationID: BuiltIn.organizationID) == [first, second])
            #expect(try await store.listProviders(organizationID: "org_other") == [foreign])
            #expect(try await store.listProviders(organizationID: "org_none").isEmpty)
            await #expect(throws: StoreError.conflict("provider \(first.id) already exists")) {
                try await store.insertProvider(first)
            }

            let updated = try await store.updateProvider(id: second.id, organizationID: orgA) {
                $0.encryptedAPIKey = nil
                $0.status = .disabled
                $0.models.append("claude-2")
            }
            #expect(updated.encryptedAPIKey == nil && updated.status == .disabled && updated.models == ["claude", "claude-2"])
            #expect(updated.updatedAt > second.updatedAt)
            #expect(try await store.provider(id: second.id, organizationID: orgA) == updated)
            await #expect(throws: Refused.self) {
                try await store.updateProvider(id: second.id, organizationID: orgA) {
                    $0.name = "never"
                    throw Refused()
                }
            }
            #expect(try await store.provider(id: second.id, organizationID: orgA) == updated)
            await #expect(throws: StoreError.notFound(kind: "provider", id: "provider_missing")) {
                try await store.updateProvider(id: "provider_missing", organizationID: orgA) { $0.name = "x" }
            }

            try await store.deleteProvider(id: first.id, organizationID: orgA)
            #expect(try await store.provider(id: first.id, organizationID: orgA) == nil)
            #expect(try await store.listProviders(organizationID: BuiltIn.organizationID) == [updated])
            await #expect(throws: StoreError.notFound(kind: "provider", id: first.id)) {
                try await store.deleteProvider(id: first.id, organizationID: orgA)
            }
        }
    }

    // MARK: Events

    @Test("events: gapless sequences per session, stored exactly as returned", arguments: StoreKind.allCases)
    func eventAppend(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let a = Session(now: day(0))
            let b = Session(now: day(1))
            try await store.insertSession(a)
            try await store.insertSession(b)
            var context = EventContext(turnID: "turn_1", inputMessageID: "message_1")
            context.execID = "exec_1"
            context.traceID = "trace"
            context.spanID = "span"
            context.parentSpanID = "parent"
            let rich = EventDraft(
                type: EventType.toolCompleted, context: context,
                data: [
                    "text": "héllo \"quoted\" \\ / ✓", "n": 42, "x": 1.5, "big": 1e300, "neg": -7, "flag": true,
                    "nothing": nil, "list": [1, "two", [3], ["k": "v"]], "empty": [:],
                ],
                metadata: ["source": "test"], tags: ["t1", "t2"])
            let first = try await store.appendEvent(sessionID: a.id, organizationID: orgA, rich)
            let nullMetadata = try await store.appendEvent(
                sessionID: a.id, organizationID: orgA,
                EventDraft(type: EventType.turnStarted, context: EventContext(), data: .null, metadata: .null, tags: []))
            let plain = try await store.appendEvent(
                sessionID: b.id, organizationID: orgA, draft(EventType.inputMessage, "just a string"))
            let third = try await store.appendEvent(
                sessionID: a.id, organizationID: orgA, draft(EventType.turnCompleted, [1, 2, 3]))

            #expect([first, nullMetadata, third].map(\.sequence) == [1, 2, 3])
            #expect(plain.sequence == 1)
            #expect(first.sessionID == a.id && first.type == EventType.toolCompleted)
            #expect(first.context == context && first.data == rich.data && first.metadata == ["source": "test"])
            #expect(first.tags == ["t1", "t2"])
            #expect(nullMetadata.metadata == .null && nullMetadata.tags == [] && nullMetadata.data == .null)
            #expect(third.metadata == nil && third.tags == nil)
            #expect(PublicID.isValid(first.id, prefix: .event))

            #expect(
                try await store.events(sessionID: a.id, organizationID: orgA, EventQuery()) == [first, nullMetadata, third])
            #expect(try await store.events(sessionID: b.id, organizationID: orgA, EventQuery()) == [plain])
            #expect(try await store.event(id: first.id, organizationID: orgA) == first)
            #expect(try await store.event(id: nullMetadata.id, organizationID: orgA) == nullMetadata)
            #expect(try await store.event(id: PublicID.make(.event), organizationID: orgA) == nil)
            #expect(try await store.events(sessionID: "session_missing", organizationID: orgA, EventQuery()).isEmpty)
            await #expect(throws: StoreError.notFound(kind: "session", id: "session_missing")) {
                try await store.appendEvent(
                    sessionID: "session_missing", organizationID: orgA, draft(EventType.inputMessage))
            }
        }
    }

    @Test("text with U+0000 is accepted; what is returned is what a later read returns", arguments: StoreKind.allCases)
    func nulCharacters(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let session = Session(title: "nul\u{0}title", now: day(0))
            try await store.insertSession(session)
            let stored = try #require(try await store.session(id: session.id, organizationID: orgA))
            #expect(stored.title?.hasPrefix("nul") == true && stored.title?.hasSuffix("title") == true)
            let event = try await store.appendEvent(
                sessionID: session.id, organizationID: orgA,
                EventDraft(
                    type: EventType.toolCompleted, context: EventContext(turnID: "t\u{0}"),
                    data: ["output": "binary\u{0}\u{0}data", "literal": "\\u0000 stays text", "\u{0}key": 1],
                    metadata: ["m": "\u{0}"]))
            #expect(try await store.event(id: event.id, organizationID: orgA) == event)
            // An escaped backslash followed by "u0000" is ordinary text and comes back unchanged.
            #expect(event.data["literal"] == "\\u0000 stays text")
            #expect(event.data["output"]?.stringValue?.hasPrefix("binary") == true)
        }
    }

    @Test("events: queries by sequence, type, exclusion, limit and last N", arguments: StoreKind.allCases)
    func eventQueries(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let session = Session(now: day(0))
            try await store.insertSession(session)
            let types = [
                EventType.inputMessage, EventType.turnStarted, EventType.outputMessageDelta,
                EventType.outputMessageDelta, EventType.outputMessageCompleted, EventType.turnCompleted,
                EventType.inputMessage, EventType.turnStarted, EventType.outputMessageDelta, EventType.turnCompleted,
            ]
            var all: [Event] = []
            for (index, type) in types.enumerated() {
                all.append(
                    try await store.appendEvent(
                        sessionID: session.id, organizationID: orgA, draft(type, ["i": JSONValue(index)])))
            }
            func query(_ query: EventQuery) async throws -> [Int] {
                try await store.events(sessionID: session.id, organizationID: orgA, query).map(\.sequence)
            }
            #expect(try await query(EventQuery()) == Array(1...10))
            #expect(try await query(EventQuery(afterSequence: 7)) == [8, 9, 10])
            #expect(try await query(EventQuery(afterSequence: 10)) == [])
            #expect(try await query(EventQuery(afterSequence: 99)) == [])
            #expect(try await query(EventQuery(afterSequence: -3)) == Array(1...10))
            #expect(try await query(EventQuery(types: [EventType.inputMessage, EventType.turnCompleted])) == [1, 6, 7, 10])
            #expect(try await query(EventQuery(types: [])) == [])
            #expect(try await query(EventQuery(types: ["no.such.type"])) == [])
            #expect(try await query(EventQuery(excluded: [EventType.outputMessageDelta])) == [1, 2, 5, 6, 7, 8, 10])
            #expect(
                try await query(
                    EventQuery(
                        afterSequence: 2, types: [EventType.outputMessageDelta, EventType.turnStarted],
                        excluded: [EventType.turnStarted])) == [3, 4, 9])
            #expect(try await query(EventQuery(limit: 3)) == [1, 2, 3])
            #expect(try await query(EventQuery(limit: 3, lastN: true)) == [8, 9, 10])
            #expect(try await query(EventQuery(limit: 0)) == [])
            #expect(try await query(EventQuery(limit: 0, lastN: true)) == [])
            #expect(try await query(EventQuery(limit: 50, lastN: true)) == Array(1...10))
            #expect(try await query(EventQuery(afterSequence: 4, limit: 2)) == [5, 6])
            #expect(
                try await query(EventQuery(afterSequence: 1, excluded: [EventType.outputMessageDelta], limit: 2, lastN: true))
                    == [8, 10])
            #expect(try await query(EventQuery(types: [EventType.outputMessageDelta], limit: 2, lastN: true)) == [4, 9])
            #expect(
                try await store.events(sessionID: session.id, organizationID: orgA, EventQuery(afterSequence: 8))
                    == Array(all[8...]))
        }
    }

    @Test("events: an append wakes the session's subscribers only", arguments: StoreKind.allCases)
    func eventSignals(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let session = Session(now: day(0))
            let other = Session(now: day(1))
            try await store.insertSession(session)
            try await store.insertSession(other)
            let signals = store.eventSignals.subscribe(sessionID: session.id)
            let quiet = store.eventSignals.subscribe(sessionID: other.id)
            _ = try await store.appendEvent(sessionID: session.id, organizationID: orgA, draft(EventType.inputMessage))
            #expect(await wakes(signals, within: .seconds(30)))  // liveness bound for a loaded machine
            // Nothing to wait for when nothing should happen: a window. A wrong wake-up would come
            // from the same delivery that just woke `signals`, so half a second is generous.
            #expect(await !wakes(quiet, within: .milliseconds(500)))
        }
    }

    @Test("events: 20 concurrent appends get sequences 1…20, no gap, no duplicate", arguments: StoreKind.allCases)
    func concurrentAppends(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let session = Session(now: day(0))
            let other = Session(now: day(1))
            try await store.insertSession(session)
            try await store.insertSession(other)
            let sequences = try await withThrowingTaskGroup(of: (String, Int).self) { group in
                for index in 0..<20 {
                    group.addTask {
                        let event = try await store.appendEvent(
                            sessionID: session.id, organizationID: orgA,
                            draft(EventType.outputMessageDelta, ["i": JSONValue(index)]))
                        return (event.sessionID, event.sequence)
                    }
                    if index % 2 == 0 {
                        group.addTask {
                            let event = try await store.appendEvent(
                                sessionID: other.id, organizationID: orgA, draft(EventType.outputMessageDelta))
                            return (event.sessionID, event.sequence)
                        }
                    }
                }
                var result: [String: [Int]] = [:]
                for try await (sessionID, sequence) in group { result[sessionID, default: []].append(sequence) }
                return result
            }
            #expect(sequences[session.id]?.sorted() == Array(1...20))
            #expect(sequences[other.id]?.sorted() == Array(1...10))
            let stored = try await store.events(sessionID: session.id, organizationID: orgA, EventQuery())
            #expect(stored.map(\.sequence) == Array(1...20))
            #expect(Set(stored.map(\.id)).count == 20)
            #expect(Set(stored.compactMap { $0.data["i"]?.doubleValue }).count == 20)
            // The log carries on from where the concurrent appends left it.
            let next = try await store.appendEvent(
                sessionID: session.id, organizationID: orgA, draft(EventType.turnCompleted))
            #expect(next.sequence == 21)
        }
    }
}
