"""Cold start of a serving worker for a PyTorch model, against the same model's ONNX export and a
scikit-learn model: seconds from process start to the ready line, and resident memory.

Models (trained on nothing, built here): a scikit-learn logistic regression over 4 features, a
PyTorch MLP over the same 4 features (4-64-64-3), a small CNN on 1x28x28 images (two conv
layers, ~20k parameters), and that CNN exported with ``dockyard.models.convert_to_onnx``. Each
is served by a fresh ``python -m dockyard.runtime.serving.worker`` process, ``--runs`` times in
turn; the median is reported, with the RSS after one request (``VmRSS``) and whether libtorch is
mapped into the process.

Run: ``.venv/bin/python bench/torch_serving.py [--runs 5]``. Needs torch (``make install-test``
adds the CPU wheel). Prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd

warnings.filterwarnings("ignore")


def build(root: Path) -> dict[str, tuple[Path, Any]]:
    """Save the packages; returns name -> (package, one request body)."""
    import torch
    from sklearn.linear_model import LogisticRegression

    from dockyard.models import convert_to_onnx, save_model

    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(200, 4)), columns=list("abcd"))
    labels = (frame["a"] > 0).astype(int)
    save_model(LogisticRegression().fit(frame, labels), root / "sklearn", input_example=frame[:3])
    torch.manual_seed(0)
    mlp = torch.nn.Sequential(
        torch.nn.Linear(4, 64), torch.nn.ReLU(), torch.nn.Linear(64, 64), torch.nn.ReLU(),
        torch.nn.Linear(64, 3),
    )  # fmt: skip
    save_model(mlp, root / "torch-mlp", input_example=frame[:3])
    cnn = torch.nn.Sequential(
        torch.nn.Conv2d(1, 8, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(8, 16, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Flatten(), torch.nn.Linear(16 * 7 * 7, 10),
    )  # fmt: skip
    images = torch.rand(4, 1, 28, 28)
    save_model(cnn, root / "torch-cnn", input_example=images)
    convert_to_onnx(root / "torch-cnn", root / "onnx-cnn")
    rows = {"instances": frame[:1].to_numpy().tolist()}
    image = {"inputs": images[:1].numpy().tolist()}
    return {
        "sklearn": (root / "sklearn", rows),
        "torch-mlp": (root / "torch-mlp", rows),
        "torch-cnn": (root / "torch-cnn", image),
        "onnx-cnn": (root / "onnx-cnn", image),
    }


def start(package: Path, body: Any, directory: Path) -> dict[str, Any]:
    """One worker: time to ready, RSS after one request, libtorch mapped or not."""
    config = directory / "config.json"
    config.write_text(
        json.dumps(
            {
                "endpoint": "bench",
                "port": 0,
                "admin_socket": str(directory / "admin.sock"),
                "variants": [{"name": "v", "model_path": str(package)}],
                "access_log": False,
            }
        )
    )
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "dockyard.runtime.serving.worker", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        ready = json.loads(proc.stdout.readline())
        seconds = time.perf_counter() - started
        answer = httpx.post(f"http://127.0.0.1:{ready['port']}/invocations", json=body)
        answer.raise_for_status()
        status = Path(f"/proc/{proc.pid}/status").read_text()
        rss_kb = int(
            next(line for line in status.splitlines() if line.startswith("VmRSS")).split()[1]
        )
        torch_mapped = "libtorch" in Path(f"/proc/{proc.pid}/maps").read_text()
    finally:
        proc.terminate()
        proc.wait(30)
    return {"ready_s": seconds, "rss_mb": rss_kb / 1024, "torch": torch_mapped}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dy-bench-") as tmp:
        root = Path(tmp)
        packages = build(root)
        results: dict[str, list[dict[str, Any]]] = {name: [] for name in packages}
        for _ in range(args.runs):
            for name, (package, body) in packages.items():  # interleaved: load hits all alike
                results[name].append(start(package, body, root))
    load = os.getloadavg()[0]
    print(f"median of {args.runs} runs, load average {load:.1f}\n")
    print("| model | ready s | RSS MB | libtorch mapped |")
    print("|---|---:|---:|---|")
    for name, runs in results.items():
        ready = statistics.median(r["ready_s"] for r in runs)
        rss = statistics.median(r["rss_mb"] for r in runs)
        mapped = "yes" if runs[0]["torch"] else "no"
        print(f"| {name} | {ready:.2f} | {rss:.0f} | {mapped} |")


if __name__ == "__main__":
    main()
