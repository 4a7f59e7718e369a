"""SIPp (Debian sip-tester) against our SIP server: REGISTER with digest, calls, CANCEL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from openpss.protocols.sip.accounts import CallRecord, EndState, ServerEvents, StaticAccounts
from openpss.protocols.sip.registrar import Binding
from openpss.protocols.sip.server import SipServer
from openpss.protocols.sip.transport import Peer
from tests.peers.sip_support import require_sipp, run_sipp
from tests.support.ports import free_port

pytestmark = pytest.mark.peers

ACCOUNTS = {"8001": "vto-pw", "9901#0": "master-pw"}


class Records(ServerEvents):
    def __init__(self) -> None:
        self.records: list[CallRecord] = []

    def call_ended(self, record: CallRecord) -> None:
        self.records.append(record)


def _events(server: SipServer) -> Records:
    assert isinstance(server.events, Records)
    return server.events


@pytest.fixture
async def server() -> AsyncIterator[SipServer]:
    require_sipp()
    server = SipServer(realm="VDP", accounts=StaticAccounts(ACCOUNTS), events=Records())
    await server.start("127.0.0.1", 0)
    yield server
    await server.close()


async def _register(server: SipServer, tmp_path: Path, scenario: str, user: str, pw: str) -> str:
    result = await run_sipp(scenario, server.port, service=user, password=pw, cwd=tmp_path)
    assert result.returncode == 0, result.output
    return result.output


async def test_register_nominal(server: SipServer, tmp_path: Path) -> None:
    await _register(server, tmp_path, "register.xml", "9901#0", "master-pw")
    bindings = server.location.lookup("9901#0")
    assert len(bindings) == 1 and bindings[0].contact.startswith("sip:9901#0@127.0.0.1:")


async def test_register_wrong_password_gets_403(server: SipServer, tmp_path: Path) -> None:
    await _register(server, tmp_path, "register_wrong_password.xml", "8001", "not-it")
    assert not server.location.is_online("8001")


async def test_register_after_nonce_expiry_gets_stale_then_200(
    server: SipServer, tmp_path: Path
) -> None:
    server.digest.nonce_lifetime = 0.5  # the scenario waits 1.5 s before answering
    await _register(server, tmp_path, "register_stale.xml", "8001", "vto-pw")
    assert server.location.is_online("8001")


async def test_register_without_contact_is_a_query(server: SipServer, tmp_path: Path) -> None:
    await _register(server, tmp_path, "register.xml", "8001", "vto-pw")
    await _register(server, tmp_path, "register_no_contact.xml", "8001", "vto-pw")
    assert len(server.location.lookup("8001")) == 1


async def test_unregister_with_star(server: SipServer, tmp_path: Path) -> None:
    await _register(server, tmp_path, "register.xml", "8001", "vto-pw")
    assert server.location.is_online("8001")
    await _register(server, tmp_path, "unregister.xml", "8001", "vto-pw")
    assert not server.location.is_online("8001")


def _bind_uas(server: SipServer, username: str, port: int) -> None:
    # SIPp's UAS cannot REGISTER and then take a call with another Call-ID in one process:
    # the binding a REGISTER would create is put into the location service directly.
    server.location.put(
        Binding(
            username,
            f"sip:{username}@127.0.0.1:{port}",
            Peer("UDP", "127.0.0.1", port),
            server.location.clock() + 60,
            "sipp-uas",
            1,
        )
    )


async def _call(server: SipServer, tmp_path: Path, caller: str, callee: str) -> tuple[str, str]:
    uas_port = free_port()
    _bind_uas(server, "9901#0", uas_port)
    uas_dir = tmp_path / "uas"
    uas_dir.mkdir()
    uas = asyncio.create_task(
        run_sipp(
            callee,
            server.port,
            service="9901#0",
            local_port=uas_port,
            cwd=uas_dir,
            extra=("-bind_local",),
        )
    )
    await asyncio.sleep(0.5)  # SIPp binds its port
    uac = await run_sipp(
        caller,
        server.port,
        service="8001",
        password="vto-pw",
        cwd=tmp_path,
        extra=("-key", "callee", "9901"),
    )
    uas_result = await uas
    assert uac.returncode == 0, uac.output
    assert uas_result.returncode == 0, uas_result.output
    return uac.output, uas_result.output


async def test_call_through_b2bua_to_sipp_uas(server: SipServer, tmp_path: Path) -> None:
    await _call(server, tmp_path, "uac_call.xml", "uas_answer.xml")
    records: list[CallRecord] = _events(server).records
    assert len(records) == 1
    record = records[0]
    assert record.end_state is EndState.answered and record.answered_by == "9901#0"
    assert record.caller == "8001" and record.callee == "9901"


async def test_cancel_before_answer(server: SipServer, tmp_path: Path) -> None:
    await _call(server, tmp_path, "uac_cancel.xml", "uas_cancelled.xml")
    records: list[CallRecord] = _events(server).records
    assert [r.end_state for r in records] == [EndState.missed]
