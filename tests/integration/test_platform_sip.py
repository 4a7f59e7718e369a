"""The platform's SIP server: started as a background service, accounts from the CSV setting."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from openpss.platform.app import create_app
from openpss.platform.intercom import sip
from openpss.platform.settings import Settings
from openpss.protocols.sip.transport import Peer
from openpss.protocols.sip.ua import RegistrationError, UserAgent


async def test_platform_sip_server_registers_accounts_from_the_csv(
    settings: Settings, tmp_path: Path
) -> None:
    accounts = tmp_path / "sip.csv"
    accounts.write_text("username,password\n9901#0,room-pw\n")
    app = create_app(settings.model_copy(update={"sip_port": 0, "sip_accounts_file": accounts}))
    task = asyncio.create_task(sip.run(app))
    try:
        deadline = asyncio.get_running_loop().time() + 10
        while not hasattr(app.state, "console_calls"):  # the server, then the centre's UA
            assert asyncio.get_running_loop().time() < deadline, "SIP server did not start"
            await asyncio.sleep(0.02)
        server = app.state.sip_server
        assert server.realm == "VDP"
        ua = UserAgent(
            username="9901#0", password="room-pw", server=Peer("UDP", "127.0.0.1", server.port)
        )
        await ua.start()
        await ua.register()
        # the console's own user agent holds the management centre number (intercom.calls)
        assert app.state.sip_events.online == {"9901#0", "888888"}
        ua.credentials.password = "wrong"
        try:
            await ua.register()
        except RegistrationError as exc:
            assert exc.status == 403
        else:
            raise AssertionError("a wrong password registered")
        await ua.close()
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        app.state.engine.dispose()


async def test_platform_without_accounts_file_refuses_everyone(settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"sip_port": 0}))
    server = sip.build_server(app.state.settings, sip.PlatformSipEvents())
    assert list(server.accounts.usernames()) == []
    app.state.engine.dispose()
