"""The indoor monitor against real SIP peers: registered to Kamailio, it receives a call from
baresip, answers, and audio flows both ways (baresip's tone counted at the VTH, the VTH's tone
decoded by baresip)."""

from __future__ import annotations

import asyncio
import wave
from pathlib import Path

import pytest

from tests.peers.baresip_support import Baresip, wav_rms
from tests.peers.kamailio_support import Kamailio
from tests.support.peers import require_program
from tests.support.polling import eventually_async
from tests.support.ports import free_port
from tests.support.vth_device import running_vth

pytestmark = pytest.mark.peers


def decoded_rms(directory: Path) -> float:
    """RMS of baresip's first decoded-audio dump (0 while there is none)."""
    dumps = sorted(directory.glob("dump-*dec.wav"))
    try:
        return wav_rms(dumps[0]) if dumps else 0.0
    except (EOFError, OSError, ValueError, wave.Error):
        return 0.0


async def test_vth_at_kamailio_answers_baresip_with_audio_both_ways(tmp_path: Path) -> None:
    binary = require_program("kamailio", "apt-get install -y kamailio")
    accounts = {"102": "caller-pw", "101#0": "vth-pw"}
    kamailio = Kamailio(tmp_path / "kamailio", port=free_port(), accounts=accounts)
    await kamailio.start(binary)
    caller = Baresip(
        tmp_path / "caller",
        user="102",
        password="caller-pw",
        server_port=kamailio.port,
        answermode="manual",
    )
    try:
        with running_vth(
            tmp_path / "vth",
            room="101#0",
            sip_server=("127.0.0.1", kamailio.port),
            realm="",  # the server's address is the domain, as for any SIP server
            sip_password="vth-pw",
        ) as vth:
            await eventually_async(
                lambda: vth.unit.registered, what="the VTH's registration at Kamailio", timeout=60
            )
            assert vth.thread.runtime.sip.granted > 0
            await caller.start()
            await asyncio.sleep(1.0)  # baresip registers
            await caller.command("dial", f"sip:101%230@127.0.0.1:{kamailio.port}")
            await eventually_async(
                lambda: vth.unit.call_state.value == "ringing",
                what="the call at the VTH",
                timeout=60,
            )
            assert vth.unit.call_peer == "102"
            response = await asyncio.to_thread(vth.control, "answer")
            assert response.status_code == 200
            await eventually_async(
                lambda: vth.unit.rtp["audio_in"] > 100,
                what="baresip's audio at the VTH",
                timeout=60,
            )
            await eventually_async(
                lambda: vth.unit.rtp["audio_out"] > 100, what="the VTH's audio out", timeout=60
            )
            response = await asyncio.to_thread(vth.control, "hangup")
            assert response.status_code == 200
            # the VTH's tone, decoded by baresip (its dump is complete after the BYE)
            await eventually_async(
                lambda: decoded_rms(tmp_path / "caller") > 500,
                what="the tone at baresip",
                timeout=60,
            )
            record = vth.unit.find_records("call")[-1].data
            assert record["EndState"] == "Received" and record["PeerNumber"] == "102"
    finally:
        await caller.stop()
        await kamailio.stop()
