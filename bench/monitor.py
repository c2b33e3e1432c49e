"""Model monitoring: Dockyard's baselines and drift checks beside Evidently's data-drift report.

The data: ``--rows`` rows of 20 features, 16 numeric (normal, log-normal, uniform, Poisson
counts) and 4 categorical (3 to 12 values, skewed), written as CSV (with a header) and as
Parquet (pyarrow's default writer: row groups of up to 1Mi rows).

1. Baseline: ``suggest_baseline`` of the CSV and of the Parquet file, each in its own process;
   the time is the call (reading included; the process imports numpy, pyarrow and the
   package before the clock starts), peak RSS the process's ``ru_maxrss`` (printed for the
   imports alone too). ``--rows-big`` (3x) shows whether
   memory grows with rows.
2. Drift check of ``--rows`` current rows against a baseline of as many reference rows:
   Dockyard's ``check`` (the reading included; the baseline read from its JSON files) from
   CSV, Parquet and endpoint capture files (JSON Lines records as
   ``runtime/serving/_capture.py`` writes them, CSV-text requests of 1 row and of 100 rows);
   Evidently's ``Report([DataDriftPreset()]).run(current, reference)`` on the same Parquet
   and CSV files, timed inside its own process from ``pandas.read_*`` of both files to the
   computed snapshot (it reads the reference each time: Dockyard's "baseline + check" column
   adds the baseline's time for that comparison). Evidently 0.7 needs pandas < 3, so it runs
   in a side environment made once at ``bench/.evidently-venv`` with the project's ``uv``.
3. Accuracy: ``--accuracy-rows`` reference and current rows with one planted shift each (mean
   +0.5 std, std x2, two categories' labels swapped, 15 % of a new category), and without a
   shift over ``--seeds`` seeds: the features flagged at the default thresholds (drift, and
   any violation), and Evidently's verdicts on the same files.

Each timed case runs ``--repeat`` times, interleaved; the fastest is kept (a shared machine only
ever slows a run down). Run::

    nice .venv/bin/python bench/monitor.py [--quick] [--rows N] [--rows-big N]
        [--accuracy-rows N] [--seeds 20] [--repeat 2] [--skip-evidently]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parent.parent
PYTHON = ROOT / ".venv" / "bin" / "python"
UV = ROOT / ".venv" / "bin" / "uv"
EVIDENTLY_VENV = ROOT / "bench" / ".evidently-venv"
EVIDENTLY = "evidently==0.7.23"
NUMERIC = [f"f{i}" for i in range(16)]
CATEGORIES = {
    "c0": (list("abcde"), [0.4, 0.3, 0.15, 0.1, 0.05]),
    "c1": ([f"v{i}" for i in range(8)], [0.3, 0.2, 0.15, 0.1, 0.1, 0.05, 0.05, 0.05]),
    "c2": (["red", "green", "blue"], [0.5, 0.3, 0.2]),
    "c3": ([f"k{i:02d}" for i in range(12)], [1 / 12] * 12),
}
NAMES = [*NUMERIC, *CATEGORIES]
CHUNK = 200_000

# What each scenario plants, and the features it should flag.
SCENARIOS = {
    "no shift": ((), "none"),
    "mean shift (f0 +0.5 std)": (("f0",), "f0"),
    "variance change (f1 std x2)": (("f1",), "f1"),
    "swapped categories (c0 a<->e)": (("c0",), "c0"),
    "new category (c1 15 % 'new')": (("c1",), "c1"),
}

# Imports come before the clock (Evidently's process imports pandas and evidently first too).
WARM = """
import json, resource, sys, time
import numpy, pyarrow.compute, pyarrow.csv, pyarrow.json, pyarrow.parquet
import dockyard.monitor.capture, dockyard.monitor.checks, dockyard.monitor.readers

def peak_mb():
    # VmHWM: this program's own peak (ru_maxrss also counts the parent's pages at fork time).
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

def cpu_s():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime
"""

IMPORTS = (
    WARM
    + """
print(json.dumps({"seconds": 0.0, "cpu": 0.0, "rss_mb": peak_mb()}))
"""
)

BASELINE = (
    WARM
    + """
from dockyard.monitor import Dataset, suggest_baseline, write_baseline
start, cpu = time.perf_counter(), cpu_s()
baseline = suggest_baseline(Dataset((sys.argv[1],), format=sys.argv[2]))
seconds, cpu = time.perf_counter() - start, cpu_s() - cpu
if len(sys.argv) > 3:
    write_baseline(baseline, sys.argv[3])
