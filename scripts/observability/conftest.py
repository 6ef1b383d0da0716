"""Fixtures and helpers for Keel's external observability tests (see test_observability.py).

Processes started here: the fake backends (fake_backends.py), rotel (a real OTLP collector from
PyPI), Arize Phoenix (real, from PyPI) and one Keel server per test. Each is started directly
(no shell in between) and stopped by its own PID in teardown.

Environment:
    KEEL_BIN           server binary (default: <repo>/.build/debug/keel)
    OBS_KEEP_LOGS      keep the temporary directory with every process's log
    OBS_VERBOSE        echo server logs of failing tests in full (default: last 60 lines)
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
KEEL_BIN = Path(os.environ.get("KEEL_BIN", REPO / ".build" / "debug" / "keel"))
VENV_BIN = Path(sys.executable).parent

# Distinctive credentials, so a leak is easy to find (test 8).
LANGFUSE_PUBLIC_KEY = "pk-lf-keel-obs-test"
LANGFUSE_SECRET_KEY = "sk-lf-SECRET-3b9e6a1f0c7d"
BRAINTRUST_API_KEY = "sk-bt-SECRET-8e21f4c09a5b"
BRAINTRUST_PROJECT = "keel-obs-test"

LANGFUSE_PATH = "/api/public/otel/v1/traces"
GENERIC_PATH = "/v1/traces"  # what rotel forwards to

# Variables of the host environment that must not leak into a server under test.
_SCRUBBED_PREFIXES = ("OTEL_", "LANGFUSE_", "BRAINTRUST_", "PHOENIX_", "ENABLE_PROMETHEUS", "DATABASE_URL",
                      "API_PREFIX", "AUTH_", "DEFAULT_OPENAI", "DEFAULT_ANTHROPIC", "DEFAULT_GEMINI")


# ----------------------------------------------------------------------------------------------
# small HTTP helpers


def http(method: str, url: str, body: Any = None, headers: dict | None = None, timeout: float = 10.0,
         raw: bool = False) -> tuple[int, dict, Any]:
    data = None
    hdrs = dict(headers or {})
    if body is not None:
        data = json.dumps(body).encode()
        hdrs.setdefault("Content-Type", "application/json")
    request = urllib.request.Request(url, data=data, method=method, headers=hdrs)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            payload = response.read()
            status, response_headers = response.status, dict(response.headers)
    except urllib.error.HTTPError as error:
        payload = error.read()
        status, response_headers = error.code, dict(error.headers)
    if raw:
        return status, response_headers, payload
    try:
        return status, response_headers, json.loads(payload) if payload else None
    except ValueError:
        return status, response_headers, payload.decode(errors="replace")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate: Callable[[], Any], timeout: float, interval: float = 0.05, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    last_error = None
    while True:
        try:
            value = predicate()
            if value:
                return value
        except Exception as error:  # noqa: BLE001 - keep polling, report the last error
            last_error = error
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:.1f}s waiting for {what}"
                                 + (f" (last error: {last_error!r})" if last_error else ""))
        time.sleep(interval)


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


# ----------------------------------------------------------------------------------------------
# processes


class Proc:
    """A child process with its output in a log file, stopped by PID."""

    def __init__(self, name: str, argv: list[str], log_dir: Path, env: dict | None = None, cwd: Path | None = None):
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        self._log = open(self.log_path, "wb")
        self.popen = subprocess.Popen(argv, stdout=self._log, stderr=subprocess.STDOUT, env=env, cwd=cwd,
                                      stdin=subprocess.DEVNULL)
        self.pid = self.popen.pid
        self.stop_seconds: float | None = None

    def alive(self) -> bool:
        return self.popen.poll() is None

    def log(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self, grace: float = 10.0) -> float:
        """SIGTERM, then SIGKILL after `grace` seconds. Returns how long the process took to exit."""
        started = time.monotonic()
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=10)
        self.stop_seconds = time.monotonic() - started
        self._log.close()
        return self.stop_seconds


@pytest.fixture(scope="session")
def work_dir():
    path = Path(tempfile.mkdtemp(prefix="keel-obs-"))
    yield path
    if os.environ.get("OBS_KEEP_LOGS"):
        print(f"\nobservability-test: logs kept in {path}")
    else:
        shutil.rmtree(path, ignore_errors=True)


# ----------------------------------------------------------------------------------------------
# the fake backends


class Fake:
    def __init__(self, port: int, proc: Proc):
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.proc = proc

    def get(self, route: str) -> Any:
        status, _, body = http("GET", self.url + route)
        assert status == 200, (route, status, body)
        return body

    def spans(self, path: str | None = None, trace_id: str | None = None) -> list[dict]:
        query = []
        if path:
            query.append(f"path={urllib.request.quote(path)}")
        if trace_id:
            query.append(f"trace_id={trace_id}")
        return self.get("/_test/spans" + ("?" + "&".join(query) if query else ""))["spans"]

    def requests(self, path: str | None = None) -> list[dict]:
        return self.get("/_test/requests" + (f"?path={urllib.request.quote(path)}" if path else ""))["requests"]

    def braintrust(self) -> dict:
        return self.get("/_test/braintrust")

    def mode(self, path: str, mode: str, retry_after: float | None = None) -> None:
        status, _, body = http("POST", self.url + "/_test/mode", {"path": path, "mode": mode, "retry_after": retry_after})
        assert status == 200, body

    def reset(self) -> None:
        status, _, _ = http("DELETE", self.url + "/_test/reset")
        assert status == 200


@pytest.fixture(scope="session")
def fake(work_dir):
    port = free_port()
    proc = Proc("fake-backends", [sys.executable, str(HERE / "fake_backends.py"), "--port", str(port),
                                  "--langfuse-public-key", LANGFUSE_PUBLIC_KEY,
                                  "--langfuse-secret-key", LANGFUSE_SECRET_KEY,
                                  "--braintrust-api-key", BRAINTRUST_API_KEY, "--hang-seconds", "60"], work_dir)
    fake = Fake(port, proc)
    wait_until(lambda: http("GET", fake.url + "/_test/health", timeout=1)[0] == 200, 15, what="fake backends")
    yield fake
    proc.stop(grace=3)


@pytest.fixture(autouse=True)
def _clean_fake(request):
    """Every test starts with an empty fake in 'ok' mode (only if the fake is running)."""
    if "fake" in request.fixturenames:
        request.getfixturevalue("fake").reset()
    yield


# ----------------------------------------------------------------------------------------------
# rotel


@dataclass
class Rotel:
    grpc_port: int
    http_port: int
    proc: Proc

    @property
    def grpc_url(self) -> str:
        return f"http://127.0.0.1:{self.grpc_port}"

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"


@pytest.fixture(scope="session")
def rotel(fake, work_dir):
    import rotel as rotel_package  # the PyPI package ships the Rust binary next to its module

    binary = Path(rotel_package.__file__).parent / "rotel-agent"
    assert binary.exists(), f"rotel-agent binary not found at {binary}"
    grpc_port, http_port = free_port(), free_port()
    proc = Proc("rotel", [str(binary), "start",
                          "--otlp-grpc-endpoint", f"127.0.0.1:{grpc_port}",
                          "--otlp-http-endpoint", f"127.0.0.1:{http_port}",
                          "--exporter", "otlp",
                          "--otlp-exporter-endpoint", f"{fake.url}/",
                          "--otlp-exporter-protocol", "http",
                          "--batch-timeout", "100ms",
                          "--pid-file", str(work_dir / "rotel.pid"),
                          "--log-file", str(work_dir / "rotel-agent.log")], work_dir)
    wait_until(lambda: proc.alive() and port_open(grpc_port) and port_open(http_port), 20, what="rotel receivers")
    yield Rotel(grpc_port, http_port, proc)
    proc.stop(grace=5)


# ----------------------------------------------------------------------------------------------
# Arize Phoenix: launched early (it needs ~16 s to start) when any selected test uses it


class Phoenix:
    def __init__(self, work_dir: Path):
        self.port, self.grpc_port = free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        data_dir = work_dir / "phoenix-data"
        data_dir.mkdir()
        env = dict(os.environ, PHOENIX_HOST="127.0.0.1", PHOENIX_PORT=str(self.port),
                   PHOENIX_GRPC_PORT=str(self.grpc_port), PHOENIX_WORKING_DIR=str(data_dir),
                   PHOENIX_TELEMETRY_ENABLED="false")
        self.started = time.monotonic()
        self.proc = Proc("phoenix", [str(VENV_BIN / "phoenix"), "serve"], work_dir, env=env)
        self.ready = False

    @property
    def collector_endpoint(self) -> str:
        return f"{self.url}/v1/traces"

    def wait_ready(self, timeout: float = 60) -> None:
        if self.ready:
            return

        def healthy():
            if not self.proc.alive():
                raise RuntimeError(f"phoenix exited; log tail:\n{self.proc.log()[-3000:]}")
            status, _, _ = http("GET", self.url + "/healthz", timeout=2, raw=True)
            return status == 200

        wait_until(healthy, timeout, interval=0.25, what="Phoenix /healthz")
        self.ready = True
        note(f"phoenix healthy when first needed, {time.monotonic() - self.started:.1f}s after its launch")

    def projects(self) -> list[str]:
        status, _, body = http("GET", self.url + "/v1/projects")
        assert status == 200, body
        return [p["name"] for p in body["data"]]

    def spans(self, trace_id: str) -> list[dict]:
        found = []
        for project in self.projects():
            status, _, body = http("GET", f"{self.url}/v1/projects/{urllib.request.quote(project)}/spans"
                                          f"?trace_id={trace_id}&limit=1000")
            assert status == 200, body
            for span in body["data"]:
                span["_project"] = project
            found.extend(body["data"])
        return found


@pytest.fixture(scope="session")
def _phoenix_launcher(request, work_dir):
    launched: list[Phoenix] = []

    def get() -> Phoenix:
        if not launched:
            launched.append(Phoenix(work_dir))
        return launched[0]

    yield get
    for phoenix in launched:
        phoenix.proc.stop(grace=10)


@pytest.fixture(scope="session", autouse=True)
def _launch_phoenix_early(request, _phoenix_launcher):
    if any("phoenix" in item.fixturenames for item in request.session.items):
        _phoenix_launcher()


@pytest.fixture(scope="module")
def phoenix(_phoenix_launcher) -> Phoenix:
    instance = _phoenix_launcher()
    instance.wait_ready(60)
    return instance


# ----------------------------------------------------------------------------------------------
# the Keel server


@dataclass
class Turn:
    session_id: str
    message_id: str
    turn_id: str
    latency: float  # POST message -> session.idled seen, seconds
    events: list[dict]
    idled_at: float = 0.0  # wall clock (time.time()) when session.idled was seen

    def count(self, event_type: str) -> int:
        return sum(1 for e in self.events
                   if e["type"] == event_type and (e.get("context") or {}).get("turn_id") == self.turn_id)

    def expected_span_names(self) -> dict[str, int]:
        """The span tree the event log implies: root, reason/chat per iteration, act/execute_tool."""
        return {
            "invoke_agent": 1,
            "reason": self.count("reason.started"),
            "chat": self.count("llm.generation"),
            "act": self.count("act.started"),
            "execute_tool": self.count("tool.started"),
        }

    def expected_span_count(self) -> int:
        return sum(self.expected_span_names().values())

    def event(self, event_type: str) -> dict | None:
        for e in self.events:
            if e["type"] == event_type and ((e.get("context") or {}).get("turn_id") == self.turn_id
                                            or (e.get("data") or {}).get("turn_id") == self.turn_id):
                return e
        return None


class Keel:
    def __init__(self, name: str, env: dict, log_dir: Path):
        if not KEEL_BIN.exists():
            pytest.fail(f"{KEEL_BIN} not found: build it with `swift build --product keel`")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        base = {k: v for k, v in os.environ.items() if not k.startswith(_SCRUBBED_PREFIXES)}
        base.update(DEV_MODE="1", HOST="127.0.0.1", PORT=str(self.port), LOG_LEVEL="info",
                    OTEL_BSP_SCHEDULE_DELAY="200", OTEL_SERVICE_NAME="keel-obs-test")
        base.update({k: str(v) for k, v in env.items() if v is not None})
        self.env = base
        self.proc = Proc(name, [str(KEEL_BIN), "server"], log_dir, env=base, cwd=REPO)

        def healthy():
            if not self.proc.alive():
                raise RuntimeError(f"keel exited with {self.proc.popen.returncode}; log:\n{self.proc.log()[-4000:]}")
            return http("GET", self.url + "/health", timeout=2)[0] == 200

        try:
            wait_until(healthy, 60, interval=0.05, what=f"keel server {name} /health")
        except AssertionError:
            raise AssertionError(f"keel did not become healthy; log:\n{self.proc.log()[-4000:]}") from None

    def log(self) -> str:
        return self.proc.log()

    def api(self, method: str, route: str, body: Any = None, expect: int | tuple = (200, 201),
            headers: dict | None = None) -> Any:
        status, _, payload = http(method, self.url + route, body, headers=headers)
        expected = expect if isinstance(expect, tuple) else (expect,)
        assert status in expected, f"{method} {route} -> {status}: {payload}"
        return payload

    def create_agent(self, system_prompt: str = "You are a test agent.", name: str = "obs-test") -> str:
        return self.api("POST", "/v1/agents", {"name": name, "system_prompt": system_prompt,
                                              "capabilities": [{"ref": "test_math"}]})["id"]

    def create_session(self, agent_id: str) -> str:
        return self.api("POST", "/v1/sessions", {"agent_id": agent_id})["id"]

    def new_session(self, system_prompt: str = "You are a test agent.") -> str:
        return self.create_session(self.create_agent(system_prompt))

    def events(self, session_id: str) -> list[dict]:
        return self.api("GET", f"/v1/sessions/{session_id}/events")["data"]

    def run_turn(self, session_id: str, text: str, metadata: dict | None = None, timeout: float = 30,
                 headers: dict | None = None) -> Turn:
        body: dict = {"message": {"role": "user", "content": [{"type": "text", "text": text}]}}
        if metadata is not None:
            body["metadata"] = metadata
        started = time.monotonic()
        message_id = self.api("POST", f"/v1/sessions/{session_id}/messages", body, headers=headers)["id"]
        turn_id = None
        deadline = started + timeout
        while True:
            events = self.events(session_id)
            if turn_id is None:
                for e in events:
                    if e["type"] == "session.activated" and e["data"].get("input_message_id") == message_id:
                        turn_id = e["data"]["turn_id"]
            if turn_id and any(e["type"] == "session.idled" and e["data"].get("turn_id") == turn_id for e in events):
                return Turn(session_id, message_id, turn_id, time.monotonic() - started, events, time.time())
            if time.monotonic() > deadline:
                raise AssertionError(f"turn for message {message_id} did not reach session.idled in {timeout}s; "
                                     f"events: {[e['type'] for e in events]}")
            time.sleep(0.01)


@pytest.fixture
def keel(request, work_dir):
    """Factory: keel(env: dict, name: str = test name) -> Keel. Servers stop at teardown."""
    started: list[Keel] = []

    def start(env: dict | None = None, name: str | None = None) -> Keel:
        label = name or request.node.name.replace("[", "-").replace("]", "").replace("/", "_")
        server = Keel(f"keel-{label}-{len(started)}", env or {}, work_dir)
        started.append(server)
        return server

    yield start
    for server in started:
        seconds = server.proc.stop(grace=15)
        if seconds > 5:
            note(f"WARNING: keel server {server.proc.name} took {seconds:.1f}s to stop after SIGTERM")
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        for server in started:
            text = server.log()
            lines = text.splitlines()
            shown = lines if os.environ.get("OBS_VERBOSE") else lines[-60:]
            print(f"\n----- {server.proc.name} log ({len(lines)} lines, showing {len(shown)}) -----")
            print("\n".join(shown))


NOTES: list[str] = []


def note(text: str) -> None:
    """A line for the end-of-run 'observability notes' section (measurements, informational findings)."""
    NOTES.append(text)


def pytest_terminal_summary(terminalreporter):
    if NOTES:
        terminalreporter.section("observability notes")
        for line in NOTES:
            terminalreporter.write_line(line)


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


# ----------------------------------------------------------------------------------------------
# environment builders


def langfuse_env(fake: Fake) -> dict:
    return {"LANGFUSE_BASE_URL": fake.url, "LANGFUSE_PUBLIC_KEY": LANGFUSE_PUBLIC_KEY,
            "LANGFUSE_SECRET_KEY": LANGFUSE_SECRET_KEY}


def braintrust_env(fake: Fake) -> dict:
    return {"BRAINTRUST_API_KEY": BRAINTRUST_API_KEY, "BRAINTRUST_API_URL": fake.url,
            "BRAINTRUST_PROJECT_NAME": BRAINTRUST_PROJECT}


def generic_http_env(base_url: str) -> dict:
    return {"OTEL_EXPORTER_OTLP_ENDPOINT": base_url, "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"}
