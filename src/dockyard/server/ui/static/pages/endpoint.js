// One endpoint: variants, weights and live traffic split; requests, errors and latency per
// variant as live charts (from ?stats=true every 2 s: counters turned into rates, latency
// histograms into windowed p50/p99); rollout state and history (rollback reasons); captured
// records; its workers' logs, followed. Editors update it from a spec editor, delete it, try
// it with a test payload and manage its API keys.
import { api, follow, every } from "../lib/api.js";
import { h, clear, kv, badge, fmtTime, fmtBytes, fmtNum, table, errorBox } from "../lib/dom.js";
import { color, lineChart } from "../lib/chart.js";
import { actionButton } from "../lib/forms.js";
import { deleteEndpoint, endpointSpecDialog, invokePanel, keysPanel, reachableUrl } from "../lib/endpoints.js";

export const title = "Endpoint";

const POLL_MS = 2000;
const WINDOW = 150; // points kept: 5 minutes at 2 s
const LOG_LIMIT = 1024 * 1024; // characters of log kept on screen

/** Per-variant totals over every worker: requests, 5xx, 4xx, latency buckets. */
function totals(stats) {
  const out = {};
  for (const w of (stats && stats.workers) || []) {
    for (const [name, v] of Object.entries(w.variants || {})) {
      const t = (out[name] ||= { requests: 0, errors: 0, client: 0, bounds: v.latency_s?.bounds || [], counts: [], inFlight: 0 });
      t.requests += v.requests || 0;
      t.inFlight += v.in_flight || 0;
      for (const [status, n] of Object.entries(v.by_status || {})) {
        if (Number(status) >= 500) t.errors += n; else if (Number(status) >= 400) t.client += n;
      }
      (v.latency_s?.counts || []).forEach((n, i) => { t.counts[i] = (t.counts[i] || 0) + n; });
    }
  }
  return out;
}

function quantile(bounds, counts, q) {
  const total = counts.reduce((a, b) => a + b, 0);
  if (!total) return null;
  let seen = 0;
  for (let i = 0; i < counts.length; i++) {
    seen += counts[i];
    if (seen >= q * total) return (i < bounds.length ? bounds[i] : bounds[bounds.length - 1] * 2) * 1000;
  }
  return null;
}

