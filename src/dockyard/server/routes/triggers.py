"""Triggers: ``/api/v1/triggers`` (create, list, read, update, delete, fire, history) and the hook
``/api/v1/hooks/triggers/{name}`` that git hosts and object stores post to.

The hook is open without a token (GitHub, GitLab and S3 cannot send one): the trigger's
secret authenticates it, checked by the service (a signature, a token header, Basic
credentials); a mismatch is 401 (with a Basic challenge, which SNS waits for) and a
``trigger.hook_denied`` event.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from dockyard.api.triggers import (
    FireRequest,
    Firing,
    FiringList,
    HookResult,
    NewTrigger,
    Trigger,
    TriggerConfig,
    TriggerList,
    TriggerUpdate,
)
from dockyard.errors import Unauthenticated
from dockyard.limits import LIMITS
from dockyard.server._deps import ActorDep, ServicesDep
from dockyard.server._errors import error_response
from dockyard.server._limits import HOOK_MAX_BYTES
from dockyard.server._pages import MaxResults, PageToken, one_page
from dockyard.server._route import OneHopRoute

triggers = APIRouter(prefix="/api/v1/triggers", tags=["triggers"], route_class=OneHopRoute)
hooks = APIRouter(prefix="/api/v1/hooks/triggers", tags=["triggers"])
router = APIRouter()


@triggers.post("", status_code=201)
def create_trigger(config: TriggerConfig, services: ServicesDep, actor: ActorDep) -> NewTrigger:
    """A trigger; the answer is the only one showing a git or object trigger's secret."""
    return services.triggers.create(actor, config)


@triggers.get("")
def list_triggers(
    services: ServicesDep,
    actor: ActorDep,
    max_results: MaxResults = LIMITS.page_default_results,
    page_token: PageToken = None,
) -> TriggerList:
    """Your triggers (every one, for an admin), a page at a time."""
    page, token = one_page(services.triggers.list(actor), max_results, page_token)
    return TriggerList(triggers=page, next_page_token=token)


@triggers.get("/{name}")
def get_trigger(name: str, services: ServicesDep, actor: ActorDep) -> Trigger:
    return services.triggers.get(actor, name)


@triggers.patch("/{name}")
def update_trigger(
    name: str, change: TriggerUpdate, services: ServicesDep, actor: ActorDep
) -> Trigger:
    """Enable or disable it; change its cooldown, source (same kind), work or description."""
    return services.triggers.update(actor, name, change)


@triggers.delete("/{name}", status_code=204)
def delete_trigger(name: str, services: ServicesDep, actor: ActorDep) -> Response:
    services.triggers.delete(actor, name)
    return Response(status_code=204)


@triggers.post("/{name}/fire", status_code=201)
def fire_trigger(
    name: str, services: ServicesDep, actor: ActorDep, request: FireRequest | None = None
) -> Firing:
    """Fire now; with a ``key``, once per key."""
    return services.triggers.fire(actor, name, request or FireRequest())


@triggers.get("/{name}/firings")
def list_firings(
    name: str,
    services: ServicesDep,
    actor: ActorDep,
    limit: Annotated[int, Query(ge=1, le=LIMITS.log_page_max_results)] = 100,
    before: Annotated[int | None, Query(ge=1, lt=2**63)] = None,
) -> FiringList:
    """Its firings, newest first: each cause, its status, the job it started."""
    found = services.triggers.history(actor, name, limit=limit, before=before)
    return FiringList(firings=found)


@hooks.post("/{name}", response_model=HookResult)
async def receive_hook(name: str, request: Request, services: ServicesDep) -> HookResult | Response:
    """A GitHub or GitLab push (JSON, or GitHub's form), or an S3 event notification, posted
    directly or through SNS (with the trigger's secret in ``X-Dockyard-Trigger-Secret`` or as
    the password of Basic credentials)."""
    from dockyard.errors import PayloadTooLarge

    size = int(request.headers.get("content-length") or 0)
    if size > HOOK_MAX_BYTES:
        raise PayloadTooLarge(f"a hook body is at most {HOOK_MAX_BYTES} bytes", field="body")
    body = await request.body()
    if len(body) > HOOK_MAX_BYTES:
        raise PayloadTooLarge(f"a hook body is at most {HOOK_MAX_BYTES} bytes", field="body")
    headers = {k.lower(): v for k, v in request.headers.items()}
    source = request.client.host if request.client else ""
    try:
        return await run_in_threadpool(services.triggers.receive, name, headers, body, source)
    except Unauthenticated as exc:
        # SNS sends the Basic credentials of its subscription URL only when challenged.
        refused = error_response(exc)
        refused.headers["WWW-Authenticate"] = 'Basic realm="dockyard trigger"'
        return refused


router.include_router(triggers)
router.include_router(hooks)
