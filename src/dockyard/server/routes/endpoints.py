"""Native REST routes for endpoints: ``/api/v1/endpoints`` (the control plane).

Predictions do not go through here: each endpoint answers on its own URL (``Endpoint.url``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.responses import StreamingResponse

from dockyard.api.endpoints import (
    Endpoint,
    EndpointConfig,
    EndpointKey,
    EndpointLogPage,
    EndpointStatus,
    EndpointUpdate,
    NewEndpointKey,
)
from dockyard.artifacts import ArtifactStore, open_artifact_store
from dockyard.artifacts.paths import normalize_artifact_path
from dockyard.server._deps import ActorDep, EndpointsDep, ServicesDep
from dockyard.server._route import OneHopRoute
from dockyard.server._services import Services
from dockyard.server._streaming import download
from dockyard.server.actor import Actor, Level
from dockyard.server.endpoints import Fleet, load_launcher, read_progress

router = APIRouter(prefix="/api/v1/endpoints", tags=["endpoints"], route_class=OneHopRoute)


class EndpointList(BaseModel):
    endpoints: list[Endpoint]


class EndpointKeyList(BaseModel):
    keys: list[EndpointKey]


class CaptureFile(BaseModel):
    path: str
    size: int | None = None


class CaptureList(BaseModel):
    files: list[CaptureFile]
    truncated: bool = False


def _fleet(services: ServicesDep, name: str) -> Fleet:
    return Fleet(services.settings.home / "endpoints" / name, load_launcher(services.settings))


@router.post("", status_code=201)
def create_endpoint(config: EndpointConfig, endpoints: EndpointsDep, actor: ActorDep) -> Endpoint:
    """Create an endpoint; it answers at ``url`` once InService."""
    return endpoints.create(actor, config)


@router.get("")
def list_endpoints(endpoints: EndpointsDep, actor: ActorDep) -> EndpointList:
    """All endpoints."""
    return EndpointList(endpoints=endpoints.list(actor))


@router.get("/{name}")
async def describe_endpoint(
    name: str, services: ServicesDep, actor: ActorDep, stats: bool = False
) -> Endpoint:
    """An endpoint with its history, current traffic split, the step an update is in
    (``rollout``) and (``stats=true``) each worker's live counters per variant (requests,
    errors, latency, in flight) with who it is: its id (its log's name), pid, and for a replica
    on a cluster its node and address."""
    endpoint = await run_in_threadpool(services.endpoints.get, actor, name)
    fleet = await run_in_threadpool(_fleet, services, name)
    update: dict[str, object] = {"workers": len(fleet.workers)}
    if endpoint.status is EndpointStatus.UPDATING:
        update["rollout"] = await run_in_threadpool(read_progress, fleet.folder)
    if stats:
        update["stats"] = {"workers": await run_in_threadpool(fleet.stats)}
    return endpoint.model_copy(update=update)


@router.get("/{name}/logs")
async def endpoint_logs(
    name: str,
    services: ServicesDep,
    actor: ActorDep,
    worker: Annotated[str | None, Query(max_length=64)] = None,
    offset: Annotated[int, Query(ge=0, le=2**63 - 1)] = 0,
    limit: Annotated[int, Query(ge=1, le=16 << 20)] = 1 << 20,
) -> EndpointLogPage:
    """Text of one worker's log from ``offset`` (the newest worker's unless ``worker`` names
    one), with every kept worker log in ``workers``. Follow a worker by asking again from
    ``next_offset`` until ``ended``. Each worker's log is bounded: ``offset`` comes back later
    than asked when the bytes asked for were dropped."""
    logs = await run_in_threadpool(services.endpoints.logs, actor, name)
    return await run_in_threadpool(logs.page, worker, offset, limit)


@router.put("/{name}")
def update_endpoint(
    name: str, config: EndpointUpdate, endpoints: EndpointsDep, actor: ActorDep
) -> Endpoint:
    """Roll out a new configuration with the policy in its ``rollout`` field; what it leaves
    out (the variants included) stays as it is."""
    return endpoints.update(actor, name, config)


@router.delete("/{name}", status_code=202)
def delete_endpoint(name: str, endpoints: EndpointsDep, actor: ActorDep) -> Endpoint:
    """Drain the endpoint's workers and remove it."""
    return endpoints.delete(actor, name)


