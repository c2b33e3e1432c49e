"""Pipelines: Dockyard's States Language engine beside moto's, through the same boto3 calls.

Both servers run as their own processes on loopback; the same ``stepfunctions`` client code
creates each state machine, starts executions and polls ``DescribeExecution`` every 2 ms until
they end (moto's engine runs executions in a thread of its server; Dockyard's persists every
transition to its database before answering).

1. A chain of 1,000 Pass states (each sets ``$.i``): start to SUCCEEDED, p50 of ``--repeat``.
2. A Map over 10,000 items with MaxConcurrency 40 (DISTRIBUTED: inline, AWS's history limit of
   25,000 events would fail it), each item through two Pass states.
3. Executions per second of a 10-state machine (Pass, Choice, Pass...): ``--executions``
   started from ``--clients`` processes of 8 threads each (one boto3 process is bounded by its
   own GIL), until the last one has ended; and the server's CPU time per execution meanwhile
   (its process tree's), which the clients' CPU does not blur. The same clients against a stub
   that answers at once (``_sfn_stub.py``) give the ceiling: the most executions per second
   these clients reach on this machine whatever the server. Measured twice: each client
   waits for each of its executions with ``DescribeExecution`` (two calls per execution), then
   the clients only start them and one ``ListExecutions`` poll (``statusFilter: RUNNING``,
   every 20 ms) waits for them all. Clients and server share the machine's cores, so the
   second leaves more of them to the server.
4. Dockyard only: cost per Task state, from the execution history: a chain of Task states that
   each call a registered Python function that returns at once; the time from one state entered
   to the next (the function's own process, forked for the call, and the engine's work around
   it: starting the call, recording its answer, entering the next state).
5. Dockyard only: the same chain with each Task reading a parameter (``ssm:getParameter``, an
   integration that answers in process at once): nearly all of it the engine's own time.
   Rows 4 and 5 pool the states of ``--repeat`` runs.

    .venv/bin/python bench/pipelines.py [--repeat 5] [--executions 300] [--clients 2]
        [--workers 1] [--skip moto stub]
    .venv/bin/python bench/pipelines.py --tasks-only   # rows 4 and 5
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from typing import Any, NamedTuple

import boto3
import httpx

sys.path.insert(0, str(Path(__file__).parent))

from _servers import VENV_BIN, Server, free_port

ROLE = "arn:aws:iam::123456789012:role/bench"
POLL_S = 0.002
LIST_POLL_S = 0.02  # a ListExecutions of every execution costs the server more than a Describe


def moto_server() -> Server:
    port = free_port()
    argv = [str(VENV_BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)]
    return Server("moto", argv, port, "/moto-api/", {})


def enable_moto_engine(url: str) -> None:
    """moto returns executions as SUCCEEDED unless told to run them."""
    httpx.post(
        f"{url}/moto-api/config", json={"stepfunctions": {"execute_state_machine": True}}
    ).raise_for_status()


def client(url: str, token: str | None) -> Any:
    return boto3.client(
        "stepfunctions",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
        aws_session_token=token,
    )


def dockyard_token(home: Path) -> str | None:
    """A token for the bench's boto3 calls when the server wants one."""
    made = subprocess.run(
        [
            str(VENV_BIN / "dockyard"),
            "tokens",
            "create",
            "--user",
            "bench",
            "--json",
            "--home",
            str(home),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if made.returncode != 0:
        return None
    token: str = json.loads(made.stdout)["token"]
    return token


def pass_chain(n: int) -> dict[str, Any]:
    states: dict[str, Any] = {
        f"S{i}": {"Type": "Pass", "Result": i, "ResultPath": "$.i", "Next": f"S{i + 1}"}
        for i in range(n - 1)
    }
    states[f"S{n - 1}"] = {"Type": "Pass", "Result": n - 1, "ResultPath": "$.i", "End": True}
    return {"StartAt": "S0", "States": states}


def big_map() -> dict[str, Any]:
    return {
        "StartAt": "Each",
        "States": {
            "Each": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "MaxConcurrency": 40,
                # A 10,000-item inline Map would pass 25,000 history events (AWS fails it
                # too): DISTRIBUTED runs items as child work with no events per item.
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                    "StartAt": "Double",
                    "States": {
                        "Double": {"Type": "Pass", "Parameters": {"v.$": "$"}, "Next": "Tag"},
                        "Tag": {
                            "Type": "Pass",
                            "Result": "done",
                            "ResultPath": "$.tag",
                            "End": True,
                        },
                    },
                },
                "ResultPath": "$.out",
                "OutputPath": "$.out[0]",
                "End": True,
            }
        },
    }


