// Line charts over uPlot (canvas: 100,000 points draw in milliseconds). Drag to zoom on x,
// double-click to reset; smoothing (exponential moving average, debiased as TensorBoard does),
// x = step, wall time or relative time, linear or log y. Colours follow the theme.

import { h, fmtNum, fmtTime } from "./dom.js";

let loading;
/** uPlot, loaded once, when a page first draws a chart. */
export function loadUPlot() {
  if (window.uPlot) return Promise.resolve(window.uPlot);
  if (!loading) {
    loading = new Promise((resolve, reject) => {
      document.head.append(h("link", { rel: "stylesheet", href: "/ui/vendor/uPlot.min.css" }));
      const script = h("script", { src: "/ui/vendor/uPlot.iife.min.js" });
      script.onload = () => resolve(window.uPlot);
      script.onerror = () => reject(new Error("could not load the chart library"));
      document.head.append(script);
    });
  }
  return loading;
}

export const PALETTE = [
  "#2563eb", "#dc2626", "#16a34a", "#d97706", "#9333ea", "#0891b2", "#db2777", "#65a30d",
  "#ea580c", "#4f46e5", "#0d9488", "#be123c", "#a16207", "#7c3aed", "#059669", "#c2410c",
];
export const color = (i) => PALETTE[i % PALETTE.length];

// Time ticks in the 24-hour clock and year-month-day dates the tables use (uPlot's own are
// 12-hour, month/day/year). Rows: [tick increment (s), label, label where the year changes,
// month, day, hour, minute, second, mode]; null keeps the label; mode 1 shows the longer
// label only where that part changes (and at the first tick).
const DATE = "{YYYY}-{MM}-{DD}";
const CLOCK = "{HH}:{mm}";
const TIME_TICKS = [
  [365 * 86400, "{YYYY}", null, null, null, null, null, null, 1],
  [28 * 86400, "{YYYY}-{MM}", null, null, null, null, null, null, 1],
  [86400, "{MM}-{DD}", `\n{YYYY}`, null, null, null, null, null, 1],
  [3600, CLOCK, `\n${DATE}`, null, `\n${DATE}`, null, null, null, 1],
  [60, CLOCK, `\n${DATE}`, null, `\n${DATE}`, null, null, null, 1],
  [1, ":{ss}", `\n${DATE} ${CLOCK}`, null, `\n${DATE} ${CLOCK}`, null, `\n${CLOCK}`, null, 1],
  [0.001, ":{ss}.{fff}", `\n${DATE} ${CLOCK}`, null, `\n${DATE} ${CLOCK}`, null, `\n${CLOCK}`, null, 1],
];
// Steps are whole numbers: no tick between two of them.
const STEP_INCRS = Array.from({ length: 16 }, (_, e) => [1, 2, 2.5, 5].map((m) => m * 10 ** e)).flat().filter(Number.isInteger);

/** A chart's x value as its legend shows it: the tables' date and time for a time axis. */
export function xValueText(v, xMode) {
  if (v === null || v === undefined) return "";
  return xMode === "time" ? fmtTime(v * 1000) : fmtNum(v);
}

const css = (name) => getComputedStyle(document.documentElement).getPropertyValue(name).trim();

export function toNumber(v) {
  return typeof v === "number" ? v : null; // "NaN", "Infinity" do not plot
}

/** Exponential moving average with debiasing; nulls pass through. */
export function smooth(ys, weight) {
  if (!weight) return ys;
  const out = new Array(ys.length);
  let last = 0;
  let n = 0;
  for (let i = 0; i < ys.length; i++) {
    const y = ys[i];
    if (y === null || !Number.isFinite(y)) { out[i] = null; continue; }
    last = last * weight + (1 - weight) * y;
    n++;
    out[i] = last / (1 - Math.pow(weight, n));
  }
  return out;
}

/** The axis a metric series is windowed and bucketed on, for an x mode. */
export const seriesAxis = (mode) => (mode === "step" ? "step" : "timestamp");

/**
 * [xs, ys] of a metric series (columns, see api.metricSeries) for an x mode; relative time
 * counts seconds from t0 (ms: the run's start).
 */
export function seriesXY(series, mode, t0 = 0) {
  const { steps, timestamps, values } = series;
  const n = values.length;
  const xs = new Array(n);
  const ys = new Array(n);
  for (let i = 0; i < n; i++) {
    xs[i] = mode === "time" ? timestamps[i] / 1000 : mode === "relative" ? (timestamps[i] - t0) / 1000 : steps[i];
    ys[i] = toNumber(values[i]);
  }
  if (mode !== "step") {
    const order = xs.map((_, i) => i).sort((a, b) => xs[a] - xs[b]);
    return [order.map((i) => xs[i]), order.map((i) => ys[i])];
  }
  return [xs, ys];
}

/** The inverse of seriesXY's x: a chart's x back to the series axis (step, or ms). */
export function axisValue(x, mode, t0 = 0) {
  if (mode === "time") return x * 1000;
  if (mode === "relative") return x * 1000 + t0;
  return x;
}

/**
 * A line chart. series: [{label, color, xs, ys, dash?, spanGaps?}] (dash: a dashed line without
 * points, e.g. a threshold; spanGaps false: a null breaks the line). Returns {destroy, update(series)}.
 * Series with different x values are joined onto one x axis (uPlot.join). onZoom(min, max)
 * is called when a person drags a range of x, onReset() when they double-click to undo it:
 * a chart of sampled points asks the server for that range at full resolution. xLabel names
 * the x axis where it is neither a step nor time (a tuning job's completed trials).
 */
