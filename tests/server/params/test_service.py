"""The parameter store's rules, against real services over a real SQLite database."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

from dockyard.api.params import LabelParameter, ParameterType, PutParameter
from dockyard.errors import (
    AlreadyExists,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    Undecryptable,
)
from dockyard.server import Services
from dockyard.server.actor import Actor, ActorKind, JobScope, Role
from dockyard.server.auth import CreateUser, SetGrant
from dockyard.server.params._secrets import new_key
from dockyard.server.store import schema
from dockyard.settings import Settings

ROOT = Actor.local("root")
SECRET = "hunter2-the-clear-value"


@dataclass
class World:
    services: Services
    admin: Actor
    alice: Actor
    bob: Actor
    viewer: Actor


def _world(settings: Settings) -> World:
    services = Services.from_settings(settings)
    services.auth.create_user(ROOT, CreateUser(name="root", role=Role.ADMIN))
    people = {}
    for name, role in (("alice", Role.MEMBER), ("bob", Role.MEMBER), ("vic", Role.VIEWER)):
        services.auth.create_user(ROOT, CreateUser(name=name, role=role))
        with services.db.read() as conn:
            user = conn.execute(select(schema.users).where(schema.users.c.name == name)).one()
        people[name] = Actor(ActorKind.USER, name, role, user_id=int(user.user_id))
    admin = Actor(ActorKind.USER, "root", Role.ADMIN, user_id=1)
    return World(services, admin, people["alice"], people["bob"], people["vic"])


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    built = _world(Settings(home=tmp_path / "h", params_key=new_key()))
    yield built
    built.services.close()


def _put(w: World, actor: Actor, name: str, value: str, **kwargs: object) -> int:
    return w.services.params.put(actor, PutParameter(name=name, value=value, **kwargs)).version  # type: ignore[arg-type]


def test_versions_overwrite_and_409(world: World) -> None:
    params = world.services.params
    assert _put(world, world.alice, "/team/model/threshold", "0.5") == 1
    with pytest.raises(AlreadyExists) as caught:
        _put(world, world.alice, "/team/model/threshold", "0.6")
    assert caught.value.status_code == 409 and caught.value.field == "name"
    assert _put(world, world.alice, "/team/model/threshold", "0.6", overwrite=True) == 2
    assert _put(world, world.alice, "/team/model/threshold", "0.7", overwrite=True) == 3
    assert params.get(world.alice, "/team/model/threshold").value == "0.7"
    assert params.get(world.alice, "/team/model/threshold:1").value == "0.5"
    history = params.history(world.alice, "/team/model/threshold")
    assert [(p.version, p.value) for p in history.parameters] == [
        (1, "0.5"),
        (2, "0.6"),
        (3, "0.7"),
    ]
    with pytest.raises(NotFound) as missing:
        params.get(world.alice, "/team/model/threshold:9")
    assert missing.value.field == "name"


def test_string_list_comes_back_as_a_list(world: World) -> None:
    _put(world, world.alice, "/team/hosts", "a,b,c", type=ParameterType.STRING_LIST)
    got = world.services.params.get(world.alice, "/team/hosts")
    assert got.value == "a,b,c" and got.values == ["a", "b", "c"]


def test_labels_select_and_move(world: World) -> None:
    params = world.services.params
    for value in ("1", "2", "3"):
        _put(world, world.alice, "/m/x", value, overwrite=True)
    params.label(world.alice, LabelParameter(name="/m/x", version=2, labels=["prod"]))
    assert params.get(world.alice, "/m/x:prod").value == "2"
    assert params.get(world.alice, "/m/x:prod").labels == ["prod"]
    moved = params.label(world.alice, LabelParameter(name="/m/x", labels=["prod", "latest"]))
    assert moved.version == 3 and moved.labels == ["latest", "prod"]
    assert params.get(world.alice, "/m/x:prod").value == "3"
    assert params.history(world.alice, "/m/x").parameters[1].labels == []
    with pytest.raises(InvalidArgument) as bad:
        params.label(world.alice, LabelParameter(name="/m/x", labels=["ok", "3rd"]))
    assert bad.value.field == "labels.1"
    with pytest.raises(NotFound) as gone:
        params.label(world.alice, LabelParameter(name="/m/x", version=7, labels=["a"]))
    assert gone.value.field == "version"
    with pytest.raises(NotFound):
        params.get(world.alice, "/m/x:nope")


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("team/x", "must start with /"),
        ("/team//x", "empty level"),
        ("/team/x/", "empty level"),
        ("/team/x y", "letters, digits"),
        ("/team/x:y", "letters, digits"),
        ("/" + "/".join("a" * 16), "at most 15"),
        ("/" + "a" * 1011, "at most 1011"),
    ],
)
def test_bad_names_are_refused_naming_the_field(world: World, name: str, why: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        _put(world, world.alice, name, "v")
    assert caught.value.field == "name" and why in caught.value.message


def test_the_deepest_and_longest_names_are_accepted(world: World) -> None:
    _put(world, world.alice, "/" + "/".join("abcdefghijklmno"), "v")
    long_name = "/" + "a" * 1010
    _put(world, world.alice, long_name, "v")
    assert world.services.params.get(world.alice, long_name).value == "v"


def test_path_queries_page_and_recurse(world: World) -> None:
    params = world.services.params
    names = [f"/team/p{i:02d}" for i in range(7)] + ["/team/sub/deep", "/other/x", "/teams/y"]
    for name in names:
        _put(world, world.alice, name, "v")
    seen, token, pages = [], None, 0
    while True:
        page = params.get_by_path(world.alice, "/team", max_results=3, page_token=token)
        seen += [p.name for p in page.parameters]
        pages += 1
        token = page.next_page_token
        if token is None:
            break
    assert seen == [f"/team/p{i:02d}" for i in range(7)] and pages >= 3
    everything = params.get_by_path(world.alice, "/team/", recursive=True, max_results=50)
    assert [p.name for p in everything.parameters] == [
        *(f"/team/p{i:02d}" for i in range(7)),
        "/team/sub/deep",
    ]
    root = params.get_by_path(world.alice, "/", recursive=True, max_results=50)
    assert len(root.parameters) == len(names)
    with pytest.raises(InvalidArgument) as bad:
        params.get_by_path(world.alice, "/team", max_results=0)
    assert bad.value.field == "max_results"
    with pytest.raises(InvalidArgument) as bad_token:
        params.get_by_path(world.alice, "/team", page_token="!!")
    assert bad_token.value.field == "page_token"


def test_secure_string_is_never_stored_or_logged_in_clear(world: World) -> None:
    params = world.services.params
    _put(world, world.alice, "/db/password", SECRET, type=ParameterType.SECURE_STRING)
    _put(
        world,
        world.alice,
        "/db/password",
        SECRET + "-2",
        type=ParameterType.SECURE_STRING,
        overwrite=True,
    )
    with world.services.db.read() as conn:
        rows = conn.execute(select(schema.parameter_versions)).all()
        events = conn.execute(select(schema.events)).all()
    stored = " ".join(str(tuple(r)) for r in rows).encode()
    assert rows and SECRET.encode() not in stored
    assert all(r.value.startswith("dy1:") for r in rows)
    assert SECRET.encode() not in " ".join(str(tuple(e)) for e in events).encode()
    # Reads without decryption, listings and history never carry the value.
    assert params.get(world.alice, "/db/password").value is None
    assert params.get_by_path(world.alice, "/db").parameters[0].value is None
    assert all(p.value is None for p in params.history(world.alice, "/db/password").parameters)
    got = params.get(world.alice, "/db/password:1", with_decryption=True)
    assert got.value == SECRET and got.decrypted
    with world.services.db.read() as conn:
        types = conn.execute(select(schema.events.c.type)).scalars().all()
    assert "parameter.decrypted" in types
    # The raw database file holds no clear bytes either (WAL included).
    home = world.services.settings.home
    for file in home.glob("dockyard.db*"):
        assert SECRET.encode() not in file.read_bytes()


def test_secure_strings_need_a_key(tmp_path: Path) -> None:
    w = _world(Settings(home=tmp_path / "h"))
    try:
        with pytest.raises(InvalidArgument) as caught:
            _put(w, w.alice, "/db/pw", SECRET, type=ParameterType.SECURE_STRING)
        assert caught.value.field == "type" and "DOCKYARD_PARAMS_KEY" in caught.value.message
        assert SECRET not in caught.value.message
    finally:
        w.services.close()


def test_a_changed_key_is_named_not_a_crash(tmp_path: Path) -> None:
    w = _world(Settings(home=tmp_path / "h", params_key=new_key()))
    _put(w, w.alice, "/db/pw", SECRET, type=ParameterType.SECURE_STRING)
    w.services.close()
    spec = {"environment": {"PW": "{{param:/db/pw}}"}}
    for key in (new_key(), None):
        again = Services.from_settings(Settings(home=tmp_path / "h", params_key=key))
        try:
            # A conflict, not "unavailable": asking again will not help, so no client retries.
            with pytest.raises(Undecryptable) as caught:
                again.params.get(w.alice, "/db/pw", with_decryption=True)
            assert "DOCKYARD_PARAMS_KEY" in caught.value.message
            assert caught.value.status_code == 409
            # A job naming it is refused at submit, not failed when its runner asks.
            with pytest.raises(Undecryptable) as caught:
                again.params.resolve(w.alice, spec, secure_in=lambda field: True)
            assert caught.value.field == "environment.PW"
            assert caught.value.message.startswith("version 1 of /db/pw ")
        finally:
            again.close()


def test_a_bad_key_setting_is_refused_without_echoing_it() -> None:
    with pytest.raises(InvalidArgument) as caught:
        Settings(params_key="not-a-real-key-value")
    assert "32 random bytes" in str(caught.value)
    assert "not-a-real-key-value" not in str(caught.value)


def test_permissions(world: World) -> None:
    params, alice, bob, viewer = world.services.params, world.alice, world.bob, world.viewer
    _put(world, alice, "/a/plain", "1")
    _put(world, alice, "/a/secret", SECRET, type=ParameterType.SECURE_STRING)
    # The default permission (read) lets bob read a String, not change it or decrypt.
    assert params.get(bob, "/a/plain").value == "1"
    with pytest.raises(PermissionDenied):
        _put(world, bob, "/a/plain", "2", overwrite=True)
    with pytest.raises(PermissionDenied):
        params.get(bob, "/a/secret", with_decryption=True)
    with pytest.raises(PermissionDenied):
        params.delete(bob, "/a/plain")
    with pytest.raises(PermissionDenied):
        params.label(bob, LabelParameter(name="/a/plain", labels=["x"]))
    # Viewers never write; members create names and own them.
    with pytest.raises(PermissionDenied):
        _put(world, viewer, "/v/x", "1")
    # A grant on a path above covers every name under it; read grants decrypt.
    world.services.auth.set_grant(
        alice, SetGrant(kind="parameter", resource="/a/secret", user="bob", level="read")
    )
    assert params.get(bob, "/a/secret", with_decryption=True).value == SECRET
    with pytest.raises(PermissionDenied):  # only admins or a manager of "/a/" grant on it
        world.services.auth.set_grant(
            alice, SetGrant(kind="parameter", resource="/a/", user="bob", level="edit")
        )
    world.services.auth.set_grant(
        world.admin, SetGrant(kind="parameter", resource="/a/", user="bob", level="edit")
    )
    assert _put(world, bob, "/a/plain", "2", overwrite=True) == 2
    # A job's token reads what its submitter may, and never writes.
    job = Actor(
        ActorKind.JOB, "bob", Role.MEMBER, user_id=bob.user_id, job=JobScope("j", "j", None)
    )
    assert params.get(job, "/a/plain").value == "2"
    with pytest.raises(PermissionDenied):
        _put(world, job, "/a/plain", "3", overwrite=True)
    # Delete needs manage: the owner's.
    params.delete(alice, "/a/plain")
    with pytest.raises(NotFound):
        params.get(alice, "/a/plain")


def test_default_none_hides_names_from_listings(tmp_path: Path) -> None:
    w = _world(Settings(home=tmp_path / "h", default_permission="none", params_key=new_key()))
    try:
        _put(w, w.alice, "/x/a", "1")
        _put(w, w.bob, "/x/b", "2")
        assert [p.name for p in w.services.params.get_by_path(w.bob, "/x").parameters] == ["/x/b"]
        with pytest.raises(PermissionDenied):
            w.services.params.get(w.bob, "/x/a")
        assert len(w.services.params.get_by_path(w.admin, "/x").parameters) == 2
    finally:
        w.services.close()


def test_values_are_checked_without_echoing_them(world: World) -> None:
    with pytest.raises(InvalidArgument) as caught:
        _put(world, world.alice, "/big", "s" * 5000, type=ParameterType.SECURE_STRING)
    assert caught.value.field == "value" and "sss" not in caught.value.message
