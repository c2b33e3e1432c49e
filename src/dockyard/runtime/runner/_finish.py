"""After the user's code: keep what it made (a training job's model), upload the log, write the
final status."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dockyard.api.jobs import close_folder
from dockyard.client.http import Client, SocketTransport, routes
from dockyard.errors import Conflict
from dockyard.runtime.runner._files import copy_tree
from dockyard.runtime.runner._prepare import SOURCE_FILES, save_checkpoints

if TYPE_CHECKING:
    from dockyard.api.jobs import JobDir
    from dockyard.runtime.runner._runner import Runner

__all__ = ["finish", "keep_outputs"]

_FINAL = {
    "ok": "Completed",
    "stopped": "Stopped",
    "runtime": "MaxRuntimeExceeded",
    "memory": "Failed",
    "failed": "Failed",
}


def _client(server: str, token: str | None) -> Client:
    # Plain sockets: the runner's process imports no HTTP library (see
    # dockyard.client.http._sockets).
    return Client(server, token=token, transport=SocketTransport())


def _put_file(server: str, run_id: str, artifact_path: str, file: Path, token: str | None) -> None:
    """Upload ``file`` into the run's artifacts at ``artifact_path``."""
    call = routes.PUT_ARTIFACT(run_id=run_id, path=artifact_path)
    with _client(server, token) as client:
        client.send(
            call.method, call.path, body=file, headers={"content-type": "application/octet-stream"}
        )


def _upload_tree(server: str, run_id: str, folder: Path, prefix: str, token: str | None) -> int:
    count = 0
    for file in sorted(p for p in folder.rglob("*") if p.is_file()):
        path = f"{prefix}/{file.relative_to(folder).as_posix()}"
        _put_file(server, run_id, path, file, token)
        count += 1
    return count


@contextlib.contextmanager
def _snapshot(folder: Path, jd: JobDir) -> Iterator[Path]:
    """A private copy of a folder the job wrote, with none of the links it may have left
    there followed (``_files``): everything the runner reads or uploads comes from one."""
    with tempfile.TemporaryDirectory(prefix="snapshot-", dir=jd.control) as tmp:
        copy_tree(folder, Path(tmp))
        yield Path(tmp)


def _package(runner: Runner, dest: Path) -> None:
    """Wrap a native model into a package in ``dest``, in a process of the job's own: loading
    it unpickles what the job wrote, which must not run with the runner's rights.

    A script-mode job's entry point and source files go along (as a list on stdin): a script
    defining SageMaker inference handlers is kept in the package to serve through them."""
    jd = runner.dir
    command = [sys.executable, "-m", "dockyard.runtime.runner._packaging", str(jd.model), str(dest)]
    listing = jd.control / SOURCE_FILES
    entry_point = runner.spec.get("entry_point")
    files = b""
    if entry_point and listing.is_file():
        command += ["--code", str(jd.code), "--entry-point", str(entry_point)]
        files = listing.read_bytes()
    done = subprocess.run(
        command, cwd=jd.tmp, input=files, capture_output=True, check=False, **runner.job_process()
    )
    if done.returncode != 0:
        lines = done.stderr.decode(errors="replace").strip().splitlines()
        raise RuntimeError(lines[-1] if lines else f"packaging exited with {done.returncode}")


_RECOGNISED = (
    "an MLmodel package, xgboost-model, *.joblib, *.pkl, *.pickle, XGBoost *.ubj / *.json, "
    "LightGBM *.txt / *.lgb or *.onnx"
)


