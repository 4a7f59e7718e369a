"""The security console in headless Chromium: initialize, log in, lockout, forgot password."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.helpers import (
    ADMIN_PASSWORD,
    ADMIN_USERNAME,
    QUESTIONS,
    create_admin,
    initialize_and_login,
)

pytestmark = pytest.mark.browser


def test_initialize_then_dashboard(page: Any, live_server: Any) -> None:
    page.goto(f"{live_server.url}/accounts")
    page.wait_for_selector("h1#init")
    page.fill("input[name=password]", "abc")
    page.wait_for_selector("#strength-meter[data-strength=weak]")
    page.fill("input[name=password]", "Adm1n!Secure#2")
    page.wait_for_selector("#strength-meter[data-strength=strong]")
    page.fill("input[name=confirm]", "Adm1n!Secure#2")
    for i in range(3):
        page.fill(f"input[name=a{i}]", "same")
    page.click("button[type=submit]")
    assert "security questions need different answers" in page.inner_text("#form-error")
    page.fill("input[name=password]", "Adm1n!Secure#2")
    page.fill("input[name=confirm]", "Adm1n!Secure#2")
    for i in range(3):
        page.fill(f"input[name=a{i}]", f"answer {i}")
    page.click("button[type=submit]")
    page.wait_for_selector("h1#dashboard")
    assert "admin (administrator)" in page.inner_text(".who")


def test_helper_logs_in_and_logout(page: Any, live_server: Any) -> None:
    initialize_and_login(page, live_server)
    assert page.inner_text("[data-label=Persons]") == "0"
    page.click("text=Log out")
    page.wait_for_selector("h1#login")
    page.goto(f"{live_server.url}/accounts")
    page.wait_for_selector("h1#login")


def test_five_wrong_passwords_lock(page: Any, live_server: Any) -> None:
    create_admin(live_server)
    page.goto(f"{live_server.url}/login")
    for attempt in range(5):
        page.fill("input[name=username]", ADMIN_USERNAME)
        page.fill("input[name=password]", f"Wrong!pass{attempt}")
        page.click("button[type=submit]")
        page.wait_for_selector("#form-error")
    message = page.inner_text("#form-error")
    assert "is locked until" in message and "after too many failed logins" in message
    page.fill("input[name=username]", ADMIN_USERNAME)
    page.fill("input[name=password]", ADMIN_PASSWORD)
    page.click("button[type=submit]")
    assert "is locked until" in page.inner_text("#form-error")


def test_forgot_password_flow(page: Any, live_server: Any) -> None:
    create_admin(live_server)
    page.goto(f"{live_server.url}/login")
    page.click("text=Forgot password?")
    page.fill("input[name=username]", ADMIN_USERNAME)
    page.click("button[type=submit]")
    page.wait_for_selector(f"text={QUESTIONS[0][0]}")
    for i, (_, answer) in enumerate(QUESTIONS):
        page.fill(f"input[name=a{i}]", f"  {answer.upper()} ")
    page.fill("input[name=password]", "N3w!Secret")
    page.fill("input[name=confirm]", "N3w!Secret")
    page.click("button[type=submit]")
    page.wait_for_selector("text=Your password has been reset")
    page.fill("input[name=username]", ADMIN_USERNAME)
    page.fill("input[name=password]", "N3w!Secret")
    page.click("button[type=submit]")
    page.wait_for_selector("h1#dashboard")


def test_admin_creates_account_sees_lock_and_unlocks(
    page: Any, browser: Any, live_server: Any
) -> None:
    initialize_and_login(page, live_server)
    page.click("nav >> text=Accounts")
    page.wait_for_selector("h1#accounts")
    page.fill("form[action='/accounts'] input[name=username]", "bob")
    page.fill("form[action='/accounts'] input[name=password]", "B0b!Secure")
    page.fill("form[action='/accounts'] input[name=confirm]", "B0b!Secure")
    page.select_option("form[action='/accounts'] select[name=role]", "operator")
    page.click("form[action='/accounts'] button[type=submit]")
    assert page.inner_text("#form-message") == "Account bob created."
    other = browser.new_context().new_page()
    other.goto(f"{live_server.url}/login")
    for attempt in range(5):
        other.fill("input[name=username]", "bob")
        other.fill("input[name=password]", f"Wrong!{attempt}x")
        other.click("button[type=submit]")
        other.wait_for_selector("#form-error")
    assert "is locked until" in other.inner_text("#form-error")
    page.goto(f"{live_server.url}/locks")
    assert "bob" in page.inner_text("#locked-accounts")
    assert "127.0.0.1" in page.inner_text("#locked-addresses")
    page.click("#locked-accounts button:has-text('Unlock')")
    assert page.inner_text("#form-message") == "bob unlocked."
    page.click("#locked-addresses button:has-text('Unlock')")
    assert page.inner_text("#form-message") == "127.0.0.1 unlocked."
    other.fill("input[name=username]", "bob")
    other.fill("input[name=password]", "B0b!Secure")
    other.click("button[type=submit]")
    other.wait_for_selector("h1#dashboard")
    assert "Accounts" not in other.inner_text("header nav")
    page.goto(f"{live_server.url}/audit?action=login.failure")
    assert page.inner_text("#audit-table").count("login.failure") == 5
    other.context.close()
