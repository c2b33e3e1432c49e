// The event log (audit trail) as a feed, newest first: filter by type (job.* for a prefix),
// resource, actor and outcome; follow new events live (server-sent events).
// URL: #/events?type=job.*&resource_type=&resource_id=&actor=&outcome=
import { api, follow } from "../lib/api.js";
import { h, clear, fmtTime, statusClass } from "../lib/dom.js";

export const title = "Events";

const LINKS = {
  run: (id) => `#/runs/${id}`,
  experiment: (id) => `#/experiments/${id}`,
  job: (id) => `#/jobs/${encodeURIComponent(id)}`,
  endpoint: (id) => `#/endpoints/${encodeURIComponent(id)}`,
  registered_model: (id) => `#/models/${encodeURIComponent(id)}`,
  model_version: (id) => { const i = id.lastIndexOf("/"); return `#/models/${encodeURIComponent(id.slice(0, i))}/versions/${id.slice(i + 1)}`; },
};

export default async function events(ctx) {
  const { root, query, signal } = ctx;
  const fields = {
    type: h("input", { placeholder: "type (job.*)", value: query.get("type") || "", "data-search": true }),
    resource_type: h("input", { placeholder: "resource type", value: query.get("resource_type") || "", style: { width: "130px" } }),
    resource_id: h("input", { placeholder: "resource id", value: query.get("resource_id") || "", style: { width: "160px" } }),
    actor: h("input", { placeholder: "actor", value: query.get("actor") || "", style: { width: "120px" } }),
    outcome: h("select", ["", "ok", "denied"].map((o) => h("option", { value: o, selected: o === (query.get("outcome") || "") }, o || "any outcome"))),
  };
  const live = h("input", { type: "checkbox", id: "live", checked: query.get("live") !== "0" });
  const feed = h("div.feed#feed");
  const more = h("button", { onclick: () => loadOlder() }, "Older");
  const state = h("span.muted");
  root.append(h("div.head", h("h1", "Events"), state),
    h("div.row", { style: { marginBottom: "8px" } }, Object.values(fields), h("button", { onclick: () => reload() }, "Apply"), h("label.check", live, "follow")),
    feed, h("div.row", { style: { marginTop: "8px" } }, more));
  for (const el of Object.values(fields)) el.addEventListener(el.tagName === "SELECT" ? "change" : "keydown", (e) => { if (e.type === "change" || e.key === "Enter") reload(); });
  live.addEventListener("change", () => { ctx.setQuery({ live: live.checked ? "" : "0" }); reload(); });

  let oldest = null;
  let stop = () => {};
  ctx.onLeave(() => stop());

  function filters() {
    const q = {};
    for (const [k, el] of Object.entries(fields)) if (el.value.trim()) q[k] = el.value.trim();
    return q;
  }

  function item(e, fresh) {
    const link = LINKS[e.resource_type]?.(e.resource_id);
    const body = Object.keys(e.body).length ? JSON.stringify(e.body) : "";
    return h("div.ev", { class: fresh ? "new" : "", dataset: { id: e.id, type: e.type } },
      h("span.muted", { title: `#${e.id}` }, fmtTime(e.time)),
      h("span", h("b", { class: e.outcome === "denied" ? statusClass("denied") : "" }, e.type), " ",
        h("span.muted", { title: e.source ? `from ${e.source}` : "" }, e.actor, e.credential ? ` via ${e.credential}` : "")),
      h("span", link ? h("a", { href: link }, `${e.resource_type} ${e.resource_id}`) : `${e.resource_type} ${e.resource_id}`,
        body ? h("span.muted.mono.ev-body", { title: body.length > 200 ? body : null, style: { marginLeft: "8px", fontSize: "11px" } }, body.length > 200 ? body.slice(0, 200) + "…" : body) : null));
  }

  async function loadOlder() {
    if (oldest === null) return;
    const page = await api("events", { query: { ...filters(), before: oldest, limit: 200 }, signal });
    feed.append(...page.events.map((e) => item(e)));
    oldest = page.next_before;
    more.disabled = oldest === null;
  }

  async function reload() {
    stop();
    const q = filters();
    ctx.setQuery({ type: q.type, resource_type: q.resource_type, resource_id: q.resource_id, actor: q.actor, outcome: q.outcome });
    clear(feed);
    state.textContent = "";
    let page;
    try {
      page = await api("events", { query: { ...q, before: "9223372036854775807", limit: 200 }, signal });
    } catch (e) { state.textContent = e.message; return; }
    feed.append(...page.events.map((e) => item(e)));
    if (!page.events.length) feed.append(h("p.muted.empty", "No events match."));
    oldest = page.next_before;
    more.disabled = oldest === null;
    if (live.checked) {
      const after = page.events.length ? page.events[0].id : undefined;
      const { actor, outcome, ...streamable } = q; // the stream filters by type and resource
      stop = follow({ ...streamable, after }, (e) => {
        if ((actor && e.actor !== actor) || (outcome && e.outcome !== outcome)) return;
        feed.querySelector(".empty")?.remove();
        feed.prepend(item(e, true));
        state.textContent = "● live";
      });
      state.textContent = "● live";
    }
  }
  await reload();
}
