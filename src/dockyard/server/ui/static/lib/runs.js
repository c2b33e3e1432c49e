// Deleting and restoring runs, from the run page and the runs table's selection. A deleted run
// stays restorable (its experiment's "Deleted runs" view) until the server's garbage collection.
import { api } from "./api.js";
import { h, toast } from "./dom.js";
import { actionButton, confirmAction } from "./forms.js";

/** The run page's Delete or Restore button (null for accounts that cannot change runs). */
export function runActions(me, run, after) {
  const info = run.info;
  if (info.lifecycle_stage === "deleted") {
    return actionButton(me, "Restore run", async () => {
      const done = await confirmAction(`Restore ${info.run_name || info.run_id}?`, h("p", "The run comes back to its experiment's table."),
        () => api(`runs/${info.run_id}/restore`, { method: "POST" }), { submit: "Restore", danger: false, id: "confirm-dialog" });
      if (done) { toast("Run restored"); after(); }
    }, { id: "restore-run" });
  }
  return actionButton(me, "Delete run", async () => {
    const done = await confirmAction(`Delete ${info.run_name || info.run_id}?`,
      h("p", "The run leaves its experiment's table; restore it from this page."),
      () => api(`runs/${info.run_id}`, { method: "DELETE" }), { id: "confirm-dialog" });
    if (done) { toast("Run deleted"); after(); }
  }, { id: "delete-run", danger: true });
}

/** Where a dataset came from, in words. MLflow keeps a source as JSON ({"uri": "s3://..."});
 * a dataset made from an array or frame in the script ("code") has none: "{}". */
export function datasetSource(d) {
  let parsed = null;
  try { parsed = JSON.parse(d.source); } catch { parsed = null; }
  const where = parsed && typeof parsed === "object" && !Array.isArray(parsed)
    ? (parsed.uri ?? parsed.url ?? parsed.path ?? parsed.table_name ?? parsed.dataset_name ?? null)
    : null;
  const empty = !d.source || (parsed && typeof parsed === "object" && !Object.keys(parsed).length);
  if (empty) return d.source_type === "code" ? "in memory (made by the run's code)" : `${d.source_type || "unknown"} (no location recorded)`;
  return `${d.source_type}: ${where ?? d.source}`;
}

const plural = (n) => `${n} run${n === 1 ? "" : "s"}`;

/** A button acting on the runs a table has selected (`selected()` answers their ids): asks,
 * calls `request(id)` for each, says how many, then `after()`. */
function selectedRunsButton(me, selected, after, { label, verb, done, note, request, button, dialog }) {
  return actionButton(me, label, async () => {
    const ids = [...selected()];
    if (!ids.length) { toast("Select runs first (x)", true); return; }
    const count = await confirmAction(`${verb} ${plural(ids.length)}?`, h("p", note),
      async () => {
        for (const id of ids) await request(id);
        return ids.length;
      }, { id: "confirm-dialog", ...dialog });
    if (count) { toast(`${done} ${plural(count)}`); after(); }
  }, button);
}

/** A "Delete selected" button for the runs table; `selected()` answers the chosen run ids. */
export function deleteSelectedButton(me, selected, after) {
  return selectedRunsButton(me, selected, after, {
    label: "Delete selected", verb: "Delete", done: "Deleted",
    note: "They leave the table; restore them from its Deleted runs view.",
    request: (id) => api(`runs/${id}`, { method: "DELETE" }),
    button: { id: "delete-runs", danger: true, title: "Delete the selected runs" },
    dialog: {},
  });
}

/** A "Restore selected" button for the table of an experiment's deleted runs. */
export function restoreSelectedButton(me, selected, after) {
  return selectedRunsButton(me, selected, after, {
    label: "Restore selected", verb: "Restore", done: "Restored",
    note: "They come back to their experiment's table.",
    request: (id) => api(`runs/${id}/restore`, { method: "POST" }),
    button: { id: "restore-runs", title: "Restore the selected runs" },
    dialog: { submit: "Restore", danger: false },
  });
}
