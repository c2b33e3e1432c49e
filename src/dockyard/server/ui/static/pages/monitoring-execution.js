// One monitoring execution: what was checked and what it found (violations, drifted features
// with their numbers, model-quality metrics), and its HTML report in a frame with no scripts
// (sandbox="", and the report route's own Content-Security-Policy forbids them too).
// URL: #/monitoring/<name>/executions/<id>; it follows the schedule's events until it ends.
import { api, follow } from "../lib/api.js";
import { h, clear, badge, fmtDuration, fmtNum, fmtTime, kv, table, errorBox } from "../lib/dom.js";
import { errorText } from "../lib/forms.js";
import { byType, fmtWindow, qualityMetrics, scheduleHref, schedulePath, violationSubject } from "../lib/monitoring.js";

export const title = "Monitoring execution";

const num = (v) => (typeof v === "number" ? fmtNum(v) : v ?? "");

export default async function monitoringExecution(ctx) {
  const { root, params, signal } = ctx;
  const { name, execution: id } = params;
  const path = `${schedulePath(name)}/executions/${encodeURIComponent(id)}`;
  const head = h("div");
  const summary = h("div#execution-summary");
  const drift = h("div#drifted");
  const quality = h("div#quality");
  const found = h("div#execution-violations");
  const report = h("div.preview#report");
  root.append(
    h("div.crumbs", h("a", { href: "#/monitoring" }, "Monitoring"), " / ", h("a", { href: scheduleHref(name) }, name), " / ", id),
    head,
    h("div.grid2", h("div", h("h2", "Summary"), summary), h("div", h("h2", "Drifted features"), drift, h("h2", "Model quality"), quality)),
    h("h2", "Violations"), found,
    h("h2", "Report"), report);

  let reportShown = null;
  async function load() {
    const e = await api(path, { signal });
    if (signal.aborted) return e;
    clear(head,
      h("div.head", h("h1", fmtWindow(e.window_start, e.window_end)), badge(e.status), h("span.muted", e.kind === "baseline" ? "baseline" : e.trigger)),
      e.failure_reason ? h("div.banner.bad", e.failure_reason) : null);
    clear(summary, kv([
      ["Execution", h("span.mono", e.execution_id)],
      ["Window", `${fmtTime(e.window_start)} → ${fmtTime(e.window_end)}`],
      ["Rows", e.rows ?? ""],
      ["Labelled rows", e.labelled_rows ?? null],
      ["Labels not joined", e.unmatched_labels ? h("div", String(e.unmatched_labels), e.ground_truth_problems.map((p) => h("div.muted.mono", p))) : null],
      ["Violations", h("span", String(e.violation_count), " ", byType(e.violations_by_type))],
      ["Job", e.job ? h("a", { href: `#/jobs/${encodeURIComponent(e.job)}` }, e.job) : null],
      ["Outputs", e.output_uri ? h("span.mono", e.output_uri) : null],
      ["Started", fmtTime(e.created_time)],
      ["Ended", e.end_time ? `${fmtTime(e.end_time)} (${fmtDuration(e.end_time - e.created_time)})` : ""],
    ]));
    clear(drift, e.drifted_features.length ? table([
      ["Feature", (d) => h("b", d.feature)],
      ["Kind", (d) => d.kind],
      ["Decided by", (d) => `${d.metric} ${num(d.value)} > ${num(d.threshold)}`],
      ["PSI", (d) => num(d.psi), { num: true }],
      ["KS", (d) => num(d.ks), { num: true }],
      ["JS", (d) => num(d.js), { num: true }],
      ["Wasserstein", (d) => num(d.wasserstein), { num: true }],
      ["L∞ distance", (d) => num(d.distance), { num: true }],
    ], e.drifted_features, { rowClass: () => "drifted-row" }) : h("p.muted", e.status === "Pending" || e.status === "InProgress" ? "Not checked yet." : "No feature drifted."));
    const metrics = qualityMetrics(e.metrics);
    clear(quality, metrics.length
      ? table([["Metric", ([k]) => k], ["Value", ([, v]) => num(v), { num: true }]], metrics)
      : h("p.muted", "No ground truth joined in this window."));
    const violations = e.violations || [];
    clear(found, violations.length ? table([
      ["Feature", (v) => violationSubject(v)],
      ["Check", (v) => h("span.chip", v.constraint_check_type ?? "")],
      ["Description", (v) => v.description ?? ""],
    ], violations, { rowClass: () => "violation-row" }) : h("p.muted", "None."));
    if (e.report_url && reportShown !== e.report_url) {
      reportShown = e.report_url;
      // The report is HTML made from captured data: shown in a frame with no scripts, no
      // forms, no same-origin access; the route also answers it with a sandboxing CSP.
      clear(report,
        h("div.row", h("a", { href: e.report_url, target: "_blank", rel: "noopener noreferrer" }, "Open the report in a new tab")),
        h("iframe#report-frame", { sandbox: "", src: e.report_url, title: `Report of ${e.execution_id}`, referrerpolicy: "no-referrer", loading: "lazy" }));
    } else if (!e.report_url) clear(report, h("p.muted", "No report: the check has not written one."));
    return e;
  }

  let e;
  try { e = await load(); } catch (err) { clear(head, errorBox({ message: errorText(err) })); return; }
  if (e && (e.status === "Pending" || e.status === "InProgress")) {
    let timer;
    ctx.onLeave(follow({ resource_type: "monitoring_schedule", resource_id: name }, () => {
      clearTimeout(timer);
      timer = setTimeout(() => load().catch(() => {}), 300);
    }));
    ctx.onLeave(() => clearTimeout(timer));
  }
}
