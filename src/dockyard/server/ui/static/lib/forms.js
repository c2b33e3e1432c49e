// What every action in the UI shares: who may act, a modal form (Enter submits, Esc closes)
// whose errors appear inline beside the field the server names, a destructive confirmation,
// and a spec editor for YAML/JSON specs (parsed by the server, errors at line and column).
import { api } from "./api.js";
import { h, clear, toast } from "./dom.js";

/** True when the signed-in account may change things (not a viewer, not a read-only token).
 * Per-resource grants are the server's to check: a 403 is still shown in the form. */
export function canEdit(me) {
  return !!me && me.role !== "viewer" && !me.read_only;
}

export function isAdmin(me) {
  return !!me && me.role === "admin" && !me.read_only;
}

/** A button shown only to accounts that may change things (null otherwise). */
export function actionButton(me, label, onclick, { id, danger = false, primary = false, title } = {}) {
  if (!canEdit(me)) return null;
  return h(`button${danger ? ".danger" : ""}${primary ? ".primary" : ""}`, { type: "button", id, title, onclick }, label);
}

/** The words an error is shown with: a refusal says so plainly. */
export function errorText(e) {
  if (!e) return "";
  if (e.status === 403) return `Not allowed: ${e.message}`;
  if (e.status === 401) return "Signed out: sign in again.";
  if (e.status === 409) return e.message;
  if (e.status === 413) return `Too large: ${e.message}`;
  return e.message || String(e);
}

/** A labelled form field; the input's `name` is what server errors (field) are matched on. */
export function field(label, input, hint) {
  return h("label.field", h("span.field-label", label), input, hint ? h("span.field-hint.muted", hint) : null,
    h("span.field-error", { dataset: { for: input.name || (input.querySelector && input.querySelector("[name]")?.name) || "" } }));
}

export function input(name, attrs = {}) {
  return h("input", { name, autocomplete: "off", ...attrs });
}

/** A textarea holding `value` (a textarea's text is its property, not an attribute). */
export function textarea(name, value = "", attrs = {}) {
  const el = h("textarea", { name, ...attrs });
  el.value = value;
  return el;
}

export function select(name, options, value) {
  return h("select", { name }, options.map((o) => {
    const [v, label] = Array.isArray(o) ? o : [o, o];
    return h("option", { value: v, selected: v === value }, label);
  }));
}

/** `field: message`, unless the message names the field already. */
function withField(field, message) {
  return message.startsWith(`${field}: `) ? message : `${field}: ${message}`;
}

/** Show an API error in a form: beside the input the server names (its `field`, or a parent of
 * it), else in the form's error box with the field's name. */
export function showFormError(form, e) {
  for (const el of form.querySelectorAll(".field-error")) el.textContent = "";
  for (const el of form.querySelectorAll(".invalid")) el.classList.remove("invalid");
  const box = form.querySelector(".form-error");
  const f = e && e.field;
  if (f) {
    const names = [...form.querySelectorAll("[name]")].map((el) => el.name);
    const match = names.find((n) => n === f) || names.find((n) => f.startsWith(n + ".")) || names.find((n) => n.startsWith(f + "."));
    if (match) {
      const el = form.querySelector(`[name="${CSS.escape(match)}"]`);
      el.classList.add("invalid");
      el.setAttribute("aria-invalid", "true");
      const slot = form.querySelector(`.field-error[data-for="${CSS.escape(match)}"]`);
      if (slot) {
        slot.textContent = match === f ? errorText(e) : withField(f, errorText(e));
        if (el.showLine && e.details && e.details.line) el.showLine(e.details.line, e.details.column);
        el.focus();
        clear(box);
        return;
      }
    }
  }
  const named = f && !errorText(e).startsWith(`${f}: `);  // the server's message may name it
  clear(box, e ? h("div.banner.bad", { role: "alert" }, named ? [h("b", f), ": "] : null, errorText(e)) : null);
  // A field inside a spec (variants.0.weight): put the cursor on the line that sets it.
  const spec = form.querySelector("textarea.spec");
  if (spec && f) {
    const line = (e.details && e.details.line) || lineOfField(spec.value, f);
    if (line) { spec.classList.add("invalid"); spec.showLine(line, 1); }
  }
}

