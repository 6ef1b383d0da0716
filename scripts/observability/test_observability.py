"""External observability tests for Keel: traces, Braintrust rows and Prometheus metrics, checked
against real backends (Arize Phoenix, the rotel OTLP collector) and a recording fake for Langfuse,
Braintrust and generic OTLP (fake_backends.py).

Run through scripts/observability-test. The `test_harness_*` tests check the stand-ins themselves
with the OpenTelemetry Python SDK, so a failure there is a harness problem, not a server one.

Oracle: the span tree a turn should produce is derived from the server's own event log
(reason.started -> `reason` + `chat` per llm.generation, act.started -> `act`, tool.started ->
`execute_tool`), and token counts from `turn.completed`'s usage.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import statistics
import subprocess
import time
from collections import Counter

import pytest
from conftest import (
    BRAINTRUST_API_KEY,
    BRAINTRUST_PROJECT,
    GENERIC_PATH,
    LANGFUSE_PATH,
    LANGFUSE_PUBLIC_KEY,
    LANGFUSE_SECRET_KEY,
    Fake,
    Turn,
    braintrust_env,
    generic_http_env,
    http,
    langfuse_env,
    note,
    wait_until,
)

TOOL_TURN = 'What is 2 + 3? [[tool:add {"a":2,"b":3}]]'
CONTENT_KEYS = ("gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.system_instructions",
                "gen_ai.tool.call.arguments", "gen_ai.tool.call.result", "input.value", "output.value")
EXPECTED_OPENINFERENCE_KIND = {"invoke_agent": "AGENT", "reason": "CHAIN", "act": "CHAIN", "thinking": "CHAIN",
                               "chat": "LLM", "execute_tool": "TOOL"}
STATUS_ERROR = 2


# ----------------------------------------------------------------------------------------------
# trace helpers


def category(span_name: str) -> str:
    return span_name.split(" ", 1)[0]


def describe(spans: list[dict]) -> str:
    return "\n".join(f"  {s['span_id']} parent={s.get('parent_span_id')} {s['name']!r}" for s in spans)


def wait_trace(fake: Fake, path: str, turn: Turn, timeout: float = 10.0) -> list[dict]:
    """Polls the fake until `path` has the turn's whole trace (as many spans as the event log
    implies). The trace is found through the span carrying `turn.id`. Returns that trace's spans."""
    expected = turn.expected_span_count()
    state: dict = {}

    def complete():
        spans = fake.spans(path=path)
        tagged = [s for s in spans if s["attributes"].get("turn.id") == turn.turn_id]
        state["seen"] = len(spans)
        if not tagged:
            return None
        trace_id = tagged[0]["trace_id"]
        trace = [s for s in spans if s["trace_id"] == trace_id]
        state["trace"] = trace
        return trace if len({s["span_id"] for s in trace}) >= expected else None

    try:
        return wait_until(complete, timeout, interval=0.05, what=f"trace of {turn.turn_id} at {path}")
    except AssertionError:
        trace = state.get("trace")
        raise AssertionError(
            f"{path}: expected {expected} spans for turn {turn.turn_id} ({turn.expected_span_names()}) within "
            f"{timeout}s; got {len(trace) if trace else 0} in its trace ({state.get('seen', 0)} spans at that path "
            f"in total)" + (f":\n{describe(trace)}" if trace else "")) from None


def check_tree(spans: list[dict], turn: Turn, where: str) -> dict[str, dict]:
    """Asserts the span tree of one turn. Returns spans by id."""
    ids = [s["span_id"] for s in spans]
    duplicates = [i for i, n in Counter(ids).items() if n > 1]
    assert not duplicates, f"{where}: spans delivered more than once: {duplicates}\n{describe(spans)}"
    by_id = {s["span_id"]: s for s in spans}
    assert len({s["trace_id"] for s in spans}) == 1, f"{where}: several trace ids"

    names = Counter(category(s["name"]) for s in spans)
    expected = {k: v for k, v in turn.expected_span_names().items() if v}
    got = {k: names.get(k, 0) for k in expected}
    assert got == expected, f"{where}: span counts by name {dict(names)} != expected {expected}\n{describe(spans)}"

    roots = [s for s in spans if not s.get("parent_span_id")]
    assert len(roots) == 1, f"{where}: expected exactly one root span, got {len(roots)}\n{describe(spans)}"
    root = roots[0]
    assert root["name"].startswith("invoke_agent"), f"{where}: root is {root['name']!r}, not invoke_agent …"
    for s in spans:
        parent = s.get("parent_span_id")
        assert parent is None or parent in by_id, f"{where}: {s['name']} has a parent {parent} not in the trace"
        assert s["start_ns"] > 0 and s["end_ns"] >= s["start_ns"], f"{where}: {s['name']} has bad times {s}"

    def parent_category(s):
        return category(by_id[s["parent_span_id"]]["name"]) if s.get("parent_span_id") else None

    for s in spans:
        c = category(s["name"])
        if c in ("reason", "act"):
            assert s["parent_span_id"] == root["span_id"], f"{where}: {s['name']} is not a child of the root"
        elif c == "chat":
            assert parent_category(s) == "reason", f"{where}: {s['name']} parent is {parent_category(s)}, not reason"
        elif c == "execute_tool":
            assert parent_category(s) == "act", f"{where}: {s['name']} parent is {parent_category(s)}, not act"
        elif c == "thinking":
            assert parent_category(s) == "reason", f"{where}: thinking parent is {parent_category(s)}"
    return by_id


