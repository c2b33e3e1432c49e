"""What a worker serves: :class:`WorkerConfig`, one frozen model read from JSON.

The same model is the worker's ``--config`` file and the body of the admin API's ``PUT /config``,
so a control plane builds it once and sends it either way. Every refusal is
:class:`~dockyard.errors.InvalidArgument` naming the field (``variants.1.weight``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from dockyard.errors import InvalidArgument

__all__ = [
    "MAX_BODY_BYTES",
    "ApiKey",
    "BatchingConfig",
    "CaptureConfig",
    "VariantConfig",
    "WorkerConfig",
]

MIB = 1024 * 1024
#: A worker's request body limit unless its config says otherwise: SageMaker's own (6 MB).
MAX_BODY_BYTES = 6 * MIB
_NAME = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class BatchingConfig(_Frozen):
    """Adaptive micro-batching of one variant.

    Attributes:
        enabled: Merge concurrent requests into one predict call. ``None`` (the default) turns it
            on for flavors that predict vectorised (scikit-learn, XGBoost, LightGBM, ONNX) and
            off for custom Python models, whose ``predict`` may not take a batch of requests.
        max_batch_size: The most rows one predict call receives (a bigger request runs alone).
            256 by default: tree ensembles cost ~3 us a row at 64 rows, ~1.7 at 256 and ~1.4 at
            1,024 (XGBoost, 200 trees), so 256 takes most of the gain while a full batch still
            predicts in well under a millisecond, and 64-row requests can still be merged.
        max_wait_ms: The longest a queued request waits for companions, and only while more
            requests are already arriving: a request that is alone never waits.
    """

    enabled: bool | None = None
    max_batch_size: int = Field(default=256, ge=1, le=65536)
    max_wait_ms: float = Field(default=2.0, ge=0, le=1000)


class VariantConfig(_Frozen):
    """One model behind the endpoint.

    Attributes:
        name: Unique within the endpoint; answers carry it in ``X-Dockyard-Variant``.
        model_path: Local directory of a Dockyard or MLflow model package.
        weight: Share of unpinned traffic, relative to the other production variants' weights.
        batching: Micro-batching options.
        shadow: A shadow variant answers nothing: it gets a sampled copy of production requests
            and its answers go only to data capture and metrics.
        shadow_sampling_pct: Percentage of production requests copied to this shadow variant.
        executor: Where predict runs: ``inline`` on the event loop (no thread hop; only for fast
            models, since it blocks the loop while it runs), ``thread`` in the variant's own
            thread, or ``auto``: inline when the flavor is vectorised and a full batch predicts
            in under 2 ms at load, else thread. Shadow variants always use a thread.
        expected_digest: The package digest recorded at registration; another package is refused.
        allow_unverified: Load a package without digests (one saved by MLflow).
    """

    name: str = Field(pattern=_NAME)
    model_path: str = Field(min_length=1)
    weight: float = Field(default=1.0, ge=0, le=1e6)
    batching: BatchingConfig = BatchingConfig()
    shadow: bool = False
    shadow_sampling_pct: float = Field(default=100.0, ge=0, le=100)
    executor: Literal["auto", "inline", "thread"] = "auto"
    expected_digest: str | None = None
    allow_unverified: bool = False

    def same_model(self, other: VariantConfig) -> bool:
        """Whether ``other`` can reuse this variant's loaded model and batcher as they are."""
        keep = {"weight", "shadow_sampling_pct"}
        return self.model_dump(exclude=keep) == other.model_dump(exclude=keep)


class CaptureConfig(_Frozen):
    """Data capture: sampled request/response records written as JSON Lines.

    Records go to ``<destination>/<endpoint>/<variant>/<YYYY>/<MM>/<DD>/<HH>/<file>.jsonl``
    (UTC hour of the request). Requests copied to a shadow variant are always captured, on both
    sides, so every shadow answer can be joined to the production answer by request id.

    Attributes:
        enabled: Capture at all.
        sampling_pct: Percentage of requests captured.
        mode: ``input``, ``output`` or ``both`` halves of each exchange.
        destination: Artifact root: a local folder, ``file://`` URI or ``s3://bucket/prefix``.
        s3_endpoint_url: S3-compatible server for ``s3://`` destinations (``None``: AWS).
        flush_interval_s: How often buffered records are written.
        max_queue_bytes: Records waiting to be written, in bytes; beyond it new records are
            dropped (and counted) rather than slowing requests down.
    """

    enabled: bool = False
    sampling_pct: float = Field(default=100.0, ge=0, le=100)
    mode: Literal["input", "output", "both"] = "both"
    destination: str | None = None
    s3_endpoint_url: str | None = None
    flush_interval_s: float = Field(default=1.0, gt=0, le=300)
    max_queue_bytes: int = Field(default=64 * MIB, ge=1024)

    @model_validator(mode="after")
    def _destination_when_enabled(self) -> CaptureConfig:
        if self.enabled and not self.destination:
            raise ValueError("destination is required when capture is enabled")
        return self


