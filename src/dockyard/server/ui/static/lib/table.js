// A virtual table: only the rows in view exist in the DOM, so 100,000 rows scroll as fast as
// 100. Rows are fetched by the caller (`need(from, to)` asks for a range; `refresh()` redraws
// when data arrives). Fixed row height keeps the arithmetic exact.

import { h, clear } from "./dom.js";

const OVERSCAN = 10;

export class VirtualTable {
  constructor(parent, opts) {
    this.opts = { rowHeight: 28, ...opts };
    this.total = 0;
    this.cursor = -1;
    this.columns = [];
    this.nodes = new Map();
    this.el = h("div.vt", { tabIndex: 0, role: "grid" });
    this.head = h("div.vt-head", { role: "row" });
    this.body = h("div.vt-body");
    this.el.append(this.head, this.body);
    parent.append(this.el);
    this.el.addEventListener("scroll", () => this.schedule());
    this.el.addEventListener("keydown", (e) => this.key(e));
    this.el.addEventListener("click", (e) => {
      const row = e.target.closest(".vt-row");
      if (!row || e.target.closest("a, input, button")) return;
      this.moveTo(Number(row.dataset.i));
    });
    this.el.addEventListener("dblclick", (e) => {
      const row = e.target.closest(".vt-row");
      if (row && !e.target.closest("a, input, button")) this.opts.onOpen?.(Number(row.dataset.i));
    });
    this.resize = new ResizeObserver(() => this.schedule());
    this.resize.observe(this.el);
  }

  setColumns(columns) {
    this.columns = columns;
    this.el.style.setProperty("--cols", columns.map((c) => `${c.width || 120}px`).join(" "));
    clear(this.head, columns.map((c) => {
      const sort = c.sort ? (c.sort === "asc" ? " ▲" : " ▼") : "";
      return h("div", {
        class: c.sortable ? "sortable" : "", title: c.title || c.label, role: "columnheader", dataset: { col: c.id },
        "aria-sort": c.sort ? (c.sort === "asc" ? "ascending" : "descending") : null,
        onclick: c.sortable ? () => this.opts.onSort?.(c) : null,
        // Sorting by keyboard too: Tab to a column's name, Enter or Space.
        tabIndex: c.sortable ? 0 : null,
        onkeydown: c.sortable ? (e) => {
          if (e.key !== "Enter" && e.key !== " ") return;
          e.preventDefault();
          e.stopPropagation(); // not the table's Enter, which opens the row under the cursor
          this.opts.onSort?.(c);
          // The header is drawn anew with the sort's arrow: stay on the same column.
          [...this.head.children].find((d) => d.dataset.col === c.id)?.focus();
        } : null,
      }, c.kind ? h("span.kind", c.kind) : null, c.header || c.label, sort);
    }));
    this.refresh();
  }

  setTotal(total) {
    this.total = total;
    this.body.style.height = `${total * this.opts.rowHeight}px`;
    if (this.cursor >= total) this.cursor = total - 1;
    this.refresh();
  }

  /** Forget drawn rows and draw again (data arrived, columns or selection changed). */
  refresh() {
    for (const node of this.nodes.values()) node.remove();
    this.nodes.clear();
    this.schedule();
  }

  schedule() {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => { this.frame = 0; this.draw(); });
  }

  visibleRange() {
    const rh = this.opts.rowHeight;
    const top = Math.max(0, this.el.scrollTop - this.head.offsetHeight);
    const first = Math.floor(top / rh);
    const last = Math.min(this.total - 1, Math.ceil((top + this.el.clientHeight) / rh));
    return [first, last];
  }

  draw() {
    const [first, last] = this.visibleRange();
    const from = Math.max(0, first - OVERSCAN);
    const to = Math.min(this.total - 1, last + OVERSCAN);
    for (const [i, node] of this.nodes) {
      if (i < from || i > to) { node.remove(); this.nodes.delete(i); }
    }
    let missing = false;
    const rh = this.opts.rowHeight;
    for (let i = from; i <= to; i++) {
      if (this.nodes.has(i)) continue;
      const data = this.opts.row(i);
      if (data === undefined) missing = true;
      const node = this.renderRow(i, data);
      node.style.transform = `translateY(${i * rh}px)`;
      node.style.height = `${rh}px`;
      this.nodes.set(i, node);
      this.body.append(node);
    }
    if (missing && this.total) this.opts.need?.(from, to);
  }

  renderRow(i, data) {
    const cls = ["vt-row"];
    if (i === this.cursor) cls.push("cursor");
    if (data === undefined) {
      cls.push("loading");
      return h("div", { class: cls.join(" "), dataset: { i } },
        this.columns.map(() => h("div", h("span.skeleton"))));
    }
    const extra = this.opts.rowClass?.(i, data);
    if (extra) cls.push(extra);
    const custom = this.opts.renderRow?.(i, data, cls);
    if (custom) { custom.dataset.i = i; return custom; }
    return h("div", { class: cls.join(" "), dataset: { i }, role: "row" },
      this.columns.map((c) => h("div", { class: c.num ? "num" : "", role: "gridcell" }, this.opts.cell(c, data, i))));
  }

  moveTo(i) {
    if (!this.total) return;
    i = Math.max(0, Math.min(this.total - 1, i));
    const old = this.nodes.get(this.cursor);
    if (old) old.classList.remove("cursor");
    this.cursor = i;
    const node = this.nodes.get(i);
    if (node) node.classList.add("cursor");
    const rh = this.opts.rowHeight;
    const headH = this.head.offsetHeight;
    const top = i * rh + headH;
    if (top - headH < this.el.scrollTop) this.el.scrollTop = top - headH;
    else if (top + rh > this.el.scrollTop + this.el.clientHeight) this.el.scrollTop = top + rh - this.el.clientHeight;
    this.schedule();
  }

  key(e) {
    if (e.target.closest("input, select, textarea")) return;
    const page = Math.max(1, Math.floor(this.el.clientHeight / this.opts.rowHeight) - 1);
    const moves = { j: 1, ArrowDown: 1, k: -1, ArrowUp: -1, PageDown: page, PageUp: -page };
    if (e.key in moves) this.moveTo((this.cursor < 0 ? 0 : this.cursor + moves[e.key]));
    else if (e.key === "Home") this.moveTo(0);
    else if (e.key === "End") this.moveTo(this.total - 1);
    else if (e.key === "Enter" && this.cursor >= 0) this.opts.onOpen?.(this.cursor);
    else if (!this.opts.onKey?.(e, this.cursor)) return;
    e.preventDefault();
  }

  destroy() {
    this.resize.disconnect();
    cancelAnimationFrame(this.frame);
  }
}
