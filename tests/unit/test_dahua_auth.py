"""Digest nonce counts (replay), stale nonces and the login lockout, without sockets."""

from __future__ import annotations

import random

import pytest

from openpss.protocols.dahua_http.codec import DahuaProtocolError
from openpss.protocols.dahua_http.digest import (
    NC_WINDOW,
    NONCE_LIFETIME_S,
    DigestCredentials,
    NonceBook,
    NonceStatus,
    parse_nc,
)
from openpss.protocols.dahua_http.lockout import (
    DEFAULT_LOCK_SECONDS,
    DEFAULT_MAX_FAILURES,
    LoginLockout,
)
from openpss.protocols.dahua_http.server import uri_matches_target


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_nonce_count_is_single_use_but_may_arrive_out_of_order() -> None:
    book = NonceBook(clock=Clock())
    nonce = book.issue()
    assert book.use(nonce, "00000001") is NonceStatus.fresh
    assert book.use(nonce, "00000001") is NonceStatus.replay
    assert book.use(nonce, "00000003") is NonceStatus.fresh
    assert book.use(nonce, "00000002") is NonceStatus.fresh  # concurrent requests reorder
    assert book.use(nonce, "00000002") is NonceStatus.replay
    far = f"{3 + NC_WINDOW + 5:08x}"
    assert book.use(nonce, far) is NonceStatus.fresh
    assert book.use(nonce, "00000004") is NonceStatus.replay  # fell out of the window


def test_nonce_counts_are_per_nonce_and_expire_as_stale() -> None:
    clock = Clock()
    book = NonceBook(clock=clock)
    first, second = book.issue(), book.issue()
    assert book.use(first, "00000001") is NonceStatus.fresh
    assert book.use(second, "00000001") is NonceStatus.fresh
    assert book.use("never-issued", "00000001") is NonceStatus.stale
    clock.now += NONCE_LIFETIME_S + 1
    assert book.use(first, "00000002") is NonceStatus.stale
    assert not book.is_fresh(second)


@pytest.mark.parametrize("nc", ["1", "0000000g", "00000000", "000000001", ""])
def test_malformed_nonce_counts_are_refused(nc: str) -> None:
    with pytest.raises(DahuaProtocolError, match="nc must be 8 hex digits"):
        parse_nc(nc)
    header = (
        f'Digest username="a", realm="r", nonce="n", uri="/", response="x", nc={nc}, cnonce="c"'
    )
    with pytest.raises(DahuaProtocolError):
        DigestCredentials.parse(header)


def test_five_failures_lock_account_and_address_for_five_minutes() -> None:
    clock = Clock()
    lockout = LoginLockout(clock=clock)
    assert (DEFAULT_MAX_FAILURES, DEFAULT_LOCK_SECONDS) == (5, 300.0)
    for _ in range(DEFAULT_MAX_FAILURES - 1):
        assert lockout.failed("admin", "10.0.0.1") == 0.0
    assert lockout.locked_for("admin", "10.0.0.1") == 0.0
    assert lockout.failed("admin", "10.0.0.1") == 300.0
    assert lockout.locked_for("admin", "10.0.0.1") == 300.0
    assert lockout.locked_for("admin", "10.0.0.2") == 300.0  # the account is locked
    assert lockout.locked_for("other", "10.0.0.1") == 300.0  # and so is the source address
    assert lockout.locked_for("other", "10.0.0.2") == 0.0
    clock.now += 120
    assert lockout.locked_for("admin", "10.0.0.2") == 180.0
    clock.now += 181
    assert lockout.locked_for("admin", "10.0.0.1") == 0.0
    assert lockout.failed("admin", "10.0.0.1") == 0.0  # a new count after the lock ended


def test_success_resets_the_count() -> None:
    lockout = LoginLockout(max_failures=3, lock_seconds=60, clock=Clock())
    lockout.failed("admin", "a")
    lockout.failed("admin", "a")
    lockout.succeeded("admin", "a")
    lockout.failed("admin", "a")
    lockout.failed("admin", "a")
    assert lockout.locked_for("admin", "a") == 0.0
    assert lockout.failed("admin", "a") == 60.0


def test_lockout_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        LoginLockout(max_failures=0)
    with pytest.raises(ValueError, match="1-60 minutes"):
        LoginLockout(lock_seconds=5)


def test_other_digest_algorithms_are_refused_not_counted_as_wrong_passwords() -> None:
    header = (
        'Digest username="admin", realm="r", nonce="n", uri="/", response="x", '
        'algorithm=SHA-256, qop=auth, nc=00000001, cnonce="c"'
    )
    with pytest.raises(DahuaProtocolError, match="only algorithm=MD5 is supported"):
        DigestCredentials.parse(header)
    assert DigestCredentials.parse(header.replace("SHA-256", "MD5")).nc == "00000001"


def test_digest_uri_comparison_covers_the_query() -> None:
    target = "/cgi-bin/eventManager.cgi?action=attach&codes=%5BAll%5D"
    assert uri_matches_target("/cgi-bin/eventManager.cgi?action=attach&codes=[All]", target)
    assert uri_matches_target(
        "http://10.0.0.5/cgi-bin/eventManager.cgi?action=attach&codes=[All]", target
    )
    get = "/cgi-bin/configManager.cgi?action=getConfig&name=General"
    assert not uri_matches_target(get, "/cgi-bin/configManager.cgi?action=setConfig&name=General")
    assert not uri_matches_target(get, "/cgi-bin/configManager.cgi")
    assert not uri_matches_target("/a?name=x%26action%3DsetConfig", "/a?name=x&action=setConfig")


def test_random_key_failure_flood_keeps_a_real_lock() -> None:
    now = [0.0]
    lockout = LoginLockout(clock=lambda: now[0])
    for _ in range(5):
        lockout.failed("admin", "192.0.2.7")
    assert lockout.locked_for("admin", "192.0.2.7") == 300
    rng = random.Random(8)
    for n in range(3500):  # 7,000 new keys against a table of 4,096
        now[0] += 0.01
        lockout.failed(f"user{rng.getrandbits(48):x}", f"10.{n >> 8 & 255}.{n & 255}.{n % 7}")
    assert lockout.locked_for("admin", "203.0.113.1") > 0  # the account lock survived
    assert lockout.locked_for("nobody", "192.0.2.7") > 0  # and the address lock
    now[0] += 300
    assert lockout.locked_for("admin", "192.0.2.7") == 0  # locks still expire