class ApiKey(_Frozen):
    """A key the endpoint accepts, as the control plane keeps it: never the key itself.

    Attributes:
        id: The key's public id, also the ``<id>`` in the key ``dyk_<id>_<secret>``.
        sha256: Hex SHA-256 digest of the whole key.
    """

    id: str = Field(pattern=r"^[0-9a-f]{12}$")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class WorkerConfig(_Frozen):
    """Everything one worker process serves.

    Attributes:
        endpoint: The endpoint's name (OIP's model name; capture's first path segment).
        variants: Production variants (weighted) and at most one shadow variant.
        capture: Data capture options.
        host: Address to bind.
        port: Port to bind, shared with the endpoint's other workers (``SO_REUSEPORT``);
            ``0`` picks a free port (the worker reports it when ready).
        admin_socket: Unix socket path of the admin API; ``None`` picks one in the temp folder.
        request_timeout_s: A request not answered in this time gets 504.
        max_body_bytes: Bigger request bodies get 413.
        keep_alive_s: Idle connections (keep-alive, or never used) are closed after this time.
        header_timeout_s: A request's headers must be complete this long after its first byte;
            a client sending them slower (slowloris) gets 408 and is disconnected.
        body_timeout_s: A request body that makes no progress for this long gets 408.
        min_body_rate: Bytes a second a body must average once ``body_timeout_s`` has passed
            (0: no minimum), else 408.
        send_timeout_s: An answer the client reads none of for this long is cut off and its
            connection closed.
        max_connections: Open connections this worker holds; past it the longest-idle one is
            closed for each new one, and when none is idle new ones are refused.

            The server sets these connection limits (``keep_alive_s`` to here) to its own
            (``DOCKYARD_KEEPALIVE_TIMEOUT_S`` and the rest). A running worker takes new ones for
            the connections opened after the change; those open keep theirs.
        shadow_max_pending: Shadow copies waiting for the shadow model; more are dropped.
        access_log: Write one JSON line per request to stderr (buffered, off the request path).
        access_log_sampling_pct: Share of successful requests logged; errors always are.
        intra_op_threads: Threads one predict call may use (OpenMP/BLAS). One per worker keeps
            libraries from fighting the event loop and sibling workers for cores: throughput
            comes from batching and from more workers.
        require_api_key: Answer 401 to requests without one of ``api_keys`` (in
            ``Authorization: Bearer <key>`` or ``X-Api-Key: <key>``); health checks stay open.
        api_keys: The keys accepted, as digests; a new config revokes the ones it leaves out.
    """

    endpoint: str = Field(pattern=_NAME)
    variants: tuple[VariantConfig, ...] = Field(min_length=1)
    capture: CaptureConfig = CaptureConfig()
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    admin_socket: str | None = None
    request_timeout_s: float = Field(default=60.0, gt=0, le=3600)
    max_body_bytes: int = Field(default=MAX_BODY_BYTES, ge=1, le=1024 * MIB)
    keep_alive_s: float = Field(default=5.0, gt=0, le=3600)
    header_timeout_s: float = Field(default=10.0, gt=0, le=3600)
    body_timeout_s: float = Field(default=30.0, gt=0, le=3600)
    min_body_rate: float = Field(default=500.0, ge=0, le=1e12)
    send_timeout_s: float = Field(default=60.0, gt=0, le=3600)
    max_connections: int = Field(default=2048, ge=1, le=1_000_000)
    shadow_max_pending: int = Field(default=256, ge=1)
    access_log: bool = True
    access_log_sampling_pct: float = Field(default=100.0, ge=0, le=100)
    intra_op_threads: int = Field(default=1, ge=1, le=256)
    require_api_key: bool = False
    api_keys: tuple[ApiKey, ...] = ()

    @field_validator("variants")
    @classmethod
    def _check_variants(cls, variants: tuple[VariantConfig, ...]) -> tuple[VariantConfig, ...]:
        names = [v.name for v in variants]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"variant names must be unique: {', '.join(duplicates)}")
        shadows = [v.name for v in variants if v.shadow]
        if len(shadows) > 1:
            raise ValueError(f"at most one shadow variant, got {', '.join(shadows)}")
        if not any(v.weight > 0 for v in variants if not v.shadow):
            raise ValueError("at least one production (non-shadow) variant needs a weight > 0")
        return variants

    @property
    def production(self) -> tuple[VariantConfig, ...]:
        """The variants that answer requests."""
        return tuple(v for v in self.variants if not v.shadow)

    @property
    def shadow(self) -> VariantConfig | None:
        """The shadow variant, if any."""
        return next((v for v in self.variants if v.shadow), None)

    @classmethod
    def parse(cls, data: bytes | str | Mapping[str, Any]) -> WorkerConfig:
        """Validate JSON text or a mapping.

        Raises:
            InvalidArgument: The first problem, naming its field (``variants.0.weight``).
        """
        try:
            if isinstance(data, Mapping):
                return cls.model_validate(data)
            return cls.model_validate_json(data)
        except ValidationError as exc:
            raise _invalid(exc) from None


def _invalid(exc: ValidationError) -> InvalidArgument:
    first = exc.errors(include_url=False)[0]
    field = ".".join(str(part) for part in first["loc"])
    message = re.sub(r"^Value error, ", "", first["msg"])
    problems = len(exc.errors())
    more = f" (and {problems - 1} more problems)" if problems > 1 else ""
    where = f"{field}: " if field else ""
    return InvalidArgument(
        f"invalid worker config: {where}{message}{more}",
        field=field or None,
        details={"errors": [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]},
    )
