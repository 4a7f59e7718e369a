"""HTTP front-end of the indoor monitor: the Dahua CGI subset and the local control endpoint.

CGI (digest auth, user ``admin``, realm ``Login to <serial>``, lockout and nonce checks from
``protocols.dahua_http.server.DigestGuard``):

- ``magicBox.cgi``: getDeviceType (``VTH5421H``), getDeviceClass (``VTH``), getSerialNo,
  getMachineName, getSoftwareVersion, getHardwareVersion, getVendor, getSystemInfo;
- ``configManager.cgi``: getConfig ``SIP`` (UserID = room number, SIPServer, SIPServerPort,
  SIPDomain, Registered) and ``VideoTalkPhoneGeneral`` (RingTime, AutoAnswer, DoNotDisturb);
  setConfig ``SIP.UserID=101%230&SIP.SIPServer=...`` and the VideoTalkPhoneGeneral keys;
- ``eventManager.cgi``: attach (multipart stream) and getCaps;
- ``messageManager.cgi`` (how the platform delivers, GET or POST):
  ``action=addUnlockPassword&Room=101&Password=888888`` (platform manual 2.3),
  ``action=releaseInformation&Subject=...&Content=...[&StartTime=2026-01-05 08:00:00]``
  (platform manual 2.5; shown from the start time on, UTC unless a zone is given),
  ``action=getMessages``;
- ``recordFinder.cgi?action=find&name=VideoTalkLog|UnlockLog|Message``;
- ``snapshot.cgi``: the last decoded picture of the call or monitor (JPEG).

Control (loopback only, digest auth): ``POST /openpss/control/{answer,reject,hangup,unlock,
monitor,call,dnd,auto-answer,mute,room,door,snapshot}``, ``GET /openpss/control/status``,
``/records`` and ``/messages``. A refused action answers 422 ``{"detail": "..."}``.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from openpss.devices.common.http import ControlAction, DeviceHttp, identity
from openpss.devices.vth.entities import DEVICE_TYPE, VthError, parse_start_time
from openpss.devices.vth.model import IndoorMonitor
from openpss.devices.vth.settings import Door
from openpss.protocols.dahua_http.codec import flatten_config
from openpss.protocols.dahua_http.server import (
    CgiError,
    CgiRequest,
    kv_response,
    ok_response,
)

logger = logging.getLogger(__name__)

SOFTWARE_VERSION = "4.500.0000000.0.R,build:2026-01-05"
EVENT_CODES = ("Invite", "CallNoAnswered", "SIPRegisterResult", "InformationRelease")
RECORD_NAMES = {"VideoTalkLog": "call", "UnlockLog": "unlock", "Message": "message"}

Snapshot = Callable[[], Any]  # the last decoded av.VideoFrame, or None


def _bool(value: object) -> bool:
    text = str(value).strip().lower()
    if text not in ("true", "false"):
        raise VthError(f"expected true or false, not {value!r}")
    return text == "true"


def _int(value: object) -> int:
    try:
        return int(str(value))
    except ValueError:
        raise VthError(f"expected an integer, not {value!r}") from None


def read_table(unit: IndoorMonitor, name: str) -> dict[str, Any]:
    """One config table (``SIP`` or ``VideoTalkPhoneGeneral``)."""
    s = unit.settings
    if name == "SIP":
        return {
            "UserID": s.room,
            "SIPServer": s.sip_host,
            "SIPServerPort": s.sip_port,
            "SIPDomain": s.realm,
            "Registered": unit.registered,
        }
    if name == "VideoTalkPhoneGeneral":
        return {"RingTime": s.ring_time_s, "AutoAnswer": s.auto_answer, "DoNotDisturb": s.dnd}
    raise VthError(f"unknown config {name!r}; one of SIP, VideoTalkPhoneGeneral")


def apply_set_config(unit: IndoorMonitor, params: dict[str, str]) -> None:
    """setConfig: every key checked first, then applied together (nothing half-done)."""
    fields = {
        "SIP.UserID": "room",
        "SIP.SIPServer": "sip_host",
        "SIP.SIPServerPort": "sip_port",
        "SIP.SIPDomain": "realm",
        "SIP.SIPServerPassword": "sip_password",
        "VideoTalkPhoneGeneral.RingTime": "ring_time_s",
        "VideoTalkPhoneGeneral.AutoAnswer": "auto_answer",
        "VideoTalkPhoneGeneral.DoNotDisturb": "dnd",
    }
    convert: dict[str, Callable[[object], Any]] = {
        "sip_port": _int,
        "ring_time_s": _int,
        "auto_answer": _bool,
        "dnd": _bool,
    }
    changes: dict[str, Any] = {}
    for key, value in params.items():
        name = fields.get(key.removeprefix("table."))
        if name is None:
            raise VthError(f"unknown config key {key!r}; one of {', '.join(fields)}")
        changes[name] = convert.get(name, str)(value)

    def change(settings: Any) -> None:
        for name, value in changes.items():
            setattr(settings, name, value)

    unit.update_settings(change)


class VthHttp(DeviceHttp):
    """The indoor monitor's HTTP application (Starlette)."""

    event_codes = EVENT_CODES
    control_needs_password = True

    def __init__(self, unit: IndoorMonitor, snapshot: Snapshot = lambda: None) -> None:
        self.unit = unit
        self.snapshot_frame = snapshot
        super().__init__(
            unit.serial,
            admin_ha1=lambda: unit.admin_ha1,
            read_config=partial(read_table, unit),
            apply_config=partial(apply_set_config, unit),
            cgi={
                "messageManager": self.message_manager,
                "recordFinder": self.record_finder,
                "snapshot": self.snapshot,
            },
            control=[
                Route("/openpss/control/status", self.control_get, methods=["GET"]),
                Route("/openpss/control/records", self.control_get, methods=["GET"]),
                Route("/openpss/control/messages", self.control_get, methods=["GET"]),
                Route("/openpss/control/{action}", self.control, methods=["POST"]),
            ],
            status=unit.status,
        )

    def identity(self) -> dict[str, dict[str, Any]]:
        """magicBox identity."""
        u = self.unit
        return identity(
            device_type=DEVICE_TYPE,
            device_class="VTH",
            serial=u.serial,
            machine_name=f"VTH{u.settings.room}",
            software_version=SOFTWARE_VERSION,
        )

    # --- CGI -----------------------------------------------------------------------------

    async def message_manager(self, call: CgiRequest) -> Response:
        """Unlock passwords and information releases from the platform."""
        params, source = call.params, f"HTTP {getattr(call.request.state, 'username', '')}"
        try:
            if call.action == "addUnlockPassword":
                room = params.get("Room", "")
                self.unit.receive_unlock_password(room, call.require("Password"), source)
                return ok_response()
            if call.action == "releaseInformation":
                subject, content = params.get("Subject", ""), params.get("Content", "")
                start = parse_start_time(params.get("StartTime", ""))
                self.unit.receive_information(subject, content, source, start)
                return ok_response()
        except VthError as exc:
            raise CgiError(str(exc)) from exc
        if call.action == "getMessages":
            shown = [
                {**m.to_json(), "text": "******" if m.kind == "unlock_password" else m.text}
                for m in self.unit.messages
            ]
            return kv_response(flatten_config("messages", shown))
        raise CgiError("Bad Request!")

    async def record_finder(self, call: CgiRequest) -> Response:
        """find&name=VideoTalkLog|UnlockLog|Message: every record of that kind."""
        if call.action != "find":
            raise CgiError("Bad Request!")
        name = call.require("name")
        if name not in RECORD_NAMES:
            raise CgiError(f"unknown record name {name!r}; one of {', '.join(RECORD_NAMES)}")
        records = [r.data for r in self.unit.find_records(RECORD_NAMES[name])]
        return kv_response([("found", str(len(records))), *flatten_config("records", records)])

    async def snapshot(self, call: CgiRequest) -> Response:
        """The last decoded picture as JPEG."""
        frame = self.snapshot_frame()
        if frame is None:
            raise CgiError("no picture yet: answer a call or monitor a door first", 404)
        buffer = io.BytesIO()
        frame.to_image().save(buffer, format="JPEG")
        return Response(buffer.getvalue(), media_type="image/jpeg")

    # --- control -------------------------------------------------------------------------

    async def control_get(self, request: Request) -> Response:
        """status, records (?kind=call|unlock|message) and messages."""
        denied = self.control_denied(request)
        if denied is not None:
            return denied
        what = request.url.path.rsplit("/", 1)[-1]
        if what == "records":
            try:
                kind = request.query_params.get("kind", "call")
                return JSONResponse([r.to_json() for r in self.unit.find_records(kind)])
            except VthError as exc:
                return JSONResponse({"detail": str(exc)}, 422)
        if what == "messages":
            return JSONResponse([m.to_json() for m in self.unit.messages])
        return JSONResponse(self.unit.status())

    def actions(self) -> dict[str, ControlAction]:
        """Control action name -> handler."""
        u = self.unit
        return {
            "answer": lambda b: u.answer(),
            "reject": lambda b: u.reject(),
            "hangup": lambda b: u.hang_up(),
            "unlock": lambda b: u.unlock(str(b.get("door", ""))),
            "monitor": lambda b: u.monitor(str(b.get("door", ""))).name,
            "call": lambda b: u.call(str(b["number"])),
            "dnd": lambda b: u.set_option("dnd", bool(b.get("on", True))),
            "auto-answer": lambda b: u.set_option("auto_answer", bool(b.get("on", True))),
            "mute": lambda b: u.set_mute(bool(b.get("on", True))),
            "room": lambda b: str(u.set_room(str(b["number"]))),
            "door": lambda b: u.put_door(Door(**b).check()).public(),
            "snapshot": self._save_snapshot,
        }

    def _save_snapshot(self, body: dict[str, Any]) -> str:
        frame = self.snapshot_frame()
        if frame is None:
            raise VthError("no picture yet: answer a call or monitor a door first")
        path = Path(str(body["path"]))
        path.parent.mkdir(parents=True, exist_ok=True)
        frame.to_image().save(path)
        return str(path)
