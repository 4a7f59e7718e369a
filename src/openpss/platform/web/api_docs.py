"""The interactive API documentation at /api/docs, served with the platform's own Swagger UI.

FastAPI's default page loads Swagger UI from a CDN, which leaves it blank on a network without
internet. `make assets` copies `swagger-ui-dist` from the npm registry into
static/vendor/swagger-ui (like htmx and Pico), and this page points at those copies.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse

router = APIRouter()

DOCS_URL = "/api/docs"
OPENAPI_URL = "/api/openapi.json"
# Copied by the Makefile's assets step from node_modules/swagger-ui-dist.
SWAGGER_STATIC = "/static/vendor/swagger-ui"


@router.get(DOCS_URL, include_in_schema=False)
def swagger_ui() -> HTMLResponse:
    """Swagger UI for the OpenAPI schema, with every asset from this platform."""
    return get_swagger_ui_html(
        openapi_url=OPENAPI_URL,
        title="openpss API",
        swagger_js_url=f"{SWAGGER_STATIC}/swagger-ui-bundle.js",
        swagger_css_url=f"{SWAGGER_STATIC}/swagger-ui.css",
        swagger_favicon_url=f"{SWAGGER_STATIC}/favicon-32x32.png",
    )
