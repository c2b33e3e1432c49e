"""Batch transform through a package's SageMaker inference handlers.

A package that carries a training script's handlers (``input_fn``, ``output_fn``...; see
:mod:`dockyard.models.flavors.sagemaker_script`) reads request bodies itself, as SageMaker's
framework containers do in a transform job: each mini-batch (its records joined by newlines, or
the whole file with ``split_type=None``) is one request with the input's content type and the
output's accept type, and the handlers' answer is written as it is, followed by the
``assemble_with`` separator. CSV input is headerless, as SageMaker sends it.

A mini-batch that fails is split in halves until the records that fail alone are found, as
for other models (:mod:`._scoring`): good records are never lost to a bad neighbour.

On CSV input, as SageMaker does around any container: the input filter picks each record's
fields before the handlers see it, and for ``join_source=Input`` or an output filter the
handlers' answer must hold one line per record (``Accept: text/csv``), each joined to its
record (``<record>,<answer>``) and filtered. Other input is the handlers' alone to parse: filters
and joins are refused for it.
"""

from __future__ import annotations

from collections.abc import Callable

from dockyard.api.batch import JsonPath, JsonPathError, refuse_for_handlers
from dockyard.errors import InvalidArgument
from dockyard.models import Invoked, RawRequest
from dockyard.runtime.batch._config import WorkerConfig
from dockyard.runtime.batch._encode import join_csv_fields, split_csv_row
from dockyard.runtime.batch._records import TextBatch
from dockyard.runtime.batch._scoring import reason_of

__all__ = ["BadRecords", "HandlerCodec"]

#: Reports a bad record: its file line number and the reason.
BadRecords = Callable[[int, str], None]


class HandlerCodec:
    """Sends mini-batches to the handlers and writes their answers.

    Raises:
        InvalidArgument: Parquet input, filters or a join, which handler packages cannot take.
    """

    def __init__(self, config: WorkerConfig, invoke: Callable[[RawRequest], Invoked]) -> None:
        refuse_for_handlers(
            config.content_type, config.input_filter, config.output_filter, config.join
        )
        self._config = config
        self._invoke = invoke
        self._separator = config.separator.encode()
        self._input = JsonPath.parse(config.input_filter)
        self._output = JsonPath.parse(config.output_filter)
        # A join or an output filter works on each record's own answer.
        self._per_record = config.join or not self._output.is_identity

    def score(self, batch: TextBatch, bad: BadRecords) -> tuple[bytes, int]:
        """The output bytes of ``batch`` and how many records were scored."""
        if batch.whole:
            if self._per_record or not self._input.is_identity:
                raise InvalidArgument(
                    "data_processing needs records to work on: give a model with SageMaker "
                    "inference handlers split_type Line with filters or join_source",
                    field="data_processing",
                )
            parts = self._attempt([batch.data], [0], 0, 1, batch, bad, whole=True)
        else:
            records: list[bytes] = []
            origins: list[int] = []
            for index, line in enumerate(batch.lines()):
                try:
                    records.append(self._filtered(line))
                except JsonPathError as exc:
                    bad(batch.line(index), f"input filter {self._input.text}: {exc}")
                    continue
                origins.append(index)
            parts = self._attempt(records, origins, 0, len(records), batch, bad, whole=False)
        return b"".join(body for body, _ in parts), sum(count for _, count in parts)

    def _filtered(self, line: bytes) -> bytes:
        if self._input.is_identity:
            return line
        fields = split_csv_row(line.decode("utf-8", errors="replace"))
        chosen = [fields[p] for p in self._input.positions(len(fields))]
        return join_csv_fields(chosen).encode()

    def _attempt(
        self,
        records: list[bytes],
        origins: list[int],
        start: int,
        end: int,
        batch: TextBatch,
        bad: BadRecords,
        *,
        whole: bool,
    ) -> list[tuple[bytes, int]]:
        if end <= start:
            return []
        body = records[0] if whole else b"\n".join(records[start:end]) + b"\n"
        request = RawRequest(body, self._config.content_type, self._config.accept)
        try:
            answer = self._invoke(request).body
        except MemoryError:
            raise  # not the records' fault; splitting would only hide it
        except Exception as exc:  # the handlers refused or failed on (some of) these records
            if whole or end - start == 1:
                bad(batch.line(origins[start]), reason_of(exc))
                return []
            middle = (start + end) // 2
            return [
                *self._attempt(records, origins, start, middle, batch, bad, whole=False),
                *self._attempt(records, origins, middle, end, batch, bad, whole=False),
            ]
        if self._per_record:
            return self._per_record_output(answer, origins[start:end], batch, bad)
        if self._separator and answer.endswith(self._separator):
            answer = answer[: -len(self._separator)]
        return [(answer + self._separator, 1 if whole else end - start)]

    def _per_record_output(
        self, answer: bytes, origins: list[int], batch: TextBatch, bad: BadRecords
    ) -> list[tuple[bytes, int]]:
        """Each record's answer line, joined to the record and filtered."""
        lines = answer.decode("utf-8", errors="replace").splitlines()
        if len(lines) != len(origins):
            raise InvalidArgument(
                f"the handlers answered {len(lines)} line(s) for {len(origins)} record(s): "
                "join_source and output_filter need one answer line per record (ask for "
                "text/csv with output.accept, or write output_fn so)",
                field="data_processing",
            )
        sources = batch.lines()
        out: list[bytes] = []
        for origin, line in zip(origins, lines, strict=True):
            text = line
            if self._config.join:
                source = sources[origin].decode("utf-8", errors="replace").rstrip("\r")
                text = f"{source},{line}"
            if not self._output.is_identity:
                fields = split_csv_row(text)
                try:
                    text = join_csv_fields([fields[p] for p in self._output.positions(len(fields))])
                except JsonPathError as exc:
                    bad(batch.line(origin), f"output filter {self._output.text}: {exc}")
                    continue
            out.append(text.encode() + self._separator)
        return [(b"".join(out), len(out))]
