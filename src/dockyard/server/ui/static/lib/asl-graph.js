// A state machine (Amazon States Language) drawn as an SVG graph: states in layers from StartAt
// down, Parallel branches and Map iterators drawn inside their state, Catch edges dashed, loops
// (an edge back up) routed on the right, edges that skip a layer (a Catch to a handler further
// down) routed on the left, so no edge crosses a state. `status` colours states: { name: "running" |
// "succeeded" | "failed" | "caught" | "aborted" }; `onSelect(name)` runs when a state is clicked.
// Names in nested machines are unique within their own machine only: nested nodes report
// "<parent>/<name>".

const SVG = "http://www.w3.org/2000/svg";
const NODE_W = 168, NODE_H = 34, GAP_X = 24, GAP_Y = 40, PAD = 14, HEAD = 26;

function el(tag, attrs = {}, ...children) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) e.setAttribute(k, v);
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

function targets(state) {
  const out = [];
  for (const c of state.Choices || []) if (c.Next) out.push([c.Next, "choice"]);
  if (state.Default) out.push([state.Default, "default"]);
  if (state.Next) out.push([state.Next, "next"]);
  for (const c of state.Catch || []) if (c.Next) out.push([c.Next, "catch"]);
  return out;
}

function nested(state) {
  if (state.Type === "Parallel") return state.Branches || [];
  if (state.Type === "Map") {
    const inner = state.ItemProcessor || state.Iterator;
    return inner ? [inner] : [];
  }
  return [];
}

// Layers by longest path over forward edges (an edge to a state on the DFS stack is a loop).
function layers(machine) {
  const states = machine.States || {};
  const order = [], onStack = new Set(), seen = new Set(), back = new Set();
  const visit = (name) => {
    if (!(name in states) || seen.has(name)) return;
    seen.add(name); onStack.add(name);
    for (const [t] of targets(states[name])) {
      if (onStack.has(t)) back.add(`${name}->${t}`);
      else visit(t);
    }
    onStack.delete(name); order.unshift(name);
  };
  visit(machine.StartAt);
  for (const name of Object.keys(states)) visit(name); // unreachable states still show
  const layer = {};
  for (const name of order) {
    layer[name] ??= 0;
    for (const [t] of targets(states[name])) {
      if (!back.has(`${name}->${t}`) && t in states) layer[t] = Math.max(layer[t] ?? 0, layer[name] + 1);
    }
  }
  const rows = [];
  for (const name of order) (rows[layer[name]] ||= []).push(name);
  return { rows, back };
}

// Sizes and positions, recursively: { w, h, nodes: [{ name, x, y, w, h, state, inner }], edges }.
function layout(machine, prefix) {
  const states = machine.States || {};
  const { rows, back } = layers(machine);
  const boxes = {};
  for (const name of Object.keys(states)) {
    const inner = nested(states[name]).map((m, i) => layout(m, `${prefix}${name}/${states[name].Type === "Parallel" ? i + "/" : ""}`));
    const w = inner.length ? Math.max(NODE_W, inner.reduce((s, b) => s + b.w, 0) + GAP_X * (inner.length - 1) + 2 * PAD) : NODE_W;
    const h = inner.length ? HEAD + Math.max(...inner.map((b) => b.h)) + PAD : NODE_H;
    boxes[name] = { name, path: prefix + name, w, h, state: states[name], inner };
  }
  let y = 0, width = 0;
  const placed = [];
  for (const row of rows) {
    if (!row) continue;
    const rowW = row.reduce((s, n) => s + boxes[n].w, 0) + GAP_X * (row.length - 1);
    const rowH = Math.max(...row.map((n) => boxes[n].h));
    placed.push({ row, rowW, rowH, y });
    width = Math.max(width, rowW);
    y += rowH + GAP_Y;
  }
  const rowOf = {};
  placed.forEach(({ row }, i) => { for (const n of row) rowOf[n] = i; });
  const edges = [];
  for (const [name, state] of Object.entries(states)) {
    for (const [t, kind] of targets(state)) {
      if (!(t in boxes)) continue;
      const loop = back.has(`${name}->${t}`) || rowOf[t] <= rowOf[name];
      // An edge down past a row would cross that row's states: it goes round on the left.
      edges.push({ from: boxes[name], to: boxes[t], kind, back: loop, skip: !loop && rowOf[t] > rowOf[name] + 1 });
    }
  }
  const left = edges.some((e) => e.skip) ? 40 : 0;
  for (const { row, rowW, y: top } of placed) {
    let x = left + (width - rowW) / 2;
    for (const n of row) { boxes[n].x = x; boxes[n].y = top; x += boxes[n].w + GAP_X; }
  }
  return { w: left + width + (back.size ? 40 : 0), h: Math.max(0, y - GAP_Y), nodes: Object.values(boxes), edges };
}

