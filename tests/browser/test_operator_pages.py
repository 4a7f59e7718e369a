"""Operator experience in headless Chromium: the API docs work offline, every page fits 1366 px."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest

pytestmark = pytest.mark.browser


def test_api_docs_load_swagger_ui_from_the_platform_without_internet(
    page: Any, live_server: Any
) -> None:
    """Issue 8.11: /api/docs was blank offline because Swagger UI came from a CDN."""
    platform = urlsplit(live_server.url).netloc
    requested: list[str] = []

    def only_the_platform(route: Any) -> None:
        requested.append(route.request.url)
        if urlsplit(route.request.url).netloc == platform:
            route.continue_()
        else:
            route.abort("internetdisconnected")

    page.route("**/*", only_the_platform)
    page.goto(f"{live_server.url}/api/docs")
    page.wait_for_selector(".swagger-ui .info .title")
    assert "openpss" in page.inner_text(".swagger-ui .info .title")
    page.wait_for_selector(".opblock-tag")  # the operations were rendered from the schema
    assert any(url.endswith("/static/vendor/swagger-ui/swagger-ui-bundle.js") for url in requested)
    assert any(url.endswith("/static/vendor/swagger-ui/swagger-ui.css") for url in requested)
    assert [url for url in requested if urlsplit(url).netloc != platform] == []
