"""Door control of a device over its Dahua CGI API: remote unlock and the door mode.

Remote unlock is ``accessControl.cgi?action=openDoor`` (one door); always open / always closed /
restore set ``AccessControl[n].State`` on every door of each device (platform-video-intercom 3,
"Always Open: all doors remain open", "Restore: restore door status back to normal"). Every
command that reached a device is audited here, in the service, with its result.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from openpss.platform.crypto import SecretDecryptError
from openpss.platform.devices.adapter import DahuaAdapter, failure_reason
from openpss.platform.devices.models import Device
from openpss.platform.devices.service import device_password, devices_by_ids, get_device
from openpss.platform.errors import Invalid, Unavailable
from openpss.platform.security.audit import Actor, record_audit
from openpss.platform.settings import Settings
from openpss.protocols.dahua_http.client import DahuaError

logger = logging.getLogger(__name__)

# The door modes by the names of the console and MQTT, as AccessControl State values.
DOOR_MODES = {"always_open": "OpenAlways", "always_closed": "CloseAlways", "normal": "Normal"}
# Device kinds whose doors the platform drives (a VTH unlocks through its VTO, a camera has none).
DOOR_KINDS = ("access", "attendance", "vto")
MODE_PARALLEL = 16  # devices set at once by one door-mode command
MAX_MODE_DEVICES = 500  # devices one door-mode command may address


@dataclass(frozen=True)
class ModeResult:
    """How one device took a door-mode command: ``reason`` is "" when every door took it."""

    device_id: int
    name: str
    doors: list[int]
    reason: str = ""


def _check_doors(device: Device) -> None:
    if device.kind not in DOOR_KINDS:
        raise Invalid(
            f"device {device.name!r} is a {device.kind.upper()}: it has no door of its own "
            "(open the door station it calls)",
            field="device_id",
        )


def _check_door_number(device: Device, door: int) -> None:
    if not 1 <= door <= device.door_count:
        raise Invalid(
            f"device {device.name!r} has {device.door_count} door(s): door {door} does not exist",
            field="door",
        )


def _login(settings: Settings, device: Device) -> str:
    try:
        return device_password(settings=settings, device=device)
    except SecretDecryptError as exc:
        raise Invalid(f"device {device.name!r}: the stored password is unreadable: {exc}") from exc


async def open_door(
    *,
    session: Session,
    settings: Settings,
    actor: Actor,
    device_id: int,
    door: int,
    source: str = "console",
) -> Device:
    """Unlock one door of a device once (remote unlock), audited; Unavailable when refused.

    ``source`` names where the command came from in the audit entry (console, MQTT)."""
    device = get_device(session=session, device_id=device_id)
    _check_doors(device)
    _check_door_number(device, door)
    login = _login(settings, device)
    try:
        async with DahuaAdapter.for_device(device, login) as adapter:
            await adapter.open_door(door)
    except DahuaError as exc:
        raise Unavailable(
            f"device {device.name!r} did not open door {door}: {failure_reason(exc)}"
        ) from exc
    logger.info("door %d of device %s opened by %s", door, device.name, actor.name)
    record_audit(
        session=session,
        actor=actor,
        action="door.unlock",
        target=f"device {device.id} door {door}",
        detail={"source": source, "device": device.name, "door": door},
    )
    return device


async def set_door_mode(
    *,
    session: Session,
    settings: Settings,
    actor: Actor,
    device_ids: Sequence[int],
    mode: str,
    door: int | None = None,
    source: str = "console",
) -> list[ModeResult]:
    """Set every door of the devices (or only ``door``) to a mode: always_open, always_closed
    or normal (restore).

    Devices are addressed in parallel; each one's result is audited (a device that is offline or
    refuses is reported with the reason, the others still change). Invalid before any device is
    touched when the mode, a device or the door is not one that exists.
    """
    if mode not in DOOR_MODES:
        raise Invalid(f"door mode must be one of {', '.join(DOOR_MODES)}, not {mode!r}")
    wanted = list(dict.fromkeys(device_ids))
    if not wanted:
        raise Invalid("no device with doors is selected")
    if len(wanted) > MAX_MODE_DEVICES:
        raise Invalid(
            f"{len(wanted)} devices selected: set the door mode of at most {MAX_MODE_DEVICES} "
            "at once (narrow the list)"
        )
    found = devices_by_ids(session=session, ids=wanted)
    missing = [str(i) for i in wanted if i not in found]
    if missing:
        raise Invalid(f"device(s) {', '.join(missing)} do not exist", field="device_ids")
    devices = [found[i] for i in wanted]
    for device in devices:
        _check_doors(device)
        if door is not None:
            _check_door_number(device, door)
    logins = {d.id: _login(settings, d) for d in devices}
    limit = asyncio.Semaphore(MODE_PARALLEL)

    async def one(device: Device) -> ModeResult:
        numbers = [door] if door is not None else list(range(1, device.door_count + 1))
        async with limit:
            return await _set_mode(device, logins[device.id], DOOR_MODES[mode], numbers)

    results = await asyncio.gather(*(one(d) for d in devices))
    for result in results:
        record_audit(
            session=session,
            actor=actor,
            action="door.mode",
            target=f"device {result.device_id}",
            detail={
                "source": source,
                "mode": mode,
                "doors": result.doors,
                "result": result.reason or "ok",
            },
        )
    return results


async def _set_mode(device: Device, login: str, state: str, numbers: list[int]) -> ModeResult:
    try:
        async with DahuaAdapter.for_device(device, login) as adapter:
            for door in numbers:
                await adapter.set_door_mode(door, state)
    except DahuaError as exc:
        logger.info("door mode %s of device %s failed: %s", state, device.name, exc)
        return ModeResult(device.id, device.name, numbers, failure_reason(exc))
    return ModeResult(device.id, device.name, numbers)
