#!/usr/bin/env python3
"""Keel turn-throughput benchmark client (a benchmark, not a test). Standard library only.

For each N in --sessions: start a fresh server (or use --url/--pid), create N sessions, open one
SSE stream per session, run --warmup unmeasured turns per session, then release all sessions at
once; each runs --turns turns in a loop: t0, POST a message, wait until its `turn.completed`
arrives on the session's SSE stream. Latency is t0 -> terminal event seen by the client.

The client is asyncio with raw sockets (`asyncio.open_connection`): one keep-alive connection
for POSTs and one for SSE per session; event frames are not JSON-decoded except the terminal
ones. Its own CPU use is reported next to the server's, so a saturated client shows up.

Reported per N: turns, wall time, turns/s, p50/p90/p99/max latency (ms), errors, server and
client CPU (% of one core), server RSS (idle before the measured phase, sampled peak during it,
at the end) and VmHWM (peak RSS of the server process so far).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import asdict, dataclass, field
from typing import Optional

TERMINAL = (b"turn.completed", b"turn.failed", b"turn.cancelled")
CLK_TCK = os.sysconf("SC_CLK_TCK")


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
        head = (f"{method} {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nAuthorization: bench\r\n"
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
                      f"Host: {self.host}:{self.port}\r\nAuthorization: bench\r\n"
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
        status, body = await self.api.request(
            "POST", f"{self.prefix}/v1/sessions/{self.session_id}/messages",
            {"message": {"role": "user", "content": [{"type": "text", "text": text}]}})
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


# --- server process -------------------------------------------------------------------------


def die_with_parent() -> None:
    """In the forked child: SIGTERM the server if this client dies, so no server outlives a run."""
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:
        pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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
            raise RuntimeError(f"server exited with {process.returncode} during startup")
        if time.monotonic() > deadline:
            raise RuntimeError(f"server not healthy on port {port} after {timeout:.0f}s")
        time.sleep(0.1)


class Server:
    def __init__(self, binary: str, prefix: str, log_dir: str, label: str) -> None:
        self.port = free_port()
        env = dict(os.environ, DEV_MODE="1", HOST="127.0.0.1", PORT=str(self.port), LOG_LEVEL="warning",
                   API_PREFIX=prefix)
        self.log_path = os.path.join(log_dir, f"server-{label}.log")
        self.log = open(self.log_path, "wb")
        self.process = subprocess.Popen([binary, "server"], env=env, stdout=self.log, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, preexec_fn=die_with_parent)
        try:
            wait_healthy(self.port, self.process)
        except Exception:
            self.stop()
            raise

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


def proc_status_kb(pid: int, field_name: str) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    return 0


def proc_cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime


def self_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# --- one run ----------------------------------------------------------------------------------


@dataclass
class RunResult:
    sessions: int
    turns_per_session: int
    turns: int = 0
    errors: int = 0
    wall_s: float = 0.0
    turns_per_s: float = 0.0
    p50_ms: float = 0.0
    p90_ms: float = 0.0
    p99_ms: float = 0.0
    max_ms: float = 0.0
    mean_ms: float = 0.0
    events_per_turn: float = 0.0
    server_cpu_pct: float = 0.0
    client_cpu_pct: float = 0.0
    rss_idle_mb: float = 0.0
    rss_peak_mb: float = 0.0
    rss_end_mb: float = 0.0
    vmhwm_mb: float = 0.0
    timed_out: bool = False
    error_samples: list = field(default_factory=list)


def percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return 0.0
    rank = max(1, int(-(-fraction * len(sorted_values) // 1)))  # nearest rank
    return sorted_values[min(rank, len(sorted_values)) - 1]


async def run_once(host: str, port: int, prefix: str, pid: Optional[int], sessions: int, args) -> RunResult:
    result = RunResult(sessions=sessions, turns_per_session=args.turns)
    setup = Connection(host, port)
    bench: list[BenchSession] = []
    try:
        for _ in range(sessions):
            status, body = await setup.request("POST", f"{prefix}/v1/sessions", {"title": "bench"})
            if status != 201:
                raise HTTPError(f"POST sessions {status}: {body[:200]!r}")
            bench.append(BenchSession(host, port, prefix, json.loads(body)["id"], args.terminal_only))
        await setup.close()
        await asyncio.gather(*(b.open_stream() for b in bench))
        for _ in range(args.warmup):
            await asyncio.gather(*(b.turn(args.message, args.turn_timeout) for b in bench))
        await asyncio.sleep(0.2)

        latencies: list[float] = []
        errors: list[str] = []
        events_before = sum(b.events_seen for b in bench)
        rss_samples: list[int] = []
        start = asyncio.Event()
        deadline = time.monotonic() + args.run_timeout

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
                rss_samples.append(proc_status_kb(pid, "VmRSS"))
                try:
                    await asyncio.wait_for(stop.wait(), 0.1)
                except asyncio.TimeoutError:
                    pass

        if pid:
            result.rss_idle_mb = proc_status_kb(pid, "VmRSS") / 1024
            server_cpu0 = proc_cpu_seconds(pid)
        client_cpu0 = self_cpu_seconds()
        stop_sampling = asyncio.Event()
        sampler = asyncio.create_task(sample_rss(stop_sampling)) if pid else None
        tasks = [asyncio.create_task(loop(b)) for b in bench]
        began = time.perf_counter()
        start.set()
        await asyncio.gather(*tasks)
        result.wall_s = time.perf_counter() - began
        client_cpu = self_cpu_seconds() - client_cpu0
        stop_sampling.set()
        if sampler:
            await sampler
        if pid:
            server_cpu = proc_cpu_seconds(pid) - server_cpu0
            result.server_cpu_pct = 100 * server_cpu / result.wall_s
            result.rss_end_mb = proc_status_kb(pid, "VmRSS") / 1024
            result.rss_peak_mb = max(rss_samples + [proc_status_kb(pid, "VmRSS")]) / 1024
            result.vmhwm_mb = proc_status_kb(pid, "VmHWM") / 1024
        result.client_cpu_pct = 100 * client_cpu / result.wall_s

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


def print_table(results: list[RunResult]) -> None:
    columns = [
        ("sessions", "sessions", "{:d}"), ("turns", "turns", "{:d}"), ("errors", "errors", "{:d}"),
        ("wall_s", "wall s", "{:.2f}"), ("turns_per_s", "turns/s", "{:.1f}"),
        ("p50_ms", "p50 ms", "{:.2f}"), ("p90_ms", "p90 ms", "{:.2f}"), ("p99_ms", "p99 ms", "{:.2f}"),
        ("max_ms", "max ms", "{:.2f}"), ("events_per_turn", "ev/turn", "{:.1f}"),
        ("server_cpu_pct", "srv cpu%", "{:.0f}"), ("client_cpu_pct", "cli cpu%", "{:.0f}"),
        ("rss_idle_mb", "rss idle MB", "{:.1f}"), ("rss_peak_mb", "rss peak MB", "{:.1f}"),
        ("rss_end_mb", "rss end MB", "{:.1f}"), ("vmhwm_mb", "VmHWM MB", "{:.1f}"),
    ]
    rows = [[fmt.format(getattr(r, key)) for key, _, fmt in columns] for r in results]
    widths = [max(len(title), *(len(row[i]) for row in rows)) for i, (_, title, _) in enumerate(columns)]
    print("  ".join(title.rjust(w) for (_, title, _), w in zip(columns, widths)))
    for row in rows:
        print("  ".join(cell.rjust(w) for cell, w in zip(row, widths)))
    for r in results:
        if r.timed_out or r.error_samples:
            print(f"N={r.sessions}: timed_out={r.timed_out} errors={r.errors} e.g. {r.error_samples}")


async def main_async(args) -> list[RunResult]:
    results = []
    shared: Optional[Server] = None
    log_dir = tempfile.mkdtemp(prefix="keel-bench-")
    try:
        for n in args.sessions:
            server = None
            if args.url:
                from urllib.parse import urlsplit
                parts = urlsplit(args.url)
                host, port, prefix, pid = parts.hostname, parts.port or 80, parts.path.rstrip("/"), args.pid
            else:
                if args.reuse_server:
                    shared = shared or Server(args.server, args.api_prefix, log_dir, "shared")
                    server = shared
                else:
                    server = Server(args.server, args.api_prefix, log_dir, f"n{n}")
                host, port, prefix, pid = "127.0.0.1", server.port, args.api_prefix, server.pid
            print(f"# N={n}: {args.turns} turns/session (+{args.warmup} warm-up) against {host}:{port}{prefix}"
                  + (f", server pid {pid}" if pid else ""), file=sys.stderr, flush=True)
            try:
                result = await asyncio.wait_for(run_once(host, port, prefix, pid, n, args), args.run_timeout + 60)
            except asyncio.TimeoutError:
                result = RunResult(sessions=n, turns_per_session=args.turns, timed_out=True)
            finally:
                if server is not None and server is not shared:
                    server.stop()
            results.append(result)
            print(f"# N={n}: {result.turns} turns in {result.wall_s:.2f}s = {result.turns_per_s:.1f} turns/s, "
                  f"p50 {result.p50_ms:.2f} ms, p99 {result.p99_ms:.2f} ms, errors {result.errors}",
                  file=sys.stderr, flush=True)
    finally:
        if shared is not None:
            shared.stop()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--server", help="keel binary; a fresh DEV_MODE server is started per N on a free loopback port")
    target.add_argument("--url", help="an already running server, e.g. http://127.0.0.1:9000[/api]")
    parser.add_argument("--pid", type=int, help="pid of the --url server, for RSS/CPU figures")
    parser.add_argument("--reuse-server", action="store_true", help="with --server: one server for every N")
    parser.add_argument("--api-prefix", default="", help="API_PREFIX for a started server")
    parser.add_argument("--sessions", type=parse_sessions, default=[50], help="comma-separated N list (default 50)")
    parser.add_argument("--turns", type=int, default=20, help="measured turns per session (default 20)")
    parser.add_argument("--warmup", type=int, default=1, help="unmeasured turns per session first (default 1)")
    parser.add_argument("--message", default="hello benchmark", help="user message text (the sim model echoes it)")
    parser.add_argument("--terminal-only", action="store_true",
                        help="subscribe to terminal turn events only (SSE types filter) instead of the full stream")
    parser.add_argument("--turn-timeout", type=float, default=30, help="seconds to wait for one turn (default 30)")
    parser.add_argument("--run-timeout", type=float, default=120, help="seconds per N before turns stop (default 120)")
    parser.add_argument("--json", dest="json_path", help="write results as JSON here")
    args = parser.parse_args()
    if args.url and args.url.split("://", 1)[-1].split("/")[0].split(":")[0] not in ("127.0.0.1", "localhost", "::1"):
        parser.error("--url must be a loopback address")

    def on_term(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")
    signal.signal(signal.SIGTERM, on_term)  # `timeout` in scripts/bench: unwind, stop servers
    results = asyncio.run(main_async(args))
    print_table(results)
    if args.json_path:
        document = {
            "benchmark": "keel turn round-trip (sim model, zero latency)",
            "turns_per_session": args.turns, "warmup_turns": args.warmup, "message": args.message,
            "sse": "terminal events only" if args.terminal_only else "full event stream",
            "cpus": os.cpu_count(), "results": [asdict(r) for r in results],
        }
        with open(args.json_path, "w") as out:
            json.dump(document, out, indent=2)
        print(f"wrote {args.json_path}")
    return 0 if all(r.errors == 0 and not r.timed_out and r.turns > 0 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
