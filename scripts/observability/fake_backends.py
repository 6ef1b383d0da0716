#!/usr/bin/env python3
"""Fake observability backends for Keel's external observability tests.

One threaded HTTP server (standard library only, plus `opentelemetry-proto` for protobuf) that
plays three roles at once and records everything it is sent:

* generic OTLP/HTTP collector: ``POST /v1/traces`` -- and any other path ending in
  ``/v1/traces`` (e.g. ``/phoenix/v1/traces``), so several "targets" can point at one fake and
  still be told apart by path;
* Langfuse's OTLP endpoint: ``POST /api/public/otel/v1/traces`` (Basic auth with the configured
  public:secret key pair, else 401; content type must be JSON or protobuf, else 400;
  ``x-langfuse-ingestion-version`` if present must be an integer <= 4, else 400; answers 200 ``{}``);
* Braintrust: OTLP at ``POST /otel/v1/traces`` (Bearer + ``x-bt-parent``) and REST
  ``POST /v1/project`` (create-or-get), ``GET /v1/project?project_name=``,
  ``POST /v1/project_logs/{project_id}/insert`` (rows validated and recorded).

Bodies may be gzip- or deflate-encoded. OTLP bodies are decoded (binary protobuf, or OTLP/JSON
with hex ids) into flat span records::

    {"path", "trace_id", "span_id", "parent_span_id", "name", "kind", "start_ns", "end_ns",
     "attributes": {...}, "resource": {...}, "scope": "...", "status": {"code", "message"},
     "events": [...], "received_at"}

Test routes (never used by a real client):

* ``GET /_test/spans[?path=P][&trace_id=T]`` -> ``{"spans": [...]}``
* ``GET /_test/requests[?path=P]`` -> ``{"requests": [...]}`` (method, path, headers, sizes, status)
* ``GET /_test/braintrust`` -> ``{"projects": [...], "rows": [...], "rejected": [...]}``
* ``POST /_test/mode`` ``{"path": P, "mode": "ok"|"503"|"429"|"500"|"hang", "retry_after"?: s}``
  -- a failure mode for requests whose path is P (exact) or starts with P; "hang" holds the
  request open until the mode changes, a reset, or ``hang_seconds`` (then answers 503)
* ``DELETE /_test/reset`` -> clears everything recorded and every mode
* ``GET /_test/health`` -> ``ok``

Run standalone: ``python fake_backends.py --port 14318 [--langfuse-public-key pk --langfuse-secret-key sk
--braintrust-api-key key]``; it prints ``fake-backends listening on 127.0.0.1:PORT`` when ready.
"""

from __future__ import annotations

import argparse
import base64
import gzip
import json
import re
import sys
import threading
import time
import uuid
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

LANGFUSE_PATH = "/api/public/otel/v1/traces"
BRAINTRUST_OTLP_PATH = "/otel/v1/traces"
BRAINTRUST_SPAN_TYPES = {
    # OpenAPI enum plus the SDK's additions.
    "llm", "score", "function", "eval", "task", "tool",
    "automation", "facet", "preprocessor", "classifier", "review", "decision", "question", "log", "scorer",
}
MAX_BODY = 20 * 1024 * 1024


# ----------------------------------------------------------------------------------------------
# OTLP decoding


def _any_value(value) -> Any:
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "string_value":
        return value.string_value
    if kind == "bool_value":
        return value.bool_value
    if kind == "int_value":
        return value.int_value
    if kind == "double_value":
        return value.double_value
    if kind == "bytes_value":
        return base64.b64encode(value.bytes_value).decode()
    if kind == "array_value":
        return [_any_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: _any_value(kv.value) for kv in value.kvlist_value.values}
    return None


def _attributes(kvs) -> dict[str, Any]:
    return {kv.key: _any_value(kv.value) for kv in kvs}


