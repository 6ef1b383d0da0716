// API keys: a new key is shown once, right after it is made; the list shows names and prefixes.
import { api, APIError } from "./api.js";
import { el, show } from "./dom.js";

export async function keysPage(main) {
  const list = el("ul", { class: "list", "aria-label": "API keys" });
  const status = el("div", { "aria-live": "polite" });
  const name = el("input", { name: "name", required: true, maxlength: 100 });
  const fail = (error) => status.replaceChildren(
    el("p", { class: "error", role: "alert" }, error instanceof APIError ? error.message : "Something went wrong."));
  const load = async () => {
    const keys = (await api("GET", "/v1/auth/api-keys")).data ?? [];
    list.replaceChildren(...keys.map((key) => el("li", { class: "item" },
      el("strong", {}, key.name), el("span", { class: "muted" }, ` ${key.key_prefix}…`),
      el("div", { class: "actions" }, el("button", {
        type: "button", class: "secondary",
        onclick: async () => {
          try {
            await api("DELETE", `/v1/auth/api-keys/${key.id}`);
            status.replaceChildren(el("p", { class: "ok" }, `Revoked ${key.name}.`));
            await load();
          } catch (error) { fail(error); }
        },
      }, `Revoke ${key.name}`)))));
    if (keys.length === 0) list.append(el("li", { class: "muted" }, "No API keys."));
  };
  const form = el("form", {
    class: "card",
    onsubmit: async (event) => {
      event.preventDefault();
      try {
        const created = await api("POST", "/v1/auth/api-keys", { name: name.value });
        form.reset();
        await load();
        status.replaceChildren(el("div", { class: "ok" },
          el("p", {}, "Copy the key now: it is not shown again."),
          el("code", { class: "secret", "aria-label": "New API key" }, created.key)));
      } catch (error) { fail(error); }
    },
  }, el("h2", {}, "New API key"), el("label", { class: "field" }, el("span", {}, "Key name"), name),
  el("div", { class: "actions" }, el("button", { type: "submit" }, "Create key")), status);
  show(main, el("h1", {}, "API keys"), list, form);
  try { await load(); } catch (error) { fail(error); }
}
