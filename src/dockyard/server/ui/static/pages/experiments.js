// Experiments: every experiment the reader may see, filterable by name.
import { api, allPages } from "../lib/api.js";
import { h, clear, fmtTime, fmtAgo } from "../lib/dom.js";

export const title = "Experiments";

export default async function experiments(ctx) {
  const { root, query } = ctx;
  const search = h("input.filter", { placeholder: "Filter by name  ( / )", value: query.get("q") || "", "data-search": true });
  const body = h("div");
  root.append(h("div.head", h("h1", "Experiments"), search), body);
  const all = await allPages("experiments", "experiments", { max_results: 1000 }, 20000);
  all.sort((a, b) => b.last_update_time - a.last_update_time);
  let cursor = 0;
  const draw = () => {
    const q = search.value.trim().toLowerCase();
    ctx.setQuery({ q });
    const rows = all.filter((e) => !q || e.name.toLowerCase().includes(q) || e.experiment_id === q);
    cursor = Math.min(cursor, Math.max(0, rows.length - 1));
    clear(body, rows.length ? h("table.t.list",
      h("thead", h("tr", h("th", "Name"), h("th", "ID"), h("th", "Created"), h("th", "Updated"), h("th", "Tags"))),
      h("tbody", rows.map((e, i) => h("tr", { class: i === cursor ? "sel" : "", dataset: { href: `#/experiments/${e.experiment_id}` } },
        h("td", h("a", { href: `#/experiments/${e.experiment_id}` }, e.name)),
        h("td.mono", e.experiment_id),
        h("td", fmtTime(e.creation_time)),
        h("td", { title: fmtTime(e.last_update_time) }, fmtAgo(e.last_update_time)),
        h("td", Object.entries(e.tags).filter(([k]) => !k.startsWith("mlflow.")).map(([k, v]) => h("span.chip", `${k}=${v}`)))))))
      : h("p.muted", all.length ? "No experiment matches." : "No experiments yet: log a run (dy.start_run()) to create one."));
  };
  search.addEventListener("input", draw);
  const onKey = (event) => {
    if (event.target.closest("input")) return;
    const rows = body.querySelectorAll("tbody tr");
    if (!rows.length) return;
    if (event.key === "j" || event.key === "ArrowDown") cursor = Math.min(rows.length - 1, cursor + 1);
    else if (event.key === "k" || event.key === "ArrowUp") cursor = Math.max(0, cursor - 1);
    else if (event.key === "Enter") { location.hash = rows[cursor].dataset.href; return; } else return;
    event.preventDefault();
    rows.forEach((r, i) => r.classList.toggle("sel", i === cursor));
    rows[cursor].scrollIntoView({ block: "nearest" });
  };
  document.addEventListener("keydown", onKey);
  ctx.onLeave(() => document.removeEventListener("keydown", onKey));
  draw();
}
