"""How ``make test`` shares the suite between its three workers (pytest-xdist,
``--dist loadscope``).

- A module's tests stay on one worker, so its module-scoped servers start once.
- The modules that use the Ray cluster share one worker, so one cluster (three raylets) runs at
  a time: such a module says so with the ``ray_cluster`` marker (the controller that hands out
  the groups sees no markers, only node ids, so it reads the module's text for it).
- The Ray group is handed out first, then the modules that hold slow tests, then the others,
  most tests first, so no long module is left to run alone at the end while the other workers
  idle. ``make test`` passes ``--no-loadscope-reorder``: xdist would otherwise hand out every
  group, the Ray group and the slow ones too, by its number of tests alone.
- The worker that ran the Ray group stops the cluster after the group's last test: no other
  test asks for it.

xdist's own ``loadgroup`` cannot do this with this pytest: it renames each test's node id to
carry its group, and pytest 9 no longer reads the attribute it sets, so every test became a
group of its own and each worker started each module's servers (and a Ray cluster) again.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from xdist.remote import Producer
from xdist.scheduler import LoadScopeScheduling
from xdist.workermanage import WorkerController

from tests.services.cpu_report import charge_to_session, cpu_seconds
from tests.services.ray_cluster import stop_ray_cluster

__all__ = ["RAY_GROUP", "ModuleScheduling", "group_of"]

RAY_GROUP = "ray-cluster"
_NAMES_RAY = re.compile(r"\bpytest\.mark\.ray_cluster\b")


@functools.cache
def _uses_ray(path: Path) -> bool:
    try:
        return bool(_NAMES_RAY.search(path.read_text(encoding="utf-8")))
    except OSError:
        return False


def group_of(nodeid: str, root: Path) -> str:
    """The group of the test ``nodeid``: the Ray group or its own module."""
    module = nodeid.split("::", 1)[0]
    return RAY_GROUP if _uses_ray(root / module) else module


class ModuleScheduling(LoadScopeScheduling):
    """xdist's scope scheduling, with a module (or the Ray group) as the scope."""

    def __init__(self, config: pytest.Config, log: Producer | None = None) -> None:
        super().__init__(config, log)
        self._root = config.rootpath

    def _split_scope(self, nodeid: str) -> str:
        return group_of(nodeid, self._root)


def pytest_xdist_make_scheduler(config: pytest.Config, log: Producer) -> ModuleScheduling | None:
    return ModuleScheduling(config, log) if config.getoption("dist") == "loadscope" else None


#: Set in a worker's input when the controller hands out groups (a worker's own ``dist`` option
#: is always ``no``).
_GROUPED = "dockyard_module_groups"


def pytest_configure_node(node: WorkerController) -> None:
    node.workerinput[_GROUPED] = node.config.getoption("dist") == "loadscope"


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On a worker, order the groups: the Ray group, then those with slow tests, then the rest,
    most tests first (a module of many quick tests can still take a minute or two; the last
    groups handed out should be short). Each group's tests keep their order; the controller
    hands groups out in this order."""
    if not hasattr(config, "workerinput"):
        return
    root = config.rootpath
    slow = {group_of(i.nodeid, root) for i in items if i.get_closest_marker("slow") is not None}
    sizes = Counter(group_of(i.nodeid, root) for i in items)

    def rank(item: pytest.Item) -> tuple[int, int]:
        group = group_of(item.nodeid, root)
        if group == RAY_GROUP:
            return 0, 0
        return (1, 0) if group in slow else (2, -sizes[group])

    items.sort(key=rank)  # stable: each module's tests keep their order


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """On a worker, stop the Ray cluster after the Ray group's last test: the group is one
    scope, handed to one worker whole, so no test after it asks for the cluster."""
    yield
    config = item.config
    if not getattr(config, "workerinput", {}).get(_GROUPED):
        return
    root = config.rootpath
    if group_of(item.nodeid, root) != RAY_GROUP:
        return
    if nextitem is not None and group_of(nextitem.nodeid, root) == RAY_GROUP:
        return
    before = cpu_seconds()
    stop_ray_cluster()
    charge_to_session(cpu_seconds() - before)
