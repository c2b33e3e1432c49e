"""What the AWS adapters add to a call: SSM GetParameter beside the native API's same read.

1. In one process: the adapter's action (reading AWS's fields, the service call, AWS's shape)
   against the service call alone, p50 over many calls.
2. Over HTTP on loopback (one server in a thread, one keep-alive connection, no accounts):
   ``POST /`` with ``X-Amz-Target: AmazonSSM.GetParameter`` against
   ``GET /api/v1/params/value?name=``, alternating, p50 of each and their difference.

    nice .venv/bin/python bench/aws_adapters.py --calls 3000
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.server.pipelines._live import served

from dockyard.api.params import PutParameter
from dockyard.server._services import Services
from dockyard.server.actor import Actor
from dockyard.server.compat.aws._ssm import ACTIONS
from dockyard.settings import Settings

NAME = "/team/model/threshold"


def p50_us(call: Callable[[], Any], calls: int) -> float:
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=3000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        services = Services.from_settings(Settings(home=Path(tmp) / "home", data_roots=[tmp]))
        actor = Actor.anonymous("bench")
        services.params.put(actor, PutParameter(name=NAME, value="0.5"))
        action = ACTIONS["GetParameter"]
        body = {"Name": NAME}
        for _ in range(200):  # warm caches on both paths
            action(services, actor, body)
            services.params.get(actor, NAME)
        direct = p50_us(lambda: services.params.get(actor, NAME), args.calls)
        adapted = p50_us(lambda: action(services, actor, body), args.calls)
        print(
            f"in process: service {direct:.0f} us, adapter action {adapted:.0f} us, "
            f"adapter's own work {adapted - direct:.0f} us (p50 of {args.calls})"
        )
        with served(services) as url, httpx.Client(base_url=url) as http:
            aws_headers = {
                "X-Amz-Target": "AmazonSSM.GetParameter",
                "Content-Type": "application/x-amz-json-1.1",
            }
            native: list[float] = []
            aws: list[float] = []
            for i in range(args.calls + 200):
                start = time.perf_counter()
                http.get("/api/v1/params/value", params={"name": NAME}).raise_for_status()
                middle = time.perf_counter()
                http.post("/", content=b'{"Name": "%s"}' % NAME.encode(), headers=aws_headers)
                end = time.perf_counter()
                if i >= 200:
                    native.append(middle - start)
                    aws.append(end - middle)
            n, a = statistics.median(native) * 1e6, statistics.median(aws) * 1e6
            print(
                f"over HTTP: native GET {n:.0f} us, AWS GetParameter {a:.0f} us, "
                f"difference {a - n:.0f} us (p50 of {args.calls})"
            )
        services.close()


if __name__ == "__main__":
    main()