def ten_states() -> dict[str, Any]:
    states: dict[str, Any] = {}
    for i in range(4):
        states[f"P{i}"] = {"Type": "Pass", "Result": i, "ResultPath": "$.step", "Next": f"C{i}"}
        states[f"C{i}"] = {
            "Type": "Choice",
            "Choices": [
                {
                    "Variable": "$.step",
                    "NumericGreaterThanEquals": 0,
                    "Next": f"P{i + 1}" if i < 3 else "Last",
                }
            ],
            "Default": "Failed",
        }
    states["Last"] = {"Type": "Pass", "End": True}
    states["Failed"] = {"Type": "Fail", "Error": "Unexpected"}
    return {"StartAt": "P0", "States": states}


def create(sfn: Any, name: str, definition: dict[str, Any]) -> str:
    arn: str = sfn.create_state_machine(name=name, definition=json.dumps(definition), roleArn=ROLE)[
        "stateMachineArn"
    ]
    return arn


def wait(sfn: Any, execution: str, timeout_s: float = 600) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        described: dict[str, Any] = sfn.describe_execution(executionArn=execution)
        if described["status"] != "RUNNING":
            return described
        time.sleep(POLL_S)
    raise TimeoutError(f"{execution} still running after {timeout_s} s")


def run_once(sfn: Any, machine: str, payload: dict[str, Any]) -> tuple[float, dict[str, Any]]:
    began = time.perf_counter()
    execution = sfn.start_execution(
        stateMachineArn=machine, name=uuid.uuid4().hex, input=json.dumps(payload)
    )
    described = wait(sfn, execution["executionArn"])
    return time.perf_counter() - began, described


def timed(
    sfn: Any,
    name: str,
    definition: dict[str, Any],
    payload: dict[str, Any],
    repeat: int,
    check: Callable[[Any], bool],
) -> float:
    machine = create(sfn, name, definition)
    times = []
    for _ in range(repeat):
        took, described = run_once(sfn, machine, payload)
        output = json.loads(described.get("output") or "null")
        if described["status"] != "SUCCEEDED" or not check(output):
            raise AssertionError(f"{name}: {described['status']} {str(output)[:200]}")
        times.append(took)
    return statistics.median(times)


_CLIENT: Any = None  # each client process's own boto3 client


def _connect(url: str, token: str | None) -> None:
    global _CLIENT
    _CLIENT = client(url, token)


def _run_share(machine: str, names: list[str]) -> list[str]:
    """One client process's share: start every execution from 8 threads, then wait for each."""
    with ThreadPoolExecutor(8) as pool:
        arns = list(
            pool.map(
                lambda name: _CLIENT.start_execution(stateMachineArn=machine, name=name)[
                    "executionArn"
                ],
                names,
            )
        )
        return [d["status"] for d in pool.map(lambda arn: wait(_CLIENT, arn), arns)]


def _start_share(machine: str, names: list[str]) -> int:
    """One client process's share, started from 8 threads without waiting for any."""
    with ThreadPoolExecutor(8) as pool:
        started = pool.map(
            lambda name: _CLIENT.start_execution(stateMachineArn=machine, name=name), names
        )
        return len(list(started))


def _count(sfn: Any, machine: str, status: str) -> int:
    """How many of ``machine``'s executions have ``status``, a page of 1,000 per call."""
    pages = sfn.get_paginator("list_executions").paginate(
        stateMachineArn=machine, statusFilter=status, PaginationConfig={"PageSize": 1000}
    )
    return sum(len(page["executions"]) for page in pages)


def _wait_listed(sfn: Any, machine: str, timeout_s: float = 600) -> None:
    """Until none of ``machine``'s executions is RUNNING, asking every ``LIST_POLL_S``."""
    deadline = time.monotonic() + timeout_s
    while _count(sfn, machine, "RUNNING"):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{machine} still has executions running after {timeout_s} s")
        time.sleep(LIST_POLL_S)


class Rate(NamedTuple):
    rate: float  # executions per second
    cpu: float  # the server's CPU seconds per execution
    writes: float  # the server's write system calls per execution


