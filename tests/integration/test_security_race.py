"""Simultaneous failed logins from a new address: no unique-constraint error, every one counts."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from openpss.platform.app import create_app
from openpss.platform.db import make_engine, make_session_factory
from openpss.platform.security.auth import LockPolicy, register_failure
from openpss.platform.security.models import Account, IpLock, Role
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
    """The first transaction has inserted the address's row but not committed yet."""
    with factory() as s:
        account_id = add_account(s, "racer", Role.viewer, "Str0ng!Passw0rd").id
        s.commit()
    outcome: dict[str, object] = {}

    def second() -> None:
        with factory() as s:
            account = s.get(Account, account_id)  # read before the first one commits
            try:
                register_failure(session=s, account=account, source_ip=ADDRESS, policy=POLICY,
                                 reason="test")  # fmt: skip
                s.commit()
                outcome["ok"] = True
            except Exception as exc:  # the bug: IntegrityError on ip_lock.source_ip
                outcome["error"] = exc

    with factory() as first:
        account = first.get(Account, account_id)
        register_failure(session=first, account=account, source_ip=ADDRESS, policy=POLICY,
                         reason="test")  # fmt: skip
        first.flush()
        thread = threading.Thread(target=second)
        thread.start()
        time.sleep(0.5)  # let the second transaction reach the row (it must wait for us)
        first.commit()
    thread.join()
    assert outcome == {"ok": True}
    with factory() as s:
        row = s.scalar(select(IpLock).where(IpLock.source_ip == ADDRESS))
        assert row is not None and row.failed_logins == 2
        counted = s.get(Account, account_id)
        assert counted is not None and counted.failed_logins == 2


def test_simultaneous_wrong_logins_over_http(settings: Settings) -> None:
    app = create_app(settings)
    with app.state.session_factory() as s:
        add_account(s, "racer", Role.viewer, "Str0ng!Passw0rd")
        s.commit()
    threads_count = 4
    barrier = threading.Barrier(threads_count)
    statuses: list[int] = []
    lock = threading.Lock()

    def attempt(client: TestClient) -> None:
        barrier.wait()
        data = {"username": "racer", "password": "Wr0ng!Password"}
        response: httpx.Response = client.post("/login", data=data, follow_redirects=False)
        with lock:
            statuses.append(response.status_code)

    with TestClient(app, raise_server_exceptions=False, client=(ADDRESS, 40000)) as client:
        threads = [threading.Thread(target=attempt, args=(client,)) for _ in range(threads_count)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert statuses == [401] * threads_count
    with app.state.session_factory() as s:
        row = s.scalar(select(IpLock).where(IpLock.source_ip == ADDRESS))
        assert row is not None and row.failed_logins == threads_count
        account = s.scalar(select(Account).where(Account.username == "racer"))
        assert account is not None and account.failed_logins == threads_count
    app.state.engine.dispose()
