// Submitting jobs from the browser: the spec format of `dockyard jobs submit` (YAML or JSON),
// with the files it names (a training job's code, a transform's input) uploaded first, as the
// command line does.
import { api } from "./api.js";
import { h } from "./dom.js";
import { field, input, modal, parseSpec, select, specEditor } from "./forms.js";

const TRAINING_EXAMPLE = `# The format of \`dockyard jobs submit\`. Attach the code below: source_dir becomes its folder.
name: my-training-job
entry_point: train.py
source_dir: .
experiment: my-experiment
hyperparameters:
  lr: 0.1
stopping_condition:
  max_runtime_s: 3600
`;

const TRANSFORM_EXAMPLE = `# A batch transform: the format of \`dockyard transform submit\`. Attach the input below.
name: my-transform
model_uri: models:/my-model@champion
input:
  uri: data.csv
  content_type: text/csv
`;

const isLocal = (v) => typeof v === "string" && !/^[a-z][a-z0-9+.-]*:\//i.test(v);

/** Upload files (from an <input type=file multiple>) under data/ui/<stamp>/; answers the URI
 * of their folder and of the one file (when there is one). */
async function uploadAll(files) {
  const stamp = new Date().toISOString().replace(/[-:]/g, "").replace(/\..*/, "");
  const prefix = `ui/${stamp}`;
  let answer = null;
  for (const f of files) {
    const rel = (f.webkitRelativePath || f.name).split("/").map(encodeURIComponent).join("/");
    answer = await api(`data/${prefix}/${rel}`, { method: "PUT", data: f, query: { prefix } });
  }
  return { folder: answer.prefix_uri, file: files.length === 1 ? answer.uri : null };
}

/** The submit dialog; resolves with the queued job, or null. */
export function submitJobDialog({ kind = "training" } = {}) {
  const editor = specEditor("spec", kind === "transform" ? TRANSFORM_EXAMPLE : TRAINING_EXAMPLE, { rows: 16 });
  const kindSelect = select("kind", [["training", "Training job"], ["transform", "Batch transform"]], kind);
  let touched = false;
  editor.area.addEventListener("input", () => { touched = true; });
  kindSelect.addEventListener("change", () => {
    if (!touched) editor.area.value = kindSelect.value === "transform" ? TRANSFORM_EXAMPLE : TRAINING_EXAMPLE;
    editor.area.dispatchEvent(new Event("scroll"));
  });
  const code = h("input", { type: "file", multiple: true, name: "files", "aria-label": "Files" });
  return modal({
    title: "Submit a job", submit: "Submit", wide: true, id: "job-dialog",
    body: [
      h("div.row", field("Kind", kindSelect), field("Name", input("name", { placeholder: "(from the spec)" }))),
      field("Spec", editor.node),
      field("Files", code, "Uploaded to your data area. Training: the code, whose folder becomes a local (or missing) source_dir. Transform: the input, replacing a local (or missing) input.uri."),
    ],
    onSubmit: async (v) => {
      const spec = await parseSpec(v.spec);
      if (v.name.trim()) spec.name = v.name.trim();
      const files = [...code.files];
      if (files.length && v.kind === "training" && (spec.source_dir === undefined || isLocal(spec.source_dir))) {
        spec.source_dir = (await uploadAll(files)).folder;
      }
      if (files.length && v.kind === "transform") {
        const input = spec.input && typeof spec.input === "object" ? spec.input : {};
        if (input.uri === undefined || isLocal(input.uri)) {
          const uploaded = await uploadAll(files);
          spec.input = { ...input, uri: uploaded.file || uploaded.folder };
        }
      }
      return api(`jobs/${v.kind}`, { method: "POST", body: spec });
    },
  });
}
