#!/usr/bin/env python3
"""Compatibility flow: drive a Keel server with the UNMODIFIED `everruns-sdk` 0.3.1.

Only the SDK's public API is used (no monkeypatching, no private attributes). The one thing
the SDK cannot show -- the body of `POST /v1/sessions/{id}/cancel`, which
`Everruns.sessions.cancel()` discards -- is read through the SDK's `AgentClient.cancel()`,
which returns it.

Usage:
    everruns_sdk_flow.py [BASE_URL] [--sse-cycle SECS] [--auth-mode MODE] [--login EMAIL:PASSWORD]
    (or KEEL_URL=http://127.0.0.1:PORT[/API_PREFIX])

Against a server with authentication (AUTH_MODE=admin or full), `--login` signs in over plain
HTTP (`POST {base}/v1/auth/login`), creates an API key (`POST {base}/v1/auth/api-keys`) and runs
the whole flow with `Everruns(api_key=<that key>)` -- the SDK sends the raw key with no scheme --
and `AgentClient(credential=<that key>)` (`Bearer <key>`). It also checks that a wrong key and a
revoked key get HTTP 401 (the SDK's AuthenticationError) and, in AUTH_MODE=full, that a user who
signed up on their own cannot see this flow's session (404). Without `--login` the SDK gets
placeholder keys, which an AUTH_MODE=none server ignores.

Prints one line per step, then a summary line `compat-flow: passed=N failed=F` (read by
scripts/compat-test). Exits 0 only when every check passed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import time
import traceback
import urllib.error
import urllib.request
import uuid
import warnings
from typing import Any, Awaitable, Callable, Optional

try:
    import everruns_sdk
    from everruns_sdk import (
        AgentCapabilityConfig,
        AgentClient,
        ApiError,
        AuthenticationError,
        ContentPart,
        Event,
        EverrunsError,
        Everruns,
        NotFoundError,
        ToolDefinition,
    )
except ImportError as error:  # pragma: no cover - environment problem, not a check
    print(f"compat-flow: cannot import everruns_sdk ({error}); run scripts/compat-test", file=sys.stderr)
    sys.exit(2)

# The management client marks sessions.create / messages.create as deprecated in favour of
# AgentClient; they are still the public API this flow has to exercise.
warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"everruns_sdk(\..*)?$")
warnings.filterwarnings("ignore", category=DeprecationWarning, message=r"Everruns\..*deprecated")

EXPECTED_SDK_VERSION = "0.3.1"
STREAM_TIMEOUT_SECS = 30.0
TERMINAL_TURN_EVENTS = ("turn.completed", "turn.failed", "turn.cancelled")
# What the SDK gets when the server needs no credential (AUTH_MODE=none ignores them).
PLACEHOLDER_API_KEY = "evr_pat_compat_test_key"
PLACEHOLDER_AGENT_KEY = "evr_ak_compat_test_key"
# The error text a pending client-side call gets when the user sends a new message (spec §5).
SUPERSEDED_TOOL_ERROR = "Cancelled: user sent a new message"
# Everruns.messages.create_tool_results retries a 409 "not waiting for tool results" five times,
# sleeping 0.1 s doubling: 3.1 s in all before it raises.
TOOL_RESULTS_RETRY_SECS = 0.1 + 0.2 + 0.4 + 0.8 + 1.6


class CheckFailed(AssertionError):
    pass


class Flow:
    def __init__(self, base_url: str, sse_cycle_secs: Optional[float] = None, auth_mode: Optional[str] = None,
                 login: Optional[tuple[str, str]] = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.sse_cycle_secs = sse_cycle_secs
        self.expected_auth_mode = auth_mode
        self.login = login
        self.passed = 0
        self.failed = 0
        # Replaced by the sign-in step's API key when the flow logs in.
        self.api_key = PLACEHOLDER_API_KEY
        self.agent_key = PLACEHOLDER_AGENT_KEY
        self.access_token: Optional[str] = None
        self.auth_config: dict = {}
        self.client: Any = None
        self.agent_client: Any = None
        self.make_clients()
        self.agent_name = os.environ.get("COMPAT_AGENT_NAME", "compat-agent")
        self.agent: Any = None
        self.session: Any = None
        self.stream_events: list[Event] = []
        self.client_tool_session_id: Optional[str] = None

    def make_clients(self) -> None:
        self.client = Everruns(api_key=self.api_key, base_url=self.base_url)
        # AgentClient's session routes (`{agent_url}/sessions[/{id}/messages|events|sse|cancel]`)
        # are the management API's `/v1/sessions...` routes, so its agent URL can be `{base}/v1`.
        self.agent_client = AgentClient(agent_url=self.base_url + "/v1", credential=self.agent_key)

    async def close_clients(self) -> None:
        await self.agent_client.close()
        await self.client.close()

    # -- bookkeeping ------------------------------------------------------------------------

    def check(self, condition: Any, message: str) -> None:
        """One counted assertion."""
        if not condition:
            raise CheckFailed(message)
        self.passed += 1

    def check_equal(self, actual: Any, expected: Any, what: str) -> None:
        self.check(actual == expected, f"{what}: expected {expected!r}, got {actual!r}")

    async def step(self, name: str, body: Callable[[], Awaitable[Optional[str]]]) -> bool:
        started = time.monotonic()
        before = self.passed
        try:
            detail = await body()
        except CheckFailed as failure:
            self.failed += 1
            print(f"FAIL {name}: {failure}", flush=True)
            return False
        except Exception as error:  # an SDK exception is a failed step, with the server's words
            self.failed += 1
            print(f"FAIL {name}: {type(error).__name__}: {describe(error)}", flush=True)
            traceback.print_exc(limit=4, file=sys.stdout)
            return False
        elapsed_ms = (time.monotonic() - started) * 1000
        if detail and detail.startswith("SKIPPED"):
            print(f"skip {name} ({self.passed - before} checks) -- {detail[len('SKIPPED: '):]}", flush=True)
            return True
        suffix = f" -- {detail}" if detail else ""
        print(f"ok   {name} ({self.passed - before} checks, {elapsed_ms:.0f} ms){suffix}", flush=True)
        return True

    # -- helpers ----------------------------------------------------------------------------

    async def collect(self, stream: Any, until: Callable[[Event], bool], what: str) -> list[Event]:
        """Read the SDK's EventStream until `until(event)` holds; bounded in time."""
        events: list[Event] = []
        try:
            async with asyncio.timeout(STREAM_TIMEOUT_SECS):
                async with contextlib.aclosing(aiter(stream)) as iterator:
                    async for event in iterator:
                        events.append(event)
                        if until(event):
                            break
        except TimeoutError:
            seen = [e.type for e in events]
            raise CheckFailed(f"{what}: no end of turn within {STREAM_TIMEOUT_SECS:.0f}s; saw {seen}")
        finally:
            stream.stop()
            await stream.aclose()
        return events

    def check_sequences(self, events: list[Event], what: str, after: int = 0) -> None:
        sequences = [e.sequence for e in events]
        self.check(all(isinstance(s, int) for s in sequences), f"{what}: every event needs an integer sequence, got {sequences}")
        expected = list(range(after + 1, after + 1 + len(events)))
        self.check(sequences == expected, f"{what}: sequences must be contiguous from {after + 1} (no gaps/duplicates), got {sequences}")
        ids = [e.id for e in events]
        self.check(len(set(ids)) == len(ids), f"{what}: duplicate event ids {ids}")

    def check_turn_order(self, types: list[str], terminal: str, what: str,
                         tail: tuple[str, ...] = ("session.idled",)) -> None:
        """input.message ... turn.started ... <terminal>, then exactly `tail` (ending in session.idled)."""
        self.check("input.message" in types, f"{what}: no input.message in {types}")
        self.check(terminal in types, f"{what}: no {terminal} in {types}")
        start = types.index("input.message")
        end = types.index(terminal)
        self.check(start < end, f"{what}: input.message must come before {terminal}: {types}")
        if "turn.started" in types:
            self.check(start < types.index("turn.started") < end, f"{what}: turn.started must sit between input.message and {terminal}: {types}")
        terminals = [t for t in types[start:] if t in TERMINAL_TURN_EVENTS]
        self.check_equal(terminals, [terminal], f"{what}: terminal events of the turn")
        self.check_equal(tuple(types[end + 1:end + 1 + len(tail)]), tail, f"{what}: events after {terminal} (all types: {types})")

    # -- steps ------------------------------------------------------------------------------

    async def step_sdk_version(self) -> str:
        self.check_equal(everruns_sdk.__version__, EXPECTED_SDK_VERSION, "everruns_sdk.__version__")
        return f"everruns-sdk {everruns_sdk.__version__} at {self.base_url}"

    async def step_auth_config(self) -> str:
        """`GET /v1/auth/config` (no credential needed) and what a request without a credential gets."""
        status, _, config = await asyncio.to_thread(http_json, "GET", f"{self.base_url}/v1/auth/config")
        self.check_equal(status, 200, "GET /v1/auth/config status")
        mode = config.get("mode")
        self.check(mode in ("none", "admin", "full"), f"auth config mode: {config}")
        if self.expected_auth_mode:
            self.check_equal(mode, self.expected_auth_mode, "auth config mode")
        self.check_equal(config.get("password_auth_enabled"), mode != "none", "auth config password_auth_enabled")
        self.check(isinstance(config.get("oauth_providers"), list), f"auth config oauth_providers: {config}")
        self.check(config.get("signup_enabled") in ((True, False) if mode == "full" else (False,)),
                   f"auth config signup_enabled in mode {mode}: {config}")
        self.auth_config = config
        status, headers, body = await asyncio.to_thread(http_json, "GET", f"{self.base_url}/v1/agents")
        if mode == "none":
            self.check(not self.login, "--login needs a server with authentication, this one runs AUTH_MODE=none")
            self.check_equal(status, 200, "GET /v1/agents without a credential in AUTH_MODE=none")
            status, _, body = await asyncio.to_thread(
                http_json, "POST", f"{self.base_url}/v1/auth/login", {"email": "nobody@example.com", "password": "whatever1"})
            self.check_equal((status, error_code(body)), (404, "not_available"), "POST /v1/auth/login in AUTH_MODE=none")
        else:
            self.check_equal((status, error_code(body)), (401, "unauthorized"), "GET /v1/agents without a credential")
            self.check_equal(headers.get("WWW-Authenticate"), "Bearer", "WWW-Authenticate of a 401")
        return f"mode {mode}"

    async def step_sign_in(self) -> str:
        """Logs in over plain HTTP, creates the API key the SDK clients then use."""
        if not self.login:
            return "SKIPPED: no --login; the SDK uses placeholder keys"
        email, password = self.login
        status, headers, tokens = await asyncio.to_thread(
            http_json, "POST", f"{self.base_url}/v1/auth/login", {"email": email, "password": password})
        self.check_equal(status, 200, f"POST /v1/auth/login status ({tokens})")
        self.check_equal(tokens.get("token_type"), "Bearer", "login token_type")
        self.check(isinstance(tokens.get("access_token"), str) and isinstance(tokens.get("refresh_token"), str),
                   f"login needs access_token and refresh_token: {sorted(tokens)}")
        self.check(isinstance(tokens.get("expires_in"), int) and tokens["expires_in"] > 0, f"login expires_in: {tokens.get('expires_in')}")
        cookies = headers.get_all("Set-Cookie") or []
        self.check(any(c.startswith("access_token=") and "HttpOnly" in c for c in cookies), f"login cookies: {cookies}")
        self.access_token = tokens["access_token"]

        status, _, me = await asyncio.to_thread(http_json, "GET", f"{self.base_url}/v1/auth/me", token=self.access_token)
        self.check_equal((status, me.get("email")), (200, email.lower()), "GET /v1/auth/me")
        self.check_equal(me.get("organization_role"), "owner", "the administrator's role in the default organization")

        created = await self.create_api_key(self.access_token, "compat flow")
        status, _, listed = await asyncio.to_thread(http_json, "GET", f"{self.base_url}/v1/auth/api-keys", token=self.access_token)
        self.check_equal(status, 200, "GET /v1/auth/api-keys status")
        entries = [k for k in listed.get("data", []) if k.get("id") == created["id"]]
        self.check(len(entries) == 1, f"GET /v1/auth/api-keys must list the new key once: {listed}")
        self.check("key" not in entries[0] and entries[0].get("key_prefix") == created["key_prefix"],
                   f"a listed key shows its prefix, never the key: {entries[0]}")

        await self.close_clients()
        self.api_key = self.agent_key = created["key"]
        self.make_clients()
        agents = await self.client.agents.list()  # the SDK sends the raw key: `Authorization: evr_...`
        self.check(isinstance(agents, list), "agents.list with the new key")
        return f"logged in as {email}; SDK key {created['key_prefix']}..."

    async def create_api_key(self, access_token: str, name: str) -> dict:
        status, _, created = await asyncio.to_thread(
            http_json, "POST", f"{self.base_url}/v1/auth/api-keys", {"name": name, "expires_in_days": 1}, token=access_token)
        self.check_equal(status, 201, f"POST /v1/auth/api-keys status ({created})")
        key = created.get("key")
        self.check(isinstance(key, str) and key.startswith("evr_"), f"a new API key starts with evr_: {created}")
        self.check(str(created.get("id", "")).startswith("apikey_"), f"API key id: {created.get('id')!r}")
        self.check(key.startswith(created.get("key_prefix") or "-"), f"key_prefix must be the key's start: {created.get('key_prefix')!r}")
        self.check_equal(created.get("name"), name, "API key name")
        self.check(created.get("expires_at") is not None, f"expires_in_days gives expires_at: {created}")
        return created

    async def step_wrong_key(self) -> str:
        if not self.login:
            return "SKIPPED: no --login (AUTH_MODE=none accepts any key)"
        wrong_key = "evr_" + uuid.uuid4().hex + uuid.uuid4().hex[:16]
        wrong = Everruns(api_key=wrong_key, base_url=self.base_url)
        wrong_agent = AgentClient(agent_url=self.base_url + "/v1", credential=wrong_key)
        try:
            try:
                await wrong.agents.list()
            except AuthenticationError as error:
                self.check_equal((error.status_code, error.code), (401, "unauthorized"), "Everruns with a wrong key")
            else:
                self.check(False, "Everruns(api_key=<wrong key>).agents.list() must raise AuthenticationError")
            try:
                await wrong_agent.list_sessions()
            except AuthenticationError as error:
                self.check_equal(error.status_code, 401, "AgentClient with a wrong key")
            else:
                self.check(False, "AgentClient(credential=<wrong key>).list_sessions() must raise AuthenticationError")
        finally:
            await wrong_agent.close()
            await wrong.close()
        return "HTTP 401 unauthorized for both clients"

    async def step_other_organization(self) -> str:
        """A user who signed up has an organization of their own: this flow's session and agent are
        not found for them, and their lists do not show them."""
        if not self.login or self.auth_config.get("mode") != "full" or not self.auth_config.get("signup_enabled"):
            return "SKIPPED: needs --login against AUTH_MODE=full with sign-up"
        email = f"compat-{uuid.uuid4().hex[:12]}@example.com"
        status, _, tokens = await asyncio.to_thread(
            http_json, "POST", f"{self.base_url}/v1/auth/register",
            {"email": email, "password": uuid.uuid4().hex, "name": "Compat Stranger"})
        self.check_equal(status, 201, f"POST /v1/auth/register status ({tokens})")
        created = await self.create_api_key(tokens["access_token"], "stranger")
        stranger = Everruns(api_key=created["key"], base_url=self.base_url)
        try:
            for what, call in (("sessions.get", lambda: stranger.sessions.get(self.session.id)),
                               ("agents.get", lambda: stranger.agents.get(self.agent.id))):
                try:
                    await call()
                except NotFoundError as error:
                    self.check_equal(error.status_code, 404, f"{what} of another organization")
                else:
                    self.check(False, f"{what} of another organization's resource must raise NotFoundError")
            sessions = await stranger.sessions.list()
            self.check(self.session.id not in [s.id for s in sessions], "another organization's sessions.list shows this session")
            agents = await stranger.agents.list()
            self.check(self.agent.id not in [a.id for a in agents], "another organization's agents.list shows this agent")
        finally:
            await stranger.close()
        return f"{email}: 404 for this session and agent"

    async def step_revoked_key(self) -> str:
        """A second key works until `DELETE /v1/auth/api-keys/{id}`; its next request is 401."""
        if not self.login:
            return "SKIPPED: no --login"
        created = await self.create_api_key(self.access_token, "compat throw-away")
        throwaway = Everruns(api_key=created["key"], base_url=self.base_url)
        try:
            agents = await throwaway.agents.list()
            self.check(self.agent.id in [a.id for a in agents], "the throw-away key sees the organization's agent")
            url = f"{self.base_url}/v1/auth/api-keys/{created['id']}"
            status, _, _ = await asyncio.to_thread(http_json, "DELETE", url, token=self.access_token)
            self.check_equal(status, 204, "DELETE /v1/auth/api-keys/{id} status")
            try:
                await throwaway.agents.list()
            except AuthenticationError as error:
                self.check_equal((error.status_code, error.code), (401, "unauthorized"), "the revoked key's next request")
            else:
                self.check(False, "a revoked key must get AuthenticationError (HTTP 401) on its next request")
        finally:
            await throwaway.close()
        status, _, listed = await asyncio.to_thread(http_json, "GET", f"{self.base_url}/v1/auth/api-keys", token=self.access_token)
        self.check(created["id"] not in [k.get("id") for k in listed.get("data", [])], "a revoked key is no longer listed")
        status, _, body = await asyncio.to_thread(http_json, "DELETE", url, token=self.access_token)
        self.check_equal((status, error_code(body)), (404, "api_key_not_found"), "deleting a revoked key again")
        agents = await self.client.agents.list()
        self.check(self.agent.id in [a.id for a in agents], "the flow's own key still works")
        return f"{created['key_prefix']}... revoked: 401"

    async def step_create_agent(self) -> str:
        agent = await self.client.agents.create(
            self.agent_name, "You are the Keel compatibility test agent.",
            description="created by scripts/compat/everruns_sdk_flow.py",
            capabilities=[AgentCapabilityConfig(ref="test_math")])
        self.check(agent.id.startswith("agent_"), f"agent id should be prefixed 'agent_', got {agent.id!r}")
        self.check_equal(agent.name, self.agent_name, "agent.name")
        self.check_equal(agent.status, "active", "agent.status")
        self.check_equal([c.ref for c in agent.capabilities or []], ["test_math"], "agent.capabilities refs")
        self.check(bool(agent.harness_id), "agent.harness_id must be set")
        self.agent = agent
        return agent.id

    async def step_create_session(self) -> str:
        session = await self.client.sessions.create(agent_id=self.agent.id, title="compat session")
        self.check(session.id.startswith("session_"), f"session id should be prefixed 'session_', got {session.id!r}")
        self.check_equal(session.agent_id, self.agent.id, "session.agent_id")
        self.check_equal(session.status, "started", "new session status")
        self.check(bool(session.organization_id), "session.organization_id must be set")
        self.session = session
        return session.id

    async def step_first_turn(self) -> str:
        sid = self.session.id
        message = await self.client.messages.create(sid, "hello from compat")
        self.check(message.id.startswith("message_"), f"message id should be prefixed 'message_', got {message.id!r}")
        self.check_equal(message.role, "user", "created message role")
        self.check_equal([p.text for p in message.content if p.type == "text"], ["hello from compat"], "created message text")

        events = await self.collect(self.client.events.stream(sid), lambda e: e.type == "session.idled", "first turn SSE")
        types = [e.type for e in events]
        self.check_equal(types[0], "session.started", "first replayed event")
        self.check_turn_order(types, "turn.completed", "first turn")
        self.check_sequences(events, "first turn SSE")
        self.check(all(e.session_id == sid for e in events), "every event must carry this session_id")
        input_event = events[types.index("input.message")]
        self.check_equal(input_event.context.input_message_id, message.id, "input.message context.input_message_id")
        completed = [e for e in events if e.type == "output.message.completed"]
        self.check(len(completed) == 1, f"expected one output.message.completed, got {len(completed)}")
        reply = completed[0].data["message"]
        self.check_equal(reply.get("role"), "agent", "output.message.completed message.role")
        reply_text = "".join(p.get("text") or "" for p in reply.get("content", []) if p.get("type") == "text")
        self.check_equal(reply_text, "Echo: hello from compat", "reply text in output.message.completed")
        deltas = "".join(e.data.get("delta", "") for e in events if e.type == "output.message.delta")
        self.check_equal(deltas, reply_text, "concatenated output.message.delta")
        turn_ids = {e.context.turn_id for e in events[types.index("turn.started"):]}
        self.check(len(turn_ids) == 1 and None not in turn_ids, f"turn events should share one context.turn_id, got {turn_ids}")
        self.stream_events = events
        return " -> ".join(t for t in types if t != "output.message.delta")

    async def step_list_messages(self) -> str:
        messages = await self.client.messages.list(self.session.id)
        roles = [m.role for m in messages]
        self.check_equal(roles, ["user", "agent"], "message roles after one turn")
        texts = ["".join(p.text or "" for p in m.content if p.type == "text") for m in messages]
        self.check_equal(texts, ["hello from compat", "Echo: hello from compat"], "message texts")
        self.check(all(m.id.startswith("message_") and m.created_at for m in messages), "messages need ids and created_at")
        return f"roles {roles}"

    async def step_list_events(self) -> str:
        sid = self.session.id
        everything = await self.client.events.list(sid)
        self.check_equal([e.id for e in everything], [e.id for e in self.stream_events], "events.list vs SSE replay (ids, order)")
        turn_end = await self.client.events.list(sid, types=["turn.completed", "session.idled"])
        self.check_equal([e.type for e in turn_end], ["turn.completed", "session.idled"], "events.list types filter")
        no_deltas = await self.client.events.list(sid, exclude=["output.message.delta"])
        self.check(no_deltas and all(e.type != "output.message.delta" for e in no_deltas), "events.list exclude filter")
        middle = self.stream_events[3].sequence
        after = await self.client.events.list(sid, after_sequence=middle)
        self.check_equal([e.sequence for e in after], [e.sequence for e in self.stream_events if e.sequence > middle], "events.list after_sequence")
        since = await self.client.events.list(sid, since_id=self.stream_events[3].id)
        self.check_equal([e.id for e in since], [e.id for e in after], "events.list since_id")
        return f"{len(everything)} events"

    async def step_tool_turn(self) -> str:
        sid = self.session.id
        last = self.stream_events[-1]
        await self.client.messages.create(sid, '[[tool:add {"a":2,"b":3}]]')
        # Resume the SSE stream from the last event seen: the SDK's since_id reconnect path.
        events = await self.collect(self.client.events.stream(sid, since_id=last.id), lambda e: e.type == "session.idled", "tool turn SSE")
        types = [e.type for e in events]
        self.check_sequences(events, "tool turn SSE (resumed with since_id)", after=last.sequence)
        self.check_turn_order(types, "turn.completed", "tool turn")
        for expected in ("tool.started", "tool.completed"):
            self.check(expected in types, f"tool turn: no {expected} in {types}")
        calls = [call for e in events if e.type == "output.message.completed" for call in e.tool_calls()]
        self.check_equal([(c.name, c.arguments) for c in calls], [("add", {"a": 2, "b": 3})], "tool calls in output.message.completed")

        messages = await self.client.messages.list(sid)
        roles = [m.role for m in messages]
        self.check_equal(roles, ["user", "agent", "user", "agent", "tool_result", "agent"], "message roles after tool turn")
        call_parts = [p for p in messages[3].content if p.is_tool_call()]
        self.check(len(call_parts) == 1, f"agent message should hold one tool_call part, got {messages[3].content}")
        call = call_parts[0].as_tool_call()
        self.check(call is not None and call.name == "add" and call.arguments == {"a": 2, "b": 3}, f"tool_call part: {call}")
        results = [p for p in messages[4].content if p.type == "tool_result"]
        self.check(len(results) == 1, f"tool_result message should hold one tool_result part, got {messages[4].content}")
        result = results[0]
        self.check_equal(result.tool_call_id, call.id, "tool_result.tool_call_id")
        self.check(result.error is None, f"tool_result carries an error: {result.error!r}")
        self.check("5" in json.dumps(result.result), f"add(2, 3) should give 5, tool_result.result={result.result!r}")
        final = "".join(p.text or "" for p in messages[5].content if p.type == "text")
        self.check(final.startswith("Tool results:") and "5" in final, f"final agent text should summarise the tool result, got {final!r}")
        return f"tool_result {json.dumps(result.result)}; reply {final!r}"

    async def step_get_and_list(self) -> str:
        agent = await self.client.agents.get(self.agent.id)
        self.check_equal((agent.id, agent.name), (self.agent.id, self.agent_name), "agents.get id/name")
        agents = await self.client.agents.list()
        self.check(self.agent.id in [a.id for a in agents], "agents.list must include the new agent")
        found = await self.client.agents.list(search=self.agent_name)
        self.check(self.agent.id in [a.id for a in found], "agents.list(search=name) must include the new agent")

        session = await self.client.sessions.get(self.session.id)
        self.check_equal(session.id, self.session.id, "sessions.get id")
        self.check_equal(session.status, "idle", "session status after the turns")
        self.check(session.usage is not None and session.usage.output_tokens > 0, f"session.usage should count tokens, got {session.usage}")
        sessions = await self.client.sessions.list()
        self.check(self.session.id in [s.id for s in sessions], "sessions.list must include the session")
        by_agent = await self.client.sessions.list(agent_id=self.agent.id)
        self.check(self.session.id in [s.id for s in by_agent], "sessions.list(agent_id=...) must include the session")
        self.check(all(s.agent_id == self.agent.id for s in by_agent),
                   f"sessions.list(agent_id=...) returned other agents' sessions: {[(s.id, s.agent_id) for s in by_agent]}")

        try:
            await self.client.agents.get("agent_" + "0" * 31 + "9")
        except NotFoundError as error:
            self.check_equal(error.status_code, 404, "unknown agent status")
        else:
            self.check(False, "agents.get(unknown id) must raise NotFoundError")
        try:
            await self.client.sessions.create(agent_id="not-an-agent-id")
        except ApiError as error:
            self.check(error.status_code in (400, 404, 422), f"bad agent id should be a 4xx, got {error.status_code}")
        else:
            self.check(False, "sessions.create(agent_id=garbage) must raise ApiError")
        return f"{len(agents)} agents, {len(sessions)} sessions"

    async def step_cancel_idle(self) -> str:
        sid = self.session.id
        result = await self.client.sessions.cancel(sid)  # the SDK returns None and discards the body
        self.check(result is None, f"Everruns.sessions.cancel returns None, got {result!r}")
        body = await self.agent_client.cancel(sid)  # AgentClient returns the JSON body
        self.check(isinstance(body, dict), f"cancel body should be a JSON object, got {body!r}")
        self.check_equal(body.get("status"), "no_op", "cancel of an idle session: status")
        self.check(isinstance(body.get("message"), str), f"cancel body needs a message string: {body!r}")
        session = await self.client.sessions.get(sid)
        self.check_equal(session.status, "idle", "session status after no-op cancel")
        return f"body {body}"

    async def step_cancel_running(self) -> str:
        """Cancel a turn while a slow tool runs (python capability: sleep). The sim model at zero
        latency is too fast to cancel mid-stream, so a sleeping tool keeps the turn running."""
        capabilities = await self.client.capabilities.list()
        if "python" not in [c.id for c in capabilities]:
            return "SKIPPED: no 'python' capability on this server (needs DEPLOYMENT_GRADE=dev), no way to keep a sim turn running"
        session = await self.client.sessions.create(capabilities=[AgentCapabilityConfig(ref="python")])
        sid = session.id
        await self.client.messages.create(sid, '[[tool:run_python {"code":"import time; time.sleep(8)"}]]')
        stream = self.client.events.stream(sid)
        events: list[Event] = []
        cancel_requested_at: Optional[int] = None
        tool_error: Optional[str] = None
        try:
            async with asyncio.timeout(STREAM_TIMEOUT_SECS):
                async with contextlib.aclosing(aiter(stream)) as iterator:
                    async for event in iterator:
                        events.append(event)
                        if event.type == "tool.started" and cancel_requested_at is None:
                            cancel_requested_at = len(events)
                            await self.client.sessions.cancel(sid)
                        if event.type == "tool.completed":
                            tool_error = json.dumps(event.data)[:200]
                        if event.type == "session.idled":
                            break
        except TimeoutError:
            raise CheckFailed(f"cancelled turn: no session.idled within {STREAM_TIMEOUT_SECS:.0f}s; saw {[e.type for e in events]}")
        finally:
            stream.stop()
            await stream.aclose()
        types = [e.type for e in events]
        if cancel_requested_at is None or ("tool.completed" in types and types.index("tool.completed") < cancel_requested_at):
            return f"SKIPPED: the tool never ran long enough to cancel ({tool_error or types})"
        # Spec §5: turn.cancelled at once, the notice input.message, the worker's
        # output.message.completed, then session.idled.
        self.check_turn_order(types, "turn.cancelled", "cancelled turn",
                              tail=("input.message", "output.message.completed", "session.idled"))
        messages = await self.client.messages.list(sid)
        texts = [(m.role, "".join(p.text or "" for p in m.content if p.type == "text")) for m in messages[-2:]]
        self.check_equal(texts, [("user", "User requested to cancel the work."), ("agent", "Work was cancelled by user.")],
                         "cancel notice messages")
        session = await self.client.sessions.get(sid)
        self.check_equal(session.status, "idle", "session status after cancelling")
        body = await self.agent_client.cancel(sid)
        self.check_equal(body.get("status"), "no_op", "second cancel after the turn ended")
        cancelled = next(e for e in events if e.type == "turn.cancelled")
        await self.client.sessions.delete(sid)
        return f"turn.cancelled {json.dumps(cancelled.data.get('reason'))} after {types[cancel_requested_at - 1]}"

    async def follow(self, sid: str, since_id: Optional[str], what: str,
                     on_event: Callable[[Event], Awaitable[bool]]) -> list[Event]:
        """Follows the SDK's event stream of `sid` (from `since_id`, or the whole history), awaiting
        `on_event` for each event -- which may call the API in between -- until it returns True."""
        stream = self.client.events.stream(sid, since_id=since_id) if since_id else self.client.events.stream(sid)
        events: list[Event] = []
        try:
            async with asyncio.timeout(STREAM_TIMEOUT_SECS):
                async with contextlib.aclosing(aiter(stream)) as iterator:
                    async for event in iterator:
                        events.append(event)
                        if await on_event(event):
                            break
        except TimeoutError:
            raise CheckFailed(f"{what}: not done within {STREAM_TIMEOUT_SECS:.0f}s; saw {[e.type for e in events]}")
        finally:
            stream.stop()
            await stream.aclose()
        return events

    async def step_client_tools(self) -> str:
        """Client-side tools: a session with two `client_side` tool definitions (and test_math); the
        sim calls `add` (server) and both client tools in one step. The server runs `add`, then asks
        for the client calls (`tool.call_requested`, session `waitingfortoolresults`); the flow
        answers through `messages.create_tool_results` while following the SDK's event stream --
        an unknown id (400), one result (still waiting), that result again (400), then an error
        result for the other call (`active`) -- and the turn resumes to `turn.completed`."""
        weather = ToolDefinition(
            name="get_weather", description="The weather in a city, looked up by the client.",
            parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
            type="client_side")
        color = ToolDefinition(name="pick_color", description="Asks the user for a colour.",
                               parameters={"type": "object", "properties": {}})
        session = await self.client.sessions.create(
            title="client tools", capabilities=[AgentCapabilityConfig(ref="test_math")], tools=[weather, color])
        sid = session.id
        self.client_tool_session_id = sid
        self.check_equal([(t.name, t.type) for t in session.tools or []],
                         [("get_weather", "client_side"), ("pick_color", "client_side")], "session.tools (name, type)")
        await self.client.messages.create(
            sid, 'three calls [[tool:add {"a":2,"b":5}]] [[tool:get_weather {"city":"Oslo"}]] [[tool:pick_color {}]]')

        weather_result = {"city": "Oslo", "forecast": "snow", "celsius": -3}
        color_error = "the user closed the colour picker"
        requested: list[Any] = []
        answers: list[tuple[str, Any]] = []

        async def on_event(event: Event) -> bool:
            if event.type == "tool.call_requested" and not requested:
                requested.extend(event.tool_calls())
                self.check_equal(sorted((c.name, json.dumps(c.arguments, sort_keys=True)) for c in requested),
                                 [("get_weather", '{"city": "Oslo"}'), ("pick_color", "{}")],
                                 "tool.call_requested tool_calls (server call add left out)")
                waiting = await self.client.sessions.get(sid)
                self.check_equal(waiting.status, "waitingfortoolresults", "session status while client calls are pending")
                by_name = {c.name: c for c in requested}
                try:
                    await self.client.messages.create_tool_results(
                        sid, [ContentPart.make_tool_result("call_not_requested_by_the_model", {"x": 1})])
                except ApiError as error:
                    self.check_equal((error.status_code, error.code), (400, "unknown_tool_call"), "tool result for an unknown call id")
                else:
                    self.check(False, "create_tool_results for an unknown call id must raise ApiError (400)")
                first = ContentPart(type="tool_result", tool_call_id=by_name["get_weather"].id, result=weather_result)
                accepted = await self.client.messages.create_tool_results(sid, [first])
                self.check_equal((accepted.accepted, accepted.status), (1, "waitingfortoolresults"),
                                 "create_tool_results with one of two results")
                answers.append(("first", accepted))
                try:
                    await self.client.messages.create_tool_results(sid, [first])
                except ApiError as error:
                    self.check_equal((error.status_code, error.code), (400, "duplicate_tool_result"), "the same result again")
                else:
                    self.check(False, "create_tool_results with an already answered call must raise ApiError (400)")
                accepted = await self.client.messages.create_tool_results(
                    sid, [ContentPart.make_tool_error(by_name["pick_color"].id, color_error)])
                self.check_equal((accepted.accepted, accepted.status), (1, "active"), "create_tool_results with the last result")
                answers.append(("last", accepted))
            return event.type == "session.idled"

        events = await self.follow(sid, None, "client tool turn", on_event)
        types = [e.type for e in events]
        self.check(bool(requested), f"no tool.call_requested in {types}")
        self.check_sequences(events, "client tool turn SSE")
        self.check_turn_order(types, "turn.completed", "client tool turn")
        requested_at = types.index("tool.call_requested")
        add_done = [i for i, e in enumerate(events) if e.type == "tool.completed" and e.data.get("tool_name") == "add"]
        self.check(len(add_done) == 1 and add_done[0] < requested_at,
                   f"the server call add must complete before tool.call_requested: {types}")
        completed = {e.data.get("tool_call_id"): e.data for e in events[requested_at:] if e.type == "tool.completed"}
        by_name = {c.name: c for c in requested}
        weather_done = completed.get(by_name["get_weather"].id) or {}
        self.check_equal((weather_done.get("success"), weather_done.get("result")), (True, weather_result),
                         "tool.completed of get_weather (success, result)")
        color_done = completed.get(by_name["pick_color"].id) or {}
        self.check_equal((color_done.get("success"), color_done.get("error")), (False, color_error),
                         "tool.completed of pick_color (success, error)")
        self.check(not any(e.type == "tool.started" and e.data.get("tool_call", {}).get("name") in ("get_weather", "pick_color")
                           for e in events), f"a client-side call must not run on the server: {types}")
        after = await self.client.sessions.get(sid)
        self.check_equal(after.status, "idle", "session status after the resumed turn")

        messages = await self.client.messages.list(sid)
        results = {p.tool_call_id: p for m in messages if m.role == "tool_result" for p in m.content if p.type == "tool_result"}
        self.check_equal((results.get(by_name["get_weather"].id) or ContentPart(type="tool_result")).result, weather_result,
                         "tool_result message of get_weather")
        self.check_equal((results.get(by_name["pick_color"].id) or ContentPart(type="tool_result")).error, color_error,
                         "tool_result message of pick_color")
        self.check(any("7" in json.dumps(p.result) for p in results.values() if p.error is None),
                   f"add(2, 5) should give 7 among the tool results: {results}")
        final = "".join(p.text or "" for p in messages[-1].content if p.type == "text")
        self.check(messages[-1].role == "agent" and final.startswith("Tool results:"),
                   f"the resumed turn should end with the model's summary, got {messages[-1].role}: {final!r}")
        return f"{len(requested)} client calls answered; reply {final!r}"

    async def step_client_tools_superseded(self) -> str:
        """A new user message while client calls are pending answers them with an error
        ("Cancelled: user sent a new message"), the turn completes and the new message runs; a
        result posted afterwards gets 409 `not_waiting`, raised by the SDK after its retries."""
        sid = self.client_tool_session_id
        if not sid:
            return "SKIPPED: the client-side tool session was not created"
        last = (await self.client.events.list(sid))[-1]
        await self.client.messages.create(sid, '[[tool:get_weather {"city":"Lima"}]]')
        requested: list[Any] = []
        echoed = False

        async def on_event(event: Event) -> bool:
            nonlocal echoed
            if event.type == "tool.call_requested" and not requested:
                requested.extend(event.tool_calls())
                await self.client.messages.create(sid, "never mind the weather")
            if event.type == "output.message.completed":
                text = "".join(p.get("text") or "" for p in event.data["message"].get("content", []) if p.get("type") == "text")
                echoed = echoed or text == "Echo: never mind the weather"
            return echoed and event.type == "session.idled"

        events = await self.follow(sid, last.id, "superseded client call", on_event)
        types = [e.type for e in events]
        self.check_sequences(events, "superseded client call SSE", after=last.sequence)
        self.check_equal([c.name for c in requested], ["get_weather"], "tool.call_requested of the second turn")
        call_id = requested[0].id
        done = [e.data for e in events if e.type == "tool.completed" and e.data.get("tool_call_id") == call_id]
        self.check_equal([(d.get("success"), d.get("error")) for d in done], [(False, SUPERSEDED_TOOL_ERROR)],
                         "tool.completed of the superseded call")
        terminals = [t for t in types if t in TERMINAL_TURN_EVENTS]
        self.check_equal(terminals, ["turn.completed", "turn.completed"], f"both turns complete ({types})")

        started = time.monotonic()
        try:
            await self.client.messages.create_tool_results(sid, [ContentPart.make_tool_result(call_id, {"late": True})])
        except ApiError as error:
            elapsed = time.monotonic() - started
            self.check_equal((error.status_code, error.code), (409, "not_waiting"), "tool results after the turn ended")
            self.check("not waiting for tool results" in error.message, f"the 409 message the SDK retries on: {error.message!r}")
            self.check(elapsed >= TOOL_RESULTS_RETRY_SECS * 0.9,
                       f"the SDK retries a 409 for ~{TOOL_RESULTS_RETRY_SECS:.1f}s before raising, raised after {elapsed:.2f}s")
        else:
            self.check(False, "create_tool_results after the turn ended must raise ApiError (409)")
        session = await self.client.sessions.get(sid)
        self.check_equal(session.status, "idle", "session status at the end")
        await self.client.sessions.delete(sid)
        return f"{SUPERSEDED_TOOL_ERROR!r}; late result: 409 after {elapsed:.1f}s of SDK retries"

    async def step_agent_client(self) -> str:
        agent = self.agent_client
        before = await agent.list_sessions(limit=100)
        self.check(isinstance(before, dict) and isinstance(before.get("data"), list), f"list_sessions shape: {str(before)[:200]}")
        reply = await agent.run("hello agent client")
        self.check_equal(reply, "Echo: hello agent client", "AgentClient.run() reply (new session)")
        after = await agent.list_sessions(limit=100)
        new = {s["id"] for s in after["data"]} - {s["id"] for s in before["data"]}
        self.check(len(new) == 1, f"AgentClient.run() should have created one listed session, new ids: {new}")
        sid = new.pop()
        session = await agent.get_session(sid)
        self.check_equal(session.get("id"), sid, "AgentClient.get_session id")
        # With session_id, run() first pages events by after_sequence to skip history.
        reply = await agent.run("second message", session_id=sid)
        self.check_equal(reply, "Echo: second message", "AgentClient.run() reply (existing session)")
        events = await agent.list_events(sid, after_sequence=0)
        self.check_sequences(events, "AgentClient.list_events")
        page = await agent.list_events(sid, after_sequence=2, limit=3)
        self.check_equal([e.sequence for e in page], [3, 4, 5], "AgentClient.list_events(after_sequence=2, limit=3)")
        replay = await self.collect(agent.stream_events(sid, after_sequence=0), lambda e: e.sequence == events[-1].sequence, "AgentClient.stream_events")
        self.check_equal([e.id for e in replay], [e.id for e in events], "AgentClient.stream_events(after_sequence=0) replay")
        try:
            await agent.run("[[error]] please fail")
        except EverrunsError as error:
            text = str(error)
            self.check(text.startswith("turn failed: ") and "unknown" not in text.split(":")[1] and "no detail" not in text,
                       f"turn.failed should carry error_code and error, got {text!r}")
        else:
            self.check(False, "AgentClient.run('[[error]]') must raise EverrunsError (turn.failed)")
        return f"run() -> {reply!r}; failure -> {text!r}"

    async def step_approvals_and_questions(self) -> str:
        """Tool approvals and ask_user questions with the SDK's own calls: a session holds `add`
        (`tool_approval` capability); the flow sees `tool.approval_requested` on the event stream,
        reads `pending_approvals` with `AgentClient.get_session`, approves through
        `submit_tool_approvals`; then the model asks a question set (`question.requested`,
        `pending_questions`) answered through `answer_questions`. Both turns complete."""
        agent = self.agent_client
        session = await self.client.sessions.create(
            title="approvals", capabilities=[
                AgentCapabilityConfig(ref="test_math"),
                AgentCapabilityConfig(ref="tool_approval", config={"tools": ["add"]}),
                AgentCapabilityConfig(ref="ask_user")])
        sid = session.id
        await self.client.messages.create(sid, '[[tool:add {"a":20,"b":22}]]')
        decided: list[Any] = []

        async def on_approval(event: Event) -> bool:
            if event.type == "tool.approval_requested" and not decided:
                calls = event.data.get("tool_calls") or []
                self.check_equal([c.get("name") for c in calls], ["add"], "tool.approval_requested tool_calls")
                view = await agent.get_session(sid)
                pending = view.get("pending_approvals") or []
                self.check_equal([(p.get("tool_call_id"), p.get("tool_name")) for p in pending],
                                 [(calls[0].get("id"), "add")], "get_session pending_approvals")
                self.check_equal(view.get("status"), "waitingfortoolresults", "session status while a call is held")
                reply = await agent.submit_tool_approvals(
                    sid, {"decisions": [{"tool_call_id": calls[0].get("id"), "approved": True}]})
                self.check_equal(reply, {"accepted": 1, "status": "active"}, "submit_tool_approvals reply")
                decided.append(calls[0].get("id"))
            return event.type == "session.idled"

        events = await self.follow(sid, None, "approval turn", on_approval)
        types = [e.type for e in events]
        self.check(bool(decided), f"no tool.approval_requested in {types}")
        self.check_turn_order(types, "turn.completed", "approval turn")
        self.check("tool.approval_decided" in types, f"no tool.approval_decided in {types}")
        added = [e.data for e in events if e.type == "tool.completed" and e.data.get("tool_name") == "add"]
        self.check_equal([d.get("result") for d in added], [{"result": 42}], "the approved add ran once")

        last = (await self.client.events.list(sid))[-1]
        await self.client.messages.create(
            sid, '[[tool:ask_user {"questions":[{"question":"Which city?","choices":["Oslo","Bern"]}]}]]')
        answered: list[Any] = []

        async def on_question(event: Event) -> bool:
            if event.type == "question.requested" and not answered:
                view = await agent.get_session(sid)
                pending = view.get("pending_questions") or []
                self.check_equal([q.get("question") for p in pending for q in p.get("questions", [])], ["Which city?"],
                                 "get_session pending_questions")
                reply = await agent.answer_questions(sid, {"answers": ["Bern"]})
                self.check_equal(reply, {"accepted": 1, "status": "active"}, "answer_questions reply")
                answered.append(event.data.get("tool_call_id"))
            return event.type == "session.idled"

        events = await self.follow(sid, last.id, "question turn", on_question)
        types = [e.type for e in events]
        self.check(bool(answered), f"no question.requested in {types}")
        results = [e.data.get("result") for e in events if e.type == "tool.completed" and e.data.get("tool_name") == "ask_user"]
        self.check_equal(results, [{"answers": [{"question": "Which city?", "answer": "Bern"}]}], "ask_user result")
        after = await agent.get_session(sid)
        self.check_equal((after.get("pending_approvals"), after.get("pending_questions")), ([], []),
                         "nothing pending after both turns")
        try:
            await agent.submit_tool_approvals(sid, {"decisions": [{"tool_call_id": decided[0], "approved": True}]})
        except ApiError as error:
            self.check_equal((error.status_code, error.code), (409, "not_waiting"), "approval with nothing held")
        else:
            self.check(False, "submit_tool_approvals with nothing held must raise ApiError (409)")
        return "approved add=42; answered ask_user with Bern"

    async def step_capabilities(self) -> str:
        capabilities = await self.client.capabilities.list()
        ids = [c.id for c in capabilities]
        self.check("test_math" in ids, f"capabilities.list must include test_math, got {ids}")
        math = await self.client.capabilities.get("test_math")
        names = [t.get("name") for t in math.tool_definitions or []]
        self.check("add" in names, f"test_math tool_definitions should include add, got {names}")
        return f"{len(ids)} capabilities"

    async def step_models(self) -> str:
        models = await self.client.models.list()
        ids = [m.id for m in models]
        self.check("llmsim/sim" in ids, f"models.list must include llmsim/sim, got {ids}")
        return f"{len(ids)} models"

    async def step_sse_cycling(self) -> str:
        """With SSE_REALTIME_CYCLE_SECS small, the server ends each stream with `disconnecting`;
        the SDK must reconnect with since_id and deliver every event exactly once."""
        cycle = self.sse_cycle_secs
        if not cycle:
            return "SKIPPED: pass --sse-cycle SECS when the server runs with SSE_REALTIME_CYCLE_SECS=SECS"
        session = await self.client.sessions.create(title="sse cycling")
        sid = session.id
        # The wire format first (the SDK hides it): a `disconnecting` frame with reason + retry_ms.
        frame = await asyncio.to_thread(read_disconnecting_frame, f"{self.base_url}/v1/sessions/{sid}/sse",
                                        cycle * 3 + 5, self.api_key)
        self.check(frame is not None, f"no 'disconnecting' SSE frame within {cycle * 3 + 5:.0f}s")
        self.check(isinstance(frame.get("reason"), str) and isinstance(frame.get("retry_ms"), int),
                   f"disconnecting data needs reason (string) and retry_ms (int): {frame}")
        # Then the SDK across several cycles: idle for ~2.5 cycles, then two turns.
        stream = self.client.events.stream(sid)
        events: list[Event] = []

        async def drive() -> None:
            await asyncio.sleep(cycle * 2.5)
            await self.client.messages.create(sid, "first after cycling")
            await asyncio.sleep(cycle * 1.5)
            await self.client.messages.create(sid, "second after cycling")

        driver = asyncio.create_task(drive())
        idled = 0

        def second_idle(event: Event) -> bool:
            nonlocal idled
            idled += event.type == "session.idled"
            return idled == 2

        try:
            events = await self.collect(stream, second_idle, "SSE across connection cycles")
        finally:
            driver.cancel()
        self.check_sequences(events, "SSE across connection cycles")
        listed = await self.client.events.list(sid)
        self.check_equal([e.id for e in events], [e.id for e in listed], "SSE across cycles vs events.list")
        texts = [e.data["message"]["content"][0]["text"] for e in events if e.type == "output.message.completed"]
        self.check_equal(texts, ["Echo: first after cycling", "Echo: second after cycling"], "replies across cycles")
        await self.client.sessions.delete(sid)
        return f"disconnecting {frame}; {len(events)} events over ~{cycle * 4:.0f}s, none lost or repeated"

    async def step_delete(self) -> str:
        await self.client.sessions.delete(self.session.id)
        try:
            await self.client.sessions.get(self.session.id)
        except NotFoundError:
            self.check(True, "")
        else:
            self.check(False, "sessions.get after sessions.delete must raise NotFoundError")
        await self.client.agents.delete(self.agent.id)
        try:
            agent = await self.client.agents.get(self.agent.id)
        except NotFoundError:
            self.check(True, "")
        else:
            self.check(agent.status in ("archived", "deleted"), f"deleted agent should be archived/deleted, got {agent.status!r}")
        return "session deleted, agent archived"

    async def run(self) -> None:
        steps: list[tuple[str, Callable[[], Awaitable[Optional[str]]], bool]] = [
            # (name, body, later steps need it)
            ("sdk version", self.step_sdk_version, False),
            ("auth config, request without a credential", self.step_auth_config, bool(self.login)),
            ("login + API key over HTTP; SDK clients use the key", self.step_sign_in, True),
            ("wrong API key: HTTP 401 (AuthenticationError)", self.step_wrong_key, False),
            ("agents.create compat-agent [test_math]", self.step_create_agent, True),
            ("sessions.create(agent_id)", self.step_create_session, True),
            ("messages.create + events.stream until session.idled", self.step_first_turn, True),
            ("messages.list (user, agent echo)", self.step_list_messages, False),
            ("events.list (filters, cursors)", self.step_list_events, False),
            ("tool call [[tool:add]] + SSE resume with since_id", self.step_tool_turn, False),
            ("agents.get/list, sessions.get/list, errors", self.step_get_and_list, False),
            ("sessions.cancel on idle session (no_op)", self.step_cancel_idle, False),
            ("sessions.cancel on running turn", self.step_cancel_running, False),
            ("client-side tools: tool.call_requested, create_tool_results, resume", self.step_client_tools, False),
            ("client-side tools: new message while waiting; late result 409", self.step_client_tools_superseded, False),
            ("AgentClient.run() against {base}/v1", self.step_agent_client, False),
            ("tool approvals + ask_user: submit_tool_approvals, answer_questions", self.step_approvals_and_questions, False),
            ("capabilities.list/get", self.step_capabilities, False),
            ("models.list", self.step_models, False),
            ("SSE connection cycling (disconnecting, since_id resume)", self.step_sse_cycling, False),
            ("another organization's user: 404 (AUTH_MODE=full)", self.step_other_organization, False),
            ("revoked API key: HTTP 401 on its next request", self.step_revoked_key, False),
            ("sessions.delete, agents.delete", self.step_delete, False),
        ]
        try:
            for name, body, required in steps:
                if not await self.step(name, body) and required:
                    print("stopping: later steps depend on this one", flush=True)
                    break
        finally:
            await self.close_clients()


