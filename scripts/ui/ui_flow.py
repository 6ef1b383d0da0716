"""The web UI in a real browser (scripts/ui-test): playwright driving the system chromium.

Each step is a check; a failed check is reported and the flow goes on where it can. The last line
is `ui: N passed, F failed`; the exit status is 1 when anything failed.
"""
import argparse
import os
import signal
import subprocess
import sys
import time
import urllib.request

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import sync_playwright

VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}


class Checks:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, condition, what):
        if condition:
            self.passed += 1
            print(f"ok   {what}")
        else:
            self.failed += 1
            print(f"FAIL {what}")
        return condition


AXE = Axe()
# WCAG 2.1 A and AA: what "accessible" means here (axe's best-practice rules are advice, not this bar).
AXE_OPTIONS = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
               "resultTypes": ["violations"]}


def accessible(page, checks, what):
    """axe-core (bundled by axe-playwright-python) over the page as it is now: no WCAG A/AA violation."""
    violations = AXE.run(page, options=AXE_OPTIONS).response["violations"]
    found = [f"{v['id']} ({v['impact']}, {len(v['nodes'])}x: {v['nodes'][0]['target']})" for v in violations]
    checks.check(not found, f"{what}: no WCAG 2.1 A/AA violations {found}")


def headers_of(url, extra=None):
    request = urllib.request.Request(url, headers=extra or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


WEATHER = {"type": "client_side", "name": "get_weather", "description": "Weather in a city",
           "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}


def open_session(page, base, body):
    """A session made through the API with the browser's own cookies, opened in the chat view."""
    response = page.request.post(base + "/api/v1/sessions", data={"model_id": "llmsim/sim", **body})
    session_id = response.json()["id"]
    page.goto(f"{base}/#/sessions/{session_id}")
    # The previous chat stays on screen until the new one renders: wait for this session's.
    page.locator(f'ol.chat[data-session-id="{session_id}"]').wait_for(state="attached", timeout=10_000)


TURNS_ENDED = "li.message.timeline"
# The number of ended turns (each gets a timeline) when the last message was sent, per page.
sent_at = {}


def send(page, text):
    sent_at[id(page)] = page.locator(TURNS_ENDED).count()
    page.get_by_label("Message").fill(text)
    page.get_by_role("button", name="Send").click()


def wait_idle(page, turns=1):
    """Until `turns` turns have ended since the last send and the session is idle: right after a
    send the page may still say idle, before the stream has shown the turn start."""
    ended = sent_at.get(id(page), 0) + turns
    page.locator(TURNS_ENDED).nth(ended - 1).wait_for(state="attached", timeout=20_000)
    page.locator("#session-state", has_text="idle").wait_for(timeout=20_000)


def human_in_the_loop(page, base, checks, shot):
    conversation = page.get_by_role("list", name="Conversation")

    # A held call: Approve, then the tool runs and the turn ends with its result.
    open_session(page, base, {"capabilities": [{"ref": "test_math"}, {"ref": "tool_approval", "config": {"tools": ["add"]}}]})
    send(page, '[[tool:add {"a":2,"b":3}]]')
    page.get_by_role("button", name="Approve").wait_for(timeout=20_000)
    checks.check(page.get_by_role("button", name="Cancel").is_visible(), "Cancel is offered while the turn waits")
    shot("approval")
    page.get_by_role("button", name="Approve").click()
    page.get_by_text("Approved").wait_for(timeout=20_000)
    wait_idle(page)
    answer = conversation.locator("li.message.agent").last.inner_text()
    checks.check('"result":5' in answer.replace(" ", ""), f"an approved call runs: {answer}")

    # A client-side tool: the person answers it in the chat.
    open_session(page, base, {"tools": [WEATHER]})
    send(page, '[[tool:get_weather {"city":"Oslo"}]]')
    result = page.get_by_label("Result of get_weather")
    result.wait_for(timeout=20_000)
    shot("client-tool")
    result.fill('{"celsius": -3}')
    page.get_by_role("button", name="Send result").click()
    wait_idle(page)
    answer = conversation.locator("li.message.agent").last.inner_text()
    checks.check("celsius" in answer and "-3" in answer, f"the client's result reaches the model: {answer}")

    # Cancel while the turn waits.
    open_session(page, base, {"tools": [WEATHER]})
    send(page, '[[tool:get_weather {"city":"Bergen"}]]')
    page.get_by_label("Result of get_weather").wait_for(timeout=20_000)
    page.get_by_role("button", name="Cancel").click()
    wait_idle(page)
    checks.check(conversation.get_by_text("Work was cancelled by user.").count() == 1, "Cancel ends the turn")
    checks.check(not page.get_by_role("button", name="Cancel").is_visible(), "Cancel is gone once the session is idle")
    shot("cancelled")


def agent_text(page):
    agents = page.get_by_role("list", name="Conversation").locator("li.message.agent:not([hidden]) .text")
    return [item.inner_text() for item in agents.all()]


def markdown_queue_and_reload(page, base, checks, shot):
    """Markdown rendered as nodes (hostile markup stays text); a second message waits as queued;
    a reload mid-stream replays the text once."""
    conversation = page.get_by_role("list", name="Conversation")
    open_session(page, base, {})
    send(page, "a plan\n\n# Plan\n\n**bold** and `code`, a [site](https://example.com/x) and a [trap](javascript:alert(1))\n\n"
               "- one\n- two\n\n<img src=x onerror=alert(1)><script>alert(2)</script>\n\n```\nlet x = 1\n```")
    wait_idle(page)
    answer = conversation.locator("li.message.agent").last
    checks.check(answer.locator("strong", has_text="bold").count() == 1 and answer.locator("code", has_text="code").count() == 1
                 and answer.locator("h2", has_text="Plan").count() == 1 and answer.locator("li").count() == 2
                 and answer.locator("pre code", has_text="let x = 1").count() == 1,
                 f"the agent's markdown is rendered: heading, emphasis, code, list, code block: {answer.inner_html()}")
    links = [(link.inner_text(), link.get_attribute("href"), link.get_attribute("rel")) for link in answer.locator("a").all()]
    checks.check(links == [("site", "https://example.com/x", "noopener noreferrer nofollow")],
                 f"only the https link is a link, opened without referrer: {links}")
    checks.check(answer.locator("img, script").count() == 0 and "<img src=x" in answer.inner_text(),
                 "markup in model output stays text (no img, no script)")
    shot("markdown")
    accessible(page, checks, "a chat with rendered markdown")

    # Hostile nesting: 200 quote levels render to at most 8 nested quotes, the rest as text.
    send(page, "deep\n\n" + "> " * 200 + "bottom")
    wait_idle(page)
    deep = conversation.locator("li.message.agent").last
    depth = deep.evaluate("n => { let d = 0, q = n.querySelector('blockquote'); while (q) { d++; q = q.querySelector('blockquote'); } return d; }")
    checks.check(1 <= depth <= 9 and "bottom" in deep.inner_text(), f"deep nesting is cut off ({depth} quotes), text kept")

    # Past 100,000 characters a reply is plain text (the inline patterns backtrack): one word, no spaces,
    # so the sim streams it in two chunks.
    send(page, "**bold**" + "y" * 100_000)
    wait_idle(page)
    long_reply = conversation.locator("li.message.agent").last
    checks.check(long_reply.locator("strong").count() == 0 and long_reply.locator("p.plain").count() == 1
                 and "**bold**" in long_reply.inner_text(), "a reply over 100,000 characters is shown as plain text")

    # Queued: a second message while the first turn streams is marked until its turn starts.
    open_session(page, base, {})
    send(page, "[[pace:150]] one two three four five six seven")
    page.locator("#session-state", has_text="active").wait_for(timeout=10_000)
    send(page, "second message")
    second = conversation.locator("li.message.user").filter(has_text="second message")
    second.wait_for(timeout=10_000)
    checks.check(second.locator(".badge", has_text="queued").count() == 1, "a message sent mid-turn is marked queued")
    shot("queued")
    second.locator(".badge").wait_for(state="detached", timeout=20_000)
    wait_idle(page, turns=2)
    texts = agent_text(page)
    checks.check(texts == ["Echo: one two three four five six seven", "Echo: second message"],
                 f"the queued message ran after the first: {texts}")

    # The server cycles session streams every ~2 s (SSE_REALTIME_CYCLE_SECS=2): a 4 s reply is
    # received over several connections, each resumed with Last-Event-ID, and shown once.
    open_session(page, base, {})
    session_id = page.url.rsplit("/", 1)[-1]
    connections = []
    count = lambda request: connections.append(request.url) if request.url.endswith(f"/sessions/{session_id}/sse") else None
    page.on("request", count)
    words = " ".join(f"w{index}" for index in range(20))
    send(page, f"[[pace:200]] {words}")
    wait_idle(page)
    page.remove_listener("request", count)
    streams = len(connections)
    texts = agent_text(page)
    checks.check(streams >= 1 and texts == [f"Echo: {words}"],
                 f"a reply streamed across {streams} reconnections is shown once: {texts}")

    # Reload while a reply is still streaming: the text is replayed once, never doubled.
    open_session(page, base, {})
    send(page, "[[pace:120]] a b c d e f g h i j k l m n o p")
    conversation.locator("li.message.agent", has_text="Echo: a b").wait_for(timeout=10_000)
    partial = agent_text(page)
    page.reload()
    page.get_by_label("Message").wait_for(timeout=10_000)
    wait_idle(page)
    page.wait_for_timeout(300)
    texts = agent_text(page)
    checks.check(len(partial) == 1 and partial[0] != "Echo: a b c d e f g h i j k l m n o p",
                 f"the reload came mid-stream ({partial})")
    checks.check(texts == ["Echo: a b c d e f g h i j k l m n o p"], f"after a reload mid-turn, nothing doubled: {texts}")


def questions(page, base, checks, shot):
    """ask_user: the model's questions with their choices; the answers become the call's result."""
    open_session(page, base, {"capabilities": [{"ref": "ask_user"}]})
    send(page, '[[tool:ask_user {"questions":[{"question":"Which colour?","choices":["red","blue"]},{"question":"Why that one?"}]}]]')
    page.get_by_role("group", name="Which colour?").wait_for(timeout=20_000)
    shot("question")
    accessible(page, checks, "a pending question")
    page.get_by_role("radio", name="blue").check()
    page.get_by_label("Why that one?").fill("it is calm")
    page.get_by_role("button", name="Send answers").click()
    wait_idle(page)
    answer = agent_text(page)[-1]
    checks.check("blue" in answer and "it is calm" in answer, f"the answers reach the model: {answer}")
    checks.check(page.get_by_role("button", name="Send answers").count() == 0, "the answered form is gone")


def organizations(page, base, checks, shot, agent_name):
    """A user in two organizations switches between them; the chat's stream follows the choice."""
    created = page.request.post(base + "/api/v1/orgs", data={"name": "Second org"})
    checks.check(created.status == 201, f"a second organization ({created.status})")
    page.goto(base + "/#/agents")
    switcher = page.get_by_label("Organization")
    switcher.wait_for(timeout=10_000)
    shot("organizations")
    agents = page.get_by_role("list", name="Agents")
    agents.get_by_role("link", name=agent_name).wait_for(timeout=10_000)
    switcher.select_option(label="Second org (owner)")
    agents.get_by_role("listitem").filter(has_text=agent_name).wait_for(state="detached", timeout=10_000)
    checks.check(agents.get_by_role("listitem").filter(has_text=agent_name).count() == 0,
                 "in the second organization the first one's agent is not listed")
    me = page.request.get(base + "/api/v1/auth/me").json()
    checks.check(me["organization_id"] == created.json()["id"], "the API acts in the chosen organization")
    open_session(page, base, {})
    send(page, "hello second org")
    wait_idle(page)
    checks.check(agent_text(page) == ["Echo: hello second org"], "a chat in the second organization streams")
    page.goto(base + "/#/agents")
    switcher.select_option(index=0)
    agents.get_by_role("link", name=agent_name).wait_for(timeout=10_000)
    checks.check(agents.get_by_role("link", name=agent_name).count() == 1,
                 "switching back lists the first organization's agent again")


def durable_operations(browser, base, checks, args, shots):
    """On PostgreSQL with one `keel worker`: a worker killed mid-step leaves a dead letter
    (DURABLE_MAX_ATTEMPTS=1); the operator sees it live on Operations, starts a worker, requeues it,
    and the turn finishes in the chat."""
    context = browser.new_context(viewport=VIEWPORTS["desktop"])
    page = context.new_page()
    problems = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    worker_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "WORKER_GRPC_ADDRESS": args.worker_grpc,
                  "WORKER_GRPC_AUTH_TOKEN": args.worker_token, "WORKER_HEARTBEAT_INTERVAL_SECS": "0.3",
                  "LOG_LEVEL": "warning", "DEPLOYMENT_GRADE": "dev"}

    def worker(name):
        log = open(f"{args.worker_logs}/{name}.log", "w")
        return subprocess.Popen([args.keel_bin, "worker"], env={**worker_env, "WORKER_ID": name}, stdout=log, stderr=log)

    email, password = args.login.split(":", 1)
    first = worker("ui-worker-1")
    second = None
    try:
        page.goto(base + "/")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Log in").click()
        page.get_by_role("heading", name="Agents").wait_for(timeout=10_000)
        open_session(page, base, {})
        send(page, "[[pace:1000]] slow reply")
        page.locator("#session-state", has_text="active").wait_for(timeout=20_000)
        page.get_by_role("list", name="Conversation").locator("li.message.agent", has_text="Echo:").wait_for(timeout=20_000)
        first.send_signal(signal.SIGKILL)
        first.wait()
        failed = page.get_by_role("list", name="Conversation").get_by_role("alert")
        failed.wait_for(timeout=30_000)
        checks.check(failed.count() >= 1, f"the turn fails once its step is dead-lettered: {failed.first.inner_text()}")
        session_url = page.url

        page.get_by_role("link", name="Operations").click()
        page.get_by_role("heading", name="Operations").wait_for(timeout=10_000)
        requeue = page.get_by_role("button", name="Requeue")
        requeue.first.wait_for(timeout=20_000)
        letters = page.get_by_role("region", name="Dead letters")
        checks.check("heartbeat lost" in letters.inner_text(), "the dead letter says why: the worker's heartbeat was lost")
        workers = page.get_by_role("region", name="Workers")
        workers.get_by_text("lost").wait_for(timeout=20_000)
        checks.check("ui-worker-1" in workers.inner_text(), "the killed worker is listed as lost")
        page.screenshot(path=f"{shots}/operations-dead-letter-desktop.png", full_page=True)
        accessible(page, checks, "the Operations page with a dead letter")

        second = worker("ui-worker-2")
        workers.get_by_role("button", name="Drain ui-worker-2").wait_for(timeout=20_000)
        requeue.first.click()
        page.get_by_text("Requeued").first.wait_for(timeout=10_000)
        letters.get_by_role("button", name="Requeue").first.wait_for(state="detached", timeout=10_000)
        checks.check(letters.get_by_role("button", name="Requeue").count() == 0, "the requeued letter leaves the list")
        page.goto(session_url)
        page.get_by_label("Message").wait_for(timeout=10_000)
        page.get_by_role("list", name="Conversation").locator("li.message.agent .text", has_text="Echo: slow reply") \
            .wait_for(timeout=30_000)
        texts = agent_text(page)
        checks.check(texts[-1:] == ["Echo: slow reply"], f"after the requeue the turn finishes on the new worker: {texts}")
        page.get_by_role("link", name="Operations").click()
        workers.get_by_role("button", name="Drain ui-worker-2").click()
        workers.get_by_role("button", name="Undrain ui-worker-2").wait_for(timeout=10_000)
        drained = page.request.get(base + "/api/v1/durable/workers/ui-worker-2").json()
        checks.check(drained.get("status") == "draining", f"a worker is drained from the page: {drained.get('status')}")
        page.screenshot(path=f"{shots}/operations-desktop.png", full_page=True)
        checks.check(not problems, f"[durable] no page errors: {problems}")
    finally:
        for process in (first, second):
            if process and process.poll() is None:
                process.send_signal(signal.SIGKILL)
                process.wait()
        context.close()


def providers(page, checks, shot):
    """Settings › Providers: a key is sent once and never shown again, only that it is set."""
    secret = "sk-ui-never-shown-0123456789"
    page.get_by_role("link", name="Providers").click()
    page.get_by_role("heading", name="Providers").wait_for(timeout=10_000)
    page.get_by_label("Name", exact=True).fill("ui-provider")
    page.get_by_label("API key").fill(secret)
    page.get_by_label("Models").fill("ui-model-a, ui-model-b")
    page.get_by_role("button", name="Save provider").click()
    page.get_by_text("Provider saved.").wait_for(timeout=10_000)
    item = page.get_by_role("list", name="Providers").get_by_role("listitem").filter(has_text="ui-provider")
    checks.check(item.count() == 1 and "Key: set" in item.inner_text(), "the provider is listed with its key set")
    checks.check(page.get_by_label("API key").input_value() == "", "the key field is emptied after saving")
    checks.check(secret not in page.content(), "the key is not in the page")
    page.reload()
    page.get_by_role("heading", name="Providers").wait_for(timeout=10_000)
    page.get_by_text("ui-provider").first.wait_for(timeout=10_000)
    checks.check(secret not in page.content(), "nor after a reload")
    shot("providers")
    page.get_by_role("button", name="Delete ui-provider").click()
    listed = page.get_by_role("list", name="Providers").get_by_role("listitem").filter(has_text="ui-provider")
    listed.first.wait_for(state="detached", timeout=10_000)
    checks.check(listed.count() == 0, "the provider is deleted")


def api_keys(page, base, checks, shot):
    """API keys: shown once; the key works as a credential; revoked, it stops working."""
    page.get_by_role("link", name="API keys").click()
    page.get_by_role("heading", name="API keys").wait_for(timeout=10_000)
    page.get_by_label("Key name").fill("ui-key")
    page.get_by_role("button", name="Create key").click()
    shown = page.get_by_label("New API key")
    shown.wait_for(timeout=10_000)
    key = shown.inner_text().strip()
    shot("api-key-created")
    status = page.request.get(base + "/api/v1/agents", headers={"Authorization": key}).status
    checks.check(key.startswith("evr_") and status == 200, f"the new key is shown once and works ({status})")
    page.reload()
    page.get_by_role("heading", name="API keys").wait_for(timeout=10_000)
    page.get_by_text("ui-key").first.wait_for(timeout=10_000)
    checks.check(key not in page.content(), "after a reload the key is not shown again")
    page.get_by_role("button", name="Revoke ui-key").click()
    page.get_by_text("Revoked ui-key.").wait_for(timeout=10_000)
    context = page.context.browser.new_context()
    status = context.request.get(base + "/api/v1/agents", headers={"Authorization": key}).status
    context.close()
    checks.check(status == 401, f"a revoked key is refused ({status})")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("base_url")
    parser.add_argument("--chromium", required=True)
    parser.add_argument("--screenshots", required=True)
    parser.add_argument("--login", required=True, help="email:password of the administrator")
    parser.add_argument("--durable-url", help="a second server, on PostgreSQL with workers only")
    parser.add_argument("--keel-bin", help="the keel binary, to start workers for --durable-url")
    parser.add_argument("--worker-grpc", help="host:port of the durable server's worker listener")
    parser.add_argument("--worker-token", help="its WORKER_GRPC_AUTH_TOKEN")
    parser.add_argument("--worker-logs", help="folder for the workers' logs")
    args = parser.parse_args()
    email, password = args.login.split(":", 1)
    base = args.base_url.rstrip("/")
    checks = Checks()

    # The page and its files: caching and security headers, conditional requests.
    status, headers, body = headers_of(base + "/")
    page = body.decode()
    csp = headers.get("Content-Security-Policy", "")
    checks.check(status == 200 and headers.get("Content-Type", "").startswith("text/html"), "GET / serves the page")
    checks.check("script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp,
                 f"a strict Content-Security-Policy: {csp}")
    checks.check(headers.get("Cache-Control") == "no-cache" and headers.get("ETag"), "the page revalidates by ETag")
    checks.check('name="keel-api-prefix" content="/api"' in page, "the page names the API prefix")
    checks.check("<script>" not in page and "onclick=" not in page, "no inline script in the page")
    status, _, _ = headers_of(base + "/", {"If-None-Match": headers.get("ETag", "")})
    checks.check(status == 304, "a matching If-None-Match gets 304")
    asset = page.split('src="', 1)[1].split('"', 1)[0] if 'src="' in page else ""
    status, asset_headers, _ = headers_of(base + asset)
    checks.check(status == 200 and "immutable" in asset_headers.get("Cache-Control", ""),
                 f"{asset} is cached as immutable")
    checks.check(asset_headers.get("Content-Type", "").startswith("text/javascript"), "modules are JavaScript")
    status, _, _ = headers_of(base + "/assets/0000000000000000/app.js")
    checks.check(status == 404, "another version's files are not served")

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=args.chromium, args=["--no-sandbox"])
        for viewport_name, viewport in VIEWPORTS.items():
            context = browser.new_context(viewport=viewport)
            page = context.new_page()
            problems = []
            # A refused credential is a 401 the browser reports as a failed load: that one is the
            # point of the login step; anything else is a problem.
            page.on("console", lambda message: problems.append(message.text)
                    if message.type == "error" and "status of 401" not in message.text else None)
            page.on("pageerror", lambda error: problems.append(str(error)))

            def shot(name):
                page.screenshot(path=f"{args.screenshots}/{name}-{viewport_name}.png", full_page=True)

            page.goto(base + "/")
            page.get_by_label("Email").wait_for(timeout=10_000)
            shot("login")
            accessible(page, checks, f"[{viewport_name}] the login page")
            checks.check(page.get_by_role("button", name="Log in").is_visible(), f"[{viewport_name}] the login form")
            page.get_by_label("Email").fill(email)
            page.get_by_label("Password").fill("wrong password")
            page.get_by_role("button", name="Log in").click()
            alert = page.get_by_role("alert")
            alert.wait_for(timeout=10_000)
            checks.check("password" in alert.inner_text().lower() or "invalid" in alert.inner_text().lower(),
                         f"[{viewport_name}] a wrong password is refused: {alert.inner_text()}")
            # By keyboard: the email field has focus, Tab goes to the password, then to Log in.
            focused = lambda: page.evaluate("document.activeElement.name || document.activeElement.textContent")
            page.get_by_label("Email").focus()
            page.keyboard.press("Tab")
            after_email = focused()
            page.keyboard.type(password) if after_email == "password" else page.get_by_label("Password").fill(password)
            page.keyboard.press("Tab")
            after_password = focused()
            checks.check((after_email, after_password) == ("password", "Log in"),
                         f"[{viewport_name}] focus order: email, password, Log in ({after_email}, {after_password})")
            page.keyboard.press("Enter")
            page.get_by_role("heading", name="Agents").wait_for(timeout=10_000)
            agents = page.get_by_role("list", name="Agents")
            agents.get_by_role("listitem").first.wait_for(timeout=10_000)
            checks.check(agents.get_by_role("listitem").count() >= 1, f"[{viewport_name}] the seed agents are listed")
            shot("agents")
            accessible(page, checks, f"[{viewport_name}] the agents page")

            name = f"ui-{viewport_name}-agent"
            page.get_by_label("Name").fill(name)
            page.get_by_label("System prompt").fill("You are tested in a browser. <script>alert(1)</script>")
            sim = [option for option in page.get_by_label("Model").locator("option").all()
                   if "sim" in (option.get_attribute("value") or "")]
            checks.check(bool(sim), f"[{viewport_name}] the model picker offers the sim model")
            page.get_by_label("Model").select_option(value=sim[0].get_attribute("value") if sim else None, index=None if sim else 1)
            page.get_by_role("button", name="Create agent").click()
            page.get_by_text("Agent created.").wait_for(timeout=10_000)
            checks.check(agents.get_by_role("listitem").filter(has_text=name).count() == 1,
                         f"[{viewport_name}] the new agent is listed once")
            page.get_by_label("Search").fill(name)
            checks.check(agents.get_by_role("listitem").count() == 1, f"[{viewport_name}] search narrows the list")
            shot("agent-created")

            # Edit: a capability from the catalogue, saved and read back through the API.
            agents.get_by_role("link", name=name).click()
            page.get_by_role("heading", name="Edit agent").wait_for(timeout=10_000)
            accessible(page, checks, f"[{viewport_name}] an agent's page")
            page.get_by_role("checkbox", name="Current Time").or_(page.get_by_role("checkbox", name="current_time")).first.check()
            page.get_by_role("button", name="Save agent").click()
            page.get_by_text("Agent saved.").wait_for(timeout=10_000)
            saved = page.request.get(base + "/api/v1/agents?limit=100").json()["data"]
            refs = [capability["ref"] for agent in saved if agent["name"] == name for capability in agent.get("capabilities", [])]
            checks.check(refs == ["current_time"], f"[{viewport_name}] the edited agent has the chosen capability: {refs}")

            # Chat: a new session of the agent; the sim model calls its tool, the stream shows it.
            page.get_by_role("button", name="New session").click()
            page.get_by_label("Message").wait_for(timeout=10_000)
            send(page, 'hello <b>bold</b> [[tool:get_current_time {}]]')
            conversation = page.get_by_role("list", name="Conversation")
            wait_idle(page)
            page.locator("li.message.tool").first.wait_for(timeout=20_000)
            user = conversation.locator("li.message.user")
            checks.check(user.count() == 1 and "<b>bold</b>" in user.first.inner_text(),
                         f"[{viewport_name}] the user's message is shown as text, markup included")
            tool = conversation.locator("li.message.tool")
            checks.check(tool.count() == 1 and "get_current_time" in tool.first.inner_text(),
                         f"[{viewport_name}] the tool call is shown with its name")
            checks.check("Unknown tool" not in tool.first.inner_text(), f"[{viewport_name}] the capability's tool ran")
            agent_messages = conversation.locator("li.message.agent:not([hidden])")
            agent_messages.last.wait_for(timeout=20_000)
            before = [item.inner_text() for item in agent_messages.all()]
            checks.check(len(before) >= 1 and all(text.strip() for text in before),
                         f"[{viewport_name}] the agent's answer streamed in: {before}")
            timeline = conversation.locator("li.message.timeline")
            checks.check(timeline.count() == 1, f"[{viewport_name}] the turn has a timeline")
            if timeline.count():
                timeline.first.locator("summary").click()
                spans = timeline.first.get_by_role("list", name="Turn timeline").get_by_role("listitem")
                labels = [span.inner_text() for span in spans.all()]
                checks.check(sum("model call" in label for label in labels) == 2
                             and sum("get_current_time" in label for label in labels) == 1,
                             f"[{viewport_name}] two model calls and the tool on the timeline: {labels}")
            shot("chat")
            accessible(page, checks, f"[{viewport_name}] the chat")
            page.reload()
            page.get_by_label("Message").wait_for(timeout=10_000)
            page.locator("li.message.tool").first.wait_for(timeout=20_000)
            page.wait_for_timeout(500)
            after = [item.inner_text() for item in page.locator("li.message.agent:not([hidden])").all()]
            checks.check(after == before, f"[{viewport_name}] a reload replays the same conversation, nothing doubled")
            if viewport_name == "desktop":
                human_in_the_loop(page, base, checks, shot)
                markdown_queue_and_reload(page, base, checks, shot)
                questions(page, base, checks, shot)
                providers(page, checks, shot)
                accessible(page, checks, "Settings › Providers")
                page.get_by_role("link", name="Operations").click()
                page.get_by_role("heading", name="Operations").wait_for(timeout=10_000)
                checks.check(page.get_by_text("Operations need PostgreSQL").count() == 1,
                             "Operations explains that DEV_MODE has no durable queue")
                shot("operations-dev")
                api_keys(page, base, checks, shot)
                accessible(page, checks, "API keys")
                organizations(page, base, checks, shot, name)
            page.goto(base + "/#/agents")
            page.get_by_role("heading", name="Agents").wait_for(timeout=10_000)

            page.get_by_role("button", name="Log out").click()
            page.get_by_label("Email").wait_for(timeout=10_000)
            checks.check(page.get_by_role("button", name="Log in").is_visible(), f"[{viewport_name}] logged out")
            checks.check(not problems, f"[{viewport_name}] no console errors: {problems}")
            context.close()
        if args.durable_url:
            durable_operations(browser, args.durable_url.rstrip("/"), checks, args, args.screenshots)
        else:
            print("skip the durable Operations flow: no --durable-url (scripts/ui-test gives one under scripts/with-postgres)")
        browser.close()

    print(f"ui: {checks.passed} passed, {checks.failed} failed")
    return 0 if checks.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
