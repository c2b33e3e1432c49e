// One run: overview (params, metrics, tags), metric charts, artifacts with previews, datasets,
// the model, lineage. While the run is active it follows the event log and redraws.
// URL: #/experiments/<id>/runs/<run_id>?tab=metrics&x=step&smooth=0.6&log=1

import { api, follow, metricHistory } from "../lib/api.js";
import { h, clear, kv, badge, fmtTime, fmtDuration, fmtNum, table, errorBox } from "../lib/dom.js";
import { chartControls, loadUPlot } from "../lib/chart.js";
import { seriesChart } from "../lib/series-chart.js";
import { artifactBrowser } from "../lib/artifacts.js";
import { datasetSource, runActions } from "../lib/runs.js";
import { registerDialog } from "../lib/registry.js";
import { actionButton } from "../lib/forms.js";

export const title = "Run";

const TABS = [["overview", "Overview"], ["metrics", "Metrics"], ["artifacts", "Artifacts"], ["datasets", "Datasets"], ["lineage", "Lineage"]];

export default async function runPage(ctx) {
  const { root, params, query, signal } = ctx;
  let run = await api(`runs/${params.run}`, { signal });
  // The experiment only names the crumb: the page is drawn without waiting for it.
  let experiment = null;
  api(`experiments/${run.info.experiment_id}`, { signal })
    .then((found) => { experiment = found; drawHeader(); }, () => {});
  let tab = query.get("tab") || "overview";
  const header = h("div");
  const tabs = h("div.tabs", { role: "tablist" });
  const body = h("div");
  root.append(header, tabs, body);
  let cleanup = [];
  const charts = new Map(); // metric key -> its seriesChart

  function drawHeader() {
    const info = run.info;
    const end = info.end_time || (info.status === "RUNNING" ? Date.now() : null);
    clear(header,
      h("div.crumbs", h("a", { href: "#/experiments" }, "Experiments"), " / ",
        h("a", { href: `#/experiments/${info.experiment_id}` }, experiment ? experiment.name : info.experiment_id), " / run"),
      h("div.head", h("h1", info.run_name || info.run_id), badge(info.status),
        h("span.muted.mono", info.run_id),
        end ? h("span.muted", fmtDuration(end - info.start_time)) : null,
        info.status === "RUNNING" ? h("span.muted", { id: "live" }, "● live") : null,
        h("div.spacer"), runActions(ctx.me, run, async () => { run = await api(`runs/${info.run_id}`); drawHeader(); })));
  }

  function drawTabs() {
    clear(tabs, TABS.map(([id, label]) => h("a", {
      href: "#", class: id === tab ? "on" : "", role: "tab",
      onclick: (e) => { e.preventDefault(); tab = id; ctx.setQuery({ tab: id === "overview" ? "" : id }); drawTabs(); drawBody(); },
    }, label)));
  }

  function drawBody() {
    for (const fn of cleanup) fn();
    cleanup = [];
    charts.clear();
    clear(body);
    ({ overview, metrics: metricsTab, artifacts, datasets, lineage })[tab]?.();
  }

  // -- overview --------------------------------------------------------------------------------

  function overview() {
    const info = run.info;
    const tags = Object.entries(run.tags);
    const userTags = tags.filter(([k]) => !k.startsWith("mlflow."));
    const paramFilter = h("input", { placeholder: "Filter params", "data-search": true });
    const paramsBox = h("div");
    const drawParams = () => {
      const q = paramFilter.value.toLowerCase();
      const rows = Object.entries(run.params).filter(([k, v]) => !q || k.toLowerCase().includes(q) || v.toLowerCase().includes(q)).sort();
      clear(paramsBox, rows.length ? table([["Param", ([k]) => k], ["Value", ([, v]) => h("span.mono", v), { cls: "wrap" }]], rows) : h("p.muted", "No params."));
    };
    paramFilter.addEventListener("input", drawParams);
    // MLflow's run description (start_run(description=...), the UI's notes), as plain text.
    const note = run.tags["mlflow.note.content"];
    if (note) body.append(h("section#description", h("h2", "Description"), h("p", { style: { whiteSpace: "pre-wrap", marginTop: 0 } }, note)));
    body.append(h("div.grid2",
      h("div",
        h("h2", "Run"),
        kv([
          ["Status", badge(info.status)], ["Started", fmtTime(info.start_time)], ["Ended", fmtTime(info.end_time)],
          ["User", info.user_id], ["Artifacts", h("span.mono", info.artifact_uri)],
          ["Parent", info.parent_run_id ? h("a", { href: `#/runs/${info.parent_run_id}` }, info.parent_run_id) : null],
          ["Source", run.tags["mlflow.source.name"]], ["Commit", run.tags["mlflow.source.git.commit"] ? h("span.mono", run.tags["mlflow.source.git.commit"]) : null],
        ]),
        h("h2", "Metrics"),
        Object.keys(run.metrics).length ? table([
          ["Metric", (m) => h("a", { href: "#", onclick: (e) => { e.preventDefault(); tab = "metrics"; ctx.setQuery({ tab }); drawTabs(); drawBody(); } }, m.key)],
          ["Latest", (m) => fmtNum(m.value), { num: true }], ["Step", (m) => m.step, { num: true }], ["Logged", (m) => fmtTime(m.timestamp)],
        ], Object.values(run.metrics).sort((a, b) => a.key.localeCompare(b.key))) : h("p.muted", "No metrics."),
        h("h2", "Tags"),
        userTags.length ? table([["Tag", ([k]) => k], ["Value", ([, v]) => v, { cls: "wrap" }]], userTags) : h("p.muted", "No tags."),
        h("details", h("summary.muted", `System tags (${tags.length - userTags.length})`),
          table([["Tag", ([k]) => k], ["Value", ([, v]) => v, { cls: "wrap" }]], tags.filter(([k]) => k.startsWith("mlflow."))))),
      h("div", h("div.row", h("h2", "Params"), paramFilter), paramsBox)));
    drawParams();
  }

  // -- metrics ---------------------------------------------------------------------------------

  function metricsTab() {
    const keys = Object.keys(run.metrics).sort();
    if (!keys.length) { body.append(h("p.muted", "No metrics logged.")); return; }
    loadUPlot().catch(() => {}); // fetched alongside the first series rather than after it
    const controls = chartControls(query, ctx.setQuery, () => { for (const c of charts.values()) c.optionsChanged(); });
    const filter = h("input", { placeholder: "Filter metrics", "data-search": true, value: query.get("metric") || "" });
    const grid = h("div.cards");
    body.append(h("div.row", { style: { marginBottom: "10px" } }, filter, controls.el), grid);
    const drawGrid = () => {
      const q = filter.value.toLowerCase();
      ctx.setQuery({ metric: q });
      for (const c of charts.values()) c.destroy();
      charts.clear();
      clear(grid);
      for (const key of keys.filter((k) => !q || k.toLowerCase().includes(q))) {
        const plotEl = h("div.plot");
        const meta = h("span.muted");
        const download = h("button.ghost", { type: "button", title: "Every point of this metric, as CSV" }, "CSV");
        const card = h("div.card.chart", { dataset: { metric: key } }, h("div.title", key, meta, h("div.spacer"), download), plotEl);
        grid.append(card);
        const chart = seriesChart({ runId: run.info.run_id, key, el: plotEl, card, meta, opts: controls.opts, t0: run.info.start_time, signal });
        download.onclick = () => downloadCsv(key, meta, download);
        charts.set(key, chart);
        observer.observe(card);
      }
      // The first chart is in view: it asks now rather than after the frame the observer
      // waits for.
      const first = charts.values().next().value;
      if (first) first.load();
    };
    // Charts load when they scroll into view: 50 metrics cost only what is seen.
    const observer = new IntersectionObserver((entries) => {
      for (const e of entries) {
        if (!e.isIntersecting) continue;
        const c = charts.get(e.target.dataset.metric);
        if (c && !c.loaded) c.load();
      }
    }, { rootMargin: "200px" });
    cleanup.push(() => observer.disconnect());
    cleanup.push(() => { for (const c of charts.values()) c.destroy(); });
    filter.addEventListener("input", drawGrid);
    drawGrid();
  }

  function refreshCharts() {
    // The run logged more: each drawn chart asks again for what it shows.
    for (const c of charts.values()) c.refresh();
  }

  async function downloadCsv(key, meta, button) {
    button.disabled = true;
    try {
      const points = await metricHistory(run.info.run_id, key, { signal });
      const lines = ["step,timestamp,value", ...points.map((p) => `${p.step},${p.timestamp},${p.value}`)];
      const url = URL.createObjectURL(new Blob([lines.join("\n") + "\n"], { type: "text/csv" }));
      const a = h("a", { href: url, download: `${run.info.run_name || run.info.run_id}-${key.replace(/[^\w.-]+/g, "_")}.csv` });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
    } catch (e) {
      if (e.name !== "AbortError") meta.textContent = e.message;
    } finally {
      button.disabled = false;
    }
  }

  // -- artifacts, datasets, lineage ------------------------------------------------------------

  // MLflow 3's log_model makes a logged model: its files live under the model, not in the
  // run's artifacts, so the run's models are asked for separately (once per page).
  let loggedModels = null;
  function runModels() {
    loggedModels ??= api(`runs/${run.info.run_id}/logged-models`, { signal }).then((m) => m.models).catch(() => []);
    return loggedModels;
  }
  const modelFiles = (id) => `#/runs/${run.info.run_id}?tab=artifacts&model=${encodeURIComponent(id)}`;
  const encodeFile = (path) => path.split("/").map(encodeURIComponent).join("/");

  async function artifacts() {
    const box = h("div");
    body.append(box);
    const models = await runModels();
    const chosen = models.find((m) => m.model_id === query.get("model"));
    const base = chosen ? `logged-models/${chosen.model_id}/artifacts` : `runs/${run.info.run_id}/artifacts`;
    const choose = (id) => (e) => {
      e.preventDefault();
      ctx.setQuery({ model: id, path: "" });
      query.delete("path");
      if (id) query.set("model", id); else query.delete("model");
      drawBody();
    };
    clear(box,
      models.length ? h("div.row#artifact-sources", { style: { marginBottom: "10px" } }, h("span.muted", "Files of"),
        h("a.chip", { href: "#", class: chosen ? "" : "on", onclick: choose("") }, "the run"),
        models.map((m) => h("a.chip", { href: modelFiles(m.model_id), class: chosen === m ? "on" : "", dataset: { model: m.model_id }, onclick: choose(m.model_id) },
          "logged model ", h("b", m.name), " ", h("span.mono", m.model_id.slice(0, 10))))) : null,
      artifactBrowser({
        list: (path) => api(base, { query: { path }, signal }).then((a) => a.files),
        url: (path) => `/api/v1/${base}/${encodeFile(path)}`,
        initial: query.get("path") || "",
        onOpen: (path) => ctx.setQuery({ path }),
        empty: !chosen && models.length ? `No files in the run's own artifacts: its model${models.length > 1 ? "s'" : "'s"} files are under the logged model${models.length > 1 ? "s" : ""} above.` : "No files.",
      }));
  }

  function datasets() {
    if (!run.inputs.length) { body.append(h("p.muted", "No datasets logged (dy.log_input).")); return; }
    for (const input of run.inputs) {
      const d = input.dataset;
      let schema = null;
      let profile = null;
      try { schema = d.schema ? JSON.parse(d.schema) : null; } catch { schema = null; }
      try { profile = d.profile ? JSON.parse(d.profile) : null; } catch { profile = null; }
      const columns = schema && (schema["mlflow_colspec"] || schema.columns || schema.inputs || (Array.isArray(schema) ? schema : null));
      body.append(h("div.card", { style: { marginBottom: "12px" } },
        h("h3", { style: { marginTop: 0 } }, d.name, " ", input.tags["mlflow.data.context"] ? h("span.chip", input.tags["mlflow.data.context"]) : null),
        kv([["Digest", h("span.mono", d.digest)], ["Source", datasetSource(d)],
          ["Rows", profile && (profile.num_rows ?? profile.rows)], ["Elements", profile && profile.num_elements]]),
        Array.isArray(columns) ? h("div", h("h3", `Schema (${columns.length} columns)`),
          table([["Column", (c) => c.name ?? ""], ["Type", (c) => c.type ?? c["tensor-spec"]?.dtype ?? ""]], columns))
          : d.schema ? h("pre", d.schema) : null));
    }
  }

  async function lineage() {
    const info = run.info;
    const box = h("div");
    body.append(box);
    const children = await api("runs/search", {
      method: "POST", signal,
      body: { experiment_ids: [info.experiment_id], filter: `tags.mlflow.parentRunId = '${info.run_id}'`, max_results: 200 },
    }).catch(() => ({ runs: [] }));
    const files = await api(`runs/${info.run_id}/artifacts`, { signal }).then((a) => a.files).catch(() => []);
    const models = [];
    for (const f of files.filter((f) => f.is_dir)) {
      const inner = await api(`runs/${info.run_id}/artifacts`, { query: { path: f.path }, signal }).catch(() => ({ files: [] }));
      if (inner.files.some((x) => x.path.endsWith("/MLmodel"))) models.push(f.path);
    }
    const modelCard = (title, source, mlmodel, extra) => h("div.card.model", { dataset: { source } },
      h("h3", { style: { marginTop: 0 } }, title), extra, h("pre", mlmodel || "(no MLmodel file)"),
      h("p.muted", "Register it: ", h("code", `dockyard models register ${source} --name NAME`), " ",
        actionButton(ctx.me, "Register…", () => registerDialog(source), { primary: true })));
    const folderCards = await Promise.all(models.map(async (path) => {
      const text = await api(`/api/v1/runs/${info.run_id}/artifacts/${encodeFile(path)}/MLmodel`, { text: true, signal }).catch(() => "");
      return modelCard(["Model ", h("a.mono", { href: `#/runs/${info.run_id}?tab=artifacts&path=${encodeURIComponent(path + "/MLmodel")}` }, path)],
        `runs:/${info.run_id}/${path}`, text, null);
    }));
    const logged = await runModels();
    const loggedCards = await Promise.all(logged.map(async (m) => {
      const text = await api(`/api/v1/logged-models/${m.model_id}/artifacts/MLmodel`, { text: true, signal }).catch(() => "");
      return modelCard(["Model ", h("a", { href: modelFiles(m.model_id) }, m.name), " ", h("span.mono.muted", m.model_id), " ", badge(m.status)],
        `models:/${m.model_id}`, text, registeredAs(m));
    }));
    const modelCards = [...loggedCards, ...folderCards];
    clear(box,
      h("h2", "Code"),
      kv([["Source", run.tags["mlflow.source.name"] || "—"], ["Type", run.tags["mlflow.source.type"]],
        ["Git commit", run.tags["mlflow.source.git.commit"] ? h("span.mono", run.tags["mlflow.source.git.commit"]) : "—"],
        ["Branch", run.tags["mlflow.source.git.branch"]], ["Repository", run.tags["mlflow.source.git.repoURL"]],
        ["Job", run.tags["dockyard.job"] ? h("a", { href: `#/jobs/${encodeURIComponent(run.tags["dockyard.job"])}` }, run.tags["dockyard.job"]) : null]]),
      h("h2", "Data"),
      run.inputs.length ? table([["Dataset", (i) => i.dataset.name], ["Context", (i) => i.tags["mlflow.data.context"] || ""], ["Digest", (i) => h("span.mono", i.dataset.digest)], ["Source", (i) => datasetSource(i.dataset), { cls: "wrap" }]], run.inputs) : h("p.muted", "No datasets."),
      h("h2", "Runs"),
      kv([["Parent", info.parent_run_id ? h("a", { href: `#/runs/${info.parent_run_id}` }, info.parent_run_id) : "—"]]),
      children.runs.length ? table([["Child run", (r) => h("a", { href: `#/experiments/${r.info.experiment_id}/runs/${r.info.run_id}` }, r.info.run_name)], ["Status", (r) => badge(r.info.status)], ["Started", (r) => fmtTime(r.info.start_time)]], children.runs) : h("p.muted", "No child runs."),
      h("h2", "Models"),
      modelCards.length ? modelCards : h("p.muted", "No model logged in this run."));
  }

  /** The registry versions made from a logged model (its mlflow.modelVersions tag), as links. */
  function registeredAs(model) {
    let versions = [];
    try { versions = JSON.parse(model.tags["mlflow.modelVersions"] || "[]"); } catch { versions = []; }
    if (!Array.isArray(versions)) return null;
    const seen = new Set();
    const links = versions.filter((v) => v && v.name && v.version !== undefined)
      .filter((v) => { const k = `${v.name}/${v.version}`; return !seen.has(k) && seen.add(k); })
      .map((v) => h("a.chip", { href: `#/models/${encodeURIComponent(v.name)}/versions/${encodeURIComponent(v.version)}` }, `${v.name} v${v.version}`));
    return links.length ? h("p", "Registered as ", links) : null;
  }

  // -- live ------------------------------------------------------------------------------------

  let pending;
  const active = ["RUNNING", "SCHEDULED"].includes(run.info.status);
  const stop = !active ? () => {} : follow({ resource_type: "run", resource_id: run.info.run_id }, () => {
    clearTimeout(pending);
    pending = setTimeout(async () => {
      try {
        const fresh = await api(`runs/${params.run}`, { signal });
        const newKeys = Object.keys(fresh.metrics).some((k) => !run.metrics[k]);
        run = fresh;
        drawHeader();
        if (tab === "overview" || (tab === "metrics" && newKeys)) drawBody();
        else if (tab === "metrics") refreshCharts();
      } catch (e) { if (e.name !== "AbortError") console.warn(e); }
    }, 300);
  });
  ctx.onLeave(stop);
  ctx.onLeave(() => { for (const fn of cleanup) fn(); });

  drawHeader();
  drawTabs();
  try { drawBody(); } catch (e) { body.append(errorBox(e)); }
}
