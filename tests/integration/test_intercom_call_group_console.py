"""Across processes: `openpss serve` with a call group, the virtual door station and indoor
monitors registered to its SIP server, and two console tabs on its call WebSocket.

The door station's centre call rings the group's manager client (alice) and not the operator
outside the group (bob); alice answers over the WebSocket and the call record says so. A room
call answered at the extension VTH is recorded with that VTH as ``answered_by``.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import websockets
from sqlalchemy import select
from websockets.asyncio.client import ClientConnection

from openpss.devices.vto.model import DoorStation
from openpss.devices.vto.sip import attach_sip
from openpss.platform.db import make_engine, make_session_factory
from openpss.platform.intercom import callgroups, registrations
from openpss.platform.intercom.callgroups import CENTRE_NUMBER
from openpss.platform.records.models import CallRecord
from openpss.platform.security.models import Role
from openpss.platform.security.tokens import open_login_session
from openpss.protocols.aio import within
from tests.conftest import add_account
from tests.support.call_group import (
    ACTOR,
    ROOM,
    VTH_EXTENSION,
    VTH_MASTER,
    VTO,
    seed_site,
)
from tests.support.polling import eventually_async
from tests.support.ports import free_port
from tests.support.vth_device import RunningVth, running_vth
from tests.support.vto_device import RunningVto, running_vto

SECRET = "cross-process-secret-0123456789"


@dataclass
class Platform:
    url: str
    sip_port: int
    database_url: str
    cookies: dict[str, str]
    passwords: dict[str, str]

    def records(self) -> list[CallRecord]:
        engine = make_engine(self.database_url)
        try:
            with make_session_factory(engine)() as session:
                return list(session.scalars(select(CallRecord).order_by(CallRecord.id)))
        finally:
            engine.dispose()


def _seed(database_url: str) -> tuple[dict[str, str], dict[str, str]]:
    """Building 11 with a call group whose only member is alice; bob is an operator outside
    it. Returns the console users' session cookies and the devices' SIP passwords."""
    engine = make_engine(database_url)
    try:
        with make_session_factory(engine)() as s:
            building = seed_site(s, SECRET)
            group = callgroups.create_group(
                session=s, actor=ACTOR, name="Lobby", building_id=building
            )
            cookies = {}
            for name in ("alice", "bob"):
                account = add_account(s, name, Role.operator, "Str0ng!Passw0rd")
                cookies[name], _ = open_login_session(
                    session=s, account=account, lifetime=dt.timedelta(hours=1)
                )
                if name == "alice":
                    callgroups.add_member(
                        session=s, actor=ACTOR, group_id=group.id, account_id=account.id
                    )
            passwords = registrations.sip_accounts(session=s, secret_key=SECRET)
            s.commit()
    finally:
        engine.dispose()
    return cookies, passwords


@pytest.fixture
def platform(sqlite_url: str, tmp_path: Path) -> Iterator[Platform]:
    """`openpss serve` in its own process on free ports."""
    cookies, passwords = _seed(sqlite_url)
    http, sip = free_port(), free_port()
    env = {
        **os.environ,
        "OPENPSS_ENVIRONMENT": "test",
        "OPENPSS_SECRET_KEY": SECRET,
        "OPENPSS_DATABASE_URL": sqlite_url,
        "OPENPSS_DATA_DIR": str(tmp_path / "platform"),
        "OPENPSS_HTTP_HOST": "127.0.0.1",
        "OPENPSS_HTTP_PORT": str(http),
        "OPENPSS_SIP_PORT": str(sip),
    }
    log = (tmp_path / "serve.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "openpss.cli", "serve"], env=env, stdout=log, stderr=log
    )
    try:
        yield Platform(f"http://127.0.0.1:{http}", sip, sqlite_url, cookies, passwords)
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


@pytest.fixture
def vto(platform: Platform, tmp_path: Path) -> Iterator[RunningVto]:
    """The virtual door station, registered to the platform under its registration number."""

    def to_platform(station: DoorStation) -> None:
        station.set_sip_server(
            enabled=False,
            address="127.0.0.1",
            port=platform.sip_port,
            domain="",
            login_user=VTO,
            login_password=platform.passwords[VTO],
        )
        station.set_vto_number("8055")

    small = {0: (320, 180), 1: (320, 180)}
    with running_vto(
        tmp_path / "vto", configure=to_platform, fps=5, stream_sizes=small,
        extra_services=[attach_sip],
    ) as running:  # fmt: skip
        yield running


@pytest.fixture
def vths(platform: Platform, tmp_path: Path) -> Iterator[tuple[RunningVth, RunningVth]]:
    """Both indoor monitors of room 11, registered to the platform."""
    server = ("127.0.0.1", platform.sip_port)
    with (
        running_vth(
            tmp_path / "vth0", room=VTH_MASTER, sip_server=server, realm="openpss",
            sip_password=platform.passwords[VTH_MASTER],
        ) as master,
        running_vth(
            tmp_path / "vth1", room=VTH_EXTENSION, sip_server=server, realm="openpss",
            sip_password=platform.passwords[VTH_EXTENSION],
        ) as extension,
    ):  # fmt: skip
        yield master, extension


@contextlib.asynccontextmanager
async def console_tab(platform: Platform, username: str) -> AsyncIterator[ClientConnection]:
    """A console tab's call WebSocket, once the platform's console is up."""
    host = platform.url.removeprefix("http://")
    headers = {"Cookie": f"openpss_session={platform.cookies[username]}", "Origin": platform.url}
    for _ in range(300):  # the platform process starts; its console registers 888888
        try:
            socket = await websockets.connect(
                f"ws://{host}/intercom/ws", additional_headers=headers
            )
        except OSError:
            await asyncio.sleep(0.1)
            continue
        try:  # 1008 until the SIP server runs: it can close before our send or our read
            await socket.send(json.dumps({"type": "warp"}))
            reply = json.loads(await socket.recv())
        except websockets.ConnectionClosed:
            await asyncio.sleep(0.1)
            continue
        assert reply["type"] == "error"
        try:
            yield socket
        finally:
            await socket.close()
        return
    raise AssertionError("the platform's console did not come up")


async def _next(socket: ClientConnection, kind: str) -> dict[str, Any]:
    """The next message of type ``kind`` (others, such as error replies, skipped)."""
    for _ in range(100):
        message: dict[str, Any] = json.loads(await within(socket.recv(), 30))
        if message["type"] == kind:
            return message
    raise AssertionError(f"no {kind!r} message")


async def _drain(socket: ClientConnection) -> list[str]:
    """Every message a tab got so far: a marker request, then read up to its reply."""
    await socket.send(json.dumps({"type": "marker"}))
    kinds: list[str] = []
    while True:
        message = json.loads(await within(socket.recv(), 30))
        if message["type"] == "error" and "marker" in message["message"]:
            return kinds
        kinds.append(message["type"])


async def test_the_group_decides_which_console_rings_and_who_answered_is_recorded(
    platform: Platform, vto: RunningVto
) -> None:
    async with console_tab(platform, "alice") as alice, console_tab(platform, "bob") as bob:
        await eventually_async(
            lambda: vto.station.registered, what="the VTO registered to the platform", timeout=60
        )
        assert vto.control("dial", number=CENTRE_NUMBER).status_code == 200
        ringing = await _next(alice, "ringing")
        assert ringing["call"]["caller"] == VTO
        await alice.send(json.dumps({"type": "accept", "call": ringing["call"]["id"]}))
        await _next(alice, "accepted")
        await eventually_async(
            lambda: vto.station.call_state.value == "talking", what="the VTO talking"
        )
        await alice.send(json.dumps({"type": "hangup", "call": ringing["call"]["id"]}))
        await eventually_async(
            lambda: vto.station.call_state.value == "idle", what="the VTO idle again"
        )
        assert "ringing" not in await _drain(bob)  # bob is not in the building's group
    [record] = await eventually_async(platform.records, what="the call record")
    assert (record.caller, record.callee, record.status) == (VTO, CENTRE_NUMBER, "answered")
    assert record.answered_by == "alice"


async def test_a_room_call_records_the_vth_that_answered(
    platform: Platform, vto: RunningVto, vths: tuple[RunningVth, RunningVth]
) -> None:
    master, extension = vths
    await eventually_async(
        lambda: vto.station.registered, what="the VTO registered to the platform", timeout=60
    )
    await eventually_async(
        lambda: master.unit.registered and extension.unit.registered,
        what="both VTHs registered",
        timeout=60,
    )
    assert vto.control("dial", number=ROOM).status_code == 200
    await eventually_async(
        lambda: extension.status()["call"]["state"] == "ringing", what="the extension ringing"
    )
    assert extension.control("answer").status_code == 200
    await eventually_async(
        lambda: vto.station.call_state.value == "talking", what="the VTO talking"
    )
    assert extension.control("hangup").status_code == 200
    [record] = await eventually_async(platform.records, what="the call record")
    assert (record.caller, record.callee, record.status) == (VTO, ROOM, "answered")
    assert record.answered_by == VTH_EXTENSION
