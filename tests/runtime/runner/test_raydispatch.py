"""The dispatcher tells a node host Ray could not reach for a moment from one that is gone.

Ray fails a call with ``ActorUnavailableError`` as soon as the host's connection drops, often
before it has declared the host's node lost; only ``ActorDiedError`` says the host is gone. The
calls here are scripted (no cluster): what each call of the host gives, in order.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

ray = pytest.importorskip("ray")

from dockyard.runtime.runner._raydispatch import _answers, _ended  # noqa: E402

_RECORD = {"exit_code": 0, "tail": "", "detail": "runner pid 7 on Ray node n exited"}


def _unreachable() -> Exception:
    return ray.exceptions.ActorUnavailableError("RPC error: Socket closed", None)


class _Host:
    """A host handle whose calls give, in order, what ``script`` lists (an exception is
    raised by ``ray.get``)."""

    def __init__(self, script: list[tuple[str, Any]]) -> None:
        self.script = iter(script)
        self.calls: list[str] = []

    def __getattr__(self, method: str) -> Any:
        host = self

        class _Method:
            @staticmethod
            def remote(*args: Any) -> tuple[str, Any]:
                host.calls.append(method)
                expected, outcome = next(host.script)
                assert method == expected, (method, expected)
                return (method, outcome)

        return _Method


@pytest.fixture(autouse=True)
def scripted_get(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    def get(ref: tuple[str, Any], **_: Any) -> Any:
        outcome = ref[1]
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    monkeypatch.setattr(ray, "get", get)
    yield


def test_a_host_unreachable_for_a_moment_still_reports_its_runners_end() -> None:
    host = _Host(
        [("wait", _unreachable()), ("ready", _unreachable()), ("ready", "n"), ("wait", _RECORD)]
    )
    assert _ended(host, "job") == _RECORD
    assert host.calls == ["wait", "ready", "ready", "wait"]


def test_a_host_whose_node_is_lost_is_gone_only_once_ray_says_it_died() -> None:
    died = ray.exceptions.ActorDiedError()
    host = _Host([("wait", _unreachable()), ("ready", _unreachable()), ("ready", died)])
    with pytest.raises(ray.exceptions.RayActorError):
        _ended(host, "job")
    assert host.calls == ["wait", "ready", "ready"]  # not before Ray's word


def test_a_host_that_died_is_gone_at_once() -> None:
    host = _Host([("wait", ray.exceptions.ActorDiedError())])
    with pytest.raises(ray.exceptions.ActorDiedError):
        _ended(host, "job")
    assert not _answers(_Host([("ready", ray.exceptions.ActorDiedError())]))
