"""DahuaAdapter: what the platform does with a device speaking the Dahua CGI API.

Identity and online check, time sync, pushing persons with cards / password / fingerprints in
batches (AccessUser / AccessCard / AccessFingerprint insertMulti), removing them, reading the
personnel back, and reading access records (by record number, and live from the event stream).
Every per-user result is a failure reason or None: "device limit reached", "offline" or
"rejected: <the device's message>".
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from openpss.platform.devices.models import Device
from openpss.platform.permissions.tasks import REASON_LIMIT, REASON_OFFLINE, REASON_REJECTED
from openpss.protocols.aio import within
from openpss.protocols.dahua_http.client import (
    DahuaAuthError,
    DahuaClient,
    DahuaConnectionError,
    DahuaError,
    DahuaRequestError,
    DeviceInfo,
)
from openpss.protocols.dahua_http.events import EventPart
from openpss.protocols.dahua_http.records import (
    CARD_TYPE_DURESS,
    CARD_TYPE_GENERAL,
    attendance_state_name,
    error_reason,
)

logger = logging.getLogger(__name__)

BATCH = 100  # entries per insertMulti call (the API's limit)
DHIP_TIMEOUT = 10.0  # seconds to open a DHIP connection
# Dahua AccessControl "Method" codes.
METHODS = {
    "0": "password",
    "1": "card",
    "4": "remote",
    "5": "button",
    "6": "fingerprint",
    "15": "face",
}
# Dahua AccessControl "State" values (door mode).
DOOR_MODES = ("Normal", "OpenAlways", "CloseAlways")
# Dahua alarm codes (event codes and AlarmRecord AlarmType) -> the platform's alarm types, the
# alarm_type of alarm records and the "type" of the MQTT alarm events (manual: tamper, door,
# duress).
ALARM_NAMES = {
    "ChassisIntruded": "tamper",
    "BreakIn": "door_break_in",
    "DoorNotClosed": "door_not_closed",
    "Duress": "duress",
}
# Event codes a door station (magicBox deviceType "VTO...") sends besides access records. Its
# Duress event is an alarm of its own alarm log (RecNo numbers that log), not of a punch.
VTO_EVENT_CODES = (
    "BackKeyLight", "Invite", "CallNoAnswered", "IgnoreInvite", "PassiveHungup",
    "DoorStatus", "AlarmLocal", "ChassisIntruded", "BreakIn", "DoorNotClosed", "Duress",
)  # fmt: skip


@dataclass
class UserPush:
    """One person as the device should hold them."""

    user_id: str
    name: str
    password: str = ""
    cards: list[str] = field(default_factory=list)
    # Cards among `cards` sent as duress cards (AccessCard CardType 5).
    duress_cards: list[str] = field(default_factory=list)
    fingerprints: list[bytes] = field(default_factory=list)
    administrator: bool = False
    doors: list[int] = field(default_factory=lambda: [1])
    valid_from: dt.datetime | None = None
    valid_to: dt.datetime | None = None
    # The device already holds this user: drop them first so stale cards/fingerprints go too.
    replace: bool = False

    def user_json(self) -> dict[str, Any]:
        """The AccessUser UserList entry."""
        entry: dict[str, Any] = {
            "UserID": self.user_id,
            "UserName": self.name[:16],
            "UserType": 0,
            "Authority": 1 if self.administrator else 2,
            "Doors": [d - 1 for d in self.doors],
            "TimeSections": [255 for _ in self.doors],
        }
        if self.password:
            entry["Password"] = self.password
        if self.valid_from is not None:
            entry["ValidFrom"] = device_wall_time(self.valid_from)
        if self.valid_to is not None:
            entry["ValidTo"] = device_wall_time(self.valid_to)
        return entry


def device_wall_time(value: dt.datetime) -> str:
    """An instant as the device's wall time (ValidFrom / ValidTo are wall times).

    The sync sets each device's clock to the platform's local time (`sync_time`), so the
    platform's local zone is the device's; a naive value is taken as that wall time already.
    """
    local = value.astimezone() if value.tzinfo is not None else value
    return local.strftime("%Y-%m-%d %H:%M:%S")


def card_type(user: UserPush, card: str) -> int:
    """AccessCard CardType of one of the user's cards: duress or general."""
    return CARD_TYPE_DURESS if card in user.duress_cards else CARD_TYPE_GENERAL


