"""``dy.upload_data`` of a folder of many small files, against a server over HTTP.

One Dockyard server; each round uploads a fresh folder (new content, so nothing is skipped) of
``--files`` files of ~100 bytes in a new process, with this checkout's SDK and, with
``--before CHECKOUT``, with that checkout's (``CHECKOUT/src`` first on the path), alternating,
so both meet the same machine. Medians of the rounds' wall times (the call alone, imports
excluded).

    .venv/bin/python bench/uploads.py [--rounds 3] [--files 1000] [--before CHECKOUT]
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
from pathlib import Path
import dockyard as dy
dy.upload_data  # the SDK's import, off the clock
folder = Path(sys.argv[1])
start = time.perf_counter()
uri = dy.upload_data(folder, key_prefix="bench-uploads")
seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "uri": uri}))
"""


def make_folder(root: Path, files: int, tag: str) -> Path:
    folder = root / f"upload-{tag}"
    for i in range(files):
        file = folder / f"part-{i % 10}" / f"rows-{i:05d}.csv"
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(f"{tag},{i},{i * i}\n" * 4)
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--before", type=Path, help="another checkout to time beside this one")
    args = parser.parse_args()
    builds = {"this checkout": Path(__file__).resolve().parent.parent / "src"}
    if args.before:
        builds["before"] = args.before.resolve() / "src"
    seconds: dict[str, list[float]] = {name: [] for name in builds}
    with tempfile.TemporaryDirectory(prefix="bench-uploads-") as tmp:
        root = Path(tmp)
        with Server.dockyard(root / "server-home", workers=1) as server:
            for round_ in range(1, args.rounds + 1):
                for name, src in builds.items():
                    folder = make_folder(root, args.files, f"{round_}-{name.replace(' ', '-')}")
                    env = {
                        **os.environ,
                        "DOCKYARD_URI": server.url,
                        "DOCKYARD_HOME": str(root / "client-home"),
                        "PYTHONPATH": str(src),
                    }
                    out = subprocess.run(
                        [sys.executable, "-c", SCRIPT, str(folder)],
                        env=env,
                        capture_output=True,
                        text=True,
                        check=True,
                    )
                    seconds[name].append(json.loads(out.stdout.splitlines()[-1])["seconds"])
                    print(f"round {round_}: {name} {seconds[name][-1]:.2f} s", flush=True)
    print("\n| SDK | files | median s | files/s |\n|---|---:|---:|---:|")
    for name, values in seconds.items():
        median = statistics.median(values)
        print(f"| {name} | {args.files:,} | {median:.2f} | {args.files / median:,.0f} |")
    if args.before:
        ratio = statistics.median(seconds["before"]) / statistics.median(seconds["this checkout"])
        print(f"\nthis checkout is {ratio:.2f}x as fast as before; {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
