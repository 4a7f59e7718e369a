"""`openpss device camera`: command-line front-end of the virtual camera device."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the `camera` command group to `openpss device`."""
