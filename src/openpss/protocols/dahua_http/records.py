"""Value sets of ``AccessControlCardRec`` records and ``AccessControl`` events (pure).

Real Dahua access/attendance terminals send numbers, not names (public Dahua HTTP API and
NetSDK enumerations; captured answers look like ``records[0].AttendanceState=0``,
``records[0].Method=15``, ``records[0].Status=1``, ``records[0].Type=Entry``):

- ``Method`` (how the person was verified): 0 password, 1 card, 2 card then password,
  3 password then card, 4 remote, 5 button, 6 fingerprint, 7 password + card + fingerprint,
  9 password + fingerprint, 10 card + fingerprint, 15 face.
- ``AttendanceState``: 0 none/unknown, 1 check in, 2 break out ("go out"), 3 break in ("go out
  and return"), 4 check out, 5 overtime in, 6 overtime out.
- ``Status``: 1 success, 0 failure; ``ErrorCode`` says why a failure happened (0 none,
  0x10 unauthorized / not registered, 0x13 verification method not allowed, 0x14 outside the
  user's validity period, 0x17 the door is set always closed). openpss devices add a
  ``Reason`` text to failed records.
- ``CardType`` (AccessCard): 0 general, 1 VIP, 2 guest, 3 patrol, 4 blacklist, 5 duress. A
  duress card opens as usual and raises a ``Duress`` event (the silent alarm).
- ``Type``: ``Entry`` or ``Exit``.

``attendance_state_name`` and ``method_name`` read either form (numbers from devices, or the
names older openpss terminals sent), so a reader works with both.
"""

from __future__ import annotations

METHOD_CODES: dict[str, int] = {
    "password": 0,
    "card": 1,
    "card_then_password": 2,
    "password_then_card": 3,
    "remote": 4,
    "button": 5,
    "fingerprint": 6,
    "password_card_fingerprint": 7,
    "password_fingerprint": 9,
    "card_fingerprint": 10,
    "face": 15,
}
ATTENDANCE_STATE_CODES: dict[str, int] = {
    "CheckIn": 1,
    "BreakOut": 2,
    "BreakIn": 3,
    "CheckOut": 4,
    "OvertimeIn": 5,
    "OvertimeOut": 6,
}
EXIT_STATES = frozenset({"CheckOut", "BreakOut", "OvertimeOut"})
STATUS_SUCCESS, STATUS_FAILURE = 1, 0
ERROR_NONE = 0x00
ERROR_UNAUTHORIZED = 0x10
ERROR_METHOD = 0x13
ERROR_VALIDITY = 0x14
ERROR_DOOR_CLOSED = 0x17  # NetSDK: the door is in its normally-closed (always closed) state
ERROR_NAMES = {
    ERROR_UNAUTHORIZED: "unauthorized",
    ERROR_METHOD: "verification method not allowed",
    ERROR_VALIDITY: "outside validity period",
    ERROR_DOOR_CLOSED: "door always closed",
}
CARD_TYPE_GENERAL, CARD_TYPE_DURESS = 0, 5

_STATE_NAMES = {code: name for name, code in ATTENDANCE_STATE_CODES.items()}
_METHOD_NAMES = {code: name for name, code in METHOD_CODES.items()}


def attendance_state_code(name: str) -> int:
    """``CheckIn`` -> 1 ... ``OvertimeOut`` -> 6; anything else -> 0 (none)."""
    return ATTENDANCE_STATE_CODES.get(name, 0)


def attendance_state_name(value: object) -> str:
    """A record's ``AttendanceState`` (``"1"``, ``1`` or ``"CheckIn"``) as a name; "" for none."""
    text = str(value if value is not None else "").strip()
    if text.lstrip("-").isdigit():
        return _STATE_NAMES.get(int(text), "")
    return text if text in ATTENDANCE_STATE_CODES else ""


def method_name(value: object) -> str:
    """A record's ``Method`` (``"6"`` or ``6``) as a name; unknown codes stay as they are."""
    text = str(value if value is not None else "").strip()
    if text.isdigit():
        return _METHOD_NAMES.get(int(text), text)
    return text


def error_reason(code: object, text: object = "") -> str:
    """Why a record failed: the device's own ``Reason`` text, else the ``ErrorCode`` name."""
    reason = str(text or "").strip()
    if reason:
        return reason
    raw = str(code if code is not None else "").strip()
    try:
        number = int(raw, 0)
    except ValueError:
        return raw
    return ERROR_NAMES.get(number, f"error {raw}") if number else ""


def direction(state_name: str) -> str:
    """``Type`` of a record: ``Exit`` for check/break/overtime out, else ``Entry``."""
    return "Exit" if state_name in EXIT_STATES else "Entry"