def failure_reason(exc: DahuaError) -> str:
    """Classify a device error as one of the authorization failure reasons."""
    if isinstance(exc, DahuaConnectionError):
        return REASON_OFFLINE
    if isinstance(exc, DahuaRequestError) and "capacity" in exc.reason.lower():
        return REASON_LIMIT
    if isinstance(exc, DahuaAuthError):
        if "locked" in str(exc).lower():  # the device's login lockout, not a wrong password
            return f"{REASON_REJECTED}: {exc}"[:255]
        return f"{REASON_REJECTED}: wrong user name or password"
    reason = exc.reason if isinstance(exc, DahuaRequestError) else str(exc)
    return f"{REASON_REJECTED}: {reason}"[:255]


def base_url(host: str, port: int) -> str:
    """http://host:port, with brackets around an IPv6 address."""
    try:
        if ipaddress.ip_address(host).version == 6:
            host = f"[{host}]"
    except ValueError:
        pass
    return f"http://{host}:{port}"


def parse_record(fields: dict[str, Any]) -> dict[str, Any]:
    """A recordFinder record or AccessControl event `data` as AccessRecord columns.

    A refused attempt (Status 0) carries its reason; "duress" (not a column) marks a duress
    card, which the records service turns into an alarm record.
    """
    created = int(str(fields.get("CreateTime") or fields.get("UTC") or 0))
    card = str(fields.get("CardNo", "") or "").strip().upper()
    success = str(fields.get("Status", "1")) == "1"
    reason = "" if success else error_reason(fields.get("ErrorCode"), fields.get("Reason"))
    return {
        "record_no": int(str(fields["RecNo"])),
        "event_time": dt.datetime.fromtimestamp(created, dt.UTC),
        "user_id": str(fields.get("UserID", "") or "")[:32],
        "card_no": canonical_card(card)[:32],
        "method": METHODS.get(str(fields.get("Method", "")), str(fields.get("Method", ""))),
        "attendance_state": attendance_state_name(fields.get("AttendanceState")),
        "success": success,
        "reason": (reason or "refused")[:255] if not success else "",
        "duress": str(fields.get("CardType", "")).strip() == str(CARD_TYPE_DURESS),
    }


def parse_duress(fields: dict[str, Any]) -> dict[str, Any]:
    """A ``Duress`` event's data as the columns of a duress alarm ("alarm": "duress").

    Its ``RecNo`` (when the device gives one) is that of the access record it belongs to, so
    the alarm is made once whether it comes from this event or from the record.
    """
    rec_no = str(fields.get("RecNo", "") or "").strip()
    created = str(fields.get("UTC") or fields.get("CreateTime") or "").strip()
    when = dt.datetime.fromtimestamp(int(created), dt.UTC) if created.isdigit() else None
    return {
        "alarm": "duress",
        "record_no": int(rec_no) if rec_no.isdigit() else None,
        "event_time": when or dt.datetime.now(dt.UTC),
        "user_id": str(fields.get("UserID", "") or "")[:32],
        "card_no": canonical_card(str(fields.get("CardNo", "") or "").strip().upper())[:32],
    }


