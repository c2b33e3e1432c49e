"""Batch transform through a script's SageMaker inference handlers (worker processes)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.datasets import load_iris
from tests.models.test_sagemaker_script import SCRIPTS, train

from dockyard.api.batch import TransformSpec
from dockyard.errors import DockyardError
from dockyard.runtime.batch import TransformResult
from dockyard.runtime.runner._packaging import package_model

Run = Callable[..., TransformResult]
IRIS = load_iris()

SCORER = """
import json


def model_fn(model_dir):
    with open(model_dir + "/weights.json") as handle:
        return json.load(handle)


def transform_fn(model, body, content_type, accept):
    out = []
    for line in body.strip().splitlines():
        values = [float(v) for v in line.split(",")]
        if values[0] < 0:
            raise ValueError(f"negative first value {values[0]}")
        out.append(json.dumps({"score": sum(w * v for w, v in zip(model, values))}))
    return "\\n".join(out) + "\\n", "application/jsonlines"
"""


@pytest.fixture(scope="module")
def iris(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("iris")
    model_dir = train(SCRIPTS / "iris", "iris_tree.py", work)
    package_model(model_dir, work / "pkg", code_dir=SCRIPTS / "iris", entry_point="iris_tree.py")
    return work / "pkg"


@pytest.fixture(scope="module")
def scorer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("scorer")
    (work / "code").mkdir()
    (work / "code" / "score.py").write_text(SCORER)
    (work / "model").mkdir()
    (work / "model" / "weights.json").write_text("[1.0, 10.0]")
    package_model(work / "model", work / "pkg", code_dir=work / "code", entry_point="score.py")
    return work / "pkg"


def _spec(model: Path, source: Path, out: Path, **fields: Any) -> TransformSpec:
    inputs = {"uri": str(source), "content_type": "text/csv"}
    outputs = {"uri": str(out), **fields.pop("output", {})}
    return TransformSpec(model_uri=str(model), input=inputs, output=outputs, **fields)


def test_default_handlers_score_headerless_csv(iris: Path, tmp_path: Path, transform: Run) -> None:
    rows = IRIS.data[::10]
    (tmp_path / "in").mkdir()
    np.savetxt(tmp_path / "in" / "flowers.csv", rows, delimiter=",", fmt="%g")
    result = transform(
        _spec(iris, tmp_path / "in", tmp_path / "out", output={"accept": "text/csv"})
    )
    assert result.records == len(rows)  # the first line is a flower, not a header
    lines = (tmp_path / "out" / "flowers.csv.out").read_text().splitlines()
    assert [int(v) for v in lines] == IRIS.target[::10].tolist()


def test_bad_records_are_isolated_by_splitting_mini_batches(
    scorer: Path, tmp_path: Path, transform: Run
) -> None:
    lines = [f"{i},{i / 10}" for i in range(20)]
    lines[7] = "-1,0"
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "x.csv").write_text("\n".join(lines) + "\n")
    spec = _spec(
        scorer,
        tmp_path / "in",
        tmp_path / "out",
        output={"accept": "application/jsonlines"},
        bad_records={"on_error": "skip"},
    )
    result = transform(spec)
    assert (result.records, result.bad_records) == (19, 1)
    (bad,) = result.reported_bad_records
    assert bad.line == 8
    assert "transform_fn failed: ValueError: negative first value -1.0" in bad.reason
    out = (tmp_path / "out" / "x.csv.out").read_text().splitlines()
    expected = [i + i for i in range(20) if i != 7]
    np.testing.assert_allclose([json.loads(v)["score"] for v in out], expected)


def test_filters_and_joins_are_refused_naming_the_field_on_json_lines(
    scorer: Path, tmp_path: Path, transform: Run
) -> None:
    """Only the handlers know how to read JSON records and their answers."""
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "x.jsonl").write_text("[1, 2]\n")
    spec = TransformSpec(
        model_uri=str(scorer),
        input={"uri": str(tmp_path / "in"), "content_type": "application/jsonlines"},
        output={"uri": str(tmp_path / "out"), "accept": "application/jsonlines"},
        data_processing={"join_source": "Input"},
    )
    with pytest.raises(DockyardError, match=r"join_source=Input is supported .* text/csv"):
        transform(spec)


def labelled_flowers(folder: Path) -> tuple[np.ndarray, list[str]]:
    """Iris rows with their label first, as SageMaker's examples keep a CSV."""
    rows = np.column_stack([IRIS.target[::10], IRIS.data[::10]])
    lines = [",".join(f"{v:g}" for v in row) for row in rows]
    (folder / "in").mkdir()
    (folder / "in" / "flowers.csv").write_text("\n".join(lines) + "\n")
    return rows, lines


def test_csv_records_are_filtered_and_joined_around_the_handlers(
    iris: Path, tmp_path: Path, transform: Run
) -> None:
    """What the SageMaker SDK's ``transform(input_filter="$[1:]", join_source="Input",
    output_filter="$[0,-1]")`` asks of a script-mode model: the label column is left out of what
    the handlers read, each answer line is joined to its whole record, then filtered."""
    rows, lines = labelled_flowers(tmp_path)
    joined = transform(
        _spec(
            iris,
            tmp_path / "in",
            tmp_path / "joined",
            output={"accept": "text/csv"},
            data_processing={"input_filter": "$[1:]", "join_source": "Input"},
        )
    )
    assert (joined.records, joined.bad_records) == (len(rows), 0)
    out = (tmp_path / "joined" / "flowers.csv.out").read_text().splitlines()
    assert out == [f"{line},{int(label)}" for line, label in zip(lines, rows[:, 0], strict=True)]
    picked = transform(
        _spec(
            iris,
            tmp_path / "in",
            tmp_path / "picked",
            output={"accept": "text/csv"},
            data_processing={
                "input_filter": "$[1:]",
                "join_source": "Input",
                "output_filter": "$[0,-1]",
            },
        ),
        work=tmp_path / "work-picked",
    )
    assert picked.records == len(rows)
    out = (tmp_path / "picked" / "flowers.csv.out").read_text().splitlines()
    assert out == [f"{int(label)},{int(label)}" for label in rows[:, 0]]  # the tree is right


ONE_LINE = """
import json


def model_fn(model_dir):
    return None


def transform_fn(model, body, content_type, accept):
    rows = body.strip().splitlines()
    return json.dumps([len(row.split(",")) for row in rows]) + "\\n", "text/csv"
"""


def test_a_join_needs_one_answer_line_per_record(tmp_path: Path, transform: Run) -> None:
    """An answer for a whole mini-batch on one line (a JSON list) cannot be paired with its
    records: the job says so rather than joining it to one of them."""
    labelled_flowers(tmp_path)
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "one_line.py").write_text(ONE_LINE)
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "weights.json").write_text("[]")
    package_model(
        tmp_path / "model", tmp_path / "pkg", code_dir=tmp_path / "code", entry_point="one_line.py"
    )
    spec = _spec(
        tmp_path / "pkg",
        tmp_path / "in",
        tmp_path / "out",
        output={"accept": "text/csv"},
        data_processing={"input_filter": "$[1:]", "join_source": "Input"},
    )
    with pytest.raises(DockyardError, match=r"answered 1 line\(s\) for 15 record\(s\)"):
        transform(spec)
