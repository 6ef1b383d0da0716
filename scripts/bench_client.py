#!/usr/bin/env python3
"""Keel turn-throughput benchmark client (a benchmark, not a test). Standard library only.

For each mode in --modes and each N in --sessions: start a fresh server (or use --url/--pid),
create N sessions, open one SSE stream per session, run --warmup unmeasured turns per session,
then release all sessions at once; each runs --turns turns in a loop: t0, POST a message, wait
until its `turn.completed` arrives on the session's SSE stream. Latency is t0 -> terminal event
seen by the client.

Modes (--modes, comma list, default `memory`):
  memory              DEV_MODE server, in-memory storage.
  postgres-embedded   durable server on PostgreSQL, steps run by DURABLE_EMBEDDED_EXECUTORS
                      in-process executors (--embedded, default 4).
  postgres-workers    durable server on PostgreSQL with DURABLE_EMBEDDED_EXECUTORS=0 and --workers
                      (default 2) `keel worker` processes of the same binary on a loopback gRPC
                      port; they are stopped with SIGTERM after the run and must exit 0.
The postgres modes need an admin URL (--database-url, or KEEL_BENCH_DATABASE_URL, or
KEEL_TEST_DATABASE_URL as exported by scripts/with-postgres): every server start gets a fresh
database `keel_bench_<random>` (created and dropped with psql). Every server runs with
AUTH_MODE=none (explicit, as outside DEV_MODE it must be): throughput is measured without
authentication; requests still carry an SDK-style `Authorization: evr_...` header.

The client is asyncio with raw sockets (`asyncio.open_connection`): one keep-alive connection
for POSTs and one for SSE per session; event frames are not JSON-decoded except the terminal
ones. Its own CPU use is reported next to the server's, so a saturated client shows up.

Reported per mode and N: turns, wall time, turns/s (and the ratio to memory at the same N),
p50/p90/p99/max latency (ms), errors, CPU (% of one core) of the server, the workers, the
PostgreSQL backends serving the benchmark database, the client and the whole host, server RSS
(idle before the measured phase, sampled peak during it, at the end) and VmHWM (peak RSS of the
server process so far), the workers' peak RSS (VmHWM each), and the exit status of the server and
workers. Every child process is stopped on exit, including on Ctrl-C, SIGTERM and --deadline.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import glob
import json
import os
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import asdict, dataclass, field
from typing import Callable, Optional
from urllib.parse import urlsplit, urlunsplit
TERMINAL = (b"turn.completed", b"turn.failed", b"turn.cancelled")
CLK_TCK = os.sysconf("SC_CLK_TCK")
# Every request carries a credential the way the everruns SDK sends one (a raw `evr_` key), so the
# server parses an Authorization header as it would for real clients; AUTH_MODE=none ignores it.
PLACEHOLDER_API_KEY = "evr_bench_placeholder_key"


# --- minimal HTTP/1.1 over asyncio streams ---------------------------------------------------


class HTTPError(Exception):
    pass


async def read_head(reader: asyncio.StreamReader) -> tuple[int, dict[str, str]]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1."):
        raise HTTPError(f"bad status line {lines[0]!r}")
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    return int(parts[1]), headers


async def read_body(reader: asyncio.StreamReader, headers: dict[str, str]) -> bytes:
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = bytearray()
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await reader.readuntil(b"\r\n")
                return bytes(body)
            body += await reader.readexactly(size + 2)
            del body[-2:]
    return await reader.readexactly(int(headers.get("content-length", "0")))


class Connection:
    """One keep-alive HTTP/1.1 connection; requests are sequential."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: Optional[asyncio.StreamReader] = None
        self.writer: Optional[asyncio.StreamWriter] = None

    async def request(self, method: str, path: str, payload: Optional[dict] = None) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
            self.writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        body = json.dumps(payload).encode() if payload is not None else b""
        head = (f"{method} {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nAuthorization: {PLACEHOLDER_API_KEY}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n")
        self.writer.write(head.encode() + body)
        status, headers = await read_head(self.reader)
        data = await read_body(self.reader, headers)
        if headers.get("connection", "").lower() == "close":
            await self.close()
        return status, data

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            try:
                await self.writer.wait_closed()
            except (ConnectionError, OSError):
                pass
            self.writer = self.reader = None


# --- one benchmark session --------------------------------------------------------------------


