"""A live platform server and a headless Chromium page driven by Playwright."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn

from openpss.platform.app import create_app
from openpss.platform.settings import Settings
from tests.support.peers import require_program
from tests.support.polling import eventually
from tests.support.ports import free_port

CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@dataclass
class LiveServer:
    url: str
    settings: Settings
    app: object


@pytest.fixture
def live_server(sqlite_url: str, tmp_path: Path) -> Iterator[LiveServer]:
    """The platform on a free loopback port, on a fresh SQLite database."""
    port = free_port()
    settings = Settings(
        environment="test",
        data_dir=tmp_path / "data",
        database_url=sqlite_url,
        secret_key="browser-test-secret-0123456789",
        background_services=False,
        http_port=port,
    )
    app = create_app(settings)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    eventually(
        lambda: server.started or not thread.is_alive(), what="the platform server", timeout=30
    )
    if not server.started:
        raise RuntimeError("the platform server did not start")
    yield LiveServer(f"http://127.0.0.1:{port}", settings, app)
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="package")
def browser() -> Iterator[object]:
    """Debian's Chromium, headless, launched through Playwright.

    Package scope, not session: Playwright's sync API keeps an event loop running in the main
    thread while it is open, which would break every later test that calls asyncio.run().
    """
    executable = require_program("chromium", "apt-get install chromium chromium-driver")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_FLAGS)
        yield instance
        instance.close()


@pytest.fixture
def page(browser: object) -> Iterator[object]:
    """A fresh browser context and page for one test."""
    context = browser.new_context()  # type: ignore[attr-defined]
    page = context.new_page()
    page.set_default_timeout(15000)
    yield page
    context.close()
