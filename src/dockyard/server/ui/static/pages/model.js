// One registered model: aliases (moved with a confirmation), versions with approval,
// source run and where each is deployed; register a version, edit the description and tags,
// delete a version or the model (refused while an endpoint serves it).
import { api, allPages } from "../lib/api.js";
import { h, clear, badge, fmtTime, fmtAgo, errorBox, toast } from "../lib/dom.js";
import { deployments, moveAlias, registerDialog, descriptionDialog, tagChips, deleteVersion } from "../lib/registry.js";
import { actionButton, canEdit, confirmAction } from "../lib/forms.js";

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
      h("div.head", h("h1", name), model.description ? h("span.muted#description", model.description) : null, h("div.spacer"),
        actionButton(ctx.me, "Register version", async () => { if (await registerDialog("", { model: name })) draw(); }, { id: "register-version", primary: true }),
        actionButton(ctx.me, "Edit description", async () => { if (await descriptionDialog(path, model.description)) draw(); }, { id: "edit-description" }),
        actionButton(ctx.me, "Delete model", deleteModel, { id: "delete-model", danger: true })),
      tagChips(ctx.me, `${path}/tags`, model.tags, draw),
      h("h2", "Aliases"),
      h("div.row#aliases", Object.keys(model.aliases).length ? Object.entries(model.aliases).map(([a, v]) =>
        h("span.chip", { dataset: { alias: a } }, h("b", `@${a}`), " → ", h("a", { href: `#/models/${encodeURIComponent(name)}/versions/${v}` }, `v${v}`))) : h("span.muted", "No aliases.")),
      canEdit(ctx.me) ? h("div.row#alias-form", { style: { marginTop: "8px" } }, aliasName, h("datalist#alias-names", Object.keys(model.aliases).map((a) => h("option", { value: a }))), "→", aliasVersion, moveButton) : null,
      h("h2", `Versions (${versions.length})`),
      h("table.t#versions",
        h("thead", h("tr", ["Version", "Aliases", "Approval", "Flavor", "Source run", "Registered by", "Created", "Deployed", canEdit(ctx.me) ? "" : null].filter((c) => c !== null).map((c) => h("th", c)))),
        h("tbody", versions.map((v) => h("tr", { dataset: { version: v.version } },
          h("td", h("a", { href: `#/models/${encodeURIComponent(name)}/versions/${v.version}` }, `v${v.version}`)),
          h("td", v.aliases.map((a) => h("span.chip", `@${a}`))),
          h("td", badge(v.approval.status), v.approval.user ? h("span.muted", ` ${v.approval.user}`) : null),
          h("td", v.flavor, v.library_version ? h("span.muted", ` ${v.library_version}`) : null),
          h("td", v.run_id ? h("a.mono", { href: `#/runs/${v.run_id}` }, v.run_id.slice(0, 8)) : h("span.muted.mono", v.source)),
          h("td", v.created_by),
          h("td", { title: fmtTime(v.creation_time) }, fmtAgo(v.creation_time)),
          h("td", (deployed.get(v.version) || []).map((d) => h("a.chip", { href: `#/endpoints/${encodeURIComponent(d.endpoint)}` }, `${d.endpoint}/${d.variant}`))),
          canEdit(ctx.me) ? h("td.actions", h("button.danger", { type: "button", class: "delete-version", onclick: async () => { if (await deleteVersion(name, v.version, deployed.get(v.version))) draw(); } }, "Delete")) : null)))));
  }
  async function deleteModel() {
    const done = await confirmAction(`Delete ${name}?`,
      h("p", "Every version, alias and registered file of the model goes, for good. An endpoint that serves it must be changed first."),
      () => api(path, { method: "DELETE" }), { submit: "Delete model", id: "confirm-dialog" });
    if (done) { toast(`Deleted ${name}`); location.hash = "#/models"; }
  }
  try { await draw(); } catch (e) {
    if (e.status === 404) throw e; // no such model: the shell's "Not found", with the way back
    box.append(errorBox(e));
  }
}
