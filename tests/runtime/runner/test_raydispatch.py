"""The dispatcher tells a node host Ray could not reach for a moment from one that is gone,
and keeps an ended runner's placement group for the next job of its shape; the executor asks
it about every running job in one call.

Ray fails a call with ``ActorUnavailableError`` as soon as the host's connection drops, often
before it has declared the host's node lost; only ``ActorDiedError`` says the host is gone. The
calls here are scripted (no cluster): what each call of the host gives, in order, and where Ray
places each new placement group.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.server.notifications._receiver import until

ray = pytest.importorskip("ray")

from dockyard.runtime.runner._raydispatch import _answers, _ended  # noqa: E402

_RECORD = {"exit_code": 0, "tail": "", "detail": "runner pid 7 on Ray node n exited"}
_RUNNING = {"running": True, "exit_code": None, "detail": "runner pid 7 on Ray node n"}


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


# -- placement groups kept for the next job of the same shape --------------------------------


class _Group:
    """A placement group as the dispatcher sees it: placed on ``node`` once ``placed``."""

    def __init__(self, node: str, *, placed: bool = True) -> None:
        self.node = node
        self.placed = placed
        self.removed = False

    def ready(self) -> _Group:
        return self


class _Ray:
    """Ray's placement-group calls, scripted: new groups are placed on ``node`` (or left
    pending), and ``on_wait`` runs at each wait for one."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, node: str = "n1") -> None:
        groups = importlib.import_module("ray.util.placement_group")  # not the function

        self.node = node
        self.place = True
        self.made: list[_Group] = []
        self.on_wait: Any = None
        monkeypatch.setattr(groups, "placement_group", self._make)
        monkeypatch.setattr(groups, "remove_placement_group", self._remove)
        monkeypatch.setattr(groups, "placement_group_table", self._table)
        monkeypatch.setattr(ray, "wait", self._wait)
        self.alive = {node}
        monkeypatch.setattr("dockyard.runtime.runner._raydispatch._alive", lambda: self.alive)

    def _make(self, bundles: list[dict[str, float]], **_: Any) -> _Group:
        group = _Group(self.node, placed=self.place)
        self.made.append(group)
        return group

    @staticmethod
    def _remove(group: _Group) -> None:
        group.removed = True

    @staticmethod
    def _table(group: _Group) -> dict[str, Any]:
        return {"state": "CREATED", "bundles_to_node_id": {0: group.node}}

    def _wait(self, refs: list[_Group], timeout: float) -> tuple[list[_Group], list[_Group]]:
        if self.on_wait is not None:
            self.on_wait()
        done = [g for g in refs if g.placed]
        return done, [g for g in refs if not g.placed]


def _dispatcher(*names: str) -> Any:
    from dockyard.runtime.runner._raydispatch import Dispatcher

    dispatcher = Dispatcher("test")
    for name in names:
        dispatcher._live[name] = {"state": "placing", "node": None, "pid": None, "stop": False}
    return dispatcher


_ONE_CPU = (("CPU", 1.0),)


def _one_kept(monkeypatch: pytest.MonkeyPatch) -> tuple[_Ray, Any, _Group]:
    """Scripted Ray, a dispatcher with runners ``a`` and ``b``, and the group ``a`` left
    kept."""
    fake = _Ray(monkeypatch)
    dispatcher = _dispatcher("a", "b")
    group, node = dispatcher._reserve("a", {"CPU": 1.0}, _ONE_CPU)
    dispatcher._release(group, node, _ONE_CPU, keep=True)
    return fake, dispatcher, group


