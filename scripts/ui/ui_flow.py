"""The web UI in a real browser (scripts/ui-test): playwright driving the system chromium.

Each step is a check; a failed check is reported and the flow goes on where it can. The last line
is `ui: N passed, F failed`; the exit status is 1 when anything failed.
"""
import argparse
import sys
import urllib.request

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
    page.get_by_label("Message").wait_for(timeout=10_000)


def send(page, text):
    page.get_by_label("Message").fill(text)
    page.get_by_role("button", name="Send").click()


def wait_idle(page):
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
            checks.check(page.get_by_role("button", name="Log in").is_visible(), f"[{viewport_name}] the login form")
            page.get_by_label("Email").fill(email)
            page.get_by_label("Password").fill("wrong password")
            page.get_by_role("button", name="Log in").click()
            alert = page.get_by_role("alert")
            alert.wait_for(timeout=10_000)
            checks.check("password" in alert.inner_text().lower() or "invalid" in alert.inner_text().lower(),
                         f"[{viewport_name}] a wrong password is refused: {alert.inner_text()}")
            page.get_by_label("Password").fill(password)
            page.get_by_role("button", name="Log in").click()
            page.get_by_role("heading", name="Agents").wait_for(timeout=10_000)
            agents = page.get_by_role("list", name="Agents")
            agents.get_by_role("listitem").first.wait_for(timeout=10_000)
            checks.check(agents.get_by_role("listitem").count() >= 1, f"[{viewport_name}] the seed agents are listed")
            shot("agents")

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
            page.get_by_role("checkbox", name="Current Time").or_(page.get_by_role("checkbox", name="current_time")).first.check()
            page.get_by_role("button", name="Save agent").click()
            page.get_by_text("Agent saved.").wait_for(timeout=10_000)
            saved = page.request.get(base + "/api/v1/agents?limit=100").json()["data"]
            refs = [capability["ref"] for agent in saved if agent["name"] == name for capability in agent.get("capabilities", [])]
            checks.check(refs == ["current_time"], f"[{viewport_name}] the edited agent has the chosen capability: {refs}")

            # Chat: a new session of the agent; the sim model calls its tool, the stream shows it.
            page.get_by_role("button", name="New session").click()
            page.get_by_label("Message").wait_for(timeout=10_000)
            page.get_by_label("Message").fill('hello <b>bold</b> [[tool:get_current_time {}]]')
            page.get_by_role("button", name="Send").click()
            conversation = page.get_by_role("list", name="Conversation")
            page.locator("#session-state", has_text="idle").wait_for(timeout=20_000)
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
            page.reload()
            page.get_by_label("Message").wait_for(timeout=10_000)
            page.locator("li.message.tool").first.wait_for(timeout=20_000)
            page.wait_for_timeout(500)
            after = [item.inner_text() for item in page.locator("li.message.agent:not([hidden])").all()]
            checks.check(after == before, f"[{viewport_name}] a reload replays the same conversation, nothing doubled")
            if viewport_name == "desktop":
                human_in_the_loop(page, base, checks, shot)
                providers(page, checks, shot)
                page.get_by_role("link", name="Operations").click()
                page.get_by_role("heading", name="Operations").wait_for(timeout=10_000)
                checks.check(page.get_by_text("Operations need PostgreSQL").count() == 1,
                             "Operations explains that DEV_MODE has no durable queue")
                shot("operations-dev")
                api_keys(page, base, checks, shot)
            page.goto(base + "/#/agents")
            page.get_by_role("heading", name="Agents").wait_for(timeout=10_000)

            page.get_by_role("button", name="Log out").click()
            page.get_by_label("Email").wait_for(timeout=10_000)
            checks.check(page.get_by_role("button", name="Log in").is_visible(), f"[{viewport_name}] logged out")
            checks.check(not problems, f"[{viewport_name}] no console errors: {problems}")
            context.close()
        browser.close()

    print(f"ui: {checks.passed} passed, {checks.failed} failed")
    return 0 if checks.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
