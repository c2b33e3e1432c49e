"""Batch transform through a package's SageMaker inference handlers.

A package that carries a training script's handlers (``input_fn``, ``output_fn``...; see
:mod:`dockyard.models.flavors.sagemaker_script`) reads request bodies itself, as SageMaker's
framework containers do in a transform job: each mini-batch (its records joined by newlines, or
the whole file with ``split_type=None``) is one request with the input's content type and the
output's accept type, and the handlers' answer is written as it is, followed by the
``assemble_with`` separator. CSV input is headerless, as SageMaker sends it.

A mini-batch that fails is split in halves until the records that fail alone are found, as
for other models (:mod:`._scoring`): good records are never lost to a bad neighbour.

Input and output filters and ``join_source`` need Dockyard to parse the records and the
answers, which only the handlers know how to do: they are refused for such packages.
"""

from __future__ import annotations

from collections.abc import Callable

from dockyard.api.batch import refuse_for_handlers
from dockyard.models import Invoked, RawRequest
from dockyard.runtime.batch._config import WorkerConfig
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

    def score(self, batch: TextBatch, bad: BadRecords) -> tuple[bytes, int]:
        """The output bytes of ``batch`` and how many records were scored."""
        if batch.whole:
            parts = self._attempt([batch.data], 0, 1, batch, bad, whole=True)
        else:
            parts = self._attempt(batch.lines(), 0, batch.count, batch, bad, whole=False)
        return b"".join(body for body, _ in parts), sum(count for _, count in parts)

    def _attempt(
        self,
        records: list[bytes],
        start: int,
        end: int,
        batch: TextBatch,
        bad: BadRecords,
        *,
        whole: bool,
    ) -> list[tuple[bytes, int]]:
        body = records[0] if whole else b"\n".join(records[start:end]) + b"\n"
        request = RawRequest(body, self._config.content_type, self._config.accept)
        try:
            answer = self._invoke(request).body
        except MemoryError:
            raise  # not the records' fault; splitting would only hide it
        except Exception as exc:  # the handlers refused or failed on (some of) these records
            if whole or end - start == 1:
                bad(batch.line(start), reason_of(exc))
                return []
            middle = (start + end) // 2
            return [
                *self._attempt(records, start, middle, batch, bad, whole=False),
                *self._attempt(records, middle, end, batch, bad, whole=False),
            ]
        if self._separator and answer.endswith(self._separator):
            answer = answer[: -len(self._separator)]
        return [(answer + self._separator, 1 if whole else end - start)]
