// Dockyard's web UI: the shell (navigation, user, theme, keys) and the route table.
//
// Adding a page: write pages/<name>.js exporting `default async function (ctx)` (and optionally
// `title`), then add one line to ROUTES below (and to NAV if it belongs in the top bar).
// ctx = { root, params, query, setQuery(changes, {push}), me, signal, onLeave(fn) }.
// Everything a page shows comes from /api/v1; its state lives in the URL after '#', so any view
// is a link to share. MLflow's client prints /#/experiments/<id>/runs/<run_id>: that route exists.

import { api, setCsrf, whenSignedOut } from "./lib/api.js";
import { h, clear, errorBox } from "./lib/dom.js";

const page = (name) => () => import(`./pages/${name}.js`);

const ROUTES = [
  ["/login", page("login")],
  ["/experiments", page("experiments")],
  ["/experiments/:id", page("runs")],
  ["/experiments/:id/runs/:run", page("run")],
  ["/runs/:run", page("run")],
  ["/compare", page("compare")],
  ["/models", page("models")],
  ["/models/:name", page("model")],
  ["/models/:name/versions/:version", page("version")],
  ["/jobs", page("jobs")],
  ["/jobs/:name", page("job")],
  ["/endpoints", page("endpoints")],
  ["/endpoints/:name", page("endpoint")],
  ["/params", page("params")],
  ["/events", page("events")],
  ["/subscriptions", page("subscriptions")],
  ["/subscriptions/:name", page("subscriptions")],
  ["/pipelines", page("pipelines")],
  ["/pipelines/:name", page("pipelines")],
  ["/pipelines/:name/executions/:execution", page("execution")],
  ["/triggers", page("triggers")],
  ["/triggers/:name", page("triggers")],
  ["/tuning", page("tuning")],
  ["/tuning/:name", page("tuning")],
  ["/monitoring", page("monitoring")],
  ["/monitoring/:name", page("monitoring")],
  ["/monitoring/:name/executions/:execution", page("monitoring-execution")],
  ["/account", page("account")],
];

const NAV = [
  ["Experiments", "#/experiments", "e"],
  ["Models", "#/models", "m"],
  ["Jobs", "#/jobs", "j"],
  ["Endpoints", "#/endpoints", "p"],
  ["Pipelines", "#/pipelines", "l"],
  ["Parameters", "#/params", "r"],
  ["Events", "#/events", "v"],
  ["Subscriptions", "#/subscriptions", "n"],
  ["Triggers", "#/triggers", "t"],
  ["Tuning", "#/tuning", "u"],
  ["Monitoring", "#/monitoring", "o"],
  ["Account", "#/account", "a"],
];

const compiled = ROUTES.map(([pattern, load]) => {
  const names = [];
  const re = new RegExp("^" + pattern.replace(/:(\w+)/g, (_, n) => { names.push(n); return "([^/]+)"; }) + "/?$");
  return { pattern, re, names, load };
});

