"""Build contexts follow the SageMaker inference contract, and their entrypoint serves the model."""

from __future__ import annotations

import http.client
import json
import re
import signal
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from dockyard.errors import AlreadyExists, InvalidArgument
from dockyard.models import verify, write_build_context

# Libraries of the Dockyard server that the model runtime must not need.
_BLOCKER = textwrap.dedent(
    """
    import importlib.abc, runpy, sys

    BLOCKED = {"pydantic", "pydantic_settings", "sqlalchemy", "fastapi", "starlette", "httpx",
               "uvicorn", "click", "mlflow", "packaging", "boto3"}

    class Block(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ImportError(f"the model runtime imported {name}")
            return None

    sys.meta_path.insert(0, Block())
    sys.argv = ["serve.py", *sys.argv[1:]]
    runpy.run_path("serve.py", run_name="__main__")
    """
)


@pytest.fixture(scope="module")
def context(packages: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_build_context(packages["xgboost"], tmp_path_factory.mktemp("ctx") / "image")


def test_context_layout_and_dockerfile(context: Path, packages: dict[str, Path]) -> None:
    assert {p.name for p in context.iterdir()} == {
        "Dockerfile",
        ".dockerignore",
        "requirements.txt",
        "serve.py",
        "dockyard",
        "model",
    }
    assert verify(context / "model") == verify(packages["xgboost"])
    assert (context / "dockyard" / "models" / "__init__.py").is_file()
    assert (context / "dockyard" / "errors.py").is_file()
    requirements = (context / "requirements.txt").read_text().split()
    assert requirements and all(re.fullmatch(r"[\w.-]+==[\w.+-]+", line) for line in requirements)
    assert any(line.startswith("xgboost") for line in requirements)
    dockerfile = (context / "Dockerfile").read_text()
    python = ".".join(map(str, sys.version_info[:3]))
    for needle in (
        f"FROM python:{python}-slim",
        "RUN pip install --no-cache-dir --requirement requirements.txt",
        "COPY model/ /opt/ml/model/",
        "USER 10001:10001",
        "EXPOSE 8080",
        "STOPSIGNAL SIGTERM",
        '"--port", "8080"',
        'CMD ["serve"]',
    ):
        assert needle in dockerfile
    assert dockerfile.index("USER 10001") > dockerfile.index("RUN pip install")


def test_context_refuses_a_used_directory_and_a_tampered_package(
    package_copy: Callable[[str], Path], tmp_path: Path
) -> None:
    path = package_copy("xgboost")
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "x").write_text("x")
    with pytest.raises(AlreadyExists):
        write_build_context(path, tmp_path / "used")
    (path / "model.ubj").write_bytes(b"tampered")
    with pytest.raises(InvalidArgument, match=r"model\.ubj was changed"):
        write_build_context(path, tmp_path / "fresh")


@pytest.fixture(scope="module")
def server(context: Path) -> Iterator[tuple[subprocess.Popen[str], int]]:
    process = subprocess.Popen(
        [sys.executable, "-c", _BLOCKER, "--model-dir", "model", "--port", "0", "serve"],
        cwd=context,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    line = process.stderr.readline()
    match = re.search(r"serving xgboost model on http://127.0.0.1:(\d+)", line)
    assert match, line + process.stderr.read()
    yield process, int(match.group(1))
    if process.poll() is None:
        process.kill()
        process.wait()
    process.stderr.close()


def _call(
    port: int, method: str, path: str, body: bytes = b"", **headers: str
) -> tuple[int, str, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request(method, path, body=body, headers=headers)
    response = connection.getresponse()
    result = (response.status, response.getheader("Content-Type") or "", response.read())
    connection.close()
    return result


def test_entrypoint_serves_ping_and_invocations(
    server: tuple[subprocess.Popen[str], int], frame: pd.DataFrame, xgb_model: Any
) -> None:
    _, port = server
    assert _call(port, "GET", "/ping")[0] == 200
    rows = frame.head(3)
    expected = xgb_model.predict(rows).tolist()
    split = {"dataframe_split": json.loads(rows.to_json(orient="split", index=False))}
    status, kind, body = _call(
        port,
        "POST",
        "/invocations",
        json.dumps(split).encode(),
        **{"Content-Type": "application/json"},
    )
    assert (status, kind) == (200, "application/json")
    assert json.loads(body) == {"predictions": expected}
    csv = rows.to_csv(header=False, index=False).encode()
    status, kind, body = _call(
        port, "POST", "/invocations", csv, **{"Content-Type": "text/csv", "Accept": "text/csv"}
    )
    assert (status, kind) == (200, "text/csv")
    assert [int(v) for v in body.decode().split()] == expected


@pytest.mark.parametrize(
    ("content_type", "body", "status", "code", "needle"),
    [
        (
            "application/json",
            b'[{"a": 0.5, "b": 1.5, "c": 0.1}]',
            400,
            "invalid_argument",
            "column 'b'",
        ),
        ("application/json", b"{oops", 400, "invalid_argument", "not valid JSON"),
        ("text/csv", b"1,2\n", 400, "invalid_argument", "2 fields"),
        ("application/xml", b"<a/>", 415, "unsupported_media_type", "application/xml"),
    ],
    ids=["signature", "json-syntax", "csv-width", "content-type"],
)
def test_entrypoint_errors_name_the_problem(
    server: tuple[subprocess.Popen[str], int],
    content_type: str,
    body: bytes,
    status: int,
    code: str,
    needle: str,
) -> None:
    _, port = server
    got, _, payload = _call(port, "POST", "/invocations", body, **{"Content-Type": content_type})
    error = json.loads(payload)
    assert (got, error["code"]) == (status, code)
    assert needle in error["message"]


def test_entrypoint_stops_cleanly_on_sigterm(server: tuple[subprocess.Popen[str], int]) -> None:
    process, port = server
    assert _call(port, "GET", "/ping")[0] == 200
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=10) == 0


def test_vendored_runtime_is_what_the_entrypoint_imports(context: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-c", "import dockyard; print(dockyard.__file__)"],
        cwd=context,
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(out.stdout.strip()).resolve() == (context / "dockyard" / "__init__.py").resolve()
