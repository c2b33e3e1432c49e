"""Every size limit the API enforces, defined once for the server and its clients.

The server's request models and routes validate against these; the SDK, CLI and runtime
processes batch and page by the same numbers, so a client never sends what the server refuses
and a changed limit changes both sides. Tracking limits follow MLflow's, so clients that respect
MLflow's limits respect Dockyard's. Importing this module costs nothing: plain integers.
"""

from __future__ import annotations

from typing import Final

__all__ = ["LIMITS", "Limits"]


class Limits:
    """The limits, as read-only class attributes (``LIMITS.batch_params``)."""

    # -- tracking: keys and values ---------------------------------------------------------
    key_length: Final = 250
    param_value_length: Final = 6000
    tag_value_length: Final = 8000
    experiment_name_length: Final = 500
    run_name_length: Final = 250

    # -- tracking: one log-batch request --------------------------------------------------
    batch_metrics: Final = 10_000
    batch_params: Final = 100
    batch_tags: Final = 100

    # -- paging ----------------------------------------------------------------------------
    #: ``max_results`` of a native list route (experiments, models, versions, jobs, events).
    page_max_results: Final = 1000
    #: The page a list route returns when the caller names no size.
    page_default_results: Final = 100
    #: ``max_results`` of a run search (MLflow's limit).
    search_max_results: Final = 50_000
    #: ``max_results`` of one metric's history.
    history_max_results: Final = 100_000
    #: The longest page token a route accepts (tokens are opaque; this bounds the parse).
    page_token_length: Final = 1000
    #: ``max_results`` of a parameter listing (by path, or one parameter's history).
    params_page_max_results: Final = 50
    #: ``limit`` of a delivery log's page: a subscription's deliveries and attempts, a
    #: trigger's firings.
    log_page_max_results: Final = 500
    #: Run ids in one request that names several runs.
    runs_per_request: Final = 100

    # -- request bodies --------------------------------------------------------------------
    #: How deep a native API request's JSON may nest (objects and arrays): what the server
    #: keeps of a body (a spec, a message, a filter) is written again later, inside more.
    json_depth: Final = 128

    # -- jobs ------------------------------------------------------------------------------
    #: Status lines in one runner report.
    report_events: Final = 1000

    # -- transfers ---------------------------------------------------------------------------
    #: Bytes read, hashed or sent at a time when a file streams (uploads, downloads, logs).
    transfer_chunk: Final = 1 << 20


LIMITS: Final = Limits()