/** The line (from 1) where a YAML/JSON text sets the last named key of a dotted field path;
 * null when it is not found. A guess (the first such key), good enough to point at. */
export function lineOfField(text, fieldPath) {
  const keys = fieldPath.split(".").filter((k) => !/^\d+$/.test(k));
  const key = keys[keys.length - 1];
  if (!key) return null;
  const escaped = key.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const re = new RegExp(`^\\s*(?:-\\s*)?["']?${escaped}["']?\\s*:`);
  const lines = text.split("\n");
  const i = lines.findIndex((l) => re.test(l));
  return i < 0 ? null : i + 1;
}

/** A modal form. `body` is nodes (fields); `onSubmit(values, form)` does the work and may throw
 * an API error, shown in the form, which stays open. Resolves with what onSubmit returned, or
 * null when closed (Esc, Cancel). */
export function modal({ title, body, submit = "Save", danger = false, onSubmit, wide = false, id }) {
  return new Promise((resolve) => {
    let result = null;
    const submitButton = h(`button${danger ? ".danger-fill" : ".primary"}`, { type: "submit" }, submit);
    const form = h("form.modal-form", { method: "dialog", novalidate: true },
      h("h2", { style: { marginTop: 0 } }, title),
      body,
      h("div.form-error"),
      h("div.row", { style: { justifyContent: "flex-end", marginTop: "14px" } },
        h("button", { type: "button", onclick: () => dialog.close() }, "Cancel"), submitButton));
    const dialog = h(`dialog.modal${wide ? ".wide" : ""}`, { id }, form);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const values = {};
      for (const el of form.querySelectorAll("[name]")) {
        values[el.name] = el.type === "checkbox" ? el.checked : el.value;
      }
      submitButton.disabled = true;
      submitButton.setAttribute("aria-busy", "true");
      try {
        result = await onSubmit(values, form);
        if (result === undefined || result === null) result = true; // a 204: done, nothing to show
        dialog.close();
      } catch (e) {
        if (e && e.keepOpen) { result = null; } else { console.warn(e); showFormError(form, e); }
      } finally {
        submitButton.disabled = false;
        submitButton.removeAttribute("aria-busy");
      }
    });
    // Enter in a one-line input submits (the form does that); in a textarea Ctrl+Enter does.
    form.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && event.target.tagName === "TEXTAREA") {
        event.preventDefault();
        form.requestSubmit();
      }
    });
    dialog.addEventListener("close", () => { dialog.remove(); resolve(result); });
    document.body.append(dialog);
    dialog.showModal();
    const first = form.querySelector("input:not([type=hidden]):not([type=checkbox]), textarea, select");
    (first || submitButton).focus();
  });
}

/** Ask before something that cannot be taken back, then do it: the error (a 409 "in use", a
 * 403) is shown in the dialog. Resolves with what `action` returned, or null. */
export function confirmAction(title, body, action, { submit = "Delete", danger = true, id } = {}) {
  return modal({ title, body: h("div.confirm-body", body), submit, danger, onSubmit: () => action(), id });
}

/** Show a secret once, with a copy button; it is not kept anywhere. */
export function showSecret(title, secret, note) {
  const value = h("input.secret", { readOnly: true, value: secret, name: "secret", style: { width: "100%" } });
  return modal({
    title, submit: "Done", id: "secret-dialog",
    body: [h("p", note || "Copy it now: it is shown only this once."), value,
      h("div.row", { style: { marginTop: "8px" } }, h("button", {
        type: "button",
        onclick: async () => { try { await navigator.clipboard.writeText(secret); toast("Copied"); } catch { value.select(); toast("Select and copy it", true); } },
      }, "Copy"))],
    onSubmit: () => true,
  });
}

