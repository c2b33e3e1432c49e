// Compare 2-100 runs: overlaid metric curves, parallel coordinates of params against a metric,
// a scatter of any two columns, a diff table, and how to reproduce each run. Two requests,
// sent together, whatever the number of runs: the runs side by side, and one metric's curves
// of them all (each sampled to what the chart can draw). The curves are drawn first; what lies
// below them is built once they are on screen.
// URL: #/compare?runs=a,b,c&metric=loss&y=...&x=...

import { api, metricSeriesOf } from "../lib/api.js";
import { h, clear, fmtNum, copyButton, badge, plural } from "../lib/dom.js";
import { chartControls, color, lineChart, loadUPlot, seriesAxis, seriesXY } from "../lib/chart.js";
import { parallelCoordinates, scatter } from "../lib/plots.js";

export const title = "Compare";

export default async function compare(ctx) {
  const { root, query, signal } = ctx;
  const ids = (query.get("runs") || "").split(",").filter(Boolean).slice(0, 100);
  if (ids.length < 2) {
    root.append(h("h1", "Compare runs"), h("p.muted", "Select two or more runs in a runs table (x), then Compare (c)."));
    return;
  }
  loadUPlot().catch(() => {}); // fetched while the runs are: the curves need it first
  // The first curves leave with the runs' request (their metric, unless the URL names one, is
  // the first the runs logged as a curve: the server picks it), two points per pixel of the
  // page's width.
  const pointsFor = (width) => Math.min(4000, Math.max(200, 2 * Math.round(width || 800)));
  const firstAxis = seriesAxis(query.get("x") || "step");
  const firstCurves = metricSeriesOf(ids, query.get("metric") || undefined, { x: firstAxis, maxPoints: pointsFor(root.clientWidth), signal });
  firstCurves.catch(() => {}); // reported where the curves are drawn
  const cmp = await api("runs/compare", { query: { run_ids: ids }, signal });
  const n = cmp.run_ids.length;
  const names = cmp.run_names.map((name, i) => name || cmp.run_ids[i].slice(0, 8));
  const colors = cmp.run_ids.map((_, i) => color(i));
  const metricKeys = Object.keys(cmp.metrics);
  const paramKeys = Object.keys(cmp.params);
  const differs = (values) => new Set(values.map((v) => (v === null ? "\u0000" : String(v)))).size > 1;
  const columns = { ...Object.fromEntries(paramKeys.map((k) => [`params.${k}`, cmp.params[k]])), ...Object.fromEntries(metricKeys.map((k) => [`metrics.${k}`, cmp.metrics[k]])) };

  // The metric the server chose for the first curves (one logged as a curve, before a single
  // value such as best_rmse), unless the URL names one.
  const chosen = query.get("metric") ? null : await firstCurves.catch(() => null);
  let metric = query.get("metric") || (chosen && chosen.key) || metricKeys[0] || "";
  const legend = h("div.row", cmp.run_ids.map((id, i) => h("a.chip", { href: `#/experiments/${cmp.attributes.experiment_id[i]}/runs/${id}` }, h("span.swatch", { style: { background: colors[i] } }), names[i])));
  root.append(h("div.head", h("h1", `Compare ${plural(n, "run")}`)), legend);

  // -- curves ----------------------------------------------------------------------------------
  const curveBox = h("div.card.chart#curves");
  const metricSelect = h("select", { id: "metric", onchange: () => { metric = metricSelect.value; ctx.setQuery({ metric }); drawCurves(); drawParallel(); } },
    metricKeys.map((k) => h("option", { value: k, selected: k === metric }, k)));
  const controls = chartControls(query, ctx.setQuery, () => drawCurves());
  const status = h("span.muted");
  root.append(h("h2", "Metrics"), h("div.row", { style: { marginBottom: "8px" } }, metricSelect, controls.el, status), curveBox);
  const curves = new Map(); // metric and axis -> the runs' series
  let chart = null;
  async function drawCurves() {
    if (!metric) { clear(curveBox, h("p.muted", "These runs have no metrics.")); return; }
    status.textContent = "loading…";
    const started = performance.now();
    const axis = seriesAxis(controls.opts.xMode);
    const cacheKey = `${metric}\u0000${axis}`;
    if (!curves.has(cacheKey)) {
      // Two points per pixel of the chart's width draw each curve as every point would.
      const first = axis === firstAxis && (await firstCurves.catch(() => null));
      const asked = first && first.key === metric ? firstCurves
        : metricSeriesOf(cmp.run_ids, metric, { x: axis, maxPoints: pointsFor(curveBox.clientWidth), signal });
      const found = await asked.catch((e) => {
        status.textContent = e.message;
        return null;
      });
      if (!found) return;
      curves.set(cacheKey, new Map(found.series.map((s) => [s.run_id, s])));
    }
    const byRun = curves.get(cacheKey);
    const series = cmp.run_ids.map((id, i) => {
      const found = byRun.get(id);
      const [xs, ys] = found ? seriesXY(found, controls.opts.xMode, cmp.attributes.start_time[i]) : [[], []];
      return { label: names[i], color: colors[i], xs, ys };
    }).filter((s) => s.xs.length);
    if (chart) chart.destroy();
    clear(curveBox);
    chart = await lineChart(curveBox, series, { ...controls.opts, height: 320, yLabel: metric });
    curveBox.dataset.ready = "1";
    curveBox.dataset.series = String(series.length);
    status.textContent = `${series.length} curve${series.length === 1 ? "" : "s"}, ${Math.round(performance.now() - started)} ms`;
  }
  ctx.onLeave(() => chart && chart.destroy());
  const curvesDrawn = drawCurves();

  // -- parallel coordinates and scatter --------------------------------------------------------
  const parallelBox = h("div.card#parallel");
  const metricLabel = h("span.mono", metric || "a metric");
  root.append(h("h2", "Params against ", metricLabel), parallelBox);
  const redraws = [];
  function drawParallel() {
    metricLabel.textContent = metric || "a metric";
    const axes = paramKeys.filter((k) => differs(cmp.params[k])).slice(0, 12).map((k) => ({ label: k, values: cmp.params[k] }));
    if (metric) axes.push({ label: metric, values: cmp.metrics[metric] });
    if (axes.length < 2) { clear(parallelBox, h("p.muted", "No param differs between these runs.")); return; }
    redraws[0] = parallelCoordinates(parallelBox, axes, colors, names);
  }
  const keys = Object.keys(columns);
  const pick = (name, fallback) => h("select", { id: name, onchange: () => drawScatter() },
    keys.map((k) => h("option", { value: k, selected: k === (query.get(name) || fallback) }, k)));
  const xSel = pick("sx", keys.find((k) => k.startsWith("params.") && differs(columns[k])) || keys[0]);
  const ySel = pick("sy", metric ? `metrics.${metric}` : keys[1]);
  const scatterBox = h("div.card#scatter");
  root.append(h("h2", "Scatter"), h("div.row", { style: { marginBottom: "8px" } }, "x ", xSel, " y ", ySel), scatterBox);
  function drawScatter() {
    if (!keys.length) { clear(scatterBox, h("p.muted", "Nothing to plot.")); return; }
    ctx.setQuery({ sx: xSel.value, sy: ySel.value });
    redraws[1] = scatter(scatterBox, columns[xSel.value], columns[ySel.value], colors, names, xSel.value, ySel.value);
  }
  const onResize = () => redraws.forEach((d) => d && d());
  window.addEventListener("resize", onResize);
  window.addEventListener("themechange", onResize);
  ctx.onLeave(() => { window.removeEventListener("resize", onResize); window.removeEventListener("themechange", onResize); });

  // -- diff table ------------------------------------------------------------------------------
  const onlyDiff = h("input", { type: "checkbox", checked: query.get("diff") !== "0", onchange: () => { ctx.setQuery({ diff: onlyDiff.checked ? "" : "0" }); drawDiff(); } });
  const diffBox = h("div.scroll#diff");
  root.append(h("div.row", h("h2", "Side by side"), h("label.check", onlyDiff, "only what differs")), diffBox);
  function drawDiff() {
    const row = (section, key, values, fmt = (v) => v ?? "") => {
      const diff = differs(values);
      if (onlyDiff.checked && !diff && section !== "status") return null;
      let best = -1;
      if (section === "metric") {
        const nums = values.map((v) => (typeof v === "number" ? v : null));
        const lower = /loss|err|rmse|mae|mse/i.test(key);
        nums.forEach((v, i) => { if (v !== null && (best < 0 || (lower ? v < nums[best] : v > nums[best]))) best = i; });
      }
      return h("tr", { class: diff ? "diff" : "" }, h("td", h("span.muted", section, " "), key),
        values.map((v, i) => h("td", { class: section === "metric" ? "num" : "", style: i === best && diff ? { fontWeight: "700" } : null }, fmt(v))));
    };
    clear(diffBox, h("table.t",
      h("thead", h("tr", h("th", ""), names.map((name, i) => h("th", h("span.swatch", { style: { background: colors[i] } }), name)))),
      h("tbody",
        row("status", "", cmp.attributes.status, (v) => badge(v)),
        paramKeys.map((k) => row("param", k, cmp.params[k])),
        metricKeys.map((k) => row("metric", k, cmp.metrics[k], fmtNum)),
        Object.keys(cmp.tags).map((k) => row("tag", k, cmp.tags[k])))));
  }

  // -- reproduce -------------------------------------------------------------------------------
  const reproBox = h("div#reproduce");
  root.append(h("h2", "Reproduce"), reproBox);
  const tagAt = (group, key, i) => (group[key] ? group[key][i] : null);

  // The curves first, on screen, before what is below them is built: its layout would hold
  // back the frame the curves are drawn in.
  const failed = await curvesDrawn.then(() => null, (e) => e);
  await nextPaint();
  if (signal.aborted) return;
  clear(reproBox, h("div.cards", cmp.run_ids.map((id, i) => {
    const commit = tagAt(cmp.sources, "mlflow.source.git.commit", i);
    const repo = tagAt(cmp.sources, "mlflow.source.git.repoURL", i);
    const source = tagAt(cmp.sources, "mlflow.source.name", i) || "";
    const job = tagAt(cmp.tags, "dockyard.job", i);
    const python = tagAt(cmp.tags, "dockyard.python", i);
    const script = source.split("/").pop();
    const args = paramKeys.filter((k) => cmp.params[k][i] !== null).map((k) => {
      const v = cmp.params[k][i];
      return `--${k} ${/^[\w.:/@+-]+$/.test(v) ? v : `'${v.replace(/'/g, "'\\''")}'`}`;
    }).join(" ");
    const lines = [];
    if (repo) lines.push(`git clone ${repo} && cd "$(basename ${repo} .git)"`);
    if (commit) lines.push(`git checkout ${commit}`);
    // MLflow marks a notebook's runs NOTEBOOK and names them after the notebook (x.ipynb) when
    // it finds it, else after the kernel's launcher (ipykernel_launcher.py); code run from stdin
    // or -c is named "-" or "-c". None is a script to run again with the params as flags.
    const notebook = /^(ipykernel_launcher|colab_kernel_launcher)\.py$/.test(script) || /\.ipynb$/.test(script) || tagAt(cmp.sources, "mlflow.source.type", i) === "NOTEBOOK";
    if (job) lines.push(`dockyard jobs describe ${job} --json   # the job's spec: resubmit it`);
    else if (notebook) lines.push(`# started from ${/\.ipynb$/.test(script) ? `the notebook ${script}` : "a notebook"}: run its cells again with these params`);
    else if (script === "-" || script === "-c") lines.push("# run from python's standard input or -c: no script to run again");
    else if (script) lines.push(`python ${script} ${args}`.trim());
    const text = lines.join("\n") || "# no source recorded for this run";
    return h("div.card",
      h("div.row", h("span.swatch", { style: { background: colors[i] } }), h("b", names[i]), h("div.spacer"), copyButton(text)),
      h("table.t.kv", h("tbody",
        h("tr", h("td", "Commit"), h("td.mono", commit || "—")),
        h("tr", h("td", "Source"), h("td.mono", source || "—")),
        h("tr", h("td", "User"), h("td", cmp.attributes.user_id[i] || "—")),
        h("tr", h("td", "Environment"), h("td", tagAt(cmp.sources, "mlflow.source.type", i) || "—", python ? ` · Python ${python}` : "")))),
      h("pre", { style: { marginTop: "6px" } }, text));
  })));

  drawDiff();
  drawParallel();
  drawScatter();
  if (failed) throw failed;
}

/** Resolves once the browser has painted what is on the page now. */
function nextPaint() {
  return new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
}
