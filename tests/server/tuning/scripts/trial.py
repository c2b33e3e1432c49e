"""A trial's training script whose loss the tests know: (x - 0.3)^2 + (depth - 4)^2 / 100,
plus 1 for kind "bad", reported at steps 0..4 (step s adds 1 / (s + 1)).

--report regex  prints "step=<s> loss=<v>" for MetricDefinitions; sdk: dy.log_metric.
--hold          "bad" trials, after their steps, wait to be stopped (SIGTERM).
--fail_once DIR a trial fails the first time it runs with its x (a marker file per x).
--gate DIR      each trial waits for DIR/open before it starts (a restart test holds them).
"""

import argparse
import os
import signal
import sys
import time
from pathlib import Path

parser = argparse.ArgumentParser()
parser.add_argument("--x", type=float, default=0.0)
parser.add_argument("--depth", type=int, default=4)
parser.add_argument("--kind", default="good")
parser.add_argument("--report", default="regex")
parser.add_argument("--hold", default="")
parser.add_argument("--fail_once", default="")
parser.add_argument("--gate", default="")
args, _ = parser.parse_known_args()

if args.gate:
    Path(args.gate, f"started-{os.environ['TRAINING_JOB_NAME']}").touch()
    while not Path(args.gate, "open").exists():
        time.sleep(0.05)
if args.fail_once:
    marker = Path(args.fail_once) / f"x-{args.x!r}"
    if not marker.exists():
        marker.touch()
        print("failing on purpose, once", flush=True)
        sys.exit(2)

loss = (args.x - 0.3) ** 2 + (args.depth - 4) ** 2 / 100 + (1.0 if args.kind == "bad" else 0.0)
if args.report == "sdk":
    import dockyard as dy

for step in range(5):
    value = loss + 1 / (step + 1)
    if args.report == "sdk":
        dy.log_metric("loss", value, step=step)
    else:
        print(f"step={step} loss={value}", flush=True)
if args.kind == "bad" and args.hold:

    def on_term(signum, frame):
        print("got SIGTERM, checkpoint kept", flush=True)
        sys.exit(0)

    signal.signal(signal.SIGTERM, on_term)
    time.sleep(120)