class BenchSession:
    def __init__(self, host: str, port: int, prefix: str, session_id: str, terminal_only: bool) -> None:
        self.host, self.port, self.prefix = host, port, prefix
        self.session_id = session_id
        self.terminal_only = terminal_only
        self.api = Connection(host, port)
        self.sse_writer: Optional[asyncio.StreamWriter] = None
        self.sse_task: Optional[asyncio.Task] = None
        self.connected = asyncio.get_running_loop().create_future()
        # input_message_id -> (terminal type, perf_counter when seen); waiters by message id.
        self.finished: dict[str, tuple[str, float]] = {}
        self.waiters: dict[str, asyncio.Future] = {}
        self.events_seen = 0
        self.stream_error: Optional[BaseException] = None

    async def open_stream(self) -> None:
        reader, writer = await asyncio.open_connection(self.host, self.port)
        writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sse_writer = writer
        query = "?types=turn.completed&types=turn.failed&types=turn.cancelled" if self.terminal_only else ""
        writer.write((f"GET {self.prefix}/v1/sessions/{self.session_id}/sse{query} HTTP/1.1\r\n"
                      f"Host: {self.host}:{self.port}\r\nAuthorization: {PLACEHOLDER_API_KEY}\r\n"
                      "Accept: text/event-stream\r\nCache-Control: no-cache\r\n\r\n").encode())
        self.sse_task = asyncio.create_task(self._read_stream(reader))
        await asyncio.wait_for(asyncio.shield(self.connected), 10)

    async def _read_stream(self, reader: asyncio.StreamReader) -> None:
        try:
            status, headers = await read_head(reader)
            if status != 200:
                raise HTTPError(f"SSE {status}: {(await read_body(reader, headers))[:200]!r}")
            chunked = headers.get("transfer-encoding", "").lower() == "chunked"
            pending = b""
            while True:
                if chunked:
                    size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
                    if size == 0:
                        raise HTTPError("SSE stream ended")
                    data = await reader.readexactly(size + 2)
                    data = data[:-2]
                else:
                    data = await reader.read(65536)
                    if not data:
                        raise HTTPError("SSE stream ended")
                now = time.perf_counter()
                frames = (pending + data).split(b"\n\n")
                pending = frames.pop()
                for frame in frames:
                    self._on_frame(frame, now)
        except asyncio.CancelledError:
            raise
        except BaseException as error:  # surface to waiters
            self.stream_error = error
            if not self.connected.done():
                self.connected.set_exception(error)
            for waiter in self.waiters.values():
                if not waiter.done():
                    waiter.set_exception(error)

    def _on_frame(self, frame: bytes, now: float) -> None:
        event_type = b""
        data = b""
        for line in frame.split(b"\n"):
            if line.startswith(b"event: "):
                event_type = line[7:]
            elif line.startswith(b"data: "):
                data = line[6:]
        if not event_type:
            return  # `: heartbeat` comment
        if event_type == b"connected":
            if not self.connected.done():
                self.connected.set_result(True)
            return
        self.events_seen += 1
        if event_type not in TERMINAL:
            return
        message_id = json.loads(data).get("context", {}).get("input_message_id")
        result = (event_type.decode(), now)
        waiter = self.waiters.pop(message_id, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(result)
        else:
            self.finished[message_id] = result

    async def turn(self, text: str, timeout: float) -> tuple[str, float]:
        """Runs one turn; returns (terminal event type, latency in seconds)."""
        if self.stream_error is not None:
            raise self.stream_error
        started = time.perf_counter()
        try:
            status, body = await asyncio.wait_for(self.api.request(
                "POST", f"{self.prefix}/v1/sessions/{self.session_id}/messages",
                {"message": {"role": "user", "content": [{"type": "text", "text": text}]}}), timeout)
        except asyncio.TimeoutError:
            await self.api.close()  # the response may still come: never reuse this connection
            raise HTTPError(f"POST messages: no response within {timeout:.0f}s") from None
        if status != 201:
            raise HTTPError(f"POST messages {status}: {body[:200]!r}")
        message_id = json.loads(body)["id"]
        seen = self.finished.pop(message_id, None)
        if seen is None:
            waiter = asyncio.get_running_loop().create_future()
            self.waiters[message_id] = waiter
            try:
                seen = await asyncio.wait_for(waiter, timeout)
            finally:
                self.waiters.pop(message_id, None)
        return seen[0], seen[1] - started

    async def close(self) -> None:
        if self.sse_task is not None:
            self.sse_task.cancel()
            try:
                await self.sse_task
            except (asyncio.CancelledError, Exception):
                pass
        if self.sse_writer is not None:
            self.sse_writer.close()
        await self.api.close()


# --- child processes ------------------------------------------------------------------------

MODES = ("memory", "postgres-embedded", "postgres-workers")

# Every process and database this client started and has not cleaned up yet: whatever happens
# (an error, Ctrl-C, SIGTERM from `timeout`), main() stops and drops what is left here.
CHILDREN: list[subprocess.Popen] = []
DATABASES: list["Database"] = []
# Set once a signal asked us to stop: from then on children get INTERRUPTED_GRACE seconds after
# SIGTERM (scripts/bench's `timeout` SIGKILLs everything 15 s after its own SIGTERM).
INTERRUPTED = False
INTERRUPTED_GRACE = 4.0


def die_with_parent() -> None:
    """In the forked child: SIGTERM it if this client dies, so no server or worker outlives a run."""
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:
        pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def spawn(argv: list[str], env: dict[str, str], log_path: str) -> subprocess.Popen:
    """Starts a child with stdout and stderr in log_path; it is registered in CHILDREN."""
    with open(log_path, "wb") as log:
        process = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, preexec_fn=die_with_parent)
    CHILDREN.append(process)
    return process


def describe_exit(code: Optional[int]) -> str:
    if code is None:
        return "running"
    if code < 0:
        try:
            return f"signal {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"exit {code}"


def stop_processes(processes: list[subprocess.Popen], grace: float) -> list[str]:
    """SIGTERMs all of them at once, waits up to `grace` seconds, SIGKILLs any left; returns how
    each ended ("exit 0", "signal SIGSEGV", "killed ...", "gone before SIGTERM: exit 1")."""
    if INTERRUPTED:
        grace = min(grace, INTERRUPTED_GRACE)
    outcomes: list[Optional[str]] = [None] * len(processes)
    for i, process in enumerate(processes):
        if process.poll() is not None:
            outcomes[i] = f"gone before SIGTERM: {describe_exit(process.returncode)}"
        else:
            try:
                process.send_signal(signal.SIGTERM)
            except ProcessLookupError:
                pass
    deadline = time.monotonic() + grace
    for i, process in enumerate(processes):
        if outcomes[i] is None:
            try:
                process.wait(max(0.0, deadline - time.monotonic()))
                outcomes[i] = describe_exit(process.returncode)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
                outcomes[i] = f"killed: still running {grace:.0f} s after SIGTERM"
        if process in CHILDREN:
            CHILDREN.remove(process)
    return [outcome or "" for outcome in outcomes]


