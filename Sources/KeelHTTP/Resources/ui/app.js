import { api, APIError } from "./api.js";
import { chatPage } from "./chat.js";
import { keysPage } from "./keys.js";
import { operationsPage } from "./operations.js";
import { providersPage } from "./providers.js";
import { el, show } from "./dom.js";

const main = document.getElementById("main");
const nav = document.getElementById("nav");
let authConfig = null;
// The signed-in user (`/v1/auth/me`), with their organizations; null in AUTH_MODE=none.
let me = null;

// Shows `hash`'s page once: a new hash routes by its hashchange, the same hash is routed again here.
async function go(hash) {
  if (location.hash !== hash) location.hash = hash;
  else await route();
}

function errorLine(error) {
  return el("p", { class: "error", role: "alert" }, error instanceof APIError ? error.message : "Something went wrong.");
}

function field(label, input) {
  return el("label", { class: "field" }, el("span", {}, label), input);
}

async function signedIn() {
  if (authConfig.mode === "none") return true;
  try {
    me = await api("GET", "/v1/auth/me");
    return true;
  } catch (error) {
    if (error instanceof APIError && error.status === 401) return false;
    throw error;
  }
}

function loginPage() {
  const email = el("input", { type: "email", name: "email", autocomplete: "username", required: true });
  const password = el("input", { type: "password", name: "password", autocomplete: "current-password", required: true });
  const status = el("div", { "aria-live": "polite" });
  const submit = async (path, event) => {
    event.preventDefault();
    try {
      await api("POST", path, { email: email.value, password: password.value });
      await go("#/agents");
    } catch (error) {
      status.replaceChildren(errorLine(error));
    }
  };
  const form = el("form", { class: "card", onsubmit: (event) => submit("/v1/auth/login", event) },
    el("h1", {}, "Log in to Keel"),
    field("Email", email),
    field("Password", password),
    el("div", { class: "actions" },
      el("button", { type: "submit" }, "Log in"),
      authConfig.signup_enabled
        ? el("button", { type: "button", class: "secondary", onclick: (event) => submit("/v1/auth/register", event) }, "Sign up")
        : null),
    status);
  nav.hidden = true;
  show(main, form);
  email.focus();
}

async function agentsPage() {
  nav.hidden = false;
  const search = el("input", { type: "search", name: "search", placeholder: "Search agents" });
  const list = el("ul", { class: "list", "aria-label": "Agents" });
  const status = el("div", { "aria-live": "polite" });
  const name = el("input", { name: "name", required: true, pattern: "[a-z0-9]+(-[a-z0-9]+)*", maxlength: 64 });
  const prompt = el("textarea", { name: "system_prompt", rows: 4, required: true });
  const model = el("select", { name: "default_model_id" }, el("option", { value: "" }, "Default model"));
  let agents = [];

  const render = () => {
    const term = search.value.trim().toLowerCase();
    const shown = agents.filter((agent) => !term || agent.name.toLowerCase().includes(term)
      || (agent.description ?? "").toLowerCase().includes(term));
    list.replaceChildren(...shown.map((agent) =>
      el("li", { class: "item" },
        el("a", { href: `#/agents/${agent.id}` }, el("strong", {}, agent.display_name ?? agent.name)),
        agent.display_name ? el("span", { class: "muted" }, ` ${agent.name}`) : null,
        agent.description ? el("p", {}, agent.description) : null)));
    if (shown.length === 0) list.append(el("li", { class: "muted" }, "No agents."));
  };
  const load = async () => {
    agents = (await api("GET", "/v1/agents?limit=100")).data ?? [];
    render();
  };
  search.addEventListener("input", render);

  const create = el("form", {
    class: "card",
    onsubmit: async (event) => {
      event.preventDefault();
      try {
        const body = { name: name.value, system_prompt: prompt.value };
        if (model.value) body.default_model_id = model.value;
        await api("POST", "/v1/agents", body);
        create.reset();
        await load();
        status.replaceChildren(el("p", { class: "ok" }, "Agent created."));
      } catch (error) {
        status.replaceChildren(errorLine(error));
      }
    },
  }, el("h2", {}, "New agent"), field("Name", name), field("System prompt", prompt), field("Model", model),
  el("div", { class: "actions" }, el("button", { type: "submit" }, "Create agent")), status);

  show(main, el("h1", {}, "Agents"), field("Search", search), list, create);
  try {
    const models = (await api("GET", "/v1/models")).data ?? [];
    model.append(...models.map((entry) => el("option", { value: entry.id }, entry.display_name ?? entry.id)));
    await load();
  } catch (error) {
    status.replaceChildren(errorLine(error));
  }
}

