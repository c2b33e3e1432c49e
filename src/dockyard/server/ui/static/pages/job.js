// One job: status timeline, live logs (follow), its run's metrics, resources, spec, and a
// transform's progress and output files. Updates from the event log while it runs. Stop it
// (after a confirmation), resume a stopped or failed transform. Its run's metrics are charted
// as the run page charts them: sampled to the chart's width, a zoom asks for the detail.
import { api, follow } from "../lib/api.js";
import { h, clear, kv, badge, fmtTime, fmtDuration, errorBox } from "../lib/dom.js";
import { loadUPlot } from "../lib/chart.js";
import { seriesChart } from "../lib/series-chart.js";
import { progressOf } from "./jobs.js";
import { actionButton, confirmAction, attempt } from "../lib/forms.js";

export const title = "Job";

const STAGE_COLORS = { Pending: "#94a3b8", Starting: "#60a5fa", Downloading: "#38bdf8", Training: "#2563eb", Transforming: "#2563eb", Uploading: "#8b5cf6", Completed: "#16a34a", Failed: "#dc2626", Stopped: "#d97706", Stopping: "#d97706", Restarting: "#f59e0b" };
const LOG_LIMIT = 2 * 1024 * 1024; // bytes kept on screen

// "models:/<name>/<n>", the version the job registered, as a link to the version's page.
function registeredLink(uri) {
  if (!uri) return null;
  const path = uri.slice("models:/".length);
  const cut = path.lastIndexOf("/");
  const [model, version] = [path.slice(0, cut), path.slice(cut + 1)];
  return h("a#registered-version", { href: `#/models/${encodeURIComponent(model)}/versions/${version}` }, `${model} version ${version}`);
}

