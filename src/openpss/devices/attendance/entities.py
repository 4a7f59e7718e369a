"""Users, punches and log entries of the attendance terminal, and the checks on their fields."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from openpss.attendance.punches import AttendanceState
from openpss.protocols.dahua_http.records import (
    CARD_TYPE_DURESS,
    CARD_TYPE_GENERAL,
    METHOD_CODES,
    STATUS_FAILURE,
    STATUS_SUCCESS,
    attendance_state_code,
    direction,
)

MAX_USER_ID = 99_999_999  # manual 2.5.1.1: user ID 1-99999999
MAX_NAME_LENGTH = 16  # manual 2.5.1.1: "Maximum user name length is 16 letters"
MAX_FINGERPRINTS = 3  # manual 2.5.1.1: "up to 3 fingerprints"
MAX_CARDS = 5  # manual 2.5.1.1: "five cards at most"
MAX_PASSWORD_DIGITS = 8  # manual 2.5.1.1: "maximum length of the password is 8 digits"
MAX_CARD_NO_LENGTH = 32
MAX_TEMPLATE_BYTES = 4096


class TerminalError(ValueError):
    """A request the terminal refuses; the message says what to fix."""


class CapacityError(TerminalError):
    """The device's storage for users, cards or fingerprints is full."""


class NotFoundError(TerminalError):
    """The user (or credential) does not exist."""


@dataclass
class User:
    """One user (manual 2.5.1.1)."""

    user_id: int
    name: str = ""
    department: int = 1
    schedule_mode: str = "department"  # "department" or "personal"
    level: str = "user"  # "user" or "admin"
    password: str = ""
    cards: list[str] = field(default_factory=list)
    fingerprints: list[bytes] = field(default_factory=list)
    # Cards among `cards` that are duress cards (AccessCard CardType 5): they open and alarm.
    duress_cards: list[str] = field(default_factory=list)
    # Validity period in device wall time (AccessUser ValidFrom / ValidTo); None: no limit.
    valid_from: dt.datetime | None = None
    valid_to: dt.datetime | None = None

    @property
    def is_admin(self) -> bool:
        """True for administrators."""
        return self.level == "admin"

    def card_type(self, card: str) -> int:
        """AccessCard CardType of one of the user's cards."""
        return CARD_TYPE_DURESS if card in self.duress_cards else CARD_TYPE_GENERAL

    def valid_at(self, local: dt.datetime) -> bool:
        """True when device wall time `local` lies in the validity period."""
        return (self.valid_from is None or self.valid_from <= local) and (
            self.valid_to is None or local <= self.valid_to
        )


@dataclass(frozen=True)
class Punch:
    """One attendance record: an accepted punch, or a refused attempt (success False)."""

    rec_no: int
    at: dt.datetime  # UTC, aware
    local: dt.datetime  # the device's wall time, naive
    user_id: int  # 0 when the credential belongs to nobody
    method: str  # "card", "password" or "fingerprint"
    card_no: str
    state: AttendanceState | None  # None for a refused attempt without a state
    success: bool = True
    error_code: int = 0  # ErrorCode of a refused attempt
    reason: str = ""  # why it was refused, for the operator
    card_type: int = CARD_TYPE_GENERAL  # CARD_TYPE_DURESS for a duress card


@dataclass(frozen=True)
class AdminLogEntry:
    """One administrator operation (SysInfo > Management)."""

    at: dt.datetime  # UTC
    admin_id: int  # 0 for the HTTP account
    operation: str


@dataclass(frozen=True)
class PunchResult:
    """The outcome of presenting a credential at the standby screen."""

    accepted: bool
    message: str
    punch: Punch | None = None
    user_id: int | None = None


class Persistence(Protocol):
    """Where the terminal writes its state (the device's flash)."""

    def save_users(self, users: Iterable[User]) -> None: ...
    def delete_users(self, user_ids: Iterable[int]) -> None: ...
    def save_settings(self, key: str, value: Any) -> None: ...
    def append_punches(self, punches: Iterable[Punch]) -> None: ...
    def drop_punches_before(self, rec_no: int) -> None: ...
    def append_admin_log(self, entry: AdminLogEntry) -> None: ...


def check_user_id(value: int | str) -> int:
    """A user ID 1-99999999."""
    text = str(value).strip()
    if not text.isdigit() or not 1 <= int(text) <= MAX_USER_ID:
        raise TerminalError(f"user ID must be a number 1-{MAX_USER_ID}, not {text!r}")
    return int(text)


def check_password(password: str) -> str:
    """Up to 8 digits; 0 cannot be the first digit (manual 2.5.1.1). Empty means none."""
    if password == "":
        return password
    if not password.isdigit() or len(password) > MAX_PASSWORD_DIGITS:
        raise TerminalError(f"password must be 1-{MAX_PASSWORD_DIGITS} digits")
    if password.startswith("0"):
        raise TerminalError("password cannot start with 0 (and 0 alone is not a password)")
    return password


def normalize_card(card_no: str) -> str:
    """Card numbers are letters and digits, stored upper-case."""
    text = str(card_no).strip().upper()
    if not (1 <= len(text) <= MAX_CARD_NO_LENGTH and re.fullmatch(r"[0-9A-Z]+", text)):
        raise TerminalError(f"card number must be 1-{MAX_CARD_NO_LENGTH} letters or digits")
    return text


def fingerprint_similarity(a: bytes, b: bytes) -> float:
    """Share of equal bytes of two templates of the same length (0.0 if lengths differ)."""
    if len(a) != len(b) or not a:
        return 0.0
    return sum(x == y for x, y in zip(a, b, strict=True)) / len(a)


def punch_event_data(punch: Punch, user: User | None) -> dict[str, Any]:
    """The ``data`` of the AccessControl event sent for a punch (Dahua value sets).

    A refused attempt has Status 0, its ErrorCode and a ``Reason`` text.
    """
    state = punch.state.value if punch.state is not None else ""
    data: dict[str, Any] = {
        "AttendanceState": attendance_state_code(state),
        "CardName": user.name if user else "",
        "CardNo": punch.card_no,
        "CardType": punch.card_type,
        "CreateTime": int(punch.at.timestamp()),
        "Door": 0,
        "ErrorCode": punch.error_code,
        "Method": METHOD_CODES.get(punch.method, -1),
        "ReaderID": "1",
        "RecNo": punch.rec_no,
        "Status": STATUS_SUCCESS if punch.success else STATUS_FAILURE,
        "Type": direction(state),
        "UTC": int(punch.at.timestamp()),
        "UserID": str(punch.user_id) if punch.user_id else "",
        "UserType": 0,
    }
    if not punch.success:
        data["Reason"] = punch.reason
    return data


def record_fields(punch: Punch, user: User | None) -> dict[str, str]:
    """One punch as ``AccessControlCardRec`` record fields, in the device's (sorted) order."""
    data = punch_event_data(punch, user)
    keep = sorted(set(data) - {"UTC", "UserType"})
    return {key: str(data[key]) for key in keep}
