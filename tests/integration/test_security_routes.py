"""Every API route and console page checks authentication (walks the app's routes)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient

from openpss.platform.app import create_app
from openpss.platform.settings import Settings

# Routes anyone may call: first start, login, forgot password, the strength meter.
PUBLIC_API = {("GET", "/api/v1/system/status"), ("POST", "/api/v1/system/initialize")}
PUBLIC_PAGES = {
    ("GET", "/init"),
    ("POST", "/init"),
    ("POST", "/password-strength"),
    ("GET", "/login"),
    ("POST", "/login"),
    ("POST", "/login/expired"),
    ("GET", "/forgot-password"),
    ("POST", "/forgot-password"),
    ("POST", "/forgot-password/reset"),
}


@pytest.fixture
def anonymous(sqlite_url: str, tmp_path: Path) -> Iterator[TestClient]:
    """A client without credentials on a fresh app (SQLite is enough: no query runs)."""
    settings = Settings(
        environment="test", data_dir=tmp_path / "data", database_url=sqlite_url,
        secret_key="test-secret-key-0123456789", background_services=False,
    )  # fmt: skip
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client


def routes(client: TestClient) -> list[tuple[str, str, str]]:
    """(method, path template, endpoint) of every FastAPI route of the app."""
    found: list[tuple[str, str, str]] = []
    for ctx in iter_route_contexts(client.app.routes):  # type: ignore[attr-defined]
        if isinstance(ctx.original_route, APIRoute) and ctx.path and ctx.methods:
            endpoint = ctx.endpoint
            name = f"{endpoint.__module__}.{endpoint.__qualname__}" if endpoint else "?"
            found.extend((method, ctx.path, name) for method in sorted(ctx.methods))
    return found


def concrete(path: str) -> str:
    """The path with every parameter replaced by 1."""
    return re.sub(r"\{[^}]+\}", "1", path)


def test_every_api_route_requires_authentication(anonymous: TestClient) -> None:
    # /metrics is for machines too: a bearer token, and 401 without it
    api = [r for r in routes(anonymous) if r[1].startswith("/api/v1/") or r[1] == "/metrics"]
    assert len(api) > 50, "the walk finds the routes of every domain"
    assert {(m, p) for m, p, _ in api} >= PUBLIC_API
    open_routes = []
    for method, path, endpoint in api:
        if (method, path) in PUBLIC_API:
            continue
        response = anonymous.request(method, concrete(path), follow_redirects=False)
        if response.status_code != 401:
            open_routes.append(f"{method} {path} ({endpoint}) -> {response.status_code}")
    assert open_routes == []


def test_every_console_page_requires_login(anonymous: TestClient) -> None:
    pages = [r for r in routes(anonymous) if not r[1].startswith("/api/") and r[1] != "/metrics"]
    assert len(pages) > 30
    open_pages = []
    for method, path, endpoint in pages:
        if (method, path) in PUBLIC_PAGES:
            continue
        response = anonymous.request(method, concrete(path), follow_redirects=False)
        location = response.headers.get("location", "")
        if response.status_code != 303 or not location.startswith("/login?next="):
            open_pages.append(f"{method} {path} ({endpoint}) -> {response.status_code}")
    assert open_pages == []
