// Endpoints: status, URL, variants and their weights, workers.
import { api, follow } from "../lib/api.js";
import { h, clear, badge, fmtAgo, fmtTime } from "../lib/dom.js";
import { actionButton } from "../lib/forms.js";
import { endpointSpecDialog, reachableUrl } from "../lib/endpoints.js";

export const title = "Endpoints";

export default async function endpoints(ctx) {
  const { root, signal } = ctx;
  const body = h("div");
  const create = async () => {
    const made = await endpointSpecDialog(null);
    if (made) location.hash = `#/endpoints/${encodeURIComponent(made.name)}`;
  };
  root.append(h("div.head", h("h1", "Endpoints"), h("div.spacer"), actionButton(ctx.me, "Create endpoint", create, { id: "create-endpoint", primary: true })), body);
  async function load() {
    const { endpoints: list } = await api("endpoints", { signal });
    clear(body, list.length ? h("table.t#endpoints",
      h("thead", h("tr", ["Name", "Status", "URL", "Variants (weight)", "Updated"].map((c) => h("th", c)))),
      h("tbody", list.map((e) => {
        const total = e.config.variants.reduce((s, v) => s + v.weight, 0) || 1;
        return h("tr",
          h("td", h("a", { href: `#/endpoints/${encodeURIComponent(e.name)}` }, e.name)),
          h("td", badge(e.status)),
          h("td.mono", reachableUrl(e)),
          h("td", e.config.variants.map((v) => h("span.chip", `${v.name} ${Math.round((100 * v.weight) / total)}%`)), e.config.shadow ? h("span.chip", `shadow ${e.config.shadow.name}`) : null),
          h("td", { title: fmtTime(e.updated_time) }, fmtAgo(e.updated_time)));
      })))
      : h("p.muted", "No endpoints. Deploy one: dockyard endpoints create --name NAME --model models:/NAME@champion"));
  }
  let timer;
  ctx.onLeave(follow({ type: "endpoint.*" }, () => { clearTimeout(timer); timer = setTimeout(() => load().catch(() => {}), 300); }));
  await load();
}
