"""Reversible encryption of stored device passwords (the platform must log in with them).

Fernet (AES-128-CBC + HMAC-SHA256) with a key derived from `settings.secret_key` by HKDF-SHA256,
so rotating the secret key makes old tokens unreadable (they must be re-entered).
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from openpss.platform.settings import Settings

_HKDF_INFO = b"openpss device password encryption v1"
_HKDF_SALT = b"openpss"


class SecretDecryptError(ValueError):
    """A stored secret cannot be decrypted (wrong secret key or damaged value)."""


def _fernet(secret_key: str) -> Fernet:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=_HKDF_SALT, info=_HKDF_INFO)
    key = hkdf.derive(secret_key.encode("utf-8"))
    return Fernet(base64.urlsafe_b64encode(key))


def encrypt_secret(settings: Settings, text: str) -> str:
    """Encrypt `text` with the key derived from the settings' secret key (ASCII token)."""
    return _fernet(settings.secret_key).encrypt(text.encode("utf-8")).decode("ascii")


def decrypt_secret(settings: Settings, token: str) -> str:
    """Decrypt a token made by encrypt_secret; raise SecretDecryptError with a clear reason."""
    try:
        return _fernet(settings.secret_key).decrypt(token.encode("ascii")).decode("utf-8")
    except (InvalidToken, UnicodeError) as exc:
        raise SecretDecryptError(
            "stored device password cannot be decrypted: OPENPSS_SECRET_KEY changed or the "
            "value is damaged; set the device password again"
        ) from exc