def check_attributes(spans: list[dict], turn: Turn, where: str) -> None:
    root = next(s for s in spans if not s.get("parent_span_id"))
    attrs = root["attributes"]
    assert attrs.get("gen_ai.operation.name") == "invoke_agent", f"{where}: root attributes {attrs}"
    assert attrs.get("gen_ai.conversation.id") == turn.session_id, f"{where}: root gen_ai.conversation.id {attrs}"
    assert attrs.get("turn.id") == turn.turn_id, f"{where}: root turn.id"
    assert attrs.get("langfuse.session.id") == turn.session_id, f"{where}: root langfuse.session.id {attrs}"
    for s in spans:
        c = category(s["name"])
        op = s["attributes"].get("gen_ai.operation.name")
        assert op == c, f"{where}: {s['name']} has gen_ai.operation.name={op!r}"
        kind = s["attributes"].get("openinference.span.kind")
        assert kind == EXPECTED_OPENINFERENCE_KIND[c], f"{where}: {s['name']} openinference.span.kind={kind!r}"
        if c == "execute_tool":
            assert s["attributes"].get("gen_ai.tool.name") == s["name"].split(" ", 1)[1], f"{where}: {s}"
    # Token counts: the chat spans add up to the turn's usage from turn.completed.
    completed = turn.event("turn.completed")
    if completed and completed["data"].get("usage"):
        usage = completed["data"]["usage"]
        chats = [s for s in spans if category(s["name"]) == "chat"]
        for key, usage_key in (("gen_ai.usage.input_tokens", "input_tokens"), ("gen_ai.usage.output_tokens", "output_tokens")):
            values = [s["attributes"].get(key) for s in chats]
            assert all(isinstance(v, int) for v in values), f"{where}: chat spans' {key} = {values}"
            assert sum(values) == usage[usage_key], f"{where}: sum of chat {key} {values} != turn usage {usage}"


def shape(spans: list[dict]) -> set[tuple]:
    return {(s["span_id"], s.get("parent_span_id"), s["name"]) for s in spans}