def _upload_model(
    runner: Runner, server: str, run_id: str, token: str | None
) -> tuple[str | None, str]:
    """Upload the model folder; returns the package's URI (None when it was kept as plain
    files under ``model-files/``) and, then, a sentence saying why."""
    jd = runner.dir
    with _snapshot(jd.model, jd) as saved:
        if not any(saved.iterdir()):
            return None, ""
        if (saved / "MLmodel").is_file():
            _upload_tree(server, run_id, saved, "model", token)
            return f"runs:/{run_id}/model", ""
        wrapped = jd.tmp / f"dockyard-package-{uuid.uuid4().hex}"
        try:
            _package(runner, wrapped)
        except RuntimeError as exc:
            why = f"it could not be made a model package: {exc}"
        else:
            with _snapshot(wrapped, jd) as package:
                if (package / "MLmodel").is_file():
                    _upload_tree(server, run_id, package, "model", token)
                    return f"runs:/{run_id}/model", ""
            why = f"it holds no model file Dockyard recognises ({_RECOGNISED})"
        # Never lost: what the job saved is kept as it is, with the reason in its log.
        _upload_tree(server, run_id, saved, "model-files", token)
    note = f"the model folder was kept as plain files under model-files/: {why}"
    with jd.log.open("ab") as log:
        log.write(f"[dockyard] {note}\n".encode())
    return None, note


def _register(server: str, run_id: str, model_uri: str, name: str, token: str | None) -> str:
    """Register the job's model as the next version of ``name``; returns its models:/ URI."""
    with _client(server, token) as client:
        # Retried through a server restart: a job that ran for hours should not lose its model
        # to a moment the server was away.
        with contextlib.suppress(Conflict):  # the model exists, which is what we want
            client.call(routes.CREATE_REGISTERED_MODEL(), {"name": name}, retry=True)
        version = client.call(
            routes.CREATE_MODEL_VERSION(name=name),
            {"source": model_uri, "run_id": run_id},
            retry=True,
        )
    return f"models:/{name}/{version['version']}"


def keep_outputs(runner: Runner, extra: dict[str, Any], message: str) -> str:
    """A successful training job's model, outputs and registration; returns the message."""
    jd, spec, job = runner.dir, runner.spec, runner.job
    run_id = job.get("run_id")
    server = job.get("server_url")
    token = job.get("token")
    if not (server and run_id):
        return message
    runner.events.emit("Uploading")
    extra["model_uri"], note = _upload_model(runner, server, run_id, token)
    message = note or message
    if jd.output_data.exists():
        with _snapshot(jd.output_data, jd) as output:
            _upload_tree(server, run_id, output, "output", token)
    register_as = (spec.get("output") or {}).get("register_as")
    if register_as and extra["model_uri"]:
        registered = _register(server, run_id, extra["model_uri"], register_as, token)
        message = f"registered as {registered}"
    elif register_as:
        raise RuntimeError(
            f"register_as={register_as!r} was asked, but the job saved no model "
            f"Dockyard recognises in SM_MODEL_DIR ({note or 'it is empty'})"
        )
    return message


def finish(runner: Runner, kind: str, message: str, exit_code: int | None) -> int:
    """Write the job's final event; returns the runner's exit code."""
    jd, spec, job = runner.dir, runner.spec, runner.job
    extra: dict[str, Any] = {}
    if exit_code is not None:
        extra["exit_code"] = exit_code
    try:
        save_checkpoints(jd, spec, job)
    except Exception as exc:
        message = f"{message}\n(checkpoint sync failed: {exc})".strip()
    if runner.metrics is not None:
        try:
            runner.metrics.flush()
        except Exception as exc:
            message = f"{message}\n(some metrics were not logged: {exc})".strip()
    run_id = job.get("run_id")
    server = job.get("server_url")
    token = job.get("token")
    if kind == "ok":
        try:
            message = runner.work.complete(extra, message)
        except Exception as exc:
            kind, message = "failed", f"uploading the job's outputs failed: {exc}"
    if server and run_id and jd.log.exists():
        # The log stays in the job folder if the upload fails.
        with contextlib.suppress(Exception):
            _put_file(server, run_id, "logs/output.log", jd.log, token)
    if kind in ("failed", "memory"):
        extra["failure_reason"] = message
    shutil.rmtree(jd.data, ignore_errors=True)  # inputs are copies; the job folder stays small
    if runner.user is not None:
        close_folder(jd)  # the next job runs as the same user: it must not read this one
    runner.events.emit(_FINAL[kind], message, **extra)
    return 0 if kind == "ok" else 1
