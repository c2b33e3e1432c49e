// Endpoint actions the endpoint pages share: create or update from a spec (the format of
// `dockyard endpoints create/update`), delete, invoke with a test payload, and API keys.
import { api } from "./api.js";
import { h, clear, fmtTime, table, toast } from "./dom.js";
import { actionButton, canEdit, confirmAction, errorText, modal, parseSpec, showSecret, specEditor, specText, field } from "./forms.js";

const EXAMPLE = `# The format of \`dockyard endpoints create\`.
name: my-endpoint
variants:
  - name: champion
    model_uri: models:/my-model@champion
    weight: 1
capture:
  enabled: false
`;

const LOOPBACK = /^(localhost|127(\.\d+){3}|\[::1\])$/;

/** The endpoint's URL as this browser reaches it: its own port, unless that listens on the
 * server machine's loopback while this page came over the network; then the server's route
 * that passes predictions on (as the CLI and the SDK send them). */
export function reachableUrl(endpoint, here = location) {
  const url = endpoint.url;
  if (!url || LOOPBACK.test(here.hostname)) return url;
  let host;
  try { host = new URL(url).hostname; } catch { return url; }
  if (!LOOPBACK.test(host)) return url;
  return `${here.origin}/endpoints/${encodeURIComponent(endpoint.name)}/invocations`;
}

/** Create (no `current`) or update (PUT, prefilled with the current config) from a spec. */
export function endpointSpecDialog(current) {
  const editor = specEditor("spec", current ? specText(current.config) : EXAMPLE, { rows: 20 });
  return modal({
    title: current ? `Update ${current.name}` : "Create an endpoint", submit: current ? "Roll out" : "Create", wide: true, id: "endpoint-dialog",
    body: [
      current ? h("p.muted", "Change variants, weights or model versions; the rollout policy in ", h("code", "rollout"), " decides how traffic moves.") : null,
      field("Spec", editor.node),
    ],
    onSubmit: async (v) => {
      const spec = await parseSpec(v.spec);
      if (current) {
        if (spec.name === undefined) spec.name = current.name;
        return api(`endpoints/${encodeURIComponent(current.name)}`, { method: "PUT", body: spec });
      }
      return api("endpoints", { method: "POST", body: spec });
    },
  });
}

export async function deleteEndpoint(name) {
  const done = await confirmAction(`Delete ${name}?`,
    h("p", "Its workers drain and stop; callers get 404 from then on. Captured records stay in the store."),
    () => api(`endpoints/${encodeURIComponent(name)}`, { method: "DELETE" }), { submit: "Delete endpoint", id: "confirm-dialog" });
  if (done) toast(`Deleting ${name}`);
  return done;
}

/** What a model refused, in words: SageMaker's ModelError carries the model server's answer
 * as text, which from a Dockyard worker is itself a JSON error ({"message": ...}). */
export function originalMessage(text) {
  if (!text) return "";
  try {
    const inner = JSON.parse(text);
    const said = inner && (inner.message || inner.error?.message || inner.Message);
    if (typeof said === "string" && said) return said;
  } catch { /* plain text */ }
  return text;
}

/** A test payload (JSON or CSV) sent to the endpoint through the server's InvokeEndpoint
 * route; shows the status, the answer and the variant that answered. */
export function invokePanel(endpoint) {
  const name = endpoint.name;
  const type = h("select#invoke-type", h("option", { value: "application/json" }, "JSON"), h("option", { value: "text/csv" }, "CSV"));
  const payload = h("textarea.spec#invoke-body", { rows: 6, spellcheck: false, "aria-label": "payload", placeholder: '{"dataframe_split": {"columns": ["x"], "data": [[1.0]]}}' });
  const out = h("div.invoke-out#invoke-out");
  const send = h("button.primary#invoke-send", { type: "submit" }, "Invoke");
  const form = h("form", {
    onsubmit: async (event) => {
      event.preventDefault();
      send.disabled = true;
      clear(out, h("span.muted", "Waiting…"));
      const started = performance.now();
      try {
        const headers = { "Content-Type": type.value, Accept: "application/json, text/csv;q=0.9, */*;q=0.5" };
        const csrf = localStorage.getItem("dockyard.csrf");
        if (csrf) headers["X-CSRF-Token"] = csrf;
        const answer = await fetch(`/endpoints/${encodeURIComponent(name)}/invocations`, { method: "POST", headers, body: payload.value, credentials: "same-origin" });
        const text = await answer.text();
        const variant = answer.headers.get("x-dockyard-variant") || answer.headers.get("x-amzn-invoked-production-variant") || "";
        let shown = text;
        try { shown = JSON.stringify(JSON.parse(text), null, 2); } catch { /* not JSON */ }
        let message = "";
        // The server's path answers as SageMaker does: what the model answered (a 400 for input
        // it refused) arrives wrapped in a 424 ModelError, whose OriginalStatusCode is shown.
        let status = answer.status;
        let wrapped = false;
        if (!answer.ok) {
          try {
            const body = JSON.parse(text);
            message = originalMessage(body.OriginalMessage) || body.error?.message || body.message || body.Message || "";
            if (Number.isInteger(body.OriginalStatusCode)) { status = body.OriginalStatusCode; wrapped = true; }
          } catch { /* text */ }
        }
        clear(out,
          h("div.row", h("span.badge", { class: answer.ok ? "s-ok" : "s-bad", id: "invoke-status" }, String(status)),
            wrapped ? h("span.muted", `(SageMaker's ModelError, ${answer.status})`) : null,
            variant ? h("span", "answered by ", h("b#invoke-variant", variant)) : null,
            h("span.muted", `${Math.round(performance.now() - started)} ms`)),
          message ? h("div.banner.bad", answer.status === 403 ? `Not allowed: ${message}` : message) : null,
          h("pre#invoke-answer", { style: { marginTop: "6px", maxHeight: "300px" } }, shown));
      } catch (e) {
        clear(out, h("div.banner.bad", errorText(e)));
      } finally {
        send.disabled = false;
      }
    },
  }, h("div.row", "Content type", type, h("div.spacer"), h("span.muted", "Ctrl+Enter sends"), send), payload);
  payload.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) { event.preventDefault(); form.requestSubmit(); }
  });
  fillExample(endpoint, payload, type);
  return h("div#invoke", form, out);
}

