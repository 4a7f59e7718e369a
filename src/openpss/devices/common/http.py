"""The HTTP front-end every virtual Dahua unit shares (Starlette, on ``protocols.dahua_http``).

``DeviceHttp`` holds the digest guard (user ``admin``, realm ``Login to <serial>``), the event
hub, the CGI handlers that answer alike on every unit (``magicBox`` identity, ``configManager``
getConfig/setConfig, ``eventManager`` attach/getCaps) and the loopback-only control endpoint:
``POST /openpss/control/<action>`` runs one of the unit's ``actions()`` on a JSON body and
answers ``{"result": ..., "status": ...}``; a refused action answers 422 ``{"detail": "..."}``.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from openpss.protocols.dahua_http.codec import flatten_config
from openpss.protocols.dahua_http.events import EventPart
from openpss.protocols.dahua_http.server import (
    CgiError,
    CgiHandler,
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
HARDWARE_VERSION = "1.00"
NOT_INITIALIZED = "Device not initialized: set the admin password first"

ControlAction = Callable[[dict[str, Any]], Any]


def loopback_only(request: Request) -> Response | None:
    """403 unless the request comes from this host (the control API stands for hardware)."""
    host = request.client.host if request.client else ""
    if host not in LOOPBACK:
        return JSONResponse({"detail": "the control API answers loopback only"}, 403)
    return None


def identity(
    *,
    device_type: str,
    device_class: str,
    serial: str,
    machine_name: str,
    software_version: str,
    hardware_version: str = HARDWARE_VERSION,
) -> dict[str, dict[str, Any]]:
    """The ``magicBox.cgi`` identity actions and their answers."""
    return {
        "getDeviceType": {"type": device_type},
        "getDeviceClass": {"type": device_class},
        "getSerialNo": {"sn": serial},
        "getMachineName": {"name": machine_name},
        "getSoftwareVersion": {"version": software_version},
        "getHardwareVersion": {"version": hardware_version},
        "getVendor": {"vendor": VENDOR},
        "getSystemInfo": {
            "deviceType": device_type,
            "hardwareVersion": hardware_version,
            "processor": "virtual",
            "serialNumber": serial,
            "updateSerial": device_type,
        },
    }


def control_detail(exc: Exception) -> str:
    """The ``detail`` of a refused control action."""
    if isinstance(exc, KeyError):
        return f"missing field {exc.args[0]!r}"
    return str(exc)


class DeviceHttp(ABC):
    """A unit's HTTP application: what is alike on every unit; the unit fills in the rest."""

    admin_user = "admin"
    not_ready_message = NOT_INITIALIZED
    event_codes: tuple[str, ...] = ()
    # False: the control endpoint asks for no password while the unit is uninitialized
    control_needs_password = False

    def __init__(
        self,
        serial: str,
        *,
        admin_ha1: Callable[[], str | None],
        read_config: Callable[[str], Any],
        apply_config: Callable[[dict[str, str]], None],
        cgi: Mapping[str, CgiHandler],
        control: Sequence[Route],
        status: Callable[[], Any] = lambda: None,
    ) -> None:
        """``admin_ha1``: the admin password's digest HA1, None while uninitialized;
        ``read_config``/``apply_config``: getConfig of one table, setConfig all or nothing;
        ``cgi``: the unit's CGI handlers beside magicBox, configManager and eventManager;
        ``control``: its control routes; ``status``: its state, sent with every action."""
        self.admin_ha1 = admin_ha1
        self.read_config, self.apply_config = read_config, apply_config
        self.cgi, self.control_routes, self.status = dict(cgi), list(control), status
        self.hub = EventHub()
        self.guard = DigestGuard(serial, self._ha1_for, self._not_ready)

    # --- what the unit provides --------------------------------------------------------

    @abstractmethod
    def identity(self) -> dict[str, dict[str, Any]]:
        """``magicBox`` identity answers (see ``identity``)."""

    def actions(self) -> Mapping[str, ControlAction]:
        """Control action name -> handler (``POST /openpss/control/<action>``)."""
        return {}

    def result_json(self, result: Any) -> Any:
        """A control action's result as JSON."""
        return result

    # --- shared --------------------------------------------------------------------------

    @property
    def initialized(self) -> bool:
        """True once the admin password is set."""
        return self.admin_ha1() is not None

    def _ha1_for(self, username: str) -> str | None:
        return self.admin_ha1() if username == self.admin_user else None

    def _not_ready(self) -> str | None:
        return None if self.initialized else self.not_ready_message

    def publish(self, code: str, action: str, data: dict[str, Any]) -> None:
        """Send a model event to every attached event stream."""
        self.hub.publish(EventPart(code=code, action=action, index=0, data=data))

    def app(self, lifespan: Any = None) -> Starlette:
        """The ASGI application."""
        handlers = {
            "magicBox": self.magic_box,
            "configManager": self.config_manager,
            "eventManager": self.event_manager,
            **self.cgi,
        }
        return build_cgi_app(self.guard, handlers, self.control_routes, lifespan=lifespan)

    async def magic_box(self, call: CgiRequest) -> Response:
        """Identity, then the unit's other magicBox actions."""
        answers = self.identity()
        if call.action in answers:
            return kv_response(answers[call.action])
        return self.magic_box_action(call)

    def magic_box_action(self, call: CgiRequest) -> Response:
        """A magicBox action beside the identity (reboot...)."""
        raise CgiError("Bad Request!")

    async def config_manager(self, call: CgiRequest) -> Response:
        """getConfig (``table.X.Y=v`` lines) and setConfig (all-or-nothing)."""
        try:
            if call.action == "getConfig":
                name = call.require("name")
                return kv_response(flatten_config(name, self.read_config(name)))
            if call.action == "setConfig":
                self.apply_config({k: v for k, v in call.params.items() if k != "action"})
                return ok_response()
        except ValueError as exc:
            raise CgiError(str(exc)) from exc
        raise CgiError("Bad Request!")

    async def event_manager(self, call: CgiRequest) -> Response:
        """attach: the multipart event stream; getCaps: which codes this unit sends."""
        if call.action == "attach":
            return event_stream_response(self.hub, call.params)
        if call.action == "getCaps":
            return kv_response({f"caps.{code}": True for code in self.event_codes})
        raise CgiError("Bad Request!")

    def control_denied(self, request: Request) -> Response | None:
        """Loopback only; digest auth once initialized (always, if it needs a password)."""
        denied = loopback_only(request)
        if denied is not None or not (self.initialized or self.control_needs_password):
            return denied
        return self.guard.check(request)

    async def control(self, request: Request) -> Response:
        """One control action on a JSON object body."""
        denied = self.control_denied(request)
        if denied is not None:
            return denied
        actions = self.actions()
        action = actions.get(request.path_params["action"])
        if action is None:
            names = ", ".join(sorted(actions))
            return JSONResponse({"detail": f"unknown control action; one of {names}"}, 404)
        try:
            body = await request.json() if await request.body() else {}
            if not isinstance(body, dict):
                raise ValueError("body must be a JSON object")
            result = action(body)
        except (ValueError, KeyError, TypeError, OSError) as exc:
            return JSONResponse({"detail": control_detail(exc)}, 422)
        return JSONResponse({"result": self.result_json(result), "status": self.status()})

    def initialize(self, body: dict[str, Any]) -> None:
        """Device Init from a control body (``{"password": ...}``)."""
        raise ValueError("this unit is initialized with its start options")

    async def control_initialize(self, request: Request) -> Response:
        """Device Init over the control endpoint, while uninitialized."""
        denied = loopback_only(request)
        if denied is not None:
            return denied
        try:
            body = await request.json()
            if not isinstance(body, dict):
                raise ValueError("body must be a JSON object")
            self.initialize(body)
        except ValueError as exc:
            return JSONResponse({"detail": str(exc)}, 422)
        return JSONResponse({"initialized": True})
