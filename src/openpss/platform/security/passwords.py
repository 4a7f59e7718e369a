"""Password hashing (argon2id) and the manuals' password rules."""

from __future__ import annotations

import string

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from openpss.platform.errors import Invalid

_hasher = PasswordHasher()

SPECIAL = set(string.punctuation)


class PasswordRuleError(Invalid):
    """A password that breaks the platform's password rule; the message says which part."""

    def __init__(self, message: str) -> None:
        super().__init__(message, field="password")


def hash_password(password: str) -> str:
    """An argon2id hash of the password."""
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """True when the password matches the hash."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def is_special(char: str) -> bool:
    """Punctuation and symbols: anything that is not a letter, digit or blank."""
    return char in SPECIAL or not (char.isalnum() or char.isspace())


def character_classes(password: str) -> int:
    """How many of upper, lower, digit and special characters the password uses."""
    return sum(
        (
            any(c.isupper() for c in password),
            any(c.islower() for c in password),
            any(c.isdigit() for c in password),
            any(is_special(c) for c in password),
        )
    )


def _has_sequence(password: str, length: int = 3) -> bool:
    """A run of `length` consecutive ascending or descending characters (123, abc, 321)."""
    lowered = password.lower()
    for i in range(len(lowered) - length + 1):
        chunk = lowered[i : i + length]
        if not (chunk.isdigit() or chunk.isalpha()):
            continue
        steps = {ord(chunk[j + 1]) - ord(chunk[j]) for j in range(length - 1)}
        if steps in ({1}, {-1}):
            return True
    return False


def _has_repeat(password: str, length: int = 3) -> bool:
    """The same character `length` times in a row (111, aaa)."""
    return any(len(set(password[i : i + length])) == 1 for i in range(len(password) - length + 1))


def check_password_rule(password: str, username: str) -> None:
    """Raise PasswordRuleError unless the password meets the platform's rule."""
    if not 8 <= len(password) <= 32:
        raise PasswordRuleError("password must be 8 to 32 characters long")
    if any(c.isspace() for c in password):
        raise PasswordRuleError("password must not contain blanks")
    if character_classes(password) < 2:
        raise PasswordRuleError(
            "password must combine at least two of: upper-case letters, lower-case letters, "
            "digits, special characters"
        )
    name = username.lower()
    if name and (name in password.lower() or name[::-1] in password.lower()):
        raise PasswordRuleError("password must not contain the account name or its reverse")
    if _has_sequence(password):
        raise PasswordRuleError("password must not contain runs such as 123, abc or 321")
    if _has_repeat(password):
        raise PasswordRuleError("password must not repeat a character three times (111, aaa)")


def strength(password: str) -> str:
    """Weak / medium / strong, as the strength meter shows it."""
    classes = character_classes(password)
    if len(password) < 8 or classes < 2:
        return "weak"
    if classes >= 3 and len(password) >= 10:
        return "strong"
    return "medium"
