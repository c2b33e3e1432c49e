// One run's metric as a chart that asks the server only for what it can draw
// (GET runs/{id}/metric-series/{key}): at most two points per pixel of its width, over the
// zoomed range or the whole history. A longer history comes back sampled (each bucket's lowest
// and highest point), so 100,000 points cost what 1,000 do; a drag-zoom asks for that range
// again, at full resolution once it holds few enough points; a double-click goes back.
// The run page and the job page draw their metrics with it.

import { metricSeries } from "./api.js";
import { axisValue, lineChart, seriesAxis, seriesXY } from "./chart.js";

/**
 * "1,234 points, sampled": what a chart shows; values NaN or infinite are not drawn, and the
 * account says how many of those shown are so ("none drawn" when all are).
 */
export function describe(found, zoom) {
  const n = found.total;
  let text = `${n.toLocaleString()} point${n === 1 ? "" : "s"}${zoom ? " in view" : ""}${found.sampled ? ", sampled" : ""}`;
  const shown = found.values.length;
  const bad = found.values.filter((v) => typeof v !== "number" || !Number.isFinite(v)).length;
  if (bad && bad === shown) text += shown === 1 ? ": not a finite number, none drawn" : ": all NaN or infinite, none drawn";
  else if (bad) text += ` (${bad.toLocaleString()} NaN or infinite, not drawn)`;
  return text;
}

/**
 * A sampled chart of `key` drawn into `el`. opts is read on every draw ({xMode, log,
 * smoothing}: chartControls' opts, shared by a page's charts). t0 (ms, the run's start) is
 * relative time's origin. `card` gets data-ready, data-zoomed and data-sampled; `meta` a
 * short account of the points shown. Returns {load, refresh, optionsChanged, destroy, loaded}.
 */
export function seriesChart({ runId, key, el, card, meta, opts, t0 = 0, height, signal }) {
  let series = null; // the last answer
  let axis = null; // the axis it was asked on
  let zoom = null; // [min, max] on that axis, or null for the whole history
  let chart = null;
  let shown = null; // the options chart was built with
  let loading = false;
  let asked = 0;

  async function load() {
    const mine = ++asked;
    loading = true;
    if (!series && meta) meta.textContent = "loading…";
    try {
      const started = performance.now();
      const onAxis = seriesAxis(opts.xMode);
      const found = await metricSeries(runId, key, {
        x: onAxis, xMin: zoom?.[0], xMax: zoom?.[1],
        maxPoints: Math.min(10000, Math.max(200, 2 * Math.round(el.clientWidth || 500))), signal,
      });
      if (mine !== asked) return; // a newer zoom or refresh is on its way
      series = found;
      axis = onAxis;
      if (meta) meta.textContent = describe(found, zoom);
      el.dataset.loadMs = String(Math.round(performance.now() - started));
      await redraw();
      card.dataset.zoomed = zoom ? "1" : "";
      card.dataset.sampled = found.sampled ? "1" : "";
    } catch (e) {
      if (e.name !== "AbortError" && meta) meta.textContent = e.message;
    } finally {
      if (mine === asked) loading = false;
    }
  }

  async function redraw() {
    if (!series) return;
    const [xs, ys] = seriesXY(series, opts.xMode, t0);
    const drawn = [{ label: key, xs, ys }];
    if (chart && shown.xMode === opts.xMode && shown.log === opts.log && shown.smoothing === opts.smoothing) {
      chart.update(drawn);
      return;
    }
    if (chart) chart.destroy();
    shown = { ...opts };
    chart = await lineChart(el, drawn, {
      ...opts, height,
      onZoom: (min, max) => {
        // Points at full resolution are already here: uPlot zooms them itself.
        if (!series.sampled) return;
        const mode = opts.xMode;
        zoom = [Math.floor(axisValue(min, mode, t0)), Math.ceil(axisValue(max, mode, t0))];
        load();
      },
      onReset: () => { if (zoom) { zoom = null; load(); } },
    });
    card.dataset.ready = "1";
  }

  return {
    load,
    /** Ask again for what is shown (the run logged more); nothing if not drawn yet. */
    refresh() { if (series && !loading) load(); },
    /** opts changed: another axis buckets differently (the zoom was on the old one). */
    optionsChanged() {
      if (!series) return;
      if (seriesAxis(opts.xMode) !== axis) { zoom = null; load(); } else redraw();
    },
    /** Whether it has drawn or is asking. */
    get loaded() { return Boolean(series) || loading; },
    destroy() { asked++; if (chart) chart.destroy(); chart = null; },
  };
}
