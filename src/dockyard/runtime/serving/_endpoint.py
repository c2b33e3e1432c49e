"""The endpoint a worker serves, as an immutable :class:`State` swapped whole on reconfiguration.

``apply`` loads every new or changed variant *before* anything switches (on a thread, so the
event loop keeps answering), then replaces ``Endpoint.state`` in one assignment. Requests read
``state`` once when they start, so each runs entirely on the old or entirely on the new
configuration. Variants that left are retired once their queued and in-flight requests are done;
a variant whose model settings did not change (only its weight or shadow sampling) keeps its
loaded model, batcher and thread.
"""

from __future__ import annotations

import asyncio
import copy
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dockyard.api.serving import ApiKeys
from dockyard.api.serving.config import CaptureConfig, VariantConfig, WorkerConfig
from dockyard.errors import Conflict, DockyardError, InvalidArgument
from dockyard.runtime.serving._capture import CaptureWriter
from dockyard.runtime.serving._metrics import Metrics
from dockyard.runtime.serving._routing import Routes
from dockyard.runtime.serving._variant import Variant, load_variant

__all__ = ["Endpoint", "State"]

# Bound into the listening socket when the worker starts. (Connection limits may change: the
# worker holds the connections opened after the change to the new ones.)
_FIXED = ("endpoint", "host", "port", "admin_socket")


@dataclass(frozen=True, slots=True)
class State:
    """One configuration version, complete: what a request needs, read once."""

    config: WorkerConfig
    routes: Routes
    capture: CaptureWriter | None
    capture_fraction: float
    capture_input: bool
    capture_output: bool
    timeout_s: float
    max_body: int
    version: int
    keys: ApiKeys | None  # None: the endpoint requires no key

    @property
    def variants(self) -> list[Variant]:
        """Production variants, then the shadow variant."""
        shadow = [self.routes.shadow] if self.routes.shadow is not None else []
        return [*self.routes.production, *shadow]


