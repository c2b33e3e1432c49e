"""Fast JSON responses for bodies that are not pydantic models (errors, dicts, adapters)."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import JSONResponse

__all__ = ["JSON"]


class JSON(JSONResponse):
    """orjson-encoded JSON; numpy values are serialised too."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_SERIALIZE_NUMPY)
