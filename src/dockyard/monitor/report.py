"""A check's report: one self-contained HTML page, one inline SVG plot per feature.

Numbers are drawn as two histograms over 20 shared bins (from the sketches), categories as
paired bars of the most frequent values' shares; baseline in grey, current in blue, a drifted
feature's title in red. No script, no external asset; every name and value from the data is
escaped.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING, Any

import numpy as np

from dockyard.monitor.documents import feature_index
from dockyard.monitor.sketch import KLLSketch

if TYPE_CHECKING:
    from dockyard.monitor.baseline import Baseline
    from dockyard.monitor.checks import CheckResult, FeatureDrift

__all__ = ["render_report"]

_WIDTH, _HEIGHT, _PAD = 480, 160, 24
_BASE, _CURRENT = "#9e9e9e", "#1f77b4"
_STYLE = """
body{font-family:system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:1em 0}
td,th{border:1px solid #ddd;padding:4px 8px;text-align:left}
.feature{display:inline-block;margin:0 1.5em 1.5em 0;vertical-align:top}
.drifted h3{color:#c62828}
.legend span{display:inline-block;width:10px;height:10px;margin:0 4px 0 12px}
"""


def render_report(result: CheckResult, baseline: Baseline) -> str:
    """The HTML report of ``result`` against ``baseline``."""
    base = feature_index(baseline.statistics)
    current = feature_index(result.statistics)
    drift = {d.feature: d for d in result.drift}
    violations = result.violations["violations"]
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Data quality report</title>",
        f"<style>{_STYLE}</style></head><body>",
        "<h1>Data quality report</h1>",
        f"<p>{result.rows} rows checked against a baseline of "
        f"{escape(str(baseline.statistics.get('dataset', {}).get('item_count', '?')))} rows; "
        f"{len(violations)} violation(s), "
        f"{sum(d.drifted for d in result.drift)} drifted feature(s).</p>",
        "<h2>Violations</h2>",
    ]
    if violations:
        parts.append("<table><tr><th>feature</th><th>check</th><th>description</th></tr>")
        for v in violations:
            parts.append(
                f"<tr><td>{escape(str(v['feature_name']))}</td>"
                f"<td>{escape(str(v['constraint_check_type']))}</td>"
                f"<td>{escape(str(v['description']))}</td></tr>"
            )
        parts.append("</table>")
    else:
        parts.append("<p>None.</p>")
    parts.append(
        "<h2>Features</h2><p class='legend'>"
        f"<span style='background:{_BASE}'></span>baseline"
        f"<span style='background:{_CURRENT}'></span>current</p>"
    )
    for name in dict.fromkeys([*base, *current]):
        parts.append(_feature(name, base.get(name), current.get(name), drift.get(name)))
    parts.append("</body></html>")
    return "\n".join(parts)


def _feature(
    name: str,
    base: dict[str, Any] | None,
    current: dict[str, Any] | None,
    drift: FeatureDrift | None,
) -> str:
    drifted = drift is not None and drift.drifted
    head = f"<div class='feature{' drifted' if drifted else ''}'><h3>{escape(name)}</h3>"
    numbers = ""
    if drift is not None:
        cells = [("distance", drift.distance), ("psi", drift.psi), ("js", drift.js)]
        cells += [
            (k, v)
            for k, v in (
                ("ks", drift.ks),
                ("wasserstein", drift.wasserstein),
                ("chi-square p", drift.chi_square_p),
            )
            if v is not None
        ]
        numbers = "<p>" + ", ".join(f"{escape(k)} {v:.4g}" for k, v in cells) + "</p>"
    return head + numbers + _plot(name, base, current) + "</div>"


def _plot(name: str, base: dict[str, Any] | None, current: dict[str, Any] | None) -> str:
    base_sketch, current_sketch = _sketch(base), _sketch(current)
    if base_sketch is not None or current_sketch is not None:
        return _histogram(name, base_sketch, current_sketch)
    return _bars(name, _counts(base), _counts(current))


def _sketch(feature: dict[str, Any] | None) -> KLLSketch | None:
    if not feature or "numerical_statistics" not in feature:
        return None
    document = feature["numerical_statistics"].get("distribution", {}).get("kll", {}).get("sketch")
    return None if document is None else KLLSketch.from_dict(document)


def _counts(feature: dict[str, Any] | None) -> dict[str, float]:
    if not feature or "string_statistics" not in feature:
        return {}
    buckets = feature["string_statistics"]["distribution"]["categorical"]["buckets"]
    return {str(b.get("value")): float(b["count"]) for b in buckets}


def _histogram(name: str, base: KLLSketch | None, current: KLLSketch | None) -> str:
    sketches = [s for s in (base, current) if s is not None and s.count]
    if not sketches:
        return "<p>No values.</p>"
    low = min(float(s.quantiles([0.0])[0]) for s in sketches)
    high = max(float(s.quantiles([1.0])[0]) for s in sketches)
    if high <= low:
        high = low + 1.0
    edges = np.linspace(low, high, 21)
    series = []
    for sketch, colour in ((base, _BASE), (current, _CURRENT)):
        if sketch is None or not sketch.count:
            continue
        cdf = sketch.cdf(edges)
        cdf[0] = 0.0
        cdf[-1] = 1.0
        series.append((np.diff(cdf), colour))
    top = max(float(s.max()) for s, _ in series) or 1.0
    width = (_WIDTH - 2 * _PAD) / 20
    bars = []
    for index, (shares, colour) in enumerate(series):
        for i, share in enumerate(shares):
            h = (_HEIGHT - 2 * _PAD) * float(share) / top
            x = _PAD + i * width + index * width / 2
            bars.append(
                f"<rect x='{x:.1f}' y='{_HEIGHT - _PAD - h:.1f}' width='{width / 2:.1f}' "
                f"height='{h:.1f}' fill='{colour}'/>"
            )
    labels = (
        f"<text x='{_PAD}' y='{_HEIGHT - 6}' font-size='10'>{escape(f'{low:.4g}')}</text>"
        f"<text x='{_WIDTH - _PAD}' y='{_HEIGHT - 6}' font-size='10' text-anchor='end'>"
        f"{escape(f'{high:.4g}')}</text>"
    )
    return _svg(name, "".join(bars) + labels)


def _bars(name: str, base: dict[str, float], current: dict[str, float]) -> str:
    base_total, current_total = sum(base.values()) or 1.0, sum(current.values()) or 1.0
    values = sorted(set(base) | set(current), key=lambda v: -(base.get(v, 0) + current.get(v, 0)))
    values = values[:15]
    if not values:
        return "<p>No values.</p>"
    top = max(max(base.get(v, 0) / base_total, current.get(v, 0) / current_total) for v in values)
    width = (_WIDTH - 2 * _PAD) / len(values)
    shapes = []
    for i, value in enumerate(values):
        for index, (counts, total, colour) in enumerate(
            ((base, base_total, _BASE), (current, current_total, _CURRENT))
        ):
            h = (_HEIGHT - 2 * _PAD) * (counts.get(value, 0) / total) / (top or 1.0)
            x = _PAD + i * width + index * width / 2.5
            shapes.append(
                f"<rect x='{x:.1f}' y='{_HEIGHT - _PAD - h:.1f}' width='{width / 2.5:.1f}' "
                f"height='{h:.1f}' fill='{colour}'><title>{escape(value)}</title></rect>"
            )
        label = value if len(value) <= 10 else value[:9] + "…"
        shapes.append(
            f"<text x='{_PAD + i * width + width / 2:.1f}' y='{_HEIGHT - 6}' font-size='9' "
            f"text-anchor='middle'>{escape(label)}</text>"
        )
    return _svg(name, "".join(shapes))


def _svg(name: str, body: str) -> str:
    return (
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{_WIDTH}' height='{_HEIGHT}' "
        f"role='img' aria-label='{escape(name)}: baseline and current distributions'>"
        f"<line x1='{_PAD}' y1='{_HEIGHT - _PAD}' x2='{_WIDTH - _PAD}' y2='{_HEIGHT - _PAD}' "
        f"stroke='#555'/>{body}</svg>"
    )
