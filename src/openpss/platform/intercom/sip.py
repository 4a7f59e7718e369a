"""The platform's SIP server (registrar + B2BUA) as a background service of `openpss serve`.

It listens on OPENPSS_SIP_HOST (default: the HTTP host) : OPENPSS_SIP_PORT (5080, the port door
stations expect of a platform, door-station manual table 4-1) over UDP and TCP.

Accounts: until the intercom domain provides registration numbers (platform-video-intercom 2.2),
the accounts come from OPENPSS_SIP_ACCOUNTS_FILE (CSV ``username,password``, the same format as
``openpss sip server --accounts``); without that file the provider is empty and every REGISTER is
refused. The device registry is not used: its usernames and passwords are the devices' web logins,
not SIP registration numbers.

Events: ``PlatformSipEvents`` keeps which usernames are online and the latest call records in
memory (``app.state.sip_events``); the intercom domain will persist them as device status and
call records.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque

from fastapi import FastAPI

from openpss.platform.settings import Settings
from openpss.protocols.sip.accounts import (
    AccountsError,
    CallRecord,
    ServerEvents,
    StaticAccounts,
)
from openpss.protocols.sip.server import SipServer

logger = logging.getLogger(__name__)

KEPT_CALL_RECORDS = 1000  # in memory until the intercom domain stores them


class PlatformSipEvents(ServerEvents):
    """Online usernames and recent call records, for the console and the intercom domain."""

    def __init__(self) -> None:
        self.online: set[str] = set()
        self.calls: deque[CallRecord] = deque(maxlen=KEPT_CALL_RECORDS)

    def registration_changed(self, username: str, online: bool) -> None:
        """Track online/offline."""
        if online:
            self.online.add(username)
        else:
            self.online.discard(username)

    def call_ended(self, record: CallRecord) -> None:
        """Keep the record."""
        self.calls.append(record)
        logger.info(
            "SIP call %s -> %s %s (%.0f s)",
            record.caller,
            record.callee,
            record.end_state.value,
            record.duration,
        )


def load_accounts(settings: Settings) -> StaticAccounts:
    """The accounts file's accounts, or none."""
    if settings.sip_accounts_file is None:
        logger.warning("no OPENPSS_SIP_ACCOUNTS_FILE: the SIP server accepts no registrations")
        return StaticAccounts()
    return StaticAccounts.from_csv(settings.sip_accounts_file)


def build_server(settings: Settings, events: ServerEvents) -> SipServer:
    """The SIP server the platform runs."""
    return SipServer(realm=settings.sip_realm, accounts=load_accounts(settings), events=events)


async def run(app: FastAPI) -> None:
    """Background service: run the SIP server until the app stops."""
    settings: Settings = app.state.settings
    if not settings.sip_enabled:
        return
    events = PlatformSipEvents()
    try:
        server = build_server(settings, events)
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
    try:
        await asyncio.Event().wait()
    finally:
        await server.close()
