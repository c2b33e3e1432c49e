"""A loaded variant: its model, input codec, batcher, and how a batch is predicted.

Loading also *probes* the model once, on rows built from its input example:

* **Native fast predict.** For scikit-learn, XGBoost and LightGBM models whose signature allows
  the ndarray fast path, the native ``predict`` (for XGBoost regressors, ``inplace_predict``,
  which skips the estimator's per-call configuration context) is tried on the probe rows. It is
  used only if it answers exactly what the package's own ``predict`` answers, with no warning
  (scikit-learn warns when a model fitted on named columns gets an array). Otherwise batches go
  through :meth:`~dockyard.models.PyFuncModel.predict`, which builds one DataFrame per batch.
* **Executor.** ``auto`` runs predict inline on the event loop when the flavor is vectorised and
  a full batch takes under :data:`INLINE_BUDGET_S`; anything slower, and any custom Python
  model (whose code may block), gets the variant's own thread.

A merged batch that fails is re-run one request at a time, so only the request at fault gets
the error; results that cannot be split back by row counts are handled the same way.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Mapping
from itertools import pairwise
from typing import Any

import numpy as np
import pandas as pd

from dockyard.api.serving.config import VariantConfig
from dockyard.errors import DockyardError, InputRejected
from dockyard.models import RawRequest
from dockyard.models.pyfunc import PyFuncModel, load_model
from dockyard.runtime.serving._batching import Batcher, Outcome
from dockyard.runtime.serving._inputs import InputCodec, Item
from dockyard.runtime.serving._metrics import VariantStats
from dockyard.runtime.serving._oip import default_output_name

__all__ = ["INLINE_BUDGET_S", "VECTORISED_FLAVORS", "Variant", "load_variant"]

#: Flavors whose predict takes a whole batch in one vectorised call (a PyTorch module's
#: forward pass takes the batch along its first axis).
VECTORISED_FLAVORS = frozenset({"sklearn", "xgboost", "lightgbm", "onnx", "pytorch"})
#: A full batch must predict faster than this to run on the event loop.
INLINE_BUDGET_S = 0.002
_XGB_REGRESSORS = frozenset({"XGBRegressor", "XGBRFRegressor", "XGBRanker"})

Predict = Callable[[np.ndarray[Any, Any]], Any]


class Variant:
    """One variant as it serves: built by :func:`load_variant`, shared by config versions."""

    def __init__(
        self,
        config: VariantConfig,
        model: PyFuncModel,
        codec: InputCodec,
        native: Predict | None,
        inline: bool,
        stats: VariantStats,
        arriving: Callable[[], int],
    ) -> None:
        self.config = config
        self.name = config.name
        self.model = model
        self.signature = model.metadata.signature
        self.codec = codec
        self.native = native
        self.stats = stats
        self.output_name = default_output_name(self.signature)
        #: Set for a model that reads request bodies itself (SageMaker inference handlers).
        self.invoke = model.invoke
        self.header = (b"x-dockyard-variant", config.name.encode())
        #: Requests routed to this object and not yet answered (retirement waits for zero).
        self.active = 0
        batching = config.batching
        enabled = (
            batching.enabled
            if batching.enabled is not None
            else model.metadata.flavor in VECTORISED_FLAVORS
        )
        self.batcher = Batcher(
            self.run,
            inline=inline and not config.shadow,
            enabled=enabled,
            max_rows=batching.max_batch_size,
            max_wait_s=batching.max_wait_ms / 1000,
            arriving=arriving,
            observe=stats.record_batch,
            name=config.name,
        )

    def describe(self) -> dict[str, Any]:
        """What ``/stats`` shows about the loaded model and how it is served."""
        meta = self.model.metadata
        return {
            "model_path": self.config.model_path,
            "flavor": meta.flavor,
            "digest": meta.digest,
            "weight": self.config.weight,
            "shadow": self.config.shadow,
            "executor": "inline" if self.batcher.inline else "thread",
            "batching": self.batcher.enabled,
            "max_batch_size": self.batcher.max_rows,
            "fast_input": self.codec.fast_dtype is not None,
            "native_predict": self.native is not None,
            "inference_handlers": self.invoke is not None,
        }

    def run(self, batch: list[Item]) -> list[Outcome]:
        """Predict a batch; one outcome per item, in order. Never raises."""
        if len(batch) == 1:
            return [self._one(batch[0])]
        try:
            first = batch[0].data
            merged = (
                pd.concat([item.data for item in batch], ignore_index=True)
                if isinstance(first, pd.DataFrame)
                else np.concatenate([item.data for item in batch])
            )
            parts = _split(self._predict(merged, None), [item.rows for item in batch])
        except Exception:
            parts = None
        if parts is None:
            return [self._one(item) for item in batch]
        return [(True, part) for part in parts]

    def _one(self, item: Item) -> Outcome:
        try:
            return True, self._predict(item.data, item.params)
        except DockyardError as exc:
            return False, exc
        except Exception as exc:  # the native model's own error, as PyFuncModel reports it
            return False, InputRejected(f"the {self.model.metadata.flavor} model failed: {exc}")

    def _predict(self, data: Any, params: dict[str, Any] | None) -> Any:
        if self.native is not None and params is None and type(data) is np.ndarray:
            return self.native(data)
        if self.invoke is not None and type(data) is RawRequest:
            return self.invoke(data)
        return self.model.predict(data, params)

    def close(self) -> None:
        """Release the variant's thread."""
        self.batcher.close()


