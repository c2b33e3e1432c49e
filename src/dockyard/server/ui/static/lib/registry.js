// What registry pages share: where versions are deployed (endpoints whose variants name the
// version, directly or through an alias) and moving an alias with a confirmation.
import { api } from "./api.js";
import { h, confirmDialog, toast } from "./dom.js";

/** Map version -> [{endpoint, variant, uri}] for one model, from the endpoint list. */
export async function deployments(model, signal) {
  const out = new Map();
  let endpoints = [];
  try { endpoints = (await api("endpoints", { signal })).endpoints; } catch { return out; }
  for (const e of endpoints) {
    const variants = [...e.config.variants, ...(e.config.shadow ? [{ ...e.config.shadow, shadow: true }] : [])];
    for (const v of variants) {
      const m = /^models:\/([^/@]+)(?:\/(\d+)|@(.+))$/.exec(v.model_uri);
      if (!m || decodeURIComponent(m[1]) !== model.name) continue;
      const version = m[2] ? Number(m[2]) : model.aliases[m[3]];
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
    h("p", from ? [`@${alias} points at v${from}. Move it to v${version}? `, "Anything that loads ", h("code", `models:/${model.name}@${alias}`), " gets v" + version + " from now on (running endpoints change on their next update)."]
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
