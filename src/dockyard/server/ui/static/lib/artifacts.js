// A file browser with previews: text, JSON (pretty), CSV/TSV as a table, images, HTML in a
// sandboxed frame (no scripts; the page's Content-Security-Policy keeps it on this server).
// Used for run artifacts, logged models' files and registry version files.

import { api } from "./api.js";
import { h, clear, fmtBytes, errorBox } from "./dom.js";

const PREVIEW_BYTES = 2 * 1024 * 1024;
const IMAGE = { png: "image/png", jpg: "image/jpeg", jpeg: "image/jpeg", gif: "image/gif", webp: "image/webp", svg: "image/svg+xml", bmp: "image/bmp" };
const TEXT = /\.(txt|log|md|py|yaml|yml|toml|cfg|ini|sh|r|sql|xml|jsonl|ndjson|out)$|(^|\/)(MLmodel|requirements\.txt|conda\.yaml|python_env\.yaml|Dockerfile|LICENSE)$/i;

export function artifactBrowser({ list, url, initial = "", onOpen, empty = "No files." }) {
  const tree = h("div.tree", { role: "tree" });
  const preview = h("div.preview", h("p.muted", "Choose a file."));
  const root = h("div.files", tree, preview);
  const open = new Set();
  const listed = new Map(); // path -> the listing's entry (its size), for a file opened by link
  let selected = initial;

  async function drawTree() {
    const rows = [];
    async function walk(path, depth) {
      let files;
      try { files = await list(path); } catch (e) { rows.push(h("div.error", e.message)); return; }
      files.sort((a, b) => (b.is_dir - a.is_dir) || a.path.localeCompare(b.path));
      for (const f of files) {
        const name = f.path.split("/").pop();
        const pad = { paddingLeft: `${10 + depth * 14}px` };
        if (f.is_dir) {
          const isOpen = open.has(f.path) || selected.startsWith(f.path + "/");
          rows.push(h("a", { href: "#", style: pad, role: "treeitem", "aria-expanded": String(isOpen), onclick: (e) => { e.preventDefault(); if (isOpen) open.delete(f.path); else open.add(f.path); drawTree(); } }, isOpen ? "▾ " : "▸ ", name + "/"));
          if (isOpen) { open.add(f.path); await walk(f.path, depth + 1); }
        } else {
          listed.set(f.path, f);
          rows.push(h("a", { href: "#", style: pad, role: "treeitem", class: f.path === selected ? "on" : "", dataset: { path: f.path }, title: fmtBytes(f.file_size ?? f.size), onclick: (e) => { e.preventDefault(); show(f); } },
            name, " ", h("span.muted", fmtBytes(f.file_size ?? f.size))));
        }
      }
    }
    await walk("", 0);
    clear(tree, rows.length ? rows : h("p.muted.pad", empty));
  }

  async function show(file) {
    selected = file.path;
    onOpen?.(file.path);
    for (const a of tree.querySelectorAll("a")) a.classList.toggle("on", a.dataset.path === file.path);
    const size = file.file_size ?? file.size;
    const href = url(file.path);
    const name = file.path.split("/").pop();
    const ext = (name.split(".").pop() || "").toLowerCase();
    const head = h("div.row", { style: { marginBottom: "8px" } }, h("b.mono", file.path), h("span.muted", fmtBytes(size)), h("div.spacer"),
      h("a.btn", { href, download: name }, "Download"));
    clear(preview, head, h("p.muted", "Loading…"));
    try {
      if (IMAGE[ext]) {
        const blob = await (await api(href, { raw: true })).blob();
        const img = h("img", { alt: name, src: URL.createObjectURL(new Blob([blob], { type: IMAGE[ext] })) });
        clear(preview, head, img);
        return;
      }
      if (size > PREVIEW_BYTES) { clear(preview, head, h("p.muted", `Too large to preview (${fmtBytes(size)}): download it.`)); return; }
      const text = await api(href, { text: true });
      let body;
      if (ext === "json") {
        try { body = h("pre", JSON.stringify(JSON.parse(text), null, 2)); } catch { body = h("pre", text); }
      } else if (ext === "csv" || ext === "tsv") {
        body = csvTable(text, ext === "tsv" ? "\t" : ",");
      } else if (ext === "html" || ext === "htm") {
        body = h("iframe", { sandbox: "", srcdoc: text, title: name, referrerpolicy: "no-referrer" });
      } else if (TEXT.test(file.path) || !/[\x00-\x08\x0e-\x1f]/.test(text.slice(0, 2000))) {
        body = h("pre", text);
      } else {
        body = h("p.muted", "Binary file: download it.");
      }
      clear(preview, head, body);
    } catch (e) {
      clear(preview, head, errorBox(e));
    }
  }

  drawTree().then(() => {
    // A link names only the path: its size (shown, and what decides whether it is previewed)
    // is the listing's. A path the listing lacks has no size to show.
    if (initial) show(listed.get(initial) ?? { path: initial }).catch(() => {});
  });
  return root;
}

/** CSV text as a table (first 1,000 rows); quoted fields with commas and doubled quotes. */
export function csvTable(text, sep = ",") {
  const rows = [];
  let row = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length && rows.length <= 1000; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i++; } else if (c === '"') quoted = false; else field += c;
    } else if (c === '"') quoted = true;
    else if (c === sep) { row.push(field); field = ""; } else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      row.push(field); rows.push(row); row = []; field = "";
    } else field += c;
  }
  if (field || row.length) { row.push(field); rows.push(row); }
  const [head, ...rest] = rows;
  if (!head) return h("p.muted", "Empty file.");
  return h("div.scroll", h("table.t.csv",
    h("thead", h("tr", head.map((c) => h("th", c)))),
    h("tbody", rest.slice(0, 1000).map((r) => h("tr", r.map((c) => h("td", { class: /^-?[\d.eE+-]+$/.test(c) ? "num" : "" }, c)))))),
  rest.length > 1000 ? h("p.muted", "First 1,000 rows.") : null);
}
