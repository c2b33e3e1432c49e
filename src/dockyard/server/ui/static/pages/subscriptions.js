// Notifications: subscriptions, one subscription's delivery log, and its dead letters (replay).
// URL: #/subscriptions, #/subscriptions/<name>?tab=log|dead
import { allPages, api } from "../lib/api.js";
import { h, clear, fmtAgo, fmtTime, kv, table, toast, errorBox } from "../lib/dom.js";
import { actionButton, errorText } from "../lib/forms.js";

export const title = "Subscriptions";

export default async function subscriptions(ctx) {
  if (ctx.params.name) return detail(ctx, decodeURIComponent(ctx.params.name));
  const { root, signal } = ctx;
  const body = h("div");
  root.append(h("div.head", h("h1", "Subscriptions")), body);
  let list;
  try {
    list = await allPages("subscriptions", "subscriptions");  // paged as every list
  } catch (e) { clear(body, errorBox({ message: errorText(e) })); return; }
  clear(body, list.length ? h("div#subscriptions", table([
    ["Name", (s) => h("a", { href: `#/subscriptions/${encodeURIComponent(s.name)}` }, s.name)],
    ["Events", (s) => s.events.join(", ")],
    ["Via", (s) => `${s.protocol} / ${s.format}`],
    ["Endpoint", (s) => h("span.mono", s.endpoint)],
    ["State", stateBadge],
    ["Pending", (s) => s.pending, { num: true }],
    ["Delivered", (s) => s.delivered, { num: true }],
    ["Dead", (s) => s.dead ? h("span.badge.s-bad", String(s.dead)) : "0", { num: true }],
    ["Created", (s) => h("span.time", { title: fmtTime(s.created_time) }, fmtAgo(s.created_time))],
  ], list))
    : h("p.muted", "No subscriptions. Add one: dockyard subscriptions create --events 'job.*' --url URL"));
}

// A pending subscription is sent its confirmation message and nothing else.
function stateBadge(s) {
  return s.state === "confirmed"
    ? h("span.badge.s-ok", "confirmed")
    : h("span.badge.s-warn", { title: "waiting for the endpoint's owner to follow the confirmation link" }, "unconfirmed");
}

function stateText(s) {
  if (s.state !== "confirmed") {
    const expires = s.confirmation_expires_time ? `; its link works until ${fmtTime(s.confirmation_expires_time)}` : "";
    return `unconfirmed: a confirmation message was sent to the endpoint, nothing else is${expires}`;
  }
  if (!s.confirmed_time) return "confirmed";
  const by = s.confirmed_by && s.confirmed_by !== "token" ? ` (confirmation skipped by ${s.confirmed_by})` : " by its endpoint's owner";
  return `confirmed ${fmtTime(s.confirmed_time)}${by}`;
}

async function detail(ctx, name) {
  const { root, signal, query } = ctx;
  const tab = query.get("tab") || "log";
  const info = h("div");
  const pane = h("div#pane");
  const tabs = h("div.row", { style: { margin: "12px 0 8px" } },
    ["log", "dead"].map((t) => h(`button${t === tab ? ".primary" : ""}`, { type: "button", onclick: () => ctx.setQuery({ tab: t }, { push: true }) },
      t === "log" ? "Delivery log" : "Dead letters")));
  root.append(h("div.head", h("h1", name)), info, tabs, pane);
  const sub = `subscriptions/${encodeURIComponent(name)}`;

  async function load() {
    const s = await api(sub, { signal });
    const resend = async () => {
      try {
        await api(`${sub}/resend`, { method: "POST" });
        toast("Sent a new confirmation message");
        await load();
      } catch (e) { toast(errorText(e), true); }
    };
    clear(info, kv([
      ["State", h("span#state", stateBadge(s), " ", stateText(s), " ",
        s.state === "confirmed" ? null : actionButton(ctx.me, "Resend confirmation", resend, { id: "resend" }))],
      ["Events", s.events.join(", ")],
      ["Protocol", `${s.protocol} (${s.format})`],
      ["Endpoint", h("span.mono", s.endpoint)],
      ["Filter", Object.keys(s.filter).length ? h("span.mono", JSON.stringify(s.filter)) : "none"],
      ["Retry horizon", `${s.retry_horizon_s} s`],
      ["Deliveries", `${s.pending} pending, ${s.delivered} delivered, ${s.dead} dead`],
      ["Created", `${fmtTime(s.created_time)} by ${s.created_by}`],
    ]));
    if (tab === "dead") {
      const { deliveries } = await api(`${sub}/deliveries`, { query: { status: "dead", limit: 200 }, signal });
      const replay = async (ids) => {
        try {
          const done = await api(`${sub}/replay`, { method: "POST", body: ids ? { delivery_ids: ids } : {} });
          toast(`Queued ${done.replayed} again`);
          await load();
        } catch (e) { toast(errorText(e), true); }
      };
      clear(pane, deliveries.length ? h("div#dead",
        h("div.row", { style: { marginBottom: "8px" } }, actionButton(ctx.me, "Replay all", () => replay(null), { id: "replay-all", primary: true })),
        table([
          ["Event", (d) => `#${d.event_id} ${d.event_type}`],
          ["Attempts", (d) => d.attempts, { num: true }],
          ["Last answer", (d) => d.last_status_code ?? "-"],
          ["Last error", (d) => h("span.muted", d.last_error || "")],
          ["Updated", (d) => fmtAgo(d.updated_time)],
          ["", (d) => actionButton(ctx.me, "Replay", () => replay([d.delivery_id]))],
        ], deliveries))
        : h("p.muted#dead", "No dead letters."));
    } else {
      const { attempts } = await api(`${sub}/attempts`, { query: { limit: 200 }, signal });
      clear(pane, attempts.length ? h("div#log", table([
        ["Time", (a) => fmtTime(a.time)],
        ["Event", (a) => `#${a.event_id}`],
        ["Status", (a) => h("span.badge", { class: a.error ? "s-bad" : "s-ok" }, a.status_code ? String(a.status_code) : (a.error ? "failed" : "sent"))],
        ["Latency", (a) => `${a.latency_ms.toFixed(1)} ms`, { num: true }],
        ["Error", (a) => h("span.muted", a.error || "")],
      ], attempts)) : h("p.muted#log", "Nothing sent yet."));
    }
  }
  try { await load(); } catch (e) { clear(info, errorBox({ message: errorText(e) })); }
}