def _hex_ids_to_base64(node: Any) -> Any:
    """OTLP/JSON carries trace and span ids as hex; the protobuf JSON mapping wants base64."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key in ("traceId", "spanId", "parentSpanId", "trace_id", "span_id", "parent_span_id") and isinstance(value, str):
                try:
                    out[key] = base64.b64encode(bytes.fromhex(value)).decode() if value else ""
                except ValueError:
                    out[key] = value  # not hex: let ParseDict judge it
            else:
                out[key] = _hex_ids_to_base64(value)
        return out
    if isinstance(node, list):
        return [_hex_ids_to_base64(v) for v in node]
    return node


def decode_export_request(body: bytes, content_type: str) -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    if "application/x-protobuf" in content_type or "application/protobuf" in content_type:
        request.ParseFromString(body)
    elif "application/json" in content_type:
        json_format.ParseDict(_hex_ids_to_base64(json.loads(body)), request, ignore_unknown_fields=True)
    else:
        raise TypeError(content_type)
    return request


def flatten_spans(request: ExportTraceServiceRequest, path: str, received_at: float) -> list[dict]:
    spans = []
    for resource_spans in request.resource_spans:
        resource = _attributes(resource_spans.resource.attributes)
        for scope_spans in resource_spans.scope_spans:
            scope = scope_spans.scope.name
            for span in scope_spans.spans:
                spans.append({
                    "path": path,
                    "trace_id": span.trace_id.hex(),
                    "span_id": span.span_id.hex(),
                    "parent_span_id": span.parent_span_id.hex() or None,
                    "name": span.name,
                    "kind": int(span.kind),
                    "start_ns": int(span.start_time_unix_nano),
                    "end_ns": int(span.end_time_unix_nano),
                    "attributes": _attributes(span.attributes),
                    "resource": resource,
                    "scope": scope,
                    "status": {"code": int(span.status.code), "message": span.status.message},
                    "events": [
                        {"name": e.name, "time_ns": int(e.time_unix_nano), "attributes": _attributes(e.attributes)}
                        for e in span.events
                    ],
                    "received_at": received_at,
                })
    return spans


# ----------------------------------------------------------------------------------------------
# State


class State:
    def __init__(self, langfuse_public_key: str, langfuse_secret_key: str, braintrust_api_key: str, hang_seconds: float):
        self.langfuse_public_key = langfuse_public_key
        self.langfuse_secret_key = langfuse_secret_key
        self.braintrust_api_key = braintrust_api_key
        self.hang_seconds = hang_seconds
        self.lock = threading.Condition()
        self.resets = 0  # a hanging request released by a reset is answered 503, never processed
        with self.lock:
            self.reset_locked()

    def reset_locked(self) -> None:
        self.spans: list[dict] = []
        self.requests: list[dict] = []
        self.projects: dict[str, dict] = {}  # name -> project
        self.rows: list[dict] = []
        self.rejected: list[dict] = []
        self.modes: dict[str, dict] = {}
        self.resets += 1
        self.lock.notify_all()

    def mode_for(self, path: str) -> dict | None:
        if path.startswith("/_test/"):
            return None
        if path in self.modes:
            return self.modes[path]
        best = None
        for prefix, mode in self.modes.items():
            if path.startswith(prefix) and (best is None or len(prefix) > len(best[0])):
                best = (prefix, mode)
        return best[1] if best else None


class Handler(BaseHTTPRequestHandler):
    server_version = "fake-backends/1"
    protocol_version = "HTTP/1.1"

    @property
    def state(self) -> State:
        return self.server.state  # type: ignore[attr-defined]

    def log_message(self, format, *args):  # noqa: A002 - silence the default stderr access log
        if getattr(self.server, "verbose", False):
            super().log_message(format, *args)

    # -- plumbing ---------------------------------------------------------------------------

    def _send(self, status: int, body: bytes = b"", content_type: str = "application/json", headers: dict | None = None):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)
        self._status = status

    def _json(self, status: int, payload: Any, headers: dict | None = None):
        self._send(status, json.dumps(payload).encode(), "application/json", headers)

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        if length > MAX_BODY:
            raise OverflowError(length)
        return self.rfile.read(length) if length else b""

    def _decoded_body(self, raw: bytes) -> bytes:
        encoding = (self.headers.get("Content-Encoding") or "identity").lower().strip()
        if encoding in ("", "identity", "none"):
            return raw
        if encoding == "gzip":
            return gzip.decompress(raw)
        if encoding == "deflate":
            try:
                return zlib.decompress(raw)
            except zlib.error:
                return zlib.decompress(raw, -zlib.MAX_WBITS)  # raw deflate
        raise ValueError(f"unsupported Content-Encoding {encoding}")

    def _record(self, path: str, raw: bytes, extra: dict | None = None) -> dict:
        entry = {
            "method": self.command,
            "path": path,
            "query": urlsplit(self.path).query,
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "content_type": self.headers.get("Content-Type", ""),
            "content_encoding": self.headers.get("Content-Encoding", ""),
            "bytes": len(raw),
            "received_at": time.time(),
            "status": None,
            "span_count": 0,
        }
        if extra:
            entry.update(extra)
        with self.state.lock:
            self.state.requests.append(entry)
        return entry

    def _apply_mode(self, path: str) -> bool:
        """Applies a configured failure mode. Returns True when the request was answered."""
        with self.state.lock:
            mode = self.state.mode_for(path)
            if not mode or mode["mode"] == "ok":
                return False
            if mode["mode"] == "hang":
                resets = self.state.resets
                deadline = time.monotonic() + self.state.hang_seconds
                while True:
                    if self.state.resets != resets:
                        # Released by a reset: the request belongs to an earlier test; never record it.
                        mode = {"mode": "503"}
                        break
                    mode = self.state.mode_for(path)
                    if mode is None or mode["mode"] == "ok":
                        return False
                    if mode["mode"] != "hang":
                        break
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        mode = {"mode": "503"}
                        break
                    self.state.lock.wait(remaining)
        status = int(mode["mode"])
        headers = {"Retry-After": str(mode["retry_after"])} if mode.get("retry_after") is not None else None
        self._json(status, {"code": status, "message": f"fake-backends: configured mode {mode['mode']}"}, headers)
        return True

    # -- dispatch ---------------------------------------------------------------------------

    def do_GET(self):
        self._dispatch()

    def do_POST(self):
        self._dispatch()

    def do_DELETE(self):
        self._dispatch()

    def do_PUT(self):
        self._dispatch()

    def _dispatch(self):
        self._status = None
        parts = urlsplit(self.path)
        path = parts.path
        query = parse_qs(parts.query)
        try:
            raw = self._read_body() if self.command in ("POST", "PUT") else b""
        except OverflowError:
            self._json(413, {"error": "body too large"})
            return
        if path.startswith("/_test/"):
            self._test_route(path, query, raw)
            return
        entry = self._record(path, raw)
        try:
            if self._apply_mode(path):
                return
            if self.command == "POST" and path == LANGFUSE_PATH:
                self._langfuse(entry, raw)
            elif self.command == "POST" and path == BRAINTRUST_OTLP_PATH:
                self._braintrust_otlp(entry, raw)
            elif path == "/v1/project" or path.startswith("/v1/project_logs/") or path.startswith("/v1/project/"):
                self._braintrust_rest(entry, path, query, raw)
            elif self.command == "POST" and path.endswith("/v1/traces"):
                self._otlp(entry, raw, langfuse=False)
            else:
                self._json(404, {"error": f"no route for {self.command} {path}"})
        except (BrokenPipeError, ConnectionResetError):
            pass
        finally:
            with self.state.lock:
                entry["status"] = self._status

    # -- OTLP -------------------------------------------------------------------------------

    def _otlp(self, entry: dict, raw: bytes, langfuse: bool) -> None:
        content_type = (self.headers.get("Content-Type") or "").lower()
        is_json = "application/json" in content_type
        if not (is_json or "application/x-protobuf" in content_type or "application/protobuf" in content_type):
            if langfuse:
                self._json(400, {"error": "Invalid content type"})
            else:
                self._json(415, {"error": f"unsupported content type {content_type!r}"})
            return
        try:
            body = self._decoded_body(raw)
            request = decode_export_request(body, content_type)
        except Exception as error:  # noqa: BLE001 - any decoding failure is the client's 400
            self._json(400, {"error": f"cannot decode body: {type(error).__name__}: {error}"})
            return
        spans = flatten_spans(request, entry["path"], entry["received_at"])
        with self.state.lock:
            self.state.spans.extend(spans)
            entry["span_count"] = len(spans)
            entry["decoded"] = "json" if is_json else "protobuf"
        if langfuse:
            self._json(200, {})
        elif is_json:
            self._send(200, json_format.MessageToJson(ExportTraceServiceResponse()).encode(), "application/json")
        else:
            self._send(200, ExportTraceServiceResponse().SerializeToString(), "application/x-protobuf")

    def _langfuse(self, entry: dict, raw: bytes) -> None:
        expected = "Basic " + base64.b64encode(
            f"{self.state.langfuse_public_key}:{self.state.langfuse_secret_key}".encode()).decode()
        if (self.headers.get("Authorization") or "").strip() != expected:
            self._json(401, {"message": "Invalid credentials"})
            return
        version = self.headers.get("x-langfuse-ingestion-version") or self.headers.get("x_langfuse_ingestion_version")
        if version is not None:
            entry["langfuse_ingestion_version"] = version
            if not re.fullmatch(r"\d+", version.strip()) or int(version) > 4:
                self._json(400, {"error": f"invalid x-langfuse-ingestion-version {version!r}"})
                return
        self._otlp(entry, raw, langfuse=True)

    def _braintrust_otlp(self, entry: dict, raw: bytes) -> None:
        if not self._bearer_ok():
            self._json(401, {"error": "Invalid API key"})
            return
        parent = self.headers.get("x-bt-parent") or ""
        if not parent.startswith(("project_id:", "project_name:", "experiment_id:")):
            self._json(400, {"error": "missing or invalid x-bt-parent"})
            return
        self._otlp(entry, raw, langfuse=False)

    # -- Braintrust REST --------------------------------------------------------------------

    def _bearer_ok(self) -> bool:
        return (self.headers.get("Authorization") or "").strip() == f"Bearer {self.state.braintrust_api_key}"

    def _braintrust_rest(self, entry: dict, path: str, query: dict, raw: bytes) -> None:
        if not self._bearer_ok():
            self._json(401, {"error": "Invalid API key"})
            return
        try:
            body = json.loads(self._decoded_body(raw)) if raw else None
        except Exception as error:  # noqa: BLE001
            self._json(400, {"error": f"invalid JSON body: {error}"})
            return
        entry["json"] = body
        if path == "/v1/project" and self.command == "POST":
            name = body.get("name") if isinstance(body, dict) else None
            if not isinstance(name, str) or not name:
                self._json(400, {"error": "name must be a non-empty string"})
                return
            with self.state.lock:
                project = self.state.projects.get(name)
                created = project is None
                if created:
                    project = {
                        "id": str(uuid.uuid4()),
                        "name": name,
                        "org_id": "00000000-0000-4000-8000-00000000f00d",
                        "created": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
                        "description": body.get("description"),
                    }
                    self.state.projects[name] = project
                entry["project_created"] = created
            self._json(200, project)
        elif path == "/v1/project" and self.command == "GET":
            name = (query.get("project_name") or [None])[0]
            with self.state.lock:
                objects = [p for p in self.state.projects.values() if name is None or p["name"] == name]
            self._json(200, {"objects": objects})
        elif path.startswith("/v1/project/") and self.command == "GET":
            project_id = path.rsplit("/", 1)[-1]
            with self.state.lock:
                found = [p for p in self.state.projects.values() if p["id"] == project_id]
            self._json(200, found[0]) if found else self._json(404, {"error": "project not found"})
        elif re.fullmatch(r"/v1/project_logs/[^/]+/insert", path) and self.command == "POST":
            project_id = path.split("/")[3]
            with self.state.lock:
                known = any(p["id"] == project_id for p in self.state.projects.values())
            if not known:
                self._reject(entry, 404, f"project {project_id} not found", body)
                return
            problems = validate_braintrust_events(body)
            if problems:
                self._reject(entry, 400, "; ".join(problems[:10]), body)
                return
            row_ids = []
            with self.state.lock:
                for event in body["events"]:
                    row = dict(event)
                    row.setdefault("id", str(uuid.uuid4()))
                    row["_project_id"] = project_id
                    row["_received_at"] = entry["received_at"]
                    self.state.rows.append(row)
                    row_ids.append(row["id"])
            self._json(200, {"row_ids": row_ids})
        else:
            self._json(404, {"error": f"no Braintrust route for {self.command} {path}"})

    def _reject(self, entry: dict, status: int, message: str, body: Any) -> None:
        with self.state.lock:
            self.state.rejected.append({"path": entry["path"], "status": status, "error": message, "body": body})
        self._json(status, {"error": message})

    # -- test routes ------------------------------------------------------------------------

    def _test_route(self, path: str, query: dict, raw: bytes) -> None:
        def one(name):
            return (query.get(name) or [None])[0]

        state = self.state
        if path == "/_test/health":
            self._send(200, b"ok", "text/plain")
        elif path == "/_test/spans" and self.command == "GET":
            with state.lock:
                spans = [s for s in state.spans
                         if (one("path") is None or s["path"] == one("path"))
                         and (one("trace_id") is None or s["trace_id"] == one("trace_id"))]
            self._json(200, {"spans": spans})
        elif path == "/_test/requests" and self.command == "GET":
            with state.lock:
                requests = [r for r in state.requests if one("path") is None or r["path"] == one("path")]
            self._json(200, {"requests": requests})
        elif path == "/_test/braintrust" and self.command == "GET":
            with state.lock:
                payload = {"projects": list(state.projects.values()), "rows": list(state.rows),
                           "rejected": list(state.rejected)}
            self._json(200, payload)
        elif path == "/_test/mode" and self.command == "POST":
            try:
                body = json.loads(raw)
                target, mode = body["path"], str(body["mode"])
                if mode not in ("ok", "hang") and not re.fullmatch(r"[1-5]\d\d", mode):
                    raise ValueError(f"unknown mode {mode!r}")
            except (ValueError, KeyError, TypeError) as error:
                self._json(400, {"error": str(error)})
                return
            with state.lock:
                state.modes[target] = {"mode": mode, "retry_after": body.get("retry_after")}
                state.lock.notify_all()
            self._json(200, {"modes": state.modes})
        elif path == "/_test/reset" and self.command == "DELETE":
            with state.lock:
                state.reset_locked()
            self._json(200, {"reset": True})
        else:
            self._json(404, {"error": f"no test route {self.command} {path}"})


def validate_braintrust_events(body: Any) -> list[str]:
    """Checks an insert body the way the fake's contract says (spec §6d). Returns problems."""
    if not isinstance(body, dict) or not isinstance(body.get("events"), list):
        return ["body must be an object with an 'events' list"]
    problems = []
    for index, event in enumerate(body["events"]):
        where = f"events[{index}]"
        if not isinstance(event, dict):
            problems.append(f"{where} is not an object")
            continue
        attrs = event.get("span_attributes")
        if attrs is not None:
            if not isinstance(attrs, dict):
                problems.append(f"{where}.span_attributes is not an object")
            elif attrs.get("type") is not None and attrs.get("type") not in BRAINTRUST_SPAN_TYPES:
                problems.append(f"{where}.span_attributes.type {attrs.get('type')!r} is not a Braintrust span type")
        metrics = event.get("metrics")
        if metrics is not None:
            if not isinstance(metrics, dict):
                problems.append(f"{where}.metrics is not an object")
            else:
                for key, value in metrics.items():
                    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
                        problems.append(f"{where}.metrics.{key} is not a number")
                start, end = metrics.get("start"), metrics.get("end")
                if isinstance(start, (int, float)) and isinstance(end, (int, float)) and start > end:
                    problems.append(f"{where}.metrics.start > end")
                for key in ("start", "end"):
                    value = metrics.get(key)
                    if isinstance(value, (int, float)) and not (1e9 < value < 1e10):
                        problems.append(f"{where}.metrics.{key}={value} is not Unix time in seconds")
        parents = event.get("span_parents")
        if parents is not None and (not isinstance(parents, list) or not all(isinstance(p, str) for p in parents)):
            problems.append(f"{where}.span_parents is not a list of strings")
        if event.get("span_id") is not None and not event.get("root_span_id"):
            problems.append(f"{where} has span_id but no root_span_id")
    return problems


