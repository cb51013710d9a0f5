// The signed-in session: our tokens in sessionStorage (gone when the tab closes), refreshed
// before the access token expires, cleared on sign-out; and `api`, the one way the page
// calls the backend.

const STORE = "lingpao.ops.session";
// Refresh once this share of the access token's life has passed.
const REFRESH_AT = 0.75;

let session = load();
let refreshTimer = null;
let refreshing = null;
const listeners = new Set();

export class ApiError extends Error {
  constructor(status, body) {
    const error = (body && body.error) || {};
    super(error.message || `HTTP ${status}`);
    this.status = status;
    this.code = error.code || (status === 0 ? "network" : "unknown");
    this.details = error;
  }
}

function load() {
  try {
    const raw = sessionStorage.getItem(STORE);
    return raw ? JSON.parse(raw) : null;
  } catch {
    return null;
  }
}

function save(next) {
  session = next;
  if (next) sessionStorage.setItem(STORE, JSON.stringify(next));
  else sessionStorage.removeItem(STORE);
  schedule();
}

function schedule() {
  clearTimeout(refreshTimer);
  refreshTimer = null;
  if (!session) return;
  const wait = Math.max(1000, session.refresh_at - Date.now());
  refreshTimer = setTimeout(() => refresh().catch(retryLater), wait);
}

// A refresh that failed for want of a network is tried again; a refused one ends the session.
function retryLater() {
  if (!session) return;
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(() => refresh().catch(retryLater), 10000);
}

function fromTokens(answer) {
  const lifetime = answer.expires_in * 1000;
  return {
    access_token: answer.access_token,
    refresh_token: answer.refresh_token,
    refresh_at: Date.now() + lifetime * REFRESH_AT,
    user: answer.user,
  };
}

/** Called with a reason when the session ends by itself (expired, revoked). */
export function onSessionEnded(listener) {
  listeners.add(listener);
}

function ended(reason) {
  save(null);
  for (const listener of listeners) listener(reason);
}

export function current() {
  return session;
}

export function resume() {
  if (session) schedule();
  return session;
}

async function send(method, path, { body, headers = {}, token } = {}) {
  const init = { method, headers: { ...headers }, cache: "no-store" };
  if (body !== undefined) {
    init.headers["content-type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  if (token) init.headers.authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch(path, init);
  } catch {
    throw new ApiError(0, null);
  }
  if (response.status === 204) return null;
  let payload = null;
  try {
    payload = await response.json();
  } catch {
    payload = null;
  }
  if (!response.ok) throw new ApiError(response.status, payload);
  return payload;
}

/** Exchanges a provincial identity token for our tokens. */
export async function signIn(identityToken) {
  const answer = await send("POST", "/api/v1/auth/login", {
    body: { identity_token: identityToken, device_id: "ops-console" },
  });
  save(fromTokens(answer));
  return session;
}

/** Development: a demo identity signs in at the mock IdP, then with us. */
export async function signInAsDemo(idpTokenUrl, person) {
  const answer = await send("POST", idpTokenUrl, {
    body: { id_number: person.id_number, name: person.name, assurance: "face" },
  });
  return signIn(answer.identity_token);
}

export async function refresh() {
  if (!session) throw new ApiError(401, { error: { code: "invalid_token" } });
  if (!refreshing) {
    const token = session.refresh_token;
    refreshing = send("POST", "/api/v1/auth/refresh", { body: { refresh_token: token } })
      .then((answer) => save(fromTokens(answer)))
      .catch((error) => {
        if (error.status === 401) ended("expired");
        throw error;
      })
      .finally(() => {
        refreshing = null;
      });
  }
  return refreshing;
}

export async function signOut() {
  const token = session && session.access_token;
  save(null);
  if (token) {
    try {
      await send("POST", "/api/v1/auth/logout", { token });
    } catch {
      // Signed out here either way; the server's tokens expire on their own.
    }
  }
}

/** An authenticated call; a rejected access token is refreshed once and the call repeated. */
export async function api(method, path, options = {}) {
  if (!session) throw new ApiError(401, { error: { code: "invalid_token" } });
  try {
    return await send(method, path, { ...options, token: session.access_token });
  } catch (error) {
    if (error.status !== 401 || error.code !== "invalid_token") throw error;
  }
  await refresh();
  return send(method, path, { ...options, token: session.access_token });
}