export default async function jobPage(ctx) {
  const { root, params, query, signal } = ctx;
  const name = params.name;
  let job = await api(`jobs/${encodeURIComponent(name)}`, { signal });
  const header = h("div");
  const timeline = h("div");
  const side = h("div");
  const logBox = h("pre.log#log", { tabIndex: 0 });
  const followBox = h("input", { type: "checkbox", id: "follow", checked: query.get("follow") !== "0", onchange: () => ctx.setQuery({ follow: followBox.checked ? "" : "0" }) });
  const logState = h("span.muted");
  const chartsBox = h("div.cards");
  root.append(header, timeline,
    h("div.grid2", h("div", h("div.row", h("h2", "Logs"), h("label.check", followBox, "follow"), logState), logBox),
      h("div", side)),
    h("h2", "Metrics"), chartsBox);

  function drawHeader() {
    clear(header,
      h("div.crumbs", h("a", { href: "#/jobs" }, "Jobs"), " / ", name),
      h("div.head", h("h1", name), badge(job.status), h("span.muted", job.secondary_status), h("span.chip", job.kind),
        h("div.spacer"),
        !["Completed", "Failed", "Stopped"].includes(job.status) ? actionButton(ctx.me, "Stop", async () => {
          const stopped = await confirmAction(`Stop ${name}?`, h("p", "The job gets SIGTERM, then SIGKILL after the grace period.", job.kind === "transform" ? " Finished shards are kept: resume it later." : ""),
            () => api(`jobs/${encodeURIComponent(name)}/stop`, { method: "POST" }), { submit: "Stop job", id: "confirm-dialog" });
          if (stopped) { job = stopped; drawAll(); }
        }, { id: "stop-job", danger: true }) : null,
        job.kind === "transform" && ["Failed", "Stopped"].includes(job.status) ? actionButton(ctx.me, "Resume", async () => {
          const resumed = await attempt(() => api(`jobs/${encodeURIComponent(name)}/resume`, { method: "POST" }), "Resumed: finished shards are not redone");
          if (resumed) { job = resumed; drawAll(); }
        }, { id: "resume-job" }) : null),
      job.failure_reason ? h("div.banner.bad", job.failure_reason) : null);
    // Timeline: one segment per secondary status, as long as it lasted.
    const events = job.events;
    const end = job.end_time || Date.now();
    const start = events.length ? events[0].time : job.created_time;
    const total = Math.max(1, end - start);
    clear(timeline, h("h2", "Status timeline"),
      h("div.timeline#timeline", events.map((e, i) => {
        const until = i + 1 < events.length ? events[i + 1].time : end;
        const last = i + 1 === events.length;
        return h("div", { title: `${e.secondary_status} ${fmtTime(e.time)} (${fmtDuration(until - e.time)})${e.message ? ": " + e.message : ""}`,
          style: { flex: `${Math.max(until - e.time, total / 200)} 0 0`, background: STAGE_COLORS[e.secondary_status] || "#64748b", opacity: last && !job.end_time ? 0.8 : 1 } }, e.secondary_status);
      })),
      h("div.muted", { style: { marginTop: "4px", fontSize: "12px" } }, events.map((e) => `${fmtTime(e.time).slice(11)} ${e.secondary_status}${e.message ? " — " + e.message : ""}`).join("  ·  ")));
    const spec = job.spec || {};
    const p = progressOf(job);
    clear(side,
      job.progress ? [h("h2", "Progress"), p !== null ? h("div.progress#progress", h("div", { style: { width: `${p * 100}%` } })) : null,
        kv(Object.entries(job.progress).map(([k, v]) => [k, typeof v === "object" ? JSON.stringify(v) : String(v)]))] : null,
      h("h2", "Job"),
      kv([["Run", job.run_id ? h("a", { href: `#/runs/${job.run_id}` }, job.run_id) : null], ["Model", job.model_uri],
        ["Registered", registeredLink(job.registered_version)], ["By", job.created_by], ["Executor", job.executor],
        ["Created", fmtTime(job.created_time)], ["Started", fmtTime(job.start_time)], ["Ended", fmtTime(job.end_time)],
        ["Duration", job.start_time ? fmtDuration((job.end_time || Date.now()) - job.start_time) : null], ["Exit code", job.exit_code]]),
      h("h2", "Resources"),
      kv(Object.entries({ ...(spec.resources || {}), ...(spec.stopping_condition || {}) }).filter(([, v]) => v !== null).map(([k, v]) => [k, String(v)])),
      job.kind === "transform" ? [h("h2", "Outputs"), outputsBox] : null,
      h("details", h("summary", "Spec"), h("pre", JSON.stringify(spec, null, 2))));
    if (job.kind === "transform") drawOutputs();
  }

  // -- a transform's output files, as download links -------------------------------------------
  const outputsBox = h("div#outputs", h("span.muted", "Loading…"));
  let outputsShown = null;
  async function drawOutputs() {
    const key = `${job.status}:${job.progress ? JSON.stringify(job.progress) : ""}`;
    if (outputsShown === key) return;
    outputsShown = key;
    let listed;
    try { listed = await api(`jobs/${encodeURIComponent(name)}/outputs`, { signal }); } catch (e) { clear(outputsBox, h("span.muted", e.message)); return; }
    const base = `/api/v1/jobs/${encodeURIComponent(name)}/outputs/`;
    clear(outputsBox, h("div.muted.mono", listed.uri),
      listed.files.length ? h("ul", listed.files.slice(0, 500).map((f) => h("li", h("a", { href: base + f.path.split("/").map(encodeURIComponent).join("/"), download: f.path.split("/").pop() }, f.path),
        f.size !== null ? h("span.muted", ` ${f.size} B`) : null)))
        : h("p.muted", "No output files yet."));
  }

  // -- logs: follow by polling offsets (X-Next-Offset, X-Job-Ended) --------------------------
  let offset = 0;
  let ended = false;
  let text = "";
  async function pollLogs() {
    while (!signal.aborted) {
      try {
        const response = await api(`jobs/${encodeURIComponent(name)}/logs`, { query: { offset }, raw: true, signal });
        const chunk = await response.text();
        offset = Number(response.headers.get("X-Next-Offset") || offset);
        ended = response.headers.get("X-Job-Ended") === "true";
        if (chunk) {
          text = (text + chunk).slice(-LOG_LIMIT);
          logBox.textContent = text;
          if (followBox.checked) logBox.scrollTop = logBox.scrollHeight;
        }
        logState.textContent = ended ? `${offset.toLocaleString()} bytes, ended` : `${offset.toLocaleString()} bytes, following…`;
        if (ended && !chunk) return;
      } catch (e) {
        if (e.name === "AbortError") return;
        logState.textContent = e.message;
      }
      await new Promise((r) => setTimeout(r, chunkWait()));
    }
  }
  const chunkWait = () => (ended ? 0 : 700);

  // -- metrics of the job's run --------------------------------------------------------------
  const charts = new Map(); // metric key -> its seriesChart
  const chartOpts = { xMode: "step", log: false, smoothing: 0 };
  async function drawMetrics() {
    if (!job.run_id) { clear(chartsBox, h("p.muted", "No run yet.")); return; }
    const run = await api(`runs/${job.run_id}`, { signal }).catch(() => null);
    if (!run) return;
    const keys = Object.keys(run.metrics).sort();
    if (!keys.length) { if (!charts.size) clear(chartsBox, h("p.muted", "No metrics logged yet.")); return; }
    loadUPlot().catch(() => {}); // fetched alongside the first series rather than after it
    for (const key of keys) {
      const known = charts.get(key);
      if (known) { known.refresh(); continue; } // asks again for what it shows
      if (!charts.size) clear(chartsBox);
      const el = h("div.plot");
      const meta = h("span.muted");
      const card = h("div.card.chart", { dataset: { metric: key } }, h("div.title", key, meta), el);
      chartsBox.append(card);
      const chart = seriesChart({ runId: job.run_id, key, el, card, meta, opts: chartOpts, t0: run.info.start_time, height: 180, signal });
      charts.set(key, chart);
      chart.load();
    }
  }
  ctx.onLeave(() => { for (const c of charts.values()) c.destroy(); });

  function drawAll() { drawHeader(); }
  let timer;
  ctx.onLeave(follow({ resource_type: "job", resource_id: name }, () => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      try { job = await api(`jobs/${encodeURIComponent(name)}`, { signal }); drawAll(); drawMetrics(); } catch (e) { if (e.name !== "AbortError") console.warn(e); }
    }, 200);
  }));
  // Metrics logged by the script are run events, not job events: refresh them on a timer.
  const metricsTimer = setInterval(() => { if (!job.end_time) drawMetrics().catch(() => {}); }, 5000);
  ctx.onLeave(() => clearInterval(metricsTimer));
  drawAll();
  pollLogs();
  try { await drawMetrics(); } catch (e) { chartsBox.append(errorBox(e)); }
}
