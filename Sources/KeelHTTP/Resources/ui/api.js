// The Keel API as the UI calls it: same origin, under the prefix the server names in the page,
// credentials from the HTTP-only cookies login sets (the UI never sees a token).
const prefix = document.querySelector('meta[name="keel-api-prefix"]')?.content ?? "";

export class APIError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

// The URL of an API path (for EventSource, which takes a URL).
export function apiPath(path) {
  return prefix + path;
}

export async function api(method, path, body) {
  const response = await fetch(prefix + path, {
    method,
    credentials: "same-origin",
    headers: body === undefined ? {} : { "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 204) return null;
  const text = await response.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { json = null; }
  if (!response.ok) {
    throw new APIError(response.status, json?.error?.code ?? "error", json?.error?.message ?? response.statusText);
  }
  return json;
}
