// What the monitoring pages share: links, windows as people read them, violations by type, the
// series drawn over a schedule's windows, and the Run now dialog.
import { api } from "./api.js";
import { h, fmtNum, fmtTime } from "./dom.js";
import { field, input, modal } from "./forms.js";

const enc = encodeURIComponent;
const HOUR = 3600000;

export const scheduleHref = (name) => `#/monitoring/${enc(name)}`;
export const executionHref = (name, id) => `#/monitoring/${enc(name)}/executions/${enc(id)}`;
export const schedulePath = (name) => `monitoring-schedules/${enc(name)}`;

/** A window, local time: "2026-12-05 09:00 – 10:00" (the end's date only when it differs). */
export function fmtWindow(start, end) {
  const a = fmtTime(start).slice(0, 16);
  if (start === end) return a; // a baseline's job: an instant, not a window
  const b = fmtTime(end).slice(0, 16);
  return `${a} – ${a.slice(0, 10) === b.slice(0, 10) ? b.slice(11) : b}`;
}

/** What is watched, as a link where there is a page for it. */
export function targetOf(target) {
  if (target.endpoint) {
    return h("span", h("a", { href: `#/endpoints/${enc(target.endpoint)}` }, target.endpoint),
      target.variant ? h("span.muted", ` / ${target.variant}`) : h("span.muted", " (every variant)"));
  }
  return h("span", "transform job ", h("a", { href: `#/jobs/${enc(target.transform_job)}` }, target.transform_job),
    h("span.muted", ` (${target.side})`));
}

/** Violations by check type as chips: "baseline_drift_check 2". */
export function byType(counts) {
  const entries = Object.entries(counts || {});
  if (!entries.length) return null;
  return h("span.by-type", entries.map(([k, n]) => h("span.chip", { title: k, dataset: { type: k } }, `${k} ${n}`)));
}

/** A model-quality threshold: "rmse ≤ 0.5", "accuracy ≥ 0.8". */
export function thresholdText(metric, t) {
  const parts = [];
  if (t.min !== null && t.min !== undefined) parts.push(`≥ ${fmtNum(t.min)}`);
  if (t.max !== null && t.max !== undefined) parts.push(`≤ ${fmtNum(t.max)}`);
  return `${metric} ${parts.join(" and ")}`;
}

/** Model-quality metrics worth showing: the flattened report also holds its format's version
 * and the rows it counted, which are not measures of the model. */
export function qualityMetrics(metrics) {
  return Object.entries(metrics || {}).filter(([k, v]) => typeof v === "number" && k !== "version" && !/(^|_)count$/.test(k));
}

/** A violation's feature, or what a model-quality breach is about. */
export function violationSubject(v) {
  return v.feature_name ? h("span.mono", v.feature_name) : h("span.muted", "model quality");
}

/** The checks worth drawing: data-quality windows that ended with numbers, oldest first, the
 * latest execution of a window kept when it was checked again. */
export function checkedWindows(executions) {
  const latest = new Map();
  for (const e of executions) {
    if (e.kind !== "data_quality" || (e.status !== "Completed" && e.status !== "CompletedWithViolations")) continue;
    const key = `${e.window_start}-${e.window_end}`;
    const seen = latest.get(key);
    if (!seen || e.created_time > seen.created_time) latest.set(key, e);
  }
  return [...latest.values()].sort((a, b) => a.window_start - b.window_start || a.window_end - b.window_end);
}

/**
 * Series over windows (x: the window's start, in seconds): violations (all, then by type),
 * each feature's drift value in the windows it drifted, each model-quality metric.
 */
export function windowSeries(windows) {
  const xs = windows.map((e) => e.window_start / 1000);
  const types = [...new Set(windows.flatMap((e) => Object.keys(e.violations_by_type)))].sort();
  const violations = [
    { label: "violations", xs, ys: windows.map((e) => e.violation_count) },
    ...types.map((t) => ({ label: t, xs, ys: windows.map((e) => e.violations_by_type[t] || 0) })),
  ];
  const features = [...new Set(windows.flatMap((e) => e.drifted_features.map((d) => d.feature)))].sort();
  const metricOf = new Map();
  const drift = features.map((f) => ({
    label: f, xs, spanGaps: false,
    ys: windows.map((e) => {
      const d = e.drifted_features.find((x) => x.feature === f);
      if (d && !metricOf.has(f)) metricOf.set(f, { metric: d.metric, threshold: d.threshold });
      return d && typeof d.value === "number" ? d.value : null;
    }),
  }));
  const metrics = [...new Set(windows.flatMap((e) => qualityMetrics(e.metrics).map(([k]) => k)))].sort();
  const quality = metrics.map((m) => ({
    label: m, xs, ys: windows.map((e) => (typeof e.metrics[m] === "number" ? e.metrics[m] : null)),
  }));
  // One rule decided every feature (the usual case): its threshold is drawn as a line.
  const rules = new Set([...metricOf.values()].map((r) => r.threshold));
  if (drift.length && rules.size === 1) {
    const [threshold] = rules;
    drift.push({ label: "threshold", xs, ys: xs.map(() => threshold), dash: true, color: "#8a8f98" });
  }
  const decided = [...new Set([...metricOf.values()].map((r) => `${r.metric} > ${fmtNum(r.threshold)}`))];
  return { violations, drift, quality, driftRule: decided.join(", ") };
}

/** The local "YYYY-MM-DDTHH:MM" a datetime-local input holds, for ms. */
function localInput(ms) {
  const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60000);
  return d.toISOString().slice(0, 16);
}

/** Ask for a window and check it now; resolves with the new execution, or null. */
export function runNowDialog(name) {
  const end = Math.floor(Date.now() / HOUR) * HOUR;
  return modal({
    title: `Check a window of ${name} now`,
    id: "run-dialog",
    body: [
      field("Start", input("start", { type: "datetime-local", value: localInput(end - HOUR) }), "local time"),
      field("End", input("end", { type: "datetime-local", value: localInput(end) }), "default: the last completed hour"),
    ],
    submit: "Run now",
    onSubmit: (values) => {
      const body = {};
      for (const key of ["start", "end"]) {
        if (!values[key]) continue;
        const ms = new Date(values[key]).getTime();
        if (!Number.isFinite(ms)) throw Object.assign(new Error(`${key} is not a date and time`), { field: key });
        body[key] = ms;
      }
      return api(`${schedulePath(name)}/run`, { method: "POST", body });
    },
  });
}
