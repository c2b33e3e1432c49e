"""What a spec must pass before a job is queued: locations under the allowed roots and in
store areas the submitter may use, inputs readable, runs and registered models that exist, an
entry point that is a file, an executor this server runs and resources it has, a built-in
algorithm's channels and hyperparameters. Checked once, at submit; the runner trusts what was
queued.
"""

from __future__ import annotations

import posixpath
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import select

from dockyard.api.batch import refuse_for_handlers
from dockyard.api.jobs import (
    LOCAL_TYPES,
    TrainingJobSpec,
    check_readable,
    instance_type,
    local_path,
    scheme,
)
from dockyard.errors import DockyardError, InvalidArgument, NotFound, PermissionDenied
from dockyard.server.actor import Actor, Level, Role
from dockyard.server.auth import Access, StoreAreas
from dockyard.server.jobs._executors import Executors
from dockyard.server.store import Database, schema
from dockyard.server.tracking import TrackingService
from dockyard.settings import Settings

__all__ = ["SpecChecks"]


class SpecChecks:
    """The submit-time checks of training and transform specs.

    Attributes:
        roots: Where specs may point (``DOCKYARD_DATA_ROOTS`` and the store).
        resolve_model: Set by the server to the registry's resolver, so ``models:/`` URIs are
            checked at submit.
        model_version: Set by the server to the registry's version lookup, so a transform
            of a package with SageMaker inference handlers is checked for what such a package
            cannot take (filters or a join on input other than CSV, Parquet) at submit rather
            than when it runs.
    """

    def __init__(
        self,
        db: Database,
        tracking: TrackingService,
        settings: Settings,
        access: Access,
        executors: Executors,
    ) -> None:
        self._db = db
        self._tracking = tracking
        self._settings = settings
        self._access = access
        self._areas = StoreAreas(access)
        self._executors = executors
        self.roots = settings.allowed_roots()
        self.resolve_model: Callable[[Actor, str], object] | None = None
        self.model_version: Callable[[Actor, str, int], object] | None = None

    def fit_instance_type(self, spec: TrainingJobSpec) -> tuple[TrainingJobSpec, str]:
        """A spec whose instance type asks for more CPUs or memory than this executor has,
        capped at what it has, and a sentence saying so (empty when nothing changed)."""
        resources = spec.resources
        name = resources.instance_type
        if name is None or name in LOCAL_TYPES:
            return spec, ""
        import psutil

        capacity = self._executors.cpus(self._executors.choose(spec.executor))
        cpus = min(resources.cpus, capacity)
        machine_mb = psutil.virtual_memory().total // (1024 * 1024)
        memory_mb = resources.memory_mb
        if memory_mb is not None:
            memory_mb = min(memory_mb, machine_mb)
        notes = []
        if (cpus, memory_mb) != (resources.cpus, resources.memory_mb):
            notes.append(
                f"{name} asks for {resources.cpus:g} CPUs and {resources.memory_mb} MB; this "
                f"executor has {capacity:g} CPUs and {machine_mb} MB, so the job "
                f"gets {cpus:g} CPUs and {memory_mb} MB"
            )
        gpus = instance_type(name).gpus
        if gpus and not resources.gpus:
            notes.append(
                f"{name} has {gpus} GPU(s); the job asks for none (resources.gpus), so it runs "
                "on CPUs (SM_NUM_GPUS=0)"
            )
        if not notes:
            return spec, ""
        capped = resources.model_copy(update={"cpus": cpus, "memory_mb": memory_mb})
        return spec.model_copy(update={"resources": capped}), "; ".join(notes)

    def transform(self, actor: Actor, spec: Any) -> None:
        endpoint = self._settings.s3_endpoint_url
        uri = spec.model_uri
        self._check_location(actor, uri, "model_uri")
        self._check_location(actor, spec.input.uri, "input.uri")
        self._check_location(actor, spec.output.uri, "output.uri", write=True, owner=spec.name)
        if uri.startswith("runs:/"):
            self._check_run_uri(actor, uri, "model_uri")
        elif uri.startswith("models:/"):
            self._check_handlers(actor, self._check_registered(actor, uri), spec)
        else:
            check_readable(uri, "model_uri", s3_endpoint_url=endpoint)
        check_readable(spec.input.uri, "input.uri", s3_endpoint_url=endpoint)

    def _check_handlers(self, actor: Actor, resolved: object, spec: Any) -> None:
        """Refuse what a registered package with SageMaker inference handlers cannot take."""
        name, version = getattr(resolved, "name", None), getattr(resolved, "version", None)
        if self.model_version is None or not isinstance(name, str) or not isinstance(version, int):
            return
        try:
            flavor = getattr(self.model_version(actor, name, version), "flavor", None)
        except DockyardError:
            return  # the worker checks it again when it loads the package
        if flavor != "sagemaker_script":
            return
        processing = spec.data_processing
        refuse_for_handlers(
            spec.input.content_type,
            processing.input_filter,
            processing.output_filter,
            processing.join_source == "Input",
        )

    def training(self, actor: Actor, spec: TrainingJobSpec) -> None:
        executor = self._executors.choose(spec.executor)
        capacity = self._executors.cpus(executor)
        if spec.resources.cpus > capacity:
            raise InvalidArgument(
                f"the job asks for {spec.resources.cpus:g} CPUs; the {executor.name!r} executor "
                f"has {capacity:g}",
                field="resources.cpus",
            )
        self._check_gpus(executor.name, spec.resources.gpus)
        self._check_roots(actor, spec)
        if spec.output.register_as is not None:
            self._check_register_as(actor, spec.output.register_as)
        endpoint = self._settings.s3_endpoint_url
        if spec.source_dir is not None:
            check_readable(spec.source_dir, "source_dir", s3_endpoint_url=endpoint)
            if spec.entry_point and scheme(spec.source_dir) == "local":
                source = local_path(spec.source_dir)
                try:
                    if source.name.endswith((".tar.gz", ".tgz")) and source.is_file():
                        found = _archive_holds(source, spec.entry_point, spec.source_dir)
                    else:
                        found = (source / spec.entry_point).is_file()
                except OSError as exc:  # a name too long for the file system
                    raise InvalidArgument(
                        f"cannot read entry point {spec.entry_point[:200]!r}: {exc.strerror}",
                        field="entry_point",
                    ) from exc
                if not found:
                    raise InvalidArgument(
                        f"entry point {spec.entry_point!r} is not a file in {spec.source_dir}",
                        field="entry_point",
                    )
        for channel_name, channel in spec.inputs.items():
            field = f"inputs.{channel_name}.uri"
            if scheme(channel.uri, field) == "runs":
                self._check_run_uri(actor, channel.uri, field)
            else:
                check_readable(channel.uri, field, s3_endpoint_url=endpoint)
        if spec.algorithm is not None:
            from dockyard.algorithms import BUILTIN_ALGORITHMS

            algorithm = BUILTIN_ALGORITHMS[spec.algorithm]
            algorithm.validate_channels({k: c.content_type for k, c in spec.inputs.items()})
            algorithm.validate_hyperparameters(dict(spec.hyperparameters))

    def _check_gpus(self, name: str, gpus: int) -> None:
        """Refuse a job asking for more GPUs than one node of executor ``name`` has: it would
        wait forever (SageMaker refuses an instance type it cannot give, too)."""
        if gpus <= 0:
            return
        _, most = self._executors.gpus(self._executors.choose(name))
        if gpus > most:
            has = f"{most:g} GPU(s) on its largest node" if most else "no node with a GPU"
            if name == "local":
                has = f"{most:g} (DOCKYARD_GPUS, else the GPUs nvidia-smi lists)"
            raise InvalidArgument(
                f"the job asks for {gpus} GPU(s); the {name!r} executor has {has}",
                field="resources.gpus",
            )

    def _check_roots(self, actor: Actor, spec: TrainingJobSpec) -> None:
        """Every location the spec names lies under an allowed root, checked before anything
        looks at the disk (see :mod:`dockyard.artifacts.roots`), and inside the store, in an
        area the actor may use (:class:`~dockyard.server.auth.StoreAreas`)."""
        if spec.source_dir is not None:
            self._check_location(actor, spec.source_dir, "source_dir")
        for channel_name, channel in spec.inputs.items():
            self._check_location(actor, channel.uri, f"inputs.{channel_name}.uri")
        if spec.checkpoint is not None:
            self._check_location(actor, spec.checkpoint.uri, "checkpoint.uri", write=True)

    def _check_register_as(self, actor: Actor, name: str) -> None:
        """The submitter may register into the model ``output.register_as`` names, as the
        job's token will when the job ends (see ``Access.require_registration``): refused now,
        not after the training."""
        models = schema.registered_models
        what = f"register job versions into model {name!r}"
        with self._db.read() as conn:
            found = conn.execute(select(models.c.model_id).where(models.c.name == name)).scalar()
            try:
                if found is None:
                    self._access.require_role(actor, Role.MEMBER, what)
                else:
                    self._access.require(
                        conn, actor, Level.EDIT, "registered_model", str(found), what
                    )
            except PermissionDenied as exc:
                raise PermissionDenied(
                    exc.message, field="output.register_as", details=exc.details
                ) from None

    def check_location(self, actor: Actor, uri: str, field: str, *, write: bool = False) -> None:
        """Refuse ``uri`` unless it lies under an allowed root and, inside the store, in an area
        ``actor`` may read (or, with ``write``, write): for locations other specs name (a
        SageMaker processing job's dataset and output, a monitoring baseline), as for a job's."""
        self._check_location(actor, uri, field, write=write)

    def _check_location(
        self, actor: Actor, uri: str, field: str, *, write: bool = False, owner: str | None = None
    ) -> None:
        key = self.roots.check(uri, field, write=write)
        if key is not None:
            with self._db.read() as conn:
                self._areas.check(conn, actor, key, field, write=write, owner=owner)

    def _check_registered(self, actor: Actor, uri: str) -> object:
        from dockyard.models.uris import parse_model_uri

        parse_model_uri(uri, "model_uri")
        if self.resolve_model is None:
            return None
        try:
            return self.resolve_model(actor, uri)
        except NotFound as exc:
            raise InvalidArgument(str(exc), field="model_uri") from exc

    def _check_run_uri(self, actor: Actor, uri: str, field: str) -> None:
        run_id, _, _path = uri[len("runs:/") :].partition("/")
        try:
            self._tracking.get_run_info(actor, run_id)
        except NotFound as exc:
            raise InvalidArgument(f"{uri}: run {run_id!r} does not exist", field=field) from exc


def _archive_holds(archive: Path, entry_point: str, uri: str) -> bool:
    """Whether a ``sourcedir.tar.gz`` (what the SageMaker SDK uploads for script mode, which the
    runner unpacks) holds the entry point as a file."""
    wanted = posixpath.normpath(entry_point)
    try:
        with tarfile.open(archive, "r:gz") as tar:
            return any(m.isfile() and posixpath.normpath(m.name) == wanted for m in tar)
    except (tarfile.TarError, EOFError) as exc:
        raise InvalidArgument(
            f"source_dir {uri} is not a gzipped tar archive: {exc}", field="source_dir"
        ) from None
