// Pipelines: the list of state machines (each with its last execution and how many run), and
// one state machine: its graph, definition, executions, and a form to start one.
// URL: #/pipelines, #/pipelines/<name>
import { api } from "../lib/api.js";
import { h, clear, kv, badge, fmtTime, fmtAgo, fmtDuration, table, toast, errorBox } from "../lib/dom.js";
import { actionButton, errorText, field, input, modal, textarea } from "../lib/forms.js";
import { aslGraph } from "../lib/asl-graph.js";

export const title = "Pipelines";

const enc = encodeURIComponent;

export function executionLink(machine, e) {
  return h("a", { href: `#/pipelines/${enc(machine)}/executions/${enc(e.name)}` }, e.name);
}

export function executionsTable(machine, executions) {
  return table([
    ["Execution", (e) => executionLink(machine, e)],
    ["Status", (e) => badge(e.status)],
    ["Started", (e) => h("span.time", { title: fmtTime(e.start_time) }, fmtAgo(e.start_time))],
    ["Duration", (e) => fmtDuration((e.stop_time || Date.now()) - e.start_time), { num: true }],
    ["Redriven", (e) => (e.redrive_count ? `${e.redrive_count}x` : ""), { num: true }],
  ], executions);
}

export default async function pipelines(ctx) {
  if (ctx.params.name) return detail(ctx, decodeURIComponent(ctx.params.name));
  const { root, signal } = ctx;
  const body = h("div");
  root.append(h("div.head", h("h1", "Pipelines")), body);
  let list;
  try {
    ({ state_machines: list } = await api("pipelines", { query: { max_results: 1000, activity: true }, signal }));
  } catch (e) { clear(body, errorBox({ message: errorText(e) })); return; }
  const last = (m) => m.last_execution;
  clear(body, list.length ? h("div#pipelines", table([
    ["Name", (m) => h("a", { href: `#/pipelines/${enc(m.name)}` }, m.name)],
    ["Type", (m) => m.type],
    ["Last execution", (m) => (last(m)
      ? h("span.last-execution", badge(last(m).status), " ", executionLink(m.name, last(m)))
      : h("span.muted", "none yet"))],
    ["Started", (m) => (last(m) ? h("span.time", { title: fmtTime(last(m).start_time) }, fmtAgo(last(m).start_time)) : "")],
    ["Running", (m) => (m.running ? String(m.running) : ""), { num: true }],
    ["Created", (m) => fmtTime(m.created_time)],
  ], list))
    : h("p.muted", "No pipelines yet. Create one: dockyard pipelines create retrain.asl.json"));
}

async function detail(ctx, name) {
  const { root, signal } = ctx;
  const path = `pipelines/${enc(name)}`;
  const info = h("div");
  const graph = h("div.graph-wrap#graph");
  const runs = h("div#executions");
  const start = actionButton(ctx.me, "Start execution", () => startForm(name), { id: "start-execution", primary: true });
  root.append(
    h("div.crumbs", h("a", { href: "#/pipelines" }, "Pipelines"), " / ", name),
    h("div.head", h("h1", name), h("div.spacer"), start),
    h("div.grid2", h("div", h("h2", "Graph"), graph), h("div", info)),
    h("h2", "Executions"), runs);
  let machine, tags;
  try {
    [machine, tags] = await Promise.all([api(path, { signal }), api(`${path}/tags`, { signal })]);
  } catch (e) { clear(info, errorBox({ message: errorText(e) })); return; }
  let definition = null;
  try { definition = JSON.parse(machine.definition); } catch { /* shown as text below */ }
  if (definition) clear(graph, aslGraph(definition));
  clear(info, kv([
    ["ARN", h("span.mono", machine.arn)],
    ["Type", machine.type],
    ["Revision", h("span.mono", machine.revision_id)],
    ["Role", machine.role_arn],
    ["Description", machine.description],
    ["Tags", Object.keys(tags).length
      ? h("span#pipeline-tags", ...Object.entries(tags).sort().map(([k, v]) => h("span.chip.mono", v ? `${k}=${v}` : k)))
      : h("span.muted", "none")],
    ["Created", `${fmtTime(machine.created_time)} by ${machine.created_by}`],
    ["Updated", fmtTime(machine.updated_time)],
  ]), h("details", h("summary", "Definition"), h("pre.code", definition ? JSON.stringify(definition, null, 2) : machine.definition)));
  const { executions } = await api(`${path}/executions`, { query: { max_results: 200 }, signal });
  clear(runs, executions.length ? executionsTable(name, executions) : h("p.muted", "No executions yet."));
}

async function startForm(name) {
  const started = await modal({
    title: `Start ${name}`,
    id: "start-dialog",
    wide: true,
    body: [
      field("Name", input("name", { placeholder: "generated when empty" })),
      field("Input (JSON)", textarea("input", "{}", { rows: 10, class: "mono" })),
    ],
    submit: "Start",
    onSubmit: async (values) => {
      try { JSON.parse(values.input || "{}"); } catch (e) {
        throw Object.assign(new Error(`input is not JSON: ${e.message}`), { field: "input" });
      }
      return api(`pipelines/${enc(name)}/executions`, {
        method: "POST",
        body: { input: values.input || "{}", ...(values.name ? { name: values.name } : {}) },
      });
    },
  });
  if (started && started.execution_arn) {
    const execution = started.execution_arn.split(":").pop();
    toast(`Started ${execution}`);
    location.hash = `#/pipelines/${enc(name)}/executions/${enc(execution)}`;
  }
}
