"""Digest auth of the virtual terminal over real HTTP: lockout, replays, stale nonces."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from openpss.protocols.dahua_http.client import DahuaAuthError, DahuaClient
from openpss.protocols.dahua_http.digest import (
    NONCE_LIFETIME_S,
    NonceBook,
    digest_response,
    ha1_of,
    parse_auth_params,
)
from openpss.protocols.dahua_http.lockout import LoginLockout
from tests.support.dahua_device import ADMIN_PASSWORD, RunningDevice, running_device

SERIAL_PATH = "/cgi-bin/magicBox.cgi?action=getSerialNo"


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def device(tmp_path: Path) -> Iterator[RunningDevice]:
    with running_device(tmp_path) as running:
        yield running


def _get(device: RunningDevice, password: str) -> httpx.Response:
    return httpx.get(device.url + SERIAL_PATH, auth=httpx.DigestAuth("admin", password))


def test_five_wrong_passwords_lock_the_account(device: RunningDevice) -> None:
    clock = Clock()
    device.front.guard.lockout = LoginLockout(clock=clock)
    for attempt in range(4):
        refused = _get(device, f"Wrong{attempt}pw")
        assert refused.status_code == 401 and "Invalid Authority" in refused.text
    fifth = _get(device, "Wrong5pw")
    assert fifth.status_code == 401
    assert "User locked: too many failed logins, try again in 300 s" in fifth.text
    right = _get(device, ADMIN_PASSWORD)  # even the right password waits for the lock
    assert right.status_code == 401 and "User locked" in right.text
    clock.now += 299
    assert "try again in 1 s" in _get(device, ADMIN_PASSWORD).text
    clock.now += 1
    ok = _get(device, ADMIN_PASSWORD)
    assert ok.status_code == 200 and ok.text == f"sn={device.terminal.serial}\r\n"


async def test_our_client_reports_the_lock(device: RunningDevice) -> None:
    device.front.guard.lockout = LoginLockout(max_failures=2, lock_seconds=60, clock=Clock())
    async with DahuaClient(device.url, "admin", "not-it-1") as wrong:
        with pytest.raises(DahuaAuthError, match="Invalid Authority"):
            await wrong.device_info()
        with pytest.raises(DahuaAuthError, match="User locked"):
            await wrong.device_info()
    async with DahuaClient(device.url, "admin", ADMIN_PASSWORD) as right:
        with pytest.raises(DahuaAuthError, match="try again in 60 s"):
            await right.device_info()


def test_a_replayed_request_is_refused(device: RunningDevice) -> None:
    sent: list[httpx.Request] = []
    with httpx.Client(
        auth=httpx.DigestAuth("admin", ADMIN_PASSWORD),
        event_hooks={"request": [sent.append]},
    ) as client:
        assert client.get(device.url + SERIAL_PATH).status_code == 200
        assert client.get(device.url + SERIAL_PATH).status_code == 200  # nc=00000002
    authorization = sent[-1].headers["authorization"]
    assert "nc=00000002" in authorization
    replay = httpx.get(device.url + SERIAL_PATH, headers={"Authorization": authorization})
    assert replay.status_code == 401
    assert "request refused as a replay" in replay.text
    assert "stale" not in replay.headers["www-authenticate"].lower()


def test_expired_nonce_gets_stale_and_the_client_goes_on(device: RunningDevice) -> None:
    clock = Clock()
    device.front.guard.nonces = NonceBook(clock=clock)
    answers: list[httpx.Response] = []
    with httpx.Client(
        auth=httpx.DigestAuth("admin", ADMIN_PASSWORD),
        event_hooks={"response": [answers.append]},
    ) as client:
        assert client.get(device.url + SERIAL_PATH).status_code == 200
        clock.now += NONCE_LIFETIME_S + 1
        assert client.get(device.url + SERIAL_PATH).status_code == 200
    statuses = [r.status_code for r in answers]
    assert statuses == [401, 200, 401, 200]
    assert "stale=TRUE" in answers[2].headers["www-authenticate"]
    assert "stale" not in answers[0].headers["www-authenticate"]


def test_stale_nonce_with_wrong_password_is_not_stale(device: RunningDevice) -> None:
    first = httpx.get(device.url + SERIAL_PATH)
    nonce_header = first.headers["www-authenticate"]
    device.front.guard.nonces = NonceBook()  # a restarted device forgets its nonces
    auth = httpx.DigestAuth("admin", "Wrong123")
    request = httpx.Request("GET", device.url + SERIAL_PATH)
    flow = auth.sync_auth_flow(request)
    next(flow)
    challenged = httpx.Response(401, headers={"www-authenticate": nonce_header}, request=request)
    retried = flow.send(challenged)
    answer = httpx.get(retried.url, headers={"Authorization": retried.headers["authorization"]})
    assert answer.status_code == 401 and "Invalid Authority" in answer.text
    assert "stale" not in answer.headers["www-authenticate"].lower()


def test_malformed_authorization_does_not_count_as_a_wrong_password(
    device: RunningDevice,
) -> None:
    header = (
        'Digest username="admin", realm="Login to x", nonce="n", uri="/cgi-bin/magicBox.cgi", '
        'response="0", algorithm=SHA-256, qop=auth, nc=00000001, cnonce="c"'
    )
    for _ in range(6):
        answer = httpx.get(device.url + SERIAL_PATH, headers={"Authorization": header})
        assert answer.status_code == 401 and "only algorithm=MD5" in answer.text
    assert _get(device, ADMIN_PASSWORD).status_code == 200


GET_GENERAL = "/cgi-bin/configManager.cgi?action=getConfig&name=General"
SET_NAME = "/cgi-bin/configManager.cgi?action=setConfig&General.MachineName=Pwned"


def _signed_header(device: RunningDevice, uri: str, nc: str) -> str:
    """An Authorization header signed for ``uri`` on a fresh nonce the server issued."""
    challenge = httpx.get(device.url + GET_GENERAL)
    params = parse_auth_params(challenge.headers["www-authenticate"])
    ha1 = ha1_of("admin", params["realm"], ADMIN_PASSWORD)
    response = digest_response(
        ha1=ha1, method="GET", uri=uri, nonce=params["nonce"], nc=nc, cnonce="0a4f113b"
    )
    return (
        f'Digest username="admin", realm="{params["realm"]}", nonce="{params["nonce"]}", '
        f'uri="{uri}", qop=auth, nc={nc}, cnonce="0a4f113b", response="{response}", '
        f'opaque="{params["opaque"]}"'
    )


def test_digest_signed_for_one_query_does_not_authorize_another(device: RunningDevice) -> None:
    """A hash for ?action=getConfig replayed (unseen nonce count) on ?action=setConfig."""
    before = device.terminal.settings.machine_name
    header = _signed_header(device, GET_GENERAL, "00000001")
    moved = httpx.get(device.url + SET_NAME, headers={"Authorization": header})
    assert moved.status_code == 401
    assert device.terminal.settings.machine_name == before != "Pwned"
    honest = _signed_header(device, GET_GENERAL, "00000001")
    answered = httpx.get(device.url + GET_GENERAL, headers={"Authorization": honest})
    assert answered.status_code == 200 and "table.General.MachineName=" in answered.text


def test_digest_uri_must_name_the_same_path(device: RunningDevice) -> None:
    header = _signed_header(device, "/cgi-bin/magicBox.cgi?action=getSerialNo", "00000001")
    other = httpx.get(device.url + GET_GENERAL, headers={"Authorization": header})
    assert other.status_code == 401
