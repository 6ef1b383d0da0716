"""The real Keel binary under test (server and `keel worker` processes) and a small blocking API
client that survives server restarts. Process handling, databases and /proc readings come from
scripts/bench_client.py."""

from __future__ import annotations

import base64
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from typing import Optional

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import bench_client as bench  # noqa: E402  (scripts/bench_client.py)

TERMINAL = ("turn.completed", "turn.failed", "turn.cancelled")
# Settings the harness owns: never inherited from the caller's environment (nor is any AUTH_*).
OWNED = {"DEV_MODE", "DATABASE_URL", "DATABASE_MAX_CONNECTIONS", "SECRETS_ENCRYPTION_KEY",
         "SECRETS_ENCRYPTION_KEY_PREVIOUS", "WORKER_GRPC_ADDR", "WORKER_GRPC_ADDRESS", "WORKER_GRPC_AUTH_TOKEN",
         "DURABLE_EMBEDDED_EXECUTORS", "MAX_CONCURRENT_TASKS", "WORKER_ID", "HOST", "PORT", "LOG_LEVEL", "LOG_FORMAT",
         "API_PREFIX", "OTEL_TARGETS", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
         "OTEL_EXPORTER_OTLP_PROTOCOL", "BRAINTRUST_API_KEY", "OPENAI_BASE_URL", "DEFAULT_OPENAI_API_KEY"}


