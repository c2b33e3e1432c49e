"""SQL for state machines, executions, history, tasks and timers; callers own the transaction."""

from __future__ import annotations

import builtins
import sqlite3
from collections import namedtuple
from typing import Any

import orjson
from sqlalchemy import Connection, bindparam, delete, func, select, update

from dockyard.errors import Unavailable
from dockyard.server.pipelines._errors import ExecutionMissing, StateMachineMissing
from dockyard.server.store import DriverSelect, insert_ignore, schema, upsert

__all__ = ["HISTORY_CHUNK", "OPEN_TASK", "HistoryRow", "PipelineRepository"]

_M = schema.pipeline_state_machines
_X = schema.pipeline_executions
_H = schema.pipeline_history_chunks
_T = schema.pipeline_tasks
_W = schema.pipeline_timers

#: Task statuses that still hold work: not yet started, waiting on something, being cancelled.
OPEN_TASK = ("scheduled", "started", "cancelling")


class _ByKey:
    """A prebuilt SELECT of a table's whole row by its key, on SQLite's driver (every transition
    and every DescribeExecution reads a state machine and an execution: see DriverSelect). Rows
    answer by column name, as SQLAlchemy's do."""

    def __init__(self, table: Any, key: str, *, lock: bool = False, share: bool = False) -> None:
        query = select(table).where(table.c[key] == bindparam("key"))
        if lock or share:  # (SQLite has one writer at a time: it leaves the clause out)
            query = query.with_for_update(read=share)
        self._select = DriverSelect(query)
        self._row = namedtuple(f"{table.name}_row", [c.key for c in table.c])  # type: ignore[misc]

    def first(self, conn: Connection, key: str) -> Any | None:
        for row in self._select.rows(conn, {"key": key}):
            return self._row(*row)
        return None


_HISTORY_COLUMNS = tuple(c.key for c in _H.c)
_HISTORY_INSERT = (
    f"INSERT INTO {_H.name} ({', '.join(_HISTORY_COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in _HISTORY_COLUMNS)})"
)
#: The most events one history row holds: a transition's events are one row (a 10-state
#: execution's twenty), and a page of history decodes a few rows.
HISTORY_CHUNK = 100  # reads rely on no chunk being longer: never lower it (0018 wrote 100s)

#: One event of an execution's history; ``details`` is its detail object.
HistoryRow = namedtuple("HistoryRow", ["event_id", "previous_event_id", "type", "time", "details"])
_MACHINE = _ByKey(_M, "arn")
_MACHINE_SHARED = _ByKey(_M, "arn", share=True)


def _driver_run(conn: Connection, sql: str, rows: builtins.list[tuple[Any, ...]]) -> None:
    """Run ``sql`` for each of ``rows`` on the SQLite driver beneath ``conn`` (the same
    transaction): ~2-3 µs a row against ~20 µs through SQLAlchemy's execution path."""
    driver: sqlite3.Connection = conn.connection.driver_connection  # type: ignore[assignment]
    try:
        driver.executemany(sql, rows)
    except sqlite3.OperationalError as exc:  # as Database's own transactions report it
        raise Unavailable(f"metadata database unavailable: {exc}") from exc


def _driver_count(conn: Connection, sql: str, params: tuple[Any, ...]) -> int:
    """Run ``sql`` once on the SQLite driver beneath ``conn``; the rows it changed (a
    transition's three writes: its task done, the next task, the execution; see _driver_run)."""
    driver: sqlite3.Connection = conn.connection.driver_connection  # type: ignore[assignment]
    try:
        return driver.execute(sql, params).rowcount
    except sqlite3.OperationalError as exc:
        raise Unavailable(f"metadata database unavailable: {exc}") from exc


def _columns(table: Any, names: Any) -> list[str]:
    return [table.c[name].name for name in names]  # KeyError: not a column


