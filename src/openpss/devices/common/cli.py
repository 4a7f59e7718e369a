"""Command-line pieces every virtual device shares: options, ``HOST:PORT`` and the control
client (``POST /openpss/control/<action>``, ``GET /openpss/control/<what>``)."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import typing
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

import httpx
import typer

if TYPE_CHECKING:
    from openpss.devices.common.runtime import DeviceRuntime

USERNAME = typer.Option("admin", help="HTTP user of the device.")
PASSWORD = typer.Option(
    None, envvar="OPENPSS_DEVICE_ADMIN_PASSWORD", help="HTTP password of the device."
)


def device_option(example: str, what: str = "device's HTTP API") -> Any:
    """The ``--device URL`` option."""
    return typer.Option(..., help=f"URL of the {what}, e.g. {example}")


def parse_host_port(text: str, option: str, *, lowest: int = 1) -> tuple[str, int]:
    """``HOST:PORT`` -> (host, port); ports below ``lowest`` are refused (0: any free one)."""
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not lowest <= int(port) <= 65535:
        raise typer.BadParameter(f"{option} must be HOST:PORT, not {text!r}")
    return host, int(port)


def control_request(
    method: str,
    device: str,
    path: str,
    user: str,
    password: str | None,
    *,
    body: dict[str, Any] | None = None,
    timeout: float = 10,
    refused_code: int = 1,
) -> Any:
    """One call of the device's control endpoint; its JSON answer, or exit with the reason
    (2 when the device cannot be reached, ``refused_code`` when it refuses)."""
    auth = httpx.DigestAuth(user, password) if password else None
    url = f"{device.rstrip('/')}/openpss/control/{path}"
    try:
        response = httpx.request(method, url, json=body, auth=auth, timeout=timeout)
    except httpx.HTTPError as exc:
        typer.echo(f"cannot reach {device}: {exc}", err=True)
        raise typer.Exit(2) from exc
    if response.status_code != 200:
        detail = response.text.strip()
        with contextlib.suppress(ValueError, AttributeError):
            detail = response.json().get("detail", detail)
        typer.echo(f"device refused ({response.status_code}): {detail}", err=True)
        raise typer.Exit(refused_code)
    return response.json()


def post_action(
    device: str, action: str, body: dict[str, Any], user: str, password: str | None
) -> Any:
    """Run a control action and print its ``result`` as JSON."""
    answer = control_request("POST", device, action, user, password, body=body)
    typer.echo(json.dumps(answer["result"]))
    return answer["result"]


BodyBuilder = Callable[..., dict[str, Any]]


def control_commands(
    app: typer.Typer, device: Any
) -> Callable[..., Callable[[BodyBuilder], BodyBuilder]]:
    """A decorator that makes a command of ``app`` from a function returning a control body.

    The command takes the function's own arguments plus ``--device`` (``device``),
    ``--username`` and ``--http-password``, posts the body to the control action of the same
    name and prints the result; with ``success`` it exits 1 when ``result[success]`` is false.
    """

    def command(
        name: str | None = None, *, success: str | None = None
    ) -> Callable[[BodyBuilder], BodyBuilder]:
        def register(build: BodyBuilder) -> BodyBuilder:
            action = name or build.__name__

            def run(device: str, username: str, http_password: str | None, **args: Any) -> None:
                result = post_action(device, action, build(**args), username, http_password)
                if success is not None:
                    raise typer.Exit(0 if result[success] else 1)

            hints = typing.get_type_hints(build)
            own = [
                p.replace(annotation=hints[p.name])
                for p in inspect.signature(build).parameters.values()
            ]
            keyword = inspect.Parameter.KEYWORD_ONLY
            common = [
                inspect.Parameter("device", keyword, default=device, annotation=str),
                inspect.Parameter("username", keyword, default=USERNAME, annotation=str),
                inspect.Parameter(
                    "http_password", keyword, default=PASSWORD, annotation=str | None
                ),
            ]
            run.__signature__ = inspect.Signature([*own, *common])  # type: ignore[attr-defined]
            run.__doc__ = build.__doc__
            app.command(action)(run)
            return build

        return register

    return command


Summary = Callable[[dict[str, Any]], str]


def status_command(app: typer.Typer, device: Any) -> Callable[[Summary], Summary]:
    """A decorator that makes ``status [--json]`` of ``app`` from a function that sums the
    unit's state (``GET /openpss/control/status``) up in one line."""

    def register(summary: Summary) -> Summary:
        def status(
            as_json: bool = typer.Option(False, "--json", help="Print JSON."),
            device: str = device,
            username: str = USERNAME,
            http_password: str | None = PASSWORD,
        ) -> None:
            state = control_request("GET", device, "status", username, http_password)
            typer.echo(json.dumps(state) if as_json else summary(state))

        status.__doc__ = summary.__doc__
        app.command("status")(status)
        return summary

    return register


async def serve_unit(runtime: DeviceRuntime, unit: str) -> None:
    """Serve ``runtime`` until interrupted; a port it cannot bind ends it with a clear error
    and exit status 1, not a traceback."""
    try:
        await runtime.run()
    except OSError as exc:  # a port in use, an address not on this host
        typer.echo(f"the {unit} cannot listen: {exc.strerror or exc}", err=True)
        raise typer.Exit(1) from exc


async def serve_beside(servers: Coroutine[Any, Any, None], screen: Any) -> None:
    """Run a unit's servers while its Textual app (``run_async``) is open; stop them after."""
    task = asyncio.create_task(servers)
    await screen.run_async()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
