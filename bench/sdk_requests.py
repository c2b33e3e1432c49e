"""The SDK's own cost on a server over HTTP: a script's start to its first answer, and each
unbuffered call after it (``dy.set_tag``), in wall time and the script's CPU.

One Dockyard server; each round runs the same script in a new process, once with this
checkout's SDK and, with ``--before CHECKOUT``, once with that checkout's (``CHECKOUT/src``
first on the path), alternating, so both meet the same machine. Medians of the rounds.

    .venv/bin/python bench/sdk_requests.py [--rounds 5] [--calls 300] [--before CHECKOUT]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _servers import Server

SCRIPT = """
import json, sys, time
started, cpu = time.perf_counter(), time.process_time()
import dockyard as dy
with dy.start_run():
    first = time.perf_counter()
    for i in range(int(sys.argv[1])):
        dy.set_tag(f"t{i}", i)
    done = time.perf_counter()
print(json.dumps({
    "first_ms": (first - started) * 1e3,
    "call_us": (done - first) / int(sys.argv[1]) * 1e6,
    "cpu_ms": (time.process_time() - cpu) * 1e3,
}))
"""


def once(url: str, src: Path, calls: int) -> dict[str, float]:
    env = {**os.environ, "DOCKYARD_URI": url, "PYTHONPATH": str(src)}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(calls)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    found: dict[str, float] = json.loads(done.stdout)
    return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--before", type=Path, help="another checkout to time beside this one")
    args = parser.parse_args()
    builds = {"this checkout": Path(__file__).parent.parent / "src"}
    if args.before:
        builds["before"] = args.before / "src"
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in builds}
    with tempfile.TemporaryDirectory() as home, Server.dockyard(Path(home), workers=1) as server:
        for src in builds.values():
            once(server.url, src, 10)  # bytecode caches, the server's first requests
        for _ in range(args.rounds):
            for name, src in builds.items():
                runs[name].append(once(server.url, src, args.calls))
    load = os.getloadavg()[0]
    print(f"\n{args.rounds} rounds of {args.calls} calls; load average {load:.1f}\n")
    print("| SDK | start to first answer, ms | a `set_tag`, µs | script CPU, ms |")
    print("|---|---:|---:|---:|")
    for name, found in runs.items():
        cells = [statistics.median(r[k] for r in found) for k in ("first_ms", "call_us", "cpu_ms")]
        print(f"| {name} | {cells[0]:.0f} | {cells[1]:.0f} | {cells[2]:.0f} |")


if __name__ == "__main__":
    main()