export default async function endpointPage(ctx) {
  const { root, params, signal } = ctx;
  const name = params.name;
  const path = `endpoints/${encodeURIComponent(name)}`;
  const top = h("div");
  const chartsBox = h("div.cards#traffic");
  const workersBox = h("div#workers", h("p.muted", "…"));
  const capture = h("div#capture");
  // One worker's log at a time (the newest by default), followed by offset.
  const logBox = h("pre.log#endpoint-log", { tabIndex: 0 });
  const logState = h("span.muted");
  const logWorker = h("select#log-worker", { onchange: () => { logAt = 0; logText = ""; logBox.textContent = ""; } });
  let logAt = 0;
  let logText = "";
  let endpoint = await api(path, { signal });
  // The schedules watching this endpoint (asked once; a server that refuses says nothing here).
  const monitoring = h("span#endpoint-monitoring", h("span.muted", "…"));
  api("monitoring-schedules", { query: { max_results: 200 }, signal }).then(({ monitoring_schedules: all }) => {
    const mine = all.filter((s) => s.spec.target.endpoint === name);
    clear(monitoring, mine.length
      ? mine.map((s) => h("a.chip", { href: `#/monitoring/${encodeURIComponent(s.name)}` }, s.name, s.last_execution && s.last_execution.violation_count ? h("span.s-bad", ` ${s.last_execution.violation_count} ⚠`) : null))
      : h("span.muted", "none"));
  }).catch(() => monitoring.remove());
  root.append(top,
    h("div.grid2", h("div", h("h2", "Try it"), invokePanel(endpoint)), h("div", h("h2", "API keys"), keysPanel(ctx.me, name))),
    h("h2", "Live traffic ", h("span.muted", { style: { fontWeight: 400 } }, "per variant, every 2 s")), chartsBox,
    h("h2", "Workers"), workersBox, h("h2", "Captured records"), capture,
    h("div.row", h("h2", "Logs"), logWorker, logState), logBox);
  function drawTop() {
    const cfg = endpoint.config;
    const total = cfg.variants.reduce((s, v) => s + v.weight, 0) || 1;
    // The latest update's rollback, while it is the latest outcome: a later update starts a
    // new "rolling out" event, after which the old rollback is history (the table keeps it).
    const lastStart = endpoint.events.findLastIndex((e) => e.status === "Updating" && e.message.startsWith("rolling out"));
    const rollbacks = lastStart < 0 ? [] : endpoint.events.slice(lastStart + 1).filter((e) => e.status === "RollingBack" || e.message.startsWith("rolled back"));
    clear(top,
      h("div.crumbs", h("a", { href: "#/endpoints" }, "Endpoints"), " / ", name),
      h("div.head", h("h1", name), badge(endpoint.status), h("span.mono.muted", reachableUrl(endpoint)), h("span.muted", `${endpoint.workers} worker${endpoint.workers === 1 ? "" : "s"}`),
        h("div.spacer"),
        actionButton(ctx.me, "Update…", async () => { const updated = await endpointSpecDialog(endpoint); if (updated) { endpoint = { ...endpoint, ...updated }; drawTop(); } }, { id: "update-endpoint", primary: true }),
        actionButton(ctx.me, "Delete", async () => { if (await deleteEndpoint(name)) location.hash = "#/endpoints"; }, { id: "delete-endpoint", danger: true })),
      endpoint.failure_reason ? h("div.banner.bad", endpoint.failure_reason) : null,
      h("div.grid2",
        h("div",
          h("h2", "Variants"),
          table([
            ["Variant", (v) => h("span", h("span.swatch", { style: { background: color(cfg.variants.indexOf(v)) } }), v.name)],
            ["Model", (v) => modelLink(v.model_uri, v.model_version)],
            ["Weight", (v) => `${fmtNum(v.weight)} (${Math.round((100 * v.weight) / total)}%)`, { num: true }],
            ["Traffic now", (v) => (endpoint.traffic[v.name] !== undefined ? `${Math.round(endpoint.traffic[v.name] * 100)}%` : ""), { num: true }],
          ], cfg.variants),
          cfg.shadow ? kv([["Shadow", `${cfg.shadow.name} ← ${cfg.shadow.model_uri} (${cfg.shadow.sampling_pct}%)`]]) : null,
          h("h2", "Configuration"),
          kv([["Capture", cfg.capture.enabled ? `${cfg.capture.sampling_pct}% (${cfg.capture.mode})` : "off"],
            ["Scaling", `${cfg.scaling.min_workers}–${cfg.scaling.max_workers} workers`],
            ["Rollout", `${cfg.rollout.strategy}${cfg.rollout.strategy === "canary" ? ` ${cfg.rollout.canary_pct}% for ${cfg.rollout.bake_s} s` : cfg.rollout.strategy === "linear" ? ` in ${cfg.rollout.linear_steps} steps` : ""}`],
            ["Thresholds", `error rate ≤ ${cfg.rollout.thresholds.max_error_rate}, p99 ≤ ${cfg.rollout.thresholds.max_p99_ms} ms`],
            ["API key", cfg.require_api_key ? "required" : "not required"],
            ["Monitoring", monitoring]])),
        h("div",
          h("h2", "Rollout"),
          endpoint.pending_config ? h("div.banner#rollout", "Rolling out to ", endpoint.pending_config.variants.map((v) => h("span.chip", `${v.name} ← ${v.model_uri}`)),
            Object.keys(endpoint.traffic).length ? h("div", { style: { marginTop: "6px" } }, "Traffic: ", Object.entries(endpoint.traffic).map(([k, v]) => h("span.chip", `${k} ${Math.round(v * 100)}%`))) : null)
            : h("p.muted", "No rollout in progress."),
          rollbacks.length ? h("div.banner.bad#rollbacks", h("b", "Rolled back: "), rollbacks.map((e) => h("div", `${fmtTime(e.time)} ${e.message}`))) : null,
          h("h2", "History"),
          h("div.scroll#history", { style: { maxHeight: "320px" } }, table([["When", (e) => fmtTime(e.time), { cls: "time" }], ["Status", (e) => badge(e.status)], ["", (e) => e.message]], [...endpoint.events].reverse())))));
  }
  // An alias (models:/wine@champion) names the version it resolved to when the variant was
  // deployed, which the variant keeps serving after the alias moves: that is the one shown.
  function modelLink(uri, version) {
    const m = /^models:\/([^/@]+)(?:\/(\d+)|@(.+)|\/(latest))$/.exec(uri);
    if (!m) return h("span.mono", uri);
    const served = m[2] || version;
    return h("a.mono", { href: served ? `#/models/${m[1]}/versions/${served}` : `#/models/${m[1]}` }, uri, !m[2] && version ? ` (v${version})` : "");
  }

  // -- live charts -----------------------------------------------------------------------------
  const history = { t: [], variants: {} };
  let previous = null;
  const charts = {};
  const specs = [["requests", "Requests / s"], ["errors", "Errors (5xx) / s"], ["p99", "p99 latency (ms)"], ["p50", "p50 latency (ms)"]];
  for (const [key, label] of specs) {
    const el = h("div");
    chartsBox.append(h("div.card.chart", { dataset: { chart: key } }, h("div.title", label, h("span.muted", { dataset: { now: key } })), el));
    charts[key] = { el, chart: null };
  }
  async function sample() {
    const fresh = await api(path, { query: { stats: true }, signal });
    const statusChanged = fresh.status !== endpoint.status || fresh.updated_time !== endpoint.updated_time || fresh.workers !== endpoint.workers;
    endpoint = fresh;
    if (statusChanged) drawTop();
    drawWorkers(fresh.stats);
    const now = Date.now() / 1000;
    const current = totals(fresh.stats);
    if (previous) {
      const dt = Math.max(0.001, now - previous.time);
      history.t.push(now);
      const names = new Set([...Object.keys(current), ...Object.keys(history.variants)]);
      for (const v of names) {
        const c = current[v] || { requests: 0, errors: 0, counts: [], bounds: [] };
        const p = previous.totals[v] || { requests: 0, errors: 0, counts: [] };
        const reset = c.requests < p.requests; // a worker restarted: counters began again
        const d = (a, b) => (reset ? a : Math.max(0, a - b));
        const deltaCounts = c.counts.map((n, i) => d(n, p.counts[i] || 0));
        const series = (history.variants[v] ||= { requests: [], errors: [], p99: [], p50: [] });
        while (series.requests.length < history.t.length - 1) for (const k of Object.keys(series)) series[k].push(null);
        series.requests.push(d(c.requests, p.requests) / dt);
        series.errors.push(d(c.errors, p.errors) / dt);
        series.p99.push(quantile(c.bounds, deltaCounts, 0.99));
        series.p50.push(quantile(c.bounds, deltaCounts, 0.5));
      }
      if (history.t.length > WINDOW) {
        history.t.shift();
        for (const s of Object.values(history.variants)) for (const k of Object.keys(s)) s[k].shift();
      }
      await drawCharts();
    }
    previous = { time: now, totals: current };
  }
  /** Who serves: each worker's id (its log's name), process, where it runs (a replica on a
   * cluster node, or this server's machine) and what it has answered. */
  function drawWorkers(stats) {
    const workers = (stats && stats.workers) || [];
    const sum = (w, key) => Object.values(w.variants || {}).reduce((n, v) => n + (v[key] || 0), 0);
    clear(workersBox, workers.length
      ? table([
        ["Worker", (w) => h("span.mono", w.worker?.id || "")],
        ["PID", (w) => String(w.worker?.pid ?? ""), { num: true }],
        ["Where", (w) => (w.worker?.node
          ? h("span.mono", `${w.worker.host}:${w.worker.port} on node ${String(w.worker.node).slice(0, 12)}`)
          : h("span.muted", "this server's machine"))],
        ["Requests", (w) => fmtNum(sum(w, "requests")), { num: true }],
        ["In flight", (w) => fmtNum(sum(w, "in_flight")), { num: true }],
        ["Config", (w) => String(w.worker?.config_version ?? ""), { num: true }],
        ["State", (w) => (w.worker?.draining ? badge("Draining") : badge("InService"))],
      ], workers)
      : h("p.muted", "No worker is serving."));
  }
  async function drawCharts() {
    const names = Object.keys(history.variants).sort();
    const order = endpoint.config.variants.map((v) => v.name);
    for (const [key] of specs) {
      const series = names.map((v) => ({
        label: v, color: color(order.includes(v) ? order.indexOf(v) : names.indexOf(v) + order.length),
        xs: history.t, ys: history.variants[v][key],
      }));
      const c = charts[key];
      const last = series.map((s) => `${s.label} ${s.ys.length ? fmtNum(Number((s.ys[s.ys.length - 1] ?? 0).toFixed(2))) : ""}`).join(" · ");
      chartsBox.querySelector(`[data-now=${key}]`).textContent = `  ${last}`;
      if (!series.length) continue;
      if (!c.chart) c.chart = await lineChart(c.el, series, { xMode: "time", height: 180 });
      else c.chart.update(series);
      c.el.closest(".card").dataset.points = String(history.t.length);
    }
  }
  ctx.onLeave(() => { for (const c of Object.values(charts)) c.chart && c.chart.destroy(); });
  ctx.onLeave(every(POLL_MS, sample));
  ctx.onLeave(every(POLL_MS, async () => {
    const query = { offset: logAt, ...(logWorker.value ? { worker: logWorker.value } : {}) };
    const page = await api(`${path}/logs`, { query, signal });
    const ids = page.workers.map((w) => w.worker).join(",");
    if (logWorker.dataset.ids !== ids) {
      logWorker.dataset.ids = ids;
      clear(logWorker, page.workers.slice().reverse().map((w) =>
        h("option", { value: w.worker, selected: w.worker === page.worker }, `${w.worker} (${w.alive ? "serving" : "exited"}, ${fmtBytes(w.size)})`)));
    }
    logAt = page.next_offset;
    if (page.text) {
      const atEnd = logBox.scrollTop + logBox.clientHeight >= logBox.scrollHeight - 4;
      logText = (logText + page.text).slice(-LOG_LIMIT);
      logBox.textContent = logText;
      if (atEnd) logBox.scrollTop = logBox.scrollHeight;
    }
    logState.textContent = page.worker ? `${page.worker}: ${logAt.toLocaleString()} bytes${page.ended ? ", exited" : ""}` : "no worker has written yet";
  }));
  ctx.onLeave(follow({ resource_type: "endpoint", resource_id: name }, async () => {
    try { endpoint = await api(path, { signal }); drawTop(); } catch (e) { if (e.name !== "AbortError") console.warn(e); }
  }));

  // -- captured records ------------------------------------------------------------------------
  async function drawCapture() {
    let listed;
    try { listed = await api(`${path}/capture`, { query: { limit: 200 }, signal }); } catch (e) { clear(capture, errorBox(e)); return; }
    if (!listed.files.length) {
      clear(capture, h("div.row", h("span.muted", endpoint.config.capture.enabled ? "Nothing captured yet." : "Capture is off for this endpoint (capture.enabled)."),
        h("button#capture-refresh", { onclick: drawCapture }, "Refresh")));
      return;
    }
    const records = h("div");
    const RECENT = "";
    const select = h("select#capture-file", { onchange: () => show(select.value) },
      h("option", { value: RECENT }, "Newest records, every variant"),
      listed.files.map((f) => h("option", { value: f.path }, `${f.path}  (${fmtBytes(f.size)})`)));
    clear(capture, h("div.row", select, h("button#capture-refresh", { onclick: drawCapture }, "Refresh")), records);
    const read = async (file) => {
      const text = await api(`/api/v1/${path}/capture/${file.split("/").map(encodeURIComponent).join("/")}`, { text: true, signal });
      return text.split("\n").filter(Boolean).map((line) => { try { return JSON.parse(line); } catch { return { raw: line }; } });
    };
    async function show(file) {
      let rows;
      if (file === RECENT) {
        // Files are per variant and hour, newest first: the newest few hold the latest records.
        rows = (await Promise.all(listed.files.slice(0, 6).map((f) => read(f.path)))).flat();
        rows.sort((a, b) => String(b.time).localeCompare(String(a.time)));
      } else rows = await read(file);
      rows = rows.slice(0, 500);
      // A record's time is ISO 8601 in UTC, to the microsecond: shown in the tables' local
      // date and time (to the millisecond, records come close together), exact under the pointer.
      const recordTime = (t) => {
        const ms = t ? Date.parse(t) : NaN;
        if (Number.isNaN(ms)) return t || "";
        return h("span", { title: t }, `${fmtTime(ms)}.${String(ms % 1000).padStart(3, "0")}`);
      };
      const body = (b) => (b ? (b.encoding === "json" ? JSON.stringify(b.data) : String(b.data)) : "");
      const detail = h("pre", { style: { marginTop: "8px" } }, "Choose a record.");
      clear(records, h("div.scroll", { style: { maxHeight: "360px" } }, table([
        ["Time", (r) => recordTime(r.time), { cls: "time" }], ["Variant", (r) => r.variant || ""], ["Kind", (r) => r.kind || ""],
        ["Status", (r) => (r.status ? badge(String(r.status)) : "")], ["Latency (ms)", (r) => fmtNum(r.latency_ms), { num: true }],
        ["Input", (r) => h("a", { href: "#", onclick: (e) => { e.preventDefault(); detail.textContent = JSON.stringify(r, null, 2); } }, body(r.input).slice(0, 80))],
        ["Output", (r) => body(r.output).slice(0, 60)],
      ], rows)), detail);
    }
    await show(RECENT);
  }

  drawTop();
  // Leaving the page aborts the records being read: not an error.
  drawCapture().catch((e) => { if (e.name !== "AbortError") clear(capture, errorBox(e)); });
}
