"""Device passwords are stored encrypted, not hashed: the platform must log in with them."""

from __future__ import annotations

from openpss.platform import crypto
from openpss.platform.crypto import SecretDecryptError
from openpss.platform.settings import Settings

__all__ = ["SecretDecryptError", "decrypt_secret", "encrypt_secret"]
PURPOSE = "device password"


def encrypt_secret(settings: Settings, text: str) -> str:
    """Encrypt a device password with the key derived from the settings' secret key."""
    return crypto.encrypt_secret(settings.secret_key, text, purpose=PURPOSE)


def decrypt_secret(settings: Settings, token: str) -> str:
    """Decrypt a stored device password; SecretDecryptError says what to do when it cannot."""
    return crypto.decrypt_secret(settings.secret_key, token, purpose=PURPOSE)
