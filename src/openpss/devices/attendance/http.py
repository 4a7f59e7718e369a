"""HTTP front-end of the virtual attendance terminal: the Dahua CGI API mapped onto the model.

Answers ``/cgi-bin/*.cgi`` (digest auth, user ``admin``; 5 wrong passwords lock the account
and the source address for 5 minutes, replayed nonce counts are refused, expired nonces get
``stale=TRUE``: see ``protocols.dahua_http.server.DigestGuard``) and a loopback-only control
API for demos and tests:

- ``POST /openpss/control/present``: JSON ``{"card": "..."}``, ``{"user_id": 1, "password":
  "..."}`` or ``{"fingerprint": "<base64>"}``, optional ``"state"`` (CheckIn...); answers
  ``{"accepted": bool, "message": str, "rec_no": int|null, "user_id": int|null}``. Digest auth
  once the device is initialized.
- ``POST /openpss/control/initialize``: JSON ``{"password": "..."}``, only while uninitialized
  (a new device), sets the ``admin`` password of the HTTP API.
- ``POST /openpss/control/usb``: JSON ``{"operation": "import_users" | "export_users" |
  "import_fingerprints" | ... | "export_records" | "export_report", "year": Y, "month": M}``
  runs a USB menu item against the device's USB directory (see ``usb.py``).
- ``accessControl.cgi?action=captureCard|captureFingerprint``: enrolment with the device as the
  collector (see ``collect.py``); meanwhile ``present`` feeds the capture, not the punches.

The model is only touched from the server's event loop, so no locking is needed.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import datetime as dt
import logging
from collections.abc import AsyncIterator, Callable
from functools import partial
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from openpss.attendance.punches import AttendanceState
from openpss.devices.attendance import http_access, usb
from openpss.devices.attendance.collect import Collector, access_control
from openpss.devices.attendance.config import apply_set_config, read_table
from openpss.devices.attendance.model import Terminal, TerminalError
from openpss.devices.attendance.services import DeviceServices
from openpss.devices.attendance.store import SqliteStore
from openpss.devices.common.http import DeviceHttp, identity, loopback_only
from openpss.devices.common.passwords import admin_password_problem
from openpss.protocols.dahua_http.digest import ha1_of
from openpss.protocols.dahua_http.events import EventPart
from openpss.protocols.dahua_http.server import (
    CgiError,
    CgiRequest,
    kv_response,
    ok_response,
)

logger = logging.getLogger(__name__)

HTTP_USER = "admin"
DEVICE_TYPE = "OPSS-ASA100"
DEVICE_CLASS = "ASA"
SOFTWARE_VERSION = "1.000.0000000.1.R"
SOFTWARE_BUILD = "2026-11-01"
HARDWARE_VERSION = "1.00"
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"  # Dahua HTTP API: "Y-M-D H-m-S", not locale dependent
# Years the device clock can be set to: its DST rules and the time zone shift must still give
# a valid date on either side (year 1 or 9999 overflow); 2099 is beyond any record's lifetime.
CLOCK_YEARS = (1970, 2099)


def check_admin_password(password: str) -> str:
    """8-32 non-blank characters of at least two kinds (upper, lower, digit, symbol)."""
    problem = admin_password_problem(password)
    if problem is not None:
        raise TerminalError(problem)
    return password


class AttendanceHttp(DeviceHttp):
    """The device's HTTP server application (Starlette), built on the Dahua CGI framework."""

    event_codes = ("AccessControl", "BellRing", "Duress", "NTPAdjustTime")

    def __init__(
        self, terminal: Terminal, store: SqliteStore | None = None, usb_dir: Path | None = None
    ) -> None:
        self.terminal = terminal
        self.store = store
        self.usb_dir = usb_dir
        terminal.on_event = self._publish
        self.services = DeviceServices(terminal)
        self.access = http_access.AccessHandlers(terminal)
        self.collector = Collector()
        self.reboots = 0
        self._ha1: str | None = store.get_setting("http_admin_ha1") if store else None
        super().__init__(
            terminal.serial,
            admin_ha1=lambda: self._ha1,
            read_config=partial(read_table, terminal),
            apply_config=partial(apply_set_config, terminal),
            cgi={
                "global": self.global_cgi,
                **self.access.handlers(),
                "accessControl": self.access_control,
            },
            control=[
                Route("/openpss/control/present", self.control_present, methods=["POST"]),
                Route("/openpss/control/initialize", self.control_initialize, methods=["POST"]),
                Route("/openpss/control/usb", self.control_usb, methods=["POST"]),
            ],
        )
        self._usb_lock = asyncio.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None

    # --- accounts ------------------------------------------------------------------------

    def set_admin_password(self, password: str) -> None:
        """Set the HTTP ``admin`` password (kept as its digest HA1)."""
        check_admin_password(password)
        self._ha1 = ha1_of(HTTP_USER, self.guard.realm, password)
        if self.store:
            self.store.save_settings("http_admin_ha1", self._ha1)

    def initialize(self, body: dict[str, Any]) -> None:
        """Set the admin password of a new device."""
        self.set_admin_password(str(body.get("password", "")))

    def _publish(self, code: str, data: dict[str, Any]) -> None:
        part = EventPart(code=code, action="Pulse", index=0, data=data)
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # a USB operation in its worker thread: hand over to the loop
            if self._loop is not None:
                self._loop.call_soon_threadsafe(self.hub.publish, part)
            return
        self.hub.publish(part)

    # --- application ---------------------------------------------------------------------

    def app(self, lifespan: Any = None) -> Starlette:
        """The ASGI application (its lifespan runs the device services)."""
        return super().app(lifespan or self._lifespan)

    @contextlib.asynccontextmanager
    async def _lifespan(self, app: Starlette) -> AsyncIterator[None]:
        task = asyncio.create_task(self.services.run())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # --- magicBox / global ---------------------------------------------------------------

    def identity(self) -> dict[str, dict[str, Any]]:
        """magicBox identity."""
        t = self.terminal
        return identity(
            device_type=DEVICE_TYPE,
            device_class=DEVICE_CLASS,
            serial=t.serial,
            machine_name=t.settings.machine_name,
            software_version=f"{SOFTWARE_VERSION},build:{SOFTWARE_BUILD}",
            hardware_version=HARDWARE_VERSION,
        )

    def magic_box_action(self, call: CgiRequest) -> Response:
        """Reboot and self-check."""
        t = self.terminal
        if call.action == "reboot":
            self.reboots += 1
            t.log_admin(0, "reboot")
            logger.info("reboot requested over HTTP (virtual device keeps running)")
            return ok_response()
        if call.action == "selfCheck":
            try:
                return kv_response(self.services.self_check(call.params.get("item", "Auto")))
            except TerminalError as exc:
                raise CgiError(str(exc)) from exc
        raise CgiError("Bad Request!")

    async def global_cgi(self, call: CgiRequest) -> Response:
        """get/setCurrentTime: the device wall time, ``YYYY-MM-DD HH:MM:SS``."""
        if call.action == "getCurrentTime":
            return kv_response({"result": self.terminal.local_now().strftime(TIME_FORMAT)})
        if call.action == "setCurrentTime":
            text = call.require("time")
            try:
                local = dt.datetime.strptime(text, TIME_FORMAT)
            except ValueError as exc:
                raise CgiError(f"time must be YYYY-MM-DD HH:MM:SS, not {text!r}") from exc
            if not CLOCK_YEARS[0] <= local.year <= CLOCK_YEARS[1]:
                raise CgiError(f"time must be in the years {CLOCK_YEARS[0]}-{CLOCK_YEARS[1]}")
            self.terminal.set_local_time(local)
            return ok_response()
        raise CgiError("Bad Request!")

    async def access_control(self, call: CgiRequest) -> Response:
        """Enrolment captures: the next card, or a finger presented three times."""
        return await access_control(self.collector, call)

    # --- control -------------------------------------------------------------------------

    async def control_present(self, request: Request) -> Response:
        """Present a card, fingerprint or ID + password at the standby screen."""
        denied = self.control_denied(request)
        if denied is not None:
            return denied
        try:
            body = await request.json()
            credential, state = parse_presentation(body)
            taken = self.collector.offer(
                card=credential.get("card"), fingerprint=credential.get("fingerprint")
            )
        except (ValueError, TerminalError) as exc:
            return JSONResponse({"detail": str(exc)}, 422)
        if taken is not None:  # enrolment mode: the presentation is captured, not a punch
            return JSONResponse(
                {"accepted": False, "message": taken, "rec_no": None, "user_id": None,
                 "state": None, "captured": True}
            )  # fmt: skip
        result = self.terminal.present(state=state, **credential)
        return JSONResponse(
            {
                "accepted": result.accepted,
                "message": result.message,
                "rec_no": result.punch.rec_no if result.punch else None,
                "user_id": result.user_id,
                "state": result.punch.state.value if result.punch and result.punch.state else None,
            }
        )

    async def control_usb(self, request: Request) -> Response:
        """Run a USB menu item (import/export) against the USB directory."""
        denied = self.control_denied(request)
        if denied is not None:
            return denied
        try:
            body = await request.json()
            if self.usb_dir is None:
                raise TerminalError("no USB drive: start the device with --usb-dir")
            self._loop = asyncio.get_running_loop()
            async with self._usb_lock:  # one USB operation at a time, off the event loop
                result = await asyncio.to_thread(
                    run_usb_operation, self.terminal, self.usb_dir, body
                )
        except (ValueError, TerminalError) as exc:
            return JSONResponse({"detail": str(exc)}, 422)
        return JSONResponse({"operation": body["operation"], "result": result})

    async def control_initialize(self, request: Request) -> Response:
        """Set the admin password of a new (uninitialized) device."""
        if self.initialized and loopback_only(request) is None:
            return JSONResponse({"detail": "the device is already initialized"}, 409)
        return await super().control_initialize(request)


