"""Run search: MLflow's filter and order_by syntax, compiled to SQL, on SQLite and PostgreSQL.

Expected results are written out by hand for a small set of runs built to hit the edge cases (ties,
NaN, +inf, missing keys, case, wildcards, NULL end times) and, where Dockyard means to behave as
MLflow, checked once more against MLflow's own in-memory implementation (``SearchUtils``).
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import insert

from dockyard.errors import InvalidArgument
from dockyard.server.store import Database, schema
from dockyard.server.tracking._search import (
    MAX_CONDITIONS,
    MAX_ORDER_KEYS,
    Condition,
    OrderKey,
    build_search_query,
    parse_filter,
    parse_order_by,
)

NAN, INF = math.nan, math.inf
CONTEXT = "mlflow.data.context"

# run -> (experiment, name, status, user, start_time, end_time, lifecycle_stage)
RUNS: dict[str, tuple[int, str, str, str, int, int | None, str]] = {
    "r1": (1, "alpha", "FINISHED", "alice", 1000, 2000, "active"),
    "r2": (1, "Beta", "FAILED", "bob", 2000, 2500, "active"),
    "r3": (1, "gamma.x", "RUNNING", "alice", 3000, None, "active"),
    "r4": (1, "delta", "FINISHED", "carol", 3000, 4000, "active"),  # start_time tie with r3
    "r5": (1, "ALPHA", "FINISHED", "bob", 5000, 6000, "active"),
    "r6": (1, "eps", "KILLED", "alice", 6000, 6500, "active"),
    "r7": (1, "gone", "FINISHED", "alice", 7000, 8000, "deleted"),
    "r8": (2, "elsewhere", "FINISHED", "alice", 8000, 9000, "active"),
}
METRICS: dict[str, dict[str, float]] = {
    "r1": {"rmse": 0.5, "acc": 0.9},
    "r2": {"rmse": 1.5, "acc": 0.1, "my.metric": 3.0},
    "r3": {"rmse": NAN, "acc": 0.7},
    "r4": {"rmse": 0.5, "a b": 1.0},
    "r5": {"rmse": INF, "acc": -2.5e-3},
    "r6": {"acc": 1e3},
    "r7": {"rmse": 0.1},
    "r8": {"rmse": 0.2},
}
PARAMS: dict[str, dict[str, str]] = {
    "r1": {"lr": "0.1", "model": "Linear", "dash-key": "x"},
    "r2": {"lr": "0.01", "model": "linear"},
    "r3": {"lr": "0.1", "model": "LINEAR-x"},
    "r4": {"lr": "1e-3", "model": "tree"},
    "r5": {"model": "ünï"},
    "r6": {"lr": "10", "model": "Ünï"},
    "r7": {"lr": "0.1"},
    "r8": {"lr": "0.1"},
}
TAGS: dict[str, dict[str, str]] = {
    "r1": {"team": "a"},
    "r2": {},
    "r3": {"team": "a", "glob": "a*b?[c]"},
    "r4": {"team": "A", "glob": "abc", "quote": "it's"},
    "r5": {"team": "axb", "path": "C:\\dir"},
    "r6": {"team": "a_b"},
    "r7": {"team": "a"},
    "r8": {"team": "a"},
}
DATASETS = {"ds1": ("train-set", "d1"), "ds2": ("eval", "d2")}
INPUTS: dict[str, list[tuple[str, dict[str, str]]]] = {
    "r1": [("ds1", {CONTEXT: "training"}), ("ds2", {CONTEXT: "eval"})],
    "r2": [("ds1", {})],
    "r3": [("ds2", {CONTEXT: "training"})],
}
# Every active run of experiment 1 in the default order: start_time DESC, then run_id.
DEFAULT = ["r6", "r5", "r3", "r4", "r2", "r1"]


def artifact_uri(experiment: int, run: str) -> str:
    return f"file:///a/{experiment}/{run}/artifacts"


def load(db: Database) -> None:
    with db.write() as conn:
        conn.execute(
            insert(schema.experiments),
            [
                {
                    "experiment_id": e,
                    "name": f"e{e}",
                    "artifact_location": f"file:///a/{e}",
                    "creation_time": 0,
                    "last_update_time": 0,
                }
                for e in (1, 2)
            ],
        )
        conn.execute(
            insert(schema.runs),
            [
                {
                    "run_id": run,
                    "experiment_id": exp,
                    "name": name,
                    "status": status,
                    "user_id": user,
                    "start_time": start,
                    "end_time": end,
                    "lifecycle_stage": stage,
                    "artifact_uri": artifact_uri(exp, run),
                }
                for run, (exp, name, status, user, start, end, stage) in RUNS.items()
            ],
        )
        conn.execute(
            insert(schema.latest_metrics),
            [
                {
                    "run_id": run,
                    "key": key,
                    # NaN is stored as a placeholder with is_nan set, as the run repository does.
                    "value": 0.0 if math.isnan(value) else value,
                    "is_nan": math.isnan(value),
                    "timestamp": 0,
                    "step": 0,
                }
                for run, values in METRICS.items()
                for key, value in values.items()
            ],
        )
        for table, data in ((schema.params, PARAMS), (schema.tags, TAGS)):
            rows = [
                {"run_id": r, "key": k, "value": v} for r, kv in data.items() for k, v in kv.items()
            ]
            conn.execute(insert(table), rows)
        conn.execute(
            insert(schema.datasets),
            [
                {
                    "dataset_id": ds,
                    "experiment_id": 1,
                    "name": name,
                    "digest": digest,
                    "source_type": "local",
                    "source": "{}",
                }
                for ds, (name, digest) in DATASETS.items()
            ],
        )
        conn.execute(
            insert(schema.run_inputs),
            [
                {"run_id": run, "dataset_id": ds, "tags": json.dumps(tags)}
                for run, inputs in INPUTS.items()
                for ds, tags in inputs
            ],
        )


def open_loaded(url: str) -> Database:
    db = Database(url)
    schema.metadata.create_all(db.write_engine)
    load(db)
    return db


@pytest.fixture(scope="module")
def sqlite_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    db = open_loaded(f"sqlite:///{tmp_path_factory.mktemp('search') / 'search.db'}")
    yield db
    db.dispose()


@pytest.fixture(
    scope="module",
    params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
)
def db(request: pytest.FixtureRequest, sqlite_db: Database) -> Iterator[Database]:
    """The loaded store on each database."""
    if request.param == "sqlite":
        yield sqlite_db
        return
    # The PostgreSQL server fixture comes from tests/services/postgres.py (a plugin); the
    # session-scoped server lets this module load its data once instead of once per test.
    try:
        server = request.getfixturevalue("postgres_server")
    except pytest.FixtureLookupError:
        pytest.skip("PostgreSQL fixture not available (run with -p tests.services.postgres)")
    database = open_loaded(linguistic_database(server))
    yield database
    database.dispose()


def linguistic_database(server: Any) -> str:
    """A fresh database whose default collation sorts and folds case like a human language.

    The test cluster runs in the C locale, where byte order and ASCII-only case folding come for
    free; production databases usually have a language locale, and only one makes the tests see
    whether search pins its own collation.
    """
    import psycopg

    name = f"search_icu_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(
        server.url().replace("postgresql+psycopg", "postgresql"), autocommit=True
    ) as conn:
        conn.execute(
            f"CREATE DATABASE \"{name}\" TEMPLATE template0 ENCODING 'UTF8' "
            "LOCALE_PROVIDER icu ICU_LOCALE 'und' LOCALE 'C.UTF-8'"
        )
    return str(server.url(name))


def search(
    db: Database,
    filter_string: str = "",
    order_by: Sequence[str] = (),
    *,
    experiment_ids: Sequence[int] = (1,),
    view: Any = "ACTIVE_ONLY",
    max_results: int = 1000,
    offset: int = 0,
) -> list[str]:
    query = build_search_query(experiment_ids, filter_string, order_by, view, max_results, offset)
    with db.read() as conn:
        return list(conn.execute(query).scalars())


# -- MLflow's in-memory implementation, as an oracle --------------------------------------------


def mlflow_search(
    filter_string: str, order_by: Sequence[str], experiment_ids: Sequence[int] = (1,)
) -> list[str]:
    from mlflow.entities import (
        Dataset,
        DatasetInput,
        InputTag,
        Metric,
        Param,
        Run,
        RunData,
        RunInfo,
        RunInputs,
        RunTag,
    )
    from mlflow.utils.search_utils import SearchUtils

    runs = []
    for run, (exp, name, status, user, start, end, stage) in RUNS.items():
        if exp not in experiment_ids or stage != "active":
            continue
        inputs = [
            DatasetInput(
                Dataset(*DATASETS[ds], source_type="local", source="{}"),
                [InputTag(k, v) for k, v in tags.items()],
            )
            for ds, tags in INPUTS.get(run, [])
        ]
        runs.append(
            Run(
                RunInfo(
                    run, str(exp), user, status, start, end, stage, artifact_uri(exp, run), name
                ),
                RunData(
                    [Metric(k, v, 0, 0) for k, v in METRICS.get(run, {}).items()],
                    [Param(k, v) for k, v in PARAMS.get(run, {}).items()],
                    [RunTag(k, v) for k, v in TAGS.get(run, {}).items()],
                ),
                RunInputs(inputs),
            )
        )
    found = SearchUtils.sort(SearchUtils.filter(runs, filter_string), list(order_by))
    return [r.info.run_id for r in found]


# -- filters ------------------------------------------------------------------------------------

# (filter, expected run ids in default order, whether MLflow returns the same)
FILTERS: list[tuple[str, str, list[str], bool]] = [
    ("empty", "", DEFAULT, True),
    ("whitespace only", " \n\t ", DEFAULT, False),  # MLflow: "Could not be parsed"
    ("metric <", "metrics.rmse < 1", ["r4", "r1"], True),
    ("metric <=", "metrics.rmse <= 0.5", ["r4", "r1"], True),
    ("metric > includes +inf", "metrics.rmse > 1", ["r5", "r2"], True),
    ("metric >=", "metrics.rmse >= 1.5", ["r5", "r2"], True),
    ("metric =", "metrics.rmse = 0.5", ["r4", "r1"], True),
    ("metric != includes NaN", "metrics.rmse != 0.5", ["r5", "r3", "r2"], True),
    # NaN is stored as 0.0 with is_nan set: the placeholder must not make it equal to 0.
    ("metric != 0 includes NaN", "metrics.rmse != 0", ["r5", "r3", "r4", "r2", "r1"], True),
    ("metric = 0 excludes NaN", "metrics.rmse = 0", [], True),
    ("metric NaN fails ordering", "metrics.rmse > -1e308", ["r5", "r4", "r2", "r1"], True),
    ("negative literal", "metrics.acc < 0", ["r5"], True),
    ("scientific literal", "metrics.acc > 1e2", ["r6"], True),
    ("signed exponent", "metrics.acc >= -2.5E-3", ["r6", "r5", "r3", "r2", "r1"], True),
    ("leading-dot literal", "metrics.acc < .2", ["r5", "r2"], True),
    ("double-quoted key", 'metrics."my.metric" = 3', ["r2"], True),
    ("backticked key", "metrics.`a b` = 1", ["r4"], True),
    ("singular entity", "metric.`my.metric` > 2.5", ["r2"], True),
    ("param =", "params.lr = '0.1'", ["r3", "r1"], True),
    ("param double-quoted value", 'param.lr = "0.1"', ["r3", "r1"], True),
    ("param != skips missing", "parameters.lr != '0.1'", ["r6", "r4", "r2"], True),
    ("quoted key with dash", "params.`dash-key` = 'x'", ["r1"], True),
    ("LIKE is case-sensitive", "params.model LIKE 'L%'", ["r3", "r1"], True),
    ("LIKE lower", "params.model LIKE 'l%'", ["r2"], True),
    ("ILIKE", "params.model ILIKE 'l%'", ["r3", "r2", "r1"], True),
    ("ILIKE folds ASCII only", "params.model ILIKE 'ü%'", ["r5"], False),
    ("LIKE underscore", "params.model like '_inear'", ["r2", "r1"], True),
    ("IS NULL", "params.lr IS NULL", ["r5"], True),
    ("IS NOT NULL", "params.lr is not null", ["r6", "r3", "r4", "r2", "r1"], True),
    ("tag =", "tags.team = 'a'", ["r3", "r1"], True),
    ("tag != skips missing", "tag.team != 'a'", ["r6", "r5", "r4"], True),
    ("tag ILIKE", "tags.team ILIKE 'a'", ["r3", "r4", "r1"], True),
    ("tag LIKE wildcard _", "tags.team LIKE 'a_b'", ["r6", "r5"], True),
    ("LIKE * is literal", "tags.glob LIKE 'a*%'", ["r3"], True),
    ("LIKE [ is literal", "tags.glob LIKE '%[c]'", ["r3"], True),
    ("LIKE ? is literal", "tags.glob LIKE '%?%'", ["r3"], True),
    ("tag IS NULL", "tags.team IS NULL", ["r2"], True),
    ("escaped backslash", "tags.path = 'C:\\\\dir'", ["r5"], False),
    ("backslash is no LIKE escape", "tags.path LIKE 'C:\\%'", ["r5"], True),
    ("escaped quote", "tags.quote = 'it''s'", ["r4"], False),
    ("status", "attributes.status = 'FINISHED'", ["r5", "r4", "r1"], True),
    ("bare attribute !=", "status != 'FINISHED'", ["r6", "r3", "r2"], True),
    ("run_name", "attributes.run_name = 'alpha'", ["r1"], True),
    ("run name alias ILIKE", "attributes.`run name` ILIKE 'ALPHA'", ["r5", "r1"], True),
    ("run_name LIKE", "run.run_name LIKE '%.%'", ["r3"], True),
    ("run_id IN", "attributes.run_id IN ('r1', 'r3', 'nope')", ["r3", "r1"], True),
    ("run_id in, trailing comma", "attr.run_id in ('r2',)", ["r2"], True),
    ("run_id NOT IN", "attributes.run_id NOT IN ('r1','r3')", ["r6", "r5", "r4", "r2"], True),
    ("start_time >=", "attributes.start_time >= 3000", ["r6", "r5", "r3", "r4"], True),
    ("created alias", "created < 3000", ["r2", "r1"], True),
    ("start_time float", "attributes.start_time = 3000.0", ["r3", "r4"], True),
    ("end_time skips NULL", "attributes.end_time > 2000", ["r6", "r5", "r4", "r2"], True),
    ("end_time != skips NULL", "attributes.end_time != 2000", ["r6", "r5", "r4", "r2"], True),
    ("user_id", "attributes.user_id = 'alice'", ["r6", "r3", "r1"], True),
    ("artifact_uri", "attributes.artifact_uri LIKE '%/r2/%'", ["r2"], True),
    ("dataset name", "datasets.name = 'train-set'", ["r2", "r1"], True),
    ("dataset digest IN", "datasets.digest IN ('d2')", ["r3", "r1"], True),
    ("dataset context", "dataset.context = 'training'", ["r3", "r1"], True),
    ("dataset context != any", "datasets.context != 'training'", ["r1"], True),
    ("dataset NOT IN any", "datasets.name NOT IN ('train-set')", ["r3", "r1"], True),
    ("dataset context LIKE", "datasets.context LIKE 'ev%'", ["r1"], True),
    ("metric and param", "metrics.rmse < 1 and params.lr = '0.1'", ["r1"], True),
    (
        "three kinds, mixed-case AND",
        "metrics.rmse < 1 AND tags.team ILIKE 'a' And attributes.status = 'FINISHED'",
        ["r4", "r1"],
        True,
    ),
    ("range on one metric", "metrics.rmse > 0 and metrics.rmse < 1", ["r4", "r1"], True),
    ("contradiction", "params.lr = '0.1' and params.lr = '0.01'", [], True),
    ("no such key", "metrics.nope > 0", [], True),
    ("newlines between", "tags.team = 'a'\nand\tparams.lr = '0.1'", ["r3", "r1"], True),
]


@pytest.mark.parametrize(
    ("filter_string", "expected", "as_mlflow"),
    [pytest.param(f, e, m, id=i) for i, f, e, m in FILTERS],
)
def test_filter(db: Database, filter_string: str, expected: list[str], as_mlflow: bool) -> None:
    assert search(db, filter_string) == expected
    if as_mlflow:
        assert mlflow_search(filter_string, []) == expected


def test_filters_are_checked_against_mlflow() -> None:
    # The oracle must disagree where Dockyard means to differ, or those flags prove nothing.
    from mlflow.exceptions import MlflowException

    for _, filter_string, expected, as_mlflow in FILTERS:
        if not as_mlflow:
            try:
                found = mlflow_search(filter_string, [])
            except MlflowException:
                continue
            assert found != expected, filter_string


# -- order_by -----------------------------------------------------------------------------------

ORDERS: list[tuple[str, str, list[str], list[str]]] = [
    ("default", "", [], DEFAULT),
    (
        "metric ASC: NaN then missing last",
        "",
        ["metrics.rmse ASC"],
        ["r4", "r1", "r2", "r5", "r3", "r6"],
    ),
    (
        "metric DESC: NaN then missing last",
        "",
        ["metrics.rmse DESC"],
        ["r5", "r2", "r4", "r1", "r3", "r6"],
    ),
    ("metric, filtered on it", "metrics.rmse < 1", ["metrics.rmse"], ["r4", "r1"]),
    ("metric DESC, != keeps NaN", "metrics.rmse != 0.5", ["metrics.rmse DESC"], ["r5", "r2", "r3"]),
    (
        "metric ASC, != keeps NaN last",
        "metrics.rmse != 1.5",
        ["metrics.rmse"],
        ["r4", "r1", "r5", "r3"],
    ),
    ("metric, filtered on another", "params.lr = '0.1'", ["metrics.acc"], ["r3", "r1"]),
    ("param as string", "", ["params.lr"], ["r2", "r3", "r1", "r6", "r4", "r5"]),
    ("param DESC, missing last", "", ["params.lr DESC"], ["r4", "r6", "r3", "r1", "r2", "r5"]),
    ("param, filtered on it", "params.lr != '10'", ["params.lr desc"], ["r4", "r3", "r1", "r2"]),
    ("tag DESC by code point", "", ["tags.team DESC"], ["r5", "r6", "r3", "r1", "r4", "r2"]),
    ("end_time, NULL last", "", ["attributes.end_time"], ["r1", "r2", "r4", "r5", "r6", "r3"]),
    (
        "end_time DESC, NULL last",
        "",
        ["attributes.end_time DESC"],
        ["r6", "r5", "r4", "r2", "r1", "r3"],
    ),
    (
        "start_time ASC replaces default",
        "",
        ["attributes.start_time ASC"],
        ["r1", "r2", "r3", "r4", "r5", "r6"],
    ),
    ("created alias", "", ["created DESC"], DEFAULT),
    ("run_name by code point", "", ["attributes.run_name"], ["r5", "r2", "r1", "r4", "r6", "r3"]),
    ("two keys", "", ["tags.team", "metrics.rmse DESC"], ["r4", "r1", "r3", "r6", "r5", "r2"]),
    (
        "status then run_id DESC",
        "",
        ["status", "attributes.run_id DESC"],
        ["r2", "r5", "r4", "r1", "r6", "r3"],
    ),
    (
        "quoted keys",
        "",
        ['metrics."my.metric" DESC', "metrics.`a b`"],
        ["r2", "r4", "r6", "r5", "r3", "r1"],
    ),
]


@pytest.mark.parametrize(
    ("filter_string", "order_by", "expected"),
    [pytest.param(f, o, e, id=i) for i, f, o, e in ORDERS],
)
def test_order_by(
    db: Database, filter_string: str, order_by: list[str], expected: list[str]
) -> None:
    assert search(db, filter_string, order_by) == expected
    assert mlflow_search(filter_string, order_by) == expected


@pytest.mark.parametrize(
    ("view", "experiment_ids", "expected"),
    [
        pytest.param("DELETED_ONLY", [1], ["r7"], id="deleted only"),
        pytest.param("ALL", [1], ["r7", *DEFAULT], id="all"),
        pytest.param("ACTIVE_ONLY", [1, 2], ["r8", *DEFAULT], id="two experiments"),
        pytest.param("ACTIVE_ONLY", [], [], id="no experiment"),
        pytest.param("ACTIVE_ONLY", [3], [], id="unknown experiment"),
    ],
)
def test_view_type_and_experiments(
    db: Database, view: str, experiment_ids: list[int], expected: list[str]
) -> None:
    assert search(db, experiment_ids=experiment_ids, view=view) == expected


@pytest.mark.parametrize(
    ("max_results", "offset", "expected"),
    [
        pytest.param(2, 0, DEFAULT[:2], id="first page"),
        pytest.param(2, 2, DEFAULT[2:4], id="second page"),
        pytest.param(4, 4, DEFAULT[4:], id="short last page"),
        pytest.param(2, 6, [], id="past the end"),
    ],
)
def test_pages(db: Database, max_results: int, offset: int, expected: list[str]) -> None:
    assert search(db, max_results=max_results, offset=offset) == expected
    # Pages of an ordering with ties and NULLs must still tile the full result.
    order = ["metrics.rmse"]
    assert (
        search(db, "", order, max_results=max_results, offset=offset)
        == (search(db, "", order)[offset : offset + max_results])
    )


# -- parsing ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filter_string", "expected"),
    [
        pytest.param("metrics.rmse < -1", ("metric", "rmse", "<", -1.0), id="negative"),
        pytest.param("metrics.rmse < +1", ("metric", "rmse", "<", 1.0), id="plus sign"),
        pytest.param("metrics.rmse < 1e+3", ("metric", "rmse", "<", 1000.0), id="exponent sign"),
        pytest.param("metrics.rmse < 1.", ("metric", "rmse", "<", 1.0), id="trailing dot"),
        pytest.param("metrics.a.b<1", ("metric", "a.b", "<", 1.0), id="dotted bare key"),
        pytest.param("`metrics`.x = 2", ("metric", "x", "=", 2.0), id="backticked entity"),
        pytest.param("tags.'a.b' = 'x'", ("tag", "a.b", "=", "x"), id="single-quoted key"),
        pytest.param("tags.`a``b` = 'x'", ("tag", "a`b", "=", "x"), id="doubled backtick"),
        pytest.param("tags.x = 'it''s'", ("tag", "x", "=", "it's"), id="doubled quote"),
        pytest.param("tags.x = 'it\\'s'", ("tag", "x", "=", "it's"), id="backslash quote"),
        pytest.param('tags.x = "say \\"hi\\""', ("tag", "x", "=", 'say "hi"'), id="backslash dq"),
        pytest.param("tags.x = 'a\\b'", ("tag", "x", "=", "a\\b"), id="lone backslash"),
        pytest.param("tags.x = 'a\\\\'", ("tag", "x", "=", "a\\"), id="escaped backslash"),
        pytest.param('tags.x = "it\'s"', ("tag", "x", "=", "it's"), id="double quotes"),
        pytest.param("tags.x = ''", ("tag", "x", "=", ""), id="empty string"),
        pytest.param("tags.x='a'and tags.y='b'", ("tag", "x", "=", "a"), id="no spaces"),
        pytest.param("Created > 5", ("attribute", "start_time", ">", 5), id="Created alias"),
        pytest.param("`Run Name` = 'x'", ("attribute", "run_name", "=", "x"), id="run name alias"),
        pytest.param("attributes.end_time < 1.5", ("attribute", "end_time", "<", 1.5), id="float"),
        pytest.param("run_id in('a')", ("attribute", "run_id", "IN", ("a",)), id="IN no space"),
        pytest.param(
            "datasets.name NOT  IN ('a', \"b\")",
            ("dataset", "name", "NOT IN", ("a", "b")),
            id="NOT IN",
        ),
        pytest.param("tags.x IS  NOT\nNULL", ("tag", "x", "IS NOT NULL", None), id="IS NOT NULL"),
        pytest.param("params.x ilike 'a'", ("param", "x", "ILIKE", "a"), id="lower-case ILIKE"),
        pytest.param("metrics.and < 1", ("metric", "and", "<", 1.0), id="keyword as key"),
        pytest.param("metrics.é < 1", ("metric", "é", "<", 1.0), id="unicode key"),
    ],
)
def test_parse_filter(filter_string: str, expected: tuple[Any, ...]) -> None:
    first = parse_filter(filter_string)[0]
    assert (first.entity, first.key, first.comparator, first.value) == expected
    assert isinstance(first.value, type(expected[3]))  # int stays int, float stays float


def test_parse_filter_keeps_every_condition_in_order() -> None:
    assert parse_filter("metrics.a < 1 and   params.b = 'c' AND tags.d IS NULL") == [
        Condition("metric", "a", "<", 1.0, 1),
        Condition("param", "b", "=", "c", 21),
        Condition("tag", "d", "IS NULL", None, 40),
    ]


def test_parse_order_by() -> None:
    assert parse_order_by(
        ["metrics.rmse DESC", " params.lr ", "tags.`a b` asc", "created", "attributes.run_name"]
    ) == [
        OrderKey("metric", "rmse", False),
        OrderKey("param", "lr", True),
        OrderKey("tag", "a b", True),
        OrderKey("attribute", "start_time", True),
        OrderKey("attribute", "run_name", True),
    ]


# -- errors -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filter_string", "column", "fragment"),
    [
        ("metrics.rmse foo 1", 14, "expected a comparator (=, !="),
        ("metrics.rmse foo 1", 14, "after 'metrics.rmse', got 'foo'"),
        # Names the built-in algorithms and MLflow clients log (train:rmse, val/loss): the
        # error says how to write them.
        (
            "metrics.train:rmse < 1",
            14,
            "got ':'; a name with characters other than letters, digits, '_' and '.' goes in "
            "backticks: metrics.`train:rmse`",
        ),
        ("params.val/loss = 'x'", 11, "got '/'; a name with characters other than"),
        ("tags.a-b='x'", 7, "backticks: tags.`a-b`"),
        ("metrics.rmse < 1 or params.a = 'b'", 18, "OR is not supported"),
        ("metrics.rmse < 'a'", 16, "expected a number after metrics.rmse <, got the string"),
        ("params.a = 5", 12, "expected a quoted string after params.a =, got '5'"),
        ("params.a = abc", 12, "expected a quoted string"),
        ("params.x = `abc`", 12, "not backticks"),
        ("foo.bar = 'x'", 1, "unknown entity 'foo'"),
        ("METRICS.x < 1", 1, "unknown entity 'METRICS'"),
        ("attributes.lifecycle_stage = 'x'", 1, "unknown attribute 'lifecycle_stage'"),
        ("nope = 'x'", 1, "unknown attribute 'nope'"),
        ("datasets.foo = 'x'", 1, "unknown dataset field 'foo'"),
        ("params.a = 'unterminated", 12, "unterminated ' quote"),
        ("metrics.`a b < 1", 9, "unterminated ` quote"),
        ("metrics.a < 1 and", 15, "expected a condition after AND"),
        ("and metrics.a < 1", 1, "unknown attribute 'and'"),
        ("metrics.a < 1 params.b = 'x'", 15, "expected AND between conditions, got 'params'"),
        ("metrics.a < 1;", 14, "got ';'"),
        ("(metrics.a < 1)", 1, "expected a key such as metrics.rmse, got '('"),
        ("metrics.a LIKE '1'", 11, "LIKE cannot be used here"),
        ("params.a < '1'", 10, "'params.a' takes one of =, !=, LIKE, ILIKE, IS NULL"),
        ("attributes.start_time LIKE 1", 23, "LIKE cannot be used here"),
        ("metrics.a IS NULL", 11, "IS NULL and IS NOT NULL only apply to params and tags"),
        ("attributes.status IS NOT NULL", 19, "only apply to params and tags"),
        ("attributes.status IN ('a')", 19, "IN and NOT IN only apply to attributes.run_id"),
        ("params.a IN ('x')", 10, "IN and NOT IN only apply"),
        ("metrics.a IN (1)", 11, "IN cannot be used here"),
        ("attributes.run_id IN ()", 23, "expected a quoted string in the list, got ')'"),
        ("attributes.run_id IN ('a' 'b')", 27, "expected ',' or ')' in the list, got \"'b'\""),
        ("attributes.run_id IN ('a', 1)", 28, "expected a quoted string in the list"),
        ("attributes.run_id IN 'a'", 22, "expected a parenthesised list"),
        ("attributes.run_id IN ('a'", 22, "unterminated list"),
        ("attributes.run_id = ('a')", 21, "expected a quoted string"),
        ("metrics.a == 1", 11, "unknown comparator '==': use ="),
        ("metrics.a <> 1", 11, "unknown comparator '<>': use !="),
        ("tags.x NOT LIKE 'a'", 8, "expected IN after NOT, got 'LIKE'"),
        ("tags.x IS 'a'", 8, "expected NULL or NOT NULL after IS"),
        # "\u0131n".upper() == "IN" (dotless i): keywords must be ASCII.
        ("attributes.run_id \u0131n ('a')", 19, "expected a comparator"),
        ("metrics.a < 1and", 13, "invalid number '1and'"),
        ("metrics.a < 1.5.5", 13, "invalid number"),
        ("metrics.a < - 1", 13, "expected a number"),
        ("metrics.`` < 1", 9, "empty key name"),
        ("metrics. < 1", 9, "expected a name after 'metrics.'"),
        ("metrics.a <", 12, "got the end of the filter"),
        ("attributes.start_time > 99999999999999999999", 25, "out of range for start_time"),
        ("attributes.start_time > -9223372036854775809", 25, "out of range"),
        ("tags.x = 'a\x00'", 12, "U+0000 is not allowed"),
        ("tags.x = '\ud800'", 11, "U+D800 is not allowed"),
        ("params.x LIKE '" + "%" * 5001 + "'", 15, "pattern longer than 5000 characters"),
        (" and ".join(["metrics.a < 1"] * (MAX_CONDITIONS + 1)), 1801, "too many conditions"),
        ("attributes.run_id IN (" + "'a'," * 10_001 + ")", 22, "too many list values"),
    ],
)
def test_filter_errors_name_the_column(filter_string: str, column: int, fragment: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        build_search_query([1], filter_string, [], "ACTIVE_ONLY", 10, 0)
    error = caught.value
    assert error.field == "filter"
    assert error.details == {"column": column}
    assert error.message.startswith(f"invalid filter at column {column}: "), error.message
    assert fragment in error.message


@pytest.mark.parametrize(
    ("order_by", "field", "column", "fragment"),
    [
        (["metrics.rmse DOWN"], "order_by.0", 14, "expected ASC or DESC after 'metrics.rmse'"),
        (["metrics.val/loss DESC"], "order_by.0", 12, "backticks: metrics.`val/loss`"),
        (["metrics.rmse ASC DESC"], "order_by.0", 18, "unexpected 'DESC' after the direction"),
        (["metrics.rmse", "metric.rmse DESC"], "order_by.1", 1, "already ordered by order_by[0]"),
        (["created", "attributes.start_time"], "order_by.1", 1, "attributes.start_time is alr"),
        (["datasets.name"], "order_by.0", 1, "runs cannot be ordered by dataset fields"),
        (["  "], "order_by.0", 3, "empty clause"),
        (["attributes.lifecycle_stage"], "order_by.0", 1, "unknown attribute"),
        (["metrics.rmse,"], "order_by.0", 13, "got ','"),
        (["metrics.`a"], "order_by.0", 9, "unterminated ` quote"),
    ],
)
def test_order_by_errors_name_the_clause(
    order_by: list[str], field: str, column: int, fragment: str
) -> None:
    with pytest.raises(InvalidArgument) as caught:
        build_search_query([1], "", order_by, "ACTIVE_ONLY", 10, 0)
    error = caught.value
    assert error.field == field
    assert error.details == {"column": column}
    assert error.message.startswith(f"invalid order_by[{field[-1]}] at column {column}: ")
    assert fragment in error.message


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"order_by": ["params.a"] * (MAX_ORDER_KEYS + 1)}, "order_by"),
        ({"run_view_type": "SOME"}, "run_view_type"),
        ({"max_results": 0}, "max_results"),
        ({"offset": -1}, "page_token"),
        ({"offset": 2**63}, "page_token"),
    ],
)
def test_argument_errors(kwargs: dict[str, Any], field: str) -> None:
    arguments: dict[str, Any] = {
        "experiment_ids": [1],
        "filter_string": "",
        "order_by": [],
        "run_view_type": "ACTIVE_ONLY",
        "max_results": 10,
        "offset": 0,
    } | kwargs
    with pytest.raises(InvalidArgument) as caught:
        build_search_query(**arguments)
    assert caught.value.field == field


# -- the query plan behind the performance target ------------------------------------------------


def test_metric_filter_and_order_walk_the_key_value_index(sqlite_db: Database) -> None:
    query = build_search_query([1], "metrics.rmse < 1", ["metrics.rmse ASC"], "ACTIVE_ONLY", 100, 0)
    with sqlite_db.read() as conn:
        compiled = query.compile(conn, compile_kwargs={"render_postcompile": True})
        values = tuple(compiled.params[name] for name in compiled.positiontup or [])
        plan = [row[-1] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}", values)]
    assert any("ix_latest_metrics_key_value (key=? AND value<?)" in step for step in plan), plan
    # Only ties on the metric get sorted; a full sort would read every match first.
    assert "USE TEMP B-TREE FOR ORDER BY" not in plan, plan


# -- fuzzing ------------------------------------------------------------------------------------

_TOKENS = [
    "metrics.rmse", "params.lr", "tags.team", "attributes.status", "datasets.context", "run_id",
    "start_time", "metrics.`a b`", 'metrics."my.metric"', "`metrics`.acc", "metrics.", "tags.'x'",
    "=", "!=", "<", "<=", ">", ">=", "==", "<>", "LIKE", "ilike", "IN", "NOT IN", "NOT", "IS",
    "NULL", "IS NOT NULL", "AND", "and", "OR", "(", ")", ",", "'a'", "'%a_'", '"b"', "'", '"', "`",
    "1", "-2.5", "1e308", "1e999", ".5", "99999999999999999999", "('a', 'b')", "()", "\\", "\x00",
    "é", ";", "--", "*", "[", "%",
]  # fmt: skip


def _run_fuzzed(db: Database, filter_string: str, order_by: list[str]) -> None:
    try:
        query = build_search_query([1, 2], filter_string, order_by, "ALL", 50, 0)
    except InvalidArgument:
        return
    # Whatever parses must also run: a database error here would surface as a 500 or 503.
    with db.read() as conn:
        conn.execute(query).all()


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.text(max_size=200), order=st.lists(st.text(max_size=30), max_size=3))
def test_any_text_is_a_result_or_invalid_argument(
    sqlite_db: Database, text: str, order: list[str]
) -> None:
    _run_fuzzed(sqlite_db, text, order)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    tokens=st.lists(st.sampled_from(_TOKENS), max_size=14),
    spaces=st.lists(st.sampled_from(["", " ", "  ", "\n"]), min_size=14, max_size=14),
    order=st.lists(
        st.tuples(st.sampled_from(_TOKENS), st.sampled_from(["", " ASC", " desc", " up"])).map(
            "".join
        ),
        max_size=3,
    ),
)
def test_any_token_soup_is_a_result_or_invalid_argument(
    sqlite_db: Database, tokens: list[str], spaces: list[str], order: list[str]
) -> None:
    text = "".join(token + space for token, space in zip(tokens, spaces, strict=False))
    _run_fuzzed(sqlite_db, text, order)


# Valid filters over this module's data, compared with MLflow's own implementation. Values stay
# ASCII without quotes or backslashes: there Dockyard defines its own (documented) behaviour.
_metric_conditions = st.tuples(
    st.sampled_from(["metrics.rmse", "metrics.acc", "metrics.`a b`", "metrics.nope"]),
    st.sampled_from(["=", "!=", "<", "<=", ">", ">="]),
    st.sampled_from(["0.5", "1", "-1", "1e3", "0", "1.5", "-2.5e-3", "1e999"]),
)
_string_conditions = st.tuples(
    st.sampled_from(["params.lr", "params.model", "tags.team", "tags.glob", "attributes.status"]),
    st.sampled_from(["=", "!=", "LIKE", "ILIKE"]),
    st.sampled_from(
        ["a", "A", "0.1", "%a%", "a_b", "%", "_", "linear", "L%", "FINISHED", "%E%"]
    ).map(lambda v: f"'{v}'"),
)
_null_conditions = st.tuples(
    st.sampled_from(["params.lr", "tags.team", "tags.glob", "params.nope"]),
    st.sampled_from(["IS NULL", "IS NOT NULL"]),
    st.just(""),
)
_time_conditions = st.tuples(
    st.sampled_from(["attributes.start_time", "attributes.end_time", "created"]),
    st.sampled_from(["=", "!=", "<", "<=", ">", ">="]),
    st.sampled_from(["1000", "3000", "2500", "6500"]),
)
_list_conditions = st.tuples(
    st.sampled_from(["attributes.run_id", "datasets.name", "datasets.context"]),
    st.sampled_from(["IN", "NOT IN"]),
    st.sampled_from(["('r1', 'r3')", "('train-set')", "('training', 'eval')", "('x')"]),
)
_conditions = st.one_of(
    _metric_conditions, _string_conditions, _null_conditions, _time_conditions, _list_conditions
).map(" ".join)
_order_keys = st.sampled_from(
    [
        "metrics.rmse", "metrics.acc", "metrics.nope", "params.lr", "params.model", "tags.team",
        "attributes.end_time", "attributes.start_time", "attributes.run_name", "status",
    ]
)  # fmt: skip


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    conditions=st.lists(_conditions, max_size=3),
    order=st.lists(
        st.tuples(_order_keys, st.sampled_from(["", " ASC", " DESC"])),
        max_size=3,
        unique_by=lambda o: o[0],
    ),
)
def test_valid_filters_match_mlflow(
    sqlite_db: Database, conditions: list[str], order: list[tuple[str, str]]
) -> None:
    filter_string = " and ".join(conditions)
    order_by = ["".join(o) for o in order]
    assert search(sqlite_db, filter_string, order_by, experiment_ids=[1, 2]) == mlflow_search(
        filter_string, order_by, experiment_ids=[1, 2]
    )


def test_postgres_fixture_location_is_current() -> None:
    # The postgres parameter above skips when the plugin is absent; fail loudly if it moved.
    assert (Path(__file__).parents[2] / "services" / "postgres.py").exists()


@pytest.mark.parametrize("filter_string", ["metrics.rmse foo 1", "metrics.`a:b` foo 1"])
def test_no_backticks_are_suggested_for_a_word_after_a_space(filter_string: str) -> None:
    """A word after the name is a mistyped comparator as likely as the rest of the name."""
    with pytest.raises(InvalidArgument) as caught:
        build_search_query([1], filter_string, [], "ACTIVE_ONLY", 10, 0)
    assert "backticks" not in caught.value.message