print(json.dumps({"seconds": seconds, "cpu": cpu, "rss_mb": peak_mb()}))
"""
)

CHECK = (
    WARM
    + """
from dockyard.monitor import Dataset, check, read_baseline
columns = tuple(sys.argv[4].split(",")) if len(sys.argv) > 4 else None
start, cpu = time.perf_counter(), cpu_s()
result = check(Dataset((sys.argv[1],), format=sys.argv[2], columns=columns),
               read_baseline(sys.argv[3]))
seconds, cpu = time.perf_counter() - start, cpu_s() - cpu
drifted = [d.feature for d in result.drift if d.drifted]
print(json.dumps({"seconds": seconds, "cpu": cpu, "rss_mb": peak_mb(), "rows": result.rows,
                  "drifted": drifted}))
"""
)

# Runs in the side environment: one JSON job per line on stdin, one answer per line.
EVIDENTLY_RUN = """
import json, resource, sys, time, warnings
warnings.filterwarnings("ignore")
import pandas as pd
from evidently import Report
from evidently.presets import DataDriftPreset

def read(path):
    return pd.read_parquet(path) if path.endswith(".parquet") else pd.read_csv(path)

def cpu_s():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime

def peak_mb():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

for line in sys.stdin:
    job = json.loads(line)
    start, cpu = time.perf_counter(), cpu_s()
    reference, current = read(job["reference"]), read(job["current"])
    loaded = time.perf_counter()
    snapshot = Report([DataDriftPreset()]).run(current, reference)
    end, cpu = time.perf_counter(), cpu_s() - cpu
    drifted = []
    for metric in snapshot.dict()["metrics"]:
        config = metric["config"]
        if config.get("type", "").endswith("ValueDrift"):
            value, threshold = metric["value"], config["threshold"]
            p_value = "p_value" in config["method"]
            if (value < threshold) if p_value else (value >= threshold):
                drifted.append(config["column"])
    print(json.dumps({"seconds": end - start, "cpu": cpu, "read": loaded - start,
                      "rss_mb": peak_mb(), "drifted": drifted}), flush=True)