def read_disconnecting_frame(url: str, timeout: float, api_key: str) -> Optional[dict]:
    """Reads a raw SSE stream until its `disconnecting` frame; returns that frame's data."""
    request = urllib.request.Request(url, headers={"Accept": "text/event-stream", "Authorization": api_key})
    deadline = time.monotonic() + timeout
    with urllib.request.urlopen(request, timeout=timeout) as response:
        event = None
        while time.monotonic() < deadline:
            line = response.readline()
            if not line:
                return None
            line = line.decode().rstrip("\r\n")
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:") and event == "disconnecting":
                return json.loads(line[5:].strip())
            elif not line:
                event = None
    return None


def http_json(method: str, url: str, body: Any = None, token: Optional[str] = None) -> tuple[int, Any, dict]:
    """One plain HTTP request (urllib, not the SDK): status, headers, JSON body ({} when empty)."""
    headers = {"Accept": "application/json"}
    if body is not None:
        headers["Content-Type"] = "application/json"
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, response_headers, raw = response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        status, response_headers, raw = error.code, error.headers, error.read()
    try:
        parsed = json.loads(raw) if raw else {}
    except ValueError:
        parsed = {"unparsed": raw[:200].decode(errors="replace")}
    return status, response_headers, parsed if isinstance(parsed, dict) else {"value": parsed}


