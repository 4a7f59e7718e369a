"""The platform's SIP server (registrar + B2BUA) as a background service of `openpss serve`.

It listens on OPENPSS_SIP_HOST (default: the HTTP host) : OPENPSS_SIP_PORT (5080, the port door
stations expect of a platform, door-station manual table 4-1) over UDP and TCP.

Accounts: the intercom registration numbers (platform-video-intercom 2.2, ``accounts.py``), plus
those of OPENPSS_SIP_ACCOUNTS_FILE when set (CSV ``username,password``, the same format as
``openpss sip server --accounts``). The device registry's logins are not SIP accounts: they
are the devices' web logins.

Events: ``PlatformSipEvents`` keeps which usernames are online and the latest call records in
memory (``app.state.sip_events``); the dial management list shows the online state from it, and
each ended call is stored as a call record (``cdr.py``).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import Any

from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from openpss.platform.events import Event, EventBus, EventKind
from openpss.platform.intercom.accounts import IntercomAccounts
from openpss.platform.intercom.buildings import CODE_SEPARATOR
from openpss.platform.intercom.callgroups import CENTRE_NUMBER, CallGroupRouting, console_user
from openpss.platform.intercom.calls import ConsoleCalls, server_address
from openpss.platform.intercom.cdr import save_call
from openpss.platform.intercom.models import EndpointKind, Registration
from openpss.platform.settings import Settings
from openpss.protocols.sip.accounts import (
    AccountsError,
    AccountsProvider,
    CallRecord,
    ServerEvents,
    StaticAccounts,
)
from openpss.protocols.sip.b2bua import Call, Stage
from openpss.protocols.sip.registrar import Binding
from openpss.protocols.sip.server import SipServer
from openpss.protocols.sip.ua import RegistrationError

logger = logging.getLogger(__name__)

KEPT_CALL_RECORDS = 1000  # in memory until the intercom domain stores them
GROUP_RING_SECONDS = 15.0  # Settings.sip_group_ring_seconds


class PlatformSipEvents(ServerEvents):
    """Online usernames and recent call records, for the console and the intercom domain."""

    def __init__(
        self,
        session_factory: sessionmaker[Session] | None = None,
        bus: EventBus | None = None,
    ) -> None:
        self.online: set[str] = set()
        self.calls: deque[CallRecord] = deque(maxlen=KEPT_CALL_RECORDS)
        self.session_factory = session_factory
        self.bus = bus

    def registration_changed(self, username: str, online: bool) -> None:
        """Track online/offline; an indoor monitor's change is its device status on the bus.

        The device sync polls door stations and terminals over HTTP and publishes their
        status itself; an indoor monitor is never polled, so its SIP registration is what
        says whether it is online (MQTT connectivity sensor, platform-video-intercom 2.2).
        """
        if online:
            self.online.add(username)
        else:
            self.online.discard(username)
        if self.bus is not None and self.session_factory is not None:
            device_id = monitor_device(self.session_factory, username)
            if device_id is not None:
                self.bus.publish(Event(EventKind.status, device_id, {"online": online}))

    def call_ended(self, record: CallRecord) -> None:
        """Keep the record, and store it as a call record (records domain) given a database."""
        self.calls.append(record)
        if self.session_factory is not None and not console_took_part(record):
            save_call(self.session_factory, record)
        logger.info(
            "SIP call %s -> %s %s (%.0f s)",
            record.caller,
            record.callee,
            record.end_state.value,
            record.duration,
        )


def monitor_device(factory: sessionmaker[Session], username: str) -> int | None:
    """The device bound to an indoor monitor's registration number, if any."""
    with factory() as session:
        return session.scalar(
            select(Registration.device_id).where(
                Registration.number == username, Registration.kind == EndpointKind.vth
            )
        )


def console_took_part(record: CallRecord) -> bool:
    """The console stores this call itself: it placed it, it was rung as the centre for
    everyone (no call group), or a call group's manager client answered it.

    ``ConsoleCalls`` stores those calls with who answered in the browser and the snapshot and
    recording; storing the server's record too would list each call twice. A call group's
    call that no manager client answered (missed, or taken by a VTS) is the server's to store:
    its console legs were only some of the members it rang.
    """
    return (
        record.caller == CENTRE_NUMBER
        or any(user == CENTRE_NUMBER for user, _ in record.legs)
        or console_user(record.answered_by) is not None
    )


VTO_CODE_PARTS = 3  # building#unit#VTO number (platform-video-intercom 2.2)


