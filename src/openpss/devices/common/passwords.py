"""The admin password rule of the Dahua units (VTO manual Appendix 1; the terminal and the
indoor monitor follow it): 8-32 characters, no blanks, at least two kinds of characters."""

from __future__ import annotations

MIN_ADMIN_PASSWORD, MAX_ADMIN_PASSWORD = 8, 32  # manual Appendix 1: "not less than 8"


def admin_password_problem(password: str) -> str | None:
    """What is wrong with ``password`` as the admin password, or None when it is fine."""
    if not MIN_ADMIN_PASSWORD <= len(password) <= MAX_ADMIN_PASSWORD or any(
        c.isspace() for c in password
    ):
        return "the admin password must be 8-32 characters without blanks"
    kinds = [
        any(c.isupper() for c in password),
        any(c.islower() for c in password),
        any(c.isdigit() for c in password),
        any(not c.isalnum() for c in password),
    ]
    if sum(kinds) < 2:
        return (
            "the admin password needs at least two kinds of: upper-case, lower-case, digits, "
            "symbols"
        )
    return None
