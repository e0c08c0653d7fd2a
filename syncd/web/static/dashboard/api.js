// The dashboard's only way to the server: the same JSON routes a program uses, authorised by the
// session cookie (sent by the browser, never readable by this code).

export class SessionEnded extends Error {}

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.error?.code ?? `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

async function call(method, path, data) {
  const init = { method, credentials: "same-origin", headers: { accept: "application/json" } };
  if (data !== undefined) {
    init.headers["content-type"] = "application/json";
    init.body = JSON.stringify(data);
  }
  const response = await fetch(path, init);
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  if (response.status === 401 && path !== "/api/web/session") throw new SessionEnded();
  if (!response.ok) throw new ApiError(response.status, body);
  return body;
}

export const api = {
  session: () => call("GET", "/api/web/session"),
  signIn: (code) => call("POST", "/api/web/session", { code }),
  signOut: () => call("DELETE", "/api/web/session"),
  report: (name, query) => call("GET", `/api/reports/${name}?${new URLSearchParams(query)}`),
  records: (cellId) => call("GET", `/api/cells/${encodeURIComponent(cellId)}/records`),
  changes: (unitId) => call("GET", `/api/web/changes?${new URLSearchParams({ unit: unitId })}`),
};

export function downloadUrl(name, query, format) {
  return `/api/reports/${name}?${new URLSearchParams({ ...query, format })}`;
}
