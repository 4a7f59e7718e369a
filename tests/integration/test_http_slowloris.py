"""Slowloris against the terminal's CGI server and the platform: half-sent requests are capped
per address and timed out, a valid request is still served, and the log stays short."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pytest

from openpss.platform.app import PLATFORM_LIMITS, create_app
from openpss.platform.settings import Settings
from openpss.protocols.dahua_http.server import DEVICE_LIMITS, MAX_DEVICE_BODY, ServerThread
from openpss.protocols.http_guard import HttpLimits
from tests.support.dahua_device import ADMIN_PASSWORD, running_device
from tests.support.slowloris import HALF_HEAD, half_sent, wait_closed

HALF_BODY = b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nusername="


def test_terminal_serves_a_valid_request_during_slowloris(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with (
        running_device(tmp_path) as device,
        caplog.at_level(logging.WARNING),
        half_sent(device.port, 400, "127.0.0.2", HALF_HEAD) as held,
    ):
        auth = httpx.DigestAuth("admin", ADMIN_PASSWORD)
        ok = httpx.get(f"{device.url}/cgi-bin/magicBox.cgi?action=getSerialNo", auth=auth)
        assert ok.status_code == 200 and ok.text == f"sn={device.terminal.serial}\r\n"
        refused = len(held) - DEVICE_LIMITS.max_per_peer
        assert wait_closed(held, expected=refused, deadline_s=10) >= refused
    refusals = [r for r in caplog.records if "connection cap" in r.getMessage()]
    assert 1 <= len(refusals) <= 2  # rate-limited: one line per interval, not 368


def test_half_sent_heads_and_bodies_are_timed_out(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    limits = HttpLimits(header_timeout=0.5, body_timeout=0.5, max_per_peer=1000)
    with (
        caplog.at_level(logging.WARNING),
        ServerThread(create_app(settings), limits=limits) as server,
        half_sent(server.port, 50, "127.0.0.4", HALF_HEAD) as heads,
        half_sent(server.port, 50, "127.0.0.5", HALF_BODY) as bodies,
    ):
        assert wait_closed(heads, expected=50, deadline_s=30) == 50
        assert wait_closed(bodies, expected=50, deadline_s=30) == 50
    assert [r for r in caplog.records if r.exc_info] == []  # no traceback per connection
    assert len(caplog.records) <= 10  # one line per kind and interval, not one per connection


def test_platform_serves_a_valid_request_during_slowloris(settings: Settings) -> None:
    with (
        ServerThread(create_app(settings), limits=PLATFORM_LIMITS) as server,
        half_sent(server.port, 300, "127.0.0.3", HALF_BODY) as held,
    ):
        ok = httpx.get(f"{server.url}/login", follow_redirects=True)
        assert ok.status_code == 200 and "password" in ok.text.lower()
        refused = len(held) - PLATFORM_LIMITS.max_per_peer
        assert wait_closed(held, expected=refused, deadline_s=10) >= refused


def test_terminal_refuses_an_oversized_body_with_413(tmp_path: Path) -> None:
    with running_device(tmp_path) as device:
        auth = httpx.DigestAuth("admin", ADMIN_PASSWORD)
        url = f"{device.url}/cgi-bin/AccessUser.cgi?action=insertMulti"
        big = httpx.post(url, content=b"{" + b" " * MAX_DEVICE_BODY + b"}", auth=auth)
        assert big.status_code == 413 and "larger than 4 MB" in big.text
        ok = httpx.get(f"{device.url}/cgi-bin/magicBox.cgi?action=getSerialNo", auth=auth)
        assert ok.status_code == 200
