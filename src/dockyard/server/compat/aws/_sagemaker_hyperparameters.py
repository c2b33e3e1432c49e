"""HyperParameters answered back exactly as CreateTrainingJob sent them, as SageMaker does.

Script mode sends every value JSON-encoded (``'"false"'``, ``'0.5'``) beside
``sagemaker_program``, ``sagemaker_submit_directory``, ``sagemaker_container_log_level``...;
the job spec keeps the decoded values the script reads, without ``sagemaker_*``. The SDK's
``Framework.attach`` (and so a tuner's ``best_estimator()``) decodes what DescribeTrainingJob
answers and needs those keys, so the request's own text is kept beside the spec, as run tags
``sagemaker:hyperparameters:0``, ``:1``... (a tag holds 256 characters; tags under
``sagemaker:`` are Dockyard's own and ListTags leaves them out).

A trial of a tuning job has the definition's tags and hyperparameters of its own: a value the
spec holds that is not what the kept text decodes to is answered from the spec, JSON-encoded
unless it already reads as JSON (a number), which is what the SDK decodes. Hyperparameters
too long for the tags (over ``_MAX_CHUNKS`` of them) are answered the same way from the spec
alone: ``sagemaker_program`` and ``sagemaker_submit_directory`` come back, the other
``sagemaker_*`` keys do not.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["as_sent", "decoded", "sent_tags"]

_PREFIX = "sagemaker:hyperparameters:"
_CHUNK = 256
_MAX_CHUNKS = 12


def sent_tags(hyperparameters: dict[str, Any], room: int) -> dict[str, str]:
    """Tags that keep ``hyperparameters`` as sent; none when they would take more than
    ``room`` (or ``_MAX_CHUNKS``)."""
    text = json.dumps(hyperparameters, separators=(",", ":"), ensure_ascii=False)
    chunks = [text[i : i + _CHUNK] for i in range(0, len(text), _CHUNK)]
    if len(chunks) > min(room, _MAX_CHUNKS):
        return {}
    return {f"{_PREFIX}{i}": chunk for i, chunk in enumerate(chunks)}


def as_sent(spec: dict[str, Any]) -> dict[str, str]:
    """The HyperParameters of a job spec (or a tuning job's training spec) as they were
    sent, with what the spec holds differently (a trial's tuned values) put in."""
    stored: dict[str, str] = dict(spec.get("hyperparameters") or {})
    if not spec.get("entry_point"):  # built-ins: the spec keeps them as sent
        return stored
    tags = spec.get("tags") or {}
    chunks: list[str] = []
    while f"{_PREFIX}{len(chunks)}" in tags:
        chunks.append(tags[f"{_PREFIX}{len(chunks)}"])
    sent: dict[str, str] = {}
    if chunks:
        try:
            loaded = json.loads("".join(chunks))
        except ValueError:
            loaded = None
        if isinstance(loaded, dict):
            sent = {str(k): str(v) for k, v in loaded.items()}
    sent.setdefault("sagemaker_program", json.dumps(spec["entry_point"]))
    if spec.get("source_dir"):
        sent.setdefault("sagemaker_submit_directory", json.dumps(spec["source_dir"]))
    for key, value in stored.items():
        if key not in sent or decoded(sent[key]) != value:
            sent[key] = value if _reads_as_json(value) else json.dumps(value)
    for key in [k for k in sent if not k.startswith("sagemaker_") and k not in stored]:
        del sent[key]  # kept text of a key the spec no longer has
    return sent


def decoded(value: Any) -> Any:
    """A script-mode hyperparameter as the framework containers read it: a JSON string's text;
    anything else (a number, a list, text that is not JSON) as sent."""
    if not isinstance(value, str):
        return value
    try:
        parsed = json.loads(value)
    except ValueError:
        return value
    return parsed if isinstance(parsed, str) else value


def _reads_as_json(value: str) -> bool:
    try:
        json.loads(value)
    except ValueError:
        return False
    return True
