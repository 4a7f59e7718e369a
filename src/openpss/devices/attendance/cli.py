"""`openpss device attendance`: command-line front-end of the virtual attendance device."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the `attendance` command group to `openpss device`."""