def all_strings(value) -> list[str]:
    """Every string inside a JSON-like value (keys and values)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [x for k, v in value.items() for x in [str(k), *all_strings(v)]]
    if isinstance(value, list):
        return [x for v in value for x in all_strings(v)]
    return [str(value)] if value is not None else []


def turn_rows(rows: list[dict], turn: Turn, expected: int) -> list[dict] | None:
    """The rows of one turn: those sharing root_span_id with a row tagged with the turn (its
    metadata.turn_id, or root_span_id equal to the turn id)."""
    tagged = {r.get("root_span_id") for r in rows
              if r.get("root_span_id") == turn.turn_id or (r.get("metadata") or {}).get("turn_id") == turn.turn_id}
    found = [r for r in rows if r.get("root_span_id") in tagged]
    return found if len({r.get("span_id") for r in found}) >= expected else None


def braintrust_rows(fake: Fake, turn: Turn, expected: int, timeout: float = 10.0) -> list[dict]:
    def rows():
        return turn_rows(fake.braintrust()["rows"], turn, expected)

    try:
        return wait_until(rows, timeout, interval=0.1, what="Braintrust rows")
    except AssertionError:
        state = fake.braintrust()
        raise AssertionError(f"expected {expected} Braintrust rows for turn {turn.turn_id} (metadata.turn_id or "
                             f"root_span_id); fake has "
                             f"{len(state['rows'])} rows (root_span_ids "
                             f"{sorted({str(r.get('root_span_id')) for r in state['rows']})}), "
                             f"rejected: {state['rejected'][:3]}, requests: "
                             f"{[(r['method'], r['path'], r['status']) for r in fake.requests() if 'project' in r['path']]}"
                             ) from None


def fake_only_env(fake: Fake, **extra) -> dict:
    """Langfuse + generic OTLP/HTTP (to /generic/v1/traces) + Braintrust, all at the fake."""
    env = {"OTEL_TARGETS": "LANGFUSE,GENERIC", **langfuse_env(fake), **generic_http_env(f"{fake.url}/generic"),
           **braintrust_env(fake)}
    env.update(extra)
    return env


# ----------------------------------------------------------------------------------------------
# harness self-checks (Python OTel SDK -> stand-ins)


def _sdk_provider(*exporters):
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": "harness-selfcheck"}))
    for exporter in exporters:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider


def _emit_sample_trace(provider) -> str:
    tracer = provider.get_tracer("harness")
    with tracer.start_as_current_span("invoke_agent selfcheck", attributes={
            "gen_ai.operation.name": "invoke_agent", "gen_ai.conversation.id": "session_selfcheck"}) as root:
        trace_id = format(root.get_span_context().trace_id, "032x")
        with tracer.start_as_current_span("reason", attributes={"gen_ai.operation.name": "reason",
                                                               "openinference.span.kind": "CHAIN"}):
            with tracer.start_as_current_span("chat sim", attributes={
                    "gen_ai.operation.name": "chat", "gen_ai.provider.name": "llmsim", "gen_ai.request.model": "sim",
                    "gen_ai.usage.input_tokens": 34, "gen_ai.usage.output_tokens": 4}):
                pass
        with tracer.start_as_current_span("act", attributes={"gen_ai.operation.name": "act",
                                                            "openinference.span.kind": "CHAIN"}):
            with tracer.start_as_current_span("execute_tool add", attributes={
                    "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "add"}):
                pass
    provider.shutdown()
    return trace_id


def test_harness_fake_decodes_sdk_exports_and_enforces_auth(fake):
    from opentelemetry.exporter.otlp.proto.http import Compression
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    good = "Basic " + base64.b64encode(f"{LANGFUSE_PUBLIC_KEY}:{LANGFUSE_SECRET_KEY}".encode()).decode()
    provider = _sdk_provider(
        OTLPSpanExporter(endpoint=f"{fake.url}/v1/traces", compression=Compression.Gzip),
        OTLPSpanExporter(endpoint=f"{fake.url}{LANGFUSE_PATH}", compression=Compression.Deflate,
                         headers={"Authorization": good, "x-langfuse-ingestion-version": "4"}),
        OTLPSpanExporter(endpoint=f"{fake.url}{LANGFUSE_PATH}", headers={"Authorization": "Basic d3Jvbmc6d3Jvbmc="}),
    )
    trace_id = _emit_sample_trace(provider)
    for path in ("/v1/traces", LANGFUSE_PATH):
        spans = fake.spans(path=path, trace_id=trace_id)
        assert sorted(s["name"] for s in spans) == sorted(
            ["invoke_agent selfcheck", "reason", "chat sim", "act", "execute_tool add"]), path
        chat = next(s for s in spans if s["name"] == "chat sim")
        assert chat["attributes"]["gen_ai.usage.input_tokens"] == 34
        assert chat["resource"]["service.name"] == "harness-selfcheck"
    statuses = Counter((r["path"], r["status"]) for r in fake.requests())
    assert statuses[("/v1/traces", 200)] == 5 and statuses[(LANGFUSE_PATH, 200)] == 5
    assert statuses[(LANGFUSE_PATH, 401)] == 5, statuses
    encodings = {r["content_encoding"] for r in fake.requests(path="/v1/traces")}
    assert encodings == {"gzip"}
    assert {r.get("langfuse_ingestion_version") for r in fake.requests(LANGFUSE_PATH) if r["status"] == 200} == {"4"}

    # OTLP/JSON with hex ids decodes too.
    body = {"resourceSpans": [{"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "j"}}]},
                               "scopeSpans": [{"spans": [{"traceId": "0af7651916cd43dd8448eb211c80319c",
                                                          "spanId": "b7ad6b7169203331", "name": "json-span",
                                                          "kind": 1, "startTimeUnixNano": "1", "endTimeUnixNano": "2",
                                                          "attributes": [{"key": "n", "value": {"intValue": "7"}}]}]}]}]}
    status, _, _ = http("POST", f"{fake.url}/v1/traces", body)
    assert status == 200
    span = fake.spans(trace_id="0af7651916cd43dd8448eb211c80319c")[0]
    assert span["span_id"] == "b7ad6b7169203331" and span["attributes"]["n"] == 7

    # Braintrust REST: create-or-get is idempotent, bad key is 401, inserts are validated.
    bearer = {"Authorization": f"Bearer {BRAINTRUST_API_KEY}"}
    first = http("POST", f"{fake.url}/v1/project", {"name": "p"}, bearer)[2]
    again = http("POST", f"{fake.url}/v1/project", {"name": "p"}, bearer)[2]
    assert first["id"] == again["id"]
    assert http("POST", f"{fake.url}/v1/project", {"name": "p"}, {"Authorization": "Bearer nope"})[0] == 401
    ok = http("POST", f"{fake.url}/v1/project_logs/{first['id']}/insert",
              {"events": [{"id": "r1", "span_id": "s1", "root_span_id": "s1",
                           "span_attributes": {"type": "task", "name": "t"}, "metrics": {"start": 1.7e9, "end": 1.7e9 + 1}}]},
              bearer)
    assert ok[0] == 200 and ok[2] == {"row_ids": ["r1"]}
    bad = http("POST", f"{fake.url}/v1/project_logs/{first['id']}/insert",
               {"events": [{"span_id": "s2", "span_attributes": {"type": "bogus"}}]}, bearer)
    assert bad[0] == 400
    assert http("POST", f"{fake.url}/v1/project_logs/unknown/insert", {"events": []}, bearer)[0] == 404

    # Failure modes: 503 answers, hang holds the request until the mode changes.
    fake.mode("/v1/traces", "503")
    assert http("POST", f"{fake.url}/v1/traces", body)[0] == 503
    fake.mode("/v1/traces", "hang")
    started = time.monotonic()
    with pytest.raises(Exception):
        http("POST", f"{fake.url}/v1/traces", body, timeout=0.5)
    assert time.monotonic() - started >= 0.45
    fake.mode("/v1/traces", "ok")
    assert http("POST", f"{fake.url}/v1/traces", body)[0] == 200


def test_harness_rotel_forwards_sdk_spans_over_grpc_and_http(fake, rotel):
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter

    for exporter in (GrpcExporter(endpoint=rotel.grpc_url, insecure=True),
                     HttpExporter(endpoint=f"{rotel.http_url}/v1/traces")):
        trace_id = _emit_sample_trace(_sdk_provider(exporter))
        spans = wait_until(lambda: len(found := fake.spans(path=GENERIC_PATH, trace_id=trace_id)) >= 5 and found,
                           10, what=f"rotel forwarding ({type(exporter).__module__})")
        assert len(spans) == 5
    agents = {r["headers"].get("user-agent", "") for r in fake.requests(GENERIC_PATH)}
    assert any("Rotel" in a for a in agents), agents


# ----------------------------------------------------------------------------------------------
# (7) Prometheus metrics


def test_metrics_endpoint_absent_by_default(keel):
    server = keel({})
    status, _, _ = http("GET", server.url + "/metrics", raw=True)
    assert status == 404, f"/metrics without ENABLE_PROMETHEUS_METRICS answered {status}, expected 404"


def _promtool_problems(text: str) -> tuple[int, str]:
    promtool = shutil.which("promtool")
    if promtool is None:
        if os.environ.get("CI"):
            pytest.fail("promtool not found and CI is set: install Debian's `prometheus` package")
        note("SKIP promtool check: promtool not found (install Debian's `prometheus` package)")
        pytest.skip("promtool not found (install Debian's `prometheus` package); CI unset")
    result = subprocess.run([promtool, "check", "metrics"], input=text.encode(), capture_output=True, timeout=30)
    return result.returncode, (result.stdout + result.stderr).decode(errors="replace")


def test_prometheus_metrics(keel):
    server = keel({"ENABLE_PROMETHEUS_METRICS": "true"})
    session = server.new_session()
    server.run_turn(session, TOOL_TURN)
    server.run_turn(session, "this one fails [[error]]")
    status, headers, raw = http("GET", server.url + "/metrics", raw=True)
    assert status == 200, f"/metrics answered {status}: {raw[:300]!r}"
    content_type = {k.lower(): v for k, v in headers.items()}.get("content-type", "")
    assert content_type.startswith("text/plain"), content_type
    text = raw.decode()

    rc, output = _promtool_problems(text)
    assert rc != 1, f"promtool could not parse /metrics (exit 1):\n{output}\n--- first lines ---\n{text[:1500]}"
    if os.environ.get("OBS_PROMTOOL_STRICT") == "1":
        assert rc == 0, f"promtool lint problems (exit {rc}):\n{output}"
    else:
        problems = [line for line in output.splitlines() if line.strip() and "no help text" not in line]
        assert rc == 0 or not problems, f"promtool lint problems (exit {rc}):\n{output}"

    families = set(re.findall(r"^# TYPE (\S+) ", text, re.M))
    for family in ("keel_turns_total", "keel_turn_duration_seconds", "keel_llm_calls_total",
                   "keel_tool_calls_total", "keel_http_requests_total", "keel_http_request_duration_seconds"):
        bare = family.removesuffix("_total")
        assert family in families or bare in families, f"{family} missing; families: {sorted(families)}"

    def total(name: str, **labels) -> float:
        value = 0.0
        for line in text.splitlines():
            match = re.match(rf"^{name}(\{{[^}}]*\}})?\s+(\S+)", line)
            if match and all(f'{k}="{v}"' in (match.group(1) or "") for k, v in labels.items()):
                value += float(match.group(2))
        return value

    assert total("keel_turns_total") >= 2, "keel_turns_total should count both turns"
    assert total("keel_tool_calls_total") >= 1
    assert total("keel_llm_calls_total") >= 3  # two for the tool turn, one failed
    # Routes are templates, never raw ids (cardinality).
    assert not re.search(r"(session|agent|message)_[0-9a-f]{32}", text), "raw ids in metric labels"


# ----------------------------------------------------------------------------------------------
# (4) content capture


CONTENT_MODES = {
    "default-off": {},
    "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": {"OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "true"},
    "OTEL_RECORD_CONTENT": {"OTEL_RECORD_CONTENT": "true"},
}


@pytest.mark.parametrize("mode", list(CONTENT_MODES))
def test_content_capture(keel, fake, mode):
    capture = mode != "default-off"
    server = keel(fake_only_env(fake, **CONTENT_MODES[mode]))
    session = server.new_session("SYSPROMPT-MARKER-5521 answer briefly")
    turn = server.run_turn(session, 'USERTEXT-MARKER-7734 please add [[tool:add {"a":2,"b":3}]]')
    spans = wait_trace(fake, "/generic/v1/traces", turn)
    check_tree(spans, turn, "generic")
    markers = ("USERTEXT-MARKER-7734", "SYSPROMPT-MARKER-5521", "Tool results:")
    if not capture:
        for s in spans:
            present = [k for k in CONTENT_KEYS if k in s["attributes"]]
            assert not present, f"content attributes {present} on {s['name']} with capture off"
            leaked = [(k, v) for k, v in {**s["attributes"], **s["resource"]}.items()
                      if any(m in str(v) for m in markers)]
            assert not leaked, f"message text in attributes of {s['name']} with capture off: {leaked}"
        rows = braintrust_rows(fake, turn, turn.expected_span_count())
        leaked_rows = [r["span_attributes"] for r in rows if any(m in x for x in all_strings(r) for m in markers)]
        assert not leaked_rows, f"message text in Braintrust rows with content off by default: {leaked_rows}"
        return
    chats = sorted((s for s in spans if category(s["name"]) == "chat"), key=lambda s: s["start_ns"])
    for chat in chats:
        for key in ("gen_ai.input.messages", "gen_ai.output.messages"):
            assert key in chat["attributes"], f"{key} missing on {chat['name']} with {mode}=true"
            json.loads(chat["attributes"][key]) if isinstance(chat["attributes"][key], str) else None
    assert "USERTEXT-MARKER-7734" in str(chats[0]["attributes"]["gen_ai.input.messages"])
    assert "Tool results:" in str(chats[-1]["attributes"]["gen_ai.output.messages"])
    tool = next(s for s in spans if category(s["name"]) == "execute_tool")
    arguments = tool["attributes"].get("gen_ai.tool.call.arguments")
    result = tool["attributes"].get("gen_ai.tool.call.result")
    assert arguments is not None and result is not None, f"tool content missing: {tool['attributes']}"
    parsed = json.loads(arguments) if isinstance(arguments, str) else arguments
    assert parsed == {"a": 2, "b": 3}, arguments
    assert "5" in str(result), result


# ----------------------------------------------------------------------------------------------
# (5) run metadata


def collision_warnings(log: str) -> list[str]:
    """Warning lines about request metadata colliding with runtime keys (other warnings, e.g. a
    failed LLM call, also carry session_id=... and must not count)."""
    return [line for line in log.splitlines()
            if re.search(r"\bwarn", line, re.I) and re.search(r"metadata|collid|collision", line, re.I)]


def test_metadata_on_spans_and_runtime_keys_win(keel, fake):
    server = keel(fake_only_env(fake))
    session = server.new_session()
    plain = server.run_turn(session, "hello", metadata={"tenant": "acme", "priority": 3, "beta": True})
    spans = wait_trace(fake, LANGFUSE_PATH, plain)
    check_tree(spans, plain, "langfuse")
    for s in spans:
        attrs = s["attributes"]
        assert attrs.get("langfuse.trace.metadata.tenant") == "acme", \
            f"langfuse.trace.metadata.tenant missing/wrong on {s['name']}: " \
            f"{ {k: v for k, v in attrs.items() if k.startswith('langfuse')} }"
    root_attrs = next(s for s in spans if not s.get("parent_span_id"))["attributes"]
    assert root_attrs.get("langfuse.trace.metadata.priority") in (3, 3.0, "3"), root_attrs
    assert root_attrs.get("langfuse.trace.metadata.beta") in (True, "true"), root_attrs
    assert not collision_warnings(server.log()), \
        f"collision warning logged for metadata without runtime keys: {collision_warnings(server.log())}"

    spoof = server.run_turn(session, "again", metadata={"tenant": "acme", "session_id": "spoofed-session-id"})
    spans = wait_trace(fake, LANGFUSE_PATH, spoof)
    for s in spans:
        value = s["attributes"].get("langfuse.trace.metadata.session_id")
        assert value != "spoofed-session-id", f"user metadata overrode the runtime session_id on {s['name']}"
    root_attrs = next(s for s in spans if not s.get("parent_span_id"))["attributes"]
    assert root_attrs.get("langfuse.trace.metadata.session_id") == session, \
        f"runtime session_id expected in langfuse.trace.metadata.session_id, got " \
        f"{root_attrs.get('langfuse.trace.metadata.session_id')!r}"
    assert root_attrs.get("langfuse.session.id") == session
    warnings = [line for line in collision_warnings(server.log()) if "session_id" in line]
    assert warnings, "no warning in the server log about the colliding metadata key session_id"


def test_traceparent_joins_the_callers_trace(keel, fake):
    """W3C trace context crosses the execution boundary: the HTTP request's traceparent reaches the
    turn (through the stored input.message) and the whole turn's trace becomes its child."""
    server = keel(fake_only_env(fake))
    session = server.new_session()
    trace_id, parent_id = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
    turn = server.run_turn(session, "traced", headers={"traceparent": f"00-{trace_id}-{parent_id}-01"})

    def arrived():
        spans = [s for s in fake.spans(path=LANGFUSE_PATH) if s["trace_id"] == trace_id]
        return spans if len(spans) >= turn.expected_span_count() else None

    spans = wait_until(arrived, timeout=10, what="spans in the caller's trace")
    roots = [s for s in spans if s.get("parent_span_id") == parent_id]
    assert len(roots) == 1 and roots[0]["name"].startswith("invoke_agent"), describe(spans)
    assert roots[0]["attributes"].get("turn.id") == turn.turn_id

    plain = server.run_turn(session, "untraced")
    other = wait_trace(fake, LANGFUSE_PATH, plain)
    assert {s["trace_id"] for s in other} != {trace_id}, "a turn without traceparent must get its own trace"


