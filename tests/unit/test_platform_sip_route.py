"""The platform's SIP server: a VTO's short room number dials a room of its own unit."""

from __future__ import annotations

import time

from openpss.platform.intercom.sip import PlatformSipServer
from openpss.protocols.sip.accounts import StaticAccounts
from openpss.protocols.sip.registrar import Binding
from openpss.protocols.sip.transport import Peer

ACCOUNTS = {n: "pw" for n in ("01#01#8001", "01#01#101#0", "01#01#101#1", "02#01#101#0")}


def _server() -> PlatformSipServer:
    server = PlatformSipServer(realm="openpss", accounts=StaticAccounts(ACCOUNTS))
    for port, user in enumerate(ACCOUNTS, start=6000):
        contact = f"sip:{user}@127.0.0.1:{port}"
        peer = Peer("UDP", "127.0.0.1", port)
        server.location.put(Binding(user, contact, peer, time.monotonic() + 60, "c", 1))
    return server


def _rung(server: PlatformSipServer, caller: str | None, number: str) -> list[str]:
    server._caller = caller  # as _route_and_ring sets it for the call
    stages, _ = server.route(number)
    return sorted(user for stage in stages for user, _ in stage.targets)


def test_vto_room_key_rings_every_vth_of_that_room_in_its_own_unit_only() -> None:
    server = _server()
    assert _rung(server, "01#01#8001", "101") == ["01#01#101#0", "01#01#101#1"]
    assert _rung(server, "01#01#8001", "01#01#101") == ["01#01#101#0", "01#01#101#1"]


def test_short_numbers_are_not_expanded_for_a_vth_or_an_unknown_caller() -> None:
    server = _server()
    for caller in ("01#01#101#0", None):
        server._caller = caller
        assert server.route("101") == ([], 404)
