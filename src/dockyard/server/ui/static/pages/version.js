// One model version: source and digest, signature, approval history, lineage (run, data,
// code), environment (requirements), where it is deployed, and its files. Editors approve or
// reject it (with a comment), edit its description and tags, or delete it.
import { api } from "../lib/api.js";
import { h, clear, kv, badge, fmtTime, fmtNum, table, errorBox } from "../lib/dom.js";
import { artifactBrowser } from "../lib/artifacts.js";
import { deployments, moveAlias, descriptionDialog, tagChips, deleteVersion } from "../lib/registry.js";
import { actionButton, canEdit, field, modal, select } from "../lib/forms.js";

export const title = "Model version";

function specTable(specs) {
  if (!Array.isArray(specs) || !specs.length) return h("p.muted", "—");
  return table([
    ["Name", (s) => s.name ?? ""],
    ["Type", (s) => s.type === "tensor" ? `tensor ${s["tensor-spec"]?.dtype ?? ""} ${JSON.stringify(s["tensor-spec"]?.shape ?? "")}` : s.type ?? ""],
    ["Required", (s) => (s.required === false ? "no" : "yes")],
  ], specs);
}

function parseSpec(value) {
  if (typeof value === "string") { try { return JSON.parse(value); } catch { return null; } }
  return value;
}