function draw(g, box, ox, oy, status, onSelect) {
  for (const e of box.edges) {
    const a = e.from, b = e.to;
    const x1 = ox + a.x + a.w / 2, y1 = oy + a.y + a.h, x2 = ox + b.x + b.w / 2, y2 = oy + b.y;
    let d;
    if (e.back || y2 <= y1) {
      const right = ox + box.w - 10;
      d = `M${ox + a.x + a.w},${oy + a.y + a.h / 2} H${right} V${oy + b.y + b.h / 2} H${ox + b.x + b.w}`;
    } else if (e.skip) {
      const left = ox + 10;
      d = `M${ox + a.x},${oy + a.y + a.h / 2} H${left} V${oy + b.y + b.h / 2} H${ox + b.x}`;
    } else {
      const mid = (y1 + y2) / 2;
      d = `M${x1},${y1} C${x1},${mid} ${x2},${mid} ${x2},${y2}`;
    }
    g.append(el("path", { d, class: `asl-edge asl-${e.kind}`, "marker-end": "url(#asl-arrow)" }));
  }
  for (const n of box.nodes) {
    const x = ox + n.x, y = oy + n.y;
    const st = status[n.path];
    const node = el("g", { class: `asl-node asl-${n.state.Type.toLowerCase()}${st ? " asl-" + st : ""}`, "data-state": n.path, tabindex: 0 });
    node.append(el("rect", { x, y, width: n.w, height: n.h, rx: n.state.Type === "Choice" ? 16 : 6 }));
    const label = n.name.length > 22 && !n.inner.length ? n.name.slice(0, 21) + "…" : n.name;
    node.append(el("text", { x: x + n.w / 2, y: y + (n.inner.length ? 17 : n.h / 2 + 4), "text-anchor": "middle" }, label));
    node.append(el("title", {}, `${n.path} (${n.state.Type})${st ? ": " + st : ""}`));
    if (onSelect) {
      node.addEventListener("click", (ev) => { ev.stopPropagation(); onSelect(n.path); });
      node.addEventListener("keydown", (ev) => { if (ev.key === "Enter") onSelect(n.path); });
    }
    g.append(node);
    let ix = x + (n.w - (n.inner.reduce((s, b) => s + b.w, 0) + GAP_X * (n.inner.length - 1))) / 2;
    for (const inner of n.inner) { draw(g, inner, ix, y + HEAD, status, onSelect); ix += inner.w + GAP_X; }
  }
}

export function aslGraph(definition, { status = {}, onSelect = null } = {}) {
  const box = layout(definition, "");
  const w = Math.max(box.w, NODE_W) + 2 * PAD, h = box.h + 2 * PAD + 12;
  const svg = el("svg", { class: "asl-graph", viewBox: `0 0 ${w} ${h}`, width: w, height: h, role: "img", "aria-label": "state machine graph" });
  svg.append(el("defs", {}, el("marker", { id: "asl-arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" }, el("path", { d: "M0,0 L10,5 L0,10 z" }))));
  const g = el("g");
  svg.append(g);
  draw(g, box, PAD, PAD, status, onSelect);
  return svg;
}
