"""``dockyard monitor baseline|check``: SageMaker Model Monitor's files for local data, no server.

    dockyard monitor baseline train.csv --output baseline/
    dockyard monitor check capture/ --format capture --baseline baseline/ --output report/
    dockyard monitor check today.parquet --baseline baseline/ --output out/ --json

``baseline`` writes ``statistics.json`` and ``constraints.json``; ``check`` writes
``statistics.json``, ``constraint_violations.json``, ``drift.json`` and ``report.html``.
numpy and pyarrow are imported when a command runs, not when the CLI starts.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

import click

from dockyard.client.cli._output import emit, fail_on_error, json_option, table
from dockyard.errors import DockyardError, InvalidArgument

if TYPE_CHECKING:
    from dockyard.monitor import Dataset

__all__ = ["baseline", "check"]

_FORMATS = ("auto", "csv", "jsonl", "parquet", "capture")


def _data_options(func: Any) -> Any:
    func = click.option(
        "--capture-side",
        type=click.Choice(["input", "output", "both"]),
        default="input",
        show_default=True,
        help="capture: read requests, responses or both.",
    )(func)
    func = click.option(
        "--columns", default=None, help="Comma-separated names for headerless CSV columns."
    )(func)
    func = click.option(
        "--header/--no-header",
        default=None,
        help="CSV: the first line names the columns (default: sniffed).",
    )(func)
    func = click.option(
        "--format",
        "data_format",
        type=click.Choice(_FORMATS),
        default="auto",
        show_default=True,
        help="Data format (auto: from each file's extension).",
    )(func)
    return func


F = TypeVar("F", bound=Callable[..., Any])


def _names_data(func: F) -> F:
    """A problem the dataset's reader names by its field (``uris``) names the command's DATA
    argument instead: the user gave files, not a field."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except DockyardError as exc:
            if exc.field == "uris":
                exc.field = "DATA"
            raise

    return cast(F, wrapper)


def _dataset(
    data: tuple[str, ...],
    data_format: str,
    header: bool | None,
    columns: str | None,
    capture_side: str,
) -> Dataset:
    from dockyard.monitor import Dataset

    names = tuple(c.strip() for c in columns.split(",")) if columns else None
    return Dataset(
        uris=data,
        format=data_format,  # type: ignore[arg-type]
        header=header,
        columns=names,
        capture_side=capture_side,  # type: ignore[arg-type]
    )


@click.command()
@click.argument("data", nargs=-1, required=True)
@click.option(
    "--output",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for statistics.json and constraints.json.",
)
@_data_options
@click.option(
    "--categorical-max-distinct",
    type=int,
    default=20,
    show_default=True,
    help="String features with at most this many values get a domain constraint.",
)
@json_option
@fail_on_error
@_names_data
def baseline(
    data: tuple[str, ...],
    output: Path,
    data_format: str,
    header: bool | None,
    columns: str | None,
    capture_side: str,
    categorical_max_distinct: int,
    as_json: bool,
) -> None:
    """Profile DATA (files, folders, s3:// URIs) and suggest constraints."""
    from dockyard.monitor import BaselineOptions, suggest_baseline, write_baseline

    dataset = _dataset(data, data_format, header, columns, capture_side)
    found = suggest_baseline(
        dataset, BaselineOptions(categorical_max_distinct=categorical_max_distinct)
    )
    write_baseline(found, output)
    features = found.statistics["features"]
    summary = {
        "output": str(output),
        "rows": found.statistics["dataset"]["item_count"],
        "features": [_feature_row(f) for f in features],
    }
    emit(summary, as_json, lambda: _baseline_text(summary))


def _feature_row(feature: dict[str, Any]) -> dict[str, Any]:
    stats = feature.get("numerical_statistics") or feature.get("string_statistics") or {}
    common = stats.get("common", {})
    present, missing = common.get("num_present", 0), common.get("num_missing", 0)
    row = {
        "name": feature["name"],
        "inferred_type": feature["inferred_type"],
        "completeness": present / (present + missing) if present + missing else 0.0,
    }
    if "numerical_statistics" in feature:
        row |= {k: stats.get(k) for k in ("mean", "std_dev", "min", "max")}
    else:
        row["distinct_count"] = stats.get("distinct_count")
    return row


