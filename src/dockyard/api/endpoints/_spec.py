"""Endpoint configuration: production variants, a shadow, capture, scaling, rollout policy,
where the endpoint listens and whether it requires API keys.

One frozen model validates a YAML file, a REST body and ``dy.deploy`` arguments. Scaling is per
endpoint, not per variant: every worker process serves every variant (traffic is split inside
the worker, with no extra network hop), so an endpoint has one fleet whose size follows load.
"""

from __future__ import annotations

import ipaddress
from typing import Annotated, Any, Final, Literal

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from dockyard.api.serving.config import BatchingConfig

__all__ = [
    "LOOPBACK",
    "DataCapture",
    "EndpointConfig",
    "EndpointUpdate",
    "ProductionVariant",
    "Rollout",
    "Scaling",
    "ShadowVariant",
    "Thresholds",
]

# Endpoints answer on loopback unless their config says otherwise: a server bound to every
# interface (for its API) must not expose every model with it.
LOOPBACK: Final = "127.0.0.1"

Name = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9-]{0,62}$")]
VariantName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,50}$")]
Uri = Annotated[str, StringConstraints(min_length=1, max_length=1024)]

_PINNED = (
    "set by the server: the registered version the model URI named when the endpoint was "
    "created or last updated with this variant (an alias or latest resolved then); the workers "
    "load this version until an update names the variant again. A value given is kept only "
    "when it is the version the endpoint already serves for the same URI (a config sent back as "
    "described); otherwise the server resolves the URI again"
)


def pinned_uri(model_uri: str, version: int | None) -> str:
    """What a variant's workers load: ``models:/<name>/<version>`` for a registry URI whose
    version the server pinned, else the URI as given (a config stored before versions were
    pinned resolves its alias or ``latest`` as it always did)."""
    if version is None or not model_uri.startswith("models:"):
        return model_uri
    rest = model_uri[len("models:") :].lstrip("/")
    name = rest.partition("@")[0] if "@" in rest else rest.rpartition("/")[0]
    return f"models:/{name}/{version}" if name else model_uri


class _Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class ProductionVariant(_Spec):
    """A model that answers a share of the traffic."""

    name: VariantName = Field(validation_alias=AliasChoices("name", "VariantName"))
    model_uri: Uri = Field(validation_alias=AliasChoices("model_uri", "ModelUri", "model"))
    weight: float = Field(
        default=1.0,
        ge=0,
        le=1e6,
        validation_alias=AliasChoices("weight", "initial_weight", "InitialVariantWeight"),
    )
    batching: BatchingConfig = Field(default_factory=BatchingConfig)
    model_version: int | None = Field(default=None, ge=1, description=_PINNED)

    @property
    def served_uri(self) -> str:
        """The URI the workers load (:func:`pinned_uri`)."""
        return pinned_uri(self.model_uri, self.model_version)


class ShadowVariant(_Spec):
    """A model that receives a sampled copy of requests; its answers are captured, not sent."""

    name: VariantName
    model_uri: Uri
    sampling_pct: float = Field(default=100.0, ge=0, le=100)
    model_version: int | None = Field(default=None, ge=1, description=_PINNED)

    @property
    def served_uri(self) -> str:
        """The URI the workers load (:func:`pinned_uri`)."""
        return pinned_uri(self.model_uri, self.model_version)


class DataCapture(_Spec):
    """Sampled request/response records, written as JSON Lines for monitoring."""

    enabled: bool = False
    sampling_pct: float = Field(default=100.0, ge=0, le=100)
    mode: Literal["input", "output", "both"] = "both"
    destination: Uri | None = Field(
        default=None, description="artifact root (folder or s3://); default capture/ in the store"
    )


class Scaling(_Spec):
    """Workers between ``min_workers`` and ``max_workers`` by in-flight requests per worker."""

    min_workers: int = Field(default=1, ge=1, le=64)
    max_workers: int = Field(default=1, ge=1, le=64)
    target_in_flight: float = Field(default=8.0, gt=0, le=10_000)
    cooldown_s: float = Field(default=30.0, ge=0, le=3600)

    @model_validator(mode="after")
    def _ordered(self) -> Scaling:
        if self.max_workers < self.min_workers:
            raise ValueError("max_workers must be at least min_workers")
        return self


