"""The platform's "configure device to register" turns a virtual VTO (its own SIP server) into a
user agent of the platform's SIP server under its registration number (2.2), at once."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import httpx
import pytest

from openpss.devices.vto.config import apply_set_config, read_table
from openpss.devices.vto.entities import VtoError
from openpss.devices.vto.sip import attach_sip
from openpss.platform.app import create_app
from openpss.platform.intercom import sip
from openpss.platform.settings import Settings
from tests.support.intercom_site import configure_live_unit
from tests.support.polling import eventually_async
from tests.support.vto_device import VTO_PASSWORD, running_vto


async def test_platform_configures_a_vto_to_register_under_its_registration_number(
    settings: Settings, tmp_path: Path
) -> None:
    app = create_app(settings.model_copy(update={"sip_port": 0}))
    task = asyncio.create_task(sip.run(app))
    try:
        await eventually_async(
            lambda: hasattr(app.state, "console_calls"), what="the SIP server", timeout=60
        )
        server = app.state.sip_server
        with running_vto(tmp_path / "vto", extra_services=[attach_sip]) as vto:
            assert vto.station.is_sip_server  # its own SIP server until configured
            port = int(vto.url.rsplit(":", 1)[1])
            with app.state.session_factory() as s:
                _, number = await configure_live_unit(
                    s, app.state.settings, server, name="gate", kind="vto", port=port,
                    password=VTO_PASSWORD, suffix="01", device_number="8001",
                )  # fmt: skip
            assert number == "11#01#8001"
            await eventually_async(
                lambda: number in app.state.sip_events.online,
                what="the VTO's registration",
                timeout=60,
            )
            await eventually_async(
                lambda: vto.station.registered_to_server, what="the VTO's own view", timeout=60
            )
            assert not vto.station.is_sip_server
            table = vto.on_loop(lambda: read_table(vto.station, "SIP"))
            assert table["UserID"] == number and table["SIPServerPort"] == server.port
            # kept on its flash: the next start registers with the platform too
            stored = vto.store.get_setting("settings")["sip"]
            assert (stored["server_enabled"], stored["login_user"]) == (False, number)
            status = httpx.get(
                f"{vto.url}/cgi-bin/configManager.cgi?action=getConfig&name=SIP",
                auth=vto.auth(),
                timeout=10,
            )
            assert "table.SIP.Registered=true" in status.text
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        app.state.engine.dispose()


def test_vto_sip_set_config_is_all_or_nothing_with_clear_errors(tmp_path: Path) -> None:
    with running_vto(tmp_path / "vto") as vto:
        before = vto.station.settings.to_json()
        bad = {"SIP.SIPServer": "127.0.0.1", "SIP.SIPServerPort": "70000"}
        with pytest.raises(VtoError, match="port must be 1-65535"):
            vto.on_loop(lambda: apply_set_config(vto.station, bad))
        with pytest.raises(VtoError, match="unknown field 'Bogus'"):
            vto.on_loop(lambda: apply_set_config(vto.station, {"SIP.Bogus": "1"}))
        with pytest.raises(VtoError, match="expected an integer"):
            vto.on_loop(lambda: apply_set_config(vto.station, {"SIP.SIPServerPort": "x"}))
        assert vto.station.settings.to_json() == before  # nothing half-done
        answer = httpx.get(
            f"{vto.url}/cgi-bin/configManager.cgi?action=setConfig&SIP.SIPServerPort=0",
            auth=vto.auth(),
            timeout=10,
        )
        assert answer.status_code == 400 and "port must be 1-65535" in answer.text
