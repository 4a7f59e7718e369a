"""Encryption of person passwords (PINs): devices need them in clear, so they are not hashed.

The Fernet key is derived from the platform's `secret_key`; changing that key makes the stored
PINs unreadable (they must then be set again).
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken

_CONTEXT = b"openpss.people.password:"


def _fernet(secret_key: str) -> Fernet:
    digest = hashlib.sha256(_CONTEXT + secret_key.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def encrypt_pin(pin: str, *, secret_key: str) -> str:
    """Encrypt a PIN for storage."""
    return _fernet(secret_key).encrypt(pin.encode()).decode()


def decrypt_pin(token: str, *, secret_key: str) -> str:
    """Decrypt a stored PIN; ValueError if the secret key changed since it was stored."""
    try:
        return _fernet(secret_key).decrypt(token.encode()).decode()
    except InvalidToken:
        raise ValueError("stored password cannot be decrypted with this secret key") from None
