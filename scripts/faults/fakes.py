"""Loopback stand-ins the fault cases steer: an OpenAI-protocol provider, a slow web server for
`web_fetch`, and a black hole (accepts connections, never answers). Standard library only; each
runs in daemon threads of the harness process, so the cases read their counters directly.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256


def _serve(handler_class, owner) -> _Server:
    server = _Server(("127.0.0.1", 0), handler_class)
    server.owner = owner  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()
    return server


# --- OpenAI Chat Completions -------------------------------------------------------------------


class ProviderRequest:
    def __init__(self, model: str, key: str) -> None:
        self.model, self.key = model, key
        self.received = time.monotonic()
        self.status = 0
        self.chunks_sent = 0
        self.finished = False


class FakeOpenAI:
    """`POST …/chat/completions` in OpenAI's streaming wire format (`chat.completion.chunk` objects
    as `data:` lines, a usage chunk, `data: [DONE]`), chunked transfer encoding. The behaviour
    is picked by the requested model:

    * `fast`      — the whole answer at once;
    * `slow`      — `slow_chunks` text deltas `slow_gap` seconds apart (kills land mid-stream);
    * `stall`     — the first delta, then silence for `stall_secs` (the idle timeout must fire);
    * `ratelimit` — 429 with `Retry-After: 1` for the first N requests of a conversation, where N
      comes from `[[429xN]]` in the last user message (`[[429x-1]]`: always), then like `fast`.

    A conversation is keyed by its last user message text, so concurrent cases never mix."""

    def __init__(self, slow_chunks: int = 16, slow_gap: float = 0.1, stall_secs: float = 30) -> None:
        self.slow_chunks, self.slow_gap, self.stall_secs = slow_chunks, slow_gap, stall_secs
        self.lock = threading.Lock()
        self.requests: list[ProviderRequest] = []
        self.server = _serve(_OpenAIHandler, self)
        self.port = self.server.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}/v1"

    def record(self, model: str, key: str) -> ProviderRequest:
        request = ProviderRequest(model, key)
        with self.lock:
            self.requests.append(request)
        return request

    def for_key(self, key: str) -> list[ProviderRequest]:
        with self.lock:
            return [r for r in self.requests if key in r.key]

    def streaming(self, key: str, min_chunks: int) -> bool:
        """A response for `key` is being streamed and has sent at least `min_chunks` deltas."""
        return any(not r.finished and r.status == 200 and r.chunks_sent >= min_chunks for r in self.for_key(key))

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _last_user_text(body: dict) -> str:
    for message in reversed(body.get("messages", [])):
        if message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, list):
                return " ".join(part.get("text", "") for part in content if isinstance(part, dict))
            return str(content or "")
    return ""


class _OpenAIHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:
        pass

    def do_POST(self) -> None:
        fake: FakeOpenAI = self.server.owner  # type: ignore[attr-defined]
        body = json.loads(self.rfile.read(int(self.headers.get("content-length", "0"))) or b"{}")
        model = str(body.get("model", ""))
        key = _last_user_text(body)
        record = fake.record(model, key)
        if model == "ratelimit":
            match = re.search(r"\[\[429x(-?\d+)\]\]", key)
            limit = int(match.group(1)) if match else 0
            earlier = sum(1 for r in fake.for_key(key) if r is not record)
            if limit < 0 or earlier < limit:
                record.status = 429
                error = json.dumps({"error": {"message": "Rate limit reached for requests", "type": "requests",
                                              "param": None, "code": "rate_limit_exceeded"}}).encode()
                self.send_response(429)
                self.send_header("content-type", "application/json")
                self.send_header("retry-after", "1")
                self.send_header("content-length", str(len(error)))
                self.end_headers()
                self.wfile.write(error)
                record.finished = True
                return
        record.status = 200
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("transfer-encoding", "chunked")
        self.send_header("cache-control", "no-cache")
        self.end_headers()
        completion = f"chatcmpl-{uuid.uuid4().hex[:24]}"
        created = int(time.time())

        def chunk(choices: list, usage=None) -> bytes:
            payload = {"id": completion, "object": "chat.completion.chunk", "created": created, "model": model,
                       "system_fingerprint": "fp_fault", "choices": choices, "usage": usage}
            return b"data: " + json.dumps(payload, separators=(",", ":")).encode() + b"\n\n"

        def delta(content: str, first: bool = False) -> bytes:
            d = {"role": "assistant", "content": content, "refusal": None} if first else {"content": content}
            return chunk([{"index": 0, "delta": d, "logprobs": None, "finish_reason": None}])

        def send(data: bytes) -> None:
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()

        try:
            if model == "stall":
                send(delta("Hello", first=True))
                record.chunks_sent = 1
                deadline = time.monotonic() + fake.stall_secs
                while time.monotonic() < deadline:
                    time.sleep(0.1)
                return  # the connection closes without the terminating chunk
            words = ["Fault", " tolerant", " answer."]
            gap = 0.0
            if model == "slow":
                words = [f" w{i}" for i in range(fake.slow_chunks)]
                gap = fake.slow_gap
            send(delta("", first=True))
            for word in words:
                if gap:
                    time.sleep(gap)
                send(delta(word))
                record.chunks_sent += 1
            send(chunk([{"index": 0, "delta": {}, "logprobs": None, "finish_reason": "stop"}]))
            send(chunk([], usage={"prompt_tokens": 10, "completion_tokens": len(words), "total_tokens": 10 + len(words)}))
            send(b"data: [DONE]\n\n")
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass
        finally:
            record.finished = True
            self.close_connection = True


# --- a slow web server for web_fetch ------------------------------------------------------------


class SlowWeb:
    """`GET /slow/<key>` answers after `delay` seconds, `GET /fast/<key>` at once; every request
    is counted per path (a tool run's side effect) and in-flight requests are visible."""

    def __init__(self, delay: float = 1.5) -> None:
        self.delay = delay
        self.lock = threading.Lock()
        self.hits: dict[str, int] = {}
        self.in_flight: dict[str, int] = {}
        self.server = _serve(_SlowHandler, self)
        self.port = self.server.server_address[1]

    def url(self, kind: str, key: str) -> str:
        return f"http://127.0.0.1:{self.port}/{kind}/{key}"

    def count(self, kind: str, key: str) -> int:
        with self.lock:
            return self.hits.get(f"/{kind}/{key}", 0)

    def busy(self, kind: str, key: str) -> bool:
        with self.lock:
            return self.in_flight.get(f"/{kind}/{key}", 0) > 0

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class _SlowHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:
        web: SlowWeb = self.server.owner  # type: ignore[attr-defined]
        path = self.path.split("?", 1)[0]
        with web.lock:
            web.hits[path] = web.hits.get(path, 0) + 1
            web.in_flight[path] = web.in_flight.get(path, 0) + 1
        try:
            if path.startswith("/slow/"):
                time.sleep(web.delay)
            body = f"fetched {path}".encode()
            self.send_response(200)
            self.send_header("content-type", "text/plain")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass
        finally:
            with web.lock:
                web.in_flight[path] -= 1


# --- a black hole ----------------------------------------------------------------------------


class BlackHole:
    """Accepts TCP connections and reads whatever comes, never answering (a hung backend)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.port = self.sock.getsockname()[1]
        self.connections: list[socket.socket] = []
        self.accepted = 0
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.closed:
            try:
                connection, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            self.connections.append(connection)
            threading.Thread(target=self._drain, args=(connection,), daemon=True).start()

    @staticmethod
    def _drain(connection: socket.socket) -> None:
        try:
            while connection.recv(65536):
                pass
        except OSError:
            pass

    def close(self) -> None:
        self.closed = True
        for connection in self.connections:
            try:
                connection.close()
            except OSError:
                pass
        self.sock.close()


def closed_port() -> int:
    """A loopback port with nothing listening (bound then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout: float, interval: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())
