"""SageMaker's inference-toolkit contract: requests as handlers see them, and the defaults.

A training script may define ``model_fn(model_dir)``, ``input_fn(request_body, content_type)``,
``predict_fn(input_data, model)``, ``output_fn(prediction, accept)`` or, instead of the last
three, ``transform_fn(model, request_body, content_type, accept)``. One request runs as the
SageMaker inference toolkit (``sagemaker_inference.transformer``) runs it:

* ``transform_fn`` when defined, else ``output_fn(predict_fn(input_fn(body, content_type),
  model), accept)``; each handler may take one more argument, the request's context.
* The body is text (``str``) for ``application/json`` and ``text/csv``, bytes otherwise.
* A missing ``Content-Type`` is ``application/json``; a missing ``Accept`` or ``*/*`` is
  ``application/json``.
* The result is ``str`` or ``bytes``, or ``(data, content_type)``; without a content type the
  answer is labelled with ``accept``.

Handlers a script leaves out get the scikit-learn container's defaults
(``sagemaker_sklearn_container``): ``input_fn`` decodes ``application/json``, ``text/csv`` and
``application/x-npy`` into a numpy array (JSON and CSV as ``float32``); ``predict_fn`` is
``model.predict(data)`` (an XGBoost ``Booster`` gets the data as a ``DMatrix``, as SageMaker's
XGBoost container gives it); ``output_fn`` encodes by ``Accept`` as JSON, CSV (one row per
line) or NPY. ``model_fn`` left out loads the native model file Dockyard finds in the model folder
(:mod:`dockyard.models._model_files`; SageMaker's container would fail instead).

Where these defaults deliberately differ from SageMaker's, it is to refuse or lose nothing:
a CSV body of one row stays one row (SageMaker squeezes it to 1-D, which ``predict`` refuses);
``.npy`` bodies are read without pickle (SageMaker unpickles object arrays sent by any caller);
a JSON object ``{"instances": [...]}`` or ``{"inputs": [...]}`` is unwrapped (Dockyard's and
TensorFlow Serving's envelope, which SageMaker's default would fail on); parameters of a content
type (``; charset=utf-8``) are ignored when choosing a default decoder or encoder.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dockyard.errors import InvalidArgument

__all__ = [
    "DEFAULT_ACCEPT",
    "HandlerContext",
    "Invoked",
    "NotAcceptableFormat",
    "RawRequest",
    "UnsupportedFormat",
    "default_input_fn",
    "default_output_fn",
    "media_type",
]

JSON = "application/json"
CSV = "text/csv"
NPY = "application/x-npy"
NPZ = "application/x-npz"
DEFAULT_ACCEPT = JSON
#: Bodies of these types reach handlers as text, as the toolkit decodes them.
TEXT_TYPES = frozenset({JSON, CSV})
CUSTOM_ATTRIBUTES = "x-amzn-sagemaker-custom-attributes"


class UnsupportedFormat(InvalidArgument):
    """The default ``input_fn`` does not read this content type (the toolkit's 415)."""

    status_code = 415
    code = "unsupported_media_type"


class NotAcceptableFormat(InvalidArgument):
    """The default ``output_fn`` does not write this type (the toolkit's 406)."""

    status_code = 406
    code = "not_acceptable"


@dataclass(frozen=True, slots=True)
class RawRequest:
    """One request as the data plane received it, for a model that reads bodies itself.

    Attributes:
        body: The request body.
        content_type: The ``Content-Type`` header (None when absent).
        accept: The ``Accept`` header (None when absent).
        headers: Every request header, names lowercased (handlers read them via the context).
    """

    body: bytes
    content_type: str | None = None
    accept: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Invoked:
    """What the handlers answered: the body, its content type, custom attributes if set."""

    body: bytes
    content_type: str
    custom_attributes: str | None = None


class _RequestProcessor:
    """The ``context.request_processor[0]`` object of the model server handlers may use."""

    def __init__(self, headers: Mapping[str, str]) -> None:
        self._headers = headers

    def get_request_properties(self) -> dict[str, str]:
        return dict(self._headers)

    def get_request_property(self, key: str) -> str | None:
        return self._headers.get(key.lower())


class HandlerContext:
    """The extra argument a handler receives when it declares one (the model server's context).

    Offers the parts of SageMaker's (Multi Model Server's) ``Context`` that handlers use:
    request headers, response headers (``X-Amzn-SageMaker-Custom-Attributes`` is sent back to
    the caller) and ``system_properties["model_dir"]``.
    """

    def __init__(self, model_dir: str, headers: Mapping[str, str] | None = None) -> None:
        self._headers = {k.lower(): v for k, v in (headers or {}).items()}
        self.system_properties: dict[str, Any] = {"model_dir": model_dir, "gpu_id": None}
        self.request_processor = [_RequestProcessor(self._headers)]
        self.response_headers: dict[str, str] = {}

    @property
    def custom_attributes(self) -> str | None:
        """The request's ``X-Amzn-SageMaker-Custom-Attributes``."""
        return self._headers.get(CUSTOM_ATTRIBUTES)

    def get_request_header(self, idx: int, key: str) -> str | None:
        return self._headers.get(key.lower())

    def set_response_header(self, idx: int, key: str, value: str) -> None:
        self.response_headers[key.lower()] = str(value)


def media_type(value: str | None) -> str:
    """The media type of a header value, lowercased, without parameters."""
    return (value or "").split(";", 1)[0].strip().lower()


def default_input_fn(input_data: str | bytes, content_type: str) -> Any:
    """The scikit-learn container's ``input_fn``: JSON, CSV or NPY into a numpy array.

    Raises:
        UnsupportedFormat: Another content type.
        InvalidArgument: A body that does not parse, or is not an array of numbers.
    """
    media = media_type(content_type)
    if media == JSON:
        try:
            value = json.loads(input_data)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise InvalidArgument(f"the request body is not valid JSON: {exc}") from None
        if (
            isinstance(value, dict)
            and len(value) == 1
            and ("instances" in value or "inputs" in value)
        ):
            value = next(iter(value.values()))
        return _float32(value, "JSON")
    if media == CSV:
        text = input_data if isinstance(input_data, str) else input_data.decode("utf-8")
        rows = [row for row in csv.reader(io.StringIO(text)) if row]
        if not rows:
            raise InvalidArgument("the CSV body is empty")
        return _float32(rows, "CSV")
    if media == NPY:
        raw = input_data.encode() if isinstance(input_data, str) else input_data
        try:
            # Never unpickle a caller's bytes: object arrays are refused, not executed.
            return np.load(io.BytesIO(raw), allow_pickle=False)
        except (ValueError, OSError, EOFError) as exc:
            raise InvalidArgument(f"the request body is not a .npy array: {exc}") from None
    if media == NPZ:
        import scipy.sparse  # type: ignore[import-untyped]

        raw = input_data.encode() if isinstance(input_data, str) else input_data
        try:
            return scipy.sparse.load_npz(io.BytesIO(raw))
        except (ValueError, OSError, EOFError) as exc:
            raise InvalidArgument(f"the request body is not a sparse .npz matrix: {exc}") from None
    raise UnsupportedFormat(
        f"content type {content_type!r} is not one the default input_fn reads "
        f"({JSON}, {CSV}, {NPY}, {NPZ}): define input_fn in the entry point to read it"
    )


def _float32(value: Any, what: str) -> np.ndarray[Any, Any]:
    try:
        array = np.array(value, dtype=np.float32)
    except (ValueError, TypeError) as exc:
        raise InvalidArgument(
            f"the {what} body is not a rectangular array of numbers ({exc}); define input_fn "
            "in the entry point to read other data"
        ) from None
    return np.atleast_2d(array) if what == "CSV" else array


def default_output_fn(prediction: Any, accept: str) -> tuple[bytes, str]:
    """The scikit-learn container's ``output_fn``: the prediction as JSON, CSV or NPY.

    ``accept`` may list several types; the first one written here is used.

    Raises:
        NotAcceptableFormat: No listed type is JSON, CSV or NPY.
    """
    for part in accept.split(","):
        media = media_type(part)
        if media in ("*/*", ""):
            media = DEFAULT_ACCEPT
        encoder = _ENCODERS.get(media)
        if encoder is not None:
            return encoder(prediction), media
    raise NotAcceptableFormat(
        f"accept type {accept!r} is not one the default output_fn writes ({JSON}, {CSV}, "
        f"{NPY}): define output_fn in the entry point to write it"
    )


def _to_json(prediction: Any) -> bytes:
    def default(value: Any) -> Any:
        if hasattr(value, "tolist"):
            return value.tolist()
        if hasattr(value, "to_numpy"):
            return value.to_numpy().tolist()
        raise TypeError(f"{type(value).__name__} is not JSON serializable")

    return json.dumps(prediction, default=default).encode()


def _to_csv(prediction: Any) -> bytes:
    array = np.asarray(prediction)
    if array.ndim < 2:
        array = array.reshape(-1, 1)  # one prediction per line
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(array.tolist())
    return buffer.getvalue().encode()


def _to_npy(prediction: Any) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.asarray(prediction), allow_pickle=False)
    return buffer.getvalue()


_ENCODERS: dict[str, Callable[[Any], bytes]] = {JSON: _to_json, CSV: _to_csv, NPY: _to_npy}
