"""SDK calls that move data: artifacts, dataset inputs, run search as a DataFrame."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dockyard.api.tracking import LogInputs, Run, SearchRuns, ViewType
from dockyard.client.http import from_answer, routes
from dockyard.client.sdk._context import context
from dockyard.client.sdk._fluent import _current_run
from dockyard.client.sdk._requests import build_request
from dockyard.errors import InvalidArgument

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "download_artifacts",
    "list_artifacts",
    "log_artifact",
    "log_artifacts",
    "log_input",
    "search_runs",
]


def _artifact_url(run_id: str, path: str) -> str:
    return routes.GET_ARTIFACT(run_id=run_id, path=path).path


def log_artifact(local_path: str | Path, artifact_path: str | None = None) -> None:
    """Upload one local file into the active run's artifacts (under ``artifact_path``)."""
    path = Path(local_path)
    if not path.is_file():
        raise InvalidArgument(f"{path} is not a file", field="local_path")
    dest = f"{artifact_path.strip('/')}/{path.name}" if artifact_path else path.name
    run_id = _current_run()
    with path.open("rb") as handle:
        context().client.request("PUT", _artifact_url(run_id, dest), content=handle, retry=True)


def log_artifacts(local_dir: str | Path, artifact_path: str | None = None) -> None:
    """Upload every file under a local folder, keeping its layout."""
    root = Path(local_dir)
    if not root.is_dir():
        raise InvalidArgument(f"{root} is not a folder", field="local_dir")
    for file in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = file.relative_to(root).parent.as_posix()
        parts = [p for p in (artifact_path and artifact_path.strip("/"), rel) if p and p != "."]
        log_artifact(file, "/".join(parts) or None)


def list_artifacts(run_id: str, path: str = "", *, recursive: bool = False) -> list[dict[str, Any]]:
    """Files and folders in a run's artifacts."""
    body = context().client.call(
        routes.LIST_ARTIFACTS(run_id=run_id), params={"path": path, "recursive": recursive}
    )
    return list(body["files"])


def download_artifacts(run_id: str, path: str, dst: str | Path) -> Path:
    """Download a run's artifact file or folder into ``dst``; returns the local path."""
    client = context().client
    dst = Path(dst)
    files = list_artifacts(run_id, path, recursive=True)
    targets: Iterable[str] = [f["path"] for f in files if not f["is_dir"]] or [path]
    base = path.strip("/")
    for rel in targets:
        local = dst / (rel[len(base) :].lstrip("/") if files and base else rel)
        if not files:
            local = dst / Path(rel).name
        local.parent.mkdir(parents=True, exist_ok=True)
        with client.stream("GET", _artifact_url(run_id, rel)) as response, local.open("wb") as out:
            for chunk in response.iter_bytes(1024 * 1024):
                out.write(chunk)
    return dst if files else dst / Path(path).name


def _frame_digest_and_schema(frame: pd.DataFrame) -> tuple[str, str]:
    import pandas as pd

    hashed = pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes()
    digest = hashlib.sha256(hashed).hexdigest()[:16]
    schema = {"columns": [{"name": str(c), "type": str(t)} for c, t in frame.dtypes.items()]}
    return digest, json.dumps(schema)