_EXECUTION = _ByKey(_X, "arn")
_Y = _X.alias("newer")
#: Each state machine's newest execution, as its listing orders them (newest first, the last by
#: ARN among those started in the same millisecond): one index lookup per machine.
_NEWEST = (
    select(_Y.c.arn)
    .where(_Y.c.state_machine_arn == _M.c.arn)
    .order_by(_Y.c.start_time.desc(), _Y.c.arn.desc())
    .limit(1)
    .scalar_subquery()
)
_EXECUTION_LOCKED = _ByKey(_X, "arn", lock=True)

#: What DescribeExecution answers with, and its state machine's name and owner (None when the
#: machine is gone): one statement, without the snapshot and definition a transition reads.
_DESCRIBED_COLUMNS = (
    "arn",
    "state_machine_arn",
    "name",
    "status",
    "start_time",
    "stop_time",
    "redrive_count",
    "input",
    "output",
    "error",
    "cause",
    "redrive_time",
    "revision_id",
)
_DESCRIBED = DriverSelect(
    select(
        *(_X.c[name] for name in _DESCRIBED_COLUMNS),
        _M.c.name.label("machine_name"),
        _M.c.owner_id.label("machine_owner_id"),
    )
    .select_from(_X.outerjoin(_M, _M.c.arn == _X.c.state_machine_arn))
    .where(_X.c.arn == bindparam("key"))
)
_STARTED = DriverSelect(
    select(_X.c.status, _X.c.input, _X.c.start_time).where(_X.c.arn == bindparam("key"))
)
_Started = namedtuple("_Started", ["status", "input", "start_time"])
_Described = namedtuple(  # type: ignore[misc]
    "_Described", [*_DESCRIBED_COLUMNS, "machine_name", "machine_owner_id"]
)


