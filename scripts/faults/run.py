#!/usr/bin/env python3
"""Keel's fault-injection suite (run by scripts/fault-test). Every case drives the real binary on
loopback, prints what it measured and asserts; the last line is `N passed, N failed`.

Cases (FAULT_CASES=comma list to pick some; names below):
  observability   a dead (closed port) and a slow (black hole) trace backend: turn latency p50
                  against a server without tracing (in-memory servers, interleaved turns).
  idle            an idle durable server and worker use (almost) no CPU (regression: the step
                  executors' claim loop spun once its first poll wait had timed out).
  worker-kill     FAULT_KILLS (10) rounds; each `kill -9`s the only worker while one turn is
                  mid-LLM-stream (slow OpenAI-protocol fake) and one is mid-tool (web_fetch of a slow
                  loopback page, after a fast parallel fetch was recorded), then restarts it: every
                  turn completes, recorded tools never run again, logs gapless.
  server-restart  `kill -9` of the server mid-stream and mid-tool, started again on the same
                  database: both turns complete, the next turn too.
  postgres-restart `pg_ctl restart -m fast` of the cluster mid-stream and mid-tool: the server
                  reconnects, both turns complete, the next turn too.
  stall           a provider that stalls after the first token: the idle timeout
                  (LLM_STREAM_IDLE_TIMEOUT_SECS) fails the turn with the user-facing error text,
                  and the next turn in the session completes.
  ratelimit       429 + `Retry-After: 1` for the first 3 calls: the turn completes, retries are
                  spaced by Retry-After; a storm that never ends fails the turn after a bounded
                  number of calls.
  soak            FAULT_SOAK_SESSIONS (1000) sessions, one SSE stream each, cycling turns at
                  FAULT_SOAK_RATE (10) turns/s in total for FAULT_SOAK_SECS (600 with
                  CI=true, else 60) against a durable server: no errors, server RSS flat between
                  the first and last third of the run.
The durable cases need KEEL_TEST_DATABASE_URL (scripts/with-postgres); postgres-restart also
KEEL_TEST_PGDATA/KEEL_TEST_PGBIN/KEEL_TEST_PGLOG.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import secrets
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fakes import BlackHole, FakeOpenAI, SlowWeb, closed_port, wait_until  # noqa: E402
from keel import Keel, SSEWatch, bench, check_log, tool_starts  # noqa: E402

BINARY = os.environ.get("KEEL_BIN", ".build/debug/keel")
ADMIN_URL = os.environ.get("KEEL_TEST_DATABASE_URL")
KILLS = int(os.environ.get("FAULT_KILLS", "10"))
CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
SOAK_SECS = float(os.environ.get("FAULT_SOAK_SECS", "600" if CI else "60"))
SOAK_SESSIONS = int(os.environ.get("FAULT_SOAK_SESSIONS", "1000"))
SOAK_RATE = float(os.environ.get("FAULT_SOAK_RATE", "10"))
LLM_FAILURE_TEXT = "I encountered an error while processing your request. Please try again later."
IDLE_TIMEOUT_SECS = 2.0
STALE_SECS = 3.0
TURN_TIMEOUT = 90.0


class CaseFailed(Exception):
    pass


def check(condition: bool, message: str) -> None:
    if not condition:
        raise CaseFailed(message)


def say(text: str) -> None:
    print(f"  {text}", flush=True)


class Context:
    def __init__(self, log_dir: str) -> None:
        self.log_dir = log_dir
        self.provider = FakeOpenAI(slow_chunks=16, slow_gap=0.1, stall_secs=30)
        self.web = SlowWeb(delay=1.5)
        self.durable: Keel | None = None
        self.current: list[Keel] = []  # deployments whose logs a failure prints

    def durable_keel(self) -> Keel:
        """One durable deployment shared by the durable cases: DURABLE_EMBEDDED_EXECUTORS=0 and one
        `keel worker`, fast reclamation, the fake provider as OPENAI_BASE_URL."""
        if self.durable is None:
            self.durable = Keel(
                BINARY, self.log_dir, "durable", durable=True, admin_url=ADMIN_URL, workers=1,
                server_env={
                    "DURABLE_STALE_TASK_THRESHOLD_SECS": str(STALE_SECS), "DURABLE_RECLAIM_INTERVAL_SECS": "0.5",
                    "WORKER_HEARTBEAT_INTERVAL_SECS": "0.5", "OPENAI_BASE_URL": self.provider.base_url,
                    "DEFAULT_OPENAI_API_KEY": "sk-fault", "WEB_FETCH_ALLOW_PRIVATE_ADDRESSES": "true",
                    "LLM_STREAM_IDLE_TIMEOUT_SECS": str(IDLE_TIMEOUT_SECS)},
                worker_env={
                    "WORKER_HEARTBEAT_INTERVAL_SECS": "0.5", "WEB_FETCH_ALLOW_PRIVATE_ADDRESSES": "true",
                    "LLM_STREAM_IDLE_TIMEOUT_SECS": str(IDLE_TIMEOUT_SECS), "MAX_CONCURRENT_TASKS": "10"})
        self.current = [self.durable]
        return self.durable

    def close(self) -> None:
        if self.durable is not None:
            self.durable.stop()
        self.provider.close()
        self.web.close()


# --- helpers for the durable cases ------------------------------------------------------------


class TurnPair:
    """One session streaming slowly from the provider and one running a slow web_fetch (after a
    fast parallel fetch), both started now."""

    def __init__(self, ctx: Context, keel: Keel, label: str) -> None:
        self.keel, self.web, self.provider = keel, ctx.web, ctx.provider
        self.key = f"{label}-{secrets.token_hex(4)}"
        self.stream_session = keel.session(keel.agent("stream", "openai/slow", []))
        self.tool_session = keel.session(keel.agent("tool", "llmsim/sim", ["web_fetch"]))
        self.stream_message = keel.post(self.stream_session, f"stream {self.key}")
        self.tool_message = keel.post(self.tool_session, f"tool {self.key} "
                                      f'[[tool:web_fetch {{"url":"{self.web.url("slow", self.key)}"}}]] '
                                      f'[[tool:web_fetch {{"url":"{self.web.url("fast", self.key)}"}}]]')

    def fast_recorded(self) -> bool:
        try:
            events = self.keel.events(self.tool_session)
        except Exception:
            return False
        return any(e["type"] == "tool.completed" and "/fast/" in str(e.get("data")) for e in events)

    def wait_in_progress(self) -> None:
        ok = wait_until(lambda: self.provider.streaming(self.key, 3) and self.web.busy("slow", self.key)
                        and self.fast_recorded(), 30)
        check(ok, f"{self.key}: turns not mid-stream and mid-tool within 30 s "
                  f"(streaming={self.provider.streaming(self.key, 3)}, slow fetch busy={self.web.busy('slow', self.key)}, "
                  f"fast recorded={self.fast_recorded()})")

    def finish(self, since: float) -> float:
        """Waits for both turns; asserts both completed and the logs are sound; returns the
        seconds from `since` until both had ended."""
        for session, message in ((self.stream_session, self.stream_message), (self.tool_session, self.tool_message)):
            terminal = self.keel.wait_terminal(session, message, TURN_TIMEOUT)
            check(terminal is not None, f"{self.key}: turn in {session} did not end within {TURN_TIMEOUT:.0f} s")
            check(terminal["type"] == "turn.completed", f"{self.key}: turn in {session} ended with {terminal['type']}: "
                                                        f"{str(terminal.get('data'))[:300]}")
        elapsed = time.monotonic() - since
        self.verify()
        return elapsed

    def verify(self) -> None:
        for session in (self.stream_session, self.tool_session):
            problems = check_log(self.keel.events(session))
            check(not problems, f"{self.key}: log of {session}: {problems}")
        events = self.keel.events(self.tool_session)
        fast_calls = [((e.get("data") or {}).get("tool_call") or {}).get("id") for e in events
                      if e["type"] == "tool.started" and "/fast/" in str(e.get("data"))]
        starts = tool_starts(events)
        check(self.web.count("fast", self.key) == 1,
              f"{self.key}: the recorded fast fetch ran {self.web.count('fast', self.key)} times")
        check(all(starts.get(call) == 1 for call in fast_calls),
              f"{self.key}: the recorded fast call was started again: {starts}")
        check(1 <= self.web.count("slow", self.key) <= 2,
              f"{self.key}: the interrupted slow fetch ran {self.web.count('slow', self.key)} times (1..2 expected)")
        inputs = [e for s in (self.stream_session, self.tool_session) for e in self.keel.events(s)
                  if e["type"] == "input.message"]
        check(len(inputs) == 2, f"{self.key}: {len(inputs)} input.message events for 2 posted messages")

    def next_turn_completes(self, watch: SSEWatch | None = None) -> float:
        """Posts another turn in the streamed session; it must complete (and, with `watch`, its
        terminal event must reach that already-open SSE stream live)."""
        started = time.monotonic()
        message = self.keel.post(self.stream_session, f"after {self.key}", model="openai/fast", retry_for=30)
        terminal = self.keel.wait_terminal(self.stream_session, message, TURN_TIMEOUT)
        check(terminal is not None and terminal["type"] == "turn.completed",
              f"{self.key}: the next turn ended with {terminal and terminal['type']}")
        if watch is not None:
            check(wait_until(lambda: watch.saw(message), 15),
                  f"{self.key}: the next turn's terminal event never reached the SSE stream opened before the fault")
        return time.monotonic() - started


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


# --- cases -----------------------------------------------------------------------------------


def case_idle(ctx: Context) -> str:
    keel = ctx.durable_keel()
    time.sleep(7)  # past the executors' 5 s poll interval: a wait that timed out must not leave them spinning
    processes = {"server": keel.pid, "worker": keel.workers[0].pid}
    before = {name: bench.proc_cpu_seconds(pid) for name, pid in processes.items()}
    time.sleep(5)
    usage = {name: (bench.proc_cpu_seconds(pid) - before[name]) / 5 * 100 for name, pid in processes.items()}
    say(", ".join(f"{name} {value:.0f} % of a core" for name, value in usage.items()) + " while idle for 5 s")
    # Heartbeat and reclaim every 0.5 s in this deployment; a spinning claim loop costs 30-60 %.
    check(all(value < 15 for value in usage.values()), f"idle CPU {usage}")
    return "idle durable server + worker: " + ", ".join(f"{n} {v:.0f} %" for n, v in usage.items()) + " CPU"


def case_worker_kill(ctx: Context) -> str:
    keel = ctx.durable_keel()
    recoveries, streams, slow_runs = [], [], []
    for round_ in range(KILLS):
        pair = TurnPair(ctx, keel, f"kill{round_}")
        pair.wait_in_progress()
        killed = time.monotonic()
        keel.kill_worker(0)
        keel.start_worker(0)
        recoveries.append(pair.finish(killed))
        streams.append(len(ctx.provider.for_key(pair.key)))
        slow_runs.append(ctx.web.count("slow", pair.key))
        say(f"round {round_ + 1}/{KILLS}: both turns completed {recoveries[-1]:.1f} s after kill -9; "
            f"provider calls for the streamed turn {streams[-1]}, slow tool runs {slow_runs[-1]}, fast tool runs 1")
    return (f"{KILLS} kills x (mid-stream + mid-tool): {2 * KILLS}/{2 * KILLS} turns completed, recovery after kill "
            f"p50 {pct(recoveries, 0.5):.1f} s max {max(recoveries):.1f} s (stale threshold {STALE_SECS:.0f} s), "
            f"0 recorded tools re-run, 0 gaps")


def case_server_restart(ctx: Context) -> str:
    keel = ctx.durable_keel()
    pair = TurnPair(ctx, keel, "server")
    pair.wait_in_progress()
    killed = time.monotonic()
    keel.kill_server()
    keel.start_server()
    back = time.monotonic() - killed
    recovery = pair.finish(killed)
    check(all(w is not None and w.poll() is None for w in keel.workers), "the worker exited while the server was down")
    after = pair.next_turn_completes()
    return (f"kill -9 + restart of the server mid-stream and mid-tool: healthy again after {back:.1f} s, "
            f"both turns completed {recovery:.1f} s after the kill, next turn {after:.1f} s, 0 gaps")


def pg_restart() -> float:
    data, pgbin, log = (os.environ.get(k) for k in ("KEEL_TEST_PGDATA", "KEEL_TEST_PGBIN", "KEEL_TEST_PGLOG"))
    check(bool(data and pgbin and log), "KEEL_TEST_PGDATA/KEEL_TEST_PGBIN/KEEL_TEST_PGLOG unset (scripts/with-postgres)")
    command = [f"{pgbin}/pg_ctl", "-D", data, "-l", log, "-m", "fast", "-t", "30", "-w", "restart"]
    if os.geteuid() == 0:
        command = ["su", "postgres", "-s", "/bin/sh", "-c", "cd / && " + shlex.join(command)]
    started = time.monotonic()
    result = subprocess.run(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            timeout=60, text=True)
    check(result.returncode == 0, f"pg_ctl restart failed: {result.stderr.strip()[:300]}")
    return time.monotonic() - started


def case_postgres_restart(ctx: Context) -> str:
    keel = ctx.durable_keel()
    pair = TurnPair(ctx, keel, "pg")
    watch = SSEWatch(keel, pair.stream_session)
    try:
        pair.wait_in_progress()
        restarted = time.monotonic()
        downtime = pg_restart()
        recovery = pair.finish(restarted)
        check(wait_until(lambda: watch.saw(pair.stream_message), 15),
              "the interrupted turn's terminal event never reached the SSE stream opened before the restart")
        after = pair.next_turn_completes(watch)
    finally:
        watch.close()
    check(keel.server is not None and keel.server.poll() is None, "the server exited")
    return (f"pg_ctl restart -m fast ({downtime:.1f} s) mid-stream and mid-tool: both turns completed "
            f"{recovery:.1f} s after the restart began, next turn {after:.1f} s, live SSE intact, 0 gaps")


def case_stall(ctx: Context) -> str:
    keel = ctx.durable_keel()
    session = keel.session(keel.agent("stall", "openai/stall", []))
    key = f"stall-{secrets.token_hex(4)}"
    started = time.monotonic()
    message = keel.post(session, key)
    terminal = keel.wait_terminal(session, message, 60)
    took = time.monotonic() - started
    check(terminal is not None, "the stalled turn did not end within 60 s")
    check(terminal["type"] == "turn.failed", f"the stalled turn ended with {terminal['type']}")
    events = keel.events(session)
    turn = terminal["context"].get("turn_id")
    texts = [str((e.get("data") or {}).get("message")) for e in events
             if e["type"] == "output.message.completed" and e["context"].get("turn_id") == turn]
    check(any(LLM_FAILURE_TEXT in t for t in texts), f"no agent message with the user-facing error text: {texts}")
    calls = len(ctx.provider.for_key(key))
    check(took >= IDLE_TIMEOUT_SECS * 0.9, f"the turn failed after {took:.1f} s, before the idle timeout")
    check(calls <= 5, f"{calls} provider calls for one stalled turn")
    next_started = time.monotonic()
    message = keel.post(session, f"again {key}", model="openai/fast")
    terminal = keel.wait_terminal(session, message, TURN_TIMEOUT)
    check(terminal is not None and terminal["type"] == "turn.completed",
          f"the next turn ended with {terminal and terminal['type']}")
    problems = check_log(keel.events(session))
    check(not problems, f"log: {problems}")
    return (f"stall after the first token (idle timeout {IDLE_TIMEOUT_SECS:.0f} s): turn.failed after {took:.1f} s "
            f"({calls} provider call(s), error text shown), next turn completed in {time.monotonic() - next_started:.1f} s")


def case_ratelimit(ctx: Context) -> str:
    keel = ctx.durable_keel()
    agent = keel.agent("ratelimit", "openai/ratelimit", [])
    session = keel.session(agent)
    key = f"[[429x3]] {secrets.token_hex(4)}"
    started = time.monotonic()
    message = keel.post(session, key)
    terminal = keel.wait_terminal(session, message, 60)
    took = time.monotonic() - started
    check(terminal is not None and terminal["type"] == "turn.completed",
          f"the rate-limited turn ended with {terminal and terminal['type']}")
    calls = ctx.provider.for_key(key)
    gaps = [b.received - a.received for a, b in zip(calls, calls[1:])]
    check(len(calls) == 4, f"{len(calls)} provider calls (3 x 429 then 200 expected)")
    check(all(0.95 <= g <= 3.0 for g in gaps), f"retry spacing {[round(g, 2) for g in gaps]} s, Retry-After is 1 s")
    check(not check_log(keel.events(session)), f"log: {check_log(keel.events(session))}")

    storm = f"[[429x-1]] {secrets.token_hex(4)}"
    storm_session = keel.session(agent)
    storm_started = time.monotonic()
    message = keel.post(storm_session, storm)
    terminal = keel.wait_terminal(storm_session, message, 120)
    storm_took = time.monotonic() - storm_started
    storm_calls = len(ctx.provider.for_key(storm))
    check(terminal is not None and terminal["type"] == "turn.failed",
          f"the endless 429 storm ended with {terminal and terminal['type']}")
    time.sleep(2)  # nothing may call the provider after the turn ended
    check(len(ctx.provider.for_key(storm)) == storm_calls, "provider calls continued after turn.failed")
    check(storm_calls <= 20, f"{storm_calls} provider calls for one turn in an endless 429 storm")
    return (f"429 x3 with Retry-After 1: completed in {took:.1f} s after 4 calls, spacing "
            f"{min(gaps):.2f}-{max(gaps):.2f} s; endless storm: turn.failed after {storm_calls} calls in {storm_took:.1f} s")


async def measure_latencies(targets: dict[str, Keel], rounds: int, warmup: int) -> dict[str, list[float]]:
    sessions = {}
    for name, keel in targets.items():
        session_id = keel.session(keel.agent("obs", "llmsim/sim", ["test_math"]))
        sessions[name] = bench.BenchSession("127.0.0.1", keel.port, "", session_id, terminal_only=True)
        await sessions[name].open_stream()
    latencies: dict[str, list[float]] = {name: [] for name in targets}
    try:
        for round_ in range(warmup + rounds):
            names = list(targets)
            random.shuffle(names)
            for name in names:
                kind, latency = await sessions[name].turn('2+3? [[tool:add {"a":2,"b":3}]]', 30)
                check(kind == "turn.completed", f"{name}: turn ended with {kind}")
                if round_ >= warmup:
                    latencies[name].append(latency * 1000)
    finally:
        for session in sessions.values():
            await session.close()
    return latencies


def case_observability(ctx: Context) -> str:
    hole = BlackHole()
    dead = closed_port()
    configs = {
        "none": {},
        "dead-grpc": {"OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{dead}"},
        "dead-http": {"OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{dead}", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"},
        "slow-grpc": {"OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{hole.port}"},
        "slow-http": {"OTEL_TARGETS": "PHOENIX,GENERIC", "PHOENIX_COLLECTOR_ENDPOINT": f"http://127.0.0.1:{hole.port}/v1/traces",
                      "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{hole.port}", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"},
    }
    targets: dict[str, Keel] = {}
    try:
        for name, env in configs.items():
            targets[name] = Keel(BINARY, ctx.log_dir, f"obs-{name}", durable=False,
                                 server_env=dict(env, OTEL_BSP_SCHEDULE_DELAY="200", LOG_LEVEL="warning"))
        ctx.current = list(targets.values())
        latencies = asyncio.run(measure_latencies(targets, rounds=60, warmup=5))
        base = statistics.median(latencies["none"])
        parts = [f"none p50 {base:.1f} ms"]
        failures = []
        for name in list(configs)[1:]:
            p50 = statistics.median(latencies[name])
            ratio = p50 / base
            parts.append(f"{name} p50 {p50:.1f} ms (x{ratio:.2f})")
            # Unchanged within a tolerance: 1.5x, or 10 ms for the few-ms turns of a debug build.
            if ratio > 1.5 and p50 - base > 10:
                failures.append(f"{name}: p50 {p50:.1f} ms vs {base:.1f} ms without tracing")
        say("; ".join(parts) + f"; black hole accepted {hole.accepted} connection(s)")
        check(not failures, "; ".join(failures))
        check(hole.accepted > 0, "no exporter ever connected to the black hole (tracing not active?)")
        return "trace backend dead or hung: turn latency " + ", ".join(parts[1:]) + f" vs {parts[0]}"
    finally:
        for keel in targets.values():
            keel.stop()
        hole.close()


async def soak(keel: Keel, sessions: int, seconds: float, rate: float) -> dict:
    """Opens `sessions` sessions (one SSE stream each), then cycles turns in all of them for
    `seconds` at about `rate` turns/s in total (each session waits sessions/rate s on average
    between its turns, randomised); samples the server's RSS every second."""
    creator = bench.Connection("127.0.0.1", keel.port)
    status, body = await creator.request("POST", "/v1/agents", {
        "name": f"soak-{secrets.token_hex(3)}", "system_prompt": "Soak.", "capabilities": [{"ref": "test_math"}]})
    check(status == 201, f"agent: {status}")
    agent_id = json.loads(body)["id"]
    ids = []
    for _ in range(sessions):
        status, body = await creator.request("POST", "/v1/sessions", {"agent_id": agent_id})
        check(status == 201, f"session: {status} {body[:200]!r}")
        ids.append(json.loads(body)["id"])
    await creator.close()
    clients = [bench.BenchSession("127.0.0.1", keel.port, "", sid, terminal_only=True) for sid in ids]
    for start in range(0, len(clients), 50):
        await asyncio.gather(*(c.open_stream() for c in clients[start:start + 50]))
    stats: dict = {"turns": 0, "errors": 0, "latencies": [], "samples": []}
    # Warm-up, not measured: every session runs its first turn, 20 at a time.
    gate = asyncio.Semaphore(20)

    async def first_turn(client: bench.BenchSession) -> None:
        async with gate:
            kind, _ = await client.turn('[[tool:add {"a":1,"b":2}]]', 120)
            check(kind == "turn.completed", f"warm-up turn ended with {kind}")
    warm_started = time.monotonic()
    await asyncio.gather(*(first_turn(c) for c in clients))
    stats["warmup_secs"] = time.monotonic() - warm_started
    say(f"soak warm-up: {sessions} first turns in {stats['warmup_secs']:.0f} s, "
        f"RSS {bench.proc_status_kb(keel.pid, 'VmRSS') / 1024:.1f} MiB")
    mean_gap = sessions / rate
    began = time.monotonic()
    end = began + seconds

    async def pause(seconds: float) -> None:
        await asyncio.sleep(max(0.0, min(seconds, end - time.monotonic())))

    async def cycle(client: bench.BenchSession) -> None:
        await pause(random.uniform(0, mean_gap))
        while time.monotonic() < end:
            try:
                # A fresh API connection per turn: the server may close keep-alive connections
                # that idled through the think time (its idle timeout), which is no failure.
                await client.api.close()
                kind, latency = await client.turn('[[tool:add {"a":1,"b":2}]]', 120)
                stats["turns"] += 1
                stats["latencies"].append(latency)
                if kind != "turn.completed":
                    stats["errors"] += 1
            except Exception as error:  # counted; the run goes on
                stats["errors"] += 1
                if stats["errors"] <= 3:
                    say(f"soak error: {error!r}")
                await asyncio.sleep(1)
            await pause(random.uniform(0.5, 1.5) * mean_gap)

    async def sample() -> None:
        while time.monotonic() < end:
            stats["samples"].append(bench.proc_status_kb(keel.pid, "VmRSS"))
            if len(stats["samples"]) % 30 == 0:
                say(f"soak t={time.monotonic() - began:.0f} s: {stats['turns']} turns, {stats['errors']} errors, "
                    f"RSS {stats['samples'][-1] / 1024:.1f} MiB")
            await asyncio.sleep(1)

    try:
        await asyncio.gather(sample(), *(cycle(c) for c in clients))
    finally:
        for start in range(0, len(clients), 100):
            await asyncio.gather(*(c.close() for c in clients[start:start + 100]), return_exceptions=True)
    return stats


