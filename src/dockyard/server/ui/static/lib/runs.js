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

/** A "Delete selected" button for the runs table; `selected()` answers the chosen run ids. */
export function deleteSelectedButton(me, selected, after) {
  return actionButton(me, "Delete selected", async () => {
    const ids = [...selected()];
    if (!ids.length) { toast("Select runs first (x)", true); return; }
    const done = await confirmAction(`Delete ${ids.length} run${ids.length === 1 ? "" : "s"}?`,
      h("p", "They leave the table; restore them from its Deleted runs view."),
      async () => {
        for (const id of ids) await api(`runs/${id}`, { method: "DELETE" });
        return ids.length;
      }, { id: "confirm-dialog" });
    if (done) { toast(`Deleted ${done} run${done === 1 ? "" : "s"}`); after(); }
  }, { id: "delete-runs", danger: true, title: "Delete the selected runs" });
}

/** A "Restore selected" button for the table of an experiment's deleted runs. */
export function restoreSelectedButton(me, selected, after) {
  return actionButton(me, "Restore selected", async () => {
    const ids = [...selected()];
    if (!ids.length) { toast("Select runs first (x)", true); return; }
    const done = await confirmAction(`Restore ${ids.length} run${ids.length === 1 ? "" : "s"}?`,
      h("p", "They come back to their experiment's table."),
      async () => {
        for (const id of ids) await api(`runs/${id}/restore`, { method: "POST" });
        return ids.length;
      }, { submit: "Restore", danger: false, id: "confirm-dialog" });
    if (done) { toast(`Restored ${done} run${done === 1 ? "" : "s"}`); after(); }
  }, { id: "restore-runs", title: "Restore the selected runs" });
}