def stop_all_children() -> None:
    if CHILDREN:
        print(f"# stopping {len(CHILDREN)} child process(es): {[p.pid for p in CHILDREN]}", file=sys.stderr, flush=True)
        stop_processes(list(CHILDREN), 10)
    for database in list(DATABASES):
        database.drop()


def wait_healthy(port: int, process: Optional[subprocess.Popen], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server {describe_exit(process.returncode)} during startup")
        if time.monotonic() > deadline:
            raise RuntimeError(f"server not healthy on port {port} after {timeout:.0f}s")
        time.sleep(0.1)


def established_connections(local_port: int) -> int:
    """ESTABLISHED TCP connections whose local port is local_port (server side), from /proc/net."""
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as lines:
                next(lines, None)
                for line in lines:
                    fields = line.split()
                    if len(fields) > 3 and fields[3] == "01" and int(fields[1].rsplit(":", 1)[1], 16) == local_port:
                        count += 1
        except OSError:
            pass
    return count


def log_tail(path: str, lines: int) -> str:
    try:
        with open(path, "rb") as log:
            data = log.read()
    except OSError as error:
        return f"(cannot read {path}: {error})"
    tail = data.decode("utf-8", "replace").splitlines()[-lines:]
    return "\n".join(tail) if tail else "(empty)"


# --- database -------------------------------------------------------------------------------


def find_psql() -> Optional[str]:
    """psql next to the server binaries scripts/with-postgres uses (PG_BIN or the newest
    /usr/lib/postgresql/*/bin), else the one on PATH."""
    if os.environ.get("PG_BIN") and os.access(os.path.join(os.environ["PG_BIN"], "psql"), os.X_OK):
        return os.path.join(os.environ["PG_BIN"], "psql")

    def version(path: str) -> tuple:
        return tuple(int(p) if p.isdigit() else 0 for p in path.split("/")[-3].split("."))
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin/psql"), key=version, reverse=True):
        if os.access(candidate, os.X_OK):
            return candidate
    return shutil.which("psql")


class Database:
    """A fresh database `keel_bench_<random>` on the admin URL's server, for one server start."""

    def __init__(self, admin_url: str, psql: str) -> None:
        self.admin_url, self.psql = admin_url, psql
        self.name = f"keel_bench_{secrets.token_hex(6)}"
        self.dropped = False
        self.sql(f'CREATE DATABASE "{self.name}"')
        DATABASES.append(self)

    @property
    def url(self) -> str:
        parts = urlsplit(self.admin_url)
        query = parts.query if "sslmode=" in parts.query else "&".join(filter(None, [parts.query, "sslmode=disable"]))
        return urlunsplit((parts.scheme, parts.netloc, "/" + self.name, query, ""))

    def sql(self, statement: str, timeout: float = 20) -> str:
        completed = subprocess.run(
            [self.psql, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", self.admin_url, "-c", statement],
            stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout,
            env=dict(os.environ, PGCONNECT_TIMEOUT="10"))
        if completed.returncode != 0:
            raise RuntimeError(f"psql {statement!r}: exit {completed.returncode}: {completed.stderr.strip()}")
        return completed.stdout

    def backend_pids(self) -> list[int]:
        """PostgreSQL backends connected to this database right now (the server's pool)."""
        try:
            out = self.sql(f"SELECT pid FROM pg_stat_activity WHERE datname = '{self.name}'", timeout=10)
        except (RuntimeError, subprocess.SubprocessError, OSError):
            return []
        return [int(line) for line in out.split() if line.strip().isdigit()]

    def drop(self) -> None:
        if self.dropped:
            return
        self.dropped = True
        if self in DATABASES:
            DATABASES.remove(self)
        try:
            self.sql(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)', timeout=5 if INTERRUPTED else 20)
        except (RuntimeError, subprocess.SubprocessError, OSError) as error:
            print(f"# warning: could not drop database {self.name}: {error}", file=sys.stderr, flush=True)


# --- one deployment: server (+ database, + workers) -----------------------------------------


class Deployment:
    """The server for one mode (and, outside memory mode, its fresh database; in postgres-workers
    mode its `keel worker` processes), started on free loopback ports."""

    def __init__(self, args, mode: str, log_dir: str, label: str) -> None:
        self.mode, self.label = mode, label
        self.port = free_port()
        self.database: Optional[Database] = None
        self.server: Optional[subprocess.Popen] = None
        self.workers: list[subprocess.Popen] = []
        self.server_log = os.path.join(log_dir, f"server-{label}.log")
        self.worker_logs: list[str] = []
        self.server_exit = ""
        self.worker_exits: list[str] = []
        self.stopped = False
        # Settings this script owns (and AUTH_*) are never inherited from the caller's environment.
        owned = {"DEV_MODE", "DATABASE_URL", "DATABASE_MAX_CONNECTIONS", "SECRETS_ENCRYPTION_KEY",
                 "SECRETS_ENCRYPTION_KEY_PREVIOUS", "WORKER_GRPC_ADDR", "WORKER_GRPC_ADDRESS", "WORKER_GRPC_AUTH_TOKEN",
                 "DURABLE_EMBEDDED_EXECUTORS", "MAX_CONCURRENT_TASKS", "WORKER_ID", "HOST", "PORT", "LOG_LEVEL",
                 "API_PREFIX"}
        base = {k: v for k, v in os.environ.items() if k not in owned and not k.startswith("AUTH_")}
        # Turn throughput is measured without authentication (AUTH_MODE=none must be explicit
        # outside DEV_MODE; the server warns about it).
        env = dict(base, HOST="127.0.0.1", PORT=str(self.port), LOG_LEVEL="warning", API_PREFIX=args.api_prefix,
                   AUTH_MODE="none")
        try:
            if mode == "memory":
                env["DEV_MODE"] = "1"
            else:
                self.database = Database(args.database_url, args.psql)
                token = secrets.token_urlsafe(24)
                self.grpc_port = free_port()
                env.update(
                    DATABASE_URL=self.database.url,
                    SECRETS_ENCRYPTION_KEY="kek-v1:" + base64.b64encode(os.urandom(32)).decode(),
                    WORKER_GRPC_AUTH_TOKEN=token,
                    WORKER_GRPC_ADDR=f"127.0.0.1:{self.grpc_port}",
                    DURABLE_EMBEDDED_EXECUTORS=str(args.embedded if mode == "postgres-embedded" else 0))
                if args.database_max_connections:
                    env["DATABASE_MAX_CONNECTIONS"] = str(args.database_max_connections)
            self.server = spawn([args.server, "server"], env, self.server_log)
            wait_healthy(self.port, self.server, timeout=30 if mode == "memory" else 90)
            if mode == "postgres-workers":
                for i in range(args.workers):
                    log = os.path.join(log_dir, f"worker-{label}-{i}.log")
                    self.worker_logs.append(log)
                    self.workers.append(spawn([args.server, "worker"], dict(
                        base, WORKER_GRPC_ADDRESS=f"127.0.0.1:{self.grpc_port}", WORKER_GRPC_AUTH_TOKEN=token,
                        MAX_CONCURRENT_TASKS=str(args.worker_tasks), LOG_LEVEL="warning",
                        WORKER_ID=f"bench-{label}-{i}"), log))
                self.wait_workers(30)
        except BaseException:
            self.stop()
            raise

    def wait_workers(self, timeout: float) -> None:
        """Until every worker holds a connection to the server's worker port (or one exits)."""
        deadline = time.monotonic() + timeout
        while True:
            for i, worker in enumerate(self.workers):
                if worker.poll() is not None:
                    raise RuntimeError(f"worker {i} {describe_exit(worker.returncode)} during startup")
            connected = established_connections(self.grpc_port)
            if connected >= len(self.workers):
                return
            if time.monotonic() > deadline:
                print(f"# warning: {connected} connection(s) on the worker port after {timeout:.0f}s, "
                      f"{len(self.workers)} workers", file=sys.stderr, flush=True)
                return
            time.sleep(0.1)

    @property
    def pid(self) -> Optional[int]:
        return self.server.pid if self.server else None

    def stop(self) -> None:
        """Workers first (SIGTERM, they hand back running steps), then the server, then the database."""
        if self.stopped:
            return
        self.stopped = True
        if self.workers:
            self.worker_exits = stop_processes(self.workers, 20)
        if self.server is not None:
            self.server_exit = stop_processes([self.server], 15)[0]
        if self.database is not None:
            self.database.drop()

    def annotate(self, result: "RunResult") -> None:
        result.server_exit = self.server_exit
        result.worker_exits = list(self.worker_exits)
        result.server_log = self.server_log
        result.worker_logs = list(self.worker_logs)

    def print_logs(self, why: str) -> None:
        print(f"# ---- {self.label}: {why}; server stdout+stderr, last 80 lines ({self.server_log}):",
              file=sys.stderr)
        print(log_tail(self.server_log, 80), file=sys.stderr)
        for i, log in enumerate(self.worker_logs):
            print(f"# ---- {self.label}: worker {i} stdout+stderr, last 40 lines ({log}):", file=sys.stderr)
            print(log_tail(log, 40), file=sys.stderr)
        print(f"# ---- end of {self.label} logs", file=sys.stderr, flush=True)


# --- /proc ----------------------------------------------------------------------------------


def proc_status_kb(pid: int, field_name: str) -> int:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith(field_name + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def proc_cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime


def cpu_of(pids: list[int]) -> dict[int, float]:
    seconds = {}
    for pid in pids:
        try:
            seconds[pid] = proc_cpu_seconds(pid)
        except (OSError, IndexError, ValueError):
            pass
    return seconds


def cpu_delta(before: dict[int, float], after: dict[int, float]) -> float:
    return sum(after[pid] - before[pid] for pid in before if pid in after)


def host_busy_seconds() -> float:
    """CPU seconds spent by everything on the host (all cores; /proc/stat minus idle and iowait)."""
    with open("/proc/stat") as stat:
        values = [int(v) for v in stat.readline().split()[1:]]
    return (sum(values[:8]) - values[3] - values[4]) / CLK_TCK


def self_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# --- one run ----------------------------------------------------------------------------------


@dataclass
class RunResult:
    sessions: int
    turns_per_session: int
    mode: str = "memory"
    turns: int = 0
    errors: int = 0
    wall_s: float = 0.0
    turns_per_s: float = 0.0
    ratio_vs_memory: Optional[float] = None
    p50_ms: float = 0.0
    p90_ms: float = 0.0
    p99_ms: float = 0.0
    max_ms: float = 0.0
    mean_ms: float = 0.0
    events_per_turn: float = 0.0
    server_cpu_pct: float = 0.0
    workers_cpu_pct: float = 0.0
    pg_cpu_pct: float = 0.0
    client_cpu_pct: float = 0.0
    host_cpu_pct: float = 0.0
    rss_idle_mb: float = 0.0
    rss_peak_mb: float = 0.0
    rss_end_mb: float = 0.0
    vmhwm_mb: float = 0.0
    workers_rss_peak_mb: list = field(default_factory=list)
    workers_vmhwm_mb: list = field(default_factory=list)
    server_exit: str = ""
    worker_exits: list = field(default_factory=list)
    timed_out: bool = False
    failure: str = ""
    error_samples: list = field(default_factory=list)
    server_log: str = ""
    worker_logs: list = field(default_factory=list)

    def problems(self) -> list[str]:
        found = []
        if self.failure:
            found.append(self.failure)
        if self.timed_out and not self.failure:
            found.append("timed out")
        if self.errors:
            found.append(f"{self.errors} errors, e.g. {self.error_samples}")
        if not self.failure and not self.turns:
            found.append("no turn completed")
        if self.server_exit and self.server_exit != "exit 0":
            found.append(f"server: {self.server_exit}")
        bad_workers = [f"worker {i}: {e}" for i, e in enumerate(self.worker_exits) if e != "exit 0"]
        found.extend(bad_workers)
        return found


def percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return 0.0
    rank = max(1, int(-(-fraction * len(sorted_values) // 1)))  # nearest rank
    return sorted_values[min(rank, len(sorted_values)) - 1]


async def run_once(host: str, port: int, prefix: str, pid: Optional[int], sessions: int, args, result: RunResult,
                   worker_pids: tuple[int, ...] = (), pg_pids: Optional[Callable[[], list[int]]] = None,
                   hard_deadline: Optional[float] = None) -> RunResult:
    """Fills `result` (so a caller that times the run out still has what was measured so far)."""
    setup = Connection(host, port)
    bench: list[BenchSession] = []
    try:
        for _ in range(sessions):
            try:
                status, body = await asyncio.wait_for(
                    setup.request("POST", f"{prefix}/v1/sessions", {"title": "bench"}), args.turn_timeout)
            except asyncio.TimeoutError:
                raise HTTPError(f"POST sessions: no response within {args.turn_timeout:.0f}s") from None
            if status != 201:
                raise HTTPError(f"POST sessions {status}: {body[:200]!r}")
            bench.append(BenchSession(host, port, prefix, json.loads(body)["id"], args.terminal_only))
        await setup.close()
        await asyncio.gather(*(b.open_stream() for b in bench))
        for round_ in range(args.warmup):
            outcomes = await asyncio.gather(*(b.turn(args.message, args.turn_timeout) for b in bench),
                                            return_exceptions=True)
            failed = [o for o in outcomes if isinstance(o, BaseException) or o[0] != "turn.completed"]
            if failed:
                first = failed[0]
                raise RuntimeError(f"warm-up round {round_ + 1}: {len(failed)} of {len(bench)} turns failed, e.g. "
                                   + (f"{type(first).__name__}: {first}" if isinstance(first, BaseException)
                                      else first[0]))
        await asyncio.sleep(0.2)

        latencies: list[float] = []
        errors: list[str] = []
        events_before = sum(b.events_seen for b in bench)
        rss_samples: list[int] = []
        worker_samples: dict[int, list[int]] = {w: [] for w in worker_pids}
        start = asyncio.Event()
        deadline = time.monotonic() + args.run_timeout
        if hard_deadline is not None:
            deadline = min(deadline, hard_deadline)

        async def loop(b: BenchSession) -> None:
            await start.wait()
            for _ in range(args.turns):
                if time.monotonic() > deadline:
                    result.timed_out = True
                    return
                try:
                    kind, latency = await b.turn(args.message, args.turn_timeout)
                except Exception as error:
                    errors.append(f"{type(error).__name__}: {error}")
                    if b.stream_error is not None:
                        return
                    continue
                if kind == "turn.completed":
                    latencies.append(latency)
                else:
                    errors.append(kind)

        async def sample_rss(stop: asyncio.Event) -> None:
            while not stop.is_set():
                if pid:
                    rss_samples.append(proc_status_kb(pid, "VmRSS"))
                for w in worker_pids:
                    worker_samples[w].append(proc_status_kb(w, "VmRSS"))
                try:
                    await asyncio.wait_for(stop.wait(), 0.1)
                except asyncio.TimeoutError:
                    pass

        backends = pg_pids() if pg_pids else []
        if pid:
            result.rss_idle_mb = proc_status_kb(pid, "VmRSS") / 1024
            server_cpu0 = proc_cpu_seconds(pid)
        workers_cpu0 = cpu_of(list(worker_pids))
        pg_cpu0 = cpu_of(backends)
        host_cpu0 = host_busy_seconds()
        client_cpu0 = self_cpu_seconds()
        stop_sampling = asyncio.Event()
        sampler = asyncio.create_task(sample_rss(stop_sampling)) if pid or worker_pids else None
        tasks = [asyncio.create_task(loop(b)) for b in bench]
        began = time.perf_counter()
        start.set()
        await asyncio.gather(*tasks)
        result.wall_s = time.perf_counter() - began
        cpu_wall = max(result.wall_s, 0.05)  # no absurd percentages from a run that never started
        client_cpu = self_cpu_seconds() - client_cpu0
        host_cpu = host_busy_seconds() - host_cpu0
        stop_sampling.set()
        if sampler:
            await sampler
        if pid:
            server_cpu = proc_cpu_seconds(pid) - server_cpu0
            result.server_cpu_pct = 100 * server_cpu / cpu_wall
            result.rss_end_mb = proc_status_kb(pid, "VmRSS") / 1024
            result.rss_peak_mb = max(rss_samples + [proc_status_kb(pid, "VmRSS")]) / 1024
            result.vmhwm_mb = proc_status_kb(pid, "VmHWM") / 1024
        if worker_pids:
            result.workers_cpu_pct = 100 * cpu_delta(workers_cpu0, cpu_of(list(worker_pids))) / cpu_wall
            result.workers_rss_peak_mb = [max(worker_samples[w] + [proc_status_kb(w, "VmRSS")]) / 1024
                                          for w in worker_pids]
            result.workers_vmhwm_mb = [proc_status_kb(w, "VmHWM") / 1024 for w in worker_pids]
        if backends:
            result.pg_cpu_pct = 100 * cpu_delta(pg_cpu0, cpu_of(backends)) / cpu_wall
        result.client_cpu_pct = 100 * client_cpu / cpu_wall
        result.host_cpu_pct = 100 * host_cpu / cpu_wall

        latencies.sort()
        result.turns = len(latencies)
        result.errors = len(errors)
        result.error_samples = errors[:5]
        result.turns_per_s = result.turns / result.wall_s if result.wall_s else 0.0
        result.p50_ms = percentile(latencies, 0.50) * 1000
        result.p90_ms = percentile(latencies, 0.90) * 1000
        result.p99_ms = percentile(latencies, 0.99) * 1000
        result.max_ms = (latencies[-1] if latencies else 0.0) * 1000
        result.mean_ms = (sum(latencies) / len(latencies) * 1000) if latencies else 0.0
        measured_events = sum(b.events_seen for b in bench) - events_before
        result.events_per_turn = measured_events / max(1, result.turns + result.errors)
    finally:
        await setup.close()
        await asyncio.gather(*(b.close() for b in bench), return_exceptions=True)
    return result


# --- main -------------------------------------------------------------------------------------


def parse_sessions(text: str) -> list[int]:
    values = [int(part) for part in text.split(",") if part.strip()]
    if not values or any(v < 1 for v in values):
        raise argparse.ArgumentTypeError("--sessions wants a comma-separated list of positive integers")
    return values


def parse_modes(text: str) -> list[str]:
    values = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [v for v in values if v not in MODES]
    if not values or unknown:
        raise argparse.ArgumentTypeError(f"--modes wants a comma-separated list of {', '.join(MODES)}"
                                         + (f" (unknown: {', '.join(unknown)})" if unknown else ""))
    return list(dict.fromkeys(values))


def set_ratios(results: list[RunResult]) -> None:
    memory = {r.sessions: r.turns_per_s for r in results if r.mode == "memory" and r.turns > 0}
    for r in results:
        base = memory.get(r.sessions)
        r.ratio_vs_memory = round(r.turns_per_s / base, 4) if base and r.turns and not r.failure else None


def workers_cell(values: list[float]) -> str:
    if not values:
        return "-"
    if len(values) <= 4:
        return " + ".join(f"{v:.1f}" for v in values)
    return f"max {max(values):.1f}, sum {sum(values):.1f}"


def print_table(results: list[RunResult]) -> None:
    columns = [
        ("mode", "mode", "{}"), ("sessions", "sessions", "{:d}"), ("turns", "turns", "{:d}"),
        ("errors", "errors", "{:d}"),
        ("wall_s", "wall s", "{:.2f}"), ("turns_per_s", "turns/s", "{:.1f}"),
        ("p50_ms", "p50 ms", "{:.2f}"), ("p90_ms", "p90 ms", "{:.2f}"), ("p99_ms", "p99 ms", "{:.2f}"),
        ("max_ms", "max ms", "{:.2f}"), ("events_per_turn", "ev/turn", "{:.1f}"),
        ("server_cpu_pct", "srv cpu%", "{:.0f}"), ("workers_cpu_pct", "wkr cpu%", "{:.0f}"),
        ("pg_cpu_pct", "pg cpu%", "{:.0f}"), ("client_cpu_pct", "cli cpu%", "{:.0f}"),
        ("host_cpu_pct", "host cpu%", "{:.0f}"),
        ("rss_idle_mb", "rss idle MB", "{:.1f}"), ("rss_peak_mb", "rss peak MB", "{:.1f}"),
        ("rss_end_mb", "rss end MB", "{:.1f}"), ("vmhwm_mb", "VmHWM MB", "{:.1f}"),
    ]
    rows = [[fmt.format(getattr(r, key)) for key, _, fmt in columns] for r in results]
    widths = [max(len(title), *(len(row[i]) for row in rows)) for i, (_, title, _) in enumerate(columns)]
    print("  ".join(title.rjust(w) for (_, title, _), w in zip(columns, widths)))
    for row in rows:
        print("  ".join(cell.rjust(w) for cell, w in zip(row, widths)))


def print_markdown(results: list[RunResult], cpus: int) -> None:
    print()
    print(f"CPU columns are % of one core (the host has {cpus}); RSS in MB; turns/s ratio is against memory "
          "mode at the same N.")
    print()
    header = ["mode", "N", "turns", "errors", "turns/s", "vs memory", "p50 ms", "p99 ms", "server RSS peak MB",
              "server VmHWM MB", "workers VmHWM MB", "srv cpu%", "wkr cpu%", "pg cpu%", "cli cpu%", "host cpu%",
              "notes"]
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join(["---"] + ["---:"] * (len(header) - 2) + ["---"]) + "|")
    for r in results:
        ratio = f"{r.ratio_vs_memory:.2f}x" if r.ratio_vs_memory is not None else "-"
        worker_mode = r.mode == "postgres-workers"
        notes = "; ".join(r.problems()).replace("|", "\\|")
        if len(notes) > 160:
            notes = notes[:157] + "..."
        cells = [r.mode, str(r.sessions), str(r.turns), str(r.errors), f"{r.turns_per_s:.1f}", ratio,
                 f"{r.p50_ms:.2f}", f"{r.p99_ms:.2f}", f"{r.rss_peak_mb:.1f}", f"{r.vmhwm_mb:.1f}",
                 workers_cell(r.workers_vmhwm_mb) if worker_mode else "-", f"{r.server_cpu_pct:.0f}",
                 f"{r.workers_cpu_pct:.0f}" if worker_mode else "-",
                 f"{r.pg_cpu_pct:.0f}" if r.mode != "memory" else "-", f"{r.client_cpu_pct:.0f}",
                 f"{r.host_cpu_pct:.0f}", notes or "ok"]
        print("| " + " | ".join(cells) + " |")
    print()


async def main_async(args, log_dir: str, results: list[RunResult]) -> None:
    for mode in args.modes:
        shared: Optional[Deployment] = None
        mode_results: list[RunResult] = []
        try:
            for n in args.sessions:
                result = RunResult(sessions=n, turns_per_session=args.turns, mode=mode)
                remaining = args.deadline_mono - time.monotonic() if args.deadline_mono is not None else None
                if remaining is not None and remaining < 20:
                    result.timed_out = True
                    result.failure = "skipped: the overall --timeout budget is used up"
                    results.append(result)
                    print(f"# {mode} N={n}: {result.failure}", file=sys.stderr, flush=True)
                    continue
                deployment: Optional[Deployment] = None
                budget = args.run_timeout + 60
                results.append(result)  # now, so that an interrupted run is reported too
                mode_results.append(result)
                try:
                    if args.url:
                        parts = urlsplit(args.url)
                        host, port, prefix, pid = parts.hostname, parts.port or 80, parts.path.rstrip("/"), args.pid
                    else:
                        if args.reuse_server:
                            shared = shared or Deployment(args, mode, log_dir, f"{mode}-shared")
                            deployment = shared
                        else:
                            deployment = Deployment(args, mode, log_dir, f"{mode}-n{n}")
                        host, port, prefix, pid = "127.0.0.1", deployment.port, args.api_prefix, deployment.pid
                    workers = tuple(w.pid for w in deployment.workers) if deployment else ()
                    database = deployment.database if deployment else None
                    print(f"# {mode} N={n}: {args.turns} turns/session (+{args.warmup} warm-up) against "
                          f"{host}:{port}{prefix}" + (f", server pid {pid}" if pid else "")
                          + (f", worker pids {list(workers)}" if workers else "")
                          + (f", database {database.name}" if database else ""), file=sys.stderr, flush=True)
                    hard_deadline = None
                    if args.deadline_mono is not None:
                        budget = min(budget, args.deadline_mono - time.monotonic())
                        hard_deadline = args.deadline_mono - 5  # no new turns after this
                    await asyncio.wait_for(
                        run_once(host, port, prefix, pid, n, args, result, worker_pids=workers,
                                 pg_pids=database.backend_pids if database else None, hard_deadline=hard_deadline),
                        budget)
                except (asyncio.CancelledError, KeyboardInterrupt):  # Ctrl-C, SIGTERM: main() reports
                    result.failure = "interrupted"
                    raise
                except asyncio.TimeoutError:
                    result.timed_out = True
                    result.failure = f"run cut off after {budget:.0f} s (--run-timeout + 60 or the overall --timeout)"
                except Exception as error:  # this run failed (start-up, HTTP, SSE): report it, go on
                    result.failure = f"{type(error).__name__}: {error}"
                finally:
                    if deployment is not None and deployment is not shared:
                        deployment.stop()
                        deployment.annotate(result)
                print(f"# {mode} N={n}: {result.turns} turns in {result.wall_s:.2f}s = {result.turns_per_s:.1f} "
                      f"turns/s, p50 {result.p50_ms:.2f} ms, p99 {result.p99_ms:.2f} ms, errors {result.errors}"
                      + (f", server {result.server_exit}" if result.server_exit else "")
                      + (f", workers {result.worker_exits}" if result.worker_exits else ""),
                      file=sys.stderr, flush=True)
                if deployment is not None and deployment is not shared and result.problems():
                    deployment.print_logs("; ".join(result.problems()))
        finally:
            if shared is not None:
                shared.stop()
                for result in mode_results:
                    shared.annotate(result)
                if any(r.problems() for r in mode_results):
                    shared.print_logs("problems in this mode")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--server", help="keel binary; a fresh server is started per mode and N on free loopback ports")
    target.add_argument("--url", help="an already running server, e.g. http://127.0.0.1:9000[/api]")
    parser.add_argument("--pid", type=int, help="pid of the --url server, for RSS/CPU figures")
    parser.add_argument("--reuse-server", action="store_true", help="with --server: one server per mode for every N")
    parser.add_argument("--api-prefix", default="", help="API_PREFIX for a started server")
    parser.add_argument("--modes", type=parse_modes, default=["memory"],
                        help=f"comma-separated list of {', '.join(MODES)} (default memory); with --url, one label")
    parser.add_argument("--embedded", type=int, default=4,
                        help="postgres-embedded: DURABLE_EMBEDDED_EXECUTORS (default 4)")
    parser.add_argument("--workers", type=int, default=2, help="postgres-workers: keel worker processes (default 2)")
    parser.add_argument("--worker-tasks", type=int, default=10,
                        help="postgres-workers: MAX_CONCURRENT_TASKS per worker (default 10)")
    parser.add_argument("--database-url",
                        default=os.environ.get("KEEL_BENCH_DATABASE_URL") or os.environ.get("KEEL_TEST_DATABASE_URL"),
                        help="admin postgres:// URL for the postgres modes (one database is created and dropped per "
                             "server start); default $KEEL_BENCH_DATABASE_URL or $KEEL_TEST_DATABASE_URL")
    parser.add_argument("--database-max-connections", type=int,
                        help="DATABASE_MAX_CONNECTIONS for the postgres modes (default: the server's, 20)")
    parser.add_argument("--sessions", type=parse_sessions, default=[50], help="comma-separated N list (default 50)")
    parser.add_argument("--turns", type=int, default=20, help="measured turns per session (default 20)")
    parser.add_argument("--warmup", type=int, default=1, help="unmeasured turns per session first (default 1)")
    parser.add_argument("--message", default="hello benchmark", help="user message text (the sim model echoes it)")
    parser.add_argument("--terminal-only", action="store_true",
                        help="subscribe to terminal turn events only (SSE types filter) instead of the full stream")
    parser.add_argument("--turn-timeout", type=float, default=30, help="seconds to wait for one turn (default 30)")
    parser.add_argument("--run-timeout", type=float, default=120, help="seconds per N before turns stop (default 120)")
    parser.add_argument("--deadline", type=float,
                        help="Unix time by which everything must be done and stopped (scripts/bench sets it from "
                             "--timeout); later runs are skipped, a running one is cut short")
    parser.add_argument("--json", dest="json_path", help="write results as JSON here")
    args = parser.parse_args()
    if args.url and args.url.split("://", 1)[-1].split("/")[0].split(":")[0] not in ("127.0.0.1", "localhost", "::1"):
        parser.error("--url must be a loopback address")
    if args.url and len(args.modes) != 1:
        parser.error("--url benchmarks one server: give at most one --modes entry (as its label)")
    if args.embedded < 0 or args.workers < 1 or args.worker_tasks < 1:
        parser.error("--embedded must be >= 0, --workers and --worker-tasks >= 1")
    if "postgres-embedded" in args.modes and args.embedded == 0 and not args.url:
        parser.error("postgres-embedded with --embedded 0 has nothing to run steps")
    args.psql = None
    if not args.url and any(m != "memory" for m in args.modes):
        if not args.database_url:
            parser.error("the postgres modes need an admin URL: --database-url, KEEL_BENCH_DATABASE_URL or "
                         "KEEL_TEST_DATABASE_URL (scripts/bench runs them under scripts/with-postgres)")
        args.psql = find_psql()
        if not args.psql:
            parser.error("the postgres modes need psql (looked in $PG_BIN, /usr/lib/postgresql/*/bin and PATH)")
    args.deadline_mono = time.monotonic() + (args.deadline - time.time()) if args.deadline else None

    interrupted: list[int] = []

    def on_signal(signum, frame):
        global INTERRUPTED
        if interrupted:
            return  # already unwinding; the cleanup in main() stops whatever is left
        interrupted.append(signum)
        INTERRUPTED = True
        raise KeyboardInterrupt(f"signal {signum}")
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, on_signal)  # Ctrl-C, `timeout` in scripts/bench: unwind, stop children

    results: list[RunResult] = []
    log_dir = tempfile.mkdtemp(prefix="keel-bench-")
    try:
        asyncio.run(main_async(args, log_dir, results))
    except KeyboardInterrupt:
        name = signal.Signals(interrupted[0]).name if interrupted else "KeyboardInterrupt"
        print(f"# interrupted ({name}): stopping child processes; results so far follow", file=sys.stderr, flush=True)
        interrupted.append(0)
    finally:
        stop_all_children()

    set_ratios(results)
    if results:
        print_table(results)
        print_markdown(results, os.cpu_count() or 0)
    problems = [(r, r.problems()) for r in results if r.problems()]
    for r, found in problems:
        print(f"problem: {r.mode} N={r.sessions}: {'; '.join(found)}")
    print(f"logs: {log_dir}")
    if args.json_path:
        document = {
            "benchmark": "keel turn round-trip (sim model, zero latency)",
            "modes": args.modes, "embedded_executors": args.embedded, "workers": args.workers,
            "worker_max_concurrent_tasks": args.worker_tasks,
            "database_max_connections": args.database_max_connections,
            "turns_per_session": args.turns, "warmup_turns": args.warmup, "message": args.message,
            "sse": "terminal events only" if args.terminal_only else "full event stream",
            "cpus": os.cpu_count(), "interrupted": bool(interrupted), "log_dir": log_dir,
            "results": [asdict(r) for r in results],
        }
        with open(args.json_path, "w") as out:
            json.dump(document, out, indent=2)
        print(f"wrote {args.json_path}")
    if interrupted and interrupted[0]:
        return 128 + interrupted[0]
    return 0 if results and not problems and not interrupted else 1


if __name__ == "__main__":
    sys.exit(main())
