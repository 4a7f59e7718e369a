"""The back-to-back user agent: one incoming call leg (A), one or more outgoing legs (B).

Routing (door-station manual 4.2.6, platform-video-intercom 2.2-2.4), done by ``SipServer``:
a room number rings the master ``#0`` and every extension in parallel (first 200 wins, the
others get CANCEL and answer 487, the caller sees exactly one answer); a call group rings its
members one after another in priority order, each for its ring time. ``Call`` runs the stages
it is given, relays in-dialog requests (re-INVITE, INFO, MESSAGE, UPDATE, BYE) between the
legs, and fills a ``CallRecord``. SDP is passed through unchanged; Contact, Call-ID, tags and
CSeq are the B2BUA's own on each leg.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import enum
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from openpss.protocols.sip.accounts import CallRecord, EndState
from openpss.protocols.sip.dialog import Dialog, SipEndpoint, new_call_id
from openpss.protocols.sip.message import (
    Headers,
    NameAddress,
    SipRequest,
    SipResponse,
    make_cancel,
    make_response,
)
from openpss.protocols.sip.registrar import Binding
from openpss.protocols.sip.transaction import ClientTransaction, ServerTransaction, new_tag
from openpss.protocols.sip.transport import Peer

logger = logging.getLogger(__name__)

RING_SECONDS = 60.0  # how long a parallel stage rings before the caller gets 480 (our default)
# RFC 3326 §2 / RFC 3261 §9.1: the CANCEL to the legs that lost the race of a parallel ring
COMPLETED_ELSEWHERE = 'SIP;cause=200;text="Call completed elsewhere"'
RELAYED_HEADERS = ("Content-Type", "Content-Disposition", "Info-Package", "Event", "Subject")


@dataclass
class GroupMember:
    """A call-group member: a username rung for ``ring_seconds``."""

    username: str
    ring_seconds: float = 30.0


@dataclass
class CallGroup:
    """A number whose members ring one after another in priority order (first = highest)."""

    number: str
    members: list[GroupMember] = field(default_factory=list)


@dataclass
class Stage:
    """Targets rung together, for at most ``ring_seconds``."""

    targets: list[tuple[str, Binding]]
    ring_seconds: float


class CallState(enum.Enum):
    """Where a call is."""

    ringing = "ringing"
    answered = "answered"
    ended = "ended"


class Leg:
    """One outgoing INVITE and, once answered, its dialog."""

    def __init__(self, endpoint: SipEndpoint, username: str, binding: Binding) -> None:
        self.endpoint = endpoint  # not the Call: no reference cycle to outlive the call
        self.username = username
        self.binding = binding
        self.request: SipRequest | None = None
        self.txn: ClientTransaction | None = None
        self.dialog: Dialog | None = None
        self.provisional = False
        self.cancel_wanted = False
        self.cancel_sent = False
        self.cancel_reason: str | None = None
        self.status = 0

    def cancel(self, reason: str | None = None) -> None:
        """CANCEL this leg once it has rung (§9.1: not before a provisional), with ``reason``
        as its Reason header (RFC 3326)."""
        self.cancel_wanted = True
        self.cancel_reason = self.cancel_reason or reason
        if self.provisional and not self.cancel_sent and self.status == 0:
            self._send_cancel()

    def _send_cancel(self) -> None:
        assert self.request is not None and self.txn is not None
        self.cancel_sent = True
        self.endpoint.layer.send_request(
            make_cancel(self.request, self.cancel_reason), self.txn.peer
        )


class Call:
    """One call through the B2BUA."""

    def __init__(
        self,
        *,
        endpoint: SipEndpoint,
        invite: SipRequest,
        txn: ServerTransaction,
        peer: Peer,
        caller: str,
        callee: str,
        on_end: Callable[[Call], None],
        on_answer: Callable[[Call], None] | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.invite = invite
        self.txn = txn
        self.peer = peer
        self.caller = caller
        self.callee = callee
        self.on_end = on_end
        self.on_answer = on_answer
        self.on_end_hooks: list[Callable[[], object]] = []
        self.a_tag = new_tag()
        self.a_dialog: Dialog | None = None
        self.b_leg: Leg | None = None
        self.legs: list[Leg] = []
        self.state = CallState.ringing
        self.cancelled = False
        self.ringing_sent = False
        self.record = CallRecord(call_id=invite.call_id, caller=caller, callee=callee, start=_now())
        self._stage_done: asyncio.Event = asyncio.Event()
        self._stage_legs: list[Leg] = []
        self._pending_b_ack: tuple[Dialog, int] | None = None

    def _set_state(self, state: CallState) -> None:
        logger.debug("call %s %s -> %s", self.invite.call_id, self.state.value, state.value)
        self.state = state

    # ---- ringing ---------------------------------------------------------------------------

    async def run(self, stages: list[Stage]) -> None:
        """Ring each stage until someone answers, the caller cancels, or stages run out."""
        for stage in stages:
            if self.state is not CallState.ringing or self.cancelled:
                break
            await self._ring(stage)
        if self.state is CallState.ringing and not self.cancelled:
            self._fail_from_legs()

    async def _ring(self, stage: Stage) -> None:
        self._stage_done.clear()
        stage_legs = [self._start_leg(username, binding) for username, binding in stage.targets]
        self._stage_legs = stage_legs
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(stage.ring_seconds):  # no extra task, unlike wait_for
                await self._stage_done.wait()
        for leg in stage_legs:
            if leg is not self.b_leg:
                leg.cancel()

    def _start_leg(self, username: str, binding: Binding) -> Leg:
        leg = Leg(self.endpoint, username, binding)
        self.legs.append(leg)
        leg.request = self._leg_invite(username, binding)
        txn = self.endpoint.send(leg.request, binding.peer)
        leg.txn = txn
        txn.on_provisional = lambda response: self._on_provisional(leg, response)
        txn.final.add_done_callback(lambda future: self._on_final(leg, future.result()))
        return leg

    def _leg_invite(self, username: str, binding: Binding) -> SipRequest:
        a_from = self.invite.from_
        host = self.endpoint.host
        caller_uri = f"sip:{self.caller}@{host}:{self.endpoint.port}"
        headers = Headers()
        headers.add("From", str(NameAddress(caller_uri, a_from.display, {"tag": new_tag()})))
        headers.add("To", f"<sip:{username}@{host}>")
        headers.add("Call-ID", new_call_id(host))
        headers.add("CSeq", "1 INVITE")
        headers.add(
            "Contact", f"<{self.endpoint.contact_uri(self.caller, binding.peer.transport)}>"
        )
        forwards = self.invite.headers.get("Max-Forwards")
        headers.add("Max-Forwards", str(int(forwards) - 1) if forwards else "70")
        headers.add("User-Agent", self.endpoint.user_agent)
        for name in RELAYED_HEADERS:
            value = self.invite.headers.get(name)
            if value is not None:
                headers.add(name, value)
        request = SipRequest(headers, b"", "INVITE", binding.contact)
        request.set_body(self.invite.body)
        return request

    def _on_provisional(self, leg: Leg, response: SipResponse) -> None:
        if response.status == 100:
            return
        leg.provisional = True
        if leg.cancel_wanted and not leg.cancel_sent:
            leg._send_cancel()
            return
        if self.state is CallState.ringing and not self.cancelled and not self.ringing_sent:
            self.ringing_sent = True
            status = 183 if response.body else 180
            reply = self._a_response(status)
            if response.body:
                reply.set_body(response.body, response.headers.get("Content-Type"))
            self.txn.respond(reply)

    def _on_final(self, leg: Leg, response: SipResponse) -> None:
        leg.status = response.status
        if response.status < 300:
            self._on_answer(leg, response)
        elif all(other.status for other in self._stage_legs):
            self._stage_done.set()

    def _on_answer(self, leg: Leg, response: SipResponse) -> None:
        assert leg.request is not None and leg.txn is not None
        leg.dialog = Dialog.as_uac(
            leg.request,
            response,
            peer=leg.binding.peer,
            local_contact=self.endpoint.contact_uri(self.caller, leg.binding.peer.transport),
        )
        if self.state is not CallState.ringing or self.cancelled:
            # a second answer, or an answer after the caller gave up: ACK and hang it up
            self.endpoint.send_ack(leg.dialog, leg.request.cseq.number)
            self.endpoint.send(leg.dialog.create_request("BYE"), leg.dialog.peer)
            return
        self.b_leg = leg
        if self.invite.body:
            self.endpoint.send_ack(leg.dialog, leg.request.cseq.number)
        else:
            self._pending_b_ack = (leg.dialog, leg.request.cseq.number)  # answer comes in A's ACK
        self._set_state(CallState.answered)
        self.record.answered_by = leg.username
        self.record.answer = _now()
        self.record.end_state = EndState.answered
        self.record.status = 200
        reply = self._a_response(200)
        reply.set_body(response.body, response.headers.get("Content-Type"))
        self.a_dialog = Dialog.as_uas(
            self.invite,
            local_tag=self.a_tag,
            peer=self.peer,
            local_contact=self.endpoint.contact_uri(self.callee, self.peer.transport),
        )
        if self.on_answer is not None:
            self.on_answer(self)  # dialogs known before the caller's ACK/BYE can arrive
        self.txn.on_no_ack = self.hangup  # the caller never confirmed: BYE both legs
        self.txn.respond(reply)
        for other in self.legs:
            if other is not leg:
                other.cancel(COMPLETED_ELSEWHERE)
        self._stage_done.set()

    def _a_response(self, status: int, reason: str | None = None) -> SipResponse:
        response = make_response(self.invite, status, reason, to_tag=self.a_tag)
        if status < 300:
            contact = self.endpoint.contact_uri(self.callee, self.peer.transport)
            response.headers.add("Contact", f"<{contact}>")
        return response

    def _fail_from_legs(self) -> None:
        statuses = [leg.status for leg in self.legs]
        if not self.legs:
            state, status = EndState.failed, 480
        elif any(s in (603, 600) for s in statuses):
            state, status = EndState.rejected, 603
        elif all(s in (486, 600) for s in statuses):
            state, status = EndState.busy, 486
        elif any(s in (0, 408, 480, 487) for s in statuses):
            state, status = EndState.missed, 480
        else:
            state, status = EndState.failed, min(s for s in statuses if s >= 300)
        for leg in self.legs:
            leg.cancel()
        self.finish(state, status)

    def finish(self, state: EndState, status: int, reason: str | None = None) -> None:
        """Answer the caller with a failure (when still ringing) and close the record."""
        if self.state is CallState.ringing:
            self.txn.respond(self._a_response(status, reason))
            self.record.status = status
        self.record.end_state = state
        self._end()

    def cancel_by_caller(self) -> None:
        """The caller sent CANCEL before an answer."""
        if self.state is not CallState.ringing:
            return
        self.cancelled = True
        for leg in self.legs:
            leg.cancel()
        self.finish(EndState.missed, 487)
        self._stage_done.set()

    def _end(self) -> None:
        if self.state is CallState.ended:
            return
        self._set_state(CallState.ended)
        self.record.end = _now()
        for hook in self.on_end_hooks:
            hook()
        self.on_end_hooks.clear()
        self.txn.on_no_ack = None
        # a leg we cancelled whose 487 is still on its way counts as 487 already
        self.record.legs = [
            (leg.username, leg.status or (487 if leg.cancel_wanted else 0)) for leg in self.legs
        ]
        self.on_end(self)

    # ---- in-dialog -------------------------------------------------------------------------

    def other_side(self, side: str) -> Dialog | None:
        """The dialog a request from ``side`` ('a' or 'b') is relayed to."""
        if side == "a":
            return self.b_leg.dialog if self.b_leg is not None else None
        return self.a_dialog

    def on_ack(self, side: str, request: SipRequest) -> None:
        """ACK of a 2xx: pass the late answer to B, absorb the rest."""
        if side == "a" and self._pending_b_ack is not None:
            dialog, cseq = self._pending_b_ack
            self._pending_b_ack = None
            self.endpoint.send_ack(dialog, cseq, request.body)

    async def relay(self, side: str, request: SipRequest, txn: ServerTransaction) -> None:
        """Relay an in-dialog request to the other leg and its answer back."""
        other = self.other_side(side)
        if other is None or self.state is CallState.ended:
            txn.reply(481)
            return
        content_type = request.headers.get("Content-Type")
        out = other.create_request(request.method, request.body, content_type)
        for name in RELAYED_HEADERS[1:]:
            value = request.headers.get(name)
            if value is not None:
                out.headers.add(name, value)
        if request.method == "BYE":
            txn.reply(200)
            self.endpoint.send(out, other.peer)
            self._end()
            return
        response = await self.endpoint.request(out, other.peer)
        reply = make_response(request, response.status, response.reason)
        if response.body:
            reply.set_body(response.body, response.headers.get("Content-Type"))
        if request.method == "INVITE" and response.status < 300:
            self.endpoint.send_ack(other, out.cseq.number)
            facing = self.a_dialog if side == "a" else other_facing(self)
            if facing is not None:
                reply.headers.add("Contact", f"<{facing.local_contact}>")
        txn.respond(reply)

    def hangup(self) -> None:
        """End an answered call from the server side (BYE both legs)."""
        for dialog in (self.a_dialog, self.b_leg.dialog if self.b_leg else None):
            if dialog is not None:
                self.endpoint.send(dialog.create_request("BYE"), dialog.peer)
        self._end()


def other_facing(call: Call) -> Dialog | None:
    """The dialog facing the answering callee."""
    return call.b_leg.dialog if call.b_leg is not None else None


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
