"""Console error pages (HTML instead of the API's JSON)."""

from __future__ import annotations

import re

from fastapi import Request
from fastapi.responses import HTMLResponse

from openpss.platform.web.templating import render

# require_role's message: "this needs the <role> role; you are <role>".
_NEEDED = re.compile(r"needs the (\w+) role")


def forbidden_page(request: Request, reason: str) -> HTMLResponse:
    """403 page with the navigation, saying which role is needed; the fragment for HTMX."""
    match = _NEEDED.search(reason)
    ctx = {"reason": reason, "needed": match.group(1) if match else ""}
    # HTMX does not swap 4xx answers by default; openpss.js swaps this one into <main>.
    headers = {"HX-Retarget": "#main", "HX-Reswap": "innerHTML", "X-Openpss-Page": "forbidden"}
    return render(request, "web/forbidden.html", ctx, status_code=403, headers=headers)