class Endpoint:
    """The live endpoint: current state, reconfiguration, and shutdown.

    Args:
        config: The initial configuration (loaded by :meth:`start`).
        metrics: The worker's statistics.
        rng: Randomness for traffic splits and sampling (seed it for reproducible tests).
        on_apply: Called with each configuration :meth:`apply` switched to, once it serves.
    """

    def __init__(
        self,
        config: WorkerConfig,
        metrics: Metrics,
        rng: random.Random | None = None,
        *,
        on_apply: Callable[[WorkerConfig], None] | None = None,
    ) -> None:
        self.metrics = metrics
        self._on_apply = on_apply
        self.rng = rng or random.Random()
        self.arriving = 0
        self.draining = False
        self._initial = config
        self._state: State | None = None
        self._lock: asyncio.Lock | None = None
        self._retiring: set[asyncio.Task[None]] = set()

    @property
    def state(self) -> State:
        """The current configuration version."""
        if self._state is None:
            raise RuntimeError("the endpoint is not started")
        return self._state

    @state.setter
    def state(self, value: State) -> None:
        self._state = value

    def arriving_count(self) -> int:
        """Requests between their headers and their batch submission."""
        return self.arriving

    async def start(self) -> None:
        """Load the initial configuration's models.

        Raises:
            DockyardError: A model cannot be loaded.
        """
        self.state = await self._build(self._initial, None, version=1)

    async def apply(self, config: WorkerConfig) -> dict[str, Any]:
        """Switch to ``config`` without dropping a request.

        Returns:
            The new version number and which variants were loaded, kept and retired.

        Raises:
            InvalidArgument: A field that cannot change in a running worker changed, or a
                model cannot be loaded (the current configuration stays).
            Conflict: The worker is draining.
        """
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self.draining:
                raise Conflict("the worker is draining; it takes no new configuration")
            current = self.state
            for name in _FIXED:
                if getattr(config, name) != getattr(current.config, name):
                    raise InvalidArgument(
                        f"{name} cannot change in a running worker (start a new worker instead)",
                        field=name,
                    )
            new = await self._build(config, current, version=current.version + 1)
            kept = {id(v.batcher) for v in new.variants}
            retired = [v for v in current.variants if id(v.batcher) not in kept]
            self.state = new
            if self._on_apply is not None:
                self._on_apply(config)
            if current.capture is not None and current.capture is not new.capture:
                self._background(asyncio.to_thread(current.capture.close))
            if retired:
                self._background(self._retire(retired, config.request_timeout_s + 5))
            reused = [v.name for v in new.variants if id(v.batcher) in _ids(current.variants)]
            return {
                "version": new.version,
                "loaded": [v.name for v in new.variants if v.name not in reused],
                "kept": reused,
                "retired": [v.name for v in retired],
            }

    async def close(self) -> None:
        """Finish retirements, release every variant and flush capture (at shutdown)."""
        if self._retiring:
            await asyncio.gather(*self._retiring, return_exceptions=True)
        state = self._state
        if state is None:
            return
        for variant in state.variants:
            variant.close()
        if state.capture is not None:
            await asyncio.to_thread(state.capture.close)

    async def _build(self, config: WorkerConfig, current: State | None, *, version: int) -> State:
        previous = {v.name: v for v in current.variants} if current is not None else {}
        loaded: list[Variant] = []
        built: dict[str, Variant] = {}
        try:
            for variant_config in config.variants:
                old = previous.get(variant_config.name)
                if old is not None and _same_model(old.config, variant_config):
                    built[variant_config.name] = _reconfigured(old, variant_config)
                    continue
                stats = self.metrics.variant(variant_config.name)  # created on the loop thread
                try:
                    variant = await asyncio.to_thread(
                        load_variant, variant_config, stats, self.arriving_count
                    )
                except DockyardError as exc:  # which variant, for whoever rolls back
                    exc.details.setdefault("variant", variant_config.name)
                    raise
                loaded.append(variant)
                built[variant_config.name] = variant
        except BaseException:
            for variant in loaded:
                variant.close()
            raise
        production = [built[v.name] for v in config.production]
        shadow = built[config.shadow.name] if config.shadow is not None else None
        capture = self._capture(config.capture, current, config.endpoint)
        return State(
            config=config,
            routes=Routes(production, shadow, self.rng),
            capture=capture,
            capture_fraction=config.capture.sampling_pct / 100,
            capture_input=config.capture.mode in ("input", "both"),
            capture_output=config.capture.mode in ("output", "both"),
            timeout_s=config.request_timeout_s,
            max_body=config.max_body_bytes,
            version=version,
            keys=ApiKeys(config.api_keys) if config.require_api_key else None,
        )

    def _capture(
        self, config: CaptureConfig, current: State | None, endpoint: str
    ) -> CaptureWriter | None:
        if not config.enabled:
            return None
        old = current.capture if current is not None else None
        if old is not None and _same_sink(old.config, config):
            return old
        return CaptureWriter(config, endpoint, self.metrics)

    async def _retire(self, variants: list[Variant], timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and any(v.active or not v.batcher.idle for v in variants):
            await asyncio.sleep(0.05)
        for variant in variants:
            variant.close()
        # A variant name no configuration serves any more ends its statistics: /stats (the
        # endpoint page's series, ``describe --stats``) and /metrics would otherwise report it
        # for the life of the process, as an update's ``<name>.next`` once it completed.
        serving = {v.name for v in self.state.variants}
        for variant in variants:
            if variant.name not in serving:
                self.metrics.forget(variant.name)

    def _background(self, awaitable: Any) -> None:
        task = asyncio.ensure_future(awaitable)
        self._retiring.add(task)
        task.add_done_callback(self._retiring.discard)


def _same_model(old: VariantConfig, new: VariantConfig) -> bool:
    return old.same_model(new)


def _reconfigured(variant: Variant, config: VariantConfig) -> Variant:
    if variant.config == config:
        return variant
    # Same model, batcher and statistics; only routing settings (weight, sampling) differ.
    clone = copy.copy(variant)
    clone.config = config
    clone.active = 0
    return clone


def _same_sink(old: CaptureConfig, new: CaptureConfig) -> bool:
    keep = {"sampling_pct", "mode", "enabled"}
    return old.model_dump(exclude=keep) == new.model_dump(exclude=keep)


def _ids(variants: list[Variant]) -> set[int]:
    return {id(v.batcher) for v in variants}
