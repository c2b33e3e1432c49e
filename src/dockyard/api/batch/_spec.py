"""The transform job spec: one frozen model validates a YAML file, a REST body and SDK arguments.

Fields mirror SageMaker's CreateTransformJob (``TransformInput``, ``TransformOutput``,
``DataProcessing``, ``BatchStrategy``, ``MaxPayloadInMB``, ``MaxConcurrentTransforms``) in
snake_case; SageMaker's own names are accepted as aliases so its request bodies validate too.
Everything that can be checked without touching data is checked here, once, and every error
names the field at fault.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from dockyard.api._sagemaker_sources import refuse_manifests
from dockyard.api.batch._jsonpath import JsonPath, JsonPathError
from dockyard.errors import InvalidArgument

__all__ = [
    "CSV",
    "JSONLINES",
    "PARQUET",
    "BadRecordPolicy",
    "DataProcessing",
    "TransformInput",
    "TransformOutput",
    "TransformSpec",
    "parse_spec",
]

CSV = "text/csv"
JSONLINES = "application/jsonlines"
PARQUET = "application/x-parquet"
# SageMaker's default; its documented range is 0-100 (0: no limit on a record's size).
DEFAULT_MAX_PAYLOAD_MB = 6
DEFAULT_SHARD_BYTES = 64 * 1024 * 1024

Uri = Annotated[str, StringConstraints(min_length=1, max_length=1024, strip_whitespace=True)]
# A registered model's name (CreateModel registers one): the registry's own rule.
_MODEL_NAME = re.compile(r"[A-Za-z0-9_]([A-Za-z0-9_.\- ]{0,254}[A-Za-z0-9_.\-])?", re.ASCII)
ContentType = Literal["text/csv", "application/jsonlines", "application/x-parquet"]
Accept = Literal["text/csv", "application/jsonlines"]
_DEFAULT_CONTENT_TYPE: ContentType = "text/csv"


def _alias(*names: str) -> Any:
    return AliasChoices(*names)


class _Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class TransformInput(_Spec):
    """What to score and how its records are delimited.

    Attributes:
        uri: A file, a folder or an ``s3://`` prefix; every file under a folder or prefix is
            scored (names starting with ``.`` or ``_`` are skipped).
        content_type: ``text/csv``, ``application/jsonlines`` or ``application/x-parquet``.
        split_type: ``Line``: one record per line (per row for Parquet); ``None``: the whole
            file is one record.
        compression: ``Gzip`` for gzip-compressed text files (never split into shards).
        display_uri: What errors call the input, when ``uri`` is a copy of what the user named
            (a client uploads a local file or folder to the store and sends the copy's URI);
            default ``uri``. It changes nothing else.
    """

    uri: Uri = Field(validation_alias=_alias("uri", "S3Uri", "s3_uri"))
    content_type: ContentType = Field(
        default=_DEFAULT_CONTENT_TYPE, validation_alias=_alias("content_type", "ContentType")
    )
    split_type: Literal["Line", "None"] = Field(
        default="Line", validation_alias=_alias("split_type", "SplitType")
    )
    compression: Literal["None", "Gzip"] = Field(
        default="None", validation_alias=_alias("compression", "CompressionType")
    )
    display_uri: Uri | None = None

    @field_validator("content_type", mode="before")
    @classmethod
    def _media_type_only(cls, value: Any) -> Any:
        # "text/csv; charset=utf-8" and "Text/CSV" name the same format; parameters are ignored
        # (records must be UTF-8 whatever the header says).
        if isinstance(value, str):
            return value.split(";", 1)[0].strip().lower()
        return value


class TransformOutput(_Spec):
    """Where results go and how they are written.

    Attributes:
        uri: A folder or ``s3://`` prefix; ``<uri>/<input name>.out`` per input file plus
            ``_manifest.json``, written last, when the whole job is complete.
        accept: ``text/csv`` or ``application/jsonlines``; default: the input's content type
            (JSON Lines for Parquet input).
        assemble_with: ``Line``: a newline after every record's output; ``None``: outputs are
            concatenated as they are.
    """

    uri: Uri = Field(validation_alias=_alias("uri", "S3OutputPath", "s3_output_path"))
    accept: Accept | None = Field(default=None, validation_alias=_alias("accept", "Accept"))
    assemble_with: Literal["Line", "None"] = Field(
        default="Line", validation_alias=_alias("assemble_with", "AssembleWith")
    )

    @field_validator("accept", mode="before")
    @classmethod
    def _media_type_only(cls, value: Any) -> Any:
        if isinstance(value, str):
            return value.split(";", 1)[0].strip().lower()
        return value


class DataProcessing(_Spec):
    """SageMaker's input filter, join and output filter (a JSONPath subset, see ``_jsonpath``).

    Attributes:
        input_filter: What part of each record the model sees (``$[1:]`` drops a CSV's first
            column; ``$.features`` passes one key of a JSON record).
        output_filter: What part of the (joined) output is kept (``$[0,-1]``,
            ``$['id','SageMakerOutput']``).
        join_source: ``Input`` appends each prediction to its input record: extra CSV
            column(s), or a ``SageMakerOutput`` key of a JSON object.
    """

    input_filter: str = Field(default="$", validation_alias=_alias("input_filter", "InputFilter"))
    output_filter: str = Field(
        default="$", validation_alias=_alias("output_filter", "OutputFilter")
    )
    join_source: Literal["None", "Input"] = Field(
        default="None", validation_alias=_alias("join_source", "JoinSource")
    )

    @field_validator("input_filter", "output_filter")
    @classmethod
    def _parses(cls, value: str) -> str:
        try:
            JsonPath.parse(value)
        except JsonPathError as exc:
            raise ValueError(str(exc)) from exc
        return value


class BadRecordPolicy(_Spec):
    """What a record the model cannot score does to the job.

    Attributes:
        on_error: ``fail``: stop at the first bad record, naming its file, line and reason;
            ``skip``: leave it out of the output, count it and go on.
        max_reported: How many bad records are listed (file, line, reason) in the manifest.
    """

    on_error: Literal["fail", "skip"] = "fail"
    max_reported: int = Field(default=100, ge=0, le=10_000)


def names_a_model(value: object) -> bool:
    """Whether ``value`` is a model's name (as SageMaker's ModelName is), not a URI or path."""
    return isinstance(value, str) and "/" not in value and bool(_MODEL_NAME.fullmatch(value))


class TransformSpec(_Spec):
    """A batch transform: a model, input files, output folder and SageMaker's knobs.

    Attributes:
        model_uri: A local package directory or the ``s3://`` prefix of one. A registry URI
            (``models:/name/3``) is accepted here and must be resolved to one of those before
            :func:`~dockyard.runtime.batch.run_transform`.
        input: See :class:`TransformInput`.
        output: See :class:`TransformOutput`.
        batch_strategy: ``MultiRecord``: as many records per predict call as fit in
            ``max_payload_mb``; ``SingleRecord``: one record per call.
        max_payload_mb: The largest mini-batch (and record) in MB; 0 lifts the limit on a
            record's size (mini-batches then stay at the 6 MB default).
        max_concurrent_transforms: Worker processes (each loads the model once); default: the
            number of CPUs.
        data_processing: See :class:`DataProcessing`.
        bad_records: See :class:`BadRecordPolicy`.
        shard_bytes: Large uncompressed text files are split into shards of about this size,
            on line boundaries, and shards are scored in parallel and resumed one by one.

    SageMaker's ``ModelName`` is read as ``model_uri`` ``models:/<name>/latest`` when it is a
    model's name (or CreateModel's ARN): a model CreateModel made, or a registered model. A URI or
    a path there (anything with a ``/``) is taken as ``model_uri`` is.
    """

    model_uri: Uri = Field(validation_alias=_alias("model_uri", "ModelUri"))
    input: TransformInput = Field(validation_alias=_alias("input", "TransformInput"))
    output: TransformOutput = Field(validation_alias=_alias("output", "TransformOutput"))
    batch_strategy: Literal["MultiRecord", "SingleRecord"] = Field(
        default="MultiRecord", validation_alias=_alias("batch_strategy", "BatchStrategy")
    )
    max_payload_mb: int = Field(
        default=DEFAULT_MAX_PAYLOAD_MB,
        ge=0,
        le=100,
        validation_alias=_alias("max_payload_mb", "MaxPayloadInMB"),
    )
    max_concurrent_transforms: int | None = Field(
        default=None,
        ge=1,
        le=256,
        validation_alias=_alias("max_concurrent_transforms", "MaxConcurrentTransforms"),
    )
    data_processing: DataProcessing = Field(
        default_factory=DataProcessing,
        validation_alias=_alias("data_processing", "DataProcessing"),
    )
    bad_records: BadRecordPolicy = Field(default_factory=BadRecordPolicy)
    shard_bytes: int = Field(default=DEFAULT_SHARD_BYTES, ge=1, le=1 << 40)

    @model_validator(mode="before")
    @classmethod
    def _prefixes_only(cls, data: Any) -> Any:
        # Checked before the fields, so the error names the nested field (see _field_error).
        if isinstance(data, Mapping):
            source = data.get("TransformInput", data.get("input"))
            if isinstance(source, Mapping) and isinstance(source.get("DataSource"), Mapping):
                refuse_manifests(
                    source["DataSource"].get("S3DataSource"),
                    "TransformInput.DataSource.S3DataSource",
                )
        return data

    @model_validator(mode="before")
    @classmethod
    def _model_name(cls, data: Any) -> Any:
        # SageMaker's ModelName names a model (CreateModel's, or a registered one): it stands
        # for that model's latest version. A URI or path there keeps the meaning it always had
        # here (the model's package), so specs and pipelines written so keep working.
        if not isinstance(data, Mapping):
            return data
        if data.get("ModelName") is None:
            return data
        if any(data.get(k) is not None for k in ("model_uri", "ModelUri")):
            raise _field_error(
                "ModelName", "give a SageMaker model name or model_uri (a URI or folder), not both"
            )
        name = data["ModelName"]
        if isinstance(name, str) and name.startswith("arn:") and ":model/" in name:
            name = name.rsplit(":model/", 1)[1]  # the ARN CreateModel answered
        rest = {k: v for k, v in data.items() if k != "ModelName"}
        if names_a_model(name):
            return rest | {"model_uri": f"models:/{name}/latest"}
        return rest | {"model_uri": name}

    @field_validator("input", mode="before")
    @classmethod
    def _input_shorthand(cls, value: Any) -> Any:
        # SageMaker nests the URI: TransformInput.DataSource.S3DataSource.S3Uri.
        if isinstance(value, Mapping) and "DataSource" in value:
            body = {k: v for k, v in value.items() if k != "DataSource"}
            source = value["DataSource"]
            s3 = source.get("S3DataSource", {}) if isinstance(source, Mapping) else {}
            body["uri"] = s3.get("S3Uri") if isinstance(s3, Mapping) else None
            return body
        return value

    @property
    def accept(self) -> str:
        """The output format: ``output.accept``, else the input's (JSON Lines for Parquet)."""
        if self.output.accept is not None:
            return self.output.accept
        return JSONLINES if self.input.content_type == PARQUET else self.input.content_type

    @model_validator(mode="after")
    def _consistent(self) -> TransformSpec:
        content_type = self.input.content_type
        if content_type == PARQUET and self.input.compression != "None":
            raise _field_error(
                "input.compression",
                "Parquet files compress their own pages; compression must be None",
            )
        processing = self.data_processing
        input_filter = JsonPath.parse(processing.input_filter)
        output_filter = JsonPath.parse(processing.output_filter)
        if content_type == CSV and not input_filter.selects_by_position():
            raise _field_error(
                "data_processing.input_filter",
                f"{processing.input_filter!r}: CSV records have no field names; "
                "select columns by index or slice, e.g. $[1:] or $[0,2]",
            )
        if content_type == PARQUET and not input_filter.selects_columns():
            raise _field_error(
                "data_processing.input_filter",
                f"{processing.input_filter!r}: Parquet input filters select columns: "
                "$[1:], $[0,2], $.name or $['a','b']",
            )
        joined = processing.join_source == "Input"
        if joined and content_type not in (PARQUET, self.accept):
            raise _field_error(
                "output.accept",
                f"joining outputs to inputs needs accept equal to the content type "
                f"({content_type}), not {self.accept}",
            )
        if self.accept == CSV and not output_filter.selects_by_position():
            raise _field_error(
                "data_processing.output_filter",
                f"{processing.output_filter!r}: CSV output has no field names; "
                "select columns by index or slice, e.g. $[0,-1]",
            )
        return self


