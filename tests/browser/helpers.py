"""Helpers shared by every browser test: a logged-in administrator page in one call."""

from __future__ import annotations

from typing import Any

from openpss.platform.security.models import Account, Role, SecurityQuestion
from openpss.platform.security.passwords import hash_password

ADMIN_USERNAME = "admin"
ADMIN_PASSWORD = "Adm1n!Secure"
QUESTIONS = [
    ("What was the name of your first pet?", "rex"),
    ("In which city were you born?", "lyon"),
    ("What was your first school?", "saint-exupery"),
]


def create_admin(live_server: Any) -> None:
    """Create the administrator directly in the database (skips the initialization page)."""
    with live_server.app.state.session_factory() as session:
        account = Account(
            username=ADMIN_USERNAME,
            password_hash=hash_password(ADMIN_PASSWORD),
            role=Role.administrator,
        )
        account.questions = [
            SecurityQuestion(position=i, question=q, answer_hash=hash_password(a))
            for i, (q, a) in enumerate(QUESTIONS)
        ]
        session.add(account)
        session.commit()


def login(page: Any, live_server: Any, username: str, password: str) -> None:
    """Log in through the console form and wait for the dashboard."""
    page.goto(f"{live_server.url}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_selector("h1#dashboard")


def initialize_and_login(page: Any, live_server: Any) -> None:
    """Create the admin (ADMIN_USERNAME / ADMIN_PASSWORD), log in; the page shows the dashboard."""
    create_admin(live_server)
    login(page, live_server, ADMIN_USERNAME, ADMIN_PASSWORD)


def wait_htmx_ready(page: Any, selector: str) -> None:
    """Wait until HTMX has processed `selector` (its triggers are bound) and no request is open.

    A freshly swapped element exists in the DOM a moment before HTMX binds its hx-* triggers;
    acting on it in between (e.g. changing a select) sends nothing.
    """
    page.wait_for_function(
        """(selector) => {
            const el = document.querySelector(selector);
            return el !== null && el['htmx-internal-data'] !== undefined
                && document.querySelector('.htmx-request, .htmx-settling, .htmx-swapping') === null;
        }""",
        arg=selector,
    )
