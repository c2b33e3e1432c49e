// Canvas plots uPlot does not draw: parallel coordinates and a labelled scatter.
// Axes are numeric when every value parses as a number, categorical otherwise.

import { h, fmtNum } from "./dom.js";

const css = (name) => getComputedStyle(document.documentElement).getPropertyValue(name).trim();

function axisOf(label, values) {
  const present = values.filter((v) => v !== null && v !== undefined && v !== "");
  const numeric = present.length > 0 && present.every((v) => typeof v === "number" || (v !== "" && !Number.isNaN(Number(v))));
  if (numeric) {
    const nums = present.map(Number);
    let min = Math.min(...nums);
    let max = Math.max(...nums);
    if (min === max) { min -= 1; max += 1; }
    return { label, numeric, min, max, pos: (v) => (v === null || v === undefined || v === "" ? null : (Number(v) - min) / (max - min)) };
  }
  const cats = [...new Set(present.map(String))].sort();
  return { label, numeric, cats, pos: (v) => (v === null || v === undefined ? null : cats.length === 1 ? 0.5 : cats.indexOf(String(v)) / (cats.length - 1)) };
}

function setup(canvas, height) {
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.parentElement.clientWidth || 800;
  canvas.width = width * ratio;
  canvas.height = height * ratio;
  canvas.style.height = `${height}px`;
  const g = canvas.getContext("2d");
  g.scale(ratio, ratio);
  g.font = "11px system-ui, sans-serif";
  return [g, width];
}

/**
 * Parallel coordinates: one vertical axis per column, one line per run, coloured by the last
 * column (the metric). columns: [{label, values: [...] per run}], colors: per run.
 */
export function parallelCoordinates(el, columns, colors, names) {
  const canvas = h("canvas.plot");
  const tip = h("div.tip", { style: { display: "none" } });
  el.replaceChildren(h("div", { style: { position: "relative" } }, canvas, tip));
  const height = 320;
  const draw = () => {
    const [g, width] = setup(canvas, height);
    const axes = columns.map((c) => axisOf(c.label, c.values));
    const top = 34;
    const bottom = height - 24;
    const left = 50;
    const step = axes.length > 1 ? (width - 2 * left) / (axes.length - 1) : 0;
    const x = (i) => left + i * step;
    const y = (p) => bottom - p * (bottom - top);
    const n = columns[0]?.values.length || 0;
    g.lineWidth = 1.5;
    for (let r = 0; r < n; r++) {
      g.strokeStyle = colors[r];
      g.globalAlpha = 0.75;
      g.beginPath();
      let started = false;
      axes.forEach((a, i) => {
        const p = a.pos(columns[i].values[r]);
        if (p === null) { started = false; return; }
        if (started) g.lineTo(x(i), y(p)); else g.moveTo(x(i), y(p));
        started = true;
      });
      g.stroke();
    }
    g.globalAlpha = 1;
    g.fillStyle = css("--fg");
    g.strokeStyle = css("--muted");
    axes.forEach((a, i) => {
      g.beginPath(); g.moveTo(x(i), top); g.lineTo(x(i), bottom); g.stroke();
      g.textAlign = i === 0 ? "left" : i === axes.length - 1 ? "right" : "center";
      g.font = "600 11px system-ui, sans-serif";
      g.fillText(a.label.length > 24 ? a.label.slice(0, 23) + "…" : a.label, x(i), 14);
      g.font = "11px system-ui, sans-serif";
      g.fillStyle = css("--muted");
      const ticks = a.numeric ? [[0, a.min], [0.5, (a.min + a.max) / 2], [1, a.max]] : a.cats.slice(0, 12).map((c) => [a.pos(c), c]);
      g.textAlign = "right";
      for (const [p, v] of ticks) g.fillText(typeof v === "number" ? fmtNum(v) : String(v).slice(0, 12), x(i) - 4, y(p) + 4);
      g.fillStyle = css("--fg");
    });
    canvas.onmousemove = (e) => {
      const rect = canvas.getBoundingClientRect();
      const mx = e.clientX - rect.left;
      const my = e.clientY - rect.top;
      const i = Math.round((mx - left) / (step || 1));
      if (i < 0 || i >= axes.length || Math.abs(mx - x(i)) > 12) { tip.style.display = "none"; return; }
      let best = -1;
      let dist = 8;
      for (let r = 0; r < n; r++) {
        const p = axes[i].pos(columns[i].values[r]);
        if (p !== null && Math.abs(y(p) - my) < dist) { dist = Math.abs(y(p) - my); best = r; }
      }
      if (best < 0) { tip.style.display = "none"; return; }
      tip.textContent = `${names[best]}: ${columns[i].label} = ${columns[i].values[best]}`;
      Object.assign(tip.style, { display: "block", left: `${mx + 12}px`, top: `${my}px` });
    };
    canvas.onmouseleave = () => { tip.style.display = "none"; };
  };
  draw();
  return draw;
}

