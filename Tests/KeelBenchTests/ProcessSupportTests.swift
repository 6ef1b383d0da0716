import Testing

@testable import KeelBench

/// What the benchmark reads from /proc, and the environments it gives the server and workers.
@Suite struct ProcessSupportTests {
    @Test func procStatParsing() {
        // The command name may hold spaces and parentheses; utime and stime are fields 14 and 15.
        let stat = "4242 (keel (srv) x) S 1 4242 4242 0 -1 4194560 3000 0 0 0 150 50 0 0 20 0 9 0 100 1000 200"
        #expect(ProcStat.cpuTicks(statLine: stat) == 200)
        #expect(ProcStat.cpuTicks(statLine: "garbage") == nil)
        #expect(ProcStat.vmRSSBytes(status: "Name:\tkeel\nVmPeak:\t  9 kB\nVmRSS:\t   51200 kB\n") == 51200 * 1024)
        let table = """
              sl  local_address rem_address   st tx_queue rx_queue
               0: 0100007F:1F91 00000000:0000 0A 00000000:00000000
               1: 0100007F:1F91 0100007F:D431 01 00000000:00000000
               2: 0100007F:D431 0100007F:1F91 01 00000000:00000000
            """
        #expect(ProcStat.established(in: table, localPort: 0x1F91) == 1)
    }

    @Test func ownProcessIsReadable() throws {
        #if os(Linux)
        let pid = ProcStat.pids(named: "no-such-process-name")
        #expect(pid.isEmpty)
        #expect(ProcStat.ownCPUSeconds() > 0)
        #endif
    }

    @Test func serverEnvironmentInheritsNoConfiguration() {
        let caller = ["PATH": "/bin", "AUTH_MODE": "password", "AUTH_JWT_SECRET": "s", "DATABASE_URL": "postgres://x",
                      "DEV_MODE": "1", "DEFAULT_OPENAI_API_KEY": "sk-real", "HOME": "/root"]
        let plan = ServerEnvironment.Plan(
            mode: .postgresWorkers, scenario: .tool, port: 9100, databaseURL: "postgres://postgres@127.0.0.1:5/keel_bench_1",
            workerPort: 9101, workerToken: "tok", embeddedExecutors: 4)
        let server = ServerEnvironment.server(plan, caller: caller, extra: ["DATABASE_MAX_CONNECTIONS": "20"])
        #expect(server["PATH"] == "/bin" && server["HOME"] == "/root")
        #expect(server["AUTH_MODE"] == "none" && server["AUTH_JWT_SECRET"] == nil && server["DEFAULT_OPENAI_API_KEY"] == nil)
        #expect(server["DEV_MODE"] == "false" && server["DATABASE_URL"] == plan.databaseURL)
        #expect(server["DURABLE_EMBEDDED_EXECUTORS"] == "0" && server["WORKER_GRPC_ADDR"] == "127.0.0.1:9101")
        #expect(server["SECRETS_ENCRYPTION_KEY"]?.hasPrefix("kek-v1:") == true)
        #expect(server["LLM_ALLOW_PRIVATE_BASE_URLS"] == "true" && server["DATABASE_MAX_CONNECTIONS"] == "20")
        #expect(server["HOST"] == "127.0.0.1" && server["PORT"] == "9100" && server["LOG_LEVEL"] == "warning")

        let worker = ServerEnvironment.worker(index: 1, plan: plan, tasks: 10, caller: caller)
        #expect(worker["WORKER_GRPC_ADDRESS"] == "127.0.0.1:9101" && worker["WORKER_GRPC_AUTH_TOKEN"] == "tok")
        #expect(worker["WORKER_ID"] == "bench-1" && worker["MAX_CONCURRENT_TASKS"] == "10" && worker["DATABASE_URL"] == nil)

        var memory = plan
        memory.mode = .memory
        memory.scenario = .sim
        let dev = ServerEnvironment.server(memory, caller: caller)
        #expect(dev["DEV_MODE"] == "1" && dev["DATABASE_URL"] == nil && dev["LLM_ALLOW_PRIVATE_BASE_URLS"] == nil)
        #expect(dev["OTEL_TARGETS"] == nil && dev["ENABLE_PROMETHEUS_METRICS"] == nil)

        var traced = memory
        traced.mode = .memoryTraced
        traced.scenario = .stream
        traced.collectorURL = "http://127.0.0.1:9200"
        let observed = ServerEnvironment.server(traced, caller: caller)
        #expect(observed["DEV_MODE"] == "1" && observed["LLM_ALLOW_PRIVATE_BASE_URLS"] == "true")
        #expect(observed["OTEL_TARGETS"] == "LANGFUSE,PHOENIX,GENERIC" && observed["ENABLE_PROMETHEUS_METRICS"] == "true")
        for variable in ["LANGFUSE_BASE_URL", "PHOENIX_COLLECTOR_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"] {
            #expect(observed[variable] == "http://127.0.0.1:9200")
        }
        #expect(observed["OTEL_EXPORTER_OTLP_PROTOCOL"] == "http/protobuf")
        #expect(observed["LANGFUSE_PUBLIC_KEY"] != nil && observed["LANGFUSE_SECRET_KEY"] != nil)
    }

    @Test func postgresURLs() throws {
        let admin = try PostgresURL("postgres://postgres@127.0.0.1:5433/postgres")
        #expect(admin.host == "127.0.0.1" && admin.port == 5433 && admin.user == "postgres" && admin.database == "postgres")
        #expect(admin.with(database: "keel_bench_ab").text == "postgres://postgres@127.0.0.1:5433/keel_bench_ab?sslmode=disable")
        #expect(throws: BenchError.self) { try PostgresURL("mysql://x") }
        #expect(try BenchMode.list("memory, postgres-workers") == [.memory, .postgresWorkers])
        #expect(try BenchMode.list("memory-traced") == [.memoryTraced] && !BenchMode.memoryTraced.usesPostgres)
        #expect(try BenchScenario.list("sim,stream") == [.sim, .stream] && BenchScenario.stream.usesMock)
        #expect(throws: BenchError.self) { try BenchMode.list("memory,disk") }
    }
}
