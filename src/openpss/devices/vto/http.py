"""HTTP front-end of the door station: the Dahua CGI API and the local control endpoint.

CGI (digest auth, user ``admin``, realm ``Login to <serial>``; lockout, nonce replay and
stale handling from ``protocols.dahua_http.server.DigestGuard``): ``magicBox``, ``global``,
``configManager`` (``config.TABLES``), ``eventManager`` (attach/getCaps), ``accessControl``
(``openDoor&channel=1&UserID=101&Type=Remote`` -> ``OK``, ``getDoorStatus``),
``snapshot.cgi?channel=1`` (JPEG) and the user/card/fingerprint/record endpoints of
``http_access``.

Control (loopback only; digest auth once initialized), standing for the hardware; JSON in
and out, a refused action answers 422 ``{"detail": "..."}``:
``POST /openpss/control/{press,dial,keypad,swipe,finger,tamper,door,exit-button,door-mode,
peer,rooms,facade,initialize}`` and ``GET /openpss/control/status``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import re
from functools import partial
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from openpss.devices.common.http import NOT_INITIALIZED, ControlAction, DeviceHttp, identity
from openpss.devices.vto.config import apply_set_config, read_table
from openpss.devices.vto.dhip import HARDWARE_VERSION, SOFTWARE_BUILD, SOFTWARE_VERSION
from openpss.devices.vto.entities import DoorMode, Room, UnlockResult, VtoEntry, VtoError
from openpss.devices.vto.http_access import AccessHandlers
from openpss.devices.vto.model import DoorStation
from openpss.devices.vto.scene import snapshot_jpeg
from openpss.protocols.dahua_http.server import (
    CgiError,
    CgiRequest,
    kv_response,
    ok_response,
)

logger = logging.getLogger(__name__)

EVENT_CODES = (
    "AccessControl",
    "AlarmLocal",
    "BackKeyLight",
    "BreakIn",
    "CallNoAnswered",
    "ChassisIntruded",
    "DoorNotClosed",
    "DoorStatus",
    "Duress",
    "IgnoreInvite",
    "Invite",
    "PassiveHungup",
    "SIPRegisterResult",
    "VideoTalkLog",
)
SNAPSHOT_SIZE = (1280, 720)
KEY_TOKENS = re.compile(r"\{call\}|\{centre\}|.")


class VtoHttp(DeviceHttp):
    """The door station's HTTP application (Starlette)."""

    event_codes = EVENT_CODES
    not_ready_message = f"{NOT_INITIALIZED} (Device Init)"

    def __init__(self, station: DoorStation) -> None:
        self.station = station
        self.access = AccessHandlers(station)
        super().__init__(
            station.serial,
            admin_ha1=lambda: station.admin_ha1,
            read_config=partial(read_table, station),
            apply_config=partial(apply_set_config, station),
            cgi={
                "global": self.global_cgi,
                "accessControl": self.access_control,
                "snapshot": self.snapshot,
                **self.access.handlers(),
            },
            control=[
                Route("/openpss/control/status", self.control_status, methods=["GET"]),
                Route("/openpss/control/rooms", self.control_rooms, methods=["GET"]),
                Route("/openpss/control/initialize", self.control_initialize, methods=["POST"]),
                Route("/openpss/control/{action}", self.control, methods=["POST"]),
            ],
            status=station.status,
        )

    def identity(self) -> dict[str, dict[str, Any]]:
        """magicBox identity (the device type is the facade's model)."""
        s = self.station
        return identity(
            device_type=s.facade.model,
            device_class="VTO",
            serial=s.serial,
            machine_name=f"VTO{s.settings.vto_number}",
            software_version=f"{SOFTWARE_VERSION},build:{SOFTWARE_BUILD}",
            hardware_version=HARDWARE_VERSION,
        )

    def result_json(self, result: Any) -> Any:
        """Unlock results as JSON objects."""
        return _jsonable(result)

    def initialize(self, body: dict[str, Any]) -> None:
        """Device Init: ``{"password": ..., "email": ...}`` while uninitialized."""
        self.station.initialize(str(body.get("password", "")), str(body.get("email", "")))

    # --- CGI -----------------------------------------------------------------------------

    def magic_box_action(self, call: CgiRequest) -> Response:
        """reboot (the virtual unit keeps running)."""
        if call.action == "reboot":
            logger.info("reboot requested over HTTP (virtual device keeps running)")
            return ok_response()
        raise CgiError("Bad Request!")

    async def global_cgi(self, call: CgiRequest) -> Response:
        """getCurrentTime (UTC wall time)."""
        if call.action == "getCurrentTime":
            return kv_response({"result": self.station.clock().strftime("%Y-%m-%d %H:%M:%S")})
        raise CgiError("Bad Request!")

    async def access_control(self, call: CgiRequest) -> Response:
        """openDoor (remote unlock) and getDoorStatus."""
        channel = call.params.get("channel", "1")
        if channel != "1":
            raise CgiError(f"channel {channel} does not exist; this unit has door 1")
        if call.action == "openDoor":
            result = self.station.remote_unlock(call.params.get("UserID", ""))
            if not result.opened:
                raise CgiError(result.message)
            return ok_response()
        if call.action == "getDoorStatus":
            return kv_response({"Info.status": "Open" if self.station.door_open else "Close"})
        raise CgiError("Bad Request!")

    async def snapshot(self, call: CgiRequest) -> Response:
        """A JPEG of the camera module's picture."""
        if call.params.get("channel", "1") != "1":
            raise CgiError("channel must be 1")
        s = self.station
        label, at = f"VTO {s.settings.vto_number}", s.clock()
        # rendered off the event loop: a burst of snapshots must not delay events
        jpeg = await asyncio.to_thread(snapshot_jpeg, *SNAPSHOT_SIZE, label, at)
        return Response(jpeg, media_type="image/jpeg")

    # --- control -------------------------------------------------------------------------

    async def control_status(self, request: Request) -> Response:
        """The unit's state (``status --json``)."""
        denied = self.control_denied(request)
        return denied or JSONResponse(self.station.status())

    async def control_rooms(self, request: Request) -> Response:
        """Room and VTO lists with who is registered."""
        denied = self.control_denied(request)
        return denied or JSONResponse(self.station.room_list())

    def actions(self) -> dict[str, ControlAction]:
        """Control action name -> handler."""
        s = self.station
        return {
            "press": lambda b: s.press_button(int(b["button"])),
            "dial": lambda b: s.call(str(b["number"]), emergency=bool(b.get("emergency"))),
            "keypad": lambda b: [s.press_key(k.strip("{}")) for k in _keys(str(b["keys"]))],
            "swipe": lambda b: s.swipe(str(b["card"])),
            "finger": lambda b: s.present_finger(_b64(str(b["fingerprint"]))),
            "tamper": lambda b: s.set_tamper(detached=bool(b.get("detached", True))),
            "door": lambda b: s.set_door(open_=bool(b["open"])),
            "exit-button": lambda b: s.press_exit_button(),
            "door-mode": lambda b: s.set_door_mode(DoorMode(str(b["mode"]))),
            "peer": self._peer,
            "rooms": self._rooms,
            "vtos": self._vtos,
            "facade": lambda b: s.set_facade(b["modules"], b.get("model")),
            "hangup": lambda b: s.hang_up(),
        }

    def _peer(self, body: dict[str, Any]) -> Any:
        """Stand-in for the far end when no SIP peer is attached: answer, reject, hangup."""
        s = self.station
        what = str(body.get("event"))
        handlers = {"answer": s.call_answered, "reject": s.call_rejected, "hangup": s.remote_hangup}
        if what not in handlers:
            raise VtoError("peer event must be answer, reject or hangup")
        if what == "answer":
            return s.call_answered(str(body.get("peer", "")))
        return handlers[what]()

    def _vtos(self, body: dict[str, Any]) -> Any:
        """VTO No. Management: ``{"add": [{"rec_no": "8002", ...}], "remove": ["8002"]}``."""
        s = self.station
        for rec_no in body.get("remove", []):
            s.remove_vto(str(rec_no))
        added = [s.put_vto(_vto_entry(entry)).rec_no for entry in body.get("add", [])]
        return {"added": added, "vtos": sorted(s.directory.vtos)}

    def _rooms(self, body: dict[str, Any]) -> Any:
        s = self.station
        if body.get("clear"):
            return s.clear_rooms()
        if "batch" in body:
            return [r.number for r in s.batch_add_rooms(**body["batch"])]
        return [s.add_room(Room(**entry)).number for entry in body.get("add", [])]


def _vto_entry(data: dict[str, Any]) -> VtoEntry:
    known = {"rec_no", "register_password", "ip_address", "username", "password"}
    unknown = set(data) - known
    if unknown:
        raise VtoError(f"unknown VTO field(s) {', '.join(sorted(unknown))}; {', '.join(known)}")
    return VtoEntry(**data)


def _keys(text: str) -> list[str]:
    """``101{call}`` -> ["1", "0", "1", "{call}"]."""
    return KEY_TOKENS.findall(text)


def _b64(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error as exc:
        raise VtoError("fingerprint must be base64") from exc


def _jsonable(value: Any) -> Any:
    if isinstance(value, UnlockResult):
        return {
            "opened": value.opened,
            "message": value.message,
            "rec_no": value.rec_no,
            "duress": value.duress,
        }
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value
