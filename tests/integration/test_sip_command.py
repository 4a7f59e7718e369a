"""`openpss sip server`: runs from a CSV of accounts, refuses a bad file with FILE:LINE."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from openpss.protocols.aio import within
from openpss.protocols.sip.transport import Peer
from openpss.protocols.sip.ua import UserAgent
from tests.support.ports import free_port

ENV = {**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent.parent / "src")}


async def test_sip_server_command_serves_register(tmp_path: Path) -> None:
    accounts = tmp_path / "accounts.csv"
    accounts.write_text("username,password\n9901#1,ext-pw\n")
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "openpss.cli", "sip", "server",
        "--listen", f"127.0.0.1:{port}", "--realm", "VDP", "--accounts", str(accounts),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, env=ENV,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        line = await within(process.stdout.readline(), 30)
        while b"SIP server listening" not in line:
            line = await within(process.stdout.readline(), 30)
        ua = UserAgent(username="9901#1", password="ext-pw", server=Peer("UDP", "127.0.0.1", port))
        await ua.start()
        response = await ua.register()
        assert response.status == 200 and response.contacts
        await ua.close()
    finally:
        process.terminate()
        await process.wait()


async def test_sip_server_command_refuses_a_bad_accounts_file(tmp_path: Path) -> None:
    accounts = tmp_path / "accounts.csv"
    accounts.write_text("username,password\n8001\n")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "openpss.cli", "sip", "server",
        "--listen", "127.0.0.1:0", "--accounts", str(accounts),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, env=ENV,
    )  # fmt: skip
    out, _ = await within(process.communicate(), 60)
    assert process.returncode == 2
    assert f"{accounts}:2: expected 2 columns, got 1" in out.decode()