def throughput(
    url: str,
    token: str | None,
    executions: int,
    server: Server,
    processes: int,
    listed: bool = False,
) -> Rate:
    """Executions per second from ``processes`` client processes, and the server's CPU seconds
    and write system calls per execution. Each client waits for each of its executions with
    ``DescribeExecution``; with ``listed``, the clients only start them, and one
    ``ListExecutions`` poll waits for them all."""
    sfn = client(url, token)
    machine = create(sfn, f"ten-{uuid.uuid4().hex[:8]}", ten_states())
    shares = [[f"e{p}-{i}" for i in range(p, executions, processes)] for p in range(processes)]
    with ProcessPoolExecutor(processes, initializer=_connect, initargs=(url, token)) as pool:
        # Every process up, its client made and its connection open before the clock starts.
        warm = [pool.submit(_run_share, machine, [f"warm{p}"]) for p in range(processes)]
        for future in warm:
            future.result()
        cpu, writes = server.cpu_seconds(), server.write_calls()
        began = time.perf_counter()
        if listed:
            sum(pool.map(_start_share, [machine] * processes, shares))
            _wait_listed(sfn, machine)
            statuses = ["SUCCEEDED"] * (_count(sfn, machine, "SUCCEEDED") - processes)
        else:
            done = pool.map(_run_share, [machine] * processes, shares)
            statuses = [status for share in done for status in share]
        took = time.perf_counter() - began
    used = server.cpu_seconds() - cpu
    written = server.write_calls() - writes
    if len(statuses) != executions:
        raise AssertionError(f"{executions - len(statuses)} executions did not succeed")
    failed = [s for s in statuses if s != "SUCCEEDED"]
    if failed:
        raise AssertionError(f"{len(failed)} executions did not succeed: {failed[0]}")
    return Rate(executions / took, used / executions, written / executions)


