// Triggers: the list (source, work, enabled, last and next firing), and one trigger's firings,
// with a toggle that enables or disables it (PATCH triggers/<name>).
// URL: #/triggers, #/triggers/<name>
import { allPages, api } from "../lib/api.js";
import { h, clear, fmtAgo, fmtTime, kv, table, toast, errorBox } from "../lib/dom.js";
import { actionButton, errorText } from "../lib/forms.js";

export const title = "Triggers";

const STATUS = { fired: "s-ok", failed: "s-bad", skipped: "", pending: "" };

function source(t) {
  if (t.schedule) return t.schedule.rate || `${t.schedule.cron} (${t.schedule.timezone})`;
  if (t.git) return `push ${t.git.repository || "any repository"} ${t.git.branches.join(", ") || "any branch"}`;
  if (t.objects) return `objects ${t.objects.prefix}`;
  return `events ${t.events.events.join(", ")}`;
}

// Where a firing's work is: a job, or a pipeline's execution.
function started(t, name) {
  const enc = encodeURIComponent;
  return t.target.kind === "pipeline"
    ? `#/pipelines/${enc(t.target.spec.pipeline)}/executions/${enc(name)}`
    : `#/jobs/${enc(name)}`;
}

export default async function triggers(ctx) {
  if (ctx.params.name) return detail(ctx, decodeURIComponent(ctx.params.name));
  const { root, signal } = ctx;
  const body = h("div");
  root.append(h("div.head", h("h1", "Triggers")), body);
  let list;
  try {
    list = await allPages("triggers", "triggers");  // paged as every list
  } catch (e) { clear(body, errorBox({ message: errorText(e) })); return; }
  clear(body, list.length ? h("div#triggers", table([
    ["Name", (t) => h("a", { href: `#/triggers/${encodeURIComponent(t.name)}` }, t.name)],
    ["Kind", (t) => t.kind],
    ["Source", (t) => h("span.mono", source(t))],
    ["Starts", (t) => t.target.kind === "pipeline" ? `pipeline ${t.target.spec.pipeline}` : t.target.kind],
    ["Enabled", (t) => h("span.badge", { class: t.enabled ? "s-ok" : "" }, t.enabled ? "on" : "off")],
    ["Cooldown", (t) => `${t.cooldown_s} s`, { num: true }],
    ["Last fired", (t) => t.last_fired_time ? h("span.time", { title: fmtTime(t.last_fired_time) }, fmtAgo(t.last_fired_time)) : "never"],
    ["Next", (t) => t.next_time ? fmtTime(t.next_time) : "-"],
  ], list))
    : h("p.muted", "No triggers. Add one: dockyard triggers create NAME --job job.yaml --cron '0 3 * * *'"));
}

async function detail(ctx, name) {
  const { root, signal } = ctx;
  const info = h("div");
  const pane = h("div#firings");
  const path = `triggers/${encodeURIComponent(name)}`;
  const fire = async () => {
    try {
      const f = await api(`${path}/fire`, { method: "POST", body: {} });
      toast(f.status === "fired" ? `Started ${f.job}` : `${f.status}: ${f.error || ""}`, f.status !== "fired");
      await load();
    } catch (e) { toast(errorText(e), true); }
  };
  let enabled = true;
  const toggle = async () => {
    try {
      const t = await api(path, { method: "PATCH", body: { enabled: !enabled } });
      toast(t.enabled ? `${name} enabled: it fires from now on` : `${name} disabled: it does not fire`);
      await load();
    } catch (e) { toast(errorText(e), true); }
  };
  const toggler = actionButton(ctx.me, "Disable", toggle, { id: "toggle-enabled" });
  const firer = actionButton(ctx.me, "Fire now", fire, { id: "fire-now", primary: true });
  root.append(h("div.head", h("h1", name), toggler, firer), info, h("h2", "Firings"), pane);

  async function load() {
    const t = await api(path, { signal });
    enabled = t.enabled;
    if (toggler) toggler.textContent = enabled ? "Disable" : "Enable";
    if (firer) firer.disabled = !enabled;
    clear(info, kv([
      ["Kind", t.kind],
      ["Enabled", enabled ? "yes" : "no: it does not fire"],
      ["Source", h("span.mono", source(t))],
      ["Starts", t.target.kind],
      ["Cooldown", `${t.cooldown_s} s`],
      ...(t.hook_path ? [["Hook", h("span.mono", t.hook_path)]] : []),
      ...(t.next_time ? [["Next", fmtTime(t.next_time)]] : []),
      ["Created", `${fmtTime(t.created_time)} by ${t.created_by}`],
    ].concat(t.description ? [["Description", t.description]] : [])));
    const { firings } = await api(`${path}/firings`, { query: { limit: 200 }, signal });
    clear(pane, firings.length ? table([
      ["Time", (f) => fmtTime(f.created_time)],
      ["Status", (f) => h("span.badge", { class: STATUS[f.status] || "" }, f.status)],
      ["Cause", (f) => h("span.mono", f.cause_key)],
      ["Started", (f) => f.job ? h("a", { href: started(t, f.job) }, f.job) : "-"],
      ["Error", (f) => h("span.muted", f.error || "")],
    ], firings) : h("p.muted", "It has not fired yet."));
  }
  try { await load(); } catch (e) { clear(info, errorBox({ message: errorText(e) })); }
}