# ----------------------------------------------------------------------------------------------
# (6) failed turn


def test_failed_llm_turn_marks_root_error(keel, fake):
    server = keel(fake_only_env(fake))
    session = server.new_session()
    turn = server.run_turn(session, "please fail [[error]]")
    assert turn.count("turn.failed") == 1, "the sim model should fail this turn"
    spans = wait_trace(fake, LANGFUSE_PATH, turn)
    check_tree(spans, turn, "langfuse")
    root = next(s for s in spans if not s.get("parent_span_id"))
    assert root["status"]["code"] == STATUS_ERROR, f"root status {root['status']}, expected ERROR"
    assert root["attributes"].get("error.type"), f"root has no error.type: {root['attributes']}"
    chat = next(s for s in spans if category(s["name"]) == "chat")
    assert chat["status"]["code"] == STATUS_ERROR, f"failed chat span status {chat['status']}, expected ERROR"
    assert chat["attributes"].get("error.type"), f"failed chat span has no error.type: {chat['attributes']}"
    rows = braintrust_rows(fake, turn, len(spans))
    root_row = next(r for r in rows if not r.get("span_parents"))
    assert root_row.get("error"), f"Braintrust root row has no error: {root_row}"


# ----------------------------------------------------------------------------------------------
# (8) secrets


