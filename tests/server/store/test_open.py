"""Opening the metadata database: a URL that cannot work is refused in one line naming it."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from tests.services.postgres import PostgresServer

from dockyard.errors import InvalidArgument, Unavailable
from dockyard.server.store import open_database


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_an_unreachable_postgresql_is_unavailable_with_its_password_hidden() -> None:
    url = f"postgresql+psycopg://dockyard:s3cret@127.0.0.1:{_closed_port()}/dockyard"
    with pytest.raises(Unavailable) as caught:
        open_database(url)
    message = caught.value.message
    assert message.startswith("metadata database postgresql+psycopg://dockyard:***@127.0.0.1:")
    assert "Connection refused" in message
    assert "s3cret" not in message and "\n" not in message


def test_a_database_the_server_does_not_have_is_named(postgres_server: PostgresServer) -> None:
    with pytest.raises(Unavailable, match=r'database "no_such_db" does not exist'):
        open_database(postgres_server.url("no_such_db"))


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("not a url", r"DOCKYARD_DATABASE_URL\) is not a URL"),
        ("postgresql+nosuchdriver://u@127.0.0.1/d", r"cannot use the database driver"),
        ("sqlite:////proc/no-such-folder/dockyard.db", r"cannot create the SQLite database's"),
    ],
)
def test_a_url_that_cannot_work_is_an_invalid_argument(url: str, expected: str) -> None:
    with pytest.raises(InvalidArgument, match=expected) as caught:
        open_database(url)
    assert caught.value.field == "database_url"


def test_a_file_that_is_not_a_database_is_unavailable(tmp_path: Path) -> None:
    not_a_db = tmp_path / "notes.db"
    not_a_db.write_text("these are notes, not a database\n" * 100)
    with pytest.raises(Unavailable, match="file is not a database"):
        open_database(f"sqlite:///{not_a_db}")


def test_a_role_that_may_not_create_tables_is_told_so(postgres_server: PostgresServer) -> None:
    import psycopg

    url = postgres_server.new_database()  # owned by postgres: others may not create in it
    with psycopg.connect(
        f"host=127.0.0.1 port={postgres_server.port} user=postgres dbname=postgres",
        autocommit=True,
    ) as admin:
        admin.execute("DROP ROLE IF EXISTS dockyard_reader")
        admin.execute("CREATE ROLE dockyard_reader LOGIN")
    limited = url.replace("postgres@", "dockyard_reader@", 1)
    with pytest.raises(Unavailable) as caught:
        open_database(limited)
    assert caught.value.message.endswith("cannot be used: permission denied for schema public")