async function agentPage(agentID) {
  nav.hidden = false;
  const agent = await api("GET", `/v1/agents/${encodeURIComponent(agentID)}`);
  const list = el("ul", { class: "list", "aria-label": "Sessions" });
  const status = el("div", { "aria-live": "polite" });
  const start = el("button", {
    type: "button",
    onclick: async () => {
      try {
        const session = await api("POST", "/v1/sessions", { agent_id: agent.id });
        location.hash = `#/sessions/${session.id}`;
      } catch (error) {
        status.replaceChildren(errorLine(error));
      }
    },
  }, "New session");
  const editor = await agentEditor(agent, status);
  const archive = el("button", {
    type: "button", class: "secondary",
    onclick: async () => {
      try {
        await api("DELETE", `/v1/agents/${encodeURIComponent(agent.id)}`);
        location.hash = "#/agents";
      } catch (error) {
        status.replaceChildren(errorLine(error));
      }
    },
  }, "Archive agent");
  show(main, el("h1", {}, agent.display_name ?? agent.name), agent.description ? el("p", {}, agent.description) : null,
    el("div", { class: "actions" }, start, archive), status, el("h2", {}, "Sessions"), list, editor);
  const sessions = ((await api("GET", `/v1/sessions?limit=100&agent_id=${encodeURIComponent(agent.id)}`)).data ?? []).filter((session) => session.agent_id === agent.id);
  list.replaceChildren(...sessions.map((session) => el("li", { class: "item" },
    el("a", { href: `#/sessions/${session.id}` }, session.title ?? session.id), el("span", { class: "muted" }, ` ${session.status}`))));
  if (sessions.length === 0) list.append(el("li", { class: "muted" }, "No sessions yet."));
}

// Edits an agent: system prompt, model, capabilities (from the catalogue) and client-side tool
// definitions (JSON), saved with PATCH.
async function agentEditor(agent, status) {
  const prompt = el("textarea", { name: "system_prompt", rows: 5 });
  prompt.value = agent.system_prompt ?? "";
  const model = el("select", { name: "default_model_id" }, el("option", { value: "" }, "Default model"));
  const tools = el("textarea", { name: "tools", rows: 4, spellcheck: "false" });
  tools.value = JSON.stringify(agent.tools ?? [], null, 2);
  const boxes = el("fieldset", { class: "capabilities" }, el("legend", {}, "Capabilities"));
  const chosen = new Set((agent.capabilities ?? []).map((capability) => capability.ref));
  const [models, capabilities] = await Promise.all([api("GET", "/v1/models"), api("GET", "/v1/capabilities")]);
  for (const entry of models.data ?? []) {
    model.append(el("option", { value: entry.id, selected: entry.id === agent.default_model_id }, entry.display_name ?? entry.id));
  }
  for (const capability of capabilities.data ?? []) {
    boxes.append(el("label", { class: "check" },
      el("input", { type: "checkbox", name: "capability", value: capability.id, checked: chosen.has(capability.id) }),
      ` ${capability.name ?? capability.id}`));
  }
  return el("form", {
    class: "card",
    onsubmit: async (event) => {
      event.preventDefault();
      let toolList;
      try { toolList = JSON.parse(tools.value || "[]"); } catch {
        status.replaceChildren(el("p", { class: "error", role: "alert" }, "Client-side tools must be a JSON array."));
        return;
      }
      const refs = [...boxes.querySelectorAll("input:checked")].map((box) => box.value);
      const kept = (agent.capabilities ?? []).filter((capability) => refs.includes(capability.ref));
      const added = refs.filter((ref) => !kept.some((capability) => capability.ref === ref)).map((ref) => ({ ref }));
      try {
        await api("PATCH", `/v1/agents/${encodeURIComponent(agent.id)}`, {
          system_prompt: prompt.value, default_model_id: model.value || null, capabilities: [...kept, ...added], tools: toolList,
        });
        status.replaceChildren(el("p", { class: "ok" }, "Agent saved."));
      } catch (error) {
        status.replaceChildren(errorLine(error));
      }
    },
  }, el("h2", {}, "Edit agent"), field("System prompt", prompt), field("Model", model), boxes,
  field("Client-side tools (JSON)", tools), el("div", { class: "actions" }, el("button", { type: "submit" }, "Save agent")));
}

// The organization switcher, for a user in several: the choice is the keel_org cookie, which the
// server reads for this browser's cookie session (EventSource cannot send X-Org-Id).
function organizationSwitcher() {
  const switcher = document.getElementById("org-switcher");
  const select = document.getElementById("org-select");
  const organizations = me?.organizations ?? [];
  switcher.hidden = organizations.length < 2;
  if (switcher.hidden) return;
  select.replaceChildren(...organizations.map((organization) => el("option", {
    value: organization.id, selected: organization.id === me.organization_id,
  }, `${organization.name} (${organization.role})`)));
}

document.getElementById("org-select").addEventListener("change", async (event) => {
  const secure = location.protocol === "https:" ? "; Secure" : "";
  document.cookie = `keel_org=${encodeURIComponent(event.target.value)}; Path=/; Max-Age=31536000; SameSite=Strict${secure}`;
  await go("#/agents");
});

async function route() {
  try {
    authConfig ??= await api("GET", "/v1/auth/config");
    if (!(await signedIn())) return loginPage();
    nav.hidden = false;
    organizationSwitcher();
    document.getElementById("keys-link").hidden = authConfig.mode === "none";
    const [, kind, id] = location.hash.replace(/^#/, "").split("/");
    if (kind === "agents" && id) return agentPage(decodeURIComponent(id));
    if (kind === "sessions" && id) return chatPage(main, decodeURIComponent(id));
    if (kind === "settings" && id === "providers") return providersPage(main);
    if (kind === "operations") return operationsPage(main);
    if (kind === "settings" && id === "keys") return keysPage(main);
    return agentsPage();
  } catch (error) {
    show(main, errorLine(error));
  }
}

document.getElementById("logout").addEventListener("click", async () => {
  try { await api("POST", "/v1/auth/logout"); } catch { /* signed out either way */ }
  await go("");
});
window.addEventListener("hashchange", route);
route();
