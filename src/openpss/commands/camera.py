"""`openpss camera` commands."""

from __future__ import annotations

import typer

app = typer.Typer(help="camera commands", no_args_is_help=True)
