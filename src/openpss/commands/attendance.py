"""`openpss attendance` commands."""

from __future__ import annotations

import typer

app = typer.Typer(help="attendance commands", no_args_is_help=True)
