"""``make test``'s split of the suite between three workers (``tests/services/worker_groups.py``),
run for real: pytest-xdist on a folder of small modules, each test noting its worker."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

_NOTE = """\
import os, pytest
{mark}
def _note(name):
    with open(os.environ["NOTES"], "a") as notes:
        notes.write(f"{{os.environ['PYTEST_XDIST_WORKER']}} {{__name__}} {{name}}\\n")
"""


# make test's own way of running the suite, on the plugin alone
_ARGS = (
    "-q -p no:cacheprovider -p tests.services.worker_groups -o markers=slow -o markers=ray_cluster"
    " -n 3 --dist loadscope --no-loadscope-reorder"
)


# Stands for the session's Ray cluster: notes when the worker stops it.
_CONFTEST = """\
import os
from tests.services import ray_cluster


class _Noted:
    def stop(self):
        with open(os.environ["NOTES"], "a") as notes:
            notes.write(f"{os.environ['PYTEST_XDIST_WORKER']} stopped-ray -\\n")


ray_cluster._started.append(_Noted())
"""


def _write(
    folder: Path, name: str, *, slow: bool = False, ray: bool = False, tests: int = 3
) -> None:
    mark = "pytestmark = pytest.mark.slow" if slow else ""
    if ray:  # the marker's name is put together: this file is no Ray module
        mark = "pytestmark = pytest.mark." + "ray_cluster"
    calls = "".join(f"def test_{i}(): _note({i})\n" for i in range(tests))
    (folder / f"{name}.py").write_text(_NOTE.format(mark=mark) + calls)


def _suite(tmp_path: Path) -> Path:
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "conftest.py").write_text(_CONFTEST)
    for name in ("test_a", "test_b", "test_c"):
        _write(suite, name)
    _write(suite, "test_z_many", tests=5)  # last by name, first of the rest by its size
    _write(suite, "test_slow", slow=True)
    _write(suite, "test_ray_one", ray=True)
    _write(suite, "test_ray_two", ray=True)
    return suite


def _run(suite: Path, workers: int) -> list[list[str]]:
    """Run ``suite`` as ``make test`` does on ``workers`` workers; the notes, in order."""
    notes = suite.parent / f"notes-{workers}"
    args = _ARGS.replace("-n 3", f"-n {workers}")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", *args.split(), str(suite)],
        cwd=suite,
        env={**os.environ, "NOTES": str(notes), "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return [line.split() for line in notes.read_text().splitlines()]


def _module(note: list[str]) -> str:
    return note[1].rsplit(".", 1)[-1]


def test_modules_stay_on_one_worker_and_ray_then_slow_groups_go_first(tmp_path: Path) -> None:
    noted = _run(_suite(tmp_path), 3)
    lines = [line for line in noted if line[1] != "stopped-ray"]
    assert len(lines) == 23
    # the Ray group's worker stopped the cluster once, right after the group's last test
    ray_worker = next(w for w, m, _ in lines if m.endswith("test_ray_two"))
    on_it = [_module(note) for note in noted if note[0] == ray_worker]
    stop = on_it.index("stopped-ray")
    assert on_it.count("stopped-ray") == 1 and stop == 6, on_it
    assert set(on_it[:stop]) == {"test_ray_one", "test_ray_two"}, on_it
    workers: dict[str, set[str]] = {}
    for note in lines:
        workers.setdefault(_module(note), set()).add(note[0])
    # each module on one worker; both Ray modules on the same one
    assert all(len(found) == 1 for found in workers.values()), workers
    assert workers["test_ray_one"] == workers["test_ray_two"]
    # on each worker, the Ray group came first, then the slow module, then the rest
    rank = {"test_ray_one": 0, "test_ray_two": 0, "test_slow": 1, "test_z_many": 2}
    for worker in {w for w, _, _ in lines}:
        ranks = [rank.get(_module(note), 3) for note in lines if note[0] == worker]
        assert ranks == sorted(ranks), (worker, lines)
    # a module's tests in their own order
    for module in workers:
        order = [int(note[2]) for note in lines if _module(note) == module]
        assert order == list(range(len(order))), (module, order)


def test_on_one_worker_the_groups_come_ray_slow_then_the_largest_first(tmp_path: Path) -> None:
    noted = _run(_suite(tmp_path), 1)
    modules = list(dict.fromkeys(_module(note) for note in noted))
    assert modules == [
        "test_ray_one",
        "test_ray_two",
        "stopped-ray",
        "test_slow",
        "test_z_many",
        "test_a",
        "test_b",
        "test_c",
    ]