class PlatformSipServer(SipServer):
    """The SIP server with the intercom call groups (2.4): a centre call (888888) from a
    device of a building with groups rings the groups' members in priority order, each for
    ``group_ring_seconds``; a manager client's leg goes to the console's user agent."""

    def __init__(
        self,
        *,
        routing: CallGroupRouting | None = None,
        group_ring_seconds: float = GROUP_RING_SECONDS,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.routing = routing
        self.group_ring_seconds = group_ring_seconds
        self._caller: str | None = None

    async def _route_and_ring(self, call: Call) -> None:
        # SipServer._route_and_ring calls self.route() first, before any await: the caller
        # stored here is the one of this call.
        self._caller = call.caller
        await super()._route_and_ring(call)

    def route(self, number: str) -> tuple[list[Stage], int]:
        """Call-group members for a centre call of a building with groups, else the server's."""
        caller, self._caller = self._caller, None
        if number == CENTRE_NUMBER and caller and self.routing is not None:
            members = self.routing.members_for(caller)
            if members:
                stages = [
                    Stage([(m, b) for b in self._bindings_of(m)], self.group_ring_seconds)
                    for m in members
                ]
                return [s for s in stages if s.targets], 480
        stages, status = super().route(number)
        unit = _unit_of(caller)
        if not stages and status == 404 and unit and number.isdigit():
            # a VTO's call key dials the room number of its own unit (101 -> 01#01#101)
            return super().route(f"{unit}{CODE_SEPARATOR}{number}")
        return stages, status

    def _bindings_of(self, target: str) -> list[Binding]:
        # a manager client is reached through the console's user agent (the centre number)
        number = CENTRE_NUMBER if console_user(target) is not None else target
        return self.location.lookup(number)


def _unit_of(caller: str | None) -> str | None:
    """The building#unit of a VTO's registration number (``01#01#8001`` -> ``01#01``)."""
    parts = (caller or "").split(CODE_SEPARATOR)
    return CODE_SEPARATOR.join(parts[:2]) if len(parts) == VTO_CODE_PARTS else None


def load_accounts(settings: Settings) -> StaticAccounts:
    """The accounts file's accounts, or none."""
    if settings.sip_accounts_file is None:
        return StaticAccounts()
    return StaticAccounts.from_csv(settings.sip_accounts_file)


def build_server(
    settings: Settings,
    events: ServerEvents,
    session_factory: sessionmaker[Session] | None = None,
) -> SipServer:
    """The SIP server the platform runs (registration numbers as accounts given a database)."""
    accounts: AccountsProvider = load_accounts(settings)
    routing = None
    if session_factory is not None:
        accounts = IntercomAccounts(session_factory, settings.secret_key, fallback=accounts)
        routing = CallGroupRouting(session_factory)
    return PlatformSipServer(
        realm=settings.sip_realm,
        accounts=accounts,
        events=events,
        routing=routing,
        group_ring_seconds=settings.sip_group_ring_seconds,
    )


async def run(app: FastAPI) -> None:
    """Background service: run the SIP server until the app stops."""
    settings: Settings = app.state.settings
    if not settings.sip_enabled:
        return
    events = PlatformSipEvents(app.state.session_factory, app.state.event_bus)
    try:
        server = build_server(settings, events, app.state.session_factory)
    except AccountsError as exc:
        logger.error("SIP server not started: %s", exc)
        return
    host = settings.sip_host or settings.http_host
    try:
        await server.start(host, settings.sip_port)
    except OSError as exc:
        logger.error("SIP server cannot listen on %s:%d: %s", host, settings.sip_port, exc)
        return
    app.state.sip_server = server
    app.state.sip_events = events
    console = await start_console(app, server)
    try:
        await asyncio.Event().wait()
    finally:
        if console is not None:
            await console.close()
        await server.close()


async def start_console(app: FastAPI, server: SipServer) -> ConsoleCalls | None:
    """The management centre (888888) answered in the browser (``intercom.calls``)."""
    settings: Settings = app.state.settings
    console = ConsoleCalls(
        data_dir=settings.data_dir,
        session_factory=app.state.session_factory,
        host=server_address(server),
        ice_addresses=settings.webrtc_addresses,
    )
    try:
        await console.start(server)
    except (OSError, RegistrationError) as exc:
        logger.error("the console's centre number could not register: %s", exc)
        await console.close()
        return None
    app.state.console_calls = console
    return console
