"""The MLflow REST API, so the unmodified ``mlflow`` client works against Dockyard.

``MLFLOW_TRACKING_URI=http://host:port`` points the client here. The adapter translates MLflow's
requests into calls of Dockyard's services (tracking, logged models, registry) and the results
back; it keeps no state and no rule of its own beyond MLflow's protocol limits. Layout::

    _fields.py         reading protobuf-JSON requests with MLflow's type rules
    _convert.py        Dockyard entities -> MLflow JSON
    _errors.py         any exception -> {"error_code", "message"} with MLflow's status and words
    _endpoint.py       the wrapper every JSON endpoint runs through
    _experiments.py    experiments/*
    _runs.py           runs/* (outputs too), metrics/get-history
    _logged_models.py  logged-models/* (MLflow 3)
    _registry.py       registered-models/*, model-versions/*
    _registry_files.py mlflow-artifacts:/registry/... (registered files, read-only)
    _artifacts.py      mlflow-artifacts/artifacts (runs' and logged models' files), artifacts/list

Out of scope, each answering 404 ENDPOINT_NOT_FOUND as an older MLflow server does (so the
client falls back or reports a clear error):

- GenAI tracing, assessments and evaluation datasets: a separate product (spans, traces,
  judges) with its own storage; Dockyard tracks models, not LLM calls.
- Prompts and the prompt registry: the registry keeps model packages; prompt tags are refused.
- The AI gateway, its secrets, budgets and guardrails: a proxy to model providers, not part of
  an ML platform's tracking and registry.
- Scorers and online evaluation: they run user code on the tracking server, which Dockyard runs
  only as jobs.
- Workspaces: Dockyard separates teams with grants on experiments and models instead.
- Webhooks: Dockyard's event log and its subscriptions do this for every resource.
- GraphQL and the endpoints only MLflow's UI calls (``get-history-bulk``, ``search-datasets``,
  ``upload-artifact``, ``/get-artifact``): Dockyard's web UI reads the native API.

MLflow's UI calls the same API under ``/ajax-api``; what is served is served there too.
"""

from __future__ import annotations

from typing import Final

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from dockyard.server.compat.mlflow import (
    _artifacts,
    _experiments,
    _logged_models,
    _registry,
    _registry_files,
    _runs,
)
from dockyard.server.compat.mlflow._endpoint import json_endpoint
from dockyard.server.compat.mlflow._errors import ENDPOINT_NOT_FOUND, MlflowError, error_response

__all__ = ["router"]

_PREFIXES: Final = ("/api/2.0", "/ajax-api/2.0")
_ALL_METHODS: Final = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
# Everything under these answers in MLflow's error shape, routed or not.
_CATCH_ALL: Final = (
    "/api/2.0/mlflow/{rest:path}",
    "/ajax-api/2.0/mlflow/{rest:path}",
    "/api/2.0/mlflow-artifacts/{rest:path}",
    "/ajax-api/2.0/mlflow-artifacts/{rest:path}",
    "/api/3.0/mlflow/{rest:path}",
    "/ajax-api/3.0/mlflow/{rest:path}",
)


async def _endpoint_not_found(request: Request) -> Response:
    error = MlflowError(
        ENDPOINT_NOT_FOUND,
        f"No MLflow endpoint {request.method} {request.url.path} on this server "
        "(Dockyard serves MLflow's experiment, run, logged-model, metric, artifact and model "
        "registry APIs).",
    )
    return error_response(error, request)


def _build() -> APIRouter:
    router = APIRouter()
    for prefix in _PREFIXES:
        for endpoint in (
            *_experiments.ENDPOINTS,
            *_runs.ENDPOINTS,
            *_logged_models.ENDPOINTS,
            *_artifacts.ENDPOINTS,
        ):
            # An ASGI app, which the route serves as it is (typed here for function endpoints).
            router.add_route(
                f"{prefix}/mlflow/{endpoint.path}",
                json_endpoint(endpoint.handler, endpoint.service, short_write=endpoint.short_write),  # type: ignore[arg-type]
                methods=list(endpoint.methods),
                include_in_schema=False,
            )
        for path, methods, handler in _registry.ROUTES:
            router.add_route(
                f"{prefix}/mlflow/{path}", handler, methods=list(methods), include_in_schema=False
            )
        artifacts = f"{prefix}/mlflow-artifacts/artifacts"
        # Registered files (read-only) first; the listing hands run paths on to _artifacts.
        for path, handler in _registry_files.artifact_routes(artifacts, _artifacts.list_artifacts):
            router.add_route(path, handler, methods=["GET"], include_in_schema=False)
        for method, handler in (
            ("GET", _artifacts.download_artifact),
            ("PUT", _artifacts.upload_artifact),
            ("DELETE", _artifacts.delete_artifact),
        ):
            router.add_route(
                f"{artifacts}/{{path:path}}", handler, methods=[method], include_in_schema=False
            )
    # Last, so that only what no route above takes falls through to it.
    for path in _CATCH_ALL:
        router.add_route(path, _endpoint_not_found, methods=_ALL_METHODS, include_in_schema=False)
    return router


#: Include in the app with ``app.include_router(router)``.
router: Final = _build()