function parseHash() {
  const raw = location.hash.replace(/^#/, "") || "/experiments";
  const [path, search = ""] = raw.split("?");
  return { path: path || "/experiments", query: new URLSearchParams(search) };
}

export function setQuery(changes, { push = false } = {}) {
  const { path, query } = parseHash();
  for (const [k, v] of Object.entries(changes)) {
    if (v === undefined || v === null || v === "" || (Array.isArray(v) && !v.length)) query.delete(k);
    else query.set(k, Array.isArray(v) ? v.join(",") : v);
  }
  const s = query.toString();
  const hash = `#${path}${s ? "?" + s : ""}`;
  if (push) location.hash = hash;
  else history.replaceState(history.state, "", hash);
}

let me = null;
let firstWhoami = null; // asked at start, alongside the first page's code
let current = null; // { controller, leave: [] }

// GET /session answers a browser that has not signed in (no 401 to show in its console).
async function whoami() {
  try {
    me = (await api("session")).whoami ?? null;
  } catch (e) {
    if (e.status === 401) me = null;
    else throw e;
  }
  renderUser();
  return me;
}

function renderUser() {
  const box = document.getElementById("user");
  if (!me) { clear(box); return; }
  const signedIn = me.kind === "user";
  clear(box,
    h("span", { title: `kind: ${me.kind}` }, h("b.user-name", me.name), " ", h("span.chip.user-role", me.role)),
    signedIn ? h("button.ghost", { id: "signout", onclick: signOut }, "Sign out")
      : (me.auth_required ? null : h("span.muted", { title: "This server has no accounts: local clients need no sign-in" }, "(no accounts)")));
}

async function signOut() {
  try { await api("session", { method: "DELETE" }); } catch { /* already ended */ }
  setCsrf(null);
  me = null;
  renderUser();
  location.hash = "#/login";
}

async function route() {
  const { path, query } = parseHash();
  const main = document.getElementById("main");
  if (current) {
    current.controller.abort();
    for (const fn of current.leave) try { fn(); } catch (e) { console.warn(e); }
  }
  // A form left open (Back, a link, a typed URL) belongs to the page being left: submitted
  // over the next page, it would act on what that page no longer shows.
  for (const open of document.querySelectorAll("dialog[open]")) open.close();
  const controller = new AbortController();
  const leave = [];
  current = { controller, leave };
  const match = compiled.find((r) => r.re.test(path));
  for (const a of document.querySelectorAll("#nav a")) {
    a.classList.toggle("on", path.startsWith(a.getAttribute("href").slice(1)));
  }
  if (!match) {
    clear(main, h("div.page", h("h1", "Not found"), h("p", "No page at ", h("code", path), ". ", h("a", { href: "#/experiments" }, "Experiments"))));
    return;
  }
  // The page's code is fetched while who is signed in is asked, not after.
  const loading = match.load();
  loading.catch(() => {}); // reported below, once the page is ours to draw
  if (!me && match.pattern !== "/login") {
    const asked = firstWhoami || whoami().catch(() => null);
    firstWhoami = null;
    await asked;
    // A 401 has already sent the page to the sign-in (whenSignedOut; its hashchange is yet to
    // come): nothing more to do here.
    if (controller.signal.aborted || parseHash().path !== path) return;
    if (!me) { location.replace(`#/login?next=${encodeURIComponent(location.hash.slice(1))}`); return; }
  }
  const params = {};
  const m = match.re.exec(path);
  match.names.forEach((n, i) => { params[n] = decodeURIComponent(m[i + 1]); });
  const root = h("div.page");
  clear(main, root);
  main.scrollTop = 0;
  try {
    const module = await loading;
    if (controller.signal.aborted) return;
    document.title = `${module.title ? module.title + " · " : ""}Dockyard`;
    const ctx = {
      root, params, query, me, signal: controller.signal, setQuery,
      onLeave: (fn) => leave.push(fn),
      signedIn: async (csrf) => { setCsrf(csrf); await whoami(); },
    };
    await module.default(ctx);
  } catch (e) {
    if (controller.signal.aborted || e.name === "AbortError") return;
    console.warn(e);
    if (e.status === 401) return;
    if (e.status === 404) { clear(root, ...missing(path, e)); return; }
    root.append(errorBox(e));
  }
}

// A page whose run, model, job... does not exist (a stale link, a deleted one): what is missing,
// and the way back to the list it would have been in.
function missing(path, e) {
  const section = path.split("/")[1];
  const [label, href] = NAV.find(([, link]) => link === `#/${section}`) || NAV[0]; // runs: experiments
  return [h("h1", "Not found"), h("p.error#not-found", e.message), h("p", h("a", { href }, `All ${label.toLowerCase()}`))];
}

// -- theme and keys ----------------------------------------------------------------------------

function applyTheme(theme) {
  document.documentElement.dataset.theme = theme;
  localStorage.setItem("dockyard.theme", theme);
  window.dispatchEvent(new Event("themechange"));
}

function toggleTheme() {
  applyTheme(document.documentElement.dataset.theme === "dark" ? "light" : "dark");
}

const HELP = [
  ["/", "Search or filter on this page"],
  // Every page of the bar, from the bar's own list (one written out here fell behind it).
  [`g ${NAV.map(([, , key]) => key).join(" / ")}`, `Go to ${NAV.map(([label]) => label.toLowerCase()).join(", ")}`],
  ["j / k or ↓ / ↑", "Move in a table"],
  ["Enter", "Open the row"],
  ["x", "Select the run (runs table)"],
  ["c", "Compare the selected runs"],
  ["t", "Light or dark theme"],
  ["Enter / Ctrl+Enter", "Submit a form / a spec editor"],
  ["Esc", "Close, leave a field"],
];

function showHelp() {
  const dialog = h("dialog",
    h("h2", { style: { marginTop: 0 } }, "Keyboard"),
    h("table.t.kv", h("tbody", HELP.map(([k, v]) => h("tr", h("td", h("span.kbd", k)), h("td", v))))),
    h("div.row", { style: { justifyContent: "flex-end", marginTop: "12px" } },
      h("button", { onclick: () => dialog.close() }, "Close")));
  dialog.addEventListener("close", () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
}

let pendingG = 0;
function onKey(event) {
  const target = event.target;
  const typing = target.closest && target.closest("input, textarea, select, [contenteditable]");
  if (event.key === "Escape" && typing) { target.blur(); return; }
  if (typing || event.ctrlKey || event.metaKey || event.altKey || document.querySelector("dialog[open]")) return;
  if (Date.now() - pendingG < 1000) {
    const nav = NAV.find(([, , key]) => key === event.key);
    pendingG = 0;
    if (nav) { location.hash = nav[1]; event.preventDefault(); }
    return;
  }
  if (event.key === "g") { pendingG = Date.now(); return; }
  if (event.key === "/") {
    const search = document.querySelector("[data-search]");
    if (search) { event.preventDefault(); search.focus(); search.select && search.select(); }
  } else if (event.key === "t") toggleTheme();
  else if (event.key === "?") showHelp();
}

// -- start ---------------------------------------------------------------------------------------

function start() {
  const saved = localStorage.getItem("dockyard.theme");
  applyTheme(saved || (matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light"));
  clear(document.getElementById("nav"), NAV.map(([label, href, key]) => h("a", { href, title: `g ${key}` }, label)));
  document.getElementById("theme").addEventListener("click", toggleTheme);
  document.getElementById("help").addEventListener("click", showHelp);
  document.addEventListener("keydown", onKey);
  whenSignedOut(() => {
    me = null;
    renderUser();
    const here = location.hash.slice(1);
    if (!here.startsWith("/login")) location.replace(`#/login?next=${encodeURIComponent(here)}`);
  });
  window.addEventListener("hashchange", route);
  firstWhoami = whoami().catch(() => null);
  route();
}

start();