export default async function versionPage(ctx) {
  const { root, params, signal } = ctx;
  const base = `registered-models/${encodeURIComponent(params.name)}`;
  const path = `${base}/versions/${params.version}`;
  const [model, version, approvals, lineage] = await Promise.all([
    api(base, { signal }), api(path, { signal }),
    api(`${path}/approvals`, { signal }).catch(() => ({ approvals: [] })),
    api(`${path}/lineage`, { signal }).catch(() => null),
  ]);
  const deployed = (await deployments(model, signal)).get(version.version) || [];
  const files = await api(`${path}/files`, { signal }).then((f) => f.files).catch(() => []);
  const envFiles = files.filter((f) => /(^|\/)(requirements\.txt|python_env\.yaml|conda\.yaml)$/.test(f.path));
  const envTexts = await Promise.all(envFiles.map((f) => api(`/api/v1/${path}/files/${f.path}`, { text: true, signal }).catch(() => "")));
  const sig = version.signature || {};
  // Redraw the page with what changed (the route runs again).
  const redraw = () => window.dispatchEvent(new HashChangeEvent("hashchange"));
  async function decide(status) {
    const done = await modal({
      title: `${status === "Approved" ? "Approve" : "Reject"} ${params.name} v${version.version}`, submit: status === "Approved" ? "Approve" : "Reject",
      danger: status === "Rejected", id: "approval-dialog",
      body: [field("Decision", select("status", [["Approved", "Approve"], ["Rejected", "Reject"], ["PendingManualApproval", "Back to pending"]], status)),
        field("Comment", h("textarea", { name: "comment", rows: 3, placeholder: "Why (kept in the approval history)" }))],
      onSubmit: (v) => api(`${path}/approval`, { method: "POST", body: { status: v.status, comment: v.comment.trim() || undefined } }),
    });
    if (done) redraw();
  }
  const aliasSelect = h("select", Object.keys(model.aliases).concat(["champion", "challenger"]).filter((a, i, all) => all.indexOf(a) === i)
    .map((a) => h("option", { value: a }, `@${a}`)));
  root.append(
    h("div.crumbs", h("a", { href: "#/models" }, "Models"), " / ", h("a", { href: `#/models/${encodeURIComponent(params.name)}` }, params.name), ` / v${version.version}`),
    h("div.head", h("h1", `${params.name} v${version.version}`), badge(version.approval.status), version.aliases.map((a) => h("span.chip", `@${a}`)),
      h("div.spacer"), canEdit(ctx.me) ? h("span.row#point-alias", "Point ", aliasSelect, h("button", { type: "button", onclick: async () => { if (await moveAlias(model, aliasSelect.value, version.version)) location.reload(); } }, "here")) : null,
      actionButton(ctx.me, "Approve…", () => decide("Approved"), { id: "approve" }),
      actionButton(ctx.me, "Reject…", () => decide("Rejected"), { id: "reject" }),
      actionButton(ctx.me, "Edit description", async () => { if (await descriptionDialog(path, version.description)) redraw(); }, { id: "edit-description" }),
      actionButton(ctx.me, "Delete", async () => { if (await deleteVersion(params.name, version.version, deployed)) location.hash = `#/models/${encodeURIComponent(params.name)}`; }, { id: "delete-version", danger: true })),
    tagChips(ctx.me, `${path}/tags`, version.tags || {}, redraw),
    h("div.grid2",
      h("div",
        h("h2", "Version"),
        kv([["Source", h("span.mono", version.source)], ["Run", version.run_id ? h("a", { href: `#/runs/${version.run_id}` }, version.run_id) : null],
          ["Digest", h("span.mono", version.digest)], ["Flavor", `${version.flavor}${version.library_version ? " " + version.library_version : ""}`],
          ["Registered", `${fmtTime(version.creation_time)} by ${version.created_by}`], ["Description", version.description], ["Status", version.status]]),
        Object.keys(version.metrics).length ? [h("h2", "Metrics at registration"), table([["Metric", ([k]) => k], ["Value", ([, v]) => fmtNum(v), { num: true }]], Object.entries(version.metrics))] : null,
        h("h2", "Signature"),
        h("h3", "Inputs"), specTable(parseSpec(sig.inputs)),
        h("h3", "Outputs"), specTable(parseSpec(sig.outputs)),
        sig.params ? [h("h3", "Params"), specTable(parseSpec(sig.params))] : null),
      h("div",
        h("h2", "Approval history"),
        approvals.approvals.length ? table([["Decision", (a) => badge(a.status)], ["By", (a) => a.user || ""], ["When", (a) => fmtTime(a.time)], ["Comment", (a) => a.comment || ""]], approvals.approvals)
          : h("p.muted", "No decision yet."),
        h("h2", "Deployed"),
        deployed.length ? table([["Endpoint", (d) => h("a", { href: `#/endpoints/${encodeURIComponent(d.endpoint)}` }, d.endpoint)], ["Variant", (d) => d.variant + (d.shadow ? " (shadow)" : "")], ["Status", (d) => badge(d.status)], ["Through", (d) => h("span.mono", d.uri)], ["Traffic", (d) => (d.traffic !== undefined ? `${Math.round(d.traffic * 100)}%` : ""), { num: true }]], deployed)
          : h("p.muted", "Not deployed."),
        h("h2", "Lineage"),
        lineage ? kv([
          ["Run", lineage.run ? h("a", { href: `#/experiments/${lineage.run.experiment_id}/runs/${lineage.run.run_id}` }, `${lineage.run.run_name} (${lineage.run.status})`) : "—"],
          ["Commit", lineage.code?.git_commit ? h("span.mono", lineage.code.git_commit + (lineage.code.git_dirty ? " (dirty)" : "")) : "—"],
          ["Code", lineage.code?.source_name],
          ["Data", lineage.datasets.length ? h("div", lineage.datasets.map((d) => h("div", h("b", d.name), d.context ? ` (${d.context}) ` : " ", h("span.mono.muted", d.digest.slice(0, 16))))) : "—"],
        ]) : h("p.muted", "No lineage recorded."),
        h("h2", "Environment"),
        envFiles.length ? envFiles.map((f, i) => h("div", h("h3", f.path), h("pre", envTexts[i]))) : h("p.muted", "No environment files."))),
    h("h2", "Files"),
    artifactBrowser({
      list: async (p) => files.filter((f) => {
        const rel = p ? (f.path.startsWith(p + "/") ? f.path.slice(p.length + 1) : null) : f.path;
        return rel !== null && !rel.includes("/");
      }).concat([...new Set(files.map((f) => f.path).filter((fp) => (p ? fp.startsWith(p + "/") : true))
        .map((fp) => (p ? fp.slice(p.length + 1) : fp)).filter((rel) => rel.includes("/")).map((rel) => rel.split("/")[0]))]
        .map((dir) => ({ path: p ? `${p}/${dir}` : dir, is_dir: true }))),
      url: (p) => `/api/v1/${path}/files/${p.split("/").map(encodeURIComponent).join("/")}`,
    }));
}
