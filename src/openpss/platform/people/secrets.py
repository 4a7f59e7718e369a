"""Person passwords (PINs) are stored encrypted, not hashed: devices need them in clear."""

from __future__ import annotations

from openpss.platform import crypto

PURPOSE = "person password"


def encrypt_pin(pin: str, *, secret_key: str) -> str:
    """Encrypt a PIN for storage."""
    return crypto.encrypt_secret(secret_key, pin, purpose=PURPOSE)


def decrypt_pin(token: str, *, secret_key: str) -> str:
    """Decrypt a stored PIN; ValueError (SecretDecryptError) if the secret key changed."""
    return crypto.decrypt_secret(secret_key, token, purpose=PURPOSE)