"""


# -- data -------------------------------------------------------------------------------------


def chunks(rows: int, seed: int, shift: str = "none") -> Iterator[pa.Table]:
    """``rows`` rows in tables of ``CHUNK``; ``shift`` plants one change (``SCENARIOS``)."""
    rng = np.random.default_rng(seed)
    done = 0
    while done < rows:
        n = min(CHUNK, rows - done)
        columns: dict[str, Any] = {}
        for i, name in enumerate(NUMERIC):
            kind = i % 4
            if kind == 0:
                values = rng.normal(10.0 * i, 1.0 + i, n)
            elif kind == 1:
                values = rng.lognormal(0.0, 0.5, n)
            elif kind == 2:
                values = rng.uniform(-1.0, 1.0, n)
            else:
                values = rng.poisson(3 + i, n)
            columns[name] = values
        if shift == "f0":
            columns["f0"] = columns["f0"] + 0.5 * 1.0  # f0 is N(0, 1)
        if shift == "f1":
            mean = np.exp(0.125)  # f1 is log-normal(0, 0.5): std x2 about its mean
            columns["f1"] = mean + 2.0 * (columns["f1"] - mean)
        for name, (values, weights) in CATEGORIES.items():
            drawn = rng.choice(np.array(values, dtype=object), n, p=weights)
            if shift == "c0" and name == "c0":
                a, e = drawn == "a", drawn == "e"
                drawn[a], drawn[e] = "e", "a"
            if shift == "c1" and name == "c1":
                drawn[rng.random(n) < 0.15] = "new"
            columns[name] = drawn
        yield pa.table({k: pa.array(v) for k, v in columns.items()})
        done += n


def write_files(base: Path, rows: int, seed: int, shift: str = "none") -> tuple[Path, Path]:
    """CSV (header) and Parquet files of the same rows."""
    csv_path, parquet_path = base.with_suffix(".csv"), base.with_suffix(".parquet")
    csv_writer = parquet_writer = None
    for table in chunks(rows, seed, shift):
        if csv_writer is None:
            csv_writer = pacsv.CSVWriter(str(csv_path), table.schema)
            parquet_writer = pq.ParquetWriter(str(parquet_path), table.schema)
        csv_writer.write_table(table)
        assert parquet_writer is not None
        parquet_writer.write_table(table)
    assert csv_writer is not None and parquet_writer is not None
    csv_writer.close()
    parquet_writer.close()
    return csv_path, parquet_path


def write_capture(folder: Path, rows: int, seed: int, per_request: int, shift: str) -> Path:
    """``rows`` rows as capture records of ``per_request`` CSV rows each (headerless text)."""
    folder.mkdir(parents=True, exist_ok=True)
    request = 0
    for part, table in enumerate(chunks(rows, seed, shift)):
        buffer = pa.BufferOutputStream()
        pacsv.write_csv(table, buffer, pacsv.WriteOptions(include_header=False))
        lines = buffer.getvalue().to_pybytes().decode().splitlines()
        out = bytearray()
        for i in range(0, len(lines), per_request):
            record = {
                "request_id": f"req-{request:08d}",
                "time": "2026-12-05T06:00:00.000000Z",
                "endpoint": "churn",
                "variant": "primary",
                "kind": "live",
                "status": 200,
                "latency_ms": 1.234,
                "input": {
                    "content_type": "text/csv",
                    "encoding": "text",
                    "data": "\n".join(lines[i : i + per_request]),
                },
                "output": {
                    "content_type": "application/json",
                    "encoding": "json",
                    "data": {"predictions": [0.5] * min(per_request, len(lines) - i)},
                },
            }
            out += orjson.dumps(record) + b"\n"
            request += 1
        (folder / f"20261205T060000-w0-{part:06d}.jsonl").write_bytes(out)
    return folder


# -- runs -------------------------------------------------------------------------------------


def run(script: str, *args: str) -> dict[str, Any]:
    done = subprocess.run(
        [str(PYTHON), "-c", script, *map(str, args)], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"failed: {args}\n{done.stderr[-3000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def fastest(cases: dict[str, tuple[str, ...]], repeat: int) -> dict[str, dict[str, Any]]:
    """Each case ``repeat`` times, interleaved; the fastest run (and the largest RSS) kept."""
    best: dict[str, dict[str, Any]] = {}
    for _ in range(repeat):
        for name, argv in cases.items():
            result = run(*argv)
            print(
                f"  {name}: {result['seconds']:.2f} s, CPU {result['cpu']:.2f} s, "
                f"{result['rss_mb']:.0f} MB",
                flush=True,
            )
            kept = best.get(name)
            if kept is None or result["seconds"] < kept["seconds"]:
                rss = max(result["rss_mb"], kept["rss_mb"] if kept else 0.0)
                best[name] = {**result, "rss_mb": rss}
    return best


def ensure_evidently() -> Path:
    python = EVIDENTLY_VENV / "bin" / "python"
    if not python.exists():
        print(f"creating {EVIDENTLY_VENV} ({EVIDENTLY}, pandas<3)", flush=True)
        subprocess.run([str(UV), "venv", "-q", "-p", str(PYTHON), str(EVIDENTLY_VENV)], check=True)
        subprocess.run(
            [str(UV), "pip", "install", "-q", "-p", str(python), EVIDENTLY, "pandas<3"],
            check=True,
        )
    return python


def evidently(jobs: list[dict[str, str]]) -> list[dict[str, Any]]:
    """Every job in one process of the side environment (its imports paid once)."""
    python = ensure_evidently()
    stdin = "".join(json.dumps(job) + "\n" for job in jobs)
    done = subprocess.run(
        [str(python), "-c", EVIDENTLY_RUN], input=stdin, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"evidently failed:\n{done.stderr[-3000:]}")
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


# -- the three parts --------------------------------------------------------------------------


def bench_baseline(work: Path, args: argparse.Namespace) -> None:
    sizes = [args.rows] + ([args.rows_big] if args.rows_big else [])
    cases: dict[str, tuple[str, ...]] = {}
    for rows in sizes:
        csv_path, parquet_path = write_files(work / f"base-{rows}", rows, seed=1)
        cases[f"CSV {rows:,}"] = (BASELINE, str(csv_path), "csv")
        cases[f"Parquet {rows:,}"] = (BASELINE, str(parquet_path), "parquet")
    print("baseline:", flush=True)
    imports = run(IMPORTS)
    best = fastest(cases, args.repeat)
    print("\n### Baseline (`suggest_baseline`, 16 numeric + 4 categorical features)\n")
    print(f"Peak RSS of the process with its imports only: {imports['rss_mb']:.0f} MB.\n")
    print("| input | rows | wall s | CPU s | rows/s (wall) | peak RSS MB | target |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for name, result in best.items():
        kind, rows_text = name.split(" ")
        rows = int(rows_text.replace(",", ""))
        target = "<= 3 s" if rows <= 1_000_000 else "RSS flat"
        print(
            f"| {kind} | {rows:,} | {result['seconds']:.2f} | {result['cpu']:.2f} "
            f"| {rows / result['seconds']:,.0f} "
            f"| {result['rss_mb']:.0f} | {target} |"
        )
    print()


def bench_check(work: Path, args: argparse.Namespace) -> None:
    rows = args.rows
    ref_csv, ref_parquet = write_files(work / "reference", rows, seed=2)
    cur_csv, cur_parquet = write_files(work / "current", rows, seed=3, shift="f0")
    baseline_dir = work / "baseline"
    made = run(BASELINE, str(ref_parquet), "parquet", str(baseline_dir))
    capture_1 = write_capture(work / "capture-1", rows, seed=3, per_request=1, shift="f0")
    capture_100 = write_capture(work / "capture-100", rows, seed=3, per_request=100, shift="f0")
    names = ",".join(NAMES)
    cases: dict[str, tuple[str, ...]] = {
        "CSV": (CHECK, str(cur_csv), "csv", str(baseline_dir)),
        "Parquet": (CHECK, str(cur_parquet), "parquet", str(baseline_dir)),
        "capture, 1 row/request": (CHECK, str(capture_1), "capture", str(baseline_dir), names),
        "capture, 100 rows/request": (
            CHECK,
            str(capture_100),
            "capture",
            str(baseline_dir),
            names,
        ),
    }
    print("check:", flush=True)
    best = fastest(cases, args.repeat)
    ev: dict[str, dict[str, Any]] = {}
    if not args.skip_evidently:
        print("evidently:", flush=True)
        jobs = [
            {"reference": str(ref_parquet), "current": str(cur_parquet)},
            {"reference": str(ref_csv), "current": str(cur_csv)},
        ] * args.repeat
        for job, result in zip(jobs, evidently(jobs), strict=True):
            name = "Parquet" if job["current"].endswith(".parquet") else "CSV"
            print(
                f"  {name}: {result['seconds']:.2f} s (read {result['read']:.2f} s), "
                f"CPU {result['cpu']:.2f} s, {result['rss_mb']:.0f} MB",
                flush=True,
            )
            if name not in ev or result["seconds"] < ev[name]["seconds"]:
                ev[name] = result
    print(
        f"\n### Drift check of {rows:,} rows against a baseline of {rows:,} "
        "(mean shift planted in f0)\n"
    )
    print(
        f"Dockyard's baseline of the reference (Parquet): {made['seconds']:.2f} s "
        f"(CPU {made['cpu']:.2f} s). "
        "Evidently's time: `pandas.read_*` of both files + `Report([DataDriftPreset()]).run`; "
        "capture rows are compared with its CSV run (it has no capture reader); its RSS is its "
        "process's peak so far.\n"
    )
    print(
        "| current data | Dockyard check s | CPU s | us/row (wall) | peak RSS MB "
        "| baseline + check s | Evidently s (read) | Evidently CPU s | Evidently RSS MB "
        "| speed-up (check) | speed-up (baseline + check) | flagged (Dockyard / Evidently) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for name, result in best.items():
        both = made["seconds"] + result["seconds"]
        other = ev.get("CSV" if name.startswith("capture") else name)  # the same rows as text
        if other:
            ev_text = f"{other['seconds']:.2f} ({other['read']:.2f})"
            ev_cpu = f"{other['cpu']:.2f}"
            ev_rss = f"{other['rss_mb']:.0f}"
            ratio = f"{other['seconds'] / result['seconds']:.1f}x"
            ratio_both = f"{other['seconds'] / both:.1f}x"
            flagged = f"{','.join(result['drifted'])} / {','.join(other['drifted'])}"
        else:
            ev_text = ev_cpu = ev_rss = ratio = ratio_both = "-"
            flagged = ",".join(result["drifted"])
        print(
            f"| {name} | {result['seconds']:.2f} | {result['cpu']:.2f} "
            f"| {result['seconds'] / result['rows'] * 1e6:.2f} | {result['rss_mb']:.0f} "
            f"| {both:.2f} | {ev_text} | {ev_cpu} | {ev_rss} | {ratio} | {ratio_both} | {flagged} |"
        )
    print()


def dockyard_verdict(reference: Path, current: Path) -> tuple[list[str], list[str]]:
    """Drifted features, and features with any violation (``type`` abbreviated)."""
    from dockyard.monitor import Dataset, check, suggest_baseline

    baseline = suggest_baseline(Dataset((str(reference),), format="parquet"))
    result = check(Dataset((str(current),), format="parquet"), baseline)
    drifted = [d.feature for d in result.drift if d.drifted]
    violations = sorted(
        f"{v['feature_name']}:{v['constraint_check_type'].removesuffix('_check')}"
        for v in result.violations["violations"]
    )
    return drifted, violations


def bench_accuracy(work: Path, args: argparse.Namespace) -> None:
    rows = args.accuracy_rows
    print("accuracy:", flush=True)
    _, reference = write_files(work / "acc-ref", rows, seed=100)
    cases: list[tuple[str, str, Path, Path]] = []
    for scenario, (_, shift) in SCENARIOS.items():
        _, current = write_files(work / f"acc-{shift}", rows, seed=101, shift=shift)
        cases.append((scenario, shift, reference, current))
    null_cases: list[tuple[Path, Path]] = []
    for seed in range(args.seeds):
        _, ref = write_files(work / f"null-ref-{seed}", rows, seed=1000 + 2 * seed)
        _, cur = write_files(work / f"null-cur-{seed}", rows, seed=1001 + 2 * seed)
        null_cases.append((ref, cur))
    ev_cases: list[dict[str, Any]] = []
    ev_null: list[dict[str, Any]] = []
    if not args.skip_evidently:
        jobs = [{"reference": str(r), "current": str(c)} for _, _, r, c in cases]
        jobs += [{"reference": str(r), "current": str(c)} for r, c in null_cases]
        answers = evidently(jobs)
        ev_cases, ev_null = answers[: len(cases)], answers[len(cases) :]
    print(
        f"\n### Accuracy: {rows:,} reference vs {rows:,} current rows, default thresholds "
        "(L-infinity distance > 0.1, Robust; Evidently: normed Wasserstein / Jensen-Shannon "
        ">= 0.1)\n"
    )
    print("| scenario | expected | Dockyard drift | Dockyard violations | Evidently drift |")
    print("|---|---|---|---|---|")
    for i, (scenario, _, reference_path, current) in enumerate(cases):
        drifted, violations = dockyard_verdict(reference_path, current)
        expected = ", ".join(SCENARIOS[scenario][0]) or "none"
        ev_text = ", ".join(ev_cases[i]["drifted"]) or "none" if ev_cases else "-"
        print(
            f"| {scenario} | {expected} | {', '.join(drifted) or 'none'} "
            f"| {', '.join(violations) or 'none'} | {ev_text} |"
        )
    alarms_drift = alarms_any = alarms_ev = 0
    flagged: list[str] = []
    for i, (reference_path, current) in enumerate(null_cases):
        drifted, violations = dockyard_verdict(reference_path, current)
        alarms_drift += bool(drifted)
        alarms_any += bool(drifted or violations)
        flagged += drifted + violations
        if ev_null:
            alarms_ev += bool(ev_null[i]["drifted"])
    print(
        f"\nNo shift, {args.seeds} seeds (reference and current drawn independently): runs with "
        f"a drift flag: Dockyard {alarms_drift}/{args.seeds}, with any violation or drift: "
        f"{alarms_any}/{args.seeds} ({', '.join(sorted(set(flagged))) or 'none'}); Evidently "
        + (f"{alarms_ev}/{args.seeds}" if ev_null else "-")
        + " (target <= 1).\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rows-big", type=int, default=3_000_000, help="0 to skip")
    parser.add_argument("--accuracy-rows", type=int, default=100_000)
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="100k rows, 300k big, 20k accuracy")
    parser.add_argument("--skip-evidently", action="store_true")
    parser.add_argument("--only", choices=["baseline", "check", "accuracy"], action="append")
    args = parser.parse_args()
    if args.quick:
        args.rows, args.rows_big, args.accuracy_rows, args.repeat = 100_000, 300_000, 20_000, 1
    parts = args.only or ["baseline", "check", "accuracy"]
    print(f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}", flush=True)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="dockyard-monbench-") as tmp:
        work = Path(tmp)
        if "baseline" in parts:
            bench_baseline(work, args)
        if "check" in parts:
            bench_check(work, args)
        if "accuracy" in parts:
            bench_accuracy(work, args)
    print(f"total {time.perf_counter() - start:.0f} s")
    print(f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    sys.exit(main())
