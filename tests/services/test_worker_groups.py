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
""" + "".join(f"def test_{i}(): _note({i})\n" for i in range(3))


# make test's own way of running the suite, on the plugin alone
_ARGS = (
    "-q -p no:cacheprovider -p tests.services.worker_groups -o markers=slow -o markers=ray_cluster"
    " -n 3 --dist loadscope --no-loadscope-reorder"
)


def _write(folder: Path, name: str, *, slow: bool = False, ray: bool = False) -> None:
    mark = "pytestmark = pytest.mark.slow" if slow else ""
    if ray:  # the marker's name is put together: this file is no Ray module
        mark = "pytestmark = pytest.mark." + "ray_cluster"
    (folder / f"{name}.py").write_text(_NOTE.format(mark=mark))


def test_modules_stay_on_one_worker_and_ray_then_slow_groups_go_first(tmp_path: Path) -> None:
    suite = tmp_path / "suite"
    suite.mkdir()
    for name in ("test_a", "test_b", "test_c"):
        _write(suite, name)
    _write(suite, "test_slow", slow=True)
    _write(suite, "test_ray_one", ray=True)
    _write(suite, "test_ray_two", ray=True)
    notes = tmp_path / "notes"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", *_ARGS.split(), str(suite)],
        cwd=suite,
        env={**os.environ, "NOTES": str(notes), "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lines = [line.split() for line in notes.read_text().splitlines()]
    assert len(lines) == 18
    workers: dict[str, set[str]] = {}
    for worker, module, _ in lines:
        workers.setdefault(module.rsplit(".", 1)[-1], set()).add(worker)
    # each module on one worker; both Ray modules on the same one
    assert all(len(found) == 1 for found in workers.values()), workers
    assert workers["test_ray_one"] == workers["test_ray_two"]
    # on each worker, the Ray group came first, then the slow module, then the rest
    rank = {"test_ray_one": 0, "test_ray_two": 0, "test_slow": 1}
    for worker in {w for w, _, _ in lines}:
        ranks = [rank.get(m.rsplit(".", 1)[-1], 2) for w, m, _ in lines if w == worker]
        assert ranks == sorted(ranks), (worker, lines)
    # a module's tests in their own order
    for module in workers:
        order = [int(i) for _, m, i in lines if m.endswith(module)]
        assert order == [0, 1, 2], (module, order)