def log_input(
    data: Any,
    *,
    name: str | None = None,
    source: str = "",
    context_name: str | None = None,
    digest: str | None = None,
) -> None:
    """Record a dataset the active run consumed.

    ``data`` may be a pandas DataFrame or numpy array (digest and schema are computed from its
    content) or a path/URI string (the digest is then the file's sha256 when it is a local file).
    ``context_name`` says how it was used ("training", "validation", ...).
    """
    import numpy as np
    import pandas as pd

    schema: str | None = None
    source_type = "code"
    if isinstance(data, np.ndarray):
        data = pd.DataFrame(data.reshape(len(data), -1))
    if isinstance(data, pd.DataFrame):
        computed, schema = _frame_digest_and_schema(data)
        profile = json.dumps({"num_rows": len(data), "num_columns": data.shape[1]})
    elif isinstance(data, (str, Path)):
        source, source_type, profile = str(data), "local", None
        file = Path(data)
        if file.is_file():
            sha = hashlib.sha256()
            with file.open("rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    sha.update(block)
            computed = sha.hexdigest()[:16]
        else:
            source_type = str(data).split("://", 1)[0] if "://" in str(data) else "local"
            computed = hashlib.sha256(str(data).encode()).hexdigest()[:16]
    else:
        raise InvalidArgument(
            f"log_input takes a DataFrame, an array or a path, not {type(data).__name__}",
            field="data",
        )
    tags = {"mlflow.data.context": context_name} if context_name else {}
    dataset = {
        "name": name or "dataset",
        "digest": digest or computed,
        "source_type": source_type,
        "source": json.dumps({"uri": source}) if source else "{}",
        "schema": schema,
        "profile": profile,
    }
    body = build_request(LogInputs, datasets=[{"dataset": dataset, "tags": tags}])
    context().client.call(routes.LOG_INPUTS(run_id=_current_run()), body)


def search_runs(
    experiment_ids: Sequence[str] | None = None,
    filter_string: str = "",
    *,
    experiment_names: Sequence[str] | None = None,
    order_by: Sequence[str] | None = None,
    max_results: int = 100_000,
    run_view_type: ViewType | str = ViewType.ACTIVE_ONLY,
    output_format: str = "pandas",
) -> Any:
    """Search runs and return a DataFrame (one row per run) or, with ``output_format="list"``,
    a list of :class:`~dockyard.server.tracking.Run`.

    Columns follow MLflow: ``run_id``, ``experiment_id``, ``status``, ``start_time``...,
    ``metrics.<key>``, ``params.<key>``, ``tags.<key>``.
    """
    if output_format not in ("pandas", "list"):
        # As MLflow refuses it: another word would have been a DataFrame, silently.
        raise InvalidArgument(
            f"output_format must be 'pandas' or 'list', not {output_format!r}",
            field="output_format",
        )
    client = context().client
    ids = _names("experiment_ids", experiment_ids)
    if type(max_results) is not int or max_results < 1:
        raise InvalidArgument(
            f"max_results must be a positive integer, not {max_results!r}", field="max_results"
        )
    for name in _names("experiment_names", experiment_names):
        ids.append(client.call(routes.GET_EXPERIMENT_BY_NAME(name=name))["experiment_id"])
    if not ids:
        ids = [context().experiment_id or "0"]
    runs: list[Run] = []
    token: str | None = None
    while len(runs) < max_results:
        body = build_request(
            SearchRuns,
            experiment_ids=ids,
            filter=filter_string,
            order_by=_names("order_by", order_by),
            run_view_type=ViewType(run_view_type),
            max_results=min(max_results - len(runs), 10_000),
            page_token=token,
        )
        page = client.call(routes.SEARCH_RUNS(), body)
        runs.extend(from_answer(Run, r) for r in page["runs"])
        token = page.get("next_page_token")
        if not token:
            break
    if output_format == "list":
        return runs
    return runs_frame(runs)


def _names(field: str, given: Sequence[str] | None) -> list[str]:
    """A list of strings; one string is a list of one (not of its characters)."""
    if given is None:
        return []
    if isinstance(given, str):
        return [given]
    items = list(given) if isinstance(given, Iterable) else None
    if items is not None and all(isinstance(item, str) for item in items):
        return items
    raise InvalidArgument(f"{field} must be a list of strings, not {given!r}", field=field)


def runs_frame(runs: Sequence[Run]) -> pd.DataFrame:
    """Runs as a DataFrame with MLflow's column names."""
    import pandas as pd

    rows = []
    for run in runs:
        info = run.info
        row: dict[str, Any] = {
            "run_id": info.run_id,
            "run_name": info.run_name,
            "experiment_id": info.experiment_id,
            "status": info.status.value,
            "artifact_uri": info.artifact_uri,
            "start_time": pd.to_datetime(info.start_time, unit="ms", utc=True),
            "end_time": pd.to_datetime(info.end_time, unit="ms", utc=True)
            if info.end_time
            else pd.NaT,
            "parent_run_id": info.parent_run_id,
        }
        row.update({f"metrics.{k}": m.value for k, m in run.metrics.items()})
        row.update({f"params.{k}": v for k, v in run.params.items()})
        row.update({f"tags.{k}": v for k, v in run.tags.items()})
        rows.append(row)
    return pd.DataFrame(rows)
