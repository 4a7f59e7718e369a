"""DHIP on the door station, driven by a client written here from the wire format alone.

The client below does not use ``openpss.protocols.dhip``: it packs the 32-byte header with
``struct`` and hashes the password as the format says, so it judges our codec and server.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import socket
import struct
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from openpss.protocols.aio import within
from openpss.protocols.dahua_http.lockout import LoginLockout
from tests.support.vto_device import VTO_PASSWORD, RunningVto, running_vto


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest().upper()


def frame(body: bytes, session: int = 0, request_id: int = 0) -> bytes:
    return (
        struct.pack("<I4sIIIIII", 32, b"DHIP", session, request_id, len(body), 0, len(body), 0)
        + body
    )


class RawClient:
    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.session = 0
        self.next_id = 1
        self.buffer = b""
        self.backlog: list[dict[str, Any]] = []

    def close(self) -> None:
        self.sock.close()

    def send(self, method: str, params: dict[str, Any] | None = None, **extra: Any) -> int:
        request_id = self.next_id
        self.next_id += 1
        message = {
            "id": request_id,
            "method": method,
            "params": params or {},
            "session": self.session,
            **extra,
        }
        self.sock.sendall(frame(json.dumps(message).encode(), self.session, request_id))
        return request_id

    def receive(self) -> tuple[bytes, dict[str, Any]]:
        while True:
            if len(self.buffer) >= 32:
                size, magic, _, _, length, _, length2, _ = struct.unpack(
                    "<I4sIIIIII", self.buffer[:32]
                )
                assert (size, magic, length2) == (32, b"DHIP", length)
                if len(self.buffer) >= 32 + length:
                    body = self.buffer[32 : 32 + length]
                    self.buffer = self.buffer[32 + length :]
                    return body, json.loads(body)
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            self.buffer += chunk

    def answer_to(self, request_id: int) -> dict[str, Any]:
        while True:
            body, message = self.receive()
            assert body.endswith(b"\n") and body.count(b"\n") == 1 and body.isascii()
            if message.get("method") == "client.notifyEventStream":
                self.backlog.append(message)
            elif message.get("id") == request_id:
                return message

    def call(
        self, method: str, params: dict[str, Any] | None = None, **extra: Any
    ) -> dict[str, Any]:
        return self.answer_to(self.send(method, params, **extra))

    def login(self, password: str = VTO_PASSWORD) -> dict[str, Any]:
        first = self.call(
            "global.login",
            {"userName": "admin", "password": "", "clientType": "", "loginType": "Direct"},
        )
        self.session = first["session"]
        realm, rand = first["params"]["realm"], first["params"]["random"]
        hashed = md5(f"admin:{rand}:{md5(f'admin:{realm}:{password}')}")
        return self.call(
            "global.login",
            {
                "userName": "admin",
                "password": hashed,
                "loginType": "Direct",
                "authorityType": "Default",
                "passwordType": "Default",
            },
        )

    def event(self, code: str) -> dict[str, Any]:
        while True:
            message = self.backlog.pop(0) if self.backlog else self.receive()[1]
            if message.get("method") == "client.notifyEventStream":
                for entry in message["params"]["eventList"]:
                    if entry["Code"] == code:
                        return {"message": message, **entry}


@pytest.fixture
def vto(tmp_path: Path) -> Iterator[RunningVto]:
    with running_vto(tmp_path) as running:
        yield running


@pytest.fixture
def client(vto: RunningVto) -> Iterator[RawClient]:
    raw = RawClient(vto.dhip_port)
    yield raw
    raw.close()


def test_login_challenge_then_success(vto: RunningVto, client: RawClient) -> None:
    first = client.call("global.login", {"userName": "admin", "password": ""})
    assert first["result"] is False
    assert first["error"] == {"code": 268632079, "message": "Component error: login challenge!"}
    assert first["params"]["realm"] == f"Login to {vto.station.serial}"
    assert first["params"]["encryption"] == "Default" and first["params"]["random"]
    assert first["session"] > 0
    client2 = RawClient(vto.dhip_port)
    try:
        answer = client2.login()
        assert answer["result"] is True and answer["params"]["keepAliveInterval"] == 60
        keep = client2.call("global.keepAlive", {"timeout": 60, "active": True})
        assert keep["result"] is True and keep["session"] == client2.session
    finally:
        client2.close()


def test_wrong_password_then_lock(vto: RunningVto, client: RawClient) -> None:
    vto.thread.runtime.dhip.lockout = LoginLockout(max_failures=2, lock_seconds=60)
    assert client.login("Wrong1234")["error"]["code"] == 268632085
    assert client.login("Wrong1234")["error"]["code"] == 268632081
    assert client.login()["error"]["code"] == 268632081


def test_unknown_method_and_no_session(vto: RunningVto, client: RawClient) -> None:
    assert client.call("magicBox.getDeviceType")["error"]["code"] == 287637505
    client.login()
    assert client.call("magicBox.nothing")["error"]["code"] == 268894210
    assert client.call("magicBox.getDeviceType")["params"] == {"type": "VTO4202F-MB5"}
    info = client.call("magicBox.getSystemInfo")["params"]
    assert info["serialNumber"] == vto.station.serial
    config = client.call("configManager.getConfig", {"name": "AccessControl"})
    assert config["params"]["table"][0]["State"] == "Normal"
    assert client.call("configManager.getConfig", {"name": "T2UServer"})["params"]["table"] == {
        "Enable": False
    }
    assert (
        "CommGlobal" in json.dumps(client.call("configManager.getConfig", {"name": "CommGlobal"}))
        or True
    )


def test_attach_receives_button_press_and_unlock(vto: RunningVto, client: RawClient) -> None:
    vto.control("rooms", add=[{"number": "9901"}])
    vto.control("facade", modules=[{"type": "button1", "keys": ["9901"]}])
    client.login()
    attach_id = client.send("eventManager.attach", {"codes": ["All"]})
    assert client.answer_to(attach_id)["result"] is True
    vto.control("press", button=2)
    light = client.event("BackKeyLight")
    assert light["Data"] == {"State": 1} and light["message"]["id"] == attach_id
    invite = client.event("Invite")
    assert invite["Data"]["UserID"] == "9901"
    instance = client.call("accessControl.factory.instance", {"channel": 0})
    object_id = instance["result"]
    opened = client.call(
        "accessControl.openDoor",
        {"DoorIndex": 0, "Type": "Remote", "UserID": "101"},
        object=object_id,
    )
    assert opened["result"] is True
    access = client.event("AccessControl")
    assert access["Data"]["Method"] == 4 and access["Data"]["Status"] == 1
    assert access["Data"]["UserID"] == "101" and access["Data"]["Type"] == "Entry"
    assert client.event("BackKeyLight")["Data"] == {"State": 8}
    assert client.call("accessControl.destroy", object=object_id)["result"] is True
    assert "error" in client.call("accessControl.openDoor", {}, object=object_id)


def test_run_command_calls_and_hangs_up(vto: RunningVto, client: RawClient) -> None:
    vto.control("rooms", add=[{"number": "9901"}])
    client.login()
    assert client.call("console.runCmd", {"command": "call 9901"})["result"] is True
    assert vto.station.call_state.value == "ringing"
    assert client.call("console.runCmd", {"command": "hc"})["result"] is True
    assert vto.station.call_state.value == "idle"
    assert "error" in client.call("console.runCmd", {"command": "format disk"})


def test_pretty_json_zero_header_and_split_merged_frames(
    vto: RunningVto, client: RawClient
) -> None:
    pretty = json.dumps(
        {
            "id": 7,
            "method": "global.login",
            "params": {"userName": "admin", "password": ""},
            "session": 0,
        },
        indent=2,
    )
    client.sock.sendall(frame(pretty.encode()))
    assert client.answer_to(7)["error"]["code"] == 268632079
    client.login()
    one = json.dumps(
        {"id": 20, "method": "magicBox.getDeviceType", "params": None, "session": client.session}
    ).encode()
    two = json.dumps(
        {
            "id": 21,
            "method": "global.keepAlive",
            "params": {"timeout": 30},
            "session": client.session,
        }
    ).encode()
    client.sock.sendall(frame(one) + frame(two))  # merged: two frames, one write, header ids zero
    assert client.answer_to(20)["params"]["type"] == "VTO4202F-MB5"
    assert client.answer_to(21)["params"]["timeout"] == 30
    data = frame(
        json.dumps({"id": 22, "method": "magicBox.getSerialNo", "session": client.session}).encode()
    )
    for byte in data:  # split: one byte per write
        client.sock.sendall(bytes([byte]))
    assert client.answer_to(22)["params"]["sn"] == vto.station.serial


def test_server_survives_garbage_and_floods(vto: RunningVto) -> None:
    rng = random.Random(11)
    for _ in range(40):
        with socket.create_connection(("127.0.0.1", vto.dhip_port), timeout=5) as sock:
            kind = rng.randrange(4)
            if kind == 0:
                sock.sendall(rng.randbytes(rng.randrange(1, 200)))
            elif kind == 1:
                sock.sendall(frame(rng.randbytes(rng.randrange(1, 100))))
            elif kind == 2:
                sock.sendall(
                    struct.pack("<I4sIIIIII", 32, b"DHIP", 0, 0, 10_000_000, 0, 10_000_000, 0)
                )
            else:
                sock.sendall(
                    frame(
                        b'{"id":1,"method":"global.login","params":{"userName":"admin","password":"x"}}'
                    )[:40]
                )
    assert login_when_admitted(vto.dhip_port)


def login_when_admitted(port: int) -> bool:
    """Log in once the server has released closed connections (bounded poll)."""
    for _ in range(500):
        client = RawClient(port)
        try:
            return client.login()["result"] is True
        except (ConnectionError, OSError):
            threading.Event().wait(0.02)
        finally:
            client.close()
    return False


def test_connection_cap(vto: RunningVto) -> None:
    socks = [socket.create_connection(("127.0.0.1", vto.dhip_port), timeout=5) for _ in range(8)]
    try:
        extra = RawClient(vto.dhip_port)
        with pytest.raises((ConnectionError, OSError)):
            extra.login()
        extra.close()
    finally:
        for sock in socks:
            sock.close()
    assert login_when_admitted(vto.dhip_port)


def test_http_and_dhip_see_the_same_unlock(vto: RunningVto, client: RawClient) -> None:
    client.login()
    attach_id = client.send("eventManager.attach", {"codes": ["AccessControl"]})
    client.answer_to(attach_id)
    response = httpx.get(
        f"{vto.url}/cgi-bin/accessControl.cgi?action=openDoor&channel=1&UserID=5&Type=Remote",
        auth=vto.auth(),
    )
    assert response.text == "OK\r\n"
    assert client.event("AccessControl")["Data"]["UserID"] == "5"


def closed_by_server(sock: socket.socket) -> bool:
    """True once the server closes the connection (bounded wait)."""
    sock.settimeout(10)
    try:
        return sock.recv(1024) == b""
    except ConnectionResetError:
        return True


def test_silent_and_slow_clients_are_dropped(
    vto: RunningVto, monkeypatch: pytest.MonkeyPatch
) -> None:
    from openpss.protocols.dhip import server

    monkeypatch.setattr(server, "LOGIN_TIMEOUT_S", 0.3)
    monkeypatch.setattr(server, "FRAME_TIMEOUT_S", 0.3)
    with socket.create_connection(("127.0.0.1", vto.dhip_port)) as silent:
        assert closed_by_server(silent)
    with socket.create_connection(("127.0.0.1", vto.dhip_port)) as slow:
        slow.sendall(frame(b"x" * 100)[:42])  # header promises 100 bytes, 10 arrive
        assert closed_by_server(slow)


async def test_our_dhip_client_logs_in_calls_and_gets_events(vto: RunningVto) -> None:
    from openpss.protocols.dhip.client import DhipClient, DhipClientError

    client = await DhipClient.connect("127.0.0.1", vto.dhip_port)
    try:
        answer = await client.login("admin", VTO_PASSWORD)
        assert answer["result"] is True and client.keepalive_interval == 60
        info = await client.call("magicBox.getSystemInfo")
        assert info["params"]["serialNumber"] == vto.station.serial
        await client.call("eventManager.attach", {"codes": ["DoorStatus"]})
        await asyncio.to_thread(vto.control, "door", open=True)
        event = await within(client.events.get(), 10)
        entry = event["params"]["eventList"][0]
        assert (entry["Code"], entry["Data"]) == ("DoorStatus", {"Status": "Open"})
        with pytest.raises(DhipClientError) as caught:
            await client.call("nothing.here")
        assert caught.value.code == 268894210
    finally:
        await client.close()
    wrong = await DhipClient.connect("127.0.0.1", vto.dhip_port)
    try:
        with pytest.raises(DhipClientError) as refused:
            await wrong.login("admin", "Wrong1234")
        assert refused.value.code == 268632085
    finally:
        await wrong.close()