def parse_presentation(body: object) -> tuple[dict[str, Any], AttendanceState | None]:
    """The credential and optional attendance state of a control ``present`` body."""
    if not isinstance(body, dict):
        raise TerminalError("body must be a JSON object")
    state = AttendanceState(body["state"]) if body.get("state") else None
    if body.get("card"):
        return {"card": str(body["card"])}, state
    if body.get("fingerprint"):
        try:
            template = base64.b64decode(str(body["fingerprint"]), validate=True)
        except binascii.Error as exc:
            raise TerminalError("fingerprint must be base64") from exc
        return {"fingerprint": template}, state
    if body.get("user_id") is not None and body.get("password") is not None:
        return {"user_id": int(body["user_id"]), "password": str(body["password"])}, state
    raise TerminalError("give card, fingerprint, or user_id and password")


USB_OPERATIONS: dict[str, Callable[[Terminal, Path], object]] = {
    "import_users": usb.import_users,
    "export_users": usb.export_users,
    "import_fingerprints": usb.import_fingerprints,
    "export_fingerprints": usb.export_fingerprints,
    "import_bells": usb.import_bells,
    "export_bells": usb.export_bells,
    "import_switch_times": usb.import_switch_times,
    "export_switch_times": usb.export_switch_times,
    "import_shifts": usb.import_shifts,
    "export_shifts": usb.export_shifts,
}


def run_usb_operation(terminal: Terminal, usb_dir: Path, body: object) -> object:
    """One USB operation named in a control body; the count imported or the file written."""
    if not isinstance(body, dict) or "operation" not in body:
        raise TerminalError("body must name an operation")
    operation = str(body["operation"])
    if operation in ("export_records", "export_report"):
        year, month = int(body.get("year", 0)), int(body.get("month", 0))
        export = (
            usb.export_month_records if operation == "export_records" else usb.export_month_report
        )
        return export(terminal, usb_dir, year, month).name
    if operation not in USB_OPERATIONS:
        names = ", ".join([*USB_OPERATIONS, "export_records", "export_report"])
        raise TerminalError(f"unknown USB operation {operation!r}; one of {names}")
    result = USB_OPERATIONS[operation](terminal, usb_dir)
    return result.name if isinstance(result, Path) else result
