"""Console in headless Chromium: the "not allowed" page and account binding by IP."""

from __future__ import annotations

from typing import Any

import pytest

from openpss.platform.security.models import Role
from tests.browser.helpers import create_admin, initialize_and_login, login
from tests.conftest import add_account

pytestmark = pytest.mark.browser

VIEWER_PASSWORD = "Vi3wer!Secure"


def add_viewer(live_server: Any) -> None:
    with live_server.app.state.session_factory() as session:
        add_account(session, "clerk", Role.viewer, VIEWER_PASSWORD)
        session.commit()


def test_viewer_sees_not_allowed_page_with_navigation(page: Any, live_server: Any) -> None:
    create_admin(live_server)  # the console is initialized
    add_viewer(live_server)
    login(page, live_server, "clerk", VIEWER_PASSWORD)
    page.goto(f"{live_server.url}/accounts")
    page.wait_for_selector("#forbidden")
    assert "administrator" in page.inner_text("#forbidden")
    assert "clerk (viewer)" in page.inner_text(".who")
    page.click("header nav >> text=Personnel")
    page.wait_for_url(f"{live_server.url}/people")
    assert page.locator("#forbidden").count() == 0
    # An HTMX request gets the fragment, swapped into <main> although its status is 403.
    page.evaluate("htmx.ajax('GET', '/audit', {target: '#main'})")
    page.wait_for_selector("main#main > #forbidden")
    assert "administrator" in page.inner_text("#forbidden")


def test_binding_set_in_console_refuses_login_from_elsewhere(page: Any, live_server: Any) -> None:
    add_viewer(live_server)
    initialize_and_login(page, live_server)
    page.goto(f"{live_server.url}/accounts")
    field = page.locator("input[aria-label='allowed addresses of clerk']")
    field.fill("10.9.9.0/24")
    page.locator("tr[data-username=clerk] >> text=Bind").click()
    page.wait_for_selector("#form-message")
    assert "clerk may be used from: 10.9.9.0/24" in page.inner_text("#form-message")
    page.click("text=Log out")
    page.wait_for_selector("h1#login")
    page.fill("input[name=username]", "clerk")
    page.fill("input[name=password]", VIEWER_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("#form-error")
    assert "bound to other addresses" in page.inner_text("#form-error")