def parse_alarm(fields: dict[str, Any], code: str = "") -> dict[str, Any] | None:
    """A door station's alarm record (``AlarmRecord`` recordFinder fields, or the data of its
    alarm event ``code``) as AlarmRecord columns; None without a record number (an alarm's
    end, e.g. the tamper sound stopping, is no record).

    ``alarm_no`` is the RecNo of the unit's alarm log; ``channel`` the door (1-based) for door
    alarms, else 0.
    """
    rec_no = str(fields.get("RecNo", "") or "").strip()
    if not rec_no.isdigit():
        return None
    kind = str(fields.get("AlarmType", "") or code).strip()
    created = str(fields.get("CreateTime") or fields.get("UTC") or "").strip()
    when = dt.datetime.fromtimestamp(int(created), dt.UTC) if created.isdigit() else None
    door = str(fields.get("Door", "")).strip()
    channel = int(door) + 1 if door.isdigit() else 0
    return {
        "alarm_no": int(rec_no),
        "event_time": when or dt.datetime.now(dt.UTC),
        "alarm_type": ALARM_NAMES.get(kind, kind)[:64] or "alarm",
        "channel": channel,
        "detail": _alarm_detail(kind, fields, channel)[:255],
    }


def _alarm_detail(kind: str, fields: dict[str, Any], channel: int) -> str:
    if kind == "ChassisIntruded":
        return "tamper: the unit was taken off its mounting"
    if kind == "BreakIn":
        return f"door {channel} forced open (opened while locked)"
    if kind == "DoorNotClosed":
        return f"door {channel} left open past its close timeout"
    if kind == "Duress":
        method = METHODS.get(str(fields.get("Method", "")), str(fields.get("Method", "")))
        card = canonical_card(str(fields.get("CardNo", "") or "").strip().upper())
        user = str(fields.get("UserID", "") or "") or "?"
        what = f"card {card}" if card else (method or "credential")
        return f"duress {what} used by user {user}"
    extra = ", ".join(
        f"{k}={v}" for k, v in sorted(fields.items()) if k not in ("RecNo", "CreateTime", "UTC")
    )
    return f"{kind or 'alarm'}: {extra}" if extra else kind or "alarm"


def canonical_card(card: str) -> str:
    """The platform's stored form of a device card number (hex, at least 8 digits)."""
    try:
        value = int(card, 16)
    except ValueError:
        return card
    return format(value, "08X") if value else card


