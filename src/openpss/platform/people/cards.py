"""Card numbers: canonical storage and the system-wide card issuing type (manual 1.3).

Canonical form: upper-case hexadecimal without leading zeros, left-padded to at least 8 digits
(32-bit ID/IC cards are 8 hex digits), at most 16 digits (64 bits). It is stored in
`Card.number`; `Card.number_dec` holds the same value in decimal. What the user types and sees
follows the card issuing type: hexadecimal (the default) or decimal.
"""

from __future__ import annotations

import enum
import re

from sqlalchemy.orm import Session

from openpss.platform.errors import DomainError, Invalid
from openpss.platform.people.audit import audit_change
from openpss.platform.people.models import PeopleSetting
from openpss.platform.security.audit import Actor

CARD_MODE_KEY = "card_issuing_type"
MAX_CARD_VALUE = 2**64 - 1
_HEX = re.compile(r"[0-9A-Fa-f]{1,16}")
_DEC = re.compile(r"[0-9]{1,20}")


class CardMode(enum.StrEnum):
    """The card issuing type: how card numbers are entered and shown."""

    hex = "hex"
    decimal = "decimal"


def canonical(value: int) -> str:
    """The stored form of a card number value."""
    return format(value, "08X")


def parse_card(text: str, mode: CardMode | str = CardMode.hex) -> str:
    """Parse a card number typed in `mode` and return its canonical hex form."""
    raw = text.strip()
    if not raw:
        raise Invalid("card number is empty")
    if CardMode(mode) is CardMode.hex:
        if not _HEX.fullmatch(raw):
            raise Invalid(
                f"card number {raw!r} is not hexadecimal (1-16 digits 0-9, A-F); "
                "switch the card issuing type to decimal to enter decimal numbers"
            )
        value = int(raw, 16)
    else:
        if not _DEC.fullmatch(raw):
            raise Invalid(f"card number {raw!r} is not decimal (1-20 digits 0-9)")
        value = int(raw)
    if value == 0 or value > MAX_CARD_VALUE:
        raise Invalid(f"card number {raw!r} is out of range (1 to 2^64-1)")
    return canonical(value)


def to_decimal(number: str) -> str:
    """The decimal form of a canonical card number."""
    return str(int(number, 16))


def format_card(value: str, mode: CardMode | str) -> str:
    """Show a canonical card number in the given card issuing type."""
    return to_decimal(value) if CardMode(mode) is CardMode.decimal else value


def search_prefix(text: str, mode: CardMode | str) -> tuple[str, str] | None:
    """(column, prefix) for a card search typed in `mode`, or None when it cannot match."""
    raw = text.strip()
    if CardMode(mode) is CardMode.decimal:
        return ("number_dec", raw) if _DEC.fullmatch(raw) else None
    if not _HEX.fullmatch(raw):
        return None
    # Canonical numbers carry leading zeros up to 8 digits; keep a typed zero prefix meaningful.
    return ("number", raw.upper())


def qr_allowed(number: str, mode: CardMode | str) -> bool:
    """Only an 8-digit card number in hexadecimal mode has a QR code (manual 1.4.1)."""
    return CardMode(mode) is CardMode.hex and len(number) == 8


def get_card_mode(session: Session) -> CardMode:
    """The card issuing type chosen for the system (hexadecimal by default)."""
    row = session.get(PeopleSetting, CARD_MODE_KEY)
    return CardMode(row.value) if row else CardMode.hex


def set_card_mode(
    session: Session, mode: CardMode | str, *, actor: Actor | None = None
) -> CardMode:
    """Store the card issuing type; every screen, export and record follows it."""
    try:
        chosen = CardMode(mode)
    except ValueError:
        raise Invalid(f"card issuing type must be 'hex' or 'decimal', not {mode!r}") from None
    row = session.get(PeopleSetting, CARD_MODE_KEY)
    if row is None:
        session.add(PeopleSetting(key=CARD_MODE_KEY, value=chosen.value))
    else:
        row.value = chosen.value
    session.flush()
    audit_change(session, actor, "card_mode.set", target=chosen.value)
    return chosen


def display_card(session: Session, value: str, mode: CardMode | None = None) -> str:
    """Show a canonical card number (e.g. from a record) in the system's card issuing type.

    `mode` saves reading the setting again when showing many cards (a page of records).
    """
    if not value:
        return value
    try:
        return format_card(parse_card(value, CardMode.hex), mode or get_card_mode(session))
    except DomainError:
        return value  # not a hex card number (e.g. a foreign record): show it as it is
