"""Personal areas of the artifact store: an account's for good, never a name's.

An account deleted and made again under the same name is someone else: the new one gets an
area of its own and neither reads nor overwrites what the deleted one left, while admins still
can, and an account that stays keeps its area.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from tests.services.postgres import connect, race

from dockyard.server import Services, create_app
from dockyard.server._inprocess import InProcessTransport
from dockyard.server.actor import Actor, Role
from dockyard.server.auth import CreateUser
from dockyard.server.store import schema
from dockyard.settings import Settings

PASSWORDS = {"root": "root-password-1", "ann": "ann-password-11", "bob": "bob-password-11"}
HOST = "dockyard.test"
LOCAL = Actor.local("root")


def _as(user: str, password: str | None = None) -> dict[str, str]:
    secret = f"{user}:{password or PASSWORDS[user]}".encode()
    return {"Authorization": "Basic " + base64.b64encode(secret).decode()}


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[httpx.Client, Services]]:
    """A server where nobody reads others' data unless granted (default permission none)."""
    settings = Settings(home=tmp_path / "home", allowed_hosts=[HOST], default_permission="none")
    services = Services.from_settings(settings)
    services.auth.create_user(
        LOCAL, CreateUser(name="root", role=Role.ADMIN, password=PASSWORDS["root"])
    )
    for name in ("ann", "bob"):
        services.auth.create_user(LOCAL, CreateUser(name=name, password=PASSWORDS[name]))
    transport = InProcessTransport(create_app(services=services), local=False)
    with httpx.Client(transport=transport, base_url=f"http://{HOST}") as client:
        yield client, services
    services.close()


def _upload(client: httpx.Client, who: dict[str, str], path: str, content: bytes) -> str:
    answer = client.put(f"/api/v1/data/{path}", content=content, headers=who)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["uri"])


def _train(client: httpx.Client, who: dict[str, str], name: str, **spec: Any) -> httpx.Response:
    """Submit a training job naming store locations (it stays queued: no scheduler runs); its
    data, unless given, is a file its submitter uploads now."""
    if "inputs" not in spec:
        own = _upload(client, who, f"{name}/train.csv", b"a,b\n1,2\n")
        spec["inputs"] = {"train": {"uri": own, "content_type": "text/csv"}}
    body = {
        "name": name,
        "experiment": f"of-{name}",  # of its own: the default one is its first submitter's
        "algorithm": "xgboost",
        "hyperparameters": {"num_round": "1"},
        **spec,
    }
    return client.post("/api/v1/jobs/training", json=body, headers=who)


def _refused(answer: httpx.Response, field: str) -> str:
    assert answer.status_code == 403, answer.text
    error = answer.json()["error"]
    assert error["field"] == field
    return str(error["message"])


def _remake_ann(client: httpx.Client) -> dict[str, str]:
    gone = client.delete("/api/v1/users/ann", headers=_as("root"))
    assert gone.status_code == 204, gone.text
    new_password = "another-ann-password"
    made = client.post(
        "/api/v1/users", json={"name": "ann", "password": new_password}, headers=_as("root")
    )
    assert made.status_code == 201, made.text
    return _as("ann", new_password)


def test_an_account_made_again_under_a_deleted_name_neither_reads_nor_overwrites_its_uploads(
    server: tuple[httpx.Client, Services], tmp_path: Path
) -> None:
    client, _ = server
    old = _upload(client, _as("ann"), "seed/train.csv", b"a,b\n1,2\n")
    store = tmp_path / "home" / "artifacts"
    assert Path(old) == store / "data" / "users" / "ann" / "seed" / "train.csv"
    new_ann = _remake_ann(client)
    # Her folder is empty: the deleted account's uploads are not listed as hers...
    listed = client.get("/api/v1/data", params={"prefix": "seed"}, headers=new_ann)
    assert listed.status_code == 200 and listed.json()["files"] == []
    # ...her upload under the same path lands in her own area, the old file stays as it was...
    mine = _upload(client, new_ann, "seed/train.csv", b"overwritten\n")
    assert Path(mine) == store / "data" / "users" / "ann-2" / "seed" / "train.csv"
    assert Path(old).read_bytes() == b"a,b\n1,2\n"
    # ...and a spec may not read the old one.
    channel = {"inputs": {"train": {"uri": old, "content_type": "text/csv"}}}
    message = _refused(_train(client, new_ann, "peek", **channel), "inputs.train.uri")
    assert "not yours" in message
    mine_in = {"inputs": {"train": {"uri": mine, "content_type": "text/csv"}}}
    assert _train(client, new_ann, "own", **mine_in).status_code == 201
    # An admin still reads what the deleted account left (jobs and models may name it).
    assert _train(client, _as("root"), "audit", **channel).status_code == 201


