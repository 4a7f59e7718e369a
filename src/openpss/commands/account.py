"""`openpss account ...`: administrator bootstrap, API tokens, unlock, password reset, binding."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from sqlalchemy.orm import Session

app = typer.Typer(help="Platform accounts: create an administrator, issue tokens, unlock.")

CLI_ACTOR_NAME = "cli"


def register(parent: typer.Typer) -> None:
    """Add the `account` command group to the top-level app."""
    parent.add_typer(app, name="account")


@contextmanager
def _session() -> Iterator[Session]:
    """A committed-on-success session on the configured (migrated) database."""
    from openpss.platform.db import make_engine, make_session_factory, migrate, session_scope
    from openpss.platform.settings import get_settings

    url = get_settings().resolved_database_url
    migrate(url)
    engine = make_engine(url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            yield session
    finally:
        engine.dispose()


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(1)


@app.command("create-admin")
def create_admin(
    username: str = typer.Option("admin", help="user name of the new administrator"),
    password: str = typer.Option(
        ..., prompt=True, hide_input=True, confirmation_prompt=True, help="its password"
    ),
) -> None:
    """Create an administrator account (security questions can be set later in the console)."""
    from openpss.platform.errors import DomainError
    from openpss.platform.security import service
    from openpss.platform.security.audit import Actor
    from openpss.platform.security.models import Role

    try:
        with _session() as session:
            service.create_account(
                session=session, username=username, password=password,
                role=Role.administrator, remark="created by the command line",
                actor=Actor(CLI_ACTOR_NAME),
            )  # fmt: skip
    except DomainError as exc:
        raise _fail(str(exc)) from exc
    typer.echo(f"administrator {username} created")


@app.command()
def token(
    username: str = typer.Argument(..., help="account the token acts as"),
    name: str = typer.Option("cli", help="label shown in the token list"),
    days: int | None = typer.Option(None, help="lifetime in days (default: no expiry)"),
) -> None:
    """Issue an API bearer token and print it (it is shown only once)."""
    from openpss.platform.errors import DomainError
    from openpss.platform.security import auth, service
    from openpss.platform.security.audit import Actor

    try:
        with _session() as session:
            account = auth.find_account(session=session, username=username)
            if account is None:
                raise _fail(f"no account named {username!r}")
            secret, _ = service.issue_token(
                session=session, account_id=account.id, name=name, days=days,
                actor=Actor(CLI_ACTOR_NAME),
            )  # fmt: skip
    except DomainError as exc:
        raise _fail(str(exc)) from exc
    typer.echo(secret)


@app.command()
def unlock(
    username: str | None = typer.Argument(None, help="account to unlock"),
    ip: str | None = typer.Option(None, "--ip", help="source address to unlock instead"),
) -> None:
    """Unlock an account or a source address locked after failed logins."""
    from openpss.platform.errors import DomainError
    from openpss.platform.security import auth
    from openpss.platform.security.audit import Actor

    if (username is None) == (ip is None):
        raise _fail("give either a user name or --ip ADDRESS")
    try:
        with _session() as session:
            if username is not None:
                auth.unlock_account(session=session, username=username, actor=Actor(CLI_ACTOR_NAME))
            else:
                auth.unlock_address(session=session, source_ip=str(ip), actor=Actor(CLI_ACTOR_NAME))
    except DomainError as exc:
        raise _fail(str(exc)) from exc
    typer.echo(f"{username or ip} unlocked")


@app.command()
def bind(
    username: str = typer.Argument(..., help="account to bind"),
    allow: list[str] = typer.Option(
        [], "--allow", help="IP address or CIDR network it may be used from (repeatable)"
    ),
) -> None:
    """Bind an account to source addresses; without --allow the binding is removed."""
    from openpss.platform.errors import DomainError
    from openpss.platform.security import auth, service
    from openpss.platform.security.audit import Actor

    try:
        with _session() as session:
            account = auth.find_account(session=session, username=username)
            if account is None:
                raise _fail(f"no account named {username!r}")
            service.bind_account(session=session, account_id=account.id, networks=allow,
                                 actor=Actor(CLI_ACTOR_NAME))  # fmt: skip
            allowed = ", ".join(account.allowed_networks) or "any address"
    except DomainError as exc:
        raise _fail(str(exc)) from exc
    typer.echo(f"{username} may be used from: {allowed}")


@app.command("reset-password")
def reset_password(
    username: str = typer.Argument(..., help="account whose password is set"),
    password: str = typer.Option(
        ..., prompt=True, hide_input=True, confirmation_prompt=True, help="the new password"
    ),
) -> None:
    """Set a new password for an account (also clears its lock)."""
    from openpss.platform.errors import DomainError
    from openpss.platform.security import auth, service
    from openpss.platform.security.audit import Actor

    try:
        with _session() as session:
            account = auth.find_account(session=session, username=username)
            if account is None:
                raise _fail(f"no account named {username!r}")
            service.reset_password(
                session=session, account_id=account.id, password=password, confirm=password,
                actor=Actor(CLI_ACTOR_NAME),
            )  # fmt: skip
    except DomainError as exc:
        raise _fail(str(exc)) from exc
    typer.echo(f"password of {username} changed")


@app.command("list")
def list_accounts() -> None:
    """Print the accounts with role, state and lock."""
    from openpss.platform.security import service

    with _session() as session:
        for account in service.list_accounts(session=session):
            state = "enabled" if account.enabled else "disabled"
            locked = (
                f" locked until {account.locked_until:%Y-%m-%d %H:%M} UTC"
                if account.locked_until
                else ""
            )
            typer.echo(f"{account.username}\t{account.role.value}\t{state}{locked}")