def case_soak(ctx: Context) -> str:
    keel = Keel(BINARY, ctx.log_dir, "soak", durable=True, admin_url=ADMIN_URL,
                server_env={"SSE_PER_ORG_MAX": str(2 * SOAK_SESSIONS), "SSE_GLOBAL_MAX": str(4 * SOAK_SESSIONS),
                            # the client keeps one stream per session for the whole run
                            "SSE_REALTIME_CYCLE_SECS": "86400", "LOG_LEVEL": "warning"})
    ctx.current = [keel]
    try:
        started = time.monotonic()
        stats = asyncio.run(soak(keel, SOAK_SESSIONS, SOAK_SECS, SOAK_RATE))
        wall = time.monotonic() - started
        samples = stats["samples"]
        check(len(samples) >= 9, f"only {len(samples)} RSS samples")
        third = len(samples) // 3
        first, last = statistics.mean(samples[:third]) / 1024, statistics.mean(samples[-third:]) / 1024
        growth = (last - first) / first
        p50, p99 = pct(stats["latencies"], 0.5) * 1000, pct(stats["latencies"], 0.99) * 1000
        say(f"{SOAK_SESSIONS} sessions at ~{SOAK_RATE:g} turns/s, {wall:.0f} s: {stats['turns']} turns ({stats['turns'] / wall:.1f}/s), "
            f"{stats['errors']} errors, latency p50 {p50:.0f} ms p99 {p99:.0f} ms; RSS first third {first:.1f} MiB, "
            f"last third {last:.1f} MiB ({growth * 100:+.1f} %), peak {max(samples) / 1024:.1f} MiB")
        check(stats["errors"] == 0, f"{stats['errors']} failed turns")
        check(keel.server is not None and keel.server.poll() is None, "the server exited")
        # Flat: the last third within 10 % (or 16 MiB, allocator noise on short runs) of the first.
        check(growth <= 0.10 or last - first <= 16, f"RSS grew {growth * 100:.1f} % ({first:.1f} -> {last:.1f} MiB)")
        check(stats["turns"] >= 0.5 * SOAK_RATE * SOAK_SECS, f"only {stats['turns']} turns in {SOAK_SECS:.0f} s")
        return (f"{SOAK_SESSIONS} sessions x {SOAK_SECS:.0f} s: {stats['turns']} turns, 0 errors, p50 {p50:.0f} ms; "
                f"RSS {first:.1f} -> {last:.1f} MiB ({growth * 100:+.1f} %)")
    finally:
        keel.stop()


