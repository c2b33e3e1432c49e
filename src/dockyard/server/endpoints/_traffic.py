"""Traffic between a current (blue) and a new (green) configuration, and judging the new one.

During an update every worker serves both configurations' variants; the supervisor moves the
weights step by step, which the workers apply without dropping a request. The green fleet is
judged on the requests it answered during each step, from the workers' cumulative counters.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from dockyard.api.endpoints import EndpointConfig, Thresholds
from dockyard.api.serving.config import ApiKey, CaptureConfig, VariantConfig, WorkerConfig
from dockyard.connection_guard import ConnectionLimits

__all__ = ["Window", "blend", "green_names", "judge", "limit_fields", "totals"]

NEXT = ".next"


def green_names(blue: EndpointConfig, green: EndpointConfig) -> dict[str, str]:
    """Worker-side names of the new variants (a name the old config uses gets ``.next``)."""
    taken = {v.name for v in blue.variants} | ({blue.shadow.name} if blue.shadow else set())
    return {v.name: v.name + NEXT if v.name in taken else v.name for v in green.variants}


def limit_fields(limits: ConnectionLimits) -> dict[str, Any]:
    """The :class:`WorkerConfig` fields that hold a worker's connections to ``limits``."""
    return {
        "keep_alive_s": limits.keepalive_timeout_s,
        "header_timeout_s": limits.header_timeout_s,
        "body_timeout_s": limits.body_timeout_s,
        "min_body_rate": limits.min_body_rate,
        "send_timeout_s": limits.send_timeout_s,
        "max_connections": limits.max_connections,
    }


def blend(
    blue: EndpointConfig | None,
    green: EndpointConfig | None,
    share: float,
    *,
    resolve: Callable[[str], tuple[str, str | None]],
    port: int,
    capture_root: str,
    api_keys: tuple[ApiKey, ...] = (),
    s3_endpoint_url: str | None = None,
    limits: ConnectionLimits | None = None,
) -> tuple[WorkerConfig, dict[str, float]]:
    """The worker config sending ``share`` of traffic to ``green`` and the rest to ``blue``.

    Endpoint-wide settings (capture, timeout, API keys) come from ``green`` when there is one:
    a worker serves both configurations at once, and a change of them applies from the first
    step of a rollout.

    ``s3_endpoint_url``: the S3-compatible server an ``s3://`` capture destination is on (the
    server's own; None is AWS). ``limits``: the server's own connection limits (its header, body,
    keep-alive and send timeouts, minimum body rate and connection cap), which the workers'
    connections are held to as the server's are.

    Returns the config and the traffic share of each (user-facing) variant name.
    """
    variants: list[VariantConfig] = []
    traffic: dict[str, float] = {}
    parts: list[tuple[EndpointConfig, float, dict[str, str]]] = []
    if blue is not None:
        parts.append((blue, 1.0 - share if green is not None else 1.0, {}))
    if green is not None:
        names = green_names(blue, green) if blue is not None else {}
        parts.append((green, share if blue is not None else 1.0, names))
    for config, part, names in parts:
        total = sum(v.weight for v in config.variants)
        for v in config.variants:
            weight = part * v.weight / total
            wname = names.get(v.name, v.name)
            path, digest = resolve(v.served_uri)  # the pinned version
            variants.append(
                VariantConfig(
                    name=wname,
                    model_path=path,
                    weight=weight,
                    batching=v.batching,
                    expected_digest=digest,
                )
            )
            traffic[wname] = round(weight, 6)
    shadow_source = green if green is not None else blue
    assert shadow_source is not None
    if shadow_source.shadow is not None:
        s = shadow_source.shadow
        path, digest = resolve(s.served_uri)
        variants.append(
            VariantConfig(
                name=s.name,
                model_path=path,
                expected_digest=digest,
                weight=0,
                shadow=True,
                shadow_sampling_pct=s.sampling_pct,
            )
        )
    capture = shadow_source.capture
    worker = WorkerConfig(
        endpoint=shadow_source.name,
        variants=tuple(variants),
        capture=CaptureConfig(
            enabled=capture.enabled,
            sampling_pct=capture.sampling_pct,
            mode=capture.mode,
            destination=capture.destination or capture_root,
            s3_endpoint_url=s3_endpoint_url,
        ),
        host=shadow_source.bind_host,  # an update never changes it: blue's and green's agree
        port=port,
        request_timeout_s=shadow_source.request_timeout_s,
        require_api_key=shadow_source.require_api_key,
        api_keys=api_keys,
        **limit_fields(limits or ConnectionLimits()),
    )
    return worker, traffic


@dataclass
class Window:
    """What some variants answered: requests, the failed ones (server errors and inputs the
    model raised on) and a latency histogram."""

    requests: int
    failed: int
    bounds: list[float]
    counts: list[int]

    def minus(self, earlier: Window) -> Window:
        return Window(
            self.requests - earlier.requests,
            self.failed - earlier.failed,
            self.bounds,
            [a - b for a, b in zip(self.counts, earlier.counts, strict=False)],
        )

    def p99_ms(self) -> float:
        target = 0.99 * sum(self.counts)
        seen = 0
        for bound, count in zip([*self.bounds, float("inf")], self.counts, strict=False):
            seen += count
            if seen >= target and count:
                return bound * 1000
        return 0.0


def totals(stats: Iterable[dict[str, Any]], variants: Iterable[str]) -> Window:
    """Sum the named variants' counters over every worker's ``/stats``."""
    wanted = set(variants)
    window = Window(0, 0, [], [])
    for worker in stats:
        for name, s in worker.get("variants", {}).items():
            if name not in wanted:
                continue
            window.requests += int(s["requests"])
            failed = s.get("failed")  # (a worker started before it was counted has none)
            window.failed += (
                int(failed)
                if failed is not None
                else sum(int(n) for code, n in s["by_status"].items() if int(code) >= 500)
            )
            latency = s["latency_s"]
            if not window.bounds:
                window.bounds = list(latency["bounds"])
                window.counts = [0] * len(latency["counts"])
            window.counts = [
                a + int(b) for a, b in zip(window.counts, latency["counts"], strict=False)
            ]
    return window


def judge(window: Window, thresholds: Thresholds) -> str | None:
    """Why the window breaches the thresholds, or None when it does not (or is too small)."""
    if window.requests < max(1, thresholds.min_requests):
        return None
    rate = window.failed / window.requests
    if rate > thresholds.max_error_rate:
        return (
            f"error rate {rate:.1%} over {window.requests} requests exceeds "
            f"{thresholds.max_error_rate:.1%}"
        )
    p99 = window.p99_ms()
    if p99 > thresholds.max_p99_ms:
        return f"p99 latency {p99:.0f} ms exceeds {thresholds.max_p99_ms:.0f} ms"
    return None
