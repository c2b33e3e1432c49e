// Model monitoring: the schedules (target, status, last check, its violations, next check), and
// one schedule: its spec, violations, drift and model quality over its windows as charts, its
// executions, Run now (editors), and its violations, a page of executions at a time.
// URL: #/monitoring, #/monitoring/<name>[?vmax=<executions per violations page>]; a schedule's
// page follows its events while shown.
import { allPages, api, every, follow } from "../lib/api.js";
import { h, clear, badge, fmtAgo, fmtNum, fmtTime, kv, table, toast, errorBox, plural } from "../lib/dom.js";
import { actionButton, canEdit, errorText } from "../lib/forms.js";
import { color, lineChart } from "../lib/chart.js";
import {
  byType, checkedWindows, executionHref, fmtWindow, qualityMetrics, runNowDialog, scheduleHref,
  schedulePath, targetOf, thresholdText, violationSubject, windowSeries,
} from "../lib/monitoring.js";

export const title = "Monitoring";

const OPEN = new Set(["Pending", "InProgress"]);

export default async function monitoring(ctx) {
  if (ctx.params.name) return detail(ctx, ctx.params.name);
  const { root, signal } = ctx;
  const body = h("div");
  root.append(h("div.head", h("h1", "Monitoring schedules")), body);
  let list;
  try {
    list = await allPages("monitoring-schedules", "monitoring_schedules", { max_results: 200 }, 1000);
  } catch (e) { clear(body, errorBox({ message: errorText(e) })); return; }
  if (signal.aborted) return;
  clear(body, list.length ? h("div#monitoring-schedules", table([
    ["Name", (s) => h("a", { href: scheduleHref(s.name) }, s.name)],
    ["Target", (s) => targetOf(s.spec.target)],
    ["Status", (s) => badge(s.status)],
    ["Last check", (s) => (s.last_execution
      ? h("span", badge(s.last_execution.status), " ", h("a.muted", { href: executionHref(s.name, s.last_execution.execution_id) }, fmtWindow(s.last_execution.window_start, s.last_execution.window_end)))
      : h("span.muted", "none yet"))],
    ["Violations", (s) => (s.last_execution ? h("span", { class: s.last_execution.violation_count ? "s-bad" : "" }, String(s.last_execution.violation_count)) : ""), { num: true }],
    ["By type", (s) => (s.last_execution ? byType(s.last_execution.violations_by_type) : null)],
    ["Next check", (s) => (s.spec.enabled ? h("span.time", { title: `the window ${fmtWindow(s.next_window_start, s.next_window_end)}` }, fmtTime(s.next_check_time).slice(0, 16)) : h("span.muted", "stopped"))],
  ], list, { rowClass: (s) => (s.last_execution && s.last_execution.violation_count ? "has-violations" : "") }))
    : h("p.muted", "No monitoring schedules. Create one: dy.Monitor(...) or dockyard monitor schedules create drift.yaml"));
}

function specRows(s) {
  const spec = s.spec;
  const baseline = spec.baseline.uri
    ? h("span.mono", spec.baseline.uri)
    : h("span", "suggested from ", h("span.mono", suggestText(spec.baseline.suggest_from)));
  const check = spec.check;
  const quality = spec.model_quality;
  return [
    ["Target", targetOf(spec.target)],
    ["Status", h("span", badge(s.status), spec.enabled ? "" : h("span.muted", " (disabled)"))],
    ["Schedule", `${spec.schedule}${spec.timezone !== "UTC" ? ` (${spec.timezone})` : ""}`],
    ["Next check", spec.enabled ? h("span", fmtTime(s.next_check_time), h("span.muted", ` (the window ${fmtWindow(s.next_window_start, s.next_window_end)})`)) : "stopped"],
    ["Baseline", h("span", baseline, s.baseline_job ? h("span", " · job ", h("a", { href: `#/jobs/${encodeURIComponent(s.baseline_job)}` }, s.baseline_job)) : null)],
    ["Baseline files", s.baseline_uri ? h("span.mono", s.baseline_uri) : null],
    ["Drift metric", check.drift_metric || "distance (SageMaker's)"],
    ["Thresholds", Object.keys(check.thresholds).length
      ? h("span", Object.entries(check.thresholds).map(([k, v]) => h("span.chip", `${k} ${fmtNum(v)}`)))
      : h("span.muted", "the defaults")],
    ["Model quality", quality ? h("span", `${quality.problem_type} `, Object.entries(quality.thresholds).map(([k, t]) => h("span.chip", thresholdText(k, t)))) : null],
    ["Data", [spec.data.columns ? `columns ${spec.data.columns.join(", ")}` : "", `${spec.data.capture_side} side`].filter(Boolean).join(" · ")],
    ["Run", s.run_id ? h("a", { href: `#/runs/${s.run_id}` }, s.run_id) : null],
    ["Created", `${fmtTime(s.created_time)} by ${s.created_by}`],
  ];
}

