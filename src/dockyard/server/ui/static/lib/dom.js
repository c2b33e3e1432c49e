// Small DOM and formatting helpers. h() builds elements; text is always set as text, so values
// from the API never become markup.

export function h(tag, attrs, ...children) {
  const [base, id] = tag.split("#");
  const [name, ...classes] = base.split(".");
  const el = document.createElement(name || "div");
  if (classes.length) el.className = classes.join(" ");
  if (id) el.id = id;
  // A child given where attributes go (h("td", value)) is a child, whatever it is: a 0 or ""
  // is text to show, not "no attributes".
  if (attrs !== undefined && attrs !== null && (typeof attrs !== "object" || attrs instanceof Node || Array.isArray(attrs))) {
    children.unshift(attrs);
    attrs = null;
  }
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className += (el.className ? " " : "") + v;
    else if (k === "style" && typeof v === "object") Object.assign(el.style, v);
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (k in el && typeof v !== "string") el[k] = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
}

export function clear(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

export const $ = (sel, root = document) => root.querySelector(sel);

export function fmtTime(ms) {
  if (ms === null || ms === undefined) return "";
  const d = new Date(ms);
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export function fmtAgo(ms) {
  if (!ms) return "";
  const s = (Date.now() - ms) / 1000;
  if (s < 60) return `${Math.max(0, Math.round(s))} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}

export function fmtDuration(ms) {
  if (ms === null || ms === undefined || ms < 0) return "";
  const s = ms / 1000;
  if (s < 1) return `${Math.round(ms)} ms`;
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
  return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
}

export function fmtNum(v) {
  if (v === null || v === undefined) return "";
  if (typeof v === "string") return v; // "NaN", "Infinity"
  if (Number.isInteger(v) && Math.abs(v) < 1e15) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e7)) return v.toExponential(4);
  return String(Number(v.toPrecision(6)));
}

/** "1 window", "3 windows": a count with its noun, singular for one. */
export function plural(n, noun, nouns = `${noun}s`) {
  return `${n.toLocaleString("en")} ${n === 1 ? noun : nouns}`;
}

export function fmtBytes(n) {
  if (n === null || n === undefined) return "";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${i ? n.toFixed(1) : n} ${units[i]}`;
}

const STATUS = {
  RUNNING: "s-run", SCHEDULED: "s-muted", FINISHED: "s-ok", FAILED: "s-bad", KILLED: "s-warn",
  Pending: "s-muted", InProgress: "s-run", Stopping: "s-warn", Completed: "s-ok", Failed: "s-bad",
  Stopped: "s-warn", Creating: "s-run", InService: "s-ok", Updating: "s-run",
  RollingBack: "s-warn", Deleting: "s-warn", Approved: "s-ok", Rejected: "s-bad",
  READY: "s-ok", ok: "s-ok", denied: "s-bad", CompletedWithViolations: "s-bad", Scheduled: "s-ok",
  SUCCEEDED: "s-ok", TIMED_OUT: "s-bad", ABORTED: "s-warn", PENDING_REDRIVE: "s-run",
};
export const statusClass = (s) => STATUS[s] || "s-muted";
export const badge = (s) => h("span.badge", { class: statusClass(s) }, s);

let toastTimer;
export function toast(message, bad = false) {
  const box = document.getElementById("toast");
  const item = h("div", { class: bad ? "bad" : "" }, message);
  box.append(item);
  clearTimeout(toastTimer);
  setTimeout(() => item.remove(), bad ? 6000 : 3000);
}

/** A confirmation dialog; resolves true when confirmed. */
export function confirmDialog(title, body, action = "Confirm") {
  return new Promise((resolve) => {
    const dialog = h("dialog.confirm",
      h("h2", { style: { marginTop: 0 } }, title),
      h("div", body),
      h("div.row", { style: { justifyContent: "flex-end", marginTop: "16px" } },
        h("button", { type: "button", onclick: () => dialog.close("cancel") }, "Cancel"),
        h("button.primary", { type: "button", onclick: () => dialog.close("ok") }, action)),
    );
    dialog.addEventListener("close", () => { dialog.remove(); resolve(dialog.returnValue === "ok"); });
    document.body.append(dialog);
    dialog.showModal();
    dialog.querySelector("button.primary").focus();
  });
}

// A cell holding only a date and time (fmtTime's text) or an age (fmtAgo's): kept on one line,
// since a narrow column broke them at the hyphen or space ("2026-12-" over "07 03:00:00").
const TIMELIKE = /^(\d{4}-\d\d-\d\d \d\d:\d\d(:\d\d(\.\d+)?)?|\d+ (s|min|h|d) ago)$/;

/** A table from rows; columns: [label, (row) => cell, {num: bool, cls: string}]. */
export function table(columns, rows, { rowClass } = {}) {
  const td = (o, value) => {
    const classes = [o && o.num ? "num" : (o && o.cls) || ""];
    if (typeof value === "string" && TIMELIKE.test(value)) classes.push("time");
    return h("td", { class: classes.join(" ").trim() }, value);
  };
  return h("table.t",
    h("thead", h("tr", columns.map(([label, , o]) => h("th", { class: o && o.num ? "num" : "" }, label)))),
    h("tbody", rows.map((r) => h("tr", { class: rowClass ? rowClass(r) : "" },
      columns.map(([, cell, o]) => td(o, cell(r)))))));
}

export function kv(pairs) {
  return h("table.t.kv", h("tbody", pairs.filter((p) => p && p[1] !== undefined && p[1] !== null && p[1] !== "")
    .map(([k, v]) => h("tr", h("td", k), h("td.wrap", v)))));
}

export function errorBox(e) {
  return h("div.banner.bad", e && e.message ? e.message : String(e));
}

export function copyButton(text, label = "Copy") {
  return h("button", {
    type: "button",
    onclick: async () => {
      try { await navigator.clipboard.writeText(text); toast("Copied"); } catch { toast("Copy failed", true); }
    },
  }, label);
}

/** Quote a key for MLflow's filter syntax (backticks when it has anything but \w). */
export function filterKey(prefix, key) {
  return /^[A-Za-z_][\w.]*$/.test(key) ? `${prefix}.${key}` : `${prefix}.\`${key.replace(/`/g, "``")}\``;
}

export function filterString(value) {
  return `'${value.replace(/'/g, "''")}'`;
}