def test_secrets_never_leak(keel, fake):
    env = fake_only_env(fake, OTEL_TARGETS="LANGFUSE,PHOENIX,GENERIC",
                        PHOENIX_COLLECTOR_ENDPOINT=f"{fake.url}/phoenix/v1/traces",
                        OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT="true",
                        ENABLE_PROMETHEUS_METRICS="true", LOG_LEVEL="debug")
    server = keel(env)
    session = server.new_session()
    turns = [server.run_turn(session, TOOL_TURN), server.run_turn(session, "boom [[error]]")]
    for turn in turns:
        for path in (LANGFUSE_PATH, "/generic/v1/traces", "/phoenix/v1/traces"):
            wait_trace(fake, path, turn)
        braintrust_rows(fake, turn, turn.expected_span_count())
    secrets = {"LANGFUSE_SECRET_KEY": LANGFUSE_SECRET_KEY, "BRAINTRUST_API_KEY": BRAINTRUST_API_KEY,
               "Langfuse Basic credential": base64.b64encode(f"{LANGFUSE_PUBLIC_KEY}:{LANGFUSE_SECRET_KEY}".encode()).decode()}
    places = {
        "span attributes": json.dumps([{"a": s["attributes"], "r": s["resource"], "e": s["events"],
                                        "st": s["status"]} for s in fake.spans()]),
        "Braintrust rows": json.dumps(fake.braintrust()["rows"]),
        "Braintrust project requests": json.dumps([r.get("json") for r in fake.requests() if r.get("json")]),
        "server log": server.log(),
        "/metrics": http("GET", server.url + "/metrics", raw=True)[2].decode(errors="replace"),
        "session events": json.dumps(server.events(session)),
    }
    for place, text in places.items():
        for name, secret in secrets.items():
            assert secret not in text, f"{name} value appears in {place}"
    # Sanity: the secrets were really in use (the fake checked them).
    assert any(r["status"] == 200 for r in fake.requests(LANGFUSE_PATH))
    assert any(r["path"] == "/v1/project" and r["status"] == 200 for r in fake.requests())