function suggestText(from) {
  if (from.dataset_uri) return from.dataset_uri;
  if (from.training_job) return `training job ${from.training_job} (${from.channel})`;
  return `run ${from.run_id}${from.dataset ? ` (${from.dataset})` : ""}`;
}

function executionsTable(name, executions) {
  return table([
    ["Window", (e) => h("a", { href: executionHref(name, e.execution_id) }, fmtWindow(e.window_start, e.window_end))],
    ["Status", (e) => badge(e.status)],
    ["Trigger", (e) => (e.kind === "baseline" ? "baseline" : e.trigger)],
    ["Rows", (e) => (e.rows ?? ""), { num: true }],
    ["Violations", (e) => (e.kind === "baseline" ? "" : String(e.violation_count)), { num: true }],
    ["By type", (e) => byType(e.violations_by_type)],
    ["Drifted", (e) => e.drifted_features.map((d) => h("span.chip", d.feature))],
    ["Report", (e) => (e.report_url ? h("a", { href: executionHref(name, e.execution_id), title: "The execution's page shows its report" }, "report") : h("span.muted", "-"))],
    ["Failure", (e) => (e.failure_reason ? h("span.failure", e.failure_reason) : "")],
  ], executions, { rowClass: (e) => `execution-row${e.violation_count ? " has-violations" : ""}` });
}

