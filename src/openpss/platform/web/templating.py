"""Jinja2 environment of the console and the render() helper every view uses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import ChoiceLoader, FileSystemLoader

from openpss.platform.web import flash
from openpss.platform.web.htmx import wants_fragment

PLATFORM_DIR = Path(__file__).resolve().parent.parent
STATIC_DIR = Path(__file__).resolve().parent / "static"

# web/templates holds the layout; each domain keeps templates/<domain>/*.html in its package.
_search_path = [
    PLATFORM_DIR / "web" / "templates",
    *sorted(p for p in PLATFORM_DIR.glob("*/templates") if p.parent.name != "web"),
]
templates = Jinja2Templates(directory=str(PLATFORM_DIR / "web" / "templates"))
templates.env.loader = ChoiceLoader([FileSystemLoader([str(p) for p in _search_path])])

NAV = [
    ("Dashboard", "/", "viewer"),
    ("Personnel", "/people", "viewer"),
    ("Permissions", "/permissions", "viewer"),
    ("Devices", "/devices", "viewer"),
    ("Attendance", "/attendance", "viewer"),
    ("Records", "/records", "viewer"),
    ("Intercom", "/intercom", "viewer"),
    ("Cameras", "/vision", "viewer"),
    ("Calls", "/intercom/calls", "operator"),
    ("Integrations", "/integrations", "viewer"),
    ("Accounts", "/accounts", "administrator"),
    ("Audit log", "/audit", "administrator"),
    ("My account", "/account", "viewer"),
]


# Console pages: no framing by other sites (clickjacking), no MIME sniffing, no caching of pages
# that may show secrets (a new API token), no full URLs leaked to other sites.
PAGE_HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """Render `name` as a full page, or only its content block for an HTMX request.

    Templates extend `layout`, which is base.html or fragment.html.
    """
    ctx: dict[str, Any] = {
        "request": request,
        "layout": "fragment.html" if wants_fragment(request) else "base.html",
        "principal": getattr(request.state, "principal", None),
        "nav": NAV,
    }
    ctx.update(context or {})
    full_page = ctx["layout"] == "base.html"
    ctx["flash"] = flash.pending(request) if full_page else ""
    all_headers = {**PAGE_HEADERS, **(headers or {})}
    response = templates.TemplateResponse(
        request, name, ctx, status_code=status_code, headers=all_headers
    )
    if ctx["flash"]:
        flash.clear(response)
    return response