def test_an_account_made_again_under_a_deleted_name_may_not_write_its_checkpoints(
    server: tuple[httpx.Client, Services], tmp_path: Path
) -> None:
    client, _ = server
    checkpoints = tmp_path / "home" / "artifacts" / "checkpoints"
    mine = {"checkpoint": {"uri": str(checkpoints / "ann" / "c")}}
    first = _train(client, _as("ann"), "a1", **mine)
    assert first.status_code == 201, first.text
    new_ann = _remake_ann(client)
    old = {"checkpoint": {"uri": str(checkpoints / "ann" / "c")}}
    message = _refused(_train(client, new_ann, "a2", **old), "checkpoint.uri")
    assert "use checkpoints/ann-2/" in message  # where hers go
    own = {"checkpoint": {"uri": str(checkpoints / "ann-2" / "c")}}
    accepted = _train(client, new_ann, "a3", **own)
    assert accepted.status_code == 201, accepted.text
    # Reading an old checkpoint as a channel is refused too, as any read of the area.
    channel = {"inputs": {"train": {"uri": str(checkpoints / "ann" / "c")}}}
    _refused(_train(client, new_ann, "a4", **channel), "inputs.train.uri")


def test_an_account_that_stays_keeps_its_area_and_others_stay_out(
    server: tuple[httpx.Client, Services], tmp_path: Path
) -> None:
    client, _ = server
    uploaded = _upload(client, _as("ann"), "seed/train.csv", b"a,b\n1,2\n")
    channel = {"inputs": {"train": {"uri": uploaded, "content_type": "text/csv"}}}
    ckpt = {"checkpoint": {"uri": str(tmp_path / "home/artifacts/checkpoints/ann/c")}}
    assert _train(client, _as("ann"), "a1", **channel, **ckpt).status_code == 201
    _refused(_train(client, _as("bob"), "b1", **channel), "inputs.train.uri")
    _refused(_train(client, _as("bob"), "b2", **ckpt), "checkpoint.uri")
    # Deleting someone else changes nothing for ann.
    assert client.delete("/api/v1/users/bob", headers=_as("root")).status_code == 204
    assert _train(client, _as("ann"), "a2", **channel, **ckpt).status_code == 201


def test_areas_are_never_handed_out_twice(server: tuple[httpx.Client, Services]) -> None:
    _, services = server

    def make(name: str) -> str | None:
        return services.auth.create_user(LOCAL, CreateUser(name=name)).area

    services.auth.delete_user(LOCAL, "ann")
    assert make("ann") == "ann-2"
    # A name that is the area of another account gets the next free one...
    assert make("ann-2") == "ann-2-2"
    services.auth.delete_user(LOCAL, "ann")
    assert make("ann") == "ann-3"
    # ...and so does one that differs only in case: on a case-insensitive disk, one folder.
    assert make("BOB") == "BOB-2"
    with services.db.read() as conn:
        rows = conn.execute(select(schema.personal_areas).order_by("created_time")).all()
    retired = {r.area for r in rows if r.user_id is None}
    assert retired == {"ann", "ann-2"}
    # Each deletion names the area it left behind, in the event log.
    events = services.events.read(types=["user.deleted"])
    assert [e.body.get("area") for e in events] == ["ann", "ann-2"]


def test_users_see_their_area(server: tuple[httpx.Client, Services]) -> None:
    client, _ = server
    me = client.get("/api/v1/users/ann", headers=_as("ann"))
    assert me.status_code == 200 and me.json()["area"] == "ann"
    new_ann = _remake_ann(client)
    me = client.get("/api/v1/users/ann", headers=new_ann)
    assert me.status_code == 200 and me.json()["area"] == "ann-2"


def test_two_servers_making_accounts_that_want_one_area_at_once_give_each_its_own(
    tmp_path: Path, postgres_url: str
) -> None:
    """Another server process makes the account ``ann-2`` while this one makes ``ann`` again,
    whose area would be ``ann-2`` too: this one takes the next, as it would have seen it."""
    services = Services.from_settings(Settings(home=tmp_path / "h", database_url=postgres_url))
    services.auth.create_user(LOCAL, CreateUser(name="root", role=Role.ADMIN))
    services.auth.create_user(LOCAL, CreateUser(name="ann"))
    services.auth.delete_user(LOCAL, "ann")
    with connect(postgres_url) as other:
        other.execute(
            "INSERT INTO personal_areas (area, user_id, created_time) VALUES ('ann-2', 99, 1)"
        )
        made = race(other, lambda: services.auth.create_user(LOCAL, CreateUser(name="ann")))
    services.close()
    assert made.area == "ann-3"
