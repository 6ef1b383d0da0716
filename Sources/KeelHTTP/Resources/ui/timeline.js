// A turn's timeline: its model calls and tool calls as bars on one time axis (offsets from the
// turn's start, widths from their durations), with tokens and the time to first token — the
// trace as a picture, built from the turn's events.
import { el } from "./dom.js";

export class TurnTimeline {
  constructor() {
    this.turns = new Map();
  }

  turn(id) {
    if (!this.turns.has(id)) this.turns.set(id, { start: null, spans: [], reasonStart: null, ttft: null, node: null });
    return this.turns.get(id);
  }

  // Feeds one event; returns the timeline element when the turn ended, else null.
  add(event) {
    const id = event.context?.turn_id;
    if (!id) return null;
    const turn = this.turn(id);
    const at = Date.parse(event.ts);
    const data = event.data ?? {};
    switch (event.type) {
      case "turn.started":
        turn.start = at;
        break;
      case "reason.started":
        turn.reasonStart = at;
        break;
      case "reason.completed":
        turn.spans.push({
          kind: "model", label: `model call${data.success === false ? " (failed)" : ""}`,
          end: at, duration: data.duration_ms ?? 0,
          detail: data.usage ? `${data.usage.input_tokens ?? 0} in / ${data.usage.output_tokens ?? 0} out tokens` : "",
        });
        break;
      case "tool.completed":
        turn.spans.push({ kind: "tool", label: data.tool_name, end: at, duration: data.duration_ms ?? 0,
          detail: data.success ? "" : "failed" });
        break;
      case "turn.completed":
        turn.ttft = data.time_to_first_token_ms ?? null;
        return this.render(turn, at, data.duration_ms);
      case "turn.failed":
      case "turn.cancelled":
        return this.render(turn, at, null);
      default:
        break;
    }
    return null;
  }

  render(turn, end, duration) {
    const start = turn.start ?? end;
    const total = Math.max(duration ?? end - start, 1);
    const rows = turn.spans.map((span) => {
      const offset = Math.max(0, span.end - span.duration - start);
      const bar = el("div", { class: `span-bar ${span.kind}` });
      const width = Math.max(0.5, Math.min(100, (span.duration / total) * 100));
      bar.style.left = `${Math.min(100 - width, (offset / total) * 100)}%`;
      bar.style.width = `${width}%`;
      return el("li", { class: "span" },
        el("span", { class: "label" }, `${span.label} · ${span.duration} ms${span.detail ? ` · ${span.detail}` : ""}`),
        el("div", { class: "track" }, bar));
    });
    const summary = `Timeline · ${total} ms${turn.ttft ? ` · first token ${turn.ttft} ms` : ""}`;
    return el("li", { class: "message timeline" },
      el("details", {}, el("summary", {}, summary), el("ol", { class: "spans", "aria-label": "Turn timeline" }, ...rows)));
  }
}
