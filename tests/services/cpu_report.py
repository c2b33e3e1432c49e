"""The CPU each test module used, listed at the end of a run beside pytest's slowest tests.

The suite is bound by CPU on two cores, so a module's wall time says little of what it costs the
run: one waiting on a process costs nothing while the other worker goes on, one starting
servers and clients costs both. Each test's CPU is this process's and its reaped children's
(``getrusage``): servers, clients and jobs' runners a test started and waited for count, as
do the processes they reaped in turn; a module's servers count in its last test, whose
teardown stops them, and the session's (PostgreSQL, S3, Ray) in a line of their own. Workers
send their totals to the controller, which prints the heaviest.
"""

from __future__ import annotations

import json
import resource
from collections import Counter
from collections.abc import Iterator

import pytest

__all__ = ["charge_to_session", "cpu_seconds"]

_SHOWN = 25
_totals: Counter[str] = Counter()


def cpu_seconds() -> float:
    """User and system CPU of this process and every child it has reaped, so far."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


_SESSION = "(session-wide services, stopped after the last test)"
_last_teardown: list[float] = []  # the CPU of the last test's teardown
_moved: list[float] = []  # CPU the running test spent stopping a session-wide service


def charge_to_session(seconds: float) -> None:
    """Count ``seconds`` the running test spent on a session-wide service (stopping it early
    reaps its processes) on the services' line, not the test's module."""
    _moved.append(seconds)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    before = cpu_seconds()
    yield
    spent = cpu_seconds() - before
    if nextitem is None and _last_teardown:
        _totals[_SESSION] += _last_teardown[0]
        spent -= _last_teardown.pop()
    while _moved:
        moved = _moved.pop()
        _totals[_SESSION] += moved
        spent -= moved
    _totals[item.nodeid.split("::", 1)[0]] += spent


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """The last test's teardown stops the session's services (PostgreSQL, S3, the Ray cluster,
    the shared server): their CPU is theirs, not that test's module's."""
    before = cpu_seconds()
    yield
    if nextitem is None:
        _last_teardown[:] = [cpu_seconds() - before]


def pytest_sessionfinish(session: pytest.Session) -> None:
    output = getattr(session.config, "workeroutput", None)
    if output is not None:  # an xdist worker: the controller prints
        output["cpu_by_module"] = json.dumps(dict(_totals))


def pytest_testnodedown(node: object, error: object) -> None:
    output = getattr(node, "workeroutput", None) or {}
    _totals.update(json.loads(output.get("cpu_by_module", "{}")))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not _totals or hasattr(terminalreporter.config, "workeroutput"):
        return
    total = sum(_totals.values())
    terminalreporter.write_sep("=", f"CPU by test module: {total:.0f} s in all")
    for module, seconds in _totals.most_common(_SHOWN):
        terminalreporter.write_line(f"{seconds:8.1f} s {100 * seconds / total:5.1f}%  {module}")
