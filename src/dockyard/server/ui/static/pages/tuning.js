// Tuning jobs: the list (status, strategy, counts, best objective), and one tuning job: its
// best trial, the objective over time (each trial's and the best so far), parallel coordinates
// of the completed trials, hyperparameter importance, the trials table, and Stop. The chart's
// x is the completed trials' order of completion.
// URL: #/tuning, #/tuning/<name>; it follows the tuning job's events while shown.
import { api, follow } from "../lib/api.js";
import { h, clear, badge, fmtNum, fmtTime, kv, table, toast, errorBox } from "../lib/dom.js";
import { actionButton, errorText } from "../lib/forms.js";
import { color, lineChart } from "../lib/chart.js";
import { parallelCoordinates } from "../lib/plots.js";

export const title = "Tuning";

const best = (j) => (j.best_trial && j.best_trial.objective !== null ? fmtNum(j.best_trial.objective) : "-");
const jobLink = (name) => h("a", { href: `#/jobs/${encodeURIComponent(name)}` }, name);

export default async function tuning(ctx) {
  if (ctx.params.name) return detail(ctx, decodeURIComponent(ctx.params.name));
  const { root, signal } = ctx;
  const body = h("div");
  root.append(h("div.head", h("h1", "Tuning jobs")), body);
  let list;
  try {
    ({ tuning_jobs: list } = await api("tuning-jobs", { query: { max_results: 200 }, signal }));
  } catch (e) { clear(body, errorBox({ message: errorText(e) })); return; }
  clear(body, list.length ? h("div#tuning-jobs", table([
    ["Name", (j) => h("a", { href: `#/tuning/${encodeURIComponent(j.name)}` }, j.name)],
    ["Status", (j) => badge(j.status)],
    ["Strategy", (j) => j.spec.config.strategy],
    ["Objective", (j) => `${j.spec.config.objective.type} ${j.spec.config.objective.metric_name}`],
    ["Completed", (j) => j.counts.completed, { num: true }],
    ["Running", (j) => j.counts.in_progress, { num: true }],
    ["Best", best, { num: true }],
    ["Created", (j) => fmtTime(j.created_time)],
  ], list))
    : h("p.muted", "No tuning jobs. Start one: dy.HyperparameterTuner(...).fit(...) or dockyard tuning submit tune.yaml"));
}

async function detail(ctx, name) {
  const { root, signal } = ctx;
  const path = `tuning-jobs/${encodeURIComponent(name)}`;
  const info = h("div");
  const overTime = h("div.card#objective-over-time");
  const parallel = h("div.card#parallel");
  const importance = h("div#importance");
  const trialsBox = h("div#trials");
  const stop = async () => {
    try {
      const j = await api(`${path}/stop`, { method: "POST" });
      toast(`${name}: ${j.status}`);
      await load();
    } catch (e) { toast(errorText(e), true); }
  };
  const stopper = actionButton(ctx.me, "Stop", stop, { id: "stop-tuning", danger: true });
  root.append(
    h("div.head", h("h1", name), stopper), info,
    h("h2", "Objective over time"), overTime,
    h("h2", "Trials"), trialsBox,
    h("h2", "Parallel coordinates"), parallel,
    h("h2", "Hyperparameter importance"), importance,
  );
  let chart = null;
  ctx.onLeave(() => { if (chart) chart.destroy(); });

  async function load() {
    const j = await api(path, { signal });
    const { trials } = await api(`${path}/trials`, { signal });
    const config = j.spec.config;
    if (stopper) stopper.disabled = j.status !== "InProgress";
    clear(info, kv([
      ["Status", badge(j.status)],
      ["Strategy", `${config.strategy}${config.early_stopping === "Auto" ? ", early stopping" : ""}`],
      ["Objective", `${config.objective.type} ${config.objective.metric_name}`],
      ["Trials", `${j.counts.completed} completed, ${j.counts.in_progress} running, ${j.counts.failed} failed, ${j.counts.stopped} stopped (${j.counts.stopped_early} early)`],
      ["Best", j.best_trial ? h("span", `${best(j)} `, jobLink(j.best_trial.job)) : "-"],
      ["Run", j.run_id ? h("a", { href: `#/runs/${j.run_id}` }, j.run_id) : "-"],
      ["Ended", j.completion_reason || j.failure_reason || (j.end_time ? fmtTime(j.end_time) : "")],
      ["Created", `${fmtTime(j.created_time)} by ${j.created_by || "-"}`],
    ]));
    clear(trialsBox, trials.length ? table([
      ["#", (t) => t.number, { num: true }],
      ["Status", (t) => badge(t.status)],
      ["Objective", (t) => (t.objective === null ? "-" : fmtNum(t.objective)), { num: true }],
      ["Job", (t) => jobLink(t.job)],
      ["Hyperparameters", (t) => h("span.mono", Object.entries(t.hyperparameters).map(([k, v]) => `${k}=${typeof v === "number" ? fmtNum(v) : v}`).join(" "))],
      ["Steps", (t) => t.steps, { num: true }],
      ["Reason", (t) => h("span.muted", t.reason || "")],
    ], trials) : h("p.muted", "No trial yet."));
    const done = trials.filter((t) => t.status === "Completed" && t.objective !== null)
      .sort((a, b) => a.end_time - b.end_time);
    if (!done.length) { clear(overTime, h("p.muted", "No trial has completed yet.")); clear(parallel); clear(importance); return; }
    const better = config.objective.type === "Maximize" ? Math.max : Math.min;
    const xs = done.map((_, i) => i + 1);
    const ys = done.map((t) => t.objective);
    const bestSoFar = ys.map((_, i) => better(...ys.slice(0, i + 1)));
    const series = [
      { label: "objective", color: color(0), xs, ys },
      { label: "best so far", color: color(1), xs, ys: bestSoFar },
    ];
    if (chart) chart.update(series);
    else {
      clear(overTime); // the "no trial yet" note
      // x counts completed trials (1, 2, ...), not a trial's number (#0...) or a step.
      chart = await lineChart(overTime, series, { yLabel: config.objective.metric_name, xLabel: "trials completed" });
    }
    const names = Object.keys(done[0].hyperparameters);
    parallelCoordinates(parallel, [
      ...names.map((k) => ({ label: k, values: done.map((t) => t.hyperparameters[k]) })),
      { label: config.objective.metric_name, values: ys },
    ], done.map((_, i) => color(i)), done.map((t) => t.job));
    const { importance: shares } = await api(`${path}/importance`, { signal });
    const ranked = Object.entries(shares);
    clear(importance, ranked.length ? table([
      ["Hyperparameter", ([k]) => k],
      ["Importance", ([, v]) => `${(v * 100).toFixed(1)}%`, { num: true }],
    ], ranked) : h("p.muted", "Two completed trials are needed."));
  }
  try { await load(); } catch (e) { clear(info, errorBox({ message: errorText(e) })); return; }
  let timer;
  ctx.onLeave(follow({ resource_type: "tuning", resource_id: name }, () => {
    clearTimeout(timer);
    timer = setTimeout(() => load().catch(() => {}), 300);
  }));
  ctx.onLeave(() => clearTimeout(timer));
}