def measure(
    url: str, token: str | None, args: argparse.Namespace, server: Server
) -> dict[str, float]:
    sfn = client(url, token)
    items = list(range(10_000))
    rate, cpu, writes = throughput(url, token, args.executions, server, args.clients)
    listed, listed_cpu, _ = throughput(url, token, args.executions, server, args.clients, True)
    return {
        "chain": timed(
            sfn,
            "chain",
            pass_chain(1000),
            {"a": 1},
            args.repeat,
            lambda out: out == {"a": 1, "i": 999},
        ),
        "map": timed(
            sfn,
            "map",
            big_map(),
            {"items": items},
            max(1, args.repeat // 2),
            lambda out: out == {"v": 0, "tag": "done"},
        ),
        "rate": rate,
        "cpu": cpu,
        "writes": writes,
        "listed": listed,
        "listed_cpu": listed_cpu,
    }


def task_overhead(
    sfn: Any, name: str, task: dict[str, Any], runs: int, states: int = 20
) -> list[float]:
    """Milliseconds per Task state (each ``task``) of a chain run ``runs`` times, from the
    execution histories."""
    definition = {
        "StartAt": "T0",
        "States": {
            f"T{i}": {
                "Type": "Task",
                **task,
                "ResultPath": None,
                **({"Next": f"T{i + 1}"} if i < states - 1 else {"End": True}),
            }
            for i in range(states)
        },
    }
    machine = create(sfn, name, definition)
    overheads: list[float] = []
    for _ in range(runs):
        overheads += _task_intervals(sfn, machine)
    return overheads


def _task_intervals(sfn: Any, machine: str) -> list[float]:
    _, described = run_once(sfn, machine, {"x": 1})
    if described["status"] != "SUCCEEDED":
        raise AssertionError(f"task chain: {described}")
    events = sfn.get_execution_history(executionArn=described["executionArn"], maxResults=1000)[
        "events"
    ]
    # The core writes TaskScheduled and TaskStarted in the step that enters the state, and
    # TaskSucceeded in the step that enters the next one, all at their transaction's time: the
    # interval between two states' TaskStateEntered is the whole cost of one Task state (the
    # task's own work and the engine's around it: starting it, feeding its answer back).
    entered = [
        event["timestamp"].timestamp() for event in events if event["type"] == "TaskStateEntered"
    ]
    return [(b - a) * 1000 for a, b in itertools.pairwise(entered)]


def report(what: str, overhead: list[float]) -> None:
    print(
        f"dockyard {what} p50 {statistics.median(overhead):.1f} ms "
        f"(p90 {statistics.quantiles(overhead, n=10)[-1]:.1f} ms, {len(overhead)} states)",
        flush=True,
    )


def put_parameter(url: str, token: str | None, name: str) -> None:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    httpx.post(
        f"{url}/api/v1/params", json={"name": name, "value": "1"}, headers=headers
    ).raise_for_status()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--executions", type=int, default=300)
    parser.add_argument(
        "--clients", type=int, default=2, help="client processes of the executions/s row"
    )
    parser.add_argument(
        "--workers", type=int, default=1, help="Dockyard's server processes (its default: 1)"
    )
    parser.add_argument("--skip", nargs="*", default=[], choices=["moto", "dockyard", "stub"])
    parser.add_argument(
        "--tasks-only", action="store_true", help="Dockyard's Task state rows (4, 5) only"
    )
    args = parser.parse_args()
    results: dict[str, dict[str, float]] = {}
    ceiling = 0.0
    print(f"load average {os.getloadavg()[0]:.1f}", flush=True)
    if "moto" not in args.skip and not args.tasks_only:
        with moto_server() as moto:
            enable_moto_engine(moto.url)
            results["moto"] = measure(moto.url, None, args, moto)
            print("moto", results["moto"], flush=True)
    if "stub" not in args.skip and not args.tasks_only:
        with Server.stub("_sfn_stub:app", workers=1) as stub:  # one process: it counts starts
            ceiling, floor, _ = throughput(stub.url, None, args.executions, stub, args.clients)
            print(
                f"stub: {ceiling:.0f} executions/s, its server CPU {floor * 1000:.2f} ms each",
                flush=True,
            )
            listed_ceiling, _, _ = throughput(
                stub.url, None, args.executions, stub, args.clients, True
            )
            print(f"stub, ends read by ListExecutions: {listed_ceiling:.0f}/s", flush=True)
    if "dockyard" not in args.skip:
        with tempfile.TemporaryDirectory() as tmp:
            home = Path(tmp)
            functions = home / "functions"
            functions.mkdir()
            (functions / "bench.py").write_text(
                "def noop(event, context=None):\n    return event\n"
            )
            env = {
                "DOCKYARD_PIPELINE_FUNCTIONS": json.dumps({"noop": "bench:noop"}),
                # After the functions' folder, a PYTHONPATH given (an export of another tree's
                # src/ for a side-by-side run): set alone, it ran this tree's code on both sides.
                "PYTHONPATH": os.pathsep.join(
                    p for p in (str(functions), os.environ.get("PYTHONPATH")) if p
                ),
            }
            with Server.dockyard(home, workers=args.workers, env=env) as dockyard:
                token = dockyard_token(home)
                sfn = client(dockyard.url, token)
                if not args.tasks_only:
                    results["dockyard"] = measure(dockyard.url, token, args, dockyard)
                    print("dockyard", results["dockyard"], flush=True)
                noop = {"Resource": "dockyard:function:noop"}
                noops = task_overhead(sfn, "tasks", noop, args.repeat)
                report("task state calling a no-op function", noops)
                put_parameter(dockyard.url, token, "/bench/x")
                read = {
                    "Resource": "arn:aws:states:::aws-sdk:ssm:getParameter",
                    "Parameters": {"Name": "/bench/x"},
                }
                reads = task_overhead(sfn, "reads", read, args.repeat)
                report("task state reading a parameter", reads)
    if len(results) == 2:
        moto, ours = results["moto"], results["dockyard"]
        print(
            f"1,000 Pass states: {ours['chain'] * 1000:.0f} ms vs moto "
            f"{moto['chain'] * 1000:.0f} ms = {moto['chain'] / ours['chain']:.1f}x"
        )
        print(
            f"Map 10,000 items:  {ours['map'] * 1000:.0f} ms vs moto "
            f"{moto['map'] * 1000:.0f} ms = {moto['map'] / ours['map']:.1f}x"
        )
        print(
            f"10-state executions/s: {ours['rate']:.0f} vs moto {moto['rate']:.0f} = "
            f"{ours['rate'] / moto['rate']:.1f}x"
        )
        print(
            f"server CPU per 10-state execution: {ours['cpu'] * 1000:.2f} ms vs moto "
            f"{moto['cpu'] * 1000:.2f} ms = {moto['cpu'] / ours['cpu']:.1f}x; its write system "
            f"calls per execution {ours['writes']:.1f} (moto {moto['writes']:.1f})"
        )
        print(
            f"10-state executions/s, their end read by ListExecutions: {ours['listed']:.0f} vs "
            f"moto {moto['listed']:.0f} = {ours['listed'] / moto['listed']:.1f}x (server CPU "
            f"{ours['listed_cpu'] * 1000:.2f} vs {moto['listed_cpu'] * 1000:.2f} ms each)"
        )
        if ceiling:
            print(
                f"the clients' ceiling (a stub that costs nothing): {ceiling:.0f} executions/s "
                f"= {ceiling / moto['rate']:.1f}x moto, the most this machine can show"
            )
    print(f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
