"""Device password encryption and host validation."""

from __future__ import annotations

import pytest

from openpss.platform.devices.crypto import SecretDecryptError, decrypt_secret, encrypt_secret
from openpss.platform.devices.schemas import validate_host
from openpss.platform.settings import Settings


def _settings(secret: str) -> Settings:
    return Settings(environment="test", secret_key=secret)


def test_round_trip_and_not_clear_text() -> None:
    settings = _settings("first-secret-key-0123456789")
    token = encrypt_secret(settings, "Adm1n!pass")
    assert "Adm1n" not in token
    assert token != encrypt_secret(settings, "Adm1n!pass")  # random IV per token
    assert decrypt_secret(settings, token) == "Adm1n!pass"


def test_other_secret_key_cannot_decrypt() -> None:
    token = encrypt_secret(_settings("first-secret-key-0123456789"), "pw")
    with pytest.raises(SecretDecryptError, match="OPENPSS_SECRET_KEY changed"):
        decrypt_secret(_settings("other-secret-key-0123456789"), token)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("192.168.1.108", "192.168.1.108"),
        ("::1", "::1"),
        ("[fe80::1]", "fe80::1"),
        ("Door-1.Example.com", "door-1.example.com"),
        ("localhost", "localhost"),
    ],
)
def test_valid_hosts(given: str, expected: str) -> None:
    assert validate_host(given) == expected


@pytest.mark.parametrize(
    "bad", ["", "256.1.1.1", "-bad.example", "a..b", "under_score.com", "1.2.3"]
)
def test_invalid_hosts(bad: str) -> None:
    with pytest.raises(ValueError):
        validate_host(bad)


def test_a_token_for_one_purpose_never_decrypts_as_another() -> None:
    """Guards platform/crypto.py's per-purpose keys: a device password is not a person's PIN."""
    from openpss.platform.people.secrets import decrypt_pin

    settings = _settings("shared-secret-key-0123456789")
    token = encrypt_secret(settings, "123456")
    with pytest.raises(SecretDecryptError, match="person password"):
        decrypt_pin(token, secret_key=settings.secret_key)
