// Settings › Providers: the organization's LLM providers. A key is write-only: the form sends
// it, the API never returns it, and the page only ever shows whether one is set.
import { api, APIError } from "./api.js";
import { el, show } from "./dom.js";

function field(label, input) {
  return el("label", { class: "field" }, el("span", {}, label), input);
}

export async function providersPage(main) {
  const list = el("ul", { class: "list", "aria-label": "Providers" });
  const status = el("div", { "aria-live": "polite" });
  const name = el("input", { name: "name", required: true, maxlength: 100 });
  const type = el("select", { name: "provider_type" },
    ...["openai", "anthropic", "gemini"].map((value) => el("option", { value }, value)));
  const key = el("input", { name: "api_key", type: "password", autocomplete: "off" });
  const baseURL = el("input", { name: "base_url", type: "url", placeholder: "Provider default" });
  const models = el("input", { name: "models", placeholder: "gpt-4o-mini, gpt-4o" });
  const fail = (error) => status.replaceChildren(
    el("p", { class: "error", role: "alert" }, error instanceof APIError ? error.message : "Something went wrong."));

  const load = async () => {
    const providers = (await api("GET", "/v1/providers")).data ?? [];
    list.replaceChildren(...providers.map((provider) => {
      const replacement = el("input", { type: "password", autocomplete: "off", "aria-label": `New key for ${provider.name}` });
      const actions = provider.is_builtin ? null : el("div", { class: "actions" },
        replacement,
        el("button", {
          type: "button",
          onclick: async () => {
            try {
              await api("PATCH", `/v1/providers/${provider.id}`, { api_key: replacement.value });
              replacement.value = "";
              await load();
            } catch (error) { fail(error); }
          },
        }, "Replace key"),
        el("button", {
          type: "button", class: "secondary",
          onclick: async () => {
            try {
              await api("DELETE", `/v1/providers/${provider.id}`);
              await load();
            } catch (error) { fail(error); }
          },
        }, `Delete ${provider.name}`));
      return el("li", { class: "item" },
        el("strong", {}, provider.name),
        el("span", { class: "muted" }, ` ${provider.provider_type}${provider.is_builtin ? " (built in)" : ""}`),
        el("p", {}, provider.api_key_set ? "Key: set" : "Key: not set"),
        provider.base_url ? el("p", { class: "muted" }, provider.base_url) : null,
        provider.models?.length ? el("p", { class: "muted" }, `Models: ${provider.models.join(", ")}`) : null,
        actions);
    }));
  };

  const form = el("form", {
    class: "card",
    onsubmit: async (event) => {
      event.preventDefault();
      const body = { name: name.value, provider_type: type.value };
      if (key.value) body.api_key = key.value;
      if (baseURL.value) body.base_url = baseURL.value;
      const modelList = models.value.split(",").map((model) => model.trim()).filter(Boolean);
      if (modelList.length) body.models = modelList;
      try {
        await api("POST", "/v1/providers", body);
        form.reset();
        await load();
        status.replaceChildren(el("p", { class: "ok" }, "Provider saved."));
      } catch (error) { fail(error); }
    },
  }, el("h2", {}, "Add a provider"), field("Name", name), field("Type", type), field("API key", key),
  field("Base URL", baseURL), field("Models", models),
  el("div", { class: "actions" }, el("button", { type: "submit" }, "Save provider")), status);

  show(main, el("h1", {}, "Providers"), list, form);
  try { await load(); } catch (error) { fail(error); }
}
