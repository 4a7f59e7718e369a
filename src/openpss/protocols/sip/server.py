"""``SipServer``: registrar + location + B2BUA in one class, for the platform and door stations.

Used by the platform (``openpss serve``: UDP+TCP 5080, the manual's "platform as SIP server"),
by a door station acting as SIP server (5060, realm ``VDP``) and by
``openpss sip server --listen HOST:PORT --realm REALM --accounts FILE.csv``::

    server = SipServer(realm="VDP", accounts=StaticAccounts({"8001": "pw", "9901#0": "pw"}),
                       events=MyEvents(), groups={"888888": CallGroup("888888", [...])})
    await server.start("0.0.0.0", 5060)
    ...
    await server.close()

Dial numbers (``route``): a call group (priority order, each member for its ring time); a
username with bindings (a VTO ``8001`` or one extension ``9901#1``); a room number ``9901``
(rings ``9901`` and every ``9901#N`` in parallel). Unknown numbers get 404, known but
unregistered 480, all busy 486. REGISTER and INVITE are digest-authenticated (INVITE with 407
when ``authenticate_calls``). Owners learn of registrations and finished calls through
``ServerEvents``; ``accounts`` is any ``AccountsProvider``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine, Mapping
from typing import Any

from mypy_extensions import mypyc_attr

from openpss.protocols.guards import RateLimitedLog
from openpss.protocols.sip.accounts import AccountsProvider, EndState, ServerEvents
from openpss.protocols.sip.b2bua import RING_SECONDS, Call, CallGroup, CallState, Stage
from openpss.protocols.sip.dialog import SipEndpoint
from openpss.protocols.sip.digest import DigestServer
from openpss.protocols.sip.errors import SipParseError
from openpss.protocols.sip.message import REASONS, SipRequest, make_response, validate_request
from openpss.protocols.sip.registrar import (
    MAX_EXPIRES,
    MIN_EXPIRES,
    LocationService,
    Registrar,
    RegistrarError,
)
from openpss.protocols.sip.transaction import ServerTransaction, Timers
from openpss.protocols.sip.transport import Peer

logger = logging.getLogger(__name__)

ALLOW = "INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, INFO, MESSAGE, UPDATE"
IN_DIALOG = ("BYE", "INFO", "MESSAGE", "UPDATE", "INVITE", "NOTIFY", "REFER")
SUPPORTED: frozenset[str] = frozenset()  # option tags we implement (Require: anything -> 420)
SWEEP_SECONDS = 1.0
MAX_CALLS = 10_000
MAX_CALL_SECONDS = 4 * 3600.0  # answered calls are hung up after this (our choice)


@mypyc_attr(allow_interpreted_subclasses=True)  # the platform and the VTO extend it
class SipServer:
    """Registrar, location service and B2BUA on one UDP+TCP port."""

    def __init__(
        self,
        *,
        realm: str,
        accounts: AccountsProvider,
        events: ServerEvents | None = None,
        groups: Mapping[str, CallGroup] | None = None,
        timers: Timers | None = None,
        min_expires: int = MIN_EXPIRES,
        max_expires: int = MAX_EXPIRES,
        ring_seconds: float = RING_SECONDS,
        max_call_seconds: float = MAX_CALL_SECONDS,
        authenticate_calls: bool = True,
        digest_algorithms: tuple[str, ...] = ("MD5",),
        user_agent: str = "openpss",
        advertised_host: str | None = None,
    ) -> None:
        self.realm = realm
        self.accounts = accounts
        self.events = events or ServerEvents()
        self.groups: dict[str, CallGroup] = dict(groups or {})
        self.ring_seconds = ring_seconds
        self.max_call_seconds = max_call_seconds
        self.authenticate_calls = authenticate_calls
        self.endpoint = SipEndpoint(
            self._on_request, timers=timers, user_agent=user_agent, advertised_host=advertised_host
        )
        self.location = LocationService(on_change=self._registration_changed)
        self.registrar = Registrar(self.location, min_expires=min_expires, max_expires=max_expires)
        self.digest = DigestServer(realm, accounts.password_of, algorithms=digest_algorithms)
        self.calls: dict[str, Call] = {}  # by A-leg Call-ID
        self._dialogs: dict[tuple[str, str, str], tuple[Call, str]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._sweeper: asyncio.Task[None] | None = None
        self.log = RateLimitedLog(logger)

    # ---- lifecycle -------------------------------------------------------------------------

    async def start(self, host: str, port: int, *, tcp: bool = True) -> None:
        """Listen on ``host:port`` (UDP and TCP) and start the expiry sweep."""
        await self.endpoint.start(host, port, tcp=tcp)
        self._sweeper = asyncio.create_task(self._sweep_forever(), name="sip-sweep")

    async def close(self) -> None:
        """Stop listening, end calls, cancel background work."""
        if self._sweeper is not None:
            self._sweeper.cancel()
        for task in list(self._tasks):
            task.cancel()
        for task in [*self._tasks, *([self._sweeper] if self._sweeper else [])]:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self.endpoint.close()

    @property
    def port(self) -> int:
        """The bound port."""
        return self.endpoint.port

    @property
    def host(self) -> str:
        """The bound (or advertised) address."""
        return self.endpoint.host

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_SECONDS)
            self.location.sweep()

    def _registration_changed(self, username: str, online: bool) -> None:
        self.events.registration_changed(username, online)

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self.log.warning("task", "SIP server task failed: %r", task.exception())

    # ---- dispatch --------------------------------------------------------------------------

    def _on_request(self, request: SipRequest, txn: ServerTransaction | None, peer: Peer) -> None:
        try:
            validate_request(request, common=False)  # the transport checked the rest
        except SipParseError as exc:
            self.log.warning(
                f"bad:{peer.host}", "refused %s from %s: %s", request.method, peer, exc
            )
            if txn is not None:
                txn.reply(exc.status, f"{_reason(exc.status)} ({exc})"[:200])
            return
        if txn is None:  # ACK of a 2xx
            self._on_ack(request)
            return
        unsupported = [
            tag.strip()
            for value in request.headers.get_all("Require")
            for tag in value.split(",")
            if tag.strip() and tag.strip() not in SUPPORTED
        ]
        if unsupported and request.method not in ("CANCEL", "ACK"):
            txn.reply(420, Unsupported=", ".join(unsupported))
            return
        self._dispatch(request, txn, peer)

    def _dispatch(self, request: SipRequest, txn: ServerTransaction, peer: Peer) -> None:
        method = request.method
        to_tag = request.to.tag
        if method == "REGISTER":
            self._register(request, txn, peer)
        elif method == "OPTIONS" and not to_tag:
            txn.reply(200, Allow=ALLOW, Accept="application/sdp")
        elif method == "CANCEL":
            self._cancel(request, txn)
        elif to_tag and method in IN_DIALOG:
            self._in_dialog(request, txn)
        elif method == "INVITE":
            self._invite(request, txn, peer)
        elif method in ("BYE", "INFO", "UPDATE", "PRACK"):
            txn.reply(481)
        elif method == "MESSAGE":
            txn.reply(404, "Not Found (out-of-dialog MESSAGE is not relayed)")
        else:
            txn.reply(501 if method not in ALLOW else 405, Allow=ALLOW)

    def _authenticate(
        self, request: SipRequest, txn: ServerTransaction, peer: Peer, *, proxy: bool
    ) -> str | None:
        header = "Proxy-Authorization" if proxy else "Authorization"
        result = self.digest.check(
            request.headers.get(header),
            method=request.method,
            source=f"{peer.host}:{peer.port}",
        )
        if result.ok:
            return result.username
        if result.reason in ("wrong password", "unknown user"):
            self.log.info(
                f"auth:{peer.host}",
                "SIP %s from %s refused: %s",
                request.method,
                peer,
                result.reason,
            )
            txn.reply(403, "Forbidden (wrong username or password)")
            return None
        status, name = (407, "Proxy-Authenticate") if proxy else (401, "WWW-Authenticate")
        response = make_response(request, status, to_tag=self.endpoint.layer.local_tag)
        for challenge in self.digest.challenges(stale=result.stale):
            response.headers.add(name, challenge)
        if proxy:
            txn.respond(response)
        else:
            txn.respond_stateless(response)  # a retransmitted REGISTER just gets a new challenge
        return None

    # ---- registrar -------------------------------------------------------------------------

    def _register(self, request: SipRequest, txn: ServerTransaction, peer: Peer) -> None:
        username = self._authenticate(request, txn, peer, proxy=False)
        if username is None:
            return
        if request.to.sip_uri.number != username:
            txn.reply(403, f"Forbidden (To {request.to.uri} is not the account {username})")
            return
        try:
            response = self.registrar.handle(request, username, peer)
        except RegistrarError as exc:
            txn.reply(exc.status, exc.reason, **exc.headers)
            return
        response.headers.set(
            "To", f"{request.headers.get('To')};tag={self.endpoint.layer.local_tag}"
        )
        txn.respond(response)

    # ---- calls -----------------------------------------------------------------------------

    def _invite(self, request: SipRequest, txn: ServerTransaction, peer: Peer) -> None:
        if request.headers.get("Max-Forwards") == "0":
            txn.reply(483)
            return
        content_type = (request.headers.get("Content-Type") or "application/sdp").split(";")[0]
        if request.body and content_type.strip().lower() != "application/sdp":
            txn.reply(415, Accept="application/sdp")
            return
        if self.authenticate_calls:
            caller = self._authenticate(request, txn, peer, proxy=True)
            if caller is None:
                return
        else:
            caller = request.from_.sip_uri.number or "anonymous"
        if len(self.calls) >= MAX_CALLS or request.call_id in self.calls:
            txn.reply(486 if request.call_id not in self.calls else 482)
            return
        callee = request.sip_uri.number or ""
        txn.trying_unless_answered()  # devices ring within ms: their 180 makes the 100 moot
        call = Call(
            endpoint=self.endpoint,
            invite=request,
            txn=txn,
            peer=peer,
            caller=caller,
            callee=callee,
            on_end=self._call_ended,
            on_answer=self._watch_dialogs,
        )
        self.calls[request.call_id] = call
        self._spawn(self._run_call(call))

    async def _run_call(self, call: Call) -> None:
        try:
            await self._route_and_ring(call)
        except Exception as exc:  # a bug must not leave the caller ringing or the call stuck
            self.log.warning("call-bug", "call %s failed: %r", call.record.call_id, exc)
            if call.state is CallState.ringing:
                call.finish(EndState.failed, 500)

    async def _route_and_ring(self, call: Call) -> None:
        stages, status = self.route(call.callee)
        if not stages:
            state = EndState.failed
            call.finish(state, status)
            return
        for leg_stage in stages:
            leg_stage.targets = [(u, b) for u, b in leg_stage.targets if u != call.caller]
        stages = [s for s in stages if s.targets]
        if not stages:
            call.finish(EndState.failed, 480)
            return
        await call.run(stages)

    def route(self, number: str) -> tuple[list[Stage], int]:
        """The stages that ring ``number``, or ([], status) when nobody can be rung."""
        group = self.groups.get(number)
        if group is not None:
            stages = [
                Stage([(m.username, b) for b in self.location.lookup(m.username)], m.ring_seconds)
                for m in group.members
            ]
            stages = [s for s in stages if s.targets]
            return stages, 480
        direct = self.location.lookup(number)
        if direct:
            return [Stage([(number, b) for b in direct], self.ring_seconds)], 0
        known = set(self.accounts.usernames())
        members = sorted(u for u in known if u.startswith(number + "#"))
        targets = [(u, b) for u in members for b in self.location.lookup(u)]
        if targets:
            return [Stage(targets, self.ring_seconds)], 0
        if number in known or members:
            return [], 480
        return [], 404

    def _watch_dialogs(self, call: Call) -> None:
        if call.state is not CallState.answered or call.a_dialog is None or call.b_leg is None:
            return
        assert call.b_leg.dialog is not None
        self._dialogs[call.a_dialog.key] = (call, "a")
        self._dialogs[call.b_leg.dialog.key] = (call, "b")
        # no session timers: a call whose BYE never comes (a device lost power) ends here
        handle = asyncio.get_running_loop().call_later(self.max_call_seconds, call.hangup)
        call.on_end_hooks.append(handle.cancel)

    def _call_ended(self, call: Call) -> None:
        self.calls.pop(call.invite.call_id, None)
        for dialog in (call.a_dialog, call.b_leg.dialog if call.b_leg else None):
            if dialog is not None:
                self._dialogs.pop(dialog.key, None)
        try:
            self.events.call_ended(call.record)
        except Exception:
            logger.exception("call record callback failed for %s", call.record.call_id)

    def _cancel(self, request: SipRequest, txn: ServerTransaction) -> None:
        if self.endpoint.layer.invite_acknowledged(request):
            txn.reply(200)  # the INVITE was answered already: the CANCEL has no effect (§9.2)
            return
        invite_txn = self.endpoint.layer.find_invite_server(request)
        call = self.calls.get(request.call_id)
        if invite_txn is None or call is None or call.txn is not invite_txn:
            txn.reply(481)
            return
        txn.reply(200)
        call.cancel_by_caller()

    def _dialog_of(self, request: SipRequest) -> tuple[Call, str] | None:
        return self._dialogs.get((request.call_id, request.to.tag or "", request.from_.tag or ""))

    def _in_dialog(self, request: SipRequest, txn: ServerTransaction) -> None:
        found = self._dialog_of(request)
        if found is None:
            txn.reply(481)
            return
        call, side = found
        self._spawn(call.relay(side, request, txn))

    def _on_ack(self, request: SipRequest) -> None:
        found = self._dialog_of(request)
        if found is None:
            call = self.calls.get(request.call_id)
            if call is not None and call.a_dialog is not None:
                call.on_ack("a", request)
            return
        call, side = found
        call.on_ack(side, request)


def _reason(status: int) -> str:
    return REASONS.get(status, "Bad Request")
