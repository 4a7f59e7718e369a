"""Reversible encryption of secrets the platform must use in clear (device passwords, PINs).

Fernet (AES-128-CBC + HMAC-SHA256) with a key derived from `OPENPSS_SECRET_KEY` by HKDF-SHA256.
Each use passes its own `purpose`, so a token made for one kind of secret never decrypts as
another. Rotating the secret key makes old tokens unreadable: those secrets must be set again.
"""

from __future__ import annotations

import base64
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_HKDF_SALT = b"openpss"


class SecretDecryptError(ValueError):
    """A stored secret cannot be decrypted (the secret key changed or the value is damaged)."""


@lru_cache(maxsize=16)
def _fernet(secret_key: str, purpose: str) -> Fernet:
    info = f"openpss {purpose} encryption v1".encode()
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=_HKDF_SALT, info=info)
    return Fernet(base64.urlsafe_b64encode(hkdf.derive(secret_key.encode("utf-8"))))


def encrypt_secret(secret_key: str, text: str, *, purpose: str) -> str:
    """Encrypt `text` for storage (an ASCII token; a fresh IV each time)."""
    return _fernet(secret_key, purpose).encrypt(text.encode("utf-8")).decode("ascii")


def decrypt_secret(secret_key: str, token: str, *, purpose: str) -> str:
    """Decrypt a token made by encrypt_secret with the same purpose; SecretDecryptError if not."""
    try:
        return _fernet(secret_key, purpose).decrypt(token.encode("ascii")).decode("utf-8")
    except (InvalidToken, UnicodeError) as exc:
        raise SecretDecryptError(
            f"stored {purpose} cannot be decrypted: OPENPSS_SECRET_KEY changed or the value "
            f"is damaged; set the {purpose} again"
        ) from exc