def _split(predictions: Any, rows: list[int]) -> list[Any] | None:
    total = sum(rows)
    bounds = np.cumsum([0, *rows]).tolist()
    if isinstance(predictions, (np.ndarray, list)) and len(predictions) == total:
        return [predictions[a:b] for a, b in pairwise(bounds)]
    if isinstance(predictions, (pd.DataFrame, pd.Series)) and len(predictions) == total:
        return [predictions.iloc[a:b] for a, b in pairwise(bounds)]
    if isinstance(predictions, Mapping) and all(
        hasattr(v, "__len__") and len(v) == total for v in predictions.values()
    ):
        return [{k: v[a:b] for k, v in predictions.items()} for a, b in pairwise(bounds)]
    return None


def load_variant(
    config: VariantConfig, stats: VariantStats, arriving: Callable[[], int]
) -> Variant:
    """Load, verify and probe a variant's model (blocking: run it off the event loop).

    Raises:
        DockyardError: The package cannot be loaded (the error says why).
    """
    model = load_model(
        config.model_path,
        expected_digest=config.expected_digest,
        allow_unverified=config.allow_unverified,
    )
    signature = model.metadata.signature
    codec = InputCodec(signature.inputs if signature is not None else None)
    probe = _probe_rows(model, codec)
    native = _native_predict(model, probe) if probe is not None else None
    if config.executor == "auto":
        inline = model.metadata.flavor in VECTORISED_FLAVORS and _fast_enough(
            model, native, probe, config.batching.max_batch_size
        )
    else:
        inline = config.executor == "inline"
    return Variant(config, model, codec, native, inline, stats, arriving)


def _probe_rows(model: PyFuncModel, codec: InputCodec) -> np.ndarray[Any, Any] | None:
    if codec.fast_dtype is None or codec.names is None:
        return None
    try:
        example = model.input_example()
        if isinstance(example, pd.DataFrame) and len(example):
            return example[codec.names].to_numpy(dtype=codec.fast_dtype)
    except Exception:  # an example that does not fit the fast path: probe with zeros
        pass
    return np.zeros((2, codec.width), dtype=codec.fast_dtype)


def _native_predict(model: PyFuncModel, rows: np.ndarray[Any, Any]) -> Predict | None:
    flavor = model.metadata.flavor
    if flavor not in ("sklearn", "xgboost", "lightgbm"):
        return None
    # A predictor that takes arrays already is the native call (a wrapped XGBoost or
    # LightGBM model predicts through its booster there); unwrapping would build the
    # scikit-learn wrapper and call its slower predict.
    candidate: Predict | None = model.array_predict()
    if candidate is None:
        raw = model.unwrap()
        candidate = getattr(raw, "predict", None)
        if flavor == "xgboost":
            candidate = _xgboost_predict(raw) or candidate
    if candidate is None:
        return None
    try:
        expected = np.asarray(model.predict(rows))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            got = candidate(rows)
        if caught or not isinstance(got, np.ndarray):
            return None
        if got.dtype != expected.dtype or not np.array_equal(got, expected, equal_nan=True):
            return None
    except Exception:  # whatever the native call does not take, the package's predict does
        return None
    return candidate


def _xgboost_predict(raw: Any) -> Predict | None:
    import xgboost

    if isinstance(raw, xgboost.Booster):
        predict: Predict = raw.inplace_predict
        return predict
    if type(raw).__name__ not in _XGB_REGRESSORS or not isinstance(raw, xgboost.XGBModel):
        return None  # classifiers turn probabilities into labels in their own predict
    booster = raw.get_booster()
    iterations = raw._get_iteration_range(None)
    missing = raw.missing
    return lambda rows: booster.inplace_predict(
        rows, iteration_range=iterations, missing=missing, validate_features=False
    )


def _fast_enough(
    model: PyFuncModel, native: Predict | None, probe: np.ndarray[Any, Any] | None, rows: int
) -> bool:
    if probe is None:
        example = None
        try:
            example = model.input_example()
        except Exception:
            return False
        if example is None:
            return False
        batch: Any = example
        predict: Callable[[Any], Any] = model.predict
    else:
        batch = np.resize(probe, (rows, probe.shape[1]))
        predict = native if native is not None else model.predict
    best = float("inf")
    try:
        for _ in range(5):  # the fastest run: a busy machine at start-up only slows some runs
            started = time.perf_counter()
            predict(batch)
            best = min(best, time.perf_counter() - started)
    except Exception:
        return False
    return best < INLINE_BUDGET_S
