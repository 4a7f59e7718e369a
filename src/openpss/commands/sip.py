"""`openpss sip server`: the registrar + B2BUA on its own, for tests, benchmarks and small sites."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from openpss.protocols.sip.server import SipServer

app = typer.Typer(help="SIP server (registrar + B2BUA).", no_args_is_help=True)
logger = logging.getLogger(__name__)


def parse_listen(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[v6]:PORT`` too) into a pair; BadParameter says what to fix."""
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise typer.BadParameter(f"{text!r}: expected HOST:PORT, e.g. 127.0.0.1:5080")
    return host.strip("[]"), int(port)


@app.command("server")
def server(
    listen: str = typer.Option("127.0.0.1:5080", help="HOST:PORT to listen on (UDP and TCP)"),
    realm: str = typer.Option("VDP", help="digest realm (door stations use VDP)"),
    accounts: Path = typer.Option(..., help="CSV with columns username,password"),
    ring_seconds: float = typer.Option(60.0, min=1, help="how long a room rings before 480"),
    authenticate_calls: bool = typer.Option(True, help="challenge INVITEs (407) as well"),
    uvloop: bool = typer.Option(False, "--uvloop", help="run on uvloop (faster)"),
) -> None:
    """Run the SIP server until interrupted."""
    from openpss.protocols.sip.accounts import AccountsError, StaticAccounts
    from openpss.protocols.sip.server import SipServer

    host, port = parse_listen(listen)
    try:
        loaded = StaticAccounts.from_csv(accounts)
    except AccountsError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    sip = SipServer(
        realm=realm,
        accounts=loaded,
        ring_seconds=ring_seconds,
        authenticate_calls=authenticate_calls,
    )
    # A finished call or transaction is freed by reference counting (no cycles, tested), so the
    # cyclic GC only ever finds live objects: run it rarely (the default gen-0 threshold of 700
    # had it walk the in-flight transactions every few requests).
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
    runner = _run(sip, host, port)
    if uvloop:
        import uvloop as uv

        uv.run(runner)
    else:
        asyncio.run(runner)


async def _run(sip: SipServer, host: str, port: int) -> None:
    try:
        await sip.start(host, port)
    except OSError as exc:
        typer.echo(f"error: cannot listen on {host}:{port}: {exc.strerror}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"SIP server listening on {sip.host}:{sip.port} (udp+tcp), realm {sip.realm}")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await sip.close()
