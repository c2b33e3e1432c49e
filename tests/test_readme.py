"""The README's spec examples stay true: they validate, and the transform spec shows every field."""

from __future__ import annotations

import itertools
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from dockyard.api.jobs import TransformJobSpec
from dockyard.api.jobs._spec import TrainingJobSpec

README = Path(__file__).parents[1] / "README.md"


def _yaml_after(marker: str) -> Any:
    text = README.read_text()
    start = text.index(marker)
    block = re.search(r"```yaml\n(.*?)```", text[start:], re.S)
    assert block is not None, f"no YAML block after {marker!r}"
    return yaml.safe_load(block.group(1))


def _fields(model: type[BaseModel], prefix: str = "") -> set[str]:
    names = set()
    for name, info in model.model_fields.items():
        names.add(prefix + name)
        kind = info.annotation
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            names |= _fields(kind, f"{prefix}{name}.")
    return names


def _keys(data: dict[str, Any], prefix: str = "") -> set[str]:
    keys = set()
    for key, value in data.items():
        keys.add(prefix + key)
        if isinstance(value, dict) and key != "tags":
            keys |= _keys(value, f"{prefix}{key}.")
    return keys


def test_the_transform_spec_example_validates_and_shows_every_field() -> None:
    example = _yaml_after("A transform spec file")
    TransformJobSpec.model_validate(example)
    assert _keys(example) == _fields(TransformJobSpec)


def test_the_job_spec_example_validates() -> None:
    TrainingJobSpec.model_validate(_yaml_after("A job spec file"))


def _pipelines_section() -> str:
    text = README.read_text()
    start = text.index("### Pipelines")
    return text[start : text.index("\n### ", start + 1)]


def test_the_pipeline_example_runs_as_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Python example imports what it uses and builds a definition the server accepts."""
    import dockyard as dy
    from dockyard.asl import validate

    block = re.search(r"```python\n(.*?)```", _pipelines_section(), re.S)
    assert block is not None
    code = block.group(1)
    assert "import dockyard as dy" in code
    (tmp_path / "job.yaml").write_text("name: retrain\n")
    monkeypatch.chdir(tmp_path)
    runs: list[Any] = []
    monkeypatch.setattr(dy.Pipeline, "run", lambda self, *args, **kwargs: runs.append(args))
    namespace: dict[str, Any] = {}
    exec(compile(code, "README.md", "exec"), namespace)
    assert validate(namespace["pipeline"].definition()) == []
    assert runs == [({"data": "s3://lake/new/"},)]


def test_the_pipeline_example_gates_on_a_metric_its_training_job_reports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Choice reads a metric the Train step's answer holds for the Jobs section's spec (the
    built-in XGBoost with a validation channel); a path to a metric no job reports fails the
    execution at the Choice with States.Runtime."""
    import dockyard as dy
    from dockyard.algorithms._metrics import format_xgboost_line, parse_xgboost_line
    from dockyard.asl.paths import find

    spec = _yaml_after("A job spec file")
    assert spec["algorithm"] == "xgboost" and "validation" in spec["inputs"]
    line = format_xgboost_line(9, [("train", "rmse", 0.5), ("validation", "rmse", 0.7)])
    parsed = parse_xgboost_line(line)
    assert parsed is not None
    answer = {"train": {"status": "Completed", "metrics": parsed.values}}

    block = re.search(r"```python\n(.*?)```", _pipelines_section(), re.S)
    assert block is not None
    (tmp_path / "job.yaml").write_text(yaml.safe_dump(spec))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(dy.Pipeline, "run", lambda self, *args, **kwargs: None)
    namespace: dict[str, Any] = {}
    exec(compile(block.group(1), "README.md", "exec"), namespace)
    states = namespace["pipeline"].definition()["States"]
    variables = [
        choice["Variable"]
        for state in states.values()
        if state["Type"] == "Choice"
        for choice in state["Choices"]
    ]
    assert variables
    for variable in variables:
        assert find(variable, answer) == 0.7, variable


def test_the_pipeline_steps_listed_exist_and_functions_are_explained() -> None:
    from dockyard import steps

    section = _pipelines_section()
    listed = set(re.findall(r"`(\w+)\(name", section))
    assert {"Fail", "Wait", "Task", "Function", "WaitForCallback", "Parallel", "Map"} <= listed
    assert all(hasattr(steps, name) for name in listed), listed - set(dir(steps))
    assert "dy.Catch(then" in section
    for claim in ("importable by the server process", "`fn(event)`", "`fn(event, context)`"):
        assert claim in section


def test_the_training_example_sets_the_alias_it_loads_before_loading_it() -> None:
    text = README.read_text()
    start = text.index("### Training, registry and batch scoring")
    block = re.search(r"```python\n(.*?)```", text[start:], re.S)
    assert block is not None
    code = block.group(1)
    for match in re.finditer(r"models:/([\w-]+)@(\w+)", code):
        name, alias = match.groups()
        where = code.find(f"models alias {name} {alias} ")
        assert 0 <= where < match.start(), f"{match.group(0)} is used before it is set"


def _layout_block() -> list[str]:
    text = README.read_text()
    start = text.index("## Layout")
    block = re.search(r"```\n(src/dockyard/.*?)```", text[start:], re.S)
    assert block is not None, "no layout block under ## Layout"
    return block.group(1).splitlines()


def test_the_layout_names_every_module_and_package_of_the_tree() -> None:
    # src/dockyard's own entries start lines indented by two spaces (several may share a line,
    # comma-separated); a package's sub-packages are named as ``name/`` in its part of the block.
    lines = _layout_block()
    named: set[str] = set()
    for line in lines:
        if len(line) - len(line.lstrip(" ")) == 2:
            tokens = line.split()
            named.add(tokens[0].rstrip(","))
            for before, token in itertools.pairwise(tokens):
                if not before.endswith(","):
                    break
                named.add(token.rstrip(","))
    source = Path(__file__).parents[1] / "src" / "dockyard"
    skip = {"__init__.py", "__main__.py", "py.typed", "__pycache__"}
    top = {p.name + ("/" if p.is_dir() else "") for p in source.iterdir() if p.name not in skip}
    assert top - named == set(), "src/dockyard entries missing from the README's layout"
    assert named - top == set(), "the README's layout names entries src/dockyard lacks"
    text = "\n".join(lines)
    for package in ("server", "runtime", "client"):
        for sub in (source / package).iterdir():
            if sub.is_dir() and sub.name != "__pycache__":
                assert f"{sub.name}/" in text, f"{package}/{sub.name} is not in the layout"