class Keel:
    """One server (+ its fresh database and workers in durable mode) on free loopback ports.
    `server_env`/`worker_env` add settings; the server keeps its ports across restarts."""

    def __init__(self, binary: str, log_dir: str, label: str, durable: bool, admin_url: Optional[str] = None,
                 workers: int = 0, server_env: Optional[dict] = None, worker_env: Optional[dict] = None) -> None:
        self.binary, self.log_dir, self.label, self.durable = binary, log_dir, label, durable
        self.port = bench.free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        base = {k: v for k, v in os.environ.items() if k not in OWNED and not k.startswith("AUTH_")}
        # The cases test recovery, not authentication: no credentials (AUTH_MODE=none must be
        # explicit outside DEV_MODE; the server warns about it).
        self.server_env = dict(base, HOST="127.0.0.1", PORT=str(self.port), LOG_LEVEL="info", LOG_FORMAT="text",
                               AUTH_MODE="none")
        self.worker_env = dict(base, LOG_LEVEL="info", LOG_FORMAT="text")
        self.database: Optional[bench.Database] = None
        self.server: Optional[subprocess.Popen] = None
        self.workers: list[Optional[subprocess.Popen]] = [None] * workers
        self.starts = 0
        self.logs: list[str] = []
        if durable:
            psql = bench.find_psql()
            if not admin_url or not psql:
                raise RuntimeError("durable mode needs KEEL_TEST_DATABASE_URL (scripts/with-postgres) and psql")
            self.database = bench.Database(admin_url, psql)
            token = secrets.token_urlsafe(24)
            grpc_port = bench.free_port()
            self.server_env.update(
                DATABASE_URL=self.database.url, WORKER_GRPC_AUTH_TOKEN=token,
                SECRETS_ENCRYPTION_KEY="kek-v1:" + base64.b64encode(os.urandom(32)).decode(),
                WORKER_GRPC_ADDR=f"127.0.0.1:{grpc_port}", DURABLE_EMBEDDED_EXECUTORS="0" if workers else "4")
            self.worker_env.update(WORKER_GRPC_ADDRESS=f"127.0.0.1:{grpc_port}", WORKER_GRPC_AUTH_TOKEN=token,
                                   WORKER_GRPC_CONNECT_TIMEOUT="60")
        else:
            self.server_env["DEV_MODE"] = "1"
        self.server_env.update(server_env or {})
        self.worker_env.update(worker_env or {})
        try:
            self.start_server()
            for i in range(workers):
                self.start_worker(i)
        except BaseException:
            self.stop()
            raise

    def _log(self, name: str) -> str:
        path = os.path.join(self.log_dir, f"{self.label}-{name}-{self.starts}.log")
        self.starts += 1
        self.logs.append(path)
        return path

    @property
    def pid(self) -> int:
        assert self.server is not None
        return self.server.pid

    def start_server(self) -> None:
        self.server = bench.spawn([self.binary, "server"], self.server_env, self._log("server"))
        bench.wait_healthy(self.port, self.server, timeout=60)

    def start_worker(self, index: int) -> None:
        self.workers[index] = bench.spawn([self.binary, "worker"], dict(self.worker_env, WORKER_ID=f"fault-{index}"),
                                          self._log(f"worker{index}"))

    @staticmethod
    def _kill9(process: Optional[subprocess.Popen]) -> None:
        if process is None:
            return
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
        if process in bench.CHILDREN:
            bench.CHILDREN.remove(process)

    def kill_worker(self, index: int) -> None:
        self._kill9(self.workers[index])
        self.workers[index] = None

    def kill_server(self) -> None:
        self._kill9(self.server)
        self.server = None

    def stop(self) -> None:
        live = [w for w in self.workers if w is not None] + ([self.server] if self.server else [])
        bench.stop_processes([w for w in self.workers if w is not None], 15)
        if self.server is not None:
            bench.stop_processes([self.server], 15)
        self.workers = [None] * len(self.workers)
        self.server = None
        if self.database is not None:
            self.database.drop()
        del live

    def print_logs(self, why: str, lines: int = 60) -> None:
        for path in self.logs[-6:]:
            print(f"# ---- {why}: last {lines} lines of {path}", file=sys.stderr)
            print(bench.log_tail(path, lines), file=sys.stderr)
        sys.stderr.flush()

    # --- API ------------------------------------------------------------------------------

    def call(self, method: str, path: str, payload=None, timeout: float = 10) -> tuple[int, object]:
        data = json.dumps(payload).encode() if payload is not None else None
        headers = {"content-type": "application/json", "authorization": bench.PLACEHOLDER_API_KEY}
        request = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, error.read()[:300]

    def must(self, method: str, path: str, payload=None, expect=(200, 201)) -> dict:
        status, body = self.call(method, path, payload)
        if status not in expect:
            raise RuntimeError(f"{method} {path}: {status} {body!r}")
        return body  # type: ignore[return-value]

    def agent(self, name: str, model: str, capabilities: list[str]) -> str:
        return self.must("POST", "/v1/agents", {
            "name": f"{name}-{secrets.token_hex(3)}", "system_prompt": "You are a fault-injection target.",
            "default_model_id": model, "capabilities": [{"ref": c} for c in capabilities]})["id"]

    def session(self, agent_id: str) -> str:
        return self.must("POST", "/v1/sessions", {"agent_id": agent_id})["id"]

    def post(self, session_id: str, text: str, retry_for: float = 0, model: Optional[str] = None) -> str:
        """Posts a user message; returns its id. Retries connection failures for `retry_for` s."""
        payload: dict = {"message": {"role": "user", "content": [{"type": "text", "text": text}]}}
        if model:
            payload["controls"] = {"model_id": model}
        deadline = time.monotonic() + retry_for
        while True:
            try:
                return self.must("POST", f"/v1/sessions/{session_id}/messages", payload)["id"]
            except (OSError, urllib.error.URLError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def events(self, session_id: str) -> list[dict]:
        """The whole log, paged forward by sequence."""
        events: list[dict] = []
        while True:
            after = events[-1]["sequence"] if events else 0
            page = self.must("GET", f"/v1/sessions/{session_id}/events?after_sequence={after}&limit=1000")["data"]
            events.extend(page)
            if len(page) < 1000:
                return events

    def wait_terminal(self, session_id: str, message_id: str, timeout: float) -> Optional[dict]:
        """The terminal event of the turn started by `message_id`, polling (the server may be
        down for a while); None on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                for event in self.events(session_id):
                    if event["type"] in TERMINAL and event.get("context", {}).get("input_message_id") == message_id:
                        return event
            except (OSError, urllib.error.URLError, RuntimeError):
                pass
            time.sleep(0.2)
        return None


def check_log(events: list[dict]) -> list[str]:
    """What is wrong with one session's log: sequence gaps or disorder, a turn without exactly one
    terminal event, a tool call without exactly one `tool.completed`, a duplicated assistant
    message."""
    problems = []
    sequences = [e["sequence"] for e in events]
    if sequences != list(range(1, len(events) + 1)):
        problems.append(f"sequences not 1..{len(events)} in order: {sequences[:40]}")
    turns: dict[str, int] = {}
    for event in events:
        turn = event.get("context", {}).get("turn_id") or (event.get("data") or {}).get("turn_id")
        if event["type"] == "turn.started":
            turns.setdefault(turn, 0)
        if event["type"] in TERMINAL:
            turns[turn] = turns.get(turn, 0) + 1
    for turn, count in turns.items():
        if count != 1:
            problems.append(f"turn {turn}: {count} terminal events")
    started = tool_starts(events)
    completed: dict[str, int] = {}
    for event in events:
        call = (event.get("data") or {}).get("tool_call_id")
        if event["type"] == "tool.completed" and call:
            completed[call] = completed.get(call, 0) + 1
    for call in set(started) | set(completed):
        if completed.get(call, 0) != 1:
            problems.append(f"tool call {call}: {completed.get(call, 0)} tool.completed")
    messages: dict[str, int] = {}
    for event in events:
        if event["type"] == "output.message.completed":
            message = (event.get("data") or {}).get("message") or {}
            key = message.get("id") or json.dumps(message, sort_keys=True)
            messages[key] = messages.get(key, 0) + 1
    for key, count in messages.items():
        if count != 1:
            problems.append(f"assistant message {key}: {count} output.message.completed")
    return problems


def tool_starts(events: list[dict]) -> dict[str, int]:
    """tool.started events per tool call id (a redone act step starts an unrecorded call again)."""
    counts: dict[str, int] = {}
    for event in events:
        call = ((event.get("data") or {}).get("tool_call") or {}).get("id")
        if event["type"] == "tool.started" and call:
            counts[call] = counts.get(call, 0) + 1
    return counts


class SSEWatch:
    """A session's SSE stream (terminal events only) read on a thread, to check that live
    delivery keeps working across a fault; `seen` holds (type, input_message_id)."""

    def __init__(self, keel: Keel, session_id: str) -> None:
        import http.client
        import threading
        self.seen: list[tuple[str, str]] = []
        self.connection = http.client.HTTPConnection("127.0.0.1", keel.port, timeout=120)
        self.connection.request("GET", f"/v1/sessions/{session_id}/sse?types=turn.completed,turn.failed,turn.cancelled",
                                headers={"accept": "text/event-stream", "authorization": bench.PLACEHOLDER_API_KEY})
        self.response = self.connection.getresponse()
        if self.response.status != 200:
            raise RuntimeError(f"SSE: {self.response.status}")
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        event_type = ""
        try:
            for raw in self.response:
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                if line.startswith("event: "):
                    event_type = line[7:]
                elif line.startswith("data: ") and event_type in TERMINAL:
                    context = json.loads(line[6:]).get("context", {})
                    self.seen.append((event_type, context.get("input_message_id")))
        except Exception:  # closed under the reader, or the server went away: the stream is over
            pass

    def saw(self, message_id: str) -> bool:
        return any(m == message_id for _, m in self.seen)

    def close(self) -> None:
        try:
            self.connection.sock and self.connection.sock.shutdown(2)
        except OSError:
            pass
        self.connection.close()
