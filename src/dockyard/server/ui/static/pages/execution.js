// One pipeline execution: the state machine drawn with each state's progress (live while it
// runs), the selected state's input and output, the history, and Stop / Redrive.
// URL: #/pipelines/<name>/executions/<execution>?state=<state>
import { api, every } from "../lib/api.js";
import { h, clear, kv, badge, fmtTime, fmtDuration, table, toast, errorBox } from "../lib/dom.js";
import { actionButton, confirmAction, errorText } from "../lib/forms.js";
import { aslGraph } from "../lib/asl-graph.js";

export const title = "Execution";

const enc = encodeURIComponent;
const ENDED = ["SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"];
const HISTORY_PAGES = 25; // 25,000 events: the most an execution keeps

/** Each state's name -> the names of the Parallel and Map states it is inside. */
export function containersOf(definition) {
  const out = {};
  const walk = (machine, outer) => {
    for (const [name, state] of Object.entries((machine && machine.States) || {})) {
      out[name] = new Set([...(out[name] || []), ...outer]);
      const inner = [...outer, name];
      if (state && state.Type === "Parallel") (state.Branches || []).forEach((b) => walk(b, inner));
      const processor = state && (state.ItemProcessor || state.Iterator);
      if (state && state.Type === "Map" && processor) walk(processor, inner);
    }
  };
  walk(definition, []);
  return out;
}

/** What each state did, from the history: status by name, and its last input and output.
 * ``containers`` (from containersOf) keeps a Parallel or Map open while a state inside it runs
 * after a failure there (a retry, a Catch inside its branch): that is not going on from it. */
export function statesOf(events, executionStatus, containers = {}) {
  const status = {}, io = {};
  // state entered and not left -> 0: no failure inside it, 1: one, 2: one the execution went
  // on from (a caught state is exited after its failure, or, in an older history, left open
  // as its Catch's target is entered)
  const open = new Map();
  const byId = new Map();
  for (const e of events) {
    byId.set(e.id, e);
    const d = e.details || {};
    const entered = d.stateEnteredEventDetails;
    const exited = d.stateExitedEventDetails;
    if (e.type.endsWith("StateEntered") && entered) {
      const inside = containers[entered.name] || new Set();
      for (const [name, seen] of open) if (seen && !inside.has(name)) open.set(name, 2);
      status[entered.name] = "running";
      open.set(entered.name, 0);
      io[entered.name] = { ...(io[entered.name] || {}), input: entered.input, entered: e.time, output: undefined };
    } else if (e.type.endsWith("StateExited") && exited) {
      status[exited.name] = open.get(exited.name) ? "caught" : "succeeded";
      open.delete(exited.name);
      // The input is the one this exit's own entry had: Map iterations and Parallel branches
      // interleave, and the latest entry of a name may be another iteration's.
      const own = enteredBefore(byId, e, exited.name);
      const from = own ? { input: own.details.stateEnteredEventDetails.input, entered: own.time } : io[exited.name] || {};
      io[exited.name] = { ...from, output: exited.output, exited: e.time };
    } else if (/(Failed|TimedOut)$/.test(e.type) && !e.type.startsWith("Execution")) {
      for (const [name, seen] of open) open.set(name, Math.max(seen, 1));
    } else if (e.type === "ExecutionRedriven") {
      // the failures before a redrive were not caught: the redrive runs those states again
      for (const [name, seen] of [...open]) {
        if (seen === 2) {
          status[name] = "caught";
          open.delete(name);
        } else open.set(name, 0);
      }
    }
  }
  for (const [name, seen] of open) {
    if (seen === 2 || (seen && executionStatus === "SUCCEEDED")) status[name] = "caught";
    else if (executionStatus === "SUCCEEDED") status[name] = "succeeded";
    else if (ENDED.includes(executionStatus)) status[name] = executionStatus === "ABORTED" ? "aborted" : "failed";
  }
  return { status, io };
}

/** The StateEntered event of `name` that `exit` follows, walking back through each event's
 * previous_event_id (the event that led to it), or null when not in `byId`. */
function enteredBefore(byId, exit, name) {
  let at = byId.get(exit.previous_event_id);
  for (let steps = 0; at && steps < 100000; steps++) {
    const entered = at.details && at.details.stateEnteredEventDetails;
    if (entered && at.type.endsWith("StateEntered") && entered.name === name) return at;
    if (!at.previous_event_id || at.previous_event_id >= at.id) return null;
    at = byId.get(at.previous_event_id);
  }
  return null;
}

