"""A script whose behaviour the tests choose with --mode (a stand-in for user code)."""

import argparse
import json
import os
import signal
import sys
import time
from pathlib import Path

parser = argparse.ArgumentParser()
parser.add_argument("--mode", default="ok")
parser.add_argument("--seconds", type=float, default=0.0)
parser.add_argument("--release", default="")
parser.add_argument("--paths", default="")
args, _ = parser.parse_known_args()
model_dir = Path(os.environ["SM_MODEL_DIR"])
output = Path(os.environ["SM_OUTPUT_DIR"])
checkpoints = Path(os.environ["SM_CHECKPOINT_DIR"])

print(f"mode={args.mode} started", flush=True)
if args.mode == "ok":
    time.sleep(args.seconds)
    (model_dir / "notes.txt").write_text("not a model format")
elif args.mode == "failure-file":
    (output / "failure").write_text("Input data had 3 columns, expected 4 (line 17)")
    sys.exit(3)
elif args.mode == "crash":
    print("about to divide", flush=True)
    print(1 / 0)
elif args.mode == "memory":
    hog = [bytearray(50 * 1024 * 1024) for _ in range(20)]
    time.sleep(30)
elif args.mode == "sleep":

    def on_term(signum, frame):
        print("got SIGTERM, saving and exiting", flush=True)
        sys.exit(0)

    signal.signal(signal.SIGTERM, on_term)
    for _ in range(int(args.seconds * 10)):
        time.sleep(0.1)
    print("woke up", flush=True)
elif args.mode == "flaky":
    marker = checkpoints / "attempts.txt"
    attempts = int(marker.read_text()) if marker.exists() else 0
    marker.write_text(str(attempts + 1))
    print(f"attempt {attempts + 1}, checkpoint saw {attempts}", flush=True)
    if attempts == 0:
        sys.exit(1)
elif args.mode == "checkpointing":
    for step in range(int(args.seconds * 10)):
        (checkpoints / "step.txt").write_text(str(step))
        time.sleep(0.1)
elif args.mode == "sdk-wait":
    # Logs to the job's run through the SDK (which ends it at exit), then waits to be released.
    import dockyard as dy

    dy.log_metric("progress", 1.0)
    print(f"pid={os.getpid()}", flush=True)
    release = Path(args.release)
    deadline = time.monotonic() + 60
    while not release.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
elif args.mode == "env":
    print("ENV=" + json.dumps(dict(os.environ)), flush=True)
elif args.mode == "prying":
    # Tries to read what is not its own (paths given by the test), then does its own work.
    tried = {}
    for path in args.paths.split(","):
        try:
            if os.path.isdir(path):
                os.listdir(path)
            else:
                with open(path, "rb") as handle:
                    handle.read(1)
            tried[path] = "read"
        except OSError as exc:
            tried[path] = type(exc).__name__
    (model_dir / "notes.txt").write_text("written by the job")
    (model_dir / "leak.txt").symlink_to("/etc/shadow")
    (output / "data").mkdir(parents=True, exist_ok=True)
    (output / "data" / "leak.txt").symlink_to("/etc/shadow")
    (output / "data" / "result.txt").write_text("fine")
    print("PRYING=" + json.dumps({"uid": os.getuid(), "tried": tried}), flush=True)
elif args.mode == "opt-ml":
    # Works through /opt/ml as SageMaker scripts do, and says whose process it is.
    Path("/opt/ml/model/from-opt-ml.txt").write_text("written through /opt/ml")
    report = {
        "uid": os.getuid(),
        "same_model_dir": os.path.samefile("/opt/ml/model", model_dir),
        "hyperparameters": json.loads(
            Path("/opt/ml/input/config/hyperparameters.json").read_text()
        ),
    }
    print("OPTML=" + json.dumps(report), flush=True)
elif args.mode in ("mlflow", "mlflow-then-fail"):
    # An MLflow training script as it is, with no tracking URI or run of its own.
    import mlflow

    with mlflow.start_run() as run:
        mlflow.log_param("lr", 0.1)
        for step in range(3):
            mlflow.log_metric("loss", 1 / (step + 1), step=step)
        mlflow.log_text("hello", "notes/hi.txt")
    print(f"mlflow run={run.info.run_id}", flush=True)
    if args.mode == "mlflow-then-fail":
        sys.exit(4)  # after mlflow ended the run FINISHED: the job's status is the run's
elif args.mode == "tamper":
    # Writes to every file it was given: its channel's files and its own code.
    for file in sorted(Path(os.environ["SM_CHANNEL_TRAIN"]).rglob("*")):
        if file.is_file():
            with file.open("a") as handle:
                handle.write("tampered\n")
    with open(__file__, "a") as handle:
        handle.write("# tampered\n")
print("done", flush=True)