def _field_error(field: str, message: str) -> ValueError:
    # Raised inside a model validator, pydantic reports the model's location; the field's dotted
    # path is put in the message so the error still names it.
    return ValueError(f"{field}: {message}")


def parse_spec(data: Mapping[str, Any] | str | bytes) -> TransformSpec:
    """Validate a spec from a mapping (JSON body, SDK kwargs) or YAML/JSON text.

    Raises:
        InvalidArgument: Naming the first field at fault (``field``) and listing every problem
            in ``details["errors"]``.
    """
    if isinstance(data, (str, bytes)):
        import yaml  # only for text: an SDK call or a job's body is a mapping (~15 ms saved)

        try:
            data = yaml.safe_load(data)
        except yaml.YAMLError as exc:
            raise InvalidArgument(f"the transform spec is not valid YAML or JSON: {exc}") from exc
    if not isinstance(data, Mapping):
        raise InvalidArgument("a transform spec must be a mapping of fields")
    try:
        return TransformSpec.model_validate(dict(data))
    except ValidationError as exc:
        raise spec_error(exc) from exc


def spec_error(exc: ValidationError) -> InvalidArgument:
    """The :class:`InvalidArgument` for a pydantic error: message and field name the culprit."""
    problems = []
    for error in exc.errors(include_url=False, include_input=False):
        location = ".".join(str(part) for part in error["loc"])
        message = str(error["msg"]).removeprefix("Value error, ")
        field, sep, rest = message.partition(": ")
        if not location and sep and " " not in field:
            location, message = field, rest  # a cross-field rule (see _field_error)
        problems.append({"field": location or None, "message": message})
    first = problems[0]
    where = f"{first['field']}: " if first["field"] else ""
    return InvalidArgument(
        f"invalid transform spec: {where}{first['message']}",
        field=first["field"],
        details={"errors": json.loads(json.dumps(problems))},
    )
