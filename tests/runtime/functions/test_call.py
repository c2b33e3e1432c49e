"""One function call's answer document: a failure reads as Lambda's (errorType, errorMessage,
stackTrace), and the stack lists the function's frames, not the caller's."""

from __future__ import annotations

import json
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard.runtime.functions._call import answer


@pytest.fixture
def module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    (tmp_path / "callfns.py").write_text(
        textwrap.dedent(
            """
            def _check(event):
                if event.get("fail"):
                    raise ValueError("boom: asked to fail")

            def flaky(event):
                _check(event)
                return {"done": True}

            def with_context(event, context):
                return {"name": context.function_name}

            def a_set(event):
                return {"tags": {"a", "b"}}

            def not_a_number(event):
                return {"rmse": float("nan")}
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "callfns"
    sys.modules.pop("callfns", None)


def test_a_call_answers_its_result(module: str) -> None:
    assert json.loads(answer(f"{module}:flaky", "{}")) == {"ok": True, "result": {"done": True}}
    assert json.loads(answer(f"{module}:with_context", "{}"))["ok"] is True


@pytest.mark.parametrize(
    ("function", "says"),
    [("a_set", "Object of type set is not JSON serializable"), ("not_a_number", "not JSON")],
)
def test_a_result_that_is_not_json_is_a_marshal_error(
    module: str, function: str, says: str
) -> None:
    found = json.loads(answer(f"{module}:{function}", "{}"))
    assert (found["ok"], found["errorType"]) == (False, "Runtime.MarshalError")
    assert found["errorMessage"].startswith("Unable to marshal response: ")
    assert says in found["errorMessage"] and found["stackTrace"] == []


def test_a_failure_lists_only_the_functions_frames(module: str) -> None:
    found = json.loads(answer(f"{module}:flaky", '{"fail": true}'))
    assert (found["ok"], found["errorType"], found["errorMessage"]) == (
        False,
        "ValueError",
        "boom: asked to fail",
    )
    stack = found["stackTrace"]
    # Lambda's shape: one '  File "...", line N, in fn\n    code\n' string per frame
    assert [line.split(", in ")[1].split("\n")[0] for line in stack] == ["flaky", "_check"]
    assert all(line.startswith('  File "') and "callfns.py" in line for line in stack)
    assert not any("dockyard" in line for line in stack)


def test_a_module_that_cannot_be_imported_says_so(module: str) -> None:
    found = json.loads(answer("nosuchmodule_xyz:fn", "{}"))
    assert found["errorType"] == "ModuleNotFoundError"
    assert not any("dockyard" in line or "importlib" in line for line in found["stackTrace"])
