// Registered models: name, latest version, aliases, description.
import { api, allPages } from "../lib/api.js";
import { h, clear, fmtAgo, fmtTime } from "../lib/dom.js";
import { actionButton, field, input, modal } from "../lib/forms.js";

export const title = "Models";

export default async function models(ctx) {
  const { root, query } = ctx;
  const search = h("input.filter", { placeholder: "Filter by name  ( / )", value: query.get("q") || "", "data-search": true });
  const body = h("div");
  const create = async () => {
    const made = await modal({
      title: "New registered model", submit: "Create", id: "model-dialog",
      body: [field("Name", input("name", { required: true, placeholder: "fraud-model" })), field("Description", input("description", { placeholder: "(optional)" }))],
      onSubmit: (v) => api("registered-models", { method: "POST", body: { name: v.name.trim(), description: v.description.trim() } }),
    });
    if (made) location.hash = `#/models/${encodeURIComponent(made.name)}`;
  };
  root.append(h("div.head", h("h1", "Models"), search, actionButton(ctx.me, "New model", create, { id: "new-model", primary: true })), body);
  const all = await allPages("registered-models", "registered_models", { max_results: 1000 }, 20000);
  const draw = () => {
    const q = search.value.trim().toLowerCase();
    ctx.setQuery({ q });
    const rows = all.filter((m) => !q || m.name.toLowerCase().includes(q));
    clear(body, rows.length ? h("table.t",
      h("thead", h("tr", h("th", "Name"), h("th", "Latest"), h("th", "Aliases"), h("th", "Description"), h("th", "Updated"))),
      h("tbody", rows.map((m) => h("tr",
        h("td", h("a", { href: `#/models/${encodeURIComponent(m.name)}` }, m.name)),
        h("td", m.latest_version ? h("a", { href: `#/models/${encodeURIComponent(m.name)}/versions/${m.latest_version}` }, `v${m.latest_version}`) : "—"),
        h("td", Object.entries(m.aliases).map(([a, v]) => h("span.chip", `@${a} → v${v}`))),
        h("td", m.description),
        h("td", { title: fmtTime(m.last_updated_time) }, fmtAgo(m.last_updated_time))))))
      : h("p.muted", all.length ? "No model matches." : "No registered models yet: dy.log_model(..., registered_model_name=...) or dockyard models register."));
  };
  search.addEventListener("input", draw);
  draw();
}
