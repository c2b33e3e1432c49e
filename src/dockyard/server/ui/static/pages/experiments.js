// Experiments: every experiment the reader may see, filterable by name; create, rename, delete
// and (in the "Deleted" view) restore them.
import { api, allPages } from "../lib/api.js";
import { h, clear, fmtTime, fmtAgo, toast } from "../lib/dom.js";
import { actionButton, canEdit, confirmAction, field, input, modal } from "../lib/forms.js";

export const title = "Experiments";

export default async function experiments(ctx) {
  const { root, query, me } = ctx;
  const deleted = query.get("view") === "deleted";
  const search = h("input.filter", { placeholder: "Filter by name  ( / )", value: query.get("q") || "", "data-search": true });
  const body = h("div");
  const viewLink = h("a.btn", { id: "view-deleted", href: deleted ? "#/experiments" : "#/experiments?view=deleted" }, deleted ? "Active experiments" : "Deleted");
  root.append(h("div.head", h("h1", deleted ? "Deleted experiments" : "Experiments"), search, viewLink,
    deleted ? null : actionButton(me, "New experiment", create, { id: "new-experiment", primary: true })), body);
  let all = [];
  async function load() {
    all = await allPages("experiments", "experiments", { max_results: 1000, view: deleted ? "DELETED_ONLY" : "ACTIVE_ONLY" }, 20000);
    all.sort((a, b) => b.last_update_time - a.last_update_time);
    draw();
  }

  async function create() {
    const made = await modal({
      title: "New experiment", submit: "Create", id: "experiment-dialog",
      body: field("Name", input("name", { required: true, placeholder: "fraud-detection" })),
      onSubmit: (v) => api("experiments", { method: "POST", body: { name: v.name.trim() } }),
    });
    if (made) { toast(`Created ${made.name}`); location.hash = `#/experiments/${made.experiment_id}`; }
  }
  async function rename(e) {
    const done = await modal({
      title: `Rename ${e.name}`, submit: "Rename", id: "experiment-dialog",
      body: field("New name", input("name", { required: true, value: e.name })),
      onSubmit: (v) => api(`experiments/${e.experiment_id}`, { method: "PATCH", body: { name: v.name.trim() } }),
    });
    if (done) { toast(`Renamed to ${done.name}`); await load(); }
  }
  async function remove(e) {
    const done = await confirmAction(`Delete ${e.name}?`,
      h("p", "The experiment and its runs move to ", h("b", "Deleted"), "; restore them from there."),
      () => api(`experiments/${e.experiment_id}`, { method: "DELETE" }), { id: "confirm-dialog" });
    if (done) { toast(`Deleted ${e.name}`); await load(); }
  }
  async function restore(e) {
    const done = await confirmAction(`Restore ${e.name}?`, h("p", "It comes back with its runs."),
      () => api(`experiments/${e.experiment_id}/restore`, { method: "POST" }), { submit: "Restore", danger: false, id: "confirm-dialog" });
    if (done) { toast(`Restored ${e.name}`); await load(); }
  }

  let cursor = 0;
  const draw = () => {
    const q = search.value.trim().toLowerCase();
    ctx.setQuery({ q });
    const rows = all.filter((e) => !q || e.name.toLowerCase().includes(q) || e.experiment_id === q);
    cursor = Math.min(cursor, Math.max(0, rows.length - 1));
    const editable = canEdit(me);
    clear(body, rows.length ? h("table.t.list#experiments",
      h("thead", h("tr", h("th", "Name"), h("th", "ID"), h("th", "Created"), h("th", "Updated"), h("th", "Tags"), editable ? h("th", "") : null)),
      h("tbody", rows.map((e, i) => h("tr", { class: i === cursor ? "sel" : "", dataset: { href: `#/experiments/${e.experiment_id}`, experiment: e.name } },
        h("td", deleted ? e.name : h("a", { href: `#/experiments/${e.experiment_id}` }, e.name)),
        h("td.mono", e.experiment_id),
        h("td.created", e.creation_time ? fmtTime(e.creation_time) : "-"), // 0: made before creation times were kept
        h("td", { title: e.last_update_time ? fmtTime(e.last_update_time) : null }, fmtAgo(e.last_update_time)),
        h("td", Object.entries(e.tags).filter(([k]) => !k.startsWith("mlflow.")).map(([k, v]) => h("span.chip", `${k}=${v}`))),
        editable ? h("td.actions", deleted
          ? h("button", { type: "button", class: "restore", onclick: () => restore(e) }, "Restore")
          : [h("button", { type: "button", class: "rename", onclick: () => rename(e) }, "Rename"),
            h("button.danger", { type: "button", class: "delete", onclick: () => remove(e) }, "Delete")]) : null))))
      : h("p.muted", deleted ? "No deleted experiments." : all.length ? "No experiment matches." : "No experiments yet: log a run (dy.start_run()) to create one."));
  };
  search.addEventListener("input", draw);
  const onKey = (event) => {
    if (event.target.closest("input, textarea, select, dialog") || document.querySelector("dialog[open]")) return;
    const rows = body.querySelectorAll("tbody tr");
    if (!rows.length || deleted) return;
    if (event.key === "j" || event.key === "ArrowDown") cursor = Math.min(rows.length - 1, cursor + 1);
    else if (event.key === "k" || event.key === "ArrowUp") cursor = Math.max(0, cursor - 1);
    else if (event.key === "Enter") { if (event.target.closest("button, a")) return; location.hash = rows[cursor].dataset.href; return; } else return;
    event.preventDefault();
    rows.forEach((r, i) => r.classList.toggle("sel", i === cursor));
    rows[cursor].scrollIntoView({ block: "nearest" });
  };
  document.addEventListener("keydown", onKey);
  ctx.onLeave(() => document.removeEventListener("keydown", onKey));
  await load();
}
