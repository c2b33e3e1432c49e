// The one way the UI talks to the server: /api/v1, JSON, errors as ApiError.
// A browser session is an HttpOnly cookie; every change must also carry the CSRF token the
// sign-in answered, kept in localStorage so a reload keeps it (it is useless without the cookie).

const CSRF_KEY = "dockyard.csrf";

export class ApiError extends Error {
  constructor(status, body) {
    const err = (body && body.error) || {};
    super(err.message || `HTTP ${status}`);
    this.status = status;
    this.code = err.code;
    this.field = err.field;
    this.details = err.details;
  }
}

export function setCsrf(token) {
  if (token) localStorage.setItem(CSRF_KEY, token);
  else localStorage.removeItem(CSRF_KEY);
}

let onUnauthenticated = () => {};
export function whenSignedOut(fn) { onUnauthenticated = fn; }

/** fetch /api/v1 + path with a JSON `body` or raw `data`; returns parsed JSON (or text / Response
 * with opts.raw / opts.text). */
export async function api(path, opts = {}) {
  const { method = "GET", body, data, query, signal, raw, text } = opts;
  let url = path.startsWith("/") ? path : `/api/v1/${path}`;
  if (query) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) {
      if (v === undefined || v === null || v === "") continue;
      for (const item of Array.isArray(v) ? v : [v]) q.append(k, item);
    }
    const s = q.toString();
    if (s) url += (url.includes("?") ? "&" : "?") + s;
  }
  const headers = { Accept: "application/json" };
  if (method !== "GET" && method !== "HEAD") {
    const csrf = localStorage.getItem(CSRF_KEY);
    if (csrf) headers["X-CSRF-Token"] = csrf;
  }
  let payload;
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  } else if (data !== undefined) { // a file or bytes, sent as they are (uploads)
    headers["Content-Type"] = "application/octet-stream";
    payload = data;
  }
  const response = await fetch(url, { method, headers, body: payload, signal, credentials: "same-origin" });
  if (!response.ok) {
    let parsed = null;
    try { parsed = await response.json(); } catch { /* not JSON */ }
    const error = new ApiError(response.status, parsed);
    if (response.status === 401 && !path.endsWith("session")) onUnauthenticated(error);
    throw error;
  }
  if (raw) return response;
  if (text) return response.text();
  if (response.status === 204) return null;
  return response.json();
}

/** Every page of a token-paged listing, concatenated (bounded by `max` items). */
export async function allPages(path, key, query = {}, max = 100000) {
  const out = [];
  let token;
  do {
    const page = await api(path, { query: { ...query, page_token: token } });
    out.push(...page[key]);
    token = page.next_page_token;
  } while (token && out.length < max);
  return out;
}

/** A metric's whole history, every point, page by page (the server's tokens are opaque). */
export async function metricHistory(runId, key, { signal } = {}) {
  const points = [];
  let token;
  do {
    const page = await api(`runs/${runId}/metrics/${encodePath(key)}`, {
      query: { max_results: 100000, page_token: token }, signal,
    });
    points.push(...page.metrics);
    token = page.next_page_token;
  } while (token);
  return points;
}

/**
 * A metric sized for a chart: the points with x (step or timestamp) in [xMin, xMax], at most
 * maxPoints, each bucket of a longer window keeping its lowest and highest point. Answers
 * columns: {steps, timestamps, values, total, sampled}.
 */
export function metricSeries(runId, key, { x = "step", xMin, xMax, maxPoints, signal } = {}) {
  return api(`runs/${runId}/metric-series/${encodePath(key)}`, {
    query: { x, x_min: xMin, x_max: xMax, max_points: maxPoints }, signal,
  });
}

/**
 * One metric of many runs (at most 100), each sized as metricSeries sizes it: one request.
 * Answers {key, series}; without a key, the first metric (in key order) any of them logged.
 */
export function metricSeriesOf(runIds, key, { x = "step", maxPoints, signal } = {}) {
  return api("runs/metric-series", { query: { run_ids: runIds, key, x, max_points: maxPoints }, signal });
}

export function encodePath(path) {
  return path.split("/").map(encodeURIComponent).join("/");
}

/** Follow the event log (server-sent events) until the returned function is called. */
export function follow(query, onEvent) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query || {})) if (v !== undefined && v !== "") q.append(k, v);
  const source = new EventSource(`/api/v1/events/stream?${q}`);
  source.onmessage = (message) => {
    try { onEvent(JSON.parse(message.data)); } catch (e) { console.warn("bad event", e); }
  };
  return () => source.close();
}

/** Calls fn now and every `ms` while the page lives; returns a stop function. */
export function every(ms, fn) {
  let stopped = false;
  let timer;
  const tick = async () => {
    if (stopped) return;
    try { await fn(); } catch (e) { if (!stopped) console.warn(e); }
    if (!stopped) timer = setTimeout(tick, ms);
  };
  tick();
  return () => { stopped = true; clearTimeout(timer); };
}
