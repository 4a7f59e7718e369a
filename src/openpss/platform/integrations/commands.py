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
from openpss.platform.devices.adapter import DahuaAdapter, base_url, dhip_hang_up
from openpss.platform.devices.models import Device
from openpss.platform.devices.service import device_password
from openpss.platform.events import Event, EventKind
from openpss.platform.security.audit import Actor, record_audit
from openpss.platform.settings import Settings
from openpss.protocols.dahua_http.client import DahuaError

MQTT_ACTOR = Actor("mqtt", "")
MAX_PAYLOAD = 64  # bytes; the longest valid payload is "always_closed"
# Home Assistant MQTT lock: payload_open / payload_lock / payload_unlock.
LOCK_PAYLOADS = {"OPEN": "open", "LOCK": "CloseAlways", "UNLOCK": "Normal"}
MODE_PAYLOADS = {"always_open": "OpenAlways", "always_closed": "CloseAlways", "normal": "Normal"}
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


def _target(
    session: Session, settings: Settings, command: DoorCommand
) -> tuple[str, int, str, str]:
    device = session.get(Device, command.device_id)
    if device is None:
        raise CommandError(f"no device {command.device_id}")
    if command.action != "hangup" and not 1 <= command.door <= device.door_count:
        raise CommandError(f"device {device.name} has no door {command.door}")
    try:
        password = device_password(settings=settings, device=device)
    except ValueError as exc:  # no password set (Invalid), undecryptable
        raise CommandError(f"device {device.name}: {exc}") from exc
    return device.host, device.port, device.username, password


def _audit(session: Session, command: DoorCommand) -> None:
    action = {"open": "door.unlock", "hangup": "call.hangup"}.get(command.action, "door.mode")
    detail = {"source": "MQTT", "door": command.door, "action": command.action}
    target = f"device {command.device_id} door {command.door}"
    if command.action == "hangup":
        target = f"device {command.device_id}"
    record_audit(session=session, actor=MQTT_ACTOR, action=action, target=target, detail=detail)


async def execute(
    *, factory: sessionmaker[Session], settings: Settings, command: DoorCommand
) -> Event | None:
    """Run an accepted command on its device and audit it; the lock event to publish."""
    if command.setting not in settings.mqtt_commands:
        raise CommandError(f"{command.setting} commands are off (OPENPSS_MQTT_COMMANDS)")

    def load() -> tuple[str, int, str, str]:
        with session_scope(factory) as session:
            return _target(session, settings, command)

    host, port, username, password = await asyncio.to_thread(load)

    try:
        if command.action == "hangup":
            await dhip_hang_up(host, settings.dhip_port, username, password)
        else:
            await _run_on_device(base_url(host, port), username, password, command)
    except DahuaError as exc:
        raise CommandError(f"device {command.device_id} refused: {exc}") from exc

    def audit() -> None:
        with session_scope(factory) as session:
            _audit(session, command)

    await asyncio.to_thread(audit)
    if command.action == "hangup":
        return None  # the door station reports the end of the call itself
    state = {"door": command.door, "state": LOCK_STATES[command.action]}
    return Event(EventKind.lock, command.device_id, state)


async def _run_on_device(url: str, username: str, password: str, command: DoorCommand) -> None:
    async with DahuaAdapter(url, username, password) as adapter:
        if command.action == "open":
            await adapter.open_door(command.door)
        else:
            await adapter.set_door_mode(command.door, command.action)
