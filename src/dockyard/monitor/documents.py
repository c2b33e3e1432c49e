"""Reading SageMaker's JSON documents back: every bad field is an error that names it.

A ``statistics.json`` or ``constraints.json`` may come from SageMaker or be edited by hand; the
checks read them only through these functions, so a wrong type fails here, once, with the
file and the dotted path of the field (``constraints.json: features.2.completeness must be a
number``) instead of somewhere deep in a check.
"""

from __future__ import annotations

from typing import Any

from dockyard.errors import InvalidArgument

__all__ = ["feature_index", "need", "validate_constraints", "validate_statistics"]


def need(value: Any, kinds: type | tuple[type, ...], where: str, what: str) -> Any:
    """``value`` if it is one of ``kinds``, else an error naming ``where``."""
    if isinstance(value, bool) and bool not in (kinds if isinstance(kinds, tuple) else (kinds,)):
        ok = False
    else:
        ok = isinstance(value, kinds)
    if not ok:
        raise InvalidArgument(f"{where} must be {what}", field=where.partition(": ")[2] or where)
    return value


def validate_statistics(document: Any, name: str = "statistics.json") -> dict[str, Any]:
    """Check the shape the checks rely on; returns the document."""
    need(document, dict, f"{name}: the document", "a JSON object")
    dataset = document.get("dataset", {})
    need(dataset, dict, f"{name}: dataset", "an object")
    need(dataset.get("item_count", 0), (int, float), f"{name}: dataset.item_count", "a number")
    features = need(document.get("features"), list, f"{name}: features", "a list")
    for i, feature in enumerate(features):
        at = f"{name}: features.{i}"
        need(feature, dict, at, "an object")
        need(feature.get("name"), str, f"{at}.name", "a string")
        need(feature.get("inferred_type"), str, f"{at}.inferred_type", "a string")
        for key in ("numerical_statistics", "string_statistics"):
            if key in feature:
                stats = need(feature[key], dict, f"{at}.{key}", "an object")
                common = need(stats.get("common"), dict, f"{at}.{key}.common", "an object")
                for count in ("num_present", "num_missing"):
                    need(common.get(count), (int, float), f"{at}.{key}.common.{count}", "a number")
        numerical = feature.get("numerical_statistics")
        if numerical is not None:
            for key in ("mean", "std_dev", "min", "max"):
                if key in numerical:
                    need(
                        numerical[key], (int, float), f"{at}.numerical_statistics.{key}", "a number"
                    )
        strings = feature.get("string_statistics")
        if strings is not None:
            where = f"{at}.string_statistics.distribution"
            distribution = need(strings.get("distribution", {}), dict, where, "an object")
            categorical = distribution.get("categorical", {})
            need(categorical, dict, f"{where}.categorical", "an object")
            where = f"{where}.categorical.buckets"
            buckets: list[Any] = need(categorical.get("buckets", []), list, where, "a list")
            for j, bucket in enumerate(buckets):
                need(bucket, dict, f"{where}.{j}", "an object")
                need(bucket.get("count"), (int, float), f"{where}.{j}.count", "a number")
    return document  # type: ignore[no-any-return]


def validate_constraints(document: Any, name: str = "constraints.json") -> dict[str, Any]:
    """Check the shape the checks rely on; returns the document."""
    need(document, dict, f"{name}: the document", "a JSON object")
    features = need(document.get("features"), list, f"{name}: features", "a list")
    for i, feature in enumerate(features):
        at = f"{name}: features.{i}"
        need(feature, dict, at, "an object")
        need(feature.get("name"), str, f"{at}.name", "a string")
        kind = need(feature.get("inferred_type"), str, f"{at}.inferred_type", "a string")
        if kind not in ("Integral", "Fractional", "String", "Unknown"):
            raise InvalidArgument(
                f"{at}.inferred_type must be Integral, Fractional, String or Unknown, got {kind!r}",
                field=f"features.{i}.inferred_type",
            )
        if "completeness" in feature:
            need(feature["completeness"], (int, float), f"{at}.completeness", "a number")
        strings = feature.get("string_constraints")
        if strings is not None:
            need(strings, dict, f"{at}.string_constraints", "an object")
            need(strings.get("domains", []), list, f"{at}.string_constraints.domains", "a list")
        numbers = feature.get("num_constraints")
        if numbers is not None:
            need(numbers, dict, f"{at}.num_constraints", "an object")
            if "is_non_negative" in numbers:
                need(
                    numbers["is_non_negative"],
                    bool,
                    f"{at}.num_constraints.is_non_negative",
                    "true or false",
                )
        overrides = feature.get("monitoringConfigOverrides", {})
        need(overrides, dict, f"{at}.monitoringConfigOverrides", "an object")
        _config(overrides, f"{at}.monitoringConfigOverrides")
    config = need(
        document.get("monitoring_config", {}), dict, f"{name}: monitoring_config", "an object"
    )
    _config(config, f"{name}: monitoring_config")
    return document  # type: ignore[no-any-return]


def _config(config: dict[str, Any], at: str) -> None:
    for key in ("datatype_check_threshold", "domain_content_threshold", "comparison_threshold"):
        if key in config:
            need(config[key], (int, float), f"{at}.{key}", "a number")
    distribution = config.get("distribution_constraints")
    if distribution is not None:
        need(distribution, dict, f"{at}.distribution_constraints", "an object")
        for key in ("comparison_threshold", "categorical_comparison_threshold"):
            if key in distribution:
                need(
                    distribution[key],
                    (int, float),
                    f"{at}.distribution_constraints.{key}",
                    "a number",
                )


def feature_index(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A validated document's features by name."""
    return {feature["name"]: feature for feature in document["features"]}
