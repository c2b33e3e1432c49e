// What registry pages share: where versions are deployed (endpoints whose variants serve the
// version: the one the server pinned when the endpoint was created or updated, whatever its
// alias says now), moving an alias with a confirmation, and registering a version from a run's
// model.
import { api, allPages } from "./api.js";
import { h, confirmDialog, toast } from "./dom.js";
import { canEdit, confirmAction, field, input, modal, textarea } from "./forms.js";

/** Map version -> [{endpoint, variant, uri}] for one model, from the endpoint list. */
export async function deployments(model, signal) {
  const out = new Map();
  let endpoints = [];
  try { endpoints = (await api("endpoints", { signal })).endpoints; } catch { return out; }
  for (const e of endpoints) {
    const variants = [...e.config.variants, ...(e.config.shadow ? [{ ...e.config.shadow, shadow: true }] : [])];
    for (const v of variants) {
      const m = /^models:\/([^@]+?)(?:\/(\d+)|@(.+)|\/(latest))$/.exec(v.model_uri);
      if (!m || decodeURIComponent(m[1]) !== model.name) continue;
      // A config stored before versions were pinned loads what its alias points at now.
      const version = v.model_version ?? (m[2] ? Number(m[2]) : m[3] ? model.aliases[m[3]] : undefined);
      if (!version) continue;
      if (!out.has(version)) out.set(version, []);
      out.get(version).push({ endpoint: e.name, status: e.status, variant: v.name, uri: v.model_uri, weight: v.weight, shadow: !!v.shadow, traffic: e.traffic?.[v.name] });
    }
  }
  return out;
}

/** Ask, then point `alias` at `version`; resolves true when moved. */
export async function moveAlias(model, alias, version) {
  const from = model.aliases[alias];
  if (from === version) { toast(`@${alias} already points at v${version}`); return false; }
  const ok = await confirmDialog(`Move @${alias}?`,
    h("p", from ? [`@${alias} points at v${from}. Move it to v${version}? `, "Anything that loads ", h("code", `models:/${model.name}@${alias}`), " gets v" + version + " from now on (running endpoints keep the version they loaded until an update names the alias again)."]
      : [`Create @${alias} pointing at v${version}?`]), "Move alias");
  if (!ok) return false;
  try {
    await api(`registered-models/${encodeURIComponent(model.name)}/aliases/${encodeURIComponent(alias)}`, { method: "PUT", body: { version } });
    toast(`@${alias} → v${version}`);
    return true;
  } catch (e) {
    toast(e.message, true);
    return false;
  }
}

/** Register the package `source` names (runs:/<run>/<path>) as a new version of a model, the
 * model created first when new (as `dockyard models register` does). Resolves with the version. */
export async function registerDialog(source, { model = "" } = {}) {
  const names = await allPages("registered-models", "registered_models", { max_results: 1000 }, 5000).catch(() => []);
  const version = await modal({
    title: "Register a model version", submit: "Register", id: "register-dialog",
    body: [
      field("Source", input("source", { value: source, required: true }), "runs:/<run>/<path>, models:/<name>/<version> or an s3:// prefix."),
      field("Model name", input("name", { value: model, required: true, list: "register-names", placeholder: "fraud-model" }), "A new name creates the model."),
      h("datalist#register-names", names.map((m) => h("option", { value: m.name }))),
      field("Description", input("description", { placeholder: "(optional)" })),
    ],
    onSubmit: async (v) => {
      const name = v.name.trim();
      if (!name) throw Object.assign(new Error("a model name is required"), { field: "name" });
      const path = `registered-models/${encodeURIComponent(name)}`;
      if (!names.some((m) => m.name === name)) {
        await api("registered-models", { method: "POST", body: { name } }).catch((err) => { if (err.status !== 409) throw err; });
      }
      return api(`${path}/versions`, { method: "POST", body: { source: v.source.trim(), description: v.description.trim() } });
    },
  });
  if (version) toast(`Registered ${version.name} v${version.version}`);
  return version;
}

/** Edit a model's or version's description (PATCH `path`). */
export function descriptionDialog(path, current) {
  return modal({
    title: "Description", submit: "Save", id: "description-dialog",
    body: field("Description", textarea("description", current || "", { rows: 4 })),
    onSubmit: (v) => api(path, { method: "PATCH", body: { description: v.description } }),
  });
}

/** Tags as chips; editors get a × on each and a "Set tag" button (PUT/DELETE `base`/<key>). */
export function tagChips(me, base, tags, after) {
  const editable = canEdit(me);
  const url = (k) => `${base}/${k.split("/").map(encodeURIComponent).join("/")}`;
  return h("div.row.tags", Object.entries(tags).map(([k, v]) => h("span.chip", { dataset: { tag: k } }, `${k}=${v}`,
    editable ? h("button.ghost", {
      type: "button", title: `Remove ${k}`, "aria-label": `Remove tag ${k}`, style: { padding: "0 4px", lineHeight: "16px" },
      onclick: async () => {
        const done = await confirmAction(`Remove tag ${k}?`, h("p", h("code", `${k}=${v}`)), () => api(url(k), { method: "DELETE" }), { submit: "Remove", id: "confirm-dialog" });
        if (done) after();
      },
    }, "×") : null)),
  editable ? h("button", {
    type: "button", class: "set-tag",
    onclick: async () => {
      const done = await modal({
        title: "Set tag", submit: "Set", id: "tag-dialog",
        body: [field("Key", input("key", { required: true })), field("Value", input("value"))],
        onSubmit: (v) => {
          if (!v.key.trim()) throw Object.assign(new Error("a key is required"), { field: "key" });
          return api(url(v.key.trim()), { method: "PUT", body: { value: v.value } });
        },
      });
      if (done) after();
    },
  }, "Set tag") : null);
}

/** Delete one version after a confirmation; a 409 (an endpoint serves it) shows in the dialog. */
export async function deleteVersion(name, version, deployedAt = []) {
  const done = await confirmAction(`Delete ${name} v${version}?`,
    [h("p", "The version and its registered files go, for good; its number is not reused."),
      deployedAt && deployedAt.length ? h("p.error", "Served by ", deployedAt.map((d) => h("b", `${d.endpoint}/${d.variant} `)), "— the server refuses while an endpoint uses it.") : null],
    () => api(`registered-models/${encodeURIComponent(name)}/versions/${version}`, { method: "DELETE" }), { submit: "Delete version", id: "confirm-dialog" });
  if (done) toast(`Deleted ${name} v${version}`);
  return done;
}