class PipelineRepository:
    """Reads and writes the pipeline tables."""

    # -- state machines -------------------------------------------------------------------------

    def machine(self, conn: Connection, arn: str, *, share: bool = False) -> Any:
        """The state machine's row; ``share``: locked against a delete until the transaction
        ends (a start's, on PostgreSQL: the delete then waits for it, and sees its execution)."""
        row = (_MACHINE_SHARED if share else _MACHINE).first(conn, arn)
        if row is None:
            raise StateMachineMissing(f"State Machine Does Not Exist: '{arn}'", field="arn")
        return row

    def machine_exists(self, conn: Connection, arn: str) -> bool:
        return _MACHINE.first(conn, arn) is not None

    def insert_machine(self, conn: Connection, **values: Any) -> None:
        conn.execute(_M.insert().values(**values))

    def change_machine(self, conn: Connection, arn: str, values: dict[str, Any]) -> None:
        conn.execute(update(_M).where(_M.c.arn == arn).values(**values))

    def delete_machine(self, conn: Connection, arn: str) -> None:
        conn.execute(delete(_M).where(_M.c.arn == arn))

    def retire_executions(self, conn: Connection, machine_arn: str) -> int:
        """Detach the executions of a deleted state machine from its ARN (they are kept, under
        ``deletedStateMachine``); the number detached. A machine created again under that name
        neither lists nor shows them, and their names stay taken, so a new execution never
        meets the jobs an old one of the same name started (tasks name work after the
        execution)."""
        retired = machine_arn.replace(":stateMachine:", ":deletedStateMachine:", 1)
        query = update(_X).where(_X.c.state_machine_arn == machine_arn)
        return int(conn.execute(query.values(state_machine_arn=retired)).rowcount)

    def machines(
        self, conn: Connection, after: str | None, limit: int, owner_id: int | None = None
    ) -> builtins.list[Any]:
        """By name, after ``after``; only account ``owner_id``'s when given."""
        query = select(_M).order_by(_M.c.name)
        if after is not None:
            query = query.where(_M.c.name > after)
        if owner_id is not None:
            query = query.where(_M.c.owner_id == owner_id)
        return list(conn.execute(query.limit(limit)).all())

    # -- executions -----------------------------------------------------------------------------

    def execution(self, conn: Connection, arn: str, *, lock: bool = False) -> Any:
        row = (_EXECUTION_LOCKED if lock else _EXECUTION).first(conn, arn)
        if row is None:
            raise ExecutionMissing(f"Execution Does Not Exist: '{arn}'", field="executionArn")
        return row

    def described_execution(self, conn: Connection, arn: str) -> Any:
        """The execution's described columns with its machine's ``machine_name`` and
        ``machine_owner_id`` (both None when the machine is gone)."""
        for row in _DESCRIBED.rows(conn, {"key": arn}):
            return _Described(*row)
        raise ExecutionMissing(f"Execution Does Not Exist: '{arn}'", field="executionArn")

    def find_execution(self, conn: Connection, arn: str) -> Any | None:
        """The ``status``, ``input`` and ``start_time`` of the execution, if it exists (what a
        StartExecution of the same name compares: not the row's snapshot and definition)."""
        for row in _STARTED.rows(conn, {"key": arn}):
            return _Started(*row)
        return None

    def insert_execution(self, conn: Connection, **values: Any) -> None:
        """Insert an execution (on SQLite's driver: one per StartExecution, see add_history);
        columns left out take their defaults."""
        if conn.dialect.name != "sqlite":
            conn.execute(_X.insert().values(**values))
            return
        columns = [_X.c[name].name for name in values]  # KeyError: not a column
        sql = (
            f"INSERT INTO {_X.name} ({', '.join(columns)}) "
            f"VALUES ({', '.join('?' for _ in columns)})"
        )
        _driver_run(conn, sql, [tuple(values.values())])

    def change_execution(self, conn: Connection, arn: str, values: dict[str, Any]) -> None:
        if conn.dialect.name != "sqlite":
            conn.execute(update(_X).where(_X.c.arn == arn).values(**values))
            return
        assignments = ", ".join(f"{c} = ?" for c in _columns(_X, values))
        sql = f"UPDATE {_X.name} SET {assignments} WHERE {_X.c.arn.name} = ?"
        _driver_count(conn, sql, (*values.values(), arn))

    def executions(
        self,
        conn: Connection,
        machine_arn: str,
        status: str | None,
        before: tuple[int, str] | None,
        limit: int,
        *,
        redriven: bool | None = None,
    ) -> builtins.list[Any]:
        """Newest first; ``before`` is the (start time, arn) the last page ended at;
        ``redriven``: only those redriven at least once (True) or never (False)."""
        query = select(_X).where(_X.c.state_machine_arn == machine_arn)
        if status is not None:
            query = query.where(_X.c.status == status)
        if redriven is not None:
            query = query.where(_X.c.redrive_count > 0 if redriven else _X.c.redrive_count == 0)
        if before is not None:
            time, arn = before
            query = query.where(
                (_X.c.start_time < time) | ((_X.c.start_time == time) & (_X.c.arn < arn))
            )
        order = query.order_by(_X.c.start_time.desc(), _X.c.arn.desc())
        return list(conn.execute(order.limit(limit)).all())

    def activity(
        self, conn: Connection, machine_arns: builtins.list[str]
    ) -> tuple[dict[str, Any], dict[str, int]]:
        """For a page of state machines: each one's newest execution (its summary columns, an
        index lookup for each machine, however many executions it has) and how many of its
        executions are running; two statements for the page, however long."""
        if not machine_arns:
            return {}, {}
        newest = conn.execute(
            select(
                _X.c.arn,
                _X.c.state_machine_arn,
                _X.c.name,
                _X.c.status,
                _X.c.start_time,
                _X.c.stop_time,
                _X.c.redrive_count,
            )
            .select_from(_M)
            .join(_X, _X.c.arn == _NEWEST)
            .where(_M.c.arn.in_(machine_arns))
        ).all()
        latest: dict[str, Any] = {row.state_machine_arn: row for row in newest}
        counted = conn.execute(
            select(_X.c.state_machine_arn, func.count())
            .where(_X.c.state_machine_arn.in_(machine_arns), _X.c.status == "RUNNING")
            .group_by(_X.c.state_machine_arn)
        ).all()
        return latest, {arn: int(n) for arn, n in counted}

    # -- history --------------------------------------------------------------------------------

    def add_history(
        self,
        conn: Connection,
        arn: str,
        first: int,
        events: builtins.list[tuple[str, int, dict[str, Any], int | None]],
    ) -> None:
        """Append ``events`` (type, time in ms, details, the id of the event that led to it or
        None for the one just before it) to execution ``arn``'s history, their ids from
        ``first`` on: a row per :data:`HISTORY_CHUNK` of them (on SQLite one ``executemany``
        on the driver)."""
        rows = []
        for start in range(0, len(events), HISTORY_CHUNK):
            part = events[start : start + HISTORY_CHUNK]
            low = first + start
            encoded = orjson.dumps(
                [
                    [low + i, low + i - 1 if previous is None else previous, type, time, details]
                    for i, (type, time, details, previous) in enumerate(part)
                ]
            ).decode()
            rows.append((arn, low, low + len(part) - 1, encoded))
        if not rows:
            return
        if conn.dialect.name != "sqlite":
            conn.execute(
                _H.insert(), [dict(zip(_HISTORY_COLUMNS, row, strict=True)) for row in rows]
            )
            return
        _driver_run(conn, _HISTORY_INSERT, rows)

    def history(
        self, conn: Connection, arn: str, after: int, limit: int, reverse: bool
    ) -> builtins.list[HistoryRow]:
        """Up to ``limit`` events of ``arn``'s history after event ``after`` (before it when
        ``reverse``, newest first; from either end when ``after`` is 0)."""
        # An execution's event ids run 1, 2, 3... with no gap: the page's events are the ids
        # from ``after`` on (or back) by ``limit``, and only the chunks holding them are read
        # (PostgreSQL sends a statement's every row: a bound of ``limit`` chunks would send a
        # hundred times the page where a Map's transition filled its chunks).
        query = select(_H.c.events).where(_H.c.execution_arn == arn)
        if reverse:
            if after:
                query = query.where(
                    _H.c.first_event_id < after, _H.c.last_event_id >= after - limit
                )
            else:
                newest = (
                    select(_H.c.last_event_id)
                    .where(_H.c.execution_arn == arn)
                    .order_by(_H.c.first_event_id.desc())
                    .limit(1)
                    .scalar_subquery()
                )
                query = query.where(_H.c.last_event_id > newest - limit)
            query = query.order_by(_H.c.first_event_id.desc())
        else:
            # A chunk holding an event past ``after`` starts at most HISTORY_CHUNK - 1 before it.
            query = query.where(
                _H.c.last_event_id > after,
                _H.c.first_event_id > after - HISTORY_CHUNK,
                _H.c.first_event_id <= after + limit,
            ).order_by(_H.c.first_event_id)
        found: builtins.list[HistoryRow] = []
        for (encoded,) in conn.execute(query.limit(limit)):
            events = orjson.loads(encoded)
            if reverse:
                events.reverse()
            found.extend(
                HistoryRow(*event)
                for event in events
                if not after or (event[0] < after if reverse else event[0] > after)
            )
            if len(found) >= limit:
                return found[:limit]
        return found

    # -- tasks ----------------------------------------------------------------------------------

    def claim_task(self, conn: Connection, values: dict[str, Any]) -> bool:
        """Insert a task unless its key exists (a task starts once); True when inserted."""
        if conn.dialect.name != "sqlite":
            return bool(insert_ignore(conn, _T, [values], keys=("task_key",)))
        columns = _columns(_T, values)
        sql = (
            f"INSERT INTO {_T.name} ({', '.join(columns)}) "
            f"VALUES ({', '.join('?' for _ in columns)}) "
            f"ON CONFLICT ({_T.c.task_key.name}) DO NOTHING"
        )
        return _driver_count(conn, sql, tuple(values.values())) == 1

    def task(self, conn: Connection, key: str) -> Any | None:
        return conn.execute(select(_T).where(_T.c.task_key == key)).first()

    def task_by_token(self, conn: Connection, token: str) -> Any | None:
        return conn.execute(select(_T).where(_T.c.task_token == token)).first()

    def tasks(self, conn: Connection, status: str, limit: int = 100) -> builtins.list[Any]:
        query = select(_T).where(_T.c.status == status).order_by(_T.c.created_time)
        return list(conn.execute(query.limit(limit)).all())

    def open_tasks(self, conn: Connection, execution_arn: str) -> builtins.list[Any]:
        query = select(_T).where(_T.c.execution_arn == execution_arn, _T.c.status.in_(OPEN_TASK))
        return list(conn.execute(query).all())

    def execution_tasks(self, conn: Connection, execution_arn: str) -> builtins.list[Any]:
        query = select(_T).where(_T.c.execution_arn == execution_arn)
        return list(conn.execute(query.order_by(_T.c.created_time)).all())

    def change_task(
        self,
        conn: Connection,
        key: str,
        values: dict[str, Any],
        *,
        only: tuple[str, ...] | None = None,
    ) -> int:
        """Update task ``key`` (only while its status is one of ``only``, when given)."""
        query = update(_T).where(_T.c.task_key == key)
        if only is not None:
            query = query.where(_T.c.status.in_(only))
        return int(conn.execute(query.values(**values)).rowcount)

    def set_task_status(
        self, conn: Connection, key: str, status: str, *, only: tuple[str, ...] = OPEN_TASK
    ) -> int:
        if conn.dialect.name != "sqlite":
            query = update(_T).where(_T.c.task_key == key, _T.c.status.in_(only))
            return int(conn.execute(query.values(status=status)).rowcount)
        sql = (
            f"UPDATE {_T.name} SET status = ? WHERE {_T.c.task_key.name} = ? "
            f"AND status IN ({', '.join('?' for _ in only)})"
        )
        return _driver_count(conn, sql, (status, key, *only))

    def overdue_heartbeats(self, conn: Connection, now: int) -> builtins.list[Any]:
        query = select(_T).where(
            _T.c.status == "started",
            _T.c.heartbeat_deadline.is_not(None),
            _T.c.heartbeat_deadline <= now,
        )
        return list(conn.execute(query.limit(100)).all())

    def next_heartbeat(self, conn: Connection) -> int | None:
        query = select(func.min(_T.c.heartbeat_deadline)).where(_T.c.status == "started")
        found = conn.execute(query).scalar()
        return int(found) if found is not None else None

    # -- timers ---------------------------------------------------------------------------------

    def set_timer(self, conn: Connection, execution_arn: str, timer_id: str, due: int) -> None:
        upsert(
            conn,
            _W,
            [{"execution_arn": execution_arn, "timer_id": timer_id, "due_time": due}],
            keys=("execution_arn", "timer_id"),
        )

    def cancel_timer(self, conn: Connection, execution_arn: str, timer_id: str) -> int:
        query = delete(_W).where(_W.c.execution_arn == execution_arn, _W.c.timer_id == timer_id)
        return int(conn.execute(query).rowcount)

    def cancel_timers(self, conn: Connection, execution_arn: str) -> None:
        conn.execute(delete(_W).where(_W.c.execution_arn == execution_arn))

    def due_timers(self, conn: Connection, now: int, limit: int = 100) -> builtins.list[Any]:
        query = select(_W).where(_W.c.due_time <= now).order_by(_W.c.due_time)
        return list(conn.execute(query.limit(limit)).all())

    def next_timer(self, conn: Connection) -> int | None:
        found = conn.execute(select(func.min(_W.c.due_time))).scalar()
        return int(found) if found is not None else None