function pretty(text) {
  if (text === undefined || text === null) return "";
  try { return JSON.stringify(JSON.parse(text), null, 2); } catch { return String(text); }
}

/** A cause as a line for people: a function's exception, sent as Lambda's JSON, reads as its
 * errorMessage (as the command line shows it; the API keeps the whole cause). */
function readableCause(cause) {
  try {
    const parsed = JSON.parse(cause);
    if (parsed && typeof parsed.errorMessage === "string") return parsed.errorMessage;
  } catch { /* plain text */ }
  return String(cause);
}

/** An event in a line: a failure's error name and cause (before the resource that failed),
 * else the state or resource it is about. */
function summary(e) {
  const d = Object.values(e.details || {})[0] || {};
  const text = d.error || d.name || d.resource || "";
  return [text, d.cause ? `: ${readableCause(d.cause).slice(0, 200)}` : ""].join("");
}

export default async function execution(ctx) {
  const { root, params, query, signal } = ctx;
  const machine = decodeURIComponent(params.name);
  const name = decodeURIComponent(params.execution);
  const path = `pipelines/${enc(machine)}/executions/${enc(name)}`;
  const header = h("div");
  const info = h("div");
  const graph = h("div.graph-wrap#graph");
  const selected = h("div#state-io");
  const historyBox = h("div#history");
  root.append(header, h("div.grid2", h("div", h("h2", "Graph"), graph), h("div", info, selected)),
    h("h2", "History"), historyBox);

  let definition = null;
  try {
    // the definition the execution started with: an update since does not redraw it
    const described = await api(`${path}/definition`, { signal });
    definition = JSON.parse(described.definition);
  } catch (e) { clear(graph, errorBox({ message: errorText(e) })); }

  let current = null, states = { status: {}, io: {} };
  // The selected state: kept here, as the URL's copy in ctx.query is the one the page opened with.
  let picked = query.get("state");
  const choose = (state) => { picked = state; ctx.setQuery({ state }); drawSelected(state); drawGraph(); };

  // Each refresh redraws only what changed: a graph replaced between a click's press and its
  // release loses the click, and a replaced panel loses the text the user was selecting.
  let graphDrawn = null, panelDrawn = null;
  function drawGraph() {
    if (!definition) return;
    const status = byPath(definition, states.status);
    const key = JSON.stringify([status, picked]);
    if (key === graphDrawn) return;
    graphDrawn = key;
    const svg = aslGraph(definition, { status, onSelect: (p) => choose(p.split("/").pop()) });
    if (picked) for (const node of svg.querySelectorAll("[data-state]")) if (node.dataset.state.split("/").pop() === picked) node.classList.add("asl-selected");
    clear(graph, svg);
  }

  function drawSelected(state) {
    const io = state ? states.io[state] : undefined;
    const key = JSON.stringify([state, io, state ? states.status[state] : null]);
    if (key === panelDrawn) return;
    panelDrawn = key;
    if (!state) { clear(selected, h("p.muted", "Select a state in the graph to see its input and output.")); return; }
    clear(selected, h("h2", state), io ? h("div",
      kv([["Status", states.status[state] || ""], ["Entered", fmtTime(io.entered)], ["Took", io.exited ? fmtDuration(io.exited - io.entered) : ""]]),
      h("h3", "Input"), h("pre.code#state-input", pretty(io.input)),
      h("h3", "Output"), h("pre.code#state-output", io.output === undefined ? "(not yet)" : pretty(io.output)))
      : h("p.muted", "This state has not run."));
  }

  // The header (its Stop and Redrive buttons) is redrawn when the status changes, the details
  // when they do: a refresh that rebuilt them each second lost clicks on the buttons and shut
  // the Input the user had opened. The running duration is updated in place.
  let headerDrawn = null, infoDrawn = null, duration = null;
  function drawHeader() {
    const ended = ENDED.includes(current.status);
    const took = fmtDuration((current.stop_time || Date.now()) - current.start_time);
    if (headerDrawn !== current.status) {
      headerDrawn = current.status;
      drawHead(ended);
    }
    const key = JSON.stringify([current.start_time, current.stop_time, current.error, current.cause,
      current.redrive_count, current.input, current.output]);
    if (key === infoDrawn) { duration.textContent = took; return; }
    infoDrawn = key;
    duration = h("span#execution-duration", took);
    clear(info, kv([
      ["Started", fmtTime(current.start_time)],
      ["Stopped", current.stop_time ? fmtTime(current.stop_time) : ""],
      ["Duration", duration],
      ["Error", current.error ? h("span.s-bad", current.error) : ""],
      ["Cause", current.cause ? h("span.wrap", current.cause) : ""],
      ["Redriven", current.redrive_count ? `${current.redrive_count}x` : ""],
      ["Input", h("details", h("summary", "show"), h("pre.code", pretty(current.input)))],
      ["Output", current.output ? h("details", { open: true }, h("summary", "show"), h("pre.code#execution-output", pretty(current.output))) : ""],
    ]));
  }

  function drawHead(ended) {
    clear(header,
      h("div.crumbs", h("a", { href: "#/pipelines" }, "Pipelines"), " / ", h("a", { href: `#/pipelines/${enc(machine)}` }, machine), " / ", name),
      h("div.head", h("h1", name), badge(current.status), h("div.spacer"),
        !ended ? actionButton(ctx.me, "Stop", async () => {
          const done = await confirmAction(`Stop ${name}?`, h("p", "Its running tasks are stopped and its timers dropped."),
            () => api(`${path}/stop`, { method: "POST", body: {} }), { submit: "Stop execution", id: "confirm-dialog" });
          if (done) { toast(`${name} stopped`); await refresh(); }
        }, { id: "stop-execution", danger: true }) : null,
        ended && current.status !== "SUCCEEDED" ? actionButton(ctx.me, "Redrive", async () => {
          try { await api(`${path}/redrive`, { method: "POST" }); toast(`${name} redriven from the failed state`); follow(); } catch (e) { toast(errorText(e), true); }
        }, { id: "redrive-execution" }) : null));
  }

  async function history() {
    const events = [];
    let token = null;
    for (let i = 0; i < HISTORY_PAGES; i++) {
      const page = await api(`${path}/history`, { query: { max_results: 1000, ...(token ? { page_token: token } : {}) }, signal });
      events.push(...page.events);
      token = page.next_page_token;
      if (!token) break;
    }
    return events;
  }

  let historyDrawn = null;
  async function refresh() {
    current = await api(path, { signal });
    const events = await history();
    states = statesOf(events, current.status, definition ? containersOf(definition) : {});
    drawHeader();
    drawGraph();
    drawSelected(picked);
    const last = events.length ? events[events.length - 1].id : null;
    if (historyDrawn === `${events.length}/${last}`) return ENDED.includes(current.status);
    historyDrawn = `${events.length}/${last}`;
    const shown = events.slice(-500).reverse();
    clear(historyBox, table([
      ["#", (e) => e.id, { num: true }],
      ["Type", (e) => h("span.mono", e.type)],
      ["Time", (e) => fmtTime(e.time)],
      ["Detail", (e) => h("span.wrap", summary(e))],
    ], shown), events.length > shown.length ? h("p.muted", `The latest ${shown.length} of ${events.length} events.`) : null);
    return ENDED.includes(current.status);
  }

  // Refreshes every second until the execution ends; a redrive follows it again.
  let following = null;
  async function follow() {
    if (await refresh() || following) return;
    following = every(1000, async () => {
      if (await refresh()) { following(); following = null; }
    });
  }
  ctx.onLeave(() => { if (following) following(); });

  try {
    await follow();
  } catch (e) { clear(header, errorBox({ message: errorText(e) })); }
}

/** Status keyed by the graph's node paths ("Map/Score"): nested states by their own name. */
function byPath(definition, status) {
  const out = {};
  const walk = (machine, prefix) => {
    for (const [name, state] of Object.entries(machine.States || {})) {
      if (status[name]) out[prefix + name] = status[name];
      if (state.Type === "Parallel") (state.Branches || []).forEach((b, i) => walk(b, `${prefix}${name}/${i}/`));
      const inner = state.ItemProcessor || state.Iterator;
      if (state.Type === "Map" && inner) walk(inner, `${prefix}${name}/`);
    }
  };
  walk(definition, "");
  return out;
}
