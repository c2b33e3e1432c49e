"""The API's browsable documentation (Swagger UI at ``/api/v1/docs``), served offline.

FastAPI's stock page loads Swagger UI's script and stylesheet from a CDN and its favicon from
another site, so on a machine without internet access the page stays blank, and a browser that
opens it tells those sites who reads the docs. Here the assets are files shipped in
``swagger_ui/`` (the ``swagger-ui-dist`` npm package, version in ``swagger_ui/SOURCE``,
Apache-2.0, its LICENSE and NOTICE beside them) and served by this app at
``/api/v1/docs/assets/``, behind the same authentication as every route. Swagger UI's online
validator badge is switched off: it would send the API's description to validator.swagger.io.
No request from the page leaves the server's host.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from starlette.responses import FileResponse, HTMLResponse

from dockyard.errors import NotFound

__all__ = ["ASSETS", "DOCS_URL", "router"]

DOCS_URL: Final = "/api/v1/docs"
_FOLDER = Path(__file__).with_name("swagger_ui")
#: The files the page loads, with their media types: nothing else in the folder is served.
ASSETS: Final = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "favicon-32x32.png": "image/png",
}

router = APIRouter()


@router.get(DOCS_URL, include_in_schema=False)
def docs(request: Request) -> HTMLResponse:
    """Swagger UI over ``/api/v1/openapi.json``, every URL on this server."""
    root = request.scope.get("root_path", "").rstrip("/")
    assets = f"{root}{DOCS_URL}/assets"
    return get_swagger_ui_html(
        openapi_url=f"{root}{request.app.openapi_url}",
        title="Dockyard API",
        swagger_js_url=f"{assets}/swagger-ui-bundle.js",
        swagger_css_url=f"{assets}/swagger-ui.css",
        swagger_favicon_url=f"{assets}/favicon-32x32.png",
        swagger_ui_parameters={"validatorUrl": None},
    )


@router.get(DOCS_URL + "/assets/{name}", include_in_schema=False)
def docs_asset(name: str) -> FileResponse:
    """One of the page's files (they change only with Dockyard's version: cached a day)."""
    media_type = ASSETS.get(name)
    if media_type is None:
        raise NotFound(f"no documentation asset {name[:100]!r}", field="name")
    return FileResponse(
        _FOLDER / name, media_type=media_type, headers={"cache-control": "max-age=86400"}
    )
