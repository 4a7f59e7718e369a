"""Checks on access users the platform pushes (room unlock passwords, cards, fingerprints)."""

from __future__ import annotations

import re

from openpss.devices.vto.entities import AccessUser, VtoError

MAX_USER_ID_LENGTH = 32  # ours: a room number or a person's ID
MAX_PASSWORD_DIGITS = 8  # ours: unlock passwords are digits (platform 2.3: 888888)
MAX_CARDS_PER_USER = 10  # ours
MAX_FINGERPRINTS_PER_USER = 3  # ours, as the attendance terminal
MAX_TEMPLATE_BYTES = 4096
MAX_USERS = 10_000  # ours
USER_ID = re.compile(rf"[0-9A-Za-z#_-]{{1,{MAX_USER_ID_LENGTH}}}")
CARD_NO = re.compile(r"[0-9A-Z]{1,32}")


def check_user(user: AccessUser, users: dict[str, AccessUser]) -> AccessUser:
    """Validate one user against the others (unique cards, limits)."""
    if not USER_ID.fullmatch(user.user_id):
        raise VtoError(f"UserID must be 1-{MAX_USER_ID_LENGTH} letters or digits")
    if user.user_id not in users and len(users) >= MAX_USERS:
        raise VtoError(f"the unit holds at most {MAX_USERS} users")
    password = user.password
    if password and not (password.isdigit() and len(password) <= MAX_PASSWORD_DIGITS):
        raise VtoError(f"unlock password must be 1-{MAX_PASSWORD_DIGITS} digits")
    if len(user.cards) > MAX_CARDS_PER_USER:
        raise VtoError(f"a user has at most {MAX_CARDS_PER_USER} cards")
    for card in user.cards:
        if not CARD_NO.fullmatch(card):
            raise VtoError(f"card number {card!r} must be 1-32 upper-case letters or digits")
        owner = next((u for u in users.values() if card in u.cards), None)
        if owner is not None and owner.user_id != user.user_id:
            raise VtoError(f"card {card} already belongs to user {owner.user_id}")
    if len(user.fingerprints) > MAX_FINGERPRINTS_PER_USER:
        raise VtoError(f"a user has at most {MAX_FINGERPRINTS_PER_USER} fingerprints")
    if any(not 0 < len(fp) <= MAX_TEMPLATE_BYTES for fp in user.fingerprints):
        raise VtoError(f"a fingerprint template is 1-{MAX_TEMPLATE_BYTES} bytes")
    index = user.duress_fingerprint
    if index is not None and not 0 <= index < len(user.fingerprints):
        raise VtoError("the duress fingerprint must be one of the user's fingerprints")
    return user
