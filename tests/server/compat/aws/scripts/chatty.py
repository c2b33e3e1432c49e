"""Prints numbered lines in two halves: the second once the file --release names exists."""

import argparse
import time
from pathlib import Path

parser = argparse.ArgumentParser()
parser.add_argument("--lines", type=int, default=10)
parser.add_argument("--release", default="")
args, _ = parser.parse_known_args()
half = args.lines // 2
for i in range(half):
    print(f"line {i} {'ERROR disk' if i % 3 == 0 else 'ok'}", flush=True)
if args.release:
    release = Path(args.release)
    deadline = time.monotonic() + 60
    while not release.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
for i in range(half, args.lines):
    print(f"line {i} {'ERROR disk' if i % 3 == 0 else 'ok'}", flush=True)
print("no newline at the end", end="", flush=True)
