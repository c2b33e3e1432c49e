"""Spec field names as each front end spells them, so errors name what the caller wrote.

A transform is checked and run as a :class:`~dockyard.api.batch.TransformSpec`, whose errors
name its fields by dotted path (``output.uri``, ``input.compression``). A boto3 caller wrote
``TransformOutput.S3OutputPath``; an SDK caller passed ``output_path=``; a command-line user
typed ``--name`` or ``--model``. :func:`respelled` turns an error's field, the fields of the
problems it lists, and every dotted or snake_case field path in its message, into the caller's
spelling; plain words (``input``, ``output``) in prose are left alone.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from dockyard.errors import DockyardError

__all__ = ["SAGEMAKER_NAMES", "respell", "respelled"]

#: Spec field -> CreateTransformJob's name for it.
SAGEMAKER_NAMES: Mapping[str, str] = {
    "name": "TransformJobName",
    "model_uri": "ModelName",
    "input": "TransformInput",
    "input.uri": "TransformInput.DataSource.S3DataSource.S3Uri",
    # A SageMaker-spelled input is checked under its own name, its nested URI under ours.
    "TransformInput.uri": "TransformInput.DataSource.S3DataSource.S3Uri",
    "input.content_type": "TransformInput.ContentType",
    "input.split_type": "TransformInput.SplitType",
    "input.compression": "TransformInput.CompressionType",
    "output": "TransformOutput",
    "output.uri": "TransformOutput.S3OutputPath",
    "output.accept": "TransformOutput.Accept",
    "output.assemble_with": "TransformOutput.AssembleWith",
    "batch_strategy": "BatchStrategy",
    "max_payload_mb": "MaxPayloadInMB",
    "max_concurrent_transforms": "MaxConcurrentTransforms",
    "data_processing": "DataProcessing",
    "data_processing.input_filter": "DataProcessing.InputFilter",
    "data_processing.output_filter": "DataProcessing.OutputFilter",
    "data_processing.join_source": "DataProcessing.JoinSource",
    "tags": "Tags",
}


def respell_field(field: str, names: Mapping[str, str]) -> str:
    """``field`` (a dotted path) with its longest known prefix in the caller's spelling."""
    parts = field.split(".")
    for cut in range(len(parts), 0, -1):
        head = ".".join(parts[:cut])
        if head in names:
            return ".".join([names[head], *parts[cut:]])
    return field


def respell(message: str, names: Mapping[str, str]) -> str:
    """``message`` with every field path it mentions in the caller's spelling."""
    paths = sorted((n for n in names if "." in n or "_" in n), key=len, reverse=True)
    if not paths:
        return message
    # Not inside a path, a word or quotes (a column or value quoted from the data).
    pattern = re.compile(r"(?<![\w./'\"])(" + "|".join(map(re.escape, paths)) + r")(?![\w/'\"])")
    return pattern.sub(lambda found: names[found.group(1)], message)


def respelled(error: DockyardError, names: Mapping[str, str]) -> DockyardError:
    """The same error (same class and details) naming fields as the caller spelled them."""
    field = respell_field(error.field, names) if error.field else None
    details = dict(error.details)
    for key in ("errors", "problems"):  # (a transform spec's own check; a request model's)
        problems = details.get(key)
        if not isinstance(problems, list):
            continue
        details[key] = [
            {
                **p,
                "field": respell_field(p["field"], names) if p.get("field") else p.get("field"),
                "message": respell(str(p.get("message", "")), names),
            }
            if isinstance(p, dict)
            else p
            for p in problems
        ]
    # A copy made without the constructor, which a subclass may give other arguments.
    found = type(error).__new__(type(error))
    found.__dict__.update(error.__dict__)
    message = error.message
    if error.field and field and message.startswith(f"{error.field}: "):
        # A message that opens with its own field (a plain one, such as ``name``, which the
        # prose rule below leaves alone) opens with the caller's spelling of it.
        message = f"{field}: {message[len(error.field) + 2 :]}"
    found.message = respell(message, names)
    found.args = (found.message,)
    found.field, found.details = field, details
    return found
