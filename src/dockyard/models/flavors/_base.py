"""What every flavor provides, and the helpers they share.

A flavor saves one kind of model object into a package directory and loads it back as a
:class:`Predictor`: an object with ``predict(data, params)`` that calls the native model once,
vectorised, on whatever the signature enforcer produced (a DataFrame or an array).

Libraries (scikit-learn, XGBoost, ...) are imported only inside methods, so importing Dockyard
never imports them, and a package loads in an environment holding only its own requirements.
"""

from __future__ import annotations

import importlib
import re
import sys
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol

from dockyard.errors import InvalidArgument
from dockyard.models._integrity import Opened
from dockyard.models._manifest import Manifest

__all__ = [
    "Flavor",
    "MethodPredictor",
    "MlflowAdapter",
    "Predictor",
    "SaveOptions",
    "Saved",
    "from_library",
    "is_data_frame",
]


class Predictor(Protocol):
    """A loaded model: ``raw`` is the native object, ``predict`` calls it once per batch.

    A predictor with a true ``takes_arrays`` attribute predicts on a 2-D array exactly as on
    the DataFrame of the same columns in signature order, so all-``double`` inputs reach it as
    arrays.
    """

    @property
    def raw(self) -> Any:
        """The native model object."""
        ...

    def predict(self, data: Any, params: dict[str, Any] | None) -> Any:
        """Predict on data that already passed the signature."""
        ...


class MlflowAdapter:
    """The ``predict(data, params=None)`` shape MLflow's PyFuncModel calls, over a predictor
    (what a flavor's ``_load_pyfunc`` gives ``mlflow.pyfunc.load_model``)."""

    def __init__(self, predictor: Predictor) -> None:
        self._predictor = predictor

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        return self._predictor.predict(data, params)

    def get_raw_model(self) -> Any:
        return self._predictor.raw


@dataclass(frozen=True)
class SaveOptions:
    """What ``save_model`` hands a flavor besides the model object."""

    code: str | None = None
    artifacts: Mapping[str, Path] = field(default_factory=dict)
    conf: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Saved:
    """What a flavor wrote: its manifest sections and the modules the model refers to."""

    conf: dict[str, Any] | None
    pyfunc: dict[str, Any]
    modules: frozenset[str]
    predictor: Predictor


class MethodPredictor:
    """Calls one method of the native model (``predict`` unless the manifest says otherwise)."""

    __slots__ = ("_fn", "raw")

    def __init__(self, raw: Any, method: str = "predict") -> None:
        self.raw = raw
        self._fn = getattr(raw, method)

    def predict(self, data: Any, params: dict[str, Any] | None) -> Any:
        """Call the native method; params, if any, become keyword arguments."""
        return self._fn(data, **params) if params else self._fn(data)


def is_data_frame(data: Any) -> bool:
    """Whether ``data`` is a pandas DataFrame, without importing pandas (arrays never need it)."""
    cls = type(data)
    return cls.__name__ == "DataFrame" and cls.__module__.partition(".")[0] == "pandas"


def from_library(model: Any, root: str) -> bool:
    """Whether ``model``'s class or one of its bases comes from the top-level package ``root``."""
    return any(
        (cls.__module__ or "").split(".")[0] == root
        for cls in type(model).__mro__
        if cls is not object
    )


def _major_minor(version: str) -> tuple[int, int] | None:
    match = re.match(r"(\d+)\.(\d+)", version)
    return (int(match.group(1)), int(match.group(2))) if match else None


def env_hint() -> str:
    """The sentence every "wrong environment" error ends with."""
    return (
        "build the model's own environment with dockyard.models.build_env(path) "
        "(CLI: dockyard models env URI) and load it there"
    )


class Flavor(ABC):
    """One kind of model: how it is detected, saved, loaded and version-checked."""

    #: The flavor's key in ``MLmodel``'s ``flavors`` (also Dockyard's name for it).
    name: ClassVar[str]
    #: The ``loader_module`` MLflow imports for this flavor.
    mlflow_loader: ClassVar[str]
    #: The library's import name, and the flavor-section key that records its version.
    library: ClassVar[str]
    version_key: ClassVar[str]
    #: scikit-learn pickles only load under the same minor version; others need the same major.
    same_minor: ClassVar[bool] = False
    #: Native formats (XGBoost's UBJSON, LightGBM's text) load in later majors than wrote them.
    reads_older: ClassVar[bool] = False

    @abstractmethod
    def accepts(self, model: Any) -> bool:
        """Whether this flavor saves ``model`` when no flavor is named."""

    @abstractmethod
    def save(self, model: Any, model_dir: Path, options: SaveOptions) -> Saved:
        """Write ``model``'s files into ``model_dir`` and describe them."""

    @abstractmethod
    def load(self, opened: Opened) -> Predictor:
        """Load a verified package (files were checked against their digests)."""

    def preload(self, manifest: Manifest, *, dedicated: bool = False) -> None:
        """Import the library, without loading a model (a forking process does this first).

        ``dedicated`` says the process will only ever run this one package, so a flavor may
        leave out the library's optional integrations the package does not use.
        """
        importlib.import_module(self.library)

    def pickled(self, manifest_flavors: Mapping[str, Any]) -> bool:
        """Whether loading runs ``pickle`` (so the Python minor version must match too)."""
        return True

    def check_versions(self, opened: Opened) -> None:
        """Refuse, before anything is loaded, a package written for another library version."""
        manifest = opened.manifest
        saved = manifest.flavors.get(self.name, {}).get(self.version_key)
        if isinstance(saved, str):
            self._check_library(saved)
        python = manifest.python_function.get("python_version")
        if isinstance(python, str) and self.pickled(manifest.flavors):
            host = f"{sys.version_info.major}.{sys.version_info.minor}"
            if _major_minor(python) != _major_minor(host):
                raise InvalidArgument(
                    f"this model was pickled under Python {python} and this is Python {host}: "
                    + env_hint(),
                    details={"library": "python", "required": python, "installed": host},
                )

    def _check_library(self, saved: str) -> None:
        try:
            installed = str(importlib.import_module(self.library).__version__)
        except ImportError as exc:
            raise InvalidArgument(
                f"this {self.name} model needs {self.library} {saved}, which is not installed: "
                + env_hint(),
                details={"library": self.library, "required": saved, "installed": None},
            ) from exc
        want, have = _major_minor(saved), _major_minor(installed)
        if want is None or have is None:
            return
        if self.same_minor:
            ok = want == have
        elif self.reads_older:
            ok = have[0] >= want[0]
        else:
            ok = have[0] == want[0]
        if not ok:
            scope = f"{want[0]}.{want[1]}.x" if self.same_minor else f"{want[0]}.x"
            raise InvalidArgument(
                f"this {self.name} model needs {self.library} {scope} (saved with {saved}); "
                f"this environment has {installed}: " + env_hint(),
                details={"library": self.library, "required": saved, "installed": installed},
            )
