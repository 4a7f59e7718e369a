"""`openpss serve` and `openpss migrate`."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the platform commands to the top-level app."""
    app.command()(serve)
    app.command()(migrate)


def migrate() -> None:
    """Create or upgrade the database schema (OPENPSS_DATABASE_URL or the SQLite default)."""
    from openpss.platform.db import migrate as run_migrations
    from openpss.platform.settings import get_settings

    settings = get_settings()
    run_migrations(settings.resolved_database_url)
    typer.echo(f"database is at the newest schema: {settings.resolved_database_url}")


def serve(
    host: str | None = typer.Option(None, help="listen address (default OPENPSS_HTTP_HOST)"),
    port: int | None = typer.Option(None, help="listen port (default OPENPSS_HTTP_PORT)"),
) -> None:
    """Migrate the database, then run the web console, REST API and background services."""
    import uvicorn

    from openpss.platform.app import PLATFORM_LIMITS, create_app
    from openpss.platform.db import migrate as run_migrations
    from openpss.platform.settings import get_settings
    from openpss.protocols.http_guard import uvicorn_options

    settings = get_settings()
    run_migrations(settings.resolved_database_url)
    app = create_app(settings)
    uvicorn.run(
        app,
        host=host or settings.http_host,
        port=port or settings.http_port,
        **uvicorn_options(PLATFORM_LIMITS),
    )
