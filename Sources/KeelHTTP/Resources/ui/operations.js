// Operations: the durable engine as /v1/durable shows it — the queue, workers with Drain and
// Undrain (platform administrators), dead letters with Requeue, circuit breakers with Reset —
// kept live by the monitoring stream (each snapshot and change reloads the lists).
import { api, apiPath, APIError } from "./api.js";
import { el, show } from "./dom.js";

function table(caption, columns, rows) {
  return el("table", {},
    el("caption", {}, caption),
    el("thead", {}, el("tr", {}, ...columns.map((column) => el("th", { scope: "col" }, column)))),
    el("tbody", {}, ...(rows.length ? rows : [el("tr", {}, el("td", { colspan: columns.length, class: "muted" }, "None."))])));
}

export async function operationsPage(main) {
  const status = el("div", { "aria-live": "polite" });
  const queue = el("section", { "aria-label": "Queue" });
  const workers = el("section", { "aria-label": "Workers" });
  const letters = el("section", { "aria-label": "Dead letters" });
  const breakers = el("section", { "aria-label": "Circuit breakers" });
  const fail = (error) => status.replaceChildren(
    el("p", { class: "error", role: "alert" }, error instanceof APIError ? error.message : "Something went wrong."));
  // An operator action: a button named for what it acts on, reporting its outcome, then a reload.
  const action = (label, name, path, done) => el("button", {
    type: "button", class: "secondary", "aria-label": name,
    onclick: async () => {
      try {
        await api("POST", path);
        status.replaceChildren(el("p", { class: "ok" }, done));
        await load();
      } catch (error) { fail(error); }
    },
  }, label);

  const load = async () => {
    const summary = await api("GET", "/v1/durable/queue");
    queue.replaceChildren(table("Queue", ["Steps pending", "claimed", "dead", "Turns running", "waiting", "Oldest ready step"], [
      el("tr", {},
        el("td", {}, summary.tasks?.pending ?? 0), el("td", {}, summary.tasks?.claimed ?? 0), el("td", {}, summary.tasks?.dead ?? 0),
        el("td", {}, summary.turns?.running ?? 0), el("td", {}, summary.turns?.waiting ?? 0),
        el("td", {}, `${(summary.oldest_pending_age_seconds ?? 0).toFixed(1)} s`)),
    ]));
    if (summary.workers) {
      const list = (await api("GET", "/v1/durable/workers?status=all")).data ?? [];
      const id = (worker) => encodeURIComponent(worker.id);
      workers.replaceChildren(table("Workers", ["Worker", "Status", "Load", "Address", ""], list.map((worker) =>
        el("tr", {}, el("td", {}, worker.id), el("td", {}, worker.status), el("td", {}, `${worker.load}/${worker.concurrency}`),
          el("td", {}, worker.address),
          el("td", {}, ["lost", "stopped"].includes(worker.status) ? null : worker.status === "draining"
            ? action("Undrain", `Undrain ${worker.id}`, `/v1/durable/workers/${id(worker)}/undrain`, `Undrained ${worker.id}.`)
            : action("Drain", `Drain ${worker.id}`, `/v1/durable/workers/${id(worker)}/drain`, `Draining ${worker.id}.`))))));
    }
    const dead = (await api("GET", "/v1/durable/dead-letters")).data ?? [];
    letters.replaceChildren(table("Dead letters", ["Step", "Turn", "Reason", "Last error", ""], dead.map((letter) =>
      el("tr", {}, el("td", {}, `${letter.kind} ${letter.task_id}`), el("td", {}, letter.turn_id), el("td", {}, letter.reason),
        el("td", {}, letter.last_error ?? ""),
        el("td", {}, letter.requeued_at ? "requeued" : action("Requeue", `Requeue ${letter.task_id}`,
          `/v1/durable/dead-letters/${encodeURIComponent(letter.task_id)}/requeue`, `Requeued ${letter.task_id}.`))))));
    const open = (await api("GET", "/v1/durable/circuit-breakers")).data ?? [];
    breakers.replaceChildren(table("Circuit breakers", ["Provider and model", "State", "Failures in a row", ""], open.map((breaker) =>
      el("tr", {}, el("td", {}, breaker.key), el("td", {}, breaker.state), el("td", {}, breaker.consecutive_failures),
        el("td", {}, breaker.state === "closed" ? null : action("Reset", `Reset ${breaker.key}`,
          `/v1/durable/circuit-breakers/${encodeURIComponent(breaker.key)}/reset`, `Reset ${breaker.key}.`))))));
  };

  // /health is never under the API prefix and says where the server keeps its data.
  const health = await fetch("/health").then((response) => response.json()).catch(() => ({}));
  if (health.storage === "memory") {
    show(main, el("h1", {}, "Operations"),
      el("p", {}, "This server runs in memory (DEV_MODE): there is no durable queue to operate. Operations need PostgreSQL."));
    return;
  }
  show(main, el("h1", {}, "Operations"), status, queue, workers, letters, breakers);
  try {
    await load();
  } catch (error) {
    fail(error);
    return;
  }
  const stream = new EventSource(apiPath("/v1/durable/monitor/sse"));
  const refresh = () => load().catch(fail);
  stream.addEventListener("snapshot", refresh);
  for (const type of ["dead_letter.created", "dead_letter.requeued", "worker.draining", "worker.resumed",
    "circuit_breaker.opened", "circuit_breaker.closed"]) stream.addEventListener(type, refresh);
  window.addEventListener("hashchange", () => stream.close(), { once: true });
}
