// An experiment's runs: MLflow's filter syntax, sorting by any column, a column picker,
// grouping by a param or tag, selection for comparing. Server-side paging (100 rows a request,
// fetched as they scroll into view) and a virtual table keep 100,000 runs as fast as 100. The
// table follows its experiment's runs (the event stream): rows in view update as runs log.
// URL: #/experiments/<id>?filter=&order=&cols=m:rmse,p:depth&group=params.x[&view=deleted]
// (view=deleted: the experiment's deleted runs, to restore them).

import { api, follow } from "../lib/api.js";
import { h, clear, fmtTime, fmtAgo, fmtDuration, fmtNum, statusClass, filterKey, filterString, errorBox } from "../lib/dom.js";
import { VirtualTable } from "../lib/table.js";
import { deleteSelectedButton, restoreSelectedButton } from "../lib/runs.js";

export const title = "Runs";

const PAGE = 100;
const KIND = { m: ["metrics", "metric"], p: ["params", "param"], t: ["tags", "tag"] };
const ATTRS = [
  { id: "a:run_name", label: "Run", width: 230, sortKey: "attributes.run_name" },
  { id: "a:start_time", label: "Started", width: 110, sortKey: "attributes.start_time" },
  { id: "a:duration", label: "Duration", width: 90 },
  { id: "a:user_id", label: "User", width: 100, sortKey: "attributes.user_id" },
];

function columnKey(id) {
  const [kind, ...rest] = id.split(":");
  return [kind, rest.join(":")];
}

function orderKeyOf(id) {
  const [kind, key] = columnKey(id);
  if (kind === "a") return ATTRS.find((a) => a.id === id)?.sortKey;
  return filterKey(KIND[kind][0], key);
}

