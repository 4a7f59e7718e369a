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
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from openpss.devices.vth.entities import DEVICE_TYPE, VthError, parse_start_time
from openpss.devices.vth.model import ADMIN_USER, IndoorMonitor
from openpss.devices.vth.settings import Door
from openpss.protocols.dahua_http.codec import flatten_config
from openpss.protocols.dahua_http.events import EventPart
from openpss.protocols.dahua_http.server import (
    CgiError,
    CgiRequest,
    DigestGuard,
    EventHub,
    build_cgi_app,
    event_stream_response,
    kv_response,
    ok_response,
)

logger = logging.getLogger(__name__)

LOOPBACK = {"127.0.0.1", "::1"}
VENDOR = "OpenPSS"
SOFTWARE_VERSION = "4.500.0000000.0.R,build:2026-01-05"
HARDWARE_VERSION = "1.00"
EVENT_CODES = ("Invite", "CallNoAnswered", "SIPRegisterResult", "InformationRelease")
RECORD_NAMES = {"VideoTalkLog": "call", "UnlockLog": "unlock", "Message": "message"}

ControlAction = Callable[[dict[str, Any]], Any]
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


class VthHttp:
    """The indoor monitor's HTTP application (Starlette)."""

    def __init__(self, unit: IndoorMonitor, snapshot: Snapshot = lambda: None) -> None:
        self.unit = unit
        self.snapshot_frame = snapshot
        self.hub = EventHub()
        self.guard = DigestGuard(unit.serial, self._ha1_for, self._not_ready)

    def _ha1_for(self, username: str) -> str | None:
        return self.unit.admin_ha1 if username == ADMIN_USER else None

    def _not_ready(self) -> str | None:
        if not self.unit.initialized:
            return "Device not initialized: set the admin password first"
        return None

    def publish(self, code: str, action: str, data: dict[str, Any]) -> None:
        """Send a model event to every attached event stream."""
        self.hub.publish(EventPart(code=code, action=action, index=0, data=data))

    def app(self) -> Starlette:
        """The ASGI application."""
        handlers = {
            "magicBox": self.magic_box,
            "configManager": self.config_manager,
            "eventManager": self.event_manager,
            "messageManager": self.message_manager,
            "recordFinder": self.record_finder,
            "snapshot": self.snapshot,
        }
        routes = [
            Route("/openpss/control/status", self.control_get, methods=["GET"]),
            Route("/openpss/control/records", self.control_get, methods=["GET"]),
            Route("/openpss/control/messages", self.control_get, methods=["GET"]),
            Route("/openpss/control/{action}", self.control, methods=["POST"]),
        ]
        return build_cgi_app(self.guard, handlers, routes)

    # --- CGI -----------------------------------------------------------------------------

    async def magic_box(self, call: CgiRequest) -> Response:
        """Identity."""
        u = self.unit
        answers: dict[str, dict[str, Any]] = {
            "getDeviceType": {"type": DEVICE_TYPE},
            "getDeviceClass": {"type": "VTH"},
            "getSerialNo": {"sn": u.serial},
            "getMachineName": {"name": f"VTH{u.settings.room}"},
            "getSoftwareVersion": {"version": SOFTWARE_VERSION},
            "getHardwareVersion": {"version": HARDWARE_VERSION},
            "getVendor": {"vendor": VENDOR},
            "getSystemInfo": {
                "deviceType": DEVICE_TYPE,
                "hardwareVersion": HARDWARE_VERSION,
                "processor": "virtual",
                "serialNumber": u.serial,
                "updateSerial": DEVICE_TYPE,
            },
        }
        if call.action in answers:
            return kv_response(answers[call.action])
        raise CgiError("Bad Request!")

    async def config_manager(self, call: CgiRequest) -> Response:
        """getConfig and setConfig."""
        try:
            if call.action == "getConfig":
                name = call.require("name")
                return kv_response(flatten_config(name, read_table(self.unit, name)))
            if call.action == "setConfig":
                params = {k: v for k, v in call.params.items() if k != "action"}
                apply_set_config(self.unit, params)
                return ok_response()
        except VthError as exc:
            raise CgiError(str(exc)) from exc
        raise CgiError("Bad Request!")

    async def event_manager(self, call: CgiRequest) -> Response:
        """attach (multipart stream) and getCaps."""
        if call.action == "attach":
            return event_stream_response(self.hub, call.params)
        if call.action == "getCaps":
            return kv_response({f"caps.{code}": True for code in EVENT_CODES})
        raise CgiError("Bad Request!")

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

    def _denied(self, request: Request) -> Response | None:
        host = request.client.host if request.client else ""
        if host not in LOOPBACK:
            return JSONResponse({"detail": "the control API answers loopback only"}, 403)
        return self.guard.check(request)

    async def control_get(self, request: Request) -> Response:
        """status, records (?kind=call|unlock|message) and messages."""
        denied = self._denied(request)
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

    async def control(self, request: Request) -> Response:
        """One action."""
        denied = self._denied(request)
        if denied is not None:
            return denied
        action = self.actions().get(request.path_params["action"])
        if action is None:
            names = ", ".join(sorted(self.actions()))
            return JSONResponse({"detail": f"unknown control action; one of {names}"}, 404)
        try:
            body = await request.json() if await request.body() else {}
            if not isinstance(body, dict):
                raise VthError("body must be a JSON object")
            result = action(body)
        except (ValueError, KeyError, TypeError, OSError) as exc:
            return JSONResponse({"detail": _detail(exc)}, 422)
        return JSONResponse({"result": result, "status": self.unit.status()})

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


def _detail(exc: Exception) -> str:
    if isinstance(exc, KeyError):
        return f"missing field {exc.args[0]!r}"
    return str(exc)