# ----------------------------------------------------------------------------------------------
# (2) generic OTLP/HTTP protobuf, to rotel and straight to the fake


def test_generic_otlp_http_protobuf_via_rotel(keel, fake, rotel):
    server = keel({"OTEL_TARGETS": "GENERIC", **generic_http_env(rotel.http_url)})
    session = server.new_session()
    turn = server.run_turn(session, TOOL_TURN)
    spans = wait_trace(fake, GENERIC_PATH, turn)
    check_tree(spans, turn, "rotel(http)->fake")
    check_attributes(spans, turn, "rotel(http)->fake")
    services = {s["resource"].get("service.name") for s in spans}
    assert all(services), f"spans without a service.name resource attribute: {spans[0]['resource']}"
    if services != {"keel-obs-test"}:
        note(f"NOTE: OTEL_SERVICE_NAME=keel-obs-test not honoured; service.name = {services}")
    assert rotel.proc.alive()
    problems = [line for line in rotel.proc.log().splitlines()
                if re.search(r"error|warn", line, re.I) and re.search(r"decod|invalid|pars", line, re.I)]
    assert not problems, "rotel reported problems with what it received:\n" + "\n".join(problems[-10:])


def test_generic_otlp_http_appends_v1_traces(keel, fake):
    server = keel({"OTEL_TARGETS": "GENERIC", **generic_http_env(f"{fake.url}/base")})
    session = server.new_session()
    turn = server.run_turn(session, TOOL_TURN)
    spans = wait_trace(fake, "/base/v1/traces", turn)
    check_tree(spans, turn, "generic(http)")
    requests = [r for r in fake.requests("/base/v1/traces") if r["span_count"]]
    assert requests and all(r["content_type"].startswith("application/x-protobuf") for r in requests), \
        [r["content_type"] for r in requests]
    assert all(r["status"] == 200 for r in requests)


# ----------------------------------------------------------------------------------------------
# (3) a failing and a hanging target do not slow turns or the healthy target


FAULT_ENV_TARGETS = "LANGFUSE,PHOENIX,GENERIC"


def _fault_env(fake: Fake) -> dict:
    return fake_only_env(fake, OTEL_TARGETS=FAULT_ENV_TARGETS,
                         PHOENIX_COLLECTOR_ENDPOINT=f"{fake.url}/phoenix/v1/traces")


