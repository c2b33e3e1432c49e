from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from tests.runtime.serving.conftest import config, variant

from dockyard.api.serving.client import WorkerAdmin
from dockyard.runtime.serving._batching import Batcher, Outcome
from dockyard.runtime.serving._inputs import Item


class Recorder:
    """A runner that records every batch and answers each item with its rows times 10."""

    def __init__(self, delay: float = 0.0) -> None:
        self.batches: list[list[Item]] = []
        self.delay = delay

    def __call__(self, batch: list[Item]) -> list[Outcome]:
        self.batches.append(batch)
        time.sleep(self.delay)
        return [(True, np.asarray(item.data) * 10) for item in batch]


def batcher(
    run: Recorder, *, inline: bool = True, arriving: Callable[[], int] = lambda: 0, **kw: Any
) -> Batcher:
    options: dict[str, Any] = {"enabled": True, "max_rows": 64, "max_wait_s": 0.0, **kw}
    return Batcher(
        run, inline=inline, arriving=arriving, observe=lambda *_: None, name="t", **options
    )


def item(value: float, kind: object = "rows", rows: int = 1) -> Item:
    return Item(kind, np.full((rows, 1), value), rows)


def test_a_lone_request_runs_at_once_even_with_a_max_wait() -> None:
    async def scenario() -> float:
        run = Recorder()
        queue = batcher(run, max_wait_s=5.0)
        started = time.perf_counter()
        result = await queue.submit(item(1.0))
        assert result.tolist() == [[10.0]]
        return time.perf_counter() - started

    assert asyncio.run(scenario()) < 0.5  # nowhere near the 5 s max wait


def test_requests_queued_together_share_one_call_and_get_their_own_rows() -> None:
    async def scenario() -> Recorder:
        run = Recorder()
        queue = batcher(run)
        futures = [queue.submit(item(float(i), rows=i + 1)) for i in range(5)]
        results = await asyncio.gather(*futures)
        for i, result in enumerate(results):
            assert result.shape == (i + 1, 1) and (result == i * 10).all()
        return run

    run = asyncio.run(scenario())
    assert [len(b) for b in run.batches] == [5]


def test_batches_respect_kind_row_limit_and_disabled_batching() -> None:
    async def scenario(**kw: Any) -> list[int]:
        run = Recorder()
        queue = batcher(run, **kw)
        items = [
            item(1, rows=30),
            item(2, rows=30),
            item(3, rows=30),
            item(4, kind="other"),
            item(5, kind=None),
            item(6, kind=None),
        ]
        await asyncio.gather(*(queue.submit(i) for i in items))
        return [len(b) for b in run.batches]

    assert asyncio.run(scenario()) == [2, 1, 1, 1, 1]  # 60 rows fit, 90 do not; kinds never mix
    assert asyncio.run(scenario(enabled=False)) == [1] * 6


def test_requests_arriving_during_a_threaded_batch_form_the_next_batch() -> None:
    async def scenario() -> Recorder:
        run = Recorder(delay=0.05)
        queue = batcher(run, inline=False)
        first = queue.submit(item(0))
        await asyncio.sleep(0.01)  # the first batch is now running on the variant's thread
        rest = [queue.submit(item(float(i))) for i in range(1, 8)]
        results = await asyncio.gather(first, *rest)
        assert [r.item() for r in results] == [i * 10 for i in range(8)]
        queue.close()
        return run

    run = asyncio.run(scenario())
    assert [len(b) for b in run.batches] == [1, 7]


def test_max_wait_applies_only_while_requests_are_arriving() -> None:
    async def scenario() -> tuple[list[int], float]:
        run = Recorder()
        arriving = [1]
        queue = batcher(run, max_wait_s=0.05, arriving=lambda: arriving[0])
        started = time.perf_counter()
        first = queue.submit(item(1))
        await asyncio.sleep(0.01)
        arriving[0] = 0
        second = queue.submit(item(2))
        await asyncio.gather(first, second)
        return [len(b) for b in run.batches], time.perf_counter() - started

    sizes, elapsed = asyncio.run(scenario())
    assert sizes == [2]  # the second request joined the first during the wait
    assert 0.04 < elapsed < 1.0


def test_timed_out_requests_are_skipped_not_predicted() -> None:
    async def scenario() -> Recorder:
        run = Recorder()
        queue = batcher(run)
        dead = queue.submit(item(1))
        dead.cancel()
        assert (await queue.submit(item(2))).item() == 20
        return run

    run = asyncio.run(scenario())
    assert [i.data.item() for b in run.batches for i in b] == [2]


def test_concurrent_http_requests_are_merged_and_mapped_back(
    serve: Any, packages: dict[str, Path], short_dir: Path
) -> None:
    cfg = config(
        short_dir,
        [variant("v", packages["times10"], batching={"enabled": True, "max_batch_size": 64})],
        access_log=False,
    )
    with serve(cfg) as w:
        barrier = threading.Barrier(16)

        def call(i: int) -> tuple[int, list[float]]:
            barrier.wait()
            body = {"dataframe_split": {"columns": ["x"], "data": [[float(i)], [float(i) + 0.5]]}}
            response = w.client.post("/invocations", json=body)
            assert response.status_code == 200, response.text
            return i, response.json()["predictions"]

        with ThreadPoolExecutor(16) as pool:
            for _ in range(3):
                for i, predictions in pool.map(call, range(16)):
                    assert predictions == [i * 10.0, i * 10.0 + 5.0]  # its own rows, in order
        with WorkerAdmin(w.admin_socket) as admin:
            batches = admin.stats()["variants"]["v"]["batch_requests"]
    assert batches["sum"] == 48
    assert batches["count"] < 48  # some predict calls served several requests
    used = [bound for bound, n in zip(batches["bounds"], batches["counts"][:-1], strict=True) if n]
    assert max(used) > 1