class DahuaAdapter:
    """The platform's side of one Dahua-API device."""

    def __init__(
        self,
        url: str,
        username: str,
        password: str,
        *,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.client = DahuaClient(url, username, password, timeout=timeout, transport=transport)

    @classmethod
    def for_device(cls, device: Device, password: str, *, timeout: float = 10.0) -> DahuaAdapter:
        """An adapter for a registry entry (the password comes decrypted from the caller)."""
        return cls(base_url(device.host, device.port), device.username, password, timeout=timeout)

    async def __aenter__(self) -> DahuaAdapter:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP connections."""
        await self.client.aclose()

    async def identify(self) -> DeviceInfo:
        """Type, serial and firmware (raises DahuaError when offline or refused)."""
        return await self.client.device_info()

    async def is_online(self) -> bool:
        """True when the device answers with our credentials."""
        try:
            await self.client.magic_box("getDeviceType")
        except DahuaError:
            return False
        return True

    async def configure_sip(
        self, *, user_id: str, server: str, port: int, domain: str, password: str
    ) -> None:
        """Make a VTO/VTH register to a SIP server (configManager ``SIP`` table)."""
        await self.client.set_config(
            {
                "SIP.UserID": user_id,
                "SIP.SIPServer": server,
                "SIP.SIPServerPort": port,
                "SIP.SIPDomain": domain,
                "SIP.SIPServerPassword": password,
            }
        )

    async def vto_number(self) -> str:
        """The door station's VTO number (configManager ``VideoTalk.VTONumber``)."""
        config = await self.client.get_config("VideoTalk")
        return config.get("table.VideoTalk.VTONumber", "")

    async def send_unlock_password(self, *, room: str, password: str) -> None:
        """Give a VTH its room's unlock password (messageManager addUnlockPassword)."""
        await self.client.request(
            "messageManager", "addUnlockPassword", {"Room": room, "Password": password}
        )

    async def release_information(
        self, *, subject: str, content: str, start_time: dt.datetime
    ) -> None:
        """An information release (messageManager releaseInformation; StartTime in UTC)."""
        start = start_time.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
        await self.client.request(
            "messageManager",
            "releaseInformation",
            {"Subject": subject, "Content": content, "StartTime": start},
        )

    async def sync_time(self, local_now: dt.datetime) -> None:
        """Set the device's wall time (naive, in the device's zone)."""
        await self.client.set_current_time(local_now.replace(tzinfo=None, microsecond=0))

    async def push_users(self, users: Sequence[UserPush]) -> dict[str, str | None]:
        """Send users with their credentials in batches; per user ID None or a failure reason."""
        results: dict[str, str | None] = {}
        for start in range(0, len(users), BATCH):
            batch = list(users[start : start + BATCH])
            try:
                await self._push_batch(batch)
                results.update({u.user_id: None for u in batch})
            except DahuaConnectionError:
                rest = users[start:]
                results.update({u.user_id: REASON_OFFLINE for u in rest})
                return results
            except DahuaError:
                # One bad user fails the whole (atomic) batch: retry one by one to isolate it.
                for user in batch:
                    results[user.user_id] = await self._push_one(user)
        return results

    async def _push_one(self, user: UserPush) -> str | None:
        try:
            await self._push_batch([user])
        except DahuaError as exc:
            logger.info("device refused user %s: %s", user.user_id, exc)
            return failure_reason(exc)
        return None

    async def _push_batch(self, users: list[UserPush]) -> None:
        stale = [u.user_id for u in users if u.replace]
        if stale:
            await self.remove_users(stale)  # a user already gone counts as removed
        await self.client.insert_users([u.user_json() for u in users], batch=BATCH)
        cards = [
            {"UserID": u.user_id, "CardNo": c, "CardType": card_type(u, c)}
            for u in users
            for c in u.cards
        ]
        if cards:
            # updateMulti also moves a card that a previous owner still holds on the device.
            await self.client.update_cards(cards, batch=BATCH)
        for user in users:
            if user.fingerprints:
                await self.client.update_fingerprints(user.user_id, user.fingerprints)

    async def remove_users(self, user_ids: Sequence[str]) -> dict[str, str | None]:
        """Remove users (with their credentials); a user the device lacks counts as removed."""
        results: dict[str, str | None] = {}
        for start in range(0, len(user_ids), BATCH):
            batch = list(user_ids[start : start + BATCH])
            try:
                await self.client.remove_users(batch, batch=BATCH)
                results.update(dict.fromkeys(batch))
            except DahuaConnectionError:
                results.update(dict.fromkeys(user_ids[start:], REASON_OFFLINE))
                return results
            except DahuaError:
                for user_id in batch:
                    results[user_id] = await self._remove_one(user_id)
        return results

    async def _remove_one(self, user_id: str) -> str | None:
        try:
            await self.client.remove_users([user_id])
        except DahuaRequestError as exc:
            if "not exist" in exc.reason or "not found" in exc.reason.lower():
                return None
            return failure_reason(exc)
        except DahuaError as exc:
            return failure_reason(exc)
        return None

    async def read_personnel(self) -> list[dict[str, Any]]:
        """Every user on the device with "Cards" (list) added, for extraction."""
        users = await self.client.find_users()
        cards: dict[str, list[str]] = {}
        for card in await self.client.find_cards():
            cards.setdefault(str(card.get("UserID", "")), []).append(str(card.get("CardNo", "")))
        for user in users:
            user["Cards"] = cards.get(str(user.get("UserID", "")), [])
        return users

    async def records_after(
        self, rec_no: int, page: int = 1000
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """Pages of access records with RecNo > rec_no, oldest first, as AccessRecord columns."""
        while True:
            result = await self.client.find_records(after_rec_no=rec_no, count=page)
            if not result.records:
                return
            parsed = [parse_record(r) for r in result.records]
            yield parsed
            if len(result.records) < page:
                return
            rec_no = parsed[-1]["record_no"]

    async def alarms_after(
        self, rec_no: int, page: int = 1000
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """Pages of a door station's alarm records (recordFinder ``AlarmRecord``) with RecNo >
        rec_no, oldest first, as AlarmRecord columns (parse_alarm)."""
        while True:
            result = await self.client.find_records(
                after_rec_no=rec_no, count=page, name="AlarmRecord"
            )
            if not result.records:
                return
            parsed = [a for a in map(parse_alarm, result.records) if a is not None]
            if len(parsed) < len(result.records):
                raise DahuaRequestError(200, "an AlarmRecord record without a RecNo")
            yield parsed
            if len(result.records) < page:
                return
            rec_no = parsed[-1]["alarm_no"]

    async def access_events(
        self, heartbeat: int = 5, extra: Sequence[str] = ()
    ) -> AsyncIterator[dict[str, Any] | EventPart | None]:
        """Live punches as AccessRecord columns; None for each heartbeat (liveness).

        The `extra` event codes (a door station's BackKeyLight, Invite, DoorStatus, alarms...)
        come as they are; otherwise a ``Duress`` event (duress card or password of a terminal)
        comes as parse_duress columns.
        """
        part: EventPart
        codes = tuple(dict.fromkeys(("AccessControl", "Duress", *extra)))
        async for part in self.client.events(codes, heartbeat=heartbeat):
            if part.is_heartbeat:
                yield None
            elif part.code == "AccessControl" and part.data and "RecNo" in part.data:
                yield parse_record(part.data)
            elif part.code in extra:
                yield part
            elif part.code == "Duress" and isinstance(part.data, dict):
                yield parse_duress(part.data)

    async def open_door(self, door: int = 1, user_id: str = "") -> None:
        """Remote unlock: ``accessControl.cgi?action=openDoor&channel=N&UserID=&Type=Remote``."""
        params: dict[str, str | int] = {"channel": door, "UserID": user_id, "Type": "Remote"}
        text = await self.client.request("accessControl", "openDoor", params)
        if text.strip() != "OK":
            raise DahuaRequestError(200, f"openDoor answered {text.strip()[:80]!r}")

    async def set_door_mode(self, door: int, mode: str) -> None:
        """Always open / always closed / restore: AccessControl[door-1].State = OpenAlways |
        CloseAlways | Normal (``configManager.cgi?action=setConfig``)."""
        if mode not in DOOR_MODES:
            raise ValueError(f"door mode must be one of {', '.join(DOOR_MODES)}, not {mode!r}")
        await self.client.set_config({f"AccessControl[{door - 1}].State": mode})

    async def snapshot(self, channel: int = 1) -> bytes:
        """A JPEG from ``snapshot.cgi?channel=N``."""
        return await self.client.snapshot(channel)


async def dhip_hang_up(host: str, port: int, username: str, password: str) -> None:
    """End a door station's call over DHIP: ``global.login`` then ``console.runCmd`` ``hc``
    (the Dahua CGI API has no hang up). Raises DahuaConnectionError when it fails."""
    from openpss.protocols.dhip.client import DhipClient, DhipClientError

    try:
        client = await within(DhipClient.connect(host, port), DHIP_TIMEOUT)
    except (OSError, TimeoutError) as exc:
        raise DahuaConnectionError(f"DHIP {host}:{port}: {exc}") from exc
    try:
        await client.login(username, password)
        await client.call("console.runCmd", {"command": "hc"})
    except (DhipClientError, OSError, TimeoutError, KeyError, ValueError) as exc:
        raise DahuaConnectionError(f"DHIP hang up refused: {exc}") from exc
    finally:
        await client.close()
