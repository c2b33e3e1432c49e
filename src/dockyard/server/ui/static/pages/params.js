// Parameters: the names under a path (latest versions), one parameter's history, and a form to
// put a value or a new version. SecureString values show as ****** until "Reveal" asks the
// server for them with decryption (allowed only with an explicit grant; the read is audited).
import { api, allPages } from "../lib/api.js";
import { h, clear, fmtAgo, fmtTime, toast } from "../lib/dom.js";
import { actionButton, errorText, field, input, modal, select } from "../lib/forms.js";

export const title = "Parameters";

const MASK = "******";

/** A value cell: a SecureString is masked, with a button that fetches it decrypted. */
function valueCell(p, selector) {
  if (p.type !== "SecureString") return h("td.mono", p.value);
  const shown = h("span.mono", MASK);
  const reveal = h("button.small", { type: "button", "data-reveal": selector }, "Reveal");
  reveal.onclick = async () => {
    try {
      const got = await api("params/value", { query: { name: selector, with_decryption: true } });
      shown.textContent = got.value;
      reveal.remove();
    } catch (e) { toast(errorText(e), true); }
  };
  return h("td", shown, " ", reveal);
}

export default async function params(ctx) {
  const { root, query, me, signal } = ctx;
  const pathBox = h("input.filter", { id: "param-path", value: query.get("path") || "/", placeholder: "/team/", "data-search": true });
  const recursive = h("input", { type: "checkbox", id: "param-recursive", checked: query.get("recursive") === "1" });
  const list = h("div");
  const detail = h("div#param-history");
  root.append(h("div.head", h("h1", "Parameters"), pathBox, h("label.row", recursive, " recursive"),
    actionButton(me, "Put parameter", () => put(null), { id: "put-parameter", primary: true })), list, detail);

  async function put(current) {
    const done = await modal({
      title: current ? `New version of ${current.name}` : "Put parameter", submit: "Put", id: "param-dialog",
      body: [
        field("Name", input("name", { required: true, value: current ? current.name : pathBox.value.replace(/\/?$/, "/"), readonly: !!current })),
        field("Value", input("value", { required: true, type: current?.type === "SecureString" ? "password" : "text" })),
        field("Type", select("type", ["String", "StringList", "SecureString"], current ? current.type : "String")),
        field("Description", input("description", {})),
      ],
      onSubmit: (v) => api("params", { method: "POST", body: { name: v.name.trim(), value: v.value, type: v.type, description: v.description, overwrite: !!current } }),
    });
    if (done) { toast(`${done.name}: version ${done.version}`); await load(); if (current) await history(done.name); }
  }

  async function history(name) {
    ctx.setQuery({ name });
    const versions = await allPages("params/history", "parameters", { name, max_results: 50 }, 1000);
    const latest = versions[versions.length - 1];
    clear(detail, h("div.head", h("h2", name), h("div.spacer"), latest ? actionButton(me, "Put new version", () => put(latest), { id: "put-version" }) : null),
      h("table.t#param-versions",
        h("thead", h("tr", ["Version", "Value", "Labels", "By", "Modified"].map((c) => h("th", c)))),
        h("tbody", versions.slice().reverse().map((p) => h("tr",
          h("td", String(p.version)), valueCell(p, `${p.name}:${p.version}`),
          h("td", p.labels.map((l) => h("span.chip", l))), h("td", p.modified_by),
          h("td", { title: fmtTime(p.modified_time) }, fmtAgo(p.modified_time)))))));
  }

  async function load() {
    const path = pathBox.value.trim() || "/";
    ctx.setQuery({ path, recursive: recursive.checked ? "1" : "" });
    let found;
    try {
      found = await allPages("params", "parameters", { path, recursive: recursive.checked, max_results: 50 }, 2000);
    } catch (e) { clear(list, h("p.error", errorText(e))); return; }
    if (!found.length && !recursive.checked) {
      // As the CLI says: none directly under the path, but some below it.
      const deeper = await api("params", { query: { path, recursive: true, max_results: 1 } }).catch(() => null);
      const example = deeper?.parameters?.[0];
      if (example) {
        const all = h("button.small#param-show-deeper", { type: "button" }, "Show all below");
        all.onclick = () => { recursive.checked = true; load(); };
        clear(list, h("p.muted#param-deeper", `No parameter directly under ${path}; there are deeper ones, such as ${example.name}. `, all));
        return;
      }
    }
    clear(list, found.length ? h("table.t#params",
      h("thead", h("tr", ["Name", "Type", "Version", "Value", "Modified"].map((c) => h("th", c)))),
      h("tbody", found.map((p) => h("tr",
        h("td", h("a", { href: "#", onclick: (e) => { e.preventDefault(); history(p.name).catch((x) => toast(errorText(x), true)); } }, p.name)),
        h("td", p.type), h("td", String(p.version)), valueCell(p, p.name),
        h("td", { title: fmtTime(p.modified_time) }, fmtAgo(p.modified_time))))))
      : h("p.muted", `No parameters under ${path}. Put one: dockyard params put ${path.replace(/\/?$/, "/")}name value`));
  }

  pathBox.addEventListener("change", () => load());
  recursive.addEventListener("change", () => load());
  signal.addEventListener("abort", () => clear(detail));
  await load();
  if (query.get("name")) await history(query.get("name")).catch(() => null);
}
