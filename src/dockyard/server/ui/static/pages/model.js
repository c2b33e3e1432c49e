// One registered model: aliases (moved with a confirmation), versions with approval,
// source run and where each is deployed.
import { api, allPages } from "../lib/api.js";
import { h, clear, badge, fmtTime, fmtAgo, errorBox } from "../lib/dom.js";
import { deployments, moveAlias } from "../lib/registry.js";

export const title = "Model";

export default async function modelPage(ctx) {
  const { root, params, signal } = ctx;
  const name = params.name;
  const path = `registered-models/${encodeURIComponent(name)}`;
  const box = h("div");
  root.append(box);

  async function draw() {
    const model = await api(path, { signal });
    const versions = await allPages(`${path}/versions`, "model_versions", { max_results: 1000 }, 10000);
    const deployed = await deployments(model, signal);
    const aliasName = h("input", { id: "alias-name", placeholder: "alias (champion)", list: "alias-names", style: { width: "160px" } });
    const aliasVersion = h("select", { id: "alias-version" }, versions.map((v) => h("option", { value: v.version }, `v${v.version}`)));
    const moveButton = h("button.primary", {
      id: "alias-move",
      onclick: async () => {
        const alias = aliasName.value.trim();
        if (!alias) { aliasName.focus(); return; }
        if (await moveAlias(model, alias, Number(aliasVersion.value))) draw();
      },
    }, "Move alias");
    clear(box,
      h("div.crumbs", h("a", { href: "#/models" }, "Models"), " / ", name),
      h("div.head", h("h1", name), model.description ? h("span.muted", model.description) : null),
      h("div.row", Object.entries(model.tags).map(([k, v]) => h("span.chip", `${k}=${v}`))),
      h("h2", "Aliases"),
      h("div.row#aliases", Object.keys(model.aliases).length ? Object.entries(model.aliases).map(([a, v]) =>
        h("span.chip", { dataset: { alias: a } }, h("b", `@${a}`), " → ", h("a", { href: `#/models/${encodeURIComponent(name)}/versions/${v}` }, `v${v}`))) : h("span.muted", "No aliases.")),
      h("div.row", { style: { marginTop: "8px" } }, aliasName, h("datalist#alias-names", Object.keys(model.aliases).map((a) => h("option", { value: a }))), "→", aliasVersion, moveButton),
      h("h2", `Versions (${versions.length})`),
      h("table.t#versions",
        h("thead", h("tr", ["Version", "Aliases", "Approval", "Flavor", "Source run", "Registered by", "Created", "Deployed"].map((c) => h("th", c)))),
        h("tbody", versions.map((v) => h("tr", { dataset: { version: v.version } },
          h("td", h("a", { href: `#/models/${encodeURIComponent(name)}/versions/${v.version}` }, `v${v.version}`)),
          h("td", v.aliases.map((a) => h("span.chip", `@${a}`))),
          h("td", badge(v.approval.status), v.approval.user ? h("span.muted", ` ${v.approval.user}`) : null),
          h("td", v.flavor, v.library_version ? h("span.muted", ` ${v.library_version}`) : null),
          h("td", v.run_id ? h("a.mono", { href: `#/runs/${v.run_id}` }, v.run_id.slice(0, 8)) : h("span.muted.mono", v.source)),
          h("td", v.created_by),
          h("td", { title: fmtTime(v.creation_time) }, fmtAgo(v.creation_time)),
          h("td", (deployed.get(v.version) || []).map((d) => h("a.chip", { href: `#/endpoints/${encodeURIComponent(d.endpoint)}` }, `${d.endpoint}/${d.variant}`))))))));
  }
  try { await draw(); } catch (e) { box.append(errorBox(e)); }
}
