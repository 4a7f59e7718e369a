"""Door commands that arrive over MQTT: parse, check, run on the device, audit.

Topics (under the topic prefix): ``<prefix>/<device id>/door/<n>/set`` with the Home Assistant
lock payloads ``OPEN`` (momentary unlock), ``LOCK`` (always closed) and ``UNLOCK`` (restore
normal), and ``<prefix>/<device id>/door/<n>/mode/set`` with ``always_open``,
``always_closed`` or ``normal``, and ``<prefix>/<device id>/call/set`` with ``HANGUP`` (a door
station's call, over DHIP on OPENPSS_DHIP_PORT). Which of them are accepted is
OPENPSS_MQTT_COMMANDS (unlock is off by default). Each command that reaches a device is
audited with the actor ``mqtt``.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from openpss.platform.db import session_scope
from openpss.platform.devices import doors
from openpss.platform.devices.adapter import dhip_hang_up
from openpss.platform.devices.models import Device
from openpss.platform.devices.service import device_password
from openpss.platform.errors import DomainError
from openpss.platform.events import Event, EventKind
from openpss.platform.security.audit import Actor, record_audit
from openpss.platform.settings import Settings
from openpss.protocols.dahua_http.client import DahuaError

MQTT_ACTOR = Actor("mqtt", "")
MAX_PAYLOAD = 64  # bytes; the longest valid payload is "always_closed"
# Home Assistant MQTT lock: payload_open / payload_lock / payload_unlock.
LOCK_PAYLOADS = {"OPEN": "open", "LOCK": "CloseAlways", "UNLOCK": "Normal"}
MODE_PAYLOADS = {"always_open": "OpenAlways", "always_closed": "CloseAlways", "normal": "Normal"}
# The door service's mode names of the AccessControl states.
MODE_NAMES = {state: name for name, state in doors.DOOR_MODES.items()}
# The lock state published after a command (HA lock state_locked / state_unlocked / state_open).
LOCK_STATES = {
    "open": "OPEN",
    "OpenAlways": "UNLOCKED",
    "CloseAlways": "LOCKED",
    "Normal": "LOCKED",
}


class CommandError(ValueError):
    """A command that is ignored: malformed, not accepted, unknown door, device failure."""


@dataclass(frozen=True)
class DoorCommand:
    """Unlock a door once ("open") or set its mode (OpenAlways / CloseAlways / Normal)."""

    device_id: int
    door: int
    action: str

    @property
    def setting(self) -> str:
        """The OPENPSS_MQTT_COMMANDS entry that allows it."""
        if self.action in ("open", "hangup"):
            return "unlock" if self.action == "open" else "hangup"
        return "door_mode"


def parse_command(prefix: str, topic: str, payload: bytes) -> DoorCommand:
    """The command a message carries (CommandError says why it is none)."""
    pattern = rf"{re.escape(prefix)}/(\d{{1,9}})/(?:door/(\d{{1,2}})/(set|mode/set)|call/set)"
    match = re.fullmatch(pattern, topic)
    if match is None:
        raise CommandError(f"topic {topic[:120]!r} is not a command topic")
    if len(payload) > MAX_PAYLOAD:
        raise CommandError(f"payload of {len(payload)} bytes (at most {MAX_PAYLOAD})")
    try:
        text = payload.decode("ascii").strip()
    except UnicodeDecodeError as exc:
        raise CommandError("payload is not ASCII text") from exc
    if match[2] is None:  # the call topic
        if text != "HANGUP":
            raise CommandError(f"payload {text[:20]!r} is not HANGUP")
        return DoorCommand(int(match[1]), 0, "hangup")
    table = LOCK_PAYLOADS if match[3] == "set" else MODE_PAYLOADS
    if text not in table:
        raise CommandError(f"payload {text[:20]!r} is not one of {', '.join(table)}")
    return DoorCommand(int(match[1]), int(match[2]), table[text])


def _hangup_target(session: Session, settings: Settings, device_id: int) -> tuple[str, str, str]:
    device = session.get(Device, device_id)
    if device is None:
        raise CommandError(f"no device {device_id}")
    try:
        password = device_password(settings=settings, device=device)
    except ValueError as exc:  # no password set (Invalid), undecryptable
        raise CommandError(f"device {device.name}: {exc}") from exc
    return device.host, device.username, password


async def execute(
    *, factory: sessionmaker[Session], settings: Settings, command: DoorCommand
) -> Event | None:
    """Run an accepted command on its device (audited); the lock event to publish.

    Door commands go through the devices domain's door service, as the console's do."""
    if command.setting not in settings.mqtt_commands:
        raise CommandError(f"{command.setting} commands are off (OPENPSS_MQTT_COMMANDS)")
    if command.action == "hangup":
        await _hang_up(factory, settings, command)
        return None  # the door station reports the end of the call itself
    with session_scope(factory) as session:
        try:
            reason = await _door(session, settings, command)
        except DomainError as exc:  # unknown device or door, no password, device refused
            raise CommandError(f"device {command.device_id}: {exc}") from exc
    if reason:  # audited with its reason, then reported
        raise CommandError(f"device {command.device_id} refused: {reason}")
    state = {"door": command.door, "state": LOCK_STATES[command.action]}
    return Event(EventKind.lock, command.device_id, state)


async def _door(session: Session, settings: Settings, command: DoorCommand) -> str:
    """Unlock or set the mode of one door; the device's failure reason or ""."""
    if command.action == "open":
        await doors.open_door(
            session=session, settings=settings, actor=MQTT_ACTOR,
            device_id=command.device_id, door=command.door, source="MQTT",
        )  # fmt: skip
        return ""
    [result] = await doors.set_door_mode(
        session=session, settings=settings, actor=MQTT_ACTOR, device_ids=[command.device_id],
        mode=MODE_NAMES[command.action], door=command.door, source="MQTT",
    )  # fmt: skip
    return result.reason


async def _hang_up(
    factory: sessionmaker[Session], settings: Settings, command: DoorCommand
) -> None:
    def load() -> tuple[str, str, str]:
        with session_scope(factory) as session:
            return _hangup_target(session, settings, command.device_id)

    host, username, password = await asyncio.to_thread(load)
    try:
        await dhip_hang_up(host, settings.dhip_port, username, password)
    except DahuaError as exc:
        raise CommandError(f"device {command.device_id} refused: {exc}") from exc

    def audit() -> None:
        with session_scope(factory) as session:
            record_audit(
                session=session, actor=MQTT_ACTOR, action="call.hangup",
                target=f"device {command.device_id}",
                detail={"source": "MQTT", "door": 0, "action": "hangup"},
            )  # fmt: skip

    await asyncio.to_thread(audit)
