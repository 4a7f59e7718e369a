"""DHIP backend of the door station: the methods home-automation clients call on TCP 5000.

``magicBox.getSystemInfo`` / ``getSoftwareVersion`` / ``getDeviceType`` / ``getSerialNo``,
``configManager.getConfig`` (see ``config.TABLES``), ``accessControl.factory.instance`` ->
an object id, ``accessControl.openDoor`` (``object`` + ``{"DoorIndex": 0, "Type": "Remote",
"UserID": "101"}``), ``accessControl.destroy``, ``console.runCmd`` (``hc`` hangs up,
``call 9901`` places a call). Login, keep-alive and events are the server's.
"""

from __future__ import annotations

import itertools
from typing import Any

from openpss.devices.vto.config import read_table
from openpss.devices.vto.entities import VtoError
from openpss.devices.vto.model import ADMIN_USER, DoorStation
from openpss.protocols.dhip.codec import ERROR_BAD_REQUEST
from openpss.protocols.dhip.server import DhipError

SOFTWARE_VERSION = "4.300.0000000.0.R"
SOFTWARE_BUILD = "2026-11-01"
HARDWARE_VERSION = "1.00"
MAX_OBJECTS = 64  # ours: accessControl.factory.instance objects alive at once


class VtoDhipBackend:
    """Answers the device methods of DHIP from the model."""

    def __init__(self, station: DoorStation) -> None:
        self.station = station
        self.serial = station.serial
        self._objects: set[int] = set()
        self._object_ids = itertools.count(1001)

    def ha1_for(self, user: str) -> str | None:
        """The admin's HA1 (the same one HTTP digest uses)."""
        return self.station.admin_ha1 if user == ADMIN_USER else None

    def handle(
        self, method: str, params: dict[str, Any], message: dict[str, Any]
    ) -> tuple[Any, dict[str, Any] | None]:
        """One device method; KeyError for unknown ones."""
        try:
            return self._handle(method, params, message)
        except VtoError as exc:
            raise DhipError(ERROR_BAD_REQUEST, str(exc)) from exc

    def _handle(
        self, method: str, params: dict[str, Any], message: dict[str, Any]
    ) -> tuple[Any, dict[str, Any] | None]:
        station = self.station
        model = station.facade.model
        if method == "magicBox.getSystemInfo":
            info = {
                "deviceType": model,
                "hardwareVersion": HARDWARE_VERSION,
                "processor": "virtual",
                "serialNumber": station.serial,
                "updateSerial": model,
            }
            return True, info
        if method == "magicBox.getSoftwareVersion":
            version = {"Version": SOFTWARE_VERSION, "BuildDate": SOFTWARE_BUILD}
            return True, {"version": version}
        if method == "magicBox.getDeviceType":
            return True, {"type": model}
        if method == "magicBox.getSerialNo":
            return True, {"sn": station.serial}
        if method == "configManager.getConfig":
            return True, {"table": read_table(station, str(params.get("name", "")))}
        if method.startswith("accessControl."):
            return self._access(method, params, message)
        if method == "console.runCmd":
            return self._run_command(str(params.get("command", "")))
        raise KeyError(method)

    def _access(
        self, method: str, params: dict[str, Any], message: dict[str, Any]
    ) -> tuple[Any, dict[str, Any] | None]:
        if method == "accessControl.factory.instance":
            if len(self._objects) >= MAX_OBJECTS:
                raise DhipError(ERROR_BAD_REQUEST, f"at most {MAX_OBJECTS} objects; destroy one")
            new_id = next(self._object_ids)
            self._objects.add(new_id)
            return new_id, None
        object_id = message.get("object")
        if not isinstance(object_id, int) or object_id not in self._objects:
            raise DhipError(ERROR_BAD_REQUEST, "unknown object: call factory.instance first")
        if method == "accessControl.destroy":
            self._objects.discard(object_id)
            return True, None
        if method == "accessControl.openDoor":
            result = self.station.remote_unlock(str(params.get("UserID", "")))
            return result.opened, None
        raise KeyError(method)

    def _run_command(self, command: str) -> tuple[Any, dict[str, Any] | None]:
        words = command.split()
        if words == ["hc"]:
            self.station.hang_up()
            return True, None
        if len(words) == 2 and words[0] == "call":
            self.station.call(words[1])
            return True, None
        raise DhipError(ERROR_BAD_REQUEST, f"unknown command {command!r}; hc or call NUMBER")
