"""Spec text for browsers: ``POST /api/v1/specs/parse``.

Job, transform and endpoint specs are YAML files on the command line; the web UI takes the same
text in an editor but has no YAML parser, so it asks the server to read it (the same parser as
the command line) and submits the JSON answer to the usual routes.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel, StringConstraints
from starlette.concurrency import run_in_threadpool

from dockyard.server._deps import ActorDep
from dockyard.spec_text import parse_spec

router = APIRouter(prefix="/api/v1/specs", tags=["specs"])

# Far beyond any spec, small enough that parsing never holds a worker for long.
MAX_SPEC_CHARS = 256 * 1024


class SpecText(BaseModel):
    text: Annotated[str, StringConstraints(max_length=MAX_SPEC_CHARS)]


class ParsedSpec(BaseModel):
    spec: dict[str, Any]


@router.post("/parse")
async def parse(body: SpecText, actor: ActorDep) -> ParsedSpec:
    """A YAML (or JSON) spec as JSON; errors name the line and column (``details``). YAML
    aliases are refused: expanded into JSON they could make a tiny text an enormous answer."""
    del actor  # signed in: the route holds no data, but it is no public service either
    spec = await run_in_threadpool(parse_spec, body.text, "spec", allow_aliases=False)
    return ParsedSpec(spec=spec)