def test_failing_and_hanging_targets_do_not_block(keel, fake):
    # Baseline: every target healthy.
    baseline_server = keel(_fault_env(fake), name="baseline")
    session = baseline_server.new_session()
    baseline = [baseline_server.run_turn(session, TOOL_TURN) for _ in range(3)]
    for turn in baseline:
        wait_trace(fake, "/phoenix/v1/traces", turn)
    baseline_latency = statistics.median(t.latency for t in baseline)
    baseline_server.proc.stop()
    fake.reset()

    # Langfuse hangs, the generic target answers 503, Braintrust inserts hang; Phoenix (fake) is healthy.
    fake.mode(LANGFUSE_PATH, "hang")
    fake.mode("/generic/v1/traces", "503")
    fake.mode("/v1/project_logs/", "hang")
    server = keel(_fault_env(fake), name="faulty")
    session = server.new_session()
    turns, delivery = [], []
    for _ in range(3):
        turn = server.run_turn(session, TOOL_TURN)
        turns.append(turn)
        idled_at = time.monotonic()
        spans = wait_trace(fake, "/phoenix/v1/traces", turn, timeout=5)
        delivery.append(time.monotonic() - idled_at)
        check_tree(spans, turn, "healthy phoenix target")
    latencies = [t.latency for t in turns]
    note(f"turn latency: baseline median {baseline_latency * 1000:.0f} ms; with faulty targets "
          f"{[round(x * 1000) for x in latencies]} ms; healthy-target delivery {[round(x * 1000) for x in delivery]} ms")
    assert max(latencies) < baseline_latency + 1.0, \
        f"turn latency with a hanging and a 503 target {latencies} vs baseline {baseline_latency:.3f}s"
    assert max(delivery) < 3.0, f"healthy target got traces only after {delivery}s"
    assert fake.requests(LANGFUSE_PATH), "the hanging Langfuse target was never contacted"
    assert fake.requests("/generic/v1/traces"), "the 503 generic target was never contacted"
    assert all(r["status"] in (503, None) for r in fake.requests("/generic/v1/traces"))

    # The server stays responsive and shuts down in bounded time while a target still hangs.
    assert http("GET", server.url + "/health")[0] == 200
    seconds = server.proc.stop(grace=15)
    note(f"shutdown with a hanging target took {seconds:.1f}s")
    assert seconds < 15, "server did not exit within 15 s of SIGTERM while a target hung"


@pytest.mark.parametrize("target", ["generic", "braintrust"])
def test_503_target_gets_the_trace_after_retry(keel, fake, target):
    if target == "generic":
        path, env = "/generic/v1/traces", {"OTEL_TARGETS": "GENERIC", **generic_http_env(f"{fake.url}/generic")}
    else:
        path, env = "/v1/project_logs/", braintrust_env(fake)
    fake.mode(path, "503", retry_after=1)
    server = keel(env)
    session = server.new_session()
    turn = server.run_turn(session, TOOL_TURN)

    def attempts():
        return [r for r in fake.requests() if r["path"].startswith(path)]

    wait_until(attempts, 5, what="first export attempt")
    time.sleep(0.5)
    fake.mode(path, "ok")
    if target == "generic":
        check_tree(wait_trace(fake, path, turn, timeout=20), turn, "generic after 503")
    else:
        braintrust_rows(fake, turn, turn.expected_span_count(), timeout=20)
    statuses = [r["status"] for r in attempts()]
    assert 503 in statuses and 200 in statuses, statuses
    note(f"{target}: 503 (Retry-After: 1) then ok: attempts {statuses} at "
         f"{[round(r['received_at'] - turn.idled_at, 2) for r in attempts()]} s after the turn")


def test_shutdown_is_bounded_when_every_target_hangs(keel, fake):
    """Each destination gets a drain deadline at shutdown; they must run concurrently, so the
    total stays near one deadline however many destinations are stuck."""
    for path in (LANGFUSE_PATH, "/generic/v1/traces", "/phoenix/v1/traces", "/v1/project_logs/"):
        fake.mode(path, "hang")
    server = keel(_fault_env(fake))
    session = server.new_session()
    turn = server.run_turn(session, TOOL_TURN)
    assert turn.latency < 1.0, f"turn took {turn.latency:.2f}s with every target hanging"
    wait_until(lambda: len({r["path"].split("/insert")[0] for r in fake.requests()
                            if r["path"] != "/v1/project"}) >= 4, 5, what="every destination to be contacted")
    seconds = server.proc.stop(grace=40)
    deadlines = [line[line.find("trace.destination="):].split()[0] for line in server.log().splitlines()
                 if "deadline" in line]
    note(f"shutdown with 4 hanging destinations took {seconds:.1f}s; deadline-dropped: {deadlines}")
    assert seconds < 8, (f"shutdown took {seconds:.1f}s with 4 hanging destinations: their drain deadlines run "
                         f"one after another ({deadlines})")


# ----------------------------------------------------------------------------------------------
# (1) fan-out to Langfuse (fake), Phoenix (real), generic OTLP gRPC (rotel) and Braintrust (fake)


def test_harness_phoenix_accepts_sdk_spans(phoenix):
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    trace_id = _emit_sample_trace(_sdk_provider(OTLPSpanExporter(endpoint=phoenix.collector_endpoint)))
    spans = wait_until(lambda: len(found := phoenix.spans(trace_id)) >= 5 and found, 15, interval=0.25,
                       what="Phoenix spans from the Python SDK")
    kinds = {s["name"]: s["span_kind"] for s in spans}
    assert kinds == {"invoke_agent selfcheck": "AGENT", "reason": "CHAIN", "chat sim": "LLM", "act": "CHAIN",
                     "execute_tool add": "TOOL"}, kinds