/** The payload box starts with the served model's own input example (MLflow's
 * serving_input_example.json, saved with the model), so Invoke works as it stands; a model
 * saved without one leaves the box empty, its placeholder showing the shape. */
async function fillExample(endpoint, payload, type) {
  const variant = endpoint.config.variants[0];
  const uri = variant && variant.model_uri;
  if (!uri || !uri.startsWith("models:/") || !variant.model_version) return;
  const model = uri.slice("models:/".length).split(/[/@]/)[0];
  const base = `registered-models/${encodeURIComponent(model)}/versions/${encodeURIComponent(variant.model_version)}/files`;
  try {
    // Listed first: asking for a file that is not there would log a 404 in the console.
    const { files } = await api(base);
    if (!files.some((f) => f.path === "serving_input_example.json")) return;
    const example = await api(`/api/v1/${base}/serving_input_example.json`, { text: true });
    if (payload.value.trim()) return; // the person has started typing
    const parsed = JSON.parse(example);
    const forms = { "application/json": JSON.stringify(parsed), "text/csv": csvOf(parsed) };
    payload.value = forms["application/json"];
    type.value = "application/json";
    payload.dataset.example = `${model}/${variant.model_version}`;
    payload.title = `The input example saved with models:/${model}/${variant.model_version}`;
    // Switching to CSV (or back) while the example is untouched shows it in that format.
    type.addEventListener("change", () => {
      if (Object.values(forms).includes(payload.value) && forms[type.value]) payload.value = forms[type.value];
    });
  } catch { /* no example to offer: the placeholder stays */ }
}

/** The rows of a dataframe_split example as CSV without a header (SageMaker's text/csv),
 * or null when the example has another shape. */
function csvOf(example) {
  const rows = example && example.dataframe_split && example.dataframe_split.data;
  if (!Array.isArray(rows) || !rows.every(Array.isArray)) return null;
  return rows.map((r) => r.map((v) => (v === null ? "" : String(v))).join(",")).join("\n");
}

/** The endpoint's API keys: list, make (the key shown once), revoke. */
export function keysPanel(me, name) {
  const box = h("div#keys");
  const path = `endpoints/${encodeURIComponent(name)}/keys`;
  async function draw() {
    let keys;
    try { keys = (await api(path)).keys; } catch (e) { clear(box, h("p.muted", errorText(e))); return; }
    clear(box,
      keys.length ? table([["Key id", (k) => h("span.mono", k.key_id)], ["Created", (k) => fmtTime(k.created_time)],
        ["", (k) => (canEdit(me) ? h("button.danger", {
          type: "button", class: "revoke-key",
          onclick: async () => {
            if (await confirmAction(`Revoke key ${k.key_id}?`, h("p", "Callers using it are refused within a second or so."),
              () => api(`${path}/${encodeURIComponent(k.key_id)}`, { method: "DELETE" }), { submit: "Revoke", id: "confirm-dialog" })) draw();
          },
        }, "Revoke") : "")]], keys) : h("p.muted", "No API keys."),
      h("div.row", { style: { marginTop: "6px" } }, actionButton(me, "New API key", async () => {
        try {
          const made = await api(path, { method: "POST" });
          await showSecret("New API key", made.key, "Send it as Authorization: Bearer <key> or X-Api-Key. It is shown only this once.");
        } catch (e) { toast(errorText(e), true); }
        draw();
      }, { id: "new-key" })));
  }
  draw();
  return box;
}