class Thresholds(_Spec):
    """When a rollout's new fleet counts as unhealthy (and is rolled back).

    ``min_requests`` is also the evidence a baked step needs: a step whose new fleet answered
    fewer requests when its bake ends is held longer (up to ``Rollout.max_bake_s``) and then
    rolled back, so a canary that saw no traffic never passes. 0 lets such a step pass.
    """

    max_error_rate: float = Field(default=0.01, ge=0, le=1)
    max_p99_ms: float = Field(default=1000.0, gt=0, le=600_000)
    min_requests: int = Field(
        default=10,
        ge=0,
        le=1_000_000,
        description="requests the new fleet must answer in each baked step before it passes "
        "(and before its error rate and latency are judged)",
    )


class Rollout(_Spec):
    """How an update shifts traffic to the new configuration (blue/green).

    Traffic moves in steps: ``canary`` sends ``canary_pct`` first, ``linear`` moves
    ``linear_steps`` equal shares, ``all-at-once`` moves everything. Each partial step (the
    canary share, each linear step short of 100%) is held ``bake_s`` while the new fleet is
    judged against ``thresholds``; the last step, 100% on the new configuration, is held
    ``final_bake_s`` (default 0: the update completes at once; the old models stay loaded
    while it is held, so a breach still rolls back). A baked step passes once its bake has
    elapsed *and* the new fleet has answered ``thresholds.min_requests``; short of that it is
    held until ``max_bake_s`` (default: twice its bake), then rolled back. A step held 0 s is
    not judged.
    """

    strategy: Literal["all-at-once", "canary", "linear"] = "all-at-once"
    canary_pct: float = Field(default=10.0, gt=0, lt=100)
    bake_s: float = Field(
        default=60.0, ge=0, le=86_400, description="how long each partial traffic step is held"
    )
    final_bake_s: float = Field(
        default=0.0,
        ge=0,
        le=86_400,
        description="how long 100% on the new configuration is held and judged before the "
        "update completes",
    )
    max_bake_s: float | None = Field(
        default=None,
        gt=0,
        le=172_800,
        description="the longest a step is held waiting for thresholds.min_requests "
        "(default: twice its bake)",
    )
    linear_steps: int = Field(default=4, ge=2, le=20)
    thresholds: Thresholds = Field(default_factory=Thresholds)

    @model_validator(mode="after")
    def _waits_at_least_the_bake(self) -> Rollout:
        longest = max(self.bake_s if self.strategy != "all-at-once" else 0, self.final_bake_s)
        if self.max_bake_s is not None and self.max_bake_s < longest:
            raise ValueError(
                f"max_bake_s ({self.max_bake_s:g} s) is shorter than a step's bake ({longest:g} s)"
            )
        return self

    def steps(self) -> list[tuple[float, float]]:
        """(share of traffic on the new fleet, seconds to hold it) for each step; the last
        is always 100%, held ``final_bake_s``."""
        partial: list[float] = []
        if self.strategy == "canary":
            partial = [self.canary_pct / 100]
        elif self.strategy == "linear":
            n = self.linear_steps
            partial = [(i + 1) / n for i in range(n - 1)]
        return [(share, self.bake_s) for share in partial] + [(1.0, self.final_bake_s)]

    def max_hold(self, bake: float) -> float:
        """The longest a step baked ``bake`` seconds is held waiting for enough requests."""
        return max(bake, self.max_bake_s) if self.max_bake_s is not None else 2 * bake

    def describe(self) -> str:
        """The plan in words: ``canary: 10% for 60 s, then 100%``."""
        parts = []
        for share, hold in self.steps():
            parts.append(f"{share:.0%} for {hold:g} s" if hold else f"{share:.0%}")
        return f"{self.strategy}: {', then '.join(parts)}"


