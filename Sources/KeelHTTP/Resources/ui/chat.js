// A session's chat, live: the event stream (EventSource on the session's SSE route; it resumes
// with Last-Event-ID by itself after a dropped connection) rebuilt into messages. Every event is
// applied once (by id), and a completed message replaces its streamed text, so a reconnect or a
// reload never duplicates text. Model output is rendered as markdown by markdown.js, which builds
// nodes itself (no HTML parsing); tool output only ever becomes text nodes.
import { api, apiPath, APIError } from "./api.js";
import { el, show } from "./dom.js";
import { renderMarkdown } from "./markdown.js";
import { TurnTimeline } from "./timeline.js";

function textOf(message) {
  return (message?.content ?? []).filter((part) => part.type === "text").map((part) => part.text).join("");
}

function compact(value) {
  const text = typeof value === "string" ? value : JSON.stringify(value);
  return text.length > 2000 ? text.slice(0, 2000) + "…" : text;
}

export async function chatPage(main, sessionID) {
  const session = await api("GET", `/v1/sessions/${encodeURIComponent(sessionID)}`);
  const log = el("ol", { class: "chat", "aria-label": "Conversation", "aria-live": "polite", "data-session-id": sessionID });
  const state = el("p", { class: "muted", id: "session-state" }, session.status);
  const input = el("textarea", { name: "message", rows: 3, required: true, "aria-label": "Message" });
  const send = el("button", { type: "submit" }, "Send");
  const cancel = el("button", { type: "button", class: "secondary", hidden: true }, "Cancel");
  const status = el("div", { "aria-live": "polite" });
  const seen = new Set();
  const timeline = new TurnTimeline();
  const agentBubbles = new Map();
  const tools = new Map();
  // Waits the turn may still be in (approvals, questions, client tools), by call id: each settles
  // once its outcome is in the stream, so a replay after a reload offers no stale controls.
  const waits = new Map();
  // The user's messages sent while a turn ran, by message id: marked queued until their turn starts.
  const queued = new Map();
  let active = false;

  const bubble = (role, text, id) => {
    const body = el("div", { class: "text" }, text);
    const item = el("li", { class: `message ${role}`, "data-message-id": id ?? "" }, el("span", { class: "role" }, role), body);
    log.append(item);
    return body;
  };
  // An agent message's markdown, re-rendered at most once a frame while it streams.
  const agentBubble = (messageID) => {
    if (!agentBubbles.has(messageID)) agentBubbles.set(messageID, { body: bubble("agent", "", messageID), text: "", frame: 0 });
    return agentBubbles.get(messageID);
  };
  const render = (entry) => {
    cancelAnimationFrame(entry.frame);
    entry.frame = 0;
    entry.body.replaceChildren(...renderMarkdown(entry.text));
  };
  const setAgentText = (messageID, text, now) => {
    const entry = agentBubble(messageID);
    entry.text = text;
    if (now) render(entry);
    else entry.frame ||= requestAnimationFrame(() => render(entry));
    return entry;
  };
  const setActive = (value) => {
    active = value;
    cancel.hidden = !value;
    state.textContent = value ? "active" : "idle";
  };
  const settle = (callID, outcome) => {
    waits.get(callID)?.(outcome);
    waits.delete(callID);
  };

  const apply = (event) => {
    if (seen.has(event.id)) return;
    seen.add(event.id);
    const data = event.data ?? {};
    const ended = timeline.add(event);
    switch (event.type) {
      case "input.message": {
        const user = data.message?.role === "user";
        const body = bubble(user ? "user" : "notice", textOf(data.message), data.message?.id);
        if (user && active && data.message?.id) {
          const mark = el("span", { class: "badge" }, "queued");
          body.closest("li").append(mark);
          queued.set(data.message.id, mark);
        }
        break;
      }
      case "turn.started":
        queued.get(data.input_message_id)?.remove();
        queued.delete(data.input_message_id);
        break;
      case "turn.cancelled":
        // A cancel drops every queued message with the running turn.
        for (const mark of queued.values()) mark.textContent = "not run: cancelled";
        queued.clear();
        break;
      case "output.message.started":
        agentBubble(data.message_id);
        break;
      case "output.message.delta":
        setAgentText(data.message_id, data.accumulated ?? (agentBubble(data.message_id).text + (data.delta ?? "")));
        break;
      case "output.message.completed": {
        const text = textOf(data.message);
        const entry = setAgentText(data.message?.id, text, true);
        if (!text) entry.body.closest("li").hidden = true;
        break;
      }
      case "reason.thinking.delta": {
        const key = `thinking:${data.turn_id}`;
        if (!agentBubbles.has(key)) {
          const box = el("details", { class: "thinking" }, el("summary", {}, "Thinking"), el("div", { class: "text" }));
          log.append(el("li", { class: "message thinking" }, box));
          agentBubbles.set(key, box.querySelector(".text"));
        }
        agentBubbles.get(key).textContent = data.accumulated ?? "";
        break;
      }
      case "tool.started": {
        const call = data.tool_call ?? {};
        const result = el("div", { class: "result muted" }, "running…");
        log.append(el("li", { class: "message tool" },
          el("span", { class: "role" }, "tool"),
          el("code", {}, `${call.name}(${compact(call.arguments ?? {})})`), result));
        tools.set(call.id, result);
        break;
      }
      case "tool.completed": {
        const result = tools.get(data.tool_call_id);
        if (result) {
          result.className = data.success ? "result" : "result error";
          result.textContent = data.success ? compact(data.result ?? "") : compact(data.error ?? "failed");
        }
        settle(data.tool_call_id, data.success ? "answered" : "ended without an answer");
        break;
      }
      case "tool.call_requested":
        for (const call of data.tool_calls ?? []) log.append(clientToolItem(call));
        break;
      case "tool.approval_requested":
        for (const call of data.tool_calls ?? []) log.append(approvalItem(call));
        break;
      case "tool.approval_decided":
        settle(data.tool_call_id, data.approved ? "Approved" : `Rejected${data.reason ? `: ${data.reason}` : ""}`);
        break;
      case "question.requested":
        log.append(questionItem(data.tool_call_id, data.questions ?? []));
        break;
      case "turn.failed":
        log.append(el("li", { class: "message notice error", role: "alert" }, data.error ?? "The turn failed."));
        break;
      case "session.activated":
        setActive(true);
        break;
      case "session.idled":
        setActive(false);
        // A wait that outlived its turn (cancelled, failed) is over.
        for (const callID of [...waits.keys()]) settle(callID, "no longer waiting");
        break;
      default:
        break;
    }
    if (ended) log.append(ended);
  };

  const post = async (path, body, status) => {
    try {
      await api("POST", `/v1/sessions/${encodeURIComponent(sessionID)}/${path}`, body);
      return true;
    } catch (error) {
      status.replaceChildren(el("span", { class: "error", role: "alert" }, error instanceof APIError ? error.message : "Not sent."));
      return false;
    }
  };

  // A client-side tool the turn waits on: the person is the client and answers with a result.
  function clientToolItem(call) {
    const result = el("textarea", { rows: 2, "aria-label": `Result of ${call.name}` });
    const status = el("div", { class: "result muted" }, "waiting for the client's result");
    const submit = el("button", { type: "submit" }, "Send result");
    const form = el("form", {
      class: "inline",
      onsubmit: async (event) => {
        event.preventDefault();
        let value;
        try { value = JSON.parse(result.value); } catch { value = result.value; }
        if (await post("tool-results", { tool_results: [{ tool_call_id: call.id, result: value }] }, status)) {
          settle(call.id, "result sent");
        }
      },
    }, result, submit);
    tools.set(call.id, status);
    waits.set(call.id, (outcome) => form.replaceWith(el("span", { class: "muted" }, outcome)));
    return el("li", { class: "message tool waiting" }, el("span", { class: "role" }, "client tool"),
      el("code", {}, `${call.name}(${compact(call.arguments ?? {})})`), status, form);
  }

  // A held call: Approve, or Reject with an optional reason.
  function approvalItem(call) {
    const reason = el("input", { type: "text", "aria-label": `Reason for rejecting ${call.name}`, placeholder: "Reason (optional)" });
    const status = el("div", { "aria-live": "polite" });
    const decide = (approved) => post("tool-approvals", {
      decisions: [{ tool_call_id: call.id, approved, ...(approved || !reason.value ? {} : { reason: reason.value }) }],
    }, status);
    const controls = el("div", { class: "actions" },
      el("button", { type: "button", onclick: () => decide(true) }, "Approve"),
      reason,
      el("button", { type: "button", class: "secondary", onclick: () => decide(false) }, "Reject"));
    waits.set(call.id, (outcome) => controls.replaceWith(el("span", { class: "muted" }, outcome)));
    return el("li", { class: "message tool approval" }, el("span", { class: "role" }, "approval needed"),
      el("code", {}, `${call.name}(${compact(call.arguments ?? {})})`), controls, status);
  }

  // The model's questions (ask_user): a choice per question, or free text when it offers none.
  function questionItem(callID, questions) {
    const status = el("div", { "aria-live": "polite" });
    const answers = questions.map((question, index) => {
      const name = `answer-${callID}-${index}`;
      if (!(question.choices ?? []).length) {
        const input = el("input", { type: "text", required: true, "aria-label": question.question });
        return { node: el("label", { class: "field" }, el("span", {}, question.question), input), value: () => input.value };
      }
      const options = question.choices.map((choice, choiceIndex) =>
        el("label", { class: "check" }, el("input", { type: "radio", name, value: choice, required: true, checked: choiceIndex === 0 }), ` ${choice}`));
      return {
        node: el("fieldset", {}, el("legend", {}, question.question), options),
        value: () => options.map((option) => option.querySelector("input")).find((input) => input.checked)?.value ?? "",
      };
    });
    const form = el("form", {
      class: "inline",
      onsubmit: async (event) => {
        event.preventDefault();
        if (await post("question-answers", { tool_call_id: callID, answers: answers.map((answer) => answer.value()) }, status)) {
          settle(callID, "answered");
        }
      },
    }, answers.map((answer) => answer.node), el("button", { type: "submit" }, "Send answers"));
    waits.set(callID, (outcome) => form.replaceWith(el("span", { class: "muted" }, outcome)));
    return el("li", { class: "message tool question" }, el("span", { class: "role" }, "question"), form, status);
  }

  const form = el("form", {
    class: "composer",
    onsubmit: async (event) => {
      event.preventDefault();
      const text = input.value.trim();
      if (!text) return;
      try {
        await api("POST", `/v1/sessions/${encodeURIComponent(sessionID)}/messages`,
          { message: { role: "user", content: [{ type: "text", text }] } });
        input.value = "";
        status.replaceChildren();
      } catch (error) {
        status.replaceChildren(el("p", { class: "error", role: "alert" }, error instanceof APIError ? error.message : "Not sent."));
      }
    },
  }, input, el("div", { class: "actions" }, send, cancel), status);
  cancel.addEventListener("click", async () => {
    try { await api("POST", `/v1/sessions/${encodeURIComponent(sessionID)}/cancel`); } catch { /* the stream shows the outcome */ }
  });

  show(main, el("h1", {}, session.title ?? "Session"), state, log, form);
  setActive(session.status === "active");

  const stream = new EventSource(apiPath(`/v1/sessions/${encodeURIComponent(sessionID)}/sse`));
  const onFrame = (frame) => {
    try { apply(JSON.parse(frame.data)); } catch { /* a frame that is not an event */ }
  };
  for (const type of ["input.message", "output.message.started", "output.message.delta", "output.message.completed",
    "reason.thinking.delta", "tool.started", "tool.completed", "tool.call_requested", "tool.approval_requested",
    "tool.approval_decided", "question.requested", "turn.failed", "session.activated", "session.idled", "turn.started", "reason.started",
    "reason.completed", "turn.completed", "turn.cancelled"]) {
    stream.addEventListener(type, onFrame);
  }
  // The page owns the stream: leaving it closes the connection.
  window.addEventListener("hashchange", () => stream.close(), { once: true });
  input.focus();
}