CASES = [
    ("observability", case_observability, False),
    ("idle", case_idle, True),
    ("worker-kill", case_worker_kill, True),
    ("server-restart", case_server_restart, True),
    ("postgres-restart", case_postgres_restart, True),
    ("stall", case_stall, True),
    ("ratelimit", case_ratelimit, True),
    ("soak", case_soak, True),
]


def main() -> int:
    # SIGTERM (scripts/fault-test's timeout) unwinds like Ctrl-C, so every child is stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    wanted = [c.strip() for c in os.environ.get("FAULT_CASES", "").split(",") if c.strip()]
    unknown = set(wanted) - {name for name, _, _ in CASES}
    if unknown:
        print(f"unknown FAULT_CASES: {sorted(unknown)}", file=sys.stderr)
        return 2
    passed = failed = 0
    log_dir = tempfile.mkdtemp(prefix="keel-faults.")
    ctx = Context(log_dir)
    try:
        for name, run, needs_db in CASES:
            if wanted and name not in wanted:
                continue
            print(f"== fault case {name}", flush=True)
            started = time.monotonic()
            try:
                if needs_db and not ADMIN_URL:
                    raise CaseFailed("KEEL_TEST_DATABASE_URL unset: run under scripts/with-postgres")
                summary = run(ctx)
                passed += 1
                print(f"PASS {name} ({time.monotonic() - started:.0f} s): {summary}", flush=True)
            except Exception as error:
                failed += 1
                detail = str(error) if isinstance(error, CaseFailed) else traceback.format_exc()
                print(f"FAIL {name} ({time.monotonic() - started:.0f} s): {detail}", flush=True)
                for keel in ctx.current:
                    keel.print_logs(f"{name} failed")
                # A broken shared deployment must not fail the cases after it.
                if ctx.durable is not None and ctx.current and ctx.durable in ctx.current:
                    ctx.durable.stop()
                    ctx.durable = None
    finally:
        ctx.close()
        bench.stop_all_children()
    print(f"{passed} passed, {failed} failed", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
