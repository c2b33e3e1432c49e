"""The metadata database: one object that hands out read and write transactions.

SQLite (the embedded default) runs in WAL mode so readers never block the writer. Its writers
start with ``BEGIN IMMEDIATE``: a deferred transaction that later upgrades to a write lock can
fail at once with "database is locked" (busy_timeout does not help an upgrade deadlock), while an
immediate one simply waits its turn. Reads use ordinary deferred transactions so they never queue
behind writers: from a pool of their own, or on the event loop's kept connection (below), whose
zero busy timeout a WAL reader does not need (SQLite retries a read that meets another
connection's recovery itself). PostgreSQL needs none of this: both context
managers share one engine.

A small write may run on an event loop (:meth:`Database.without_waiting`) as long as it never
makes the loop wait: inside that block a write transaction that would wait for another writer
(this process's or another's) raises :class:`WriterBusy` before it begins, for the caller to
run it in a thread instead, and its commit never checkpoints the WAL (a checkpoint writes and
syncs the database file, milliseconds the loop must not spend). Every ``_POOLED_EVERY``-th such
write is refused, so a commit that may checkpoint still happens in a thread while clients only
log metrics.

On SQLite a process's writes run one at a time, so each kind (waiting or not) keeps one
connection between them: a pool checkout and return cost a sixth of a small write. The event
loop's thread, where short reads run inline, keeps a connection of its own for the same reason
(:meth:`Database.keep_reads_here`), and its writes that do not wait run on that connection
too: SQLite empties a connection's page cache whenever another connection has written since
its last transaction, so a read on a separate connection after each write re-read every page
it needed (a DescribeExecution after each StartExecution took twice as long).

:func:`after_commit` defers work (waking the event log's readers) until the write transaction
it is called in has committed, so nobody is woken to read a row that is not there yet.

:meth:`Database.write_each` runs several callers' writes in one transaction, each in a savepoint
of its own (group commit, :mod:`._grouped`): on SQLite a commit is a good part of a small
write's cost, and the writes queue for the one writer anyway.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from contextvars import Context, ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, IntegrityError, OperationalError

from dockyard.errors import Conflict, DockyardError, InvalidArgument, Unavailable

__all__ = ["Database", "Grouped", "WriterBusy", "after_commit"]

log = logging.getLogger("dockyard.server.store")

_BUSY_TIMEOUT = "PRAGMA busy_timeout=30000"
_SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    # NORMAL in WAL mode survives a process crash (the WAL is fsynced at checkpoints); only an OS
    # crash or power loss can drop the last transactions. That is the trade every embedded
    # tracking store makes for per-call commits in the tens of microseconds.
    "PRAGMA synchronous=NORMAL",
    "PRAGMA foreign_keys=ON",
    _BUSY_TIMEOUT,
    "PRAGMA cache_size=-65536",
    "PRAGMA temp_store=MEMORY",
)
# A write begun without waiting: refused at once when another writer holds the lock, and its
# commit leaves the WAL to a writer in a thread to checkpoint.
_UNWAITED_PRAGMAS = ("PRAGMA busy_timeout=0", "PRAGMA wal_autocheckpoint=0")
# Set by Database.without_waiting for the code it runs (per task or thread, as contexts are).
_NO_WAIT: ContextVar[bool] = ContextVar("dockyard_write_without_waiting", default=False)
_POOLED_EVERY = 256
_KEPT_READS = 4  # threads (event loops) whose SQLite reads may keep a connection between them
# What to run once the write transaction open in this context commits (None: none is open).
_AFTER_COMMIT: ContextVar[list[Callable[[], None]] | None] = ContextVar(
    "dockyard_after_commit", default=None
)


def after_commit(callback: Callable[[], None]) -> None:
    """Run ``callback`` once the :meth:`Database.write` transaction open in this thread or task
    commits; never if it rolls back. Outside such a transaction, at once."""
    pending = _AFTER_COMMIT.get()
    if pending is None:
        callback()
    else:
        pending.append(callback)


class WriterBusy(Unavailable):
    """A write inside :meth:`Database.without_waiting` would have waited: run it elsewhere.

    Raised before the transaction begins, so nothing was written.
    """


@dataclass
class Grouped:
    """One caller's write in :meth:`Database.write_each`: ``work`` runs in ``context`` (the
    caller's), and its outcome lands in ``result`` or ``error``."""

    work: Callable[[Connection], Any]
    context: Context
    result: Any = None
    error: BaseException | None = None


