"""Tiny HTMX helpers: one view serves the full page or the fragment."""

from __future__ import annotations

from fastapi import Request


def is_htmx(request: Request) -> bool:
    """True for a request made by HTMX (it sends HX-Request: true)."""
    return request.headers.get("hx-request") == "true"


def is_boosted(request: Request) -> bool:
    """True for an hx-boost navigation, which wants the whole page."""
    return request.headers.get("hx-boosted") == "true"


def wants_fragment(request: Request) -> bool:
    """True when the response should be the content block only, without the layout."""
    return is_htmx(request) and not is_boosted(request)