export default async function runs(ctx) {
  const { root, params, query, signal } = ctx;
  root.classList.add("full");
  const experimentId = params.id;
  const state = {
    filter: query.get("filter") || "",
    order: query.get("order") || "",
    cols: query.get("cols") ? query.get("cols").split(",").filter(Boolean) : null,
    group: query.get("group") || "",
    selected: new Set((query.get("sel") || "").split(",").filter(Boolean)),
    deleted: query.get("view") === "deleted",
  };
  const viewType = state.deleted ? "DELETED_ONLY" : "ACTIVE_ONLY";
  const known = { m: new Set(), p: new Set(), t: new Set() };
  let generation = 0;
  let segments = [];

  const experiment = await api(`experiments/${experimentId}`, { signal });
  const countLabel = h("span.muted");
  const filterInput = h("input.filter", {
    value: state.filter, "data-search": true, spellcheck: false,
    placeholder: "metrics.rmse < 0.5 and params.depth = '5'   ( / to focus, Enter to apply )",
    onkeydown: (e) => { if (e.key === "Enter") { state.filter = filterInput.value.trim(); reload(); } },
  });
  const filterError = h("div.error");
  const compareButton = h("button.primary", { id: "compare", disabled: true, onclick: compare, title: "Compare the selected runs (c)" }, "Compare");
  const groupSelect = h("select", { id: "group", title: "Group runs by a param or tag", onchange: () => { state.group = groupSelect.value; reload(); } });
  const columnsButton = h("button", { id: "columns", onclick: (e) => columnPicker(e.currentTarget) }, "Columns");
  root.append(
    h("div.crumbs", h("a", { href: "#/experiments" }, "Experiments"), " / ", experiment.name),
    h("div.head", h("h1", experiment.name, state.deleted ? " (deleted runs)" : ""), countLabel, h("div.spacer"),
      h("a.btn", { id: "view-deleted", href: `#/experiments/${experimentId}${state.deleted ? "" : "?view=deleted"}` }, state.deleted ? "Active runs" : "Deleted runs"),
      (state.deleted ? restoreSelectedButton : deleteSelectedButton)(ctx.me, () => state.selected, () => { state.selected.clear(); onSelection(); reload(); }), compareButton),
    // MLflow's experiment description (its notes: the mlflow.note.content tag), as plain text.
    ...(experiment.tags?.["mlflow.note.content"] ? [h("p.muted#description", { style: { whiteSpace: "pre-wrap", marginTop: 0 } }, experiment.tags["mlflow.note.content"])] : []),
    h("div.row", { style: { marginBottom: "8px" } },
      filterInput,
      h("button", { onclick: () => { state.filter = filterInput.value.trim(); reload(); } }, "Apply"),
      columnsButton, groupSelect),
    filterError,
  );

  const table = new VirtualTable(root, {
    row: rowAt, need, cell, onOpen: open, onSort: sortBy, rowClass,
    renderRow: (i, data, cls) => (data.group ? groupRow(i, data, cls) : null),
    onKey: (e, i) => {
      if (e.key === "x" && i >= 0) { const r = rowAt(i); if (r && !r.group) toggle(r.info.run_id); return true; }
      if (e.key === "c") { compare(); return true; }
      if ((e.key === "ArrowRight" || e.key === "ArrowLeft" || e.key === " ") && i >= 0) {
        const r = rowAt(i);
        if (r && r.group) { r.segment.expanded = e.key === "ArrowRight" || (e.key === " " && !r.segment.expanded); layout(); return true; }
      }
      return false;
    },
  });
  ctx.onLeave(() => table.destroy());
  // What an empty table means, said in it (a blank grid reads as still loading).
  const emptyNote = h("p.muted.vt-empty#no-runs", { hidden: true });
  table.el.append(emptyNote);
  function showEmpty(n) {
    emptyNote.hidden = n !== 0;
    emptyNote.textContent = state.filter ? "No run matches this filter."
      : state.deleted ? "No deleted runs in this experiment."
        : `No runs yet. Log one into this experiment: dy.set_experiment(${JSON.stringify(experiment.name)}), then dy.start_run().`;
  }

  // -- data ------------------------------------------------------------------------------------

  function body(segment, page) {
    return {
      experiment_ids: [experimentId], filter: segment.filter, max_results: PAGE, run_view_type: viewType,
      // A row's offset, not a page token: the table jumps to any row; tokens stay the server's.
      order_by: state.order ? [state.order] : [], offset: page * PAGE,
    };
  }

  async function fetchPage(segment, page, gen, again = false) {
    if (segment.pages.has(page) && !again) return;
    if (!again) segment.pages.set(page, null); // in flight; a page fetched again shows its rows meanwhile
    try {
      const answer = await api("runs/search", { method: "POST", body: body(segment, page), signal });
      if (gen !== generation) return;
      segment.pages.set(page, answer.runs);
      learn(answer.runs);
      table.refresh();
    } catch (e) {
      if (gen !== generation || e.name === "AbortError") return;
      if (!again) segment.pages.delete(page);
      filterError.textContent = e.message;
    }
  }

  function learn(runsPage) {
    let grew = false;
    for (const r of runsPage) {
      for (const [kind, obj] of [["m", r.metrics], ["p", r.params], ["t", r.tags]]) {
        for (const k of Object.keys(obj)) {
          if (kind === "t" && k.startsWith("mlflow.")) continue;
          if (!known[kind].has(k)) { known[kind].add(k); grew = true; }
        }
      }
    }
    if (grew) {
      fillGroupSelect();
      if (!state.cols) setColumns(); // defaults follow what the first page shows
    }
  }

  function groupFilter(value) {
    const [entity, ...rest] = state.group.split(".");
    const key = rest.join(".");
    const k = entity === "params" || entity === "tags" ? filterKey(entity, key) : `attributes.${state.group}`;
    const cond = value === null ? `${k} IS NULL` : `${k} = ${filterString(value)}`;
    return state.filter ? `${state.filter} and ${cond}` : cond;
  }

  // The metric the table is sorted by, summarized in each group's header (lowest, mean, highest).
  function sortedMetric() {
    const [key] = splitOrder(state.order);
    return key.startsWith("metrics.") ? key : undefined;
  }

  function countRuns() {
    return api("runs/count", {
      method: "POST", signal,
      body: {
        experiment_ids: [experimentId], filter: state.filter, run_view_type: viewType, group_by: state.group || undefined,
        summarize: state.group ? sortedMetric() : undefined,
      },
    });
  }

  // Segments for a count; those of `previous` with the same group keep their pages and state.
  function segmentsOf(counted, previous = []) {
    const kept = new Map(previous.map((s) => [s.group ? JSON.stringify(s.group.value) : "", s]));
    const reuse = (key, fresh) => {
      const old = kept.get(key);
      return old ? Object.assign(old, { group: fresh.group, count: fresh.count }) : fresh;
    };
    if (!state.group) {
      return [reuse("", { group: null, filter: state.filter, count: counted.count, pages: new Map() })];
    }
    return counted.groups.map((g, i) => reuse(JSON.stringify(g.value), {
      group: g, filter: groupFilter(g.value), count: g.count, pages: new Map(), expanded: i === 0,
    }));
  }

  function showCount(n) {
    countLabel.textContent = `${n.toLocaleString()} run${n === 1 ? "" : "s"}`;
  }

  async function reload() {
    const gen = ++generation;
    filterError.textContent = "";
    ctx.setQuery({ filter: state.filter, order: state.order, group: state.group });
    segments = [];
    layout();
    try {
      const counted = await countRuns();
      if (gen !== generation) return;
      showCount(counted.count);
      showEmpty(counted.count);
      segments = segmentsOf(counted);
      layout();
    } catch (e) {
      if (gen !== generation || e.name === "AbortError") return;
      filterError.textContent = e.message;
      countLabel.textContent = "";
    }
  }

  // Flattened rows: a group header, then its runs when expanded.
  function layout() {
    let total = 0;
    for (const s of segments) {
      s.start = total;
      total += (s.group ? 1 : 0) + (s.group && !s.expanded ? 0 : s.count);
    }
    table.setTotal(total);
    if (table.cursor < 0 && total) table.cursor = 0;
  }

  function locate(i) {
    let lo = 0;
    let hi = segments.length - 1;
    while (lo < hi) { // last segment starting at or before i
      const mid = (lo + hi + 1) >> 1;
      if (segments[mid].start <= i) lo = mid; else hi = mid - 1;
    }
    const s = segments[lo];
    const offset = i - s.start - (s.group ? 1 : 0);
    return [s, offset];
  }

  function rowAt(i) {
    if (!segments.length) return undefined;
    const [s, offset] = locate(i);
    if (offset < 0) return { group: s.group, segment: s };
    const page = s.pages.get(Math.floor(offset / PAGE));
    return page ? page[offset % PAGE] : undefined;
  }

  let needTimer;
  function need(from, to) {
    // Debounced: a fast scroll through 100,000 rows asks only for where it stops.
    clearTimeout(needTimer);
    const gen = generation;
    const go = () => {
      // A new filter may have emptied the rows since (they come back with its count).
      if (gen !== generation || !segments.length) return;
      for (let i = from; i <= to; i++) {
        const [s, offset] = locate(i);
        if (offset >= 0) fetchPage(s, Math.floor(offset / PAGE), gen);
      }
    };
    if (segments.every((s) => s.pages.size === 0)) go(); else needTimer = setTimeout(go, 60);
  }

  // -- columns and cells -----------------------------------------------------------------------

  function columnIds() {
    if (state.cols) return state.cols;
    return [...[...known.m].slice(0, 8).map((k) => `m:${k}`), ...[...known.p].slice(0, 8).map((k) => `p:${k}`)];
  }

  function setColumns() {
    const [orderKey, direction] = splitOrder(state.order);
    const sortOf = (id) => (orderKeyOf(id) && orderKeyOf(id) === orderKey ? (direction === "ASC" ? "asc" : "desc") : null);
    const cols = [
      { id: "sel", label: "", header: h("input", { type: "checkbox", title: "Select all loaded", onchange: selectAll }), width: 34 },
      ...ATTRS.map((a) => ({ ...a, sortable: !!a.sortKey, sort: sortOf(a.id) })),
      ...columnIds().map((id) => {
        const [kind, key] = columnKey(id);
        return { id, label: key, kind: KIND[kind]?.[1], width: kind === "t" ? 130 : 110, num: kind === "m", sortable: true, sort: sortOf(id), title: `${KIND[kind]?.[0]}.${key}` };
      }),
    ];
    table.setColumns(cols);
  }

  function splitOrder(order) {
    const m = /^(.*?)(?:\s+(ASC|DESC))?$/i.exec(order || "");
    return [m ? m[1].trim() : "", m && m[2] ? m[2].toUpperCase() : "ASC"];
  }

  function sortBy(col) {
    const key = orderKeyOf(col.id);
    if (!key) return;
    const [current, direction] = splitOrder(state.order);
    const first = col.id.startsWith("m:") || col.id === "a:start_time" ? "DESC" : "ASC";
    if (current !== key) state.order = `${key} ${first}`;
    else if (direction === first) state.order = `${key} ${first === "DESC" ? "ASC" : "DESC"}`;
    else state.order = "";
    setColumns();
    reload();
  }

  function cell(col, run) {
    const info = run.info;
    switch (col.id) {
      case "sel": return h("input", { type: "checkbox", checked: state.selected.has(info.run_id), onchange: () => toggle(info.run_id), "aria-label": "select" });
      case "a:run_name": return [h("span.dot", { class: statusClass(info.status), title: info.status }),
        h("a", { href: `#/experiments/${info.experiment_id}/runs/${info.run_id}`, title: info.run_id }, info.run_name || info.run_id.slice(0, 8)),
        info.parent_run_id ? h("span.muted", { title: `child of ${info.parent_run_id}` }, "↳") : null];
      case "a:start_time": return h("span.time", { title: fmtTime(info.start_time) }, fmtAgo(info.start_time));
      case "a:duration": return fmtDuration((info.end_time || (info.status === "RUNNING" ? Date.now() : info.start_time)) - info.start_time);
      case "a:user_id": return info.user_id;
      default: {
        const [kind, key] = columnKey(col.id);
        if (kind === "m") { const m = run.metrics[key]; return m ? h("span", { title: `step ${m.step}` }, fmtNum(m.value)) : ""; }
        const v = kind === "p" ? run.params[key] : run.tags[key];
        return v === undefined ? "" : h("span", { title: v }, v);
      }
    }
  }

  function rowClass(i, data) {
    return data.info && state.selected.has(data.info.run_id) ? "sel" : "";
  }

  function groupRow(i, data, cls) {
    const s = data.segment;
    cls.push("group");
    const label = data.group.value === null ? h("span.muted", "(not set)") : data.group.value;
    return h("div", {
      class: cls.join(" "), role: "row",
      onclick: () => { s.expanded = !s.expanded; layout(); },
    }, h("div", { style: { gridColumn: "1 / -1" } },
      s.expanded ? "▾" : "▸", h("span.muted", state.group), " = ", label,
      h("span.chip", `${data.group.count.toLocaleString()} run${data.group.count === 1 ? "" : "s"}`),
      data.group.mean === null || data.group.mean === undefined ? null : h("span.muted", { title: `${sortedMetric()}: lowest, mean, highest` },
        ` ${sortedMetric().slice(8)} ${fmtNum(data.group.min)} / ${fmtNum(data.group.mean)} / ${fmtNum(data.group.max)}`)));
  }

  function fillGroupSelect() {
    const value = state.group;
    clear(groupSelect,
      h("option", { value: "" }, "No grouping"),
      ["status", "user_id"].map((a) => h("option", { value: a, selected: value === a }, `Group by ${a}`)),
      [...known.p].sort().map((k) => h("option", { value: `params.${k}`, selected: value === `params.${k}` }, `Group by params.${k}`)),
      [...known.t].sort().map((k) => h("option", { value: `tags.${k}`, selected: value === `tags.${k}` }, `Group by tags.${k}`)));
    if (value && ![...groupSelect.options].some((o) => o.value === value)) {
      groupSelect.append(h("option", { value, selected: true }, `Group by ${value}`));
    }
  }

  // -- selection, navigation -------------------------------------------------------------------

  function toggle(runId) {
    if (state.selected.has(runId)) state.selected.delete(runId); else state.selected.add(runId);
    onSelection();
  }

  function selectAll(e) {
    for (const s of segments) for (const page of s.pages.values()) for (const r of page || []) {
      if (e.target.checked) state.selected.add(r.info.run_id); else state.selected.delete(r.info.run_id);
    }
    onSelection();
  }

  function onSelection() {
    const n = state.selected.size;
    compareButton.disabled = n < 2 || n > 100;
    compareButton.textContent = n ? `Compare ${n}` : "Compare";
    ctx.setQuery({ sel: [...state.selected].slice(0, 100) });
    table.refresh();
  }

  function compare() {
    if (state.selected.size < 2) return;
    location.hash = `#/compare?runs=${[...state.selected].slice(0, 100).join(",")}`;
  }

  function open(i) {
    const r = rowAt(i);
    if (!r) return;
    if (r.group) { r.segment.expanded = !r.segment.expanded; layout(); return; }
    location.hash = `#/experiments/${r.info.experiment_id}/runs/${r.info.run_id}`;
  }

  function columnPicker(anchor) {
    const existing = document.querySelector(".pop.columns");
    if (existing) { existing.remove(); return; }
    const chosen = new Set(columnIds());
    const search = h("input", { placeholder: "Find a column", style: { width: "100%" } });
    const list = h("div.col-list");
    const apply = () => {
      state.cols = [...chosen];
      ctx.setQuery({ cols: state.cols.join(",") || "-" });
      setColumns();
    };
    const draw = () => {
      const q = search.value.toLowerCase();
      clear(list, Object.entries(KIND).flatMap(([kind, [plural]]) => [...known[kind]].sort()
        .filter((k) => !q || k.toLowerCase().includes(q))
        .map((k) => h("label.check", h("input", {
          type: "checkbox", checked: chosen.has(`${kind}:${k}`),
          onchange: (e) => { if (e.target.checked) chosen.add(`${kind}:${k}`); else chosen.delete(`${kind}:${k}`); apply(); },
        }), h("span.muted", plural), k))));
    };
    search.addEventListener("input", draw);
    const rect = anchor.getBoundingClientRect();
    const pop = h("div.pop.columns", { style: { top: `${rect.bottom + 4}px`, left: `${Math.max(8, rect.right - 300)}px`, position: "fixed" } },
      search, h("div.row", { style: { margin: "6px 0" } },
        h("button", { onclick: () => { for (const [kind] of Object.entries(KIND)) for (const k of known[kind]) if (kind !== "t") chosen.add(`${kind}:${k}`); apply(); draw(); } }, "All"),
        h("button", { onclick: () => { chosen.clear(); apply(); draw(); } }, "None")),
      list);
    document.body.append(pop);
    draw();
    search.focus();
    const close = (e) => {
      if (e.type === "keydown" ? e.key === "Escape" : !pop.contains(e.target) && e.target !== anchor) {
        pop.remove();
        document.removeEventListener("mousedown", close);
        document.removeEventListener("keydown", close);
      }
    };
    setTimeout(() => { document.addEventListener("mousedown", close); document.addEventListener("keydown", close); });
    ctx.onLeave(() => pop.remove());
  }

  // -- live --------------------------------------------------------------------------------------

  // Runs of this experiment change (created, logging, finished): count again and fetch the
  // pages in view again, in place, at most once a second however fast runs log. Pages out of
  // view are dropped and fetched when scrolled to.
  let liveTimer = 0;
  async function refreshInPlace() {
    const gen = generation;
    try {
      const counted = await countRuns();
      if (gen !== generation) return;
      showCount(counted.count);
      segments = segmentsOf(counted, segments);
      layout();
      const [first, last] = table.visibleRange();
      const inView = new Set();
      for (let i = Math.max(0, first - 10); i <= last + 10 && i < table.total; i++) {
        const [s, offset] = locate(i);
        if (offset >= 0) inView.add(`${segments.indexOf(s)}:${Math.floor(offset / PAGE)}`);
      }
      for (const [index, s] of segments.entries()) {
        for (const page of [...s.pages.keys()]) {
          if (inView.has(`${index}:${page}`)) fetchPage(s, page, gen, true);
          else s.pages.delete(page);
        }
      }
      table.refresh();
    } catch (e) {
      if (e.name !== "AbortError") console.warn(e);
    }
  }
  const stopLive = follow({ scope: `experiment:${experimentId}`, type: "run.*" }, () => {
    if (!liveTimer) liveTimer = setTimeout(() => { liveTimer = 0; refreshInPlace(); }, 1000);
  });
  ctx.onLeave(() => { stopLive(); clearTimeout(liveTimer); });

  if (state.cols && state.cols.length === 1 && state.cols[0] === "-") state.cols = [];
  for (const id of state.cols || []) { const [k, key] = columnKey(id); known[k]?.add(key); }
  fillGroupSelect();
  setColumns();
  onSelection();
  try {
    await reload();
  } catch (e) {
    root.append(errorBox(e));
  }
  table.el.focus({ preventScroll: true });
}
