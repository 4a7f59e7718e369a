"""Who a credential belongs to and whether the terminal accepts it (manual 2.8, 2.14), no I/O.

Pure functions over the terminal's users and settings; ``Terminal`` (model.py) calls them and
keeps the state they read.

Fingerprints: a template is opaque bytes. A presented template matches a stored one when both
have the same length and at least ``FINGERPRINT_MATCH_RATIO`` of their bytes are equal (so a
slightly noisy re-scan of the same finger still matches).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from openpss.attendance.punches import AttendanceState, EventMode, EventModeConfig, StateSwitch
from openpss.attendance.terminal import parse_hhmm
from openpss.devices.attendance.entities import (
    TerminalError,
    User,
    fingerprint_similarity,
    normalize_card,
)
from openpss.devices.attendance.settings import NULL_STATE, DeviceSettings

FINGERPRINT_MATCH_RATIO = 0.9
# Features > Verification Method (manual 2.8.5): the credentials each setting accepts.
ALLOWED_BY_SETTING = {
    "FP": {"fingerprint"},
    "PWD": {"password"},
    "Card": {"card"},
    "FP/PWD/Card": {"fingerprint", "password", "card"},
    "FP/PWD": {"fingerprint", "password"},
}
METHOD_NAMES = {"fingerprint": "FP", "password": "PWD", "card": "Card"}
CREDENTIAL_METHODS = ("card", "fingerprint", "password")


def identify(
    users: Mapping[int, User],
    card_owner: Mapping[str, int],
    *,
    card: str | None = None,
    user_id: int | None = None,
    password: str | None = None,
    fingerprint: bytes | None = None,
) -> tuple[User, str]:
    """The user a credential belongs to, and the method used; TerminalError if none."""
    if card is not None:
        owner = card_owner.get(normalize_card(card))
        if owner is None:
            raise TerminalError("card not registered")
        return users[owner], "card"
    if fingerprint is not None:
        return match_fingerprint(users, fingerprint), "fingerprint"
    if user_id is not None and password is not None:
        user = users.get(user_id)
        if user is None or not user.password or user.password != password:
            raise TerminalError("wrong user ID or password")
        return user, "password"
    raise TerminalError("present a card, a fingerprint, or a user ID and password")


def match_fingerprint(users: Mapping[int, User], template: bytes) -> User:
    """The user with the most similar stored template; TerminalError below the match ratio."""
    best: tuple[float, User | None] = (0.0, None)
    for user in users.values():
        for stored in user.fingerprints:
            score = fingerprint_similarity(stored, template)
            if score > best[0]:
                best = (score, user)
    if best[1] is None or best[0] < FINGERPRINT_MATCH_RATIO:
        raise TerminalError("fingerprint not recognized")
    return best[1]


def method_refusal(settings: DeviceSettings, method: str) -> str | None:
    """Why the verification method setting refuses `method`, or None when it is accepted."""
    if method in ALLOWED_BY_SETTING[settings.verification_method]:
        return None
    return (
        f"{METHOD_NAMES[method]} is not allowed: verification method is "
        f"{settings.verification_method}"
    )


def credential_method(credential: Mapping[str, Any]) -> str | None:
    """Which kind of credential was presented (for a refused attempt's event), if any."""
    return next((m for m in CREDENTIAL_METHODS if credential.get(m) is not None), None)


def event_mode_config(settings: DeviceSettings) -> EventModeConfig:
    """The engine's view of the attendance event mode settings."""
    rows = [(r.time, r.state) for r in settings.state_switches if r.state != NULL_STATE]
    switches = tuple(
        StateSwitch(dt.time(*divmod(parse_hhmm(t), 60)), AttendanceState(s)) for t, s in rows
    )
    return EventModeConfig(
        mode=EventMode(settings.event_mode),
        switches=switches,
        fixed_state=AttendanceState(settings.fixed_state),
    )
