"""Success notices after a save ("flash messages"): one line at the top of the next page.

A redirect carries the notice in a short-lived cookie that the next full page shows and clears;
an HTMX response carries it in `HX-Trigger` as the `openpss-flash` event, which openpss.js
shows in the same place without a reload.
"""

from __future__ import annotations

import json
from urllib.parse import quote, unquote

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

FLASH_EVENT = "openpss-flash"
FLASH_COOKIE = "openpss_flash"
FLASH_SECONDS = 60  # long enough for the redirect, short enough not to greet a later visit
MAX_FLASH = 300  # characters kept: the notice is one line


def hx_trigger(message: str, *events: str) -> dict[str, str]:
    """`HX-Trigger` headers that fire `events` and show `message` as the success notice."""
    triggers: dict[str, str] = dict.fromkeys(events, "")
    triggers[FLASH_EVENT] = message[:MAX_FLASH]
    return {"HX-Trigger": json.dumps(triggers)}


def redirect(url: str, message: str) -> RedirectResponse:
    """A 303 redirect whose target page shows `message` as the success notice."""
    response = RedirectResponse(url, status_code=303)
    response.set_cookie(
        FLASH_COOKIE,
        quote(message[:MAX_FLASH]),
        max_age=FLASH_SECONDS,
        httponly=True,
        samesite="strict",
    )
    return response


def pending(request: Request) -> str:
    """The notice a redirect left for this page, if any."""
    return unquote(request.cookies.get(FLASH_COOKIE, ""))[:MAX_FLASH]


def clear(response: Response) -> None:
    """Forget the notice once a page has shown it."""
    response.delete_cookie(FLASH_COOKIE, httponly=True, samesite="strict")