def test_an_ended_runners_group_is_taken_by_the_next_job_of_its_shape(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake = _Ray(monkeypatch)
    dispatcher = _dispatcher("a", "b", "c")
    first, node = dispatcher._reserve("a", {"CPU": 1.0}, _ONE_CPU)
    assert node == "n1" and fake.made == [first]
    dispatcher._release(first, node, _ONE_CPU, keep=True)
    assert not first.removed  # kept, not given back yet
    assert dispatcher._reserve("b", {"CPU": 1.0}, _ONE_CPU) == (first, "n1")
    assert fake.made == [first]  # no new group: Ray had nothing to place
    # Another shape gets a group of its own.
    other, _ = dispatcher._reserve("c", {"CPU": 2.0}, (("CPU", 2.0),))
    assert fake.made == [first, other]


def test_a_kept_group_is_removed_once_no_job_took_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from dockyard.runtime.runner import _raydispatch

    _Ray(monkeypatch)
    monkeypatch.setattr(_raydispatch, "KEEP_GROUP_S", 0.01)
    dispatcher = _dispatcher("a", "b")
    group, node = dispatcher._reserve("a", {"CPU": 1.0}, _ONE_CPU)
    dispatcher._release(group, node, _ONE_CPU, keep=True)
    until(lambda: group.removed, 10, "the kept group removed")
    assert dispatcher._kept[_ONE_CPU] == []
    # A runner that did not end well gives its group back at once.
    lost, node = dispatcher._reserve("b", {"CPU": 1.0}, _ONE_CPU)
    dispatcher._release(lost, node, _ONE_CPU, keep=False)
    assert lost.removed and dispatcher._kept[_ONE_CPU] == []


def test_a_kept_group_on_a_lost_node_is_removed_not_taken(monkeypatch: pytest.MonkeyPatch) -> None:
    fake, dispatcher, group = _one_kept(monkeypatch)
    fake.alive = {"n2"}
    fake.node = "n2"
    fresh, node = dispatcher._reserve("b", {"CPU": 1.0}, _ONE_CPU)
    assert group.removed and fresh is not group and node == "n2"


def test_a_job_waiting_to_be_placed_takes_a_group_kept_meanwhile(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake = _Ray(monkeypatch)
    dispatcher = _dispatcher("a", "b")
    ended, node = dispatcher._reserve("a", {"CPU": 1.0}, _ONE_CPU)
    fake.place = False  # Ray's view has no room yet

    def release_once() -> None:
        fake.on_wait = None
        dispatcher._release(ended, node, _ONE_CPU, keep=True)

    fake.on_wait = release_once
    assert dispatcher._reserve("b", {"CPU": 1.0}, _ONE_CPU) == (ended, "n1")
    waiting = fake.made[-1]
    assert waiting is not ended and waiting.removed  # given up for the kept one


def test_a_job_stopped_before_it_is_placed_leaves_no_group(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = _Ray(monkeypatch)
    fake.place = False
    dispatcher = _dispatcher("a")

    def stop() -> None:
        dispatcher._live["a"]["stop"] = True

    fake.on_wait = stop
    assert dispatcher._reserve("a", {"CPU": 1.0}, _ONE_CPU) is None
    assert [g.removed for g in fake.made] == [True]


# -- the executor asks the dispatcher about every running job at once -------------------------


class _Dispatcher:
    """The dispatcher actor's ``statuses``: each call is recorded; its answer is ready once
    ``answering``."""

    def __init__(self, known: dict[str, dict[str, Any]]) -> None:
        self.known = known
        self.asked: list[list[str]] = []
        self.answering = False
        outer = self

        class _Statuses:
            @staticmethod
            def remote(names: list[str]) -> tuple[str, Any]:
                outer.asked.append(list(names))
                return ("answer", [outer.known.get(n) for n in names])

        self.statuses = _Statuses


def _executor(monkeypatch: pytest.MonkeyPatch, dispatcher: _Dispatcher) -> Any:
    from dockyard.runtime.runner._ray import RayExecutor

    executor = object.__new__(RayExecutor)  # no cluster: its Ray is this module's, scripted
    executor._ray = ray
    executor._namespace = "dockyard"
    executor._dispatcher = dispatcher
    executor._pending = {}
    executor._one_by_one = set()

    def wait(refs: list[Any], timeout: float, **_: Any) -> tuple[list[Any], list[Any]]:
        return (refs, []) if dispatcher.answering else ([], refs)

    monkeypatch.setattr(ray, "wait", wait)
    return executor


def _handle(name: str) -> dict[str, str]:
    return {"actor": name, "namespace": "dockyard"}


def test_every_running_job_is_asked_about_in_one_call(monkeypatch: pytest.MonkeyPatch) -> None:
    ended = {"running": False, "exit_code": 0, "detail": "exited"}
    dispatcher = _Dispatcher({"a": _RUNNING, "b": ended})
    dispatcher.answering = True
    executor = _executor(monkeypatch, dispatcher)
    found = executor.statuses([_handle("a"), _handle("b"), _handle("c")])
    assert dispatcher.asked == [["a", "b", "c"]]
    assert found[:2] == [_RUNNING, ended]
    assert not found[2]["running"] and "gone" in found[2]["detail"]  # the dispatcher forgot it


def test_a_slow_dispatchers_answer_is_taken_on_a_later_pass(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ended = {"running": False, "exit_code": 1, "detail": "exited"}
    dispatcher = _Dispatcher({"a": ended, "b": _RUNNING})
    executor = _executor(monkeypatch, dispatcher)
    first = executor.statuses([_handle("a")])
    assert first[0]["running"] and "not answering" in first[0]["detail"]
    dispatcher.answering = True
    # The call still pending is the one taken; a runner it did not cover is asked about next.
    later = executor.statuses([_handle("a"), _handle("b")])
    assert dispatcher.asked == [["a"]]
    assert later[0] == ended and later[1]["running"]
    assert executor.statuses([_handle("b")]) == [_RUNNING]
    assert dispatcher.asked == [["a"], ["b"]]


def test_a_job_of_another_shape_waiting_for_room_gets_the_kept_groups_removed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake, dispatcher, kept = _one_kept(monkeypatch)
    fake.place = False  # the kept group holds the room the bigger job needs

    def placed_once_room_is_back() -> None:
        if kept.removed:
            fake.made[-1].placed = True

    fake.on_wait = placed_once_room_is_back
    big, _ = dispatcher._reserve("b", {"CPU": 2.0}, (("CPU", 2.0),))
    assert kept.removed and big is fake.made[-1] and not big.removed


class _OldDispatcher:
    """A dispatcher an older server started, still on the cluster: ``status`` only."""

    def __init__(self, known: dict[str, dict[str, Any]]) -> None:
        self.asked: list[str] = []
        self.answering = True
        outer = self

        class _Status:
            @staticmethod
            def remote(name: str) -> tuple[str, Any]:
                outer.asked.append(name)
                return ("answer", known.get(name))

        self.status = _Status


def test_a_dispatcher_from_an_older_server_is_asked_about_each_runner(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ended = {"running": False, "exit_code": 0, "detail": "exited"}
    old = _OldDispatcher({"a": _RUNNING, "b": ended})
    executor = _executor(monkeypatch, old)  # type: ignore[arg-type]
    found = executor.statuses([_handle("a"), _handle("b")])
    assert found == [_RUNNING, ended]  # not taken for gone
    assert old.asked == ["a", "b"]


def test_a_dispatcher_that_cannot_answer_at_once_is_asked_about_each_runner(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dispatcher = _Dispatcher({"a": _RUNNING})
    dispatcher.answering = True
    executor = _executor(monkeypatch, dispatcher)
    failed = ray.exceptions.RayTaskError("statuses", "AttributeError", AttributeError("statuses"))
    dispatcher.statuses = type(  # type: ignore[assignment]
        "_Failing", (), {"remote": staticmethod(lambda names: ("answer", failed))}
    )
    old = _OldDispatcher({"a": _RUNNING})
    dispatcher.status = old.status  # type: ignore[attr-defined]
    assert executor.statuses([_handle("a")]) == [_RUNNING]
    assert old.asked == ["a"]


def test_a_cluster_refusing_the_server_names_token_authentication(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from dockyard.errors import Unavailable
    from dockyard.runtime.runner import _ray as executor
    from dockyard.settings import Settings

    def refused(**_: Any) -> None:  # what Ray says after its retries, cause left out
        raise ConnectionError("Failed to connect to Ray cluster at 127.0.0.1:6379")

    monkeypatch.setattr(executor, "_probe", lambda address: None)  # something listens there
    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    monkeypatch.setattr(ray, "init", refused)
    monkeypatch.delenv("RAY_AUTH_MODE", raising=False)
    settings = Settings(home=tmp_path, executor="ray", ray_address="127.0.0.1:6379")
    with pytest.raises(Unavailable) as caught:
        executor.connect(settings)
    assert caught.value.field == "ray_address"
    assert "RAY_AUTH_MODE=token" in caught.value.message
    monkeypatch.setenv("RAY_AUTH_MODE", "token")
    with pytest.raises(Unavailable, match=r"RAY_AUTH_TOKEN or ~/\.ray/auth_token"):
        executor.connect(settings)
