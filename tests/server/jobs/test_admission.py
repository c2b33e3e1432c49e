"""Submit-time checks of transform specs: a registered package with SageMaker inference
handlers is refused what only its handlers could parse (filters or a join on JSON Lines,
Parquet) when the job is submitted, not after it has queued and started; a training job's
``sourcedir.tar.gz`` is looked into for its entry point."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from dockyard.api.registry import CreateModelVersion, CreateRegisteredModel
from dockyard.errors import DockyardError, InvalidArgument
from dockyard.models import save_package
from dockyard.models.flavors.sagemaker_script import SageMakerScript
from dockyard.server._services import Services
from dockyard.server.actor import Actor
from dockyard.server.compat.aws._sagemaker_transform import create_transform_job
from dockyard.settings import Settings

ACTOR = Actor.system()


@pytest.fixture
def store(services: Services, settings: Settings, tmp_path: Path) -> Path:
    """The artifact store's folder, holding ``in.csv`` and a registered model ``handled``
    whose package serves through a script's handlers."""
    root = settings.home / "artifacts"
    code, model = tmp_path / "code", tmp_path / "model"
    code.mkdir()
    model.mkdir()
    (code / "inference.py").write_text("def model_fn(model_dir):\n    return None\n")
    (model / "weights.txt").write_text("1\n")
    save_package(
        SageMakerScript(model, code, "inference.py"), root / "handled", flavor="sagemaker_script"
    )
    services.registry.create_registered_model(ACTOR, CreateRegisteredModel(name="handled"))
    services.registry.create_model_version(
        ACTOR, "handled", CreateModelVersion(source=str(root / "handled"))
    )
    (root / "in.csv").write_text("1.0,2.0\n")
    (root / "in.jsonl").write_text("[1.0, 2.0]\n")
    return root


def _spec(store: Path, **changes: Any) -> dict[str, Any]:
    return {
        "name": "scored",
        "model_uri": "models:/handled/1",
        "input": {"uri": str(store / "in.jsonl"), "content_type": "application/jsonlines"},
        **changes,
    }


@pytest.mark.parametrize(
    ("processing", "field"),
    [
        ({"input_filter": "$[1:]"}, "data_processing.input_filter"),
        ({"output_filter": "$[0]"}, "data_processing.output_filter"),
        ({"join_source": "Input"}, "data_processing.join_source"),
    ],
)
def test_filters_and_joins_are_refused_at_submit(
    services: Services, store: Path, processing: dict[str, str], field: str
) -> None:
    output = str(store / "transform")
    with pytest.raises(InvalidArgument) as refused:
        services.jobs.submit_transform(ACTOR, _spec(store, data_processing=processing), output)
    assert refused.value.field == field
    assert "SageMaker inference handlers on text/csv input only" in refused.value.message
    assert services.jobs.list(ACTOR, kind="transform") == []


def test_without_them_the_job_is_queued(services: Services, store: Path) -> None:
    job = services.jobs.submit_transform(ACTOR, _spec(store), str(store / "transform"))
    assert job.name == "scored"


def test_on_csv_they_are_queued(services: Services, store: Path) -> None:
    """On CSV the worker filters the records and joins the handlers' answer lines."""
    csv = {"uri": str(store / "in.csv"), "content_type": "text/csv"}
    processing = {"input_filter": "$[1:]", "join_source": "Input", "output_filter": "$[0,-1]"}
    spec = _spec(store, input=csv, data_processing=processing)
    job = services.jobs.submit_transform(ACTOR, spec, str(store / "transform"))
    assert job.name == "scored"


@pytest.mark.parametrize("value", ["\ud800", 2**64])
def test_a_transform_body_the_server_cannot_store_is_refused(
    services: Services, store: Path, value: object
) -> None:
    """The body is free-form JSON: Python's parser reads half a surrogate pair from a
    ``\\ud800`` escape, and integers of any size, which the server cannot write back."""
    with pytest.raises(InvalidArgument) as refused:
        services.jobs.submit_transform(
            ACTOR, {**_spec(store), "tags": {"k": value}}, str(store / "transform")
        )
    assert refused.value.field == "body"
    assert refused.value.message.startswith("the transform spec holds a value")


def test_create_transform_job_names_the_request_field(services: Services, store: Path) -> None:
    request = {
        "TransformJobName": "scored",
        "ModelName": "handled",
        "TransformInput": {
            "DataSource": {"S3DataSource": {"S3Uri": str(store / "in.jsonl")}},
            "ContentType": "application/jsonlines",
        },
        "TransformOutput": {"S3OutputPath": str(store / "transform" / "scored")},
        "DataProcessing": {"InputFilter": "$[1:]"},
    }
    with pytest.raises(DockyardError) as refused:
        create_transform_job(services, ACTOR, request)
    assert refused.value.field == "DataProcessing.InputFilter"
    assert refused.value.message.startswith("DataProcessing.InputFilter is supported")


def _sourcedir(folder: Path, members: dict[str, str]) -> Path:
    """A ``sourcedir.tar.gz`` as the SageMaker SDK packs script-mode code."""
    import io
    import tarfile

    archive = folder / "sourcedir.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for name, text in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(text.encode())
            tar.addfile(info, io.BytesIO(text.encode()))
    return archive


def test_a_sourcedir_archive_on_the_servers_disk_is_looked_into(
    services: Services, store: Path
) -> None:
    """A local ``sourcedir.tar.gz`` is what the runner unpacks, so the entry point is looked
    for inside it, not beside it."""
    from dockyard.api.jobs import TrainingJobSpec

    archive = _sourcedir(store, {"./train.py": "print('hi')\n", "lib/util.py": ""})
    for entry_point in ("train.py", "lib/util.py"):
        spec = TrainingJobSpec(entry_point=entry_point, source_dir=str(archive))
        assert services.jobs.submit(ACTOR, spec).spec["source_dir"] == str(archive)
    missing = TrainingJobSpec(entry_point="serve.py", source_dir=str(archive))
    with pytest.raises(InvalidArgument) as refused:
        services.jobs.submit(ACTOR, missing)
    assert refused.value.field == "entry_point"
    assert f"entry point 'serve.py' is not a file in {archive}" in refused.value.message
    (store / "broken.tar.gz").write_bytes(b"not gzip")
    broken = TrainingJobSpec(entry_point="train.py", source_dir=str(store / "broken.tar.gz"))
    with pytest.raises(InvalidArgument) as unreadable:
        services.jobs.submit(ACTOR, broken)
    assert unreadable.value.field == "source_dir"
    assert "is not a gzipped tar archive" in unreadable.value.message