// -- spec editor ---------------------------------------------------------------------------------

/** A textarea for a YAML or JSON spec (pasted, typed or loaded from a file), with a gutter of
 * line numbers and `showLine(line, column)` to put the cursor where the server found an error. */
export function specEditor(name, value = "", { rows = 16, placeholder = "" } = {}) {
  const area = h("textarea.spec", { name, rows, spellcheck: false, placeholder, "aria-label": "spec" });
  area.value = value; // a textarea's text is its property, not an attribute
  const gutter = h("div.gutter", { "aria-hidden": "true" });
  const where = h("span.muted.spec-where");
  const drawGutter = () => {
    const n = area.value.split("\n").length;
    gutter.textContent = Array.from({ length: Math.max(n, rows) }, (_, i) => i + 1).join("\n");
    gutter.scrollTop = area.scrollTop;
  };
  const drawWhere = () => {
    const before = area.value.slice(0, area.selectionStart).split("\n");
    where.textContent = `line ${before.length}, column ${before[before.length - 1].length + 1}`;
  };
  area.addEventListener("input", drawGutter);
  area.addEventListener("scroll", () => { gutter.scrollTop = area.scrollTop; });
  area.addEventListener("keyup", drawWhere);
  area.addEventListener("click", drawWhere);
  area.addEventListener("keydown", (event) => {
    // Tab indents (two spaces, as YAML wants) instead of leaving the field; Esc still closes.
    if (event.key === "Tab" && !event.shiftKey) {
      event.preventDefault();
      area.setRangeText("  ", area.selectionStart, area.selectionEnd, "end");
      drawGutter();
    }
  });
  area.showLine = (line, column = 1) => {
    const lines = area.value.split("\n");
    let start = 0;
    for (let i = 0; i < Math.min(line - 1, lines.length - 1); i++) start += lines[i].length + 1;
    const text = lines[Math.min(line, lines.length) - 1] || "";
    area.focus();
    area.setSelectionRange(start + Math.min(column - 1, text.length), start + text.length);
    const lineHeight = area.scrollHeight / Math.max(lines.length, 1);
    area.scrollTop = Math.max(0, (line - 3) * lineHeight);
    drawWhere();
  };
  const file = h("input", {
    type: "file", accept: ".yaml,.yml,.json,text/yaml,application/json,text/plain", "aria-label": "Load a spec file",
    onchange: async () => { if (file.files[0]) { area.value = await file.files[0].text(); drawGutter(); area.focus(); } },
  });
  drawGutter();
  const box = h("div.spec-box", gutter, area);
  return { area, node: h("div.spec-editor", box, h("div.row.spec-foot", h("span.muted", "YAML or JSON. Load a file:"), file, h("div.spacer"), where)) };
}

/** The spec text as a mapping: JSON is read here, YAML by the server (the command line's
 * parser). Errors carry field "spec" and the line and column in `details`. */
export async function parseSpec(text, fieldName = "spec") {
  if (!text.trim()) throw Object.assign(new Error("the spec is empty"), { field: fieldName });
  try {
    const data = JSON.parse(text);
    if (data && typeof data === "object" && !Array.isArray(data)) return data;
  } catch { /* not JSON: YAML */ }
  try {
    return (await api("specs/parse", { method: "POST", body: { text } })).spec;
  } catch (e) {
    if (e.field === "spec") e.field = fieldName;
    throw e;
  }
}

/** Pretty JSON (valid YAML too) for prefilling a spec editor. */
export function specText(data) {
  return JSON.stringify(data, null, 2) + "\n";
}

/** Run `fn`, showing its error in a toast (actions outside a form: stop, resume...). */
export async function attempt(fn, done) {
  try {
    const out = await fn();
    if (done) toast(done);
    return out;
  } catch (e) {
    toast(errorText(e), true);
    return null;
  }
}
