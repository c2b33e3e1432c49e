// Training and transform jobs: status, progress, newest first; live through the event log.
import { api, follow } from "../lib/api.js";
import { h, clear, badge, fmtAgo, fmtTime, fmtDuration } from "../lib/dom.js";
import { actionButton } from "../lib/forms.js";
import { submitJobDialog } from "../lib/jobspec.js";

export const title = "Jobs";

export function progressOf(job) {
  const p = job.progress;
  if (!p) return null;
  const done = p.shards_done ?? p.done ?? p.records_done;
  const total = p.shards_total ?? p.total ?? p.records_total;
  if (typeof done === "number" && typeof total === "number" && total > 0) return Math.min(1, done / total);
  return null;
}

export default async function jobs(ctx) {
  const { root, query, signal } = ctx;
  const status = h("select", { id: "status", onchange: () => { ctx.setQuery({ status: status.value, kind: kind.value }); load(); } },
    ["", "Pending", "InProgress", "Completed", "Failed", "Stopped"].map((s) => h("option", { value: s, selected: s === (query.get("status") || "") }, s || "Any status")));
  const kind = h("select", { id: "kind", onchange: () => { ctx.setQuery({ status: status.value, kind: kind.value }); load(); } },
    [["", "Any kind"], ["training", "Training"], ["transform", "Transform"]].map(([v, l]) => h("option", { value: v, selected: v === (query.get("kind") || "") }, l)));
  const body = h("div");
  const submit = async () => {
    const job = await submitJobDialog({ kind: kind.value === "transform" ? "transform" : "training" });
    if (job) location.hash = `#/jobs/${encodeURIComponent(job.name)}`;
  };
  root.append(h("div.head", h("h1", "Jobs"), status, kind, h("div.spacer"), actionButton(ctx.me, "Submit job", submit, { id: "submit-job", primary: true })), body);

  async function load() {
    const { jobs: list } = await api("jobs", { query: { status: status.value, kind: kind.value, limit: 500 }, signal });
    clear(body, list.length ? h("table.t#jobs",
      h("thead", h("tr", ["Name", "Kind", "Status", "Stage", "Progress", "Created", "Duration", "By", "Run"].map((c) => h("th", c)))),
      h("tbody", list.map((j) => {
        const p = progressOf(j);
        const end = j.end_time || (j.start_time ? Date.now() : null);
        return h("tr", { dataset: { job: j.name } },
          h("td", h("a", { href: `#/jobs/${encodeURIComponent(j.name)}` }, j.name)),
          h("td", j.kind),
          h("td", badge(j.status)),
          h("td.muted", j.secondary_status),
          h("td", p === null ? "" : h("div.progress", { title: `${Math.round(p * 100)}%`, style: { width: "100px" } }, h("div", { style: { width: `${p * 100}%` } }))),
          h("td.time", { title: fmtTime(j.created_time) }, fmtAgo(j.created_time)),
          h("td", j.start_time ? fmtDuration(end - j.start_time) : ""),
          h("td", j.created_by || ""),
          h("td", j.run_id ? h("a.mono", { href: `#/runs/${j.run_id}` }, j.run_id.slice(0, 8)) : ""));
      })))
      : h("p.muted", "No jobs. Submit one: dockyard jobs submit job.yaml"));
  }
  let timer;
  ctx.onLeave(follow({ type: "job.*" }, () => { clearTimeout(timer); timer = setTimeout(() => load().catch(() => {}), 300); }));
  await load();
}