def test_fan_out_to_all_backends(keel, fake, rotel, phoenix):
    env = {
        "OTEL_TARGETS": "LANGFUSE,PHOENIX,GENERIC",
        **langfuse_env(fake),
        "PHOENIX_COLLECTOR_ENDPOINT": phoenix.collector_endpoint,
        "OTEL_EXPORTER_OTLP_ENDPOINT": rotel.grpc_url,
        "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
        **braintrust_env(fake),
    }
    server = keel(env)
    session = server.new_session()
    turn = server.run_turn(session, TOOL_TURN, metadata={"tenant": "acme"})
    assert turn.count("tool.completed") == 1, "the sim model should have called the add tool"

    # Langfuse (fake): whole tree, Basic auth, protobuf.
    langfuse = wait_trace(fake, LANGFUSE_PATH, turn)
    check_tree(langfuse, turn, "langfuse")
    check_attributes(langfuse, turn, "langfuse")
    expected_auth = "Basic " + base64.b64encode(f"{LANGFUSE_PUBLIC_KEY}:{LANGFUSE_SECRET_KEY}".encode()).decode()
    requests = [r for r in fake.requests(LANGFUSE_PATH)]
    assert requests and all(r["status"] == 200 for r in requests), [(r["status"]) for r in requests]
    assert all(r["headers"].get("authorization") == expected_auth for r in requests), "Langfuse Basic auth wrong"
    assert all(r["content_type"].startswith("application/x-protobuf") for r in requests), \
        {r["content_type"] for r in requests}
    versions = {r.get("langfuse_ingestion_version") for r in requests}
    note(f"Langfuse x-langfuse-ingestion-version sent: {versions}")

    # Generic OTLP over gRPC, through rotel, to the fake's /v1/traces.
    generic = wait_trace(fake, GENERIC_PATH, turn)
    check_tree(generic, turn, "generic grpc via rotel")
    assert shape(generic) == shape(langfuse), "generic and Langfuse traces differ"
    assert {s["trace_id"] for s in generic} == {s["trace_id"] for s in langfuse}

    # Phoenix (real): same spans, converted kinds and token counts.
    trace_id = langfuse[0]["trace_id"]
    expected = len(langfuse)
    phoenix_spans = wait_until(lambda: len(found := phoenix.spans(trace_id)) >= expected and found, 20,
                               interval=0.25, what=f"{expected} Phoenix spans for trace {trace_id}")
    phoenix_shape = {(s["context"]["span_id"], s.get("parent_id"), s["name"]) for s in phoenix_spans}
    assert phoenix_shape == shape(langfuse), f"Phoenix trace differs:\n{phoenix_shape}\nvs\n{shape(langfuse)}"
    for s in phoenix_spans:
        assert s["span_kind"] == EXPECTED_OPENINFERENCE_KIND[category(s["name"])], \
            f"Phoenix span_kind of {s['name']} is {s['span_kind']}"
    by_id = {s["span_id"]: s for s in langfuse}
    for s in phoenix_spans:
        if category(s["name"]) == "chat":
            sent = by_id[s["context"]["span_id"]]["attributes"]
            assert s["attributes"].get("llm.token_count.prompt") == sent["gen_ai.usage.input_tokens"], s["attributes"]
            assert s["attributes"].get("llm.token_count.completion") == sent["gen_ai.usage.output_tokens"]
    root = next(s for s in phoenix_spans if not s.get("parent_id"))
    assert root["attributes"].get("session.id") == session, f"Phoenix root session.id: {root['attributes']}"

    delivery = {name: max(s["received_at"] for s in spans) - turn.idled_at
                for name, spans in (("langfuse", langfuse), ("generic via rotel", generic))}
    note("fan-out delivery after turn end: " + ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in delivery.items())
         + f"; Phoenix readable after {(time.time() - turn.idled_at) * 1000:.0f} ms")

    # Braintrust (fake): project via create-or-get, rows of types task/llm/tool, consistent tree.
    rows = braintrust_rows(fake, turn, expected)
    state = fake.braintrust()
    assert [p["name"] for p in state["projects"]] == [BRAINTRUST_PROJECT]
    project_requests = [r for r in fake.requests("/v1/project") if r["method"] == "POST"]
    assert project_requests and all((r.get("json") or {}).get("name") == BRAINTRUST_PROJECT
                                    for r in project_requests), [r.get("json") for r in project_requests]
    assert all(r["headers"].get("authorization") == f"Bearer {BRAINTRUST_API_KEY}" for r in project_requests)
    assert not state["rejected"], state["rejected"]
    assert all(r["_project_id"] == state["projects"][0]["id"] for r in rows)
    types = Counter(r["span_attributes"]["type"] for r in rows)
    assert types == {"task": turn.count("reason.started") + turn.count("act.started") + 1,
                     "llm": turn.count("llm.generation"), "tool": turn.count("tool.started")}, types
    row_ids = {r["span_id"] for r in rows}
    assert row_ids == {s["span_id"] for s in langfuse}, "Braintrust span ids differ from the OTLP span ids"
    for r in rows:
        for parent in r.get("span_parents") or []:
            assert parent in row_ids, f"Braintrust row {r['span_attributes']} has unknown parent {parent}"
    llm_rows = [r for r in rows if r["span_attributes"]["type"] == "llm"]
    assert all(isinstance(r.get("metrics", {}).get("prompt_tokens"), (int, float)) for r in llm_rows), llm_rows
    assert "Braintrust listener initialized" in server.log()