def _baseline_text(summary: dict[str, Any]) -> str:
    rows = [
        [
            f["name"],
            f["inferred_type"],
            f["completeness"],
            f.get("mean"),
            f.get("std_dev"),
            f.get("min"),
            f.get("max"),
            f.get("distinct_count"),
        ]
        for f in summary["features"]
    ]
    headers = ["feature", "type", "complete", "mean", "std", "min", "max", "distinct"]
    return (
        table(headers, rows)
        + f"\n\n{summary['rows']} rows; wrote statistics.json and constraints.json to "
        f"{summary['output']}"
    )


def _thresholds(values: tuple[str, ...]) -> dict[str, float]:
    found = {}
    for item in values:
        metric, sep, number = item.partition("=")
        try:
            if not sep:
                raise ValueError
            found[metric.strip()] = float(number)
        except ValueError:
            raise InvalidArgument(
                f"--threshold takes METRIC=NUMBER (like psi=0.25), got {item!r}",
                field="threshold",
            ) from None
    return found


@click.command()
@click.argument("data", nargs=-1, required=True)
@click.option(
    "--baseline",
    "baseline_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder holding statistics.json and constraints.json.",
)
@click.option(
    "--output",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for statistics.json, constraint_violations.json, drift.json, report.html.",
)
@_data_options
@click.option(
    "--drift-metric",
    type=click.Choice(["distance", "psi", "js", "ks", "wasserstein", "chi_square"]),
    default="distance",
    show_default=True,
    help="The statistic that decides baseline_drift_check.",
)
@click.option(
    "--threshold",
    "thresholds",
    multiple=True,
    metavar="METRIC=NUMBER",
    help="A drift threshold (repeatable), e.g. psi=0.25.",
)
@click.option(
    "--fail-on-violation", is_flag=True, help="Exit with status 3 when anything is violated."
)
@json_option
@fail_on_error
@_names_data
def check(
    data: tuple[str, ...],
    baseline_dir: Path,
    output: Path,
    data_format: str,
    header: bool | None,
    columns: str | None,
    capture_side: str,
    drift_metric: str,
    thresholds: tuple[str, ...],
    fail_on_violation: bool,
    as_json: bool,
) -> None:
    """Check DATA against a baseline: violations, drift and an HTML report."""
    from dockyard.monitor import CheckOptions, read_baseline, write_check
    from dockyard.monitor import check as run_check

    options = CheckOptions(drift_metric=drift_metric, thresholds=_thresholds(thresholds))
    known = read_baseline(baseline_dir)
    result = run_check(_dataset(data, data_format, header, columns, capture_side), known, options)
    write_check(result, known, output)
    summary = {
        **result.to_summary(),
        "output": str(output),
        "violation_list": result.violations["violations"],
        "drift": [d.to_dict() for d in result.drift],
    }
    emit(summary, as_json, lambda: _check_text(summary))
    if fail_on_violation and summary["violations"]:
        raise SystemExit(3)


def _check_text(summary: dict[str, Any]) -> str:
    parts = [f"{summary['rows']} rows checked; {summary['violations']} violation(s)"]
    if summary["violation_list"]:
        # Descriptions are sentences: one line each rather than a table that cuts them.
        parts.append(
            "\n".join(
                f"{v['feature_name']}  {v['constraint_check_type']}: {v['description']}"
                for v in summary["violation_list"]
            )
        )
    drift_rows = [
        [
            d["feature"],
            d["kind"],
            d["distance"],
            d["psi"],
            d["js"],
            d["ks"],
            d["wasserstein"],
            d["chi_square_p"],
            "DRIFT" if d["drifted"] else "ok",
        ]
        for d in summary["drift"]
    ]
    if drift_rows:
        headers = ["feature", "kind", "distance", "psi", "js", "ks", "wasserstein", "chi2 p", ""]
        parts.append(table(headers, drift_rows))
    parts.append(
        f"wrote statistics.json, constraint_violations.json, drift.json, report.html to "
        f"{summary['output']}"
    )
    return "\n\n".join(parts)
