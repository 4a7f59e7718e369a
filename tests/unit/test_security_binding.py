"""Account binding helpers and the maximum password age."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import ValidationError

from openpss.platform.db import utcnow
from openpss.platform.errors import Invalid
from openpss.platform.security.auth import password_expired
from openpss.platform.security.binding import address_allowed, parse_networks
from openpss.platform.security.models import Account
from openpss.platform.security.service import decoy_questions
from openpss.platform.settings import Settings


def test_parse_networks_normalizes_and_deduplicates() -> None:
    entries = ["10.0.0.7/24, 10.0.0.0/24", "192.168.1.20\n2001:db8::1/64"]
    assert parse_networks(entries) == ["10.0.0.0/24", "192.168.1.20/32", "2001:db8::/64"]
    assert parse_networks(["", "  "]) == []


BAD = ["10.0.0.256", "example.com", "10.0.0.0/33", "10.0.0.0/255.0.255.0"]


@pytest.mark.parametrize("entry", BAD)
def test_parse_networks_names_the_bad_entry(entry: str) -> None:
    with pytest.raises(Invalid, match="is not an IP address or network"):
        parse_networks([f"10.0.0.1 {entry}"])


def test_parse_networks_limits_the_count() -> None:
    with pytest.raises(Invalid, match="at most 32"):
        parse_networks([f"10.0.{i}.1" for i in range(33)])


def test_address_allowed() -> None:
    assert address_allowed([], "anything")
    assert address_allowed(["10.0.0.0/24"], "10.0.0.200")
    assert not address_allowed(["10.0.0.0/24"], "10.0.1.1")
    assert address_allowed(["10.0.0.0/24"], "::ffff:10.0.0.3")  # IPv4-mapped IPv6
    assert not address_allowed(["10.0.0.0/24"], "testclient")  # not an address: refused
    assert address_allowed(["2001:db8::/64"], "2001:db8::42")


def test_password_expired() -> None:
    now = utcnow()
    account = Account(password_changed_at=now - dt.timedelta(days=30))
    assert not password_expired(account, 0, now)
    assert not password_expired(account, 31, now)
    assert password_expired(account, 30, now)


def test_password_max_age_setting() -> None:
    settings = Settings(environment="test", password_max_age_days=90)
    assert settings.password_max_age_days == 90
    assert Settings(environment="test").password_max_age_days == 0
    with pytest.raises(ValidationError):
        Settings(environment="test", password_max_age_days=-1)


def test_decoy_questions_are_stable_and_keyed() -> None:
    first = decoy_questions("Nobody", "secret-one-0123456")
    assert first == decoy_questions(" nobody ", "secret-one-0123456")
    assert len(set(first)) == 3
    others = {tuple(decoy_questions(f"name{i}", "secret-one-0123456")) for i in range(20)}
    assert len(others) > 1
