"""Parallel failed logins: no unique-constraint error, every one counts, and no more than the
lockout limit ever reach the password check (the attempt is counted before verifying)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from openpss.platform.app import create_app
from openpss.platform.db import make_engine, make_session_factory
from openpss.platform.security import auth
from openpss.platform.security.auth import LockPolicy, register_failure
from openpss.platform.security.models import Account, IpLock, Role
from openpss.platform.security.passwords import verify_password
from openpss.platform.settings import Settings
from tests.conftest import add_account

ADDRESS = "203.0.113.9"
POLICY = LockPolicy(attempts=5, minutes=30)


@pytest.fixture
def factory(db_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(db_url)
    yield make_session_factory(engine)
    engine.dispose()


def test_second_first_failure_waits_and_counts(factory: sessionmaker[Session]) -> None:
    """Two first failures from a new address at the same moment: no error, both count."""
    with factory() as s:
        account_id = add_account(s, "racer", Role.viewer, "Str0ng!Passw0rd").id
        s.commit()
    barrier = threading.Barrier(2)
    errors: list[Exception] = []

    def fail_once() -> None:
        with factory() as s:
            account = s.get(Account, account_id)
            barrier.wait()  # both reach the counting statement together
            try:
                register_failure(session=s, account=account, source_ip=ADDRESS, policy=POLICY,
                                 reason="test")  # fmt: skip
                s.commit()
            except Exception as exc:  # the old bug: IntegrityError on ip_lock.source_ip
                errors.append(exc)

    threads = [threading.Thread(target=fail_once) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with factory() as s:
        row = s.scalar(select(IpLock).where(IpLock.source_ip == ADDRESS))
        assert row is not None and row.failed_logins == 2
        counted = s.get(Account, account_id)
        assert counted is not None and counted.failed_logins == 2


@pytest.fixture
def verifications(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every password verification made by the login code (thread-safe)."""
    seen: list[str] = []
    guard = threading.Lock()

    def counting(stored: str, password: str) -> bool:
        with guard:
            seen.append(password)
        return verify_password(stored, password)

    monkeypatch.setattr(auth, "verify_password", counting)
    return seen


def _parallel_logins(app: FastAPI, addresses: list[str], password: str) -> list[int]:
    barrier = threading.Barrier(len(addresses))
    statuses: list[int] = []
    lock = threading.Lock()

    def attempt(address: str) -> None:
        client = TestClient(app, raise_server_exceptions=False, client=(address, 40000))
        barrier.wait()
        data = {"username": "racer", "password": password}
        response: httpx.Response = client.post("/login", data=data, follow_redirects=False)
        with lock:
            statuses.append(response.status_code)

    threads = [threading.Thread(target=attempt, args=(a,)) for a in addresses]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def _failed(app: FastAPI) -> tuple[int, bool]:
    with app.state.session_factory() as s:
        account = s.scalar(select(Account).where(Account.username == "racer"))
        assert account is not None
        return account.failed_logins, account.locked_until is not None


def test_thirty_parallel_wrong_logins_verify_at_most_the_limit(
    settings: Settings, verifications: list[str]
) -> None:
    """Same address: 30 at once, only 5 reach the password check; the rest are locked out."""
    app = create_app(settings)
    with app.state.session_factory() as s:
        add_account(s, "racer", Role.viewer, "Str0ng!Passw0rd")
        s.commit()
    statuses = _parallel_logins(app, [ADDRESS] * 30, "Wr0ng!Password")
    assert sorted(set(statuses)) == [401, 423] and statuses.count(401) == 4
    assert len(verifications) == POLICY.attempts
    with app.state.session_factory() as s:
        row = s.scalar(select(IpLock).where(IpLock.source_ip == ADDRESS))
        assert row is not None and row.failed_logins == POLICY.attempts
        assert row.locked_until is not None
    assert _failed(app) == (POLICY.attempts, True)
    app.state.engine.dispose()


def test_right_password_after_parallel_wrong_ones_from_many_addresses_is_refused(
    settings: Settings, verifications: list[str]
) -> None:
    """20 wrong passwords at once from 20 addresses lock the account; the right one is refused."""
    app = create_app(settings)
    with app.state.session_factory() as s:
        add_account(s, "racer", Role.viewer, "Str0ng!Passw0rd")
        s.commit()
    addresses = [f"198.51.100.{n}" for n in range(1, 21)]
    statuses = _parallel_logins(app, addresses, "Wr0ng!Password")
    assert statuses.count(401) == POLICY.attempts - 1 and statuses.count(423) == 16
    assert len(verifications) == POLICY.attempts
    right = _parallel_logins(app, ["198.51.100.99"], "Str0ng!Passw0rd")
    assert right == [423]
    assert len(verifications) == POLICY.attempts  # the right password was never checked
    assert _failed(app) == (POLICY.attempts, True)
    app.state.engine.dispose()
