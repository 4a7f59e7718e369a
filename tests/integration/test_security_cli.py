"""`openpss account ...` against a SQLite database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from sqlalchemy import select
from typer.testing import CliRunner

from openpss.commands import account
from openpss.platform.db import make_engine, make_session_factory
from openpss.platform.security.models import Account, AuditEntry, Role
from openpss.platform.security.tokens import find_api_token
from openpss.platform.settings import get_settings

PASSWORD = "Cl1!Secure"


@pytest.fixture
def cli(sqlite_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[typer.Typer]:
    monkeypatch.setenv("OPENPSS_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("OPENPSS_ENVIRONMENT", "test")
    monkeypatch.setenv("OPENPSS_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    app = typer.Typer()
    app.command()(lambda: None)  # a second command keeps `account` as a sub-command
    account.register(app)
    yield app
    get_settings.cache_clear()


def run(app: typer.Typer, *args: str, stdin: str = "") -> tuple[int, str]:
    result = CliRunner().invoke(app, ["account", *args], input=stdin)
    return result.exit_code, result.output


def test_create_admin_token_unlock_reset(cli: typer.Typer, sqlite_url: str) -> None:
    code, out = run(cli, "create-admin", "--username", "root", stdin=f"{PASSWORD}\n{PASSWORD}\n")
    assert code == 0 and "administrator root created" in out
    assert PASSWORD not in out.replace("*", "")
    code, out = run(cli, "create-admin", "--username", "root2", "--password", "qwertyuiop")
    assert code == 1 and "at least two of" in out
    code, out = run(cli, "token", "root", "--name", "backup", "--days", "7")
    secret = out.strip().splitlines()[-1]
    assert code == 0 and secret.startswith("opss_")
    factory = make_session_factory(make_engine(sqlite_url))
    with factory() as s:
        row = find_api_token(session=s, token=secret)
        assert row is not None and row.name == "backup" and row.account.role == Role.administrator
        admin = s.scalar(select(Account).where(Account.username == "root"))
        assert admin is not None
        admin.failed_logins = 5
        s.commit()
    assert run(cli, "token", "nobody")[0] == 1
    assert run(cli, "unlock")[0] == 1
    code, out = run(cli, "unlock", "root")
    assert code == 0 and "root unlocked" in out
    code, out = run(cli, "unlock", "--ip", "10.0.0.9")
    assert code == 1 and "no failed logins recorded" in out
    code, out = run(cli, "reset-password", "root", stdin="N3w!Secret\nN3w!Secret\n")
    assert code == 0
    code, out = run(cli, "list")
    assert "root\tadministrator\tenabled" in out
    with factory() as s:
        actions = [e.action for e in s.scalars(select(AuditEntry).where(AuditEntry.actor == "cli"))]
        admin = s.scalar(select(Account).where(Account.username == "root"))
        assert admin is not None and admin.failed_logins == 0
    assert actions == ["account.create", "token.create", "account.unlock", "account.reset_password"]


def test_bind_and_unbind(cli: typer.Typer, sqlite_url: str) -> None:
    assert run(cli, "create-admin", "--username", "root", "--password", PASSWORD)[0] == 0
    code, out = run(cli, "bind", "root", "--allow", "10.0.0.7/24", "--allow", "::1")
    assert code == 0 and "root may be used from: 10.0.0.0/24, ::1/128" in out
    code, out = run(cli, "bind", "root", "--allow", "10.0.0.999")
    assert code == 1 and "'10.0.0.999' is not an IP address" in out
    code, out = run(cli, "bind", "nobody")
    assert code == 1 and "no account named 'nobody'" in out
    code, out = run(cli, "bind", "root")
    assert code == 0 and "root may be used from: any address" in out
    engine = make_engine(sqlite_url)
    with make_session_factory(engine)() as s:
        actions = [e.action for e in s.scalars(select(AuditEntry))]
        root = s.scalar(select(Account).where(Account.username == "root"))
    engine.dispose()
    assert actions.count("account.bind") == 2 and root is not None and root.bound_networks == ""