# ----------------------------------------------------------------------------------------------


class FakeBackends:
    """The server, runnable in-process (``start()``/``stop()``) or via ``main()``."""

    def __init__(self, port: int = 0, host: str = "127.0.0.1", langfuse_public_key: str = "pk-lf-test",
                 langfuse_secret_key: str = "sk-lf-test", braintrust_api_key: str = "sk-bt-test",
                 hang_seconds: float = 60.0, verbose: bool = False):
        self.httpd = ThreadingHTTPServer((host, port), Handler)
        self.httpd.daemon_threads = True
        self.httpd.state = State(langfuse_public_key, langfuse_secret_key, braintrust_api_key, hang_seconds)  # type: ignore[attr-defined]
        self.httpd.verbose = verbose  # type: ignore[attr-defined]
        self.thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self.httpd.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "FakeBackends":
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="fake-backends", daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        state = self.httpd.state  # type: ignore[attr-defined]
        with state.lock:
            state.reset_locked()  # releases hanging requests
        self.httpd.shutdown()
        self.httpd.server_close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--langfuse-public-key", default="pk-lf-test")
    parser.add_argument("--langfuse-secret-key", default="sk-lf-test")
    parser.add_argument("--braintrust-api-key", default="sk-bt-test")
    parser.add_argument("--hang-seconds", type=float, default=60.0)
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    fake = FakeBackends(args.port, args.host, args.langfuse_public_key, args.langfuse_secret_key,
                        args.braintrust_api_key, args.hang_seconds, args.verbose)
    print(f"fake-backends listening on {args.host}:{fake.port}", flush=True)
    try:
        fake.httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        fake.httpd.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
