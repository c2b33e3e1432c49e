"""Personal areas of the artifact store: which account holds which, for good.

Each account gets one area when it is made, the folder under ``data/users/`` its uploads land
in and under ``checkpoints/`` its jobs may write. The area is recorded by account id and is
never handed out again, not even once its account is deleted: a new account under a deleted
name is someone else, and must find neither the files the deleted one left nor a way to write
over them (they stay for the admins, and for the jobs and models that still name them).

An area is the account's name while no area has had that name (compared without case: on a
case-insensitive disk ``Ann`` and ``ann`` are one folder), ``<name>-2``, ``<name>-3``, ...
after that. Callers own the transaction.
"""

from __future__ import annotations

from itertools import count

from sqlalchemy import Connection, func, select, update
from sqlalchemy.exc import IntegrityError

from dockyard.server.store import schema

__all__ = ["area_of", "claim_area", "retire_area"]

_A = schema.personal_areas


def area_of(conn: Connection, user_id: int) -> str | None:
    """The area of the account ``user_id`` (None: the account does not exist)."""
    found = conn.execute(select(_A.c.area).where(_A.c.user_id == user_id)).scalar()
    return None if found is None else str(found)


def claim_area(conn: Connection, name: str, user_id: int, now: int) -> str:
    """Record a new area for the new account ``user_id`` named ``name``; answer it."""
    for n in count(1):
        area = name if n == 1 else f"{name}-{n}"
        taken = select(_A.c.area).where(func.lower(_A.c.area) == area.lower()).limit(1)
        if conn.execute(taken).first() is not None:
            continue
        try:
            with conn.begin_nested():  # another account made meanwhile may have taken it
                conn.execute(_A.insert().values(area=area, user_id=user_id, created_time=now))
        except IntegrityError:
            if area_of(conn, user_id) is not None:  # not the area: the account has one
                raise
            continue
        return area
    raise AssertionError("unreachable")  # pragma: no cover


def retire_area(conn: Connection, user_id: int, now: int) -> None:
    """The account ``user_id`` is being deleted: its area belongs to nobody from now on."""
    conn.execute(update(_A).where(_A.c.user_id == user_id).values(user_id=None, retired_time=now))