def error_code(body: Any) -> Optional[str]:
    """`error.code` of an error envelope."""
    error = body.get("error") if isinstance(body, dict) else None
    return error.get("code") if isinstance(error, dict) else None


def describe(error: BaseException) -> str:
    if isinstance(error, ApiError):
        return f"HTTP {error.status_code} code={error.code!r} message={error.message!r}"
    text = str(error)
    return text if len(text) < 2000 else text[:2000] + "..."


def main() -> int:
    parser = argparse.ArgumentParser(description="everruns-sdk compatibility flow against a Keel server")
    parser.add_argument("base_url", nargs="?", default=os.environ.get("KEEL_URL"),
                        help="http://HOST:PORT[/API_PREFIX] (default: $KEEL_URL)")
    parser.add_argument("--sse-cycle", type=float, metavar="SECS",
                        help="the server's SSE_REALTIME_CYCLE_SECS, when small enough to test reconnects")
    parser.add_argument("--auth-mode", choices=("none", "admin", "full"),
                        help="the AUTH_MODE the server must report in GET /v1/auth/config")
    parser.add_argument("--login", metavar="EMAIL:PASSWORD",
                        help="sign in with this account and run the flow with an API key created for it")
    args = parser.parse_args()
    base_url = args.base_url
    if not base_url:
        parser.error("give BASE_URL or set KEEL_URL")
    login = None
    if args.login:
        email, separator, password = args.login.partition(":")
        if not separator or not email or not password:
            parser.error("--login takes EMAIL:PASSWORD")
        login = (email, password)
    flow = Flow(base_url, sse_cycle_secs=args.sse_cycle, auth_mode=args.auth_mode, login=login)
    try:
        asyncio.run(flow.run())
    finally:
        print(f"compat-flow: passed={flow.passed} failed={flow.failed} base_url={base_url}", flush=True)
    return 0 if flow.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