export async function lineChart(el, series, { xMode = "step", log = false, smoothing = 0, height = 220, yLabel = "", xLabel = null, onZoom, onReset } = {}) {
  const uPlot = await loadUPlot();
  let plot = null;
  let current = series;
  const build = () => {
    if (plot) plot.destroy();
    const width = Math.max(200, el.clientWidth || 400);
    let data = current.length === 1
      ? [current[0].xs, smooth(current[0].ys, smoothing)]
      : uPlot.join(current.map((s) => [s.xs, smooth(s.ys, smoothing)]));
    if (log) for (let i = 1; i < data.length; i++) data[i] = data[i].map((v) => (v !== null && v > 0 ? v : null));
    // One x value (a first window, a first step) leaves uPlot to invent a range of years:
    // an hour either side of it in time, one step otherwise.
    const xs0 = data[0];
    const single = xs0.length && xs0[0] === xs0[xs0.length - 1] ? xs0[0] : null;
    const pad = xMode === "time" ? 3600 : 1;
    // A dashed line (a threshold) through one x is no line at all: drawn across the padded
    // range instead, the other series' single points in the middle.
    if (single !== null && current.some((s) => s.dash)) {
      const at = (col) => col[col.length - 1];
      data = [[single - pad, single, single + pad],
        ...data.slice(1).map((col, i) => (current[i].dash ? [at(col), at(col), at(col)] : [null, at(col), null]))];
    }
    const fg = css("--muted");
    const grid = css("--line");
    const axis = { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 }, font: "11px system-ui, sans-serif" };
    plot = new uPlot({
      width, height,
      cursor: { drag: { x: true, y: false }, points: { size: 6 } },
      legend: { show: current.length <= 12, live: true },
      scales: { x: { time: xMode === "time", ...(single === null ? {} : { range: () => [single - pad, single + pad] }) }, y: { distr: log ? 3 : 1 } },
      axes: [
        {
          ...axis, label: xLabel ?? (xMode === "step" ? "step" : xMode === "time" ? "" : "seconds"), labelSize: 14, labelFont: "11px system-ui",
          ...(xMode === "time" ? { values: TIME_TICKS } : xMode === "step" ? { incrs: STEP_INCRS } : {}),
        },
        { ...axis, size: 60, label: yLabel, labelSize: yLabel ? 14 : 0, values: (u, vals) => vals.map(fmtNum) },
      ],
      series: [
        { label: xLabel ?? (xMode === "step" ? "step" : "time"), value: (u, v) => xValueText(v, xMode) },
        ...current.map((s, i) => ({
          label: s.label, stroke: s.color || color(i), width: 1.5, spanGaps: s.spanGaps ?? true, dash: s.dash ? [6, 4] : undefined,
          points: { show: !s.dash && data[0].length < 40, size: 4 }, value: (u, v) => (v === null || v === undefined ? "" : fmtNum(v)),
        })),
      ],
      // setSelect fires when a drag ends (setScale also fires when the chart first draws).
      hooks: {
        // The x axis's labels as drawn (on a canvas, out of the page's text otherwise), for
        // whoever reads the page without seeing it: assistive tools and the UI's tests.
        draw: [(u) => { el.dataset.xTicks = (u.axes[0]._values || []).filter((v) => v !== null && v !== "").join(" | "); }],
        ...(onZoom ? { setSelect: [(u) => { if (u.select.width > 0) onZoom(u.posToVal(u.select.left, "x"), u.posToVal(u.select.left + u.select.width, "x")); }] } : {}),
      },
    }, data, el);
  };
  build();
  const resize = new ResizeObserver(() => {
    if (plot && el.clientWidth && Math.abs(plot.width - el.clientWidth) > 4) plot.setSize({ width: el.clientWidth, height });
  });
  resize.observe(el);
  const rebuild = () => build();
  window.addEventListener("themechange", rebuild);
  const reset = () => onReset && onReset();
  el.addEventListener("dblclick", reset);
  return {
    get plot() { return plot; },
    update(next) { current = next; build(); },
    destroy() {
      resize.disconnect(); window.removeEventListener("themechange", rebuild); el.removeEventListener("dblclick", reset);
      if (plot) plot.destroy();
      plot = null;
    },
  };
}

/** Chart controls (x mode, smoothing, log) bound to the URL's query; calls onChange(opts). */
export function chartControls(query, setQuery, onChange) {
  const opts = {
    xMode: query.get("x") || "step",
    smoothing: Number(query.get("smooth") || 0),
    log: query.get("log") === "1",
  };
  const x = h("select", { title: "x axis", onchange: () => { opts.xMode = x.value; changed(); } },
    [["step", "x: step"], ["time", "x: time"], ["relative", "x: relative time"]].map(([v, l]) => h("option", { value: v, selected: opts.xMode === v }, l)));
  const smoothLabel = h("span.muted.mono", opts.smoothing.toFixed(2));
  const s = h("input", { type: "range", min: 0, max: 0.99, step: 0.01, value: opts.smoothing, title: "Smoothing", oninput: () => { opts.smoothing = Number(s.value); smoothLabel.textContent = opts.smoothing.toFixed(2); changed(); } });
  const log = h("input", { type: "checkbox", checked: opts.log, onchange: () => { opts.log = log.checked; changed(); } });
  let timer;
  function changed() {
    setQuery({ x: opts.xMode === "step" ? "" : opts.xMode, smooth: opts.smoothing ? opts.smoothing : "", log: opts.log ? "1" : "" });
    clearTimeout(timer);
    timer = setTimeout(() => onChange(opts), 60);
  }
  const el = h("div.row.chart-controls", x, h("label.check", "Smoothing ", s, smoothLabel), h("label.check", log, "log y"),
    h("span.muted", "Drag to zoom, double-click to reset"));
  return { el, opts };
}
