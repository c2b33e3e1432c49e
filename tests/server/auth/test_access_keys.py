"""Access keys' signers, remembered for a few seconds so that the event loop can check a busy
client's signatures without a thread or a database read."""

from __future__ import annotations

from dockyard.server import Services
from dockyard.server.actor import Actor, Role
from dockyard.server.auth import CreateAccessKey, CreateUser

ROOT = Actor.local("root")


def test_a_key_read_once_is_remembered_until_forgotten(services: Services) -> None:
    services.auth.create_user(ROOT, CreateUser(name="ana", role=Role.ADMIN))
    keys = services.auth.access_keys
    made = keys.create(ROOT, CreateAccessKey(user="ana"))
    assert keys.remembered(made.access_key_id) is None  # never read: the database has it
    actor, secret = keys.signer(made.access_key_id)
    assert (actor.name, secret) == ("ana", made.secret_access_key)
    assert keys.remembered(made.access_key_id) == (actor, secret)
    keys.forget()  # as a revocation does
    assert keys.remembered(made.access_key_id) is None