async function detail(ctx, name) {
  const { root, signal, query } = ctx;
  const path = schedulePath(name);
  const info = h("div#schedule-spec");
  const banner = h("div");
  const charts = h("div.cards#monitoring-charts");
  const runs = h("div#executions");
  const violationsBox = h("div#violations");
  const run = actionButton(ctx.me, "Run now…", async () => {
    const started = await runNowDialog(name);
    if (started && started.execution_id) {
      toast(`Checking ${fmtWindow(started.window_start, started.window_end)}`);
      await load();
    }
  }, { id: "run-now", primary: true });
  const readOnly = canEdit(ctx.me) ? null
    : h("span.muted#run-refused", { title: "Running a window needs edit permission on the schedule" },
      `Read-only (${ctx.me ? ctx.me.role : "signed out"}): you may not run a window.`);
  root.append(
    h("div.crumbs", h("a", { href: "#/monitoring" }, "Monitoring"), " / ", name),
    h("div.head", h("h1", name), h("div.spacer"), run, readOnly),
    banner,
    h("div.grid2", h("div", h("h2", "Schedule"), info), h("div", h("h2", "Last check"), h("div#last-check"))),
    h("h2", "Over time"), charts,
    h("h2", "Executions"), runs,
    h("h2", "Violations"), violationsBox);
  const drawn = {};
  ctx.onLeave(() => { for (const c of Object.values(drawn)) c.destroy(); });

  async function chart(key, label, series, note) {
    let card = charts.querySelector(`[data-chart=${key}]`);
    if (!series.length) { if (card) card.remove(); return; }
    if (!card) {
      card = h("div.card.chart", { dataset: { chart: key } }, h("div.title", label, h("span.muted", { dataset: { note: key } })), h("div.plot"));
      charts.append(card);
    }
    card.querySelector("[data-note]").textContent = note ? `  ${note}` : "";
    const coloured = series.map((s, i) => ({ ...s, color: s.color || color(i) }));
    if (drawn[key]) drawn[key].update(coloured);
    else drawn[key] = await lineChart(card.querySelector(".plot"), coloured, { xMode: "time", height: 200 });
    card.dataset.ready = "1";
    card.dataset.points = String(series[0].xs.length);
  }

  let open = false;
  let shownKey = null; // what the page shows: a look that finds nothing new redraws nothing
  async function load() {
    const s = await api(path, { signal });
    const executions = await allPages(`${path}/executions`, "executions", { max_results: 200 }, 2000);
    if (signal.aborted) return;
    open = executions.some((e) => OPEN.has(e.status));
    // Redrawn tables lose a click pressed before and released after, and the user's selection.
    const key = JSON.stringify([s, executions]);
    if (key === shownKey) return;
    shownKey = key;
    clear(banner, s.failure_reason ? h("div.banner.bad", s.failure_reason) : null);
    clear(info, kv(specRows(s)));
    const last = s.last_execution;
    clear(root.querySelector("#last-check"), last ? kv([
      ["Window", h("a", { href: executionHref(name, last.execution_id) }, fmtWindow(last.window_start, last.window_end))],
      ["Status", badge(last.status)],
      ["Rows", last.rows ?? ""],
      ["Violations", h("span", String(last.violation_count), " ", byType(last.violations_by_type))],
      ["Drifted", last.drifted_features.length ? last.drifted_features.map((d) => h("span.chip", `${d.feature} ${d.metric} ${fmtNum(d.value)}`)) : "none"],
      ["Model quality", qualityMetrics(last.metrics).length ? qualityMetrics(last.metrics).map(([k, v]) => h("span.chip", `${k} ${fmtNum(v)}`)) : null],
      ["Ended", last.end_time ? h("span.time", { title: fmtTime(last.end_time) }, fmtAgo(last.end_time)) : ""],
    ]) : h("p.muted", "No window checked yet."));
    const windows = checkedWindows(executions);
    if (!windows.length) clear(charts, h("p.muted#no-charts", "Charts appear once a window has been checked."));
    else {
      charts.querySelector("#no-charts")?.remove();
      const series = windowSeries(windows);
      await chart("violations", "Violations per window", series.violations, plural(windows.length, "window"));
      await chart("drift", "Drifted features' drift", series.drift, series.driftRule);
      await chart("quality", "Model quality", series.quality, "");
    }
    clear(runs, executions.length ? executionsTable(name, executions) : h("p.muted", "No executions yet."));
  }

  // Violations: a page of executions at a time (the API pages executions that found some).
  const per = Math.max(1, Math.min(200, Number(query.get("vmax")) || 10));
  const tokens = [undefined]; // the token of each page seen, to go back
  let shown = 0;
  async function violations(page) {
    shown = page;
    let answer;
    try {
      answer = await api(`${path}/violations`, { query: { max_results: per, page_token: tokens[page] }, signal });
    } catch (e) { clear(violationsBox, errorBox({ message: errorText(e) })); return; }
    if (answer.next_page_token) tokens[page + 1] = answer.next_page_token;
    const pager = h("div.row.pager",
      h("button#violations-newer", { type: "button", disabled: page === 0, onclick: () => violations(page - 1) }, "← Newer"),
      h("span.muted#violations-page", `page ${page + 1}`),
      h("button#violations-older", { type: "button", disabled: !answer.next_page_token, onclick: () => violations(page + 1) }, "Older →"));
    clear(violationsBox, answer.violations.length ? table([
      ["Window", (v) => h("a", { href: executionHref(name, v.execution_id) }, fmtWindow(v.window_start, v.window_end))],
      ["Feature", (v) => violationSubject(v)],
      ["Check", (v) => h("span.chip", v.constraint_check_type ?? "")],
      ["Description", (v) => h("span.wrap", v.description ?? "")],
    ], answer.violations, { rowClass: () => "violation-row" }) : h("p.muted", page ? "No older violations." : "No violations."), pager);
  }

  try { await load(); } catch (e) { clear(info, errorBox({ message: errorText(e) })); return; }
  await violations(0);
  let timer;
  const reload = () => {
    clearTimeout(timer);
    timer = setTimeout(() => load().then(() => violations(shown)).catch((e) => { if (e.name !== "AbortError") console.warn(e); }), 300);
  };
  ctx.onLeave(follow({ resource_type: "monitoring_schedule", resource_id: name }, reload));
  // An execution's job runs between events: while one is open, look again now and then.
  ctx.onLeave(every(3000, async () => { if (open) await load(); }));
  ctx.onLeave(() => clearTimeout(timer));
}