@router.post("/{name}/keys", status_code=201)
def create_endpoint_key(name: str, endpoints: EndpointsDep, actor: ActorDep) -> NewEndpointKey:
    """Make an API key for the endpoint. ``key`` is in this answer only: the server keeps its
    digest. Callers send it as ``Authorization: Bearer <key>`` or ``X-Api-Key: <key>`` to an
    endpoint whose config has ``require_api_key``."""
    return endpoints.create_key(actor, name)


@router.get("/{name}/keys")
def list_endpoint_keys(name: str, endpoints: EndpointsDep, actor: ActorDep) -> EndpointKeyList:
    """The endpoint's API keys: ids and creation times, never the keys."""
    return EndpointKeyList(keys=endpoints.list_keys(actor, name))


@router.delete("/{name}/keys/{key_id}", status_code=204)
def delete_endpoint_key(
    name: str, key_id: str, endpoints: EndpointsDep, actor: ActorDep
) -> Response:
    """Revoke a key; the endpoint's workers refuse it within a second or so."""
    endpoints.delete_key(actor, name, key_id)
    return Response(status_code=204)


@router.get("/{name}/metrics")
async def endpoint_metrics(name: str, services: ServicesDep, actor: ActorDep) -> Response:
    """Prometheus metrics of every worker (labelled ``worker``) plus the fleet size."""
    await run_in_threadpool(services.endpoints.require, actor, name, Level.READ, "read its metrics")
    fleet = await run_in_threadpool(_fleet, services, name)
    parts = await run_in_threadpool(fleet.metrics)
    lines: list[str] = []
    seen: set[str] = set()
    for pid, text in parts:
        for line in text.splitlines():
            if line.startswith("#"):
                if line not in seen:
                    seen.add(line)
                    lines.append(line)
            elif "{" in line:
                lines.append(line.replace("{", f'{{worker="{pid}",', 1))
            elif line:
                metric, value = line.split(" ", 1)
                lines.append(f'{metric}{{worker="{pid}"}} {value}')
    lines.append("# HELP dockyard_endpoint_workers Worker processes serving the endpoint.")
    lines.append("# TYPE dockyard_endpoint_workers gauge")
    lines.append(f'dockyard_endpoint_workers{{endpoint="{name}"}} {len(fleet.workers)}')
    return Response("\n".join(lines) + "\n", media_type="text/plain; version=0.0.4")


# -- captured traffic -----------------------------------------------------------------------------


def _capture(services: Services, actor: Actor, name: str) -> tuple[ArtifactStore, str]:
    destination = services.endpoints.capture_destination(actor, name)
    if destination is None:
        return services.artifacts, f"capture/{name}"
    store = open_artifact_store(destination, s3_endpoint_url=services.settings.s3_endpoint_url)
    return store, name


@router.get("/{name}/capture")
async def list_capture(
    name: str,
    services: ServicesDep,
    actor: ActorDep,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> CaptureList:
    """Captured traffic files (JSON Lines), newest first: ``<variant>/YYYY/MM/DD/HH/<file>``."""
    store, prefix = await run_in_threadpool(_capture, services, actor, name)
    entries = await run_in_threadpool(store.list, prefix, recursive=True)
    files = [
        CaptureFile(path=e.path[len(prefix) + 1 :], size=e.size)
        for e in entries
        if not e.is_dir and e.path.startswith(prefix + "/")
    ]
    # Newest first across variants: the path after the variant is the capture hour.
    files.sort(key=lambda f: (f.path.partition("/")[2], f.path), reverse=True)
    return CaptureList(files=files[:limit], truncated=len(files) > limit)


@router.get("/{name}/capture/{path:path}", response_model=None)
async def get_capture(
    name: str, path: str, services: ServicesDep, actor: ActorDep
) -> StreamingResponse:
    """One captured traffic file: a request/response record per line."""
    store, prefix = await run_in_threadpool(_capture, services, actor, name)
    key = f"{prefix}/{normalize_artifact_path(path)}"
    return await download(store, key, key.rsplit("/", 1)[-1])