class Database:
    """Engines and transactions for one metadata database URL.

    Args:
        url: A SQLAlchemy URL: ``sqlite:///path.db`` or ``postgresql+psycopg://...``.
        echo: Log SQL statements (debugging only).
    """

    def __init__(self, url: str, *, echo: bool = False) -> None:
        try:
            parsed = make_url(url)
        except ArgumentError as exc:
            raise InvalidArgument(
                "the database URL (DOCKYARD_DATABASE_URL) is not a URL: use "
                "sqlite:///path/to/dockyard.db or postgresql+psycopg://user:password@host/db",
                field="database_url",
            ) from exc
        self.url = url
        self.dialect = parsed.get_backend_name()
        if self.dialect not in ("sqlite", "postgresql"):
            raise InvalidArgument(
                f"unsupported database {self.dialect!r}: use sqlite:/// or postgresql+psycopg://",
                field="database_url",
            )
        self._write_lock = threading.Lock()
        self._unwaited = 0  # writes begun without waiting, for _POOLED_EVERY
        if self.dialect == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                folder = Path(parsed.database).parent
                try:
                    folder.mkdir(parents=True, exist_ok=True)
                except OSError as exc:
                    raise InvalidArgument(
                        f"cannot create the SQLite database's folder {folder}: "
                        f"{exc.strerror or exc}",
                        field="database_url",
                    ) from exc
            self.read_engine = self._sqlite_engine(url, immediate=False, echo=echo)
            self.write_engine = self._sqlite_engine(url, immediate=True, echo=echo)
            # The writes begun without waiting have connections of their own, which never wait
            # for the lock and never checkpoint (set once, not around every write); the threads
            # that keep a connection read on theirs as well (see the module's docstring).
            self._unwaited_engine = self._sqlite_engine(
                url, immediate=True, echo=echo, waits=False, kept=_KEPT_READS
            )
            self._readers: _KeptReads | None = _KeptReads(self._unwaited_engine, _KEPT_READS)
            # Writes run one at a time per process (_write_lock), each kind on one connection
            # kept between them: checking one out of the pool and back cost a sixth of a small
            # write.
            self._writer = _Kept(self.write_engine)
            self._unwaited_writer = _Kept(self._unwaited_engine)
        else:
            try:
                engine = create_engine(
                    url, echo=echo, pool_pre_ping=True, pool_size=10, max_overflow=20
                )
            except (ArgumentError, ImportError) as exc:
                raise InvalidArgument(
                    f"cannot use the database driver {parsed.drivername!r} ({exc}): use "
                    "postgresql+psycopg://",
                    field="database_url",
                ) from exc
            self.read_engine = self.write_engine = engine
            self._readers = None

    @staticmethod
    def _sqlite_engine(
        url: str, *, immediate: bool, echo: bool, waits: bool = True, kept: int = 0
    ) -> Engine:
        """An engine whose transactions begin with ``BEGIN IMMEDIATE`` (``immediate``) or a
        deferred ``BEGIN``; with ``waits`` False, one whose BEGIN raises :class:`WriterBusy`
        instead of waiting for another writer and whose commits never checkpoint the WAL (and
        whose reads on a kept connection begin deferred: :meth:`_Kept.begin`). Its
        pool has room for ``kept`` connections that never return to it, besides SQLAlchemy's
        usual five (and ten more for a while)."""
        engine = create_engine(
            url,
            echo=echo,
            connect_args={"check_same_thread": False},
            pool_size=5 + kept,
            max_overflow=10,
        )
        pragmas = _SQLITE_PRAGMAS if waits else (*_SQLITE_PRAGMAS, *_UNWAITED_PRAGMAS)

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            # Take transaction control away from the sqlite3 module so BEGIN is ours to emit.
            dbapi_conn.isolation_level = None
            cursor = dbapi_conn.cursor()
            for pragma in pragmas:
                cursor.execute(pragma)
            cursor.close()

        begin = "BEGIN IMMEDIATE" if immediate else "BEGIN"

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            # Straight to the driver: through SQLAlchemy's execution path the BEGIN cost ~20 µs,
            # as much as a small read's own SELECT.
            driver: sqlite3.Connection = conn.connection.driver_connection  # type: ignore[assignment]
            if waits:
                driver.execute(begin)
                return
            try:
                driver.execute("BEGIN" if conn.info.get(_READING) else begin)
            except sqlite3.OperationalError as exc:  # another process is writing
                raise WriterBusy(f"metadata database busy: {exc}") from exc

        return engine

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only transaction."""
        readers = self._readers
        with readers.reading() if readers is not None else nullcontext() as kept:
            if kept is None:
                with _translate_errors(), self.read_engine.connect() as conn, conn.begin():
                    yield conn
            else:
                with _translate_errors(), kept.begin(reading=True) as conn:
                    yield conn

    @contextmanager
    def read_statement(self) -> Iterator[Connection]:
        """A connection for a read of one statement: on SQLite, on a thread that keeps its
        connection, no BEGIN and COMMIT around it (SQLite runs a lone statement in a read
        transaction of its own, as consistent as any); a read transaction elsewhere. For the
        hottest reads (a DescribeExecution), whose BEGIN and COMMIT through SQLAlchemy cost a
        fifth of the request."""
        readers = self._readers
        with readers.reading() if readers is not None else nullcontext() as kept:
            if kept is None:
                with self.read() as conn:
                    yield conn
            else:
                with _translate_errors(), kept.statement() as conn:
                    yield conn

    def keep_reads_here(self) -> None:
        """Let this thread's reads, and its writes that do not wait, keep one SQLite connection
        between them (at most a few threads may): for the server's event loop, whose short
        reads and writes run inline one after another, a pool checkout and return cost a sixth
        of a small read request, and a connection of its own would lose its page cache to each
        of the loop's writes. Other threads read from the pool."""
        if self._readers is not None:
            self._readers.keep_here()

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction, committed when the block exits without an exception.

        Raises:
            WriterBusy: Within :meth:`without_waiting`, when the transaction would wait.
        """
        pending: list[Callable[[], None]] = []
        token = _AFTER_COMMIT.set(pending)
        try:
            with self._transaction() as conn:
                yield conn
        finally:
            _AFTER_COMMIT.reset(token)
        for callback in pending:  # reached only when the transaction committed
            callback()

    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
        if self.dialect != "sqlite":
            with _translate_errors(), self.write_engine.begin() as conn:
                yield conn
        elif not _NO_WAIT.get():
            # One writer at a time per process: threads queue here instead of spinning on
            # SQLite's busy handler, which is much slower under contention.
            with self._write_lock, _translate_errors(), self._writer.begin() as conn:
                yield conn
        else:
            if not self._write_lock.acquire(blocking=False):
                raise WriterBusy("another write of this process is in progress")
            try:
                self._unwaited += 1
                if self._unwaited % _POOLED_EVERY == 0:
                    raise WriterBusy("this write may checkpoint the WAL")
                readers = self._readers
                with readers.reading() if readers is not None else nullcontext() as kept:
                    writer = kept if kept is not None else self._unwaited_writer
                    with _translate_errors(), writer.begin() as conn:
                        yield conn
            finally:
                self._write_lock.release()

    def write_each(self, group: Sequence[Grouped]) -> None:
        """Run each of ``group``'s works in one write transaction (SQLite only), each in a
        savepoint: a work that raises is rolled back alone and keeps its exception in
        ``error``; the others commit together, and each one's :func:`after_commit` callbacks
        run once they have. A failure of the transaction itself (its BEGIN or COMMIT) is every
        work's error; :class:`WriterBusy` (within :meth:`without_waiting`) is raised instead,
        nothing written, for the caller to run the group elsewhere.
        """
        if self.dialect != "sqlite":
            raise TypeError("write_each groups SQLite writes only")
        waits = not _NO_WAIT.get()
        committed: list[Callable[[], None]] = []
        try:
            with self._transaction() as conn:
                driver: sqlite3.Connection = conn.connection.driver_connection  # type: ignore[assignment]
                for one in group:
                    pending: list[Callable[[], None]] = []
                    driver.execute("SAVEPOINT grouped")
                    try:
                        one.result = one.context.run(_run_grouped, one.work, conn, pending, waits)
                    except Exception as exc:
                        driver.execute("ROLLBACK TO grouped")
                        one.error = exc
                    else:
                        committed.extend(pending)
                    driver.execute("RELEASE grouped")
        except WriterBusy:
            raise
        except Exception as exc:  # BEGIN, a savepoint or COMMIT failed: nothing was written
            if isinstance(exc, sqlite3.Error):
                exc = Unavailable(f"metadata database unavailable: {exc}")
            for one in group:
                one.result, one.error = None, exc
            return
        for callback in committed:  # the works are committed whatever a callback does
            try:
                callback()
            except Exception:
                log.exception("a callback after a grouped commit failed")

    @contextmanager
    def without_waiting(self) -> Iterator[None]:
        """Within the block, :meth:`write` raises :class:`WriterBusy` where it would wait for
        another writer, and its commit leaves the WAL to a later one to checkpoint: for a small
        write on an event loop, retried in a thread when refused. On PostgreSQL (a network
        round trip each statement) it changes nothing: callers keep such writes off the loop.
        """
        token = _NO_WAIT.set(self.dialect == "sqlite")
        try:
            yield
        finally:
            _NO_WAIT.reset(token)

    def may_wait(self) -> bool:
        """False inside :meth:`without_waiting` (code on an event loop): work that may take
        long raises :class:`WriterBusy` there, before writing, to be run in a thread."""
        return not _NO_WAIT.get()

    def dispose(self) -> None:
        """Close every pooled connection."""
        if self._readers is not None:
            self._readers.close()
        self.read_engine.dispose()
        if self.write_engine is not self.read_engine:
            with self._write_lock:
                self._writer.close()
                self._unwaited_writer.close()
            self.write_engine.dispose()
            self._unwaited_engine.dispose()


def _run_grouped(
    work: Callable[[Connection], Any],
    conn: Connection,
    pending: list[Callable[[], None]],
    waits: bool,
) -> Any:
    """``work(conn)`` in its caller's context, as inside :meth:`Database.write`: its
    :func:`after_commit` callbacks wait in ``pending``; :meth:`Database.without_waiting` holds
    for it as for the group."""
    after = _AFTER_COMMIT.set(pending)
    no_wait = _NO_WAIT.set(not waits)
    try:
        return work(conn)
    finally:
        _NO_WAIT.reset(no_wait)
        _AFTER_COMMIT.reset(after)


class _Kept:
    """One connection of ``engine`` kept between transactions that never overlap (the caller
    holds a lock, or only one thread uses it); dropped after a transaction that fails, is
    refused or rolls back, so the next one starts clean. An error ``keeps_on`` accepts (the
    caller's own, such as a read that found nothing) keeps it: its rollback is all that
    transaction needs."""

    def __init__(
        self, engine: Engine, keeps_on: Callable[[BaseException], bool] | None = None
    ) -> None:
        self._engine = engine
        self._keeps_on = keeps_on
        self._conn: Connection | None = None

    @contextmanager
    def begin(self, *, reading: bool = False) -> Iterator[Connection]:
        """A transaction on the kept connection; ``reading``: a deferred one, on an engine
        whose transactions otherwise begin with ``BEGIN IMMEDIATE`` (see _sqlite_engine)."""
        conn = self._conn
        if conn is None:
            conn = self._conn = self._engine.connect()
        conn.info[_READING] = reading
        try:
            with conn.begin():
                yield conn
        except BaseException as exc:
            if self._keeps_on is None or not self._keeps_on(exc):
                self.close()
            raise

    @contextmanager
    def statement(self) -> Iterator[Connection]:
        """The kept connection outside any transaction, for one statement run on its driver
        (:meth:`Database.read_statement`). A statement run through SQLAlchemy instead begins a
        deferred transaction, rolled back here."""
        conn = self._conn
        if conn is None:
            conn = self._conn = self._engine.connect()
        conn.info[_READING] = True
        try:
            yield conn
        except BaseException as exc:
            if self._keeps_on is None or not self._keeps_on(exc):
                self.close()
            raise
        finally:
            if self._conn is not None and conn.in_transaction():
                conn.rollback()

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


class _KeptReads:
    """A :class:`_Kept` connection for each thread that asked for one
    (:meth:`Database.keep_reads_here`), at most ``limit`` of them: its reads, and its writes
    that do not wait (under the process's write lock, as every write), run on it.

    A thread uses only its own, so nothing is locked per read; a transaction nested in another
    on the same thread, or from a thread that did not ask, uses another connection. A
    transaction started on its thread is ended for that thread, wherever it ends; one running
    when :meth:`close` is called ends before its connection is closed.
    """

    def __init__(self, engine: Engine, limit: int) -> None:
        self._engine = engine
        self._limit = limit
        self._by_thread: dict[int, _Kept] = {}
        self._busy: set[int] = set()  # threads inside a transaction on their kept connection
        self._closed = False
        self._lock = threading.Lock()

    def keep_here(self) -> None:
        with self._lock:
            if not self._closed and len(self._by_thread) < self._limit:
                self._by_thread.setdefault(
                    threading.get_ident(), _Kept(self._engine, keeps_on=_callers_own)
                )

    @contextmanager
    def reading(self) -> Iterator[_Kept | None]:
        """This thread's kept connection for one transaction, or None (none kept, or it is in
        one already) to use another."""
        thread = threading.get_ident()
        kept = None if thread in self._busy else self._by_thread.get(thread)
        if kept is None:
            yield None
            return
        self._busy.add(thread)
        try:
            yield kept
        finally:
            self._busy.discard(thread)
            if self._closed:
                kept.close()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            for thread, kept in self._by_thread.items():
                if thread not in self._busy:  # a running read closes its own as it ends
                    kept.close()
            self._by_thread.clear()


#: The key of a kept connection's ``info`` that makes its next BEGIN a deferred one.
_READING = "dockyard_reading"


def _callers_own(error: BaseException) -> bool:
    """Whether ``error`` is the caller's own (a read that found nothing, a write refused before
    it began: :class:`WriterBusy`), after which a kept connection is as good as before: not the
    database's, translated or not."""
    if isinstance(error, WriterBusy):
        return True
    return isinstance(error, DockyardError) and not isinstance(error, Unavailable)


@contextmanager
def _translate_errors() -> Iterator[None]:
    try:
        yield
    except OperationalError as exc:
        raise Unavailable(f"metadata database unavailable: {exc.orig}") from exc
    except IntegrityError as exc:
        if not _unique_violation(exc):
            raise
        # A key a repository read as free and then inserted: on PostgreSQL another server
        # process (or worker) can insert it in between, and this write then fails on the key.
        # Repositories that expect that answer it themselves; elsewhere the request is simply
        # sent again, when the read sees the other row.
        raise Conflict(
            "another request wrote the same record at the same time; send this one again"
        ) from exc
    except DBAPIError as exc:
        if exc.connection_invalidated:
            raise Unavailable(f"metadata database connection lost: {exc.orig}") from exc
        raise


def _unique_violation(exc: IntegrityError) -> bool:
    """Whether ``exc`` is a unique or primary key refusing a row (not a foreign key, a NOT
    NULL or a CHECK)."""
    if getattr(exc.orig, "sqlstate", None) == "23505":  # PostgreSQL's unique_violation
        return True
    name = getattr(exc.orig, "sqlite_errorname", "")
    return name in ("SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY")