/** A scatter of two columns, one labelled point per run. */
export function scatter(el, xs, ys, colors, names, xLabel, yLabel) {
  const canvas = h("canvas.plot");
  const tip = h("div.tip", { style: { display: "none" } });
  el.replaceChildren(h("div", { style: { position: "relative" } }, canvas, tip));
  const height = 320;
  const draw = () => {
    const [g, width] = setup(canvas, height);
    const ax = axisOf(xLabel, xs);
    const ay = axisOf(yLabel, ys);
    const left = 64; const right = 16; const top = 12; const bottom = height - 36;
    const X = (p) => left + p * (width - left - right);
    const Y = (p) => bottom - p * (bottom - top);
    g.strokeStyle = css("--line");
    g.fillStyle = css("--muted");
    g.strokeRect(left, top, width - left - right, bottom - top);
    g.textAlign = "center";
    g.fillText(xLabel, (left + width - right) / 2, height - 6);
    for (const [p, v] of ax.numeric ? [[0, ax.min], [0.5, (ax.min + ax.max) / 2], [1, ax.max]] : ax.cats.slice(0, 10).map((c) => [ax.pos(c), c])) {
      g.fillText(typeof v === "number" ? fmtNum(v) : String(v).slice(0, 12), X(p), bottom + 14);
    }
    g.textAlign = "right";
    for (const [p, v] of ay.numeric ? [[0, ay.min], [0.5, (ay.min + ay.max) / 2], [1, ay.max]] : ay.cats.slice(0, 10).map((c) => [ay.pos(c), c])) {
      g.fillText(typeof v === "number" ? fmtNum(v) : String(v).slice(0, 10), left - 6, Y(p) + 4);
    }
    g.save(); g.translate(12, (top + bottom) / 2); g.rotate(-Math.PI / 2); g.textAlign = "center"; g.fillText(yLabel, 0, 0); g.restore();
    const points = [];
    xs.forEach((xv, i) => {
      const px = ax.pos(xv);
      const py = ay.pos(ys[i]);
      if (px === null || py === null) return;
      points.push([X(px), Y(py), i]);
      g.fillStyle = colors[i];
      g.beginPath(); g.arc(X(px), Y(py), 5, 0, 2 * Math.PI); g.fill();
    });
    canvas.onmousemove = (e) => {
      const rect = canvas.getBoundingClientRect();
      const mx = e.clientX - rect.left;
      const my = e.clientY - rect.top;
      const near = points.find(([px, py]) => Math.hypot(px - mx, py - my) < 7);
      if (!near) { tip.style.display = "none"; return; }
      const i = near[2];
      tip.textContent = `${names[i]}: ${xLabel}=${xs[i]}, ${yLabel}=${ys[i]}`;
      Object.assign(tip.style, { display: "block", left: `${mx + 12}px`, top: `${my}px` });
    };
  };
  draw();
  return draw;
}
