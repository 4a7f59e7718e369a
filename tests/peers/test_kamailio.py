"""Kamailio as the external SIP server: our user agents register with it and call through it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from openpss.protocols.aio import within
from openpss.protocols.sip.sdp import build_offer
from openpss.protocols.sip.transport import Peer
from openpss.protocols.sip.ua import CallFailed, RegistrationError, UaCallState, UserAgent
from tests.peers.kamailio_support import Kamailio
from tests.support.peers import require_program
from tests.support.ports import free_port

pytestmark = pytest.mark.peers

ACCOUNTS = {"8001": "vto-pw", "9901#0": "master-pw"}


@pytest.fixture
async def kamailio(tmp_path: Path) -> AsyncIterator[Kamailio]:
    binary = require_program("kamailio", "apt-get install -y kamailio")
    server = Kamailio(tmp_path / "kamailio", port=free_port(), accounts=ACCOUNTS)
    await server.start(binary)
    yield server
    await server.stop()


async def _ua(
    kamailio: Kamailio, username: str, password: str, *, auto_answer: bool = False
) -> UserAgent:
    ua = UserAgent(
        username=username,
        password=password,
        server=Peer("UDP", "127.0.0.1", kamailio.port),
        domain="127.0.0.1",
        media_ports={"audio": 41000},
        auto_answer=auto_answer,
    )
    await ua.start()
    return ua


async def test_register_call_dtmf_and_bye_through_kamailio(kamailio: Kamailio) -> None:
    vto = await _ua(kamailio, "8001", "vto-pw")
    vth = await _ua(kamailio, "9901#0", "master-pw", auto_answer=True)
    try:
        assert (await vto.register()).status == 200
        assert (await vth.register()).status == 200
        offer = bytes(build_offer(address="127.0.0.1", audio_port=40000))
        call = await within(vto.call("9901#0", offer), 20)
        assert call.state is UaCallState.answered and b"m=audio 41000" in call.remote_sdp
        assert call.dialog is not None and call.dialog.route_set  # Kamailio record-routed
        assert (await call.send_dtmf("7")).status == 200
        callee = next(iter(vth.dialogs.values()))
        info = await within(callee.received.get(), 10)
        assert b"Signal=7" in info.body
        assert (await call.hangup()) is not None
        await within(callee.ended.wait(), 10)
    finally:
        await vto.close()
        await vth.close()


async def test_wrong_password_and_unregistered_callee(kamailio: Kamailio) -> None:
    intruder = await _ua(kamailio, "8001", "wrong")
    vto = await _ua(kamailio, "8001", "vto-pw")
    try:
        with pytest.raises(RegistrationError) as info:
            await intruder.register()
        assert info.value.status == 401  # Kamailio challenges again
        await vto.register()
        with pytest.raises(CallFailed) as failed:
            await vto.call("9901#0", b"")
        assert failed.value.status == 404
    finally:
        await intruder.close()
        await vto.close()