class EndpointConfig(_Spec):
    """An endpoint: its variants and how it captures, scales and updates."""

    name: Name
    variants: list[ProductionVariant] = Field(min_length=1, max_length=10)
    shadow: ShadowVariant | None = None
    capture: DataCapture = Field(default_factory=DataCapture)
    scaling: Scaling = Field(default_factory=Scaling)
    rollout: Rollout = Field(default_factory=Rollout)
    request_timeout_s: float = Field(default=60.0, gt=0, le=3600)
    port: int | None = Field(default=None, ge=1024, le=65535)
    require_api_key: bool = Field(
        default=False,
        description="answer 401 to requests without one of the endpoint's API keys "
        "(POST /api/v1/endpoints/{name}/keys); health checks stay open",
    )
    host: str | None = Field(
        default=None,
        description="address the endpoint's workers bind: 127.0.0.1 (loopback) unless set, "
        "whatever the server binds; 0.0.0.0 or :: exposes the endpoint on every interface",
    )

    @field_validator("host")
    @classmethod
    def _ip_address(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return str(ipaddress.ip_address(value))
        except ValueError:
            raise ValueError(
                f"{value!r} is not an IP address to bind (127.0.0.1, 0.0.0.0, ::1, ...)"
            ) from None

    @property
    def bind_host(self) -> str:
        """The address the workers bind (``host``, loopback when unset)."""
        return self.host or LOOPBACK

    def merged_over(self, current: EndpointConfig) -> EndpointConfig:
        """This config as an update of ``current``: what it leaves out stays as it is.

        An update names what changes. ``variants`` (and ``shadow``, when given) are replaced
        whole; the settings sections (``capture``, ``scaling``, ``rollout`` and its
        ``thresholds``) change only in the fields given, so ``{"capture": {"sampling_pct": 5}}``
        keeps capture on; every other field left out keeps its current value. Turning
        something off is said explicitly: ``capture: {enabled: false}``, ``shadow: null``.

        Raises:
            pydantic.ValidationError: The merged config breaks a rule (``scaling.max_workers``
                below the current ``min_workers``...).
        """
        merged = current.model_dump()
        for name in self.model_fields_set:
            value = self.model_dump(include={name})[name]
            if name in _SECTIONS and isinstance(merged.get(name), dict):
                merged[name] = _overlay(merged[name], getattr(self, name))
            else:
                merged[name] = value
        return EndpointConfig.model_validate(merged)

    @model_validator(mode="after")
    def _unique_names(self) -> EndpointConfig:
        _check_variants(self.variants, self.shadow)
        return self


class EndpointUpdate(EndpointConfig):
    """What an update of an endpoint sends: an :class:`EndpointConfig` whose ``name`` and
    ``variants`` may be left out as well (``{"scaling": {"max_workers": 4}}`` changes the
    scaling alone). The merged config (:meth:`EndpointConfig.merged_over`) is held to every
    rule of a config."""

    name: Name | None = None  # type: ignore[assignment]
    variants: list[ProductionVariant] | None = Field(  # type: ignore[assignment]
        default=None, min_length=1, max_length=10
    )

    @model_validator(mode="after")
    def _unique_names(self) -> EndpointUpdate:
        # Checked on the merged config: the variants left out are the current ones.
        if self.variants is not None:
            _check_variants(self.variants, self.shadow)
        return self


def _check_variants(variants: list[ProductionVariant], shadow: ShadowVariant | None) -> None:
    """Raises ValidationError naming the first variant whose name an earlier one has
    (``variants.1.name``, ``shadow.name``), or ValueError when no weight is above 0."""
    places: list[tuple[tuple[str | int, ...], str]] = [
        (("variants", i, "name"), v.name) for i, v in enumerate(variants)
    ]
    if shadow is not None:
        places.append((("shadow", "name"), shadow.name))
    seen: set[str] = set()
    for loc, name in places:
        if name in seen:
            message = f"variant names must be unique; {name!r} repeats"
            error = PydanticCustomError("unique", message.replace("{", "{{").replace("}", "}}"))
            raise ValidationError.from_exception_data(
                "EndpointConfig", [InitErrorDetails(type=error, loc=loc, input=name)]
            )
        seen.add(name)
    if sum(v.weight for v in variants) <= 0:
        raise ValueError("at least one production variant needs a weight above 0")


# Sections of an endpoint config that an update changes field by field (see merged_over).
_SECTIONS = ("capture", "scaling", "rollout")


def _overlay(base: dict[str, Any], given: BaseModel) -> dict[str, Any]:
    """``base`` with the fields ``given`` sets (recursively for nested settings) written over."""
    out = dict(base)
    for name in given.model_fields_set:
        value = getattr(given, name)
        if isinstance(value, BaseModel) and isinstance(out.get(name), dict):
            out[name] = _overlay(out[name], value)
        else:
            out[name] = given.model_dump(include={name})[name]
    return out
