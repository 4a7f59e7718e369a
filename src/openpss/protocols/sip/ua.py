"""A SIP user agent: register, place and answer calls, send INFO/DTMF and MESSAGE.

The door station and the indoor monitor build on this class; tests use it against our server,
Kamailio and baresip::

    ua = UserAgent(username="9901#0", password="pw", server=Peer("UDP", "10.0.0.1", 5080),
                   domain="VDP")
    await ua.start("0.0.0.0", 0)
    await ua.register(expires=60)          # RegistrationError on failure
    refresh = asyncio.create_task(ua.keep_registered(60))  # or: re-register every 30 s
    call = await ua.call("8001", sdp)      # CallFailed(status) unless answered
    outgoing = OutgoingCall(ua, on_ringing=...)  # or: ringing callback, cancel() after 180
    call = await outgoing.dial("8001", sdp)
    await call.send_dtmf("1"); await call.hangup()
    incoming = await ua.incoming.get()     # an INVITE to us (180 already sent)
    await incoming.answer(answer_sdp)      # or incoming.reject(486)

Requests go to ``server`` (registrar and outbound proxy); in-dialog requests follow the route
set and remote target. ``auto_answer`` answers every call with an SDP answer built from
the offer (``media_ports`` say which local ports). Out-of-dialog requests: ``on_message``
answers a MESSAGE, ``screen`` may refuse (403) an INVITE or MESSAGE by where it came from.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Callable

from openpss.protocols.sip.dialog import Dialog, SipEndpoint, new_call_id, peer_of_uri
from openpss.protocols.sip.digest import DigestClient
from openpss.protocols.sip.errors import SipParseError
from openpss.protocols.sip.message import (
    Headers,
    NameAddress,
    SipRequest,
    SipResponse,
    make_cancel,
    make_response,
    validate_request,
)
from openpss.protocols.sip.sdp import SessionDescription, build_answer
from openpss.protocols.sip.transaction import ClientTransaction, ServerTransaction, Timers, new_tag
from openpss.protocols.sip.transport import Peer
from openpss.protocols.sip.uri import SipUri

logger = logging.getLogger(__name__)

DTMF_DURATION_MS = 250  # SIP INFO application/dtmf-relay, as Dahua units send it
INTERVAL_TOO_BRIEF = 423  # RFC 3261 §21.4.17: retry with Min-Expires (§10.2.8)
FORBIDDEN = 403  # RFC 3261 §21.4.4
CANCELLED = "cancelled"  # end reason of an incoming call the caller CANCELled
ANSWERED_ELSEWHERE = "answered elsewhere"  # CANCEL with Reason cause=200 (RFC 3326)


class RegistrationError(Exception):
    """The registrar refused us; ``status`` says how."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"registration refused: {status} {reason}")
        self.status = status


class CallFailed(Exception):
    """An outgoing call was not answered; ``status`` is the final response."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"call failed: {status} {reason}")
        self.status = status


class UaCallState(enum.Enum):
    """Where a user-agent call is."""

    ringing = "ringing"
    answered = "answered"
    ended = "ended"


class UaCall:
    """One call of the user agent, incoming or outgoing."""

    def __init__(self, ua: UserAgent, *, remote_sdp: bytes, caller: str) -> None:
        self.ua = ua
        self.state = UaCallState.ringing
        self.remote_sdp = remote_sdp
        self.caller = caller
        self.local_sdp = b""
        self.dialog: Dialog | None = None
        self.invite: SipRequest | None = None
        self.txn: ServerTransaction | None = None
        self.ended = asyncio.Event()
        self.end_reason = ""
        self.received: asyncio.Queue[SipRequest] = asyncio.Queue()  # INFO, MESSAGE

    def _set_state(self, state: UaCallState, reason: str = "") -> None:
        logger.info("%s call %s -> %s %s", self.ua.username, self.state.value, state.value, reason)
        self.state = state
        if self.invite is not None and self.ua._ringing.get(self.invite.call_id) is self:
            del self.ua._ringing[self.invite.call_id]  # answered, rejected or cancelled
        if state is UaCallState.ended:
            self.end_reason = reason
            self.ended.set()
            if self.dialog is not None:
                self.ua.dialogs.pop(self.dialog.key, None)

    async def answer(self, sdp: bytes | None = None) -> None:
        """Answer an incoming call with ``sdp`` (default: an answer built from the offer)."""
        assert self.invite is not None and self.txn is not None
        if self.state is not UaCallState.ringing:
            return
        self.local_sdp = sdp if sdp is not None else self.ua.answer_for(self.remote_sdp)
        response = make_response(self.invite, 200, to_tag=self.dialog_tag)
        response.headers.add("Contact", f"<{self.ua.contact}>")
        response.set_body(self.local_sdp, "application/sdp" if self.local_sdp else None)
        self.txn.on_no_ack = self._no_ack
        self.txn.respond(response)
        self._set_state(UaCallState.answered)

    def _no_ack(self) -> None:
        """Our 2xx was never ACKed: end the dialog with a BYE (RFC 3261 §13.3.1.4)."""
        if self.state is UaCallState.answered and self.dialog is not None:
            self._set_state(UaCallState.ended, "no ACK")
            self.ua.endpoint.send(self.dialog.create_request("BYE"), self.dialog.peer)

    def reject(self, status: int = 486) -> None:
        """Refuse an incoming call (486 busy, 603 decline)."""
        assert self.txn is not None
        if self.state is UaCallState.ringing:
            self.txn.respond(
                make_response(self.invite or self.txn.request, status, to_tag=self.dialog_tag)
            )
            self._set_state(UaCallState.ended, f"rejected {status}")

    @property
    def dialog_tag(self) -> str:
        """Our To tag on an incoming call."""
        assert self.dialog is not None
        return self.dialog.local_tag

    async def hangup(self) -> SipResponse | None:
        """BYE an answered call."""
        if self.state is not UaCallState.answered or self.dialog is None:
            return None
        self._set_state(UaCallState.ended, "local hangup")
        return await self.ua.endpoint.request(self.dialog.create_request("BYE"), self.dialog.peer)

    async def send_info(self, body: bytes, content_type: str) -> SipResponse:
        """An INFO in the dialog (DTMF, unlock commands)."""
        assert self.dialog is not None
        request = self.dialog.create_request("INFO", body, content_type)
        return await self.ua.endpoint.request(request, self.dialog.peer)

    async def send_dtmf(self, digit: str) -> SipResponse:
        """One DTMF digit as SIP INFO application/dtmf-relay."""
        body = f"Signal={digit}\r\nDuration={DTMF_DURATION_MS}\r\n".encode()
        return await self.send_info(body, "application/dtmf-relay")

    async def send_message(self, text: str) -> SipResponse:
        """A MESSAGE in the dialog."""
        assert self.dialog is not None
        request = self.dialog.create_request("MESSAGE", text.encode(), "text/plain")
        return await self.ua.endpoint.request(request, self.dialog.peer)

    async def reinvite(self, sdp: bytes) -> SipResponse:
        """A re-INVITE with a new offer; the 2xx is ACKed."""
        assert self.dialog is not None
        request = self.dialog.create_request("INVITE", sdp, "application/sdp")
        response = await self.ua.endpoint.request(request, self.dialog.peer)
        if response.status < 300:
            self.ua.endpoint.send_ack(self.dialog, request.cseq.number)
            self.remote_sdp = response.body
        return response


class UserAgent:
    """A registering SIP phone in code."""

    def __init__(
        self,
        *,
        username: str,
        password: str,
        server: Peer,
        domain: str | None = None,
        timers: Timers | None = None,
        user_agent: str = "openpss-ua",
        auto_answer: bool = False,
        media_ports: dict[str, int] | None = None,
        advertised_host: str | None = None,
    ) -> None:
        self.username = username
        self.server = server
        self.domain = domain or server.host
        self.credentials = DigestClient(username, password)
        self.endpoint = SipEndpoint(
            self._on_request, timers=timers, user_agent=user_agent, advertised_host=advertised_host
        )
        self.auto_answer = auto_answer
        self.media_ports = media_ports or {"audio": 0}
        self.incoming: asyncio.Queue[UaCall] = asyncio.Queue()
        self.dialogs: dict[tuple[str, str, str], UaCall] = {}
        self._ringing: dict[str, UaCall] = {}  # incoming calls still ringing, by Call-ID
        self._register_call_id = new_call_id("openpss")
        self._register_cseq = 0
        self.asked_expires = 0  # the Expires of the last accepted REGISTER (after a 423)
        self.on_call: Callable[[UaCall], None] | None = None
        # out-of-dialog MESSAGE -> status to answer (None: 481, no dialog)
        self.on_message: Callable[[SipRequest], int] | None = None
        # out-of-dialog INVITE or MESSAGE from this peer: False answers 403
        self.screen: Callable[[SipRequest, Peer], bool] | None = None

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Bind UDP and TCP."""
        await self.endpoint.start(host, port)

    async def close(self) -> None:
        """Close sockets."""
        await self.endpoint.close()

    @property
    def aor(self) -> str:
        """Our address of record."""
        return str(SipUri.for_number(self.username, self.domain))

    @property
    def contact(self) -> str:
        """Our Contact URI."""
        return self.endpoint.contact_uri(self.username, self.server.transport)

    def _request(self, method: str, uri: str, to: str, *, call_id: str, cseq: int) -> SipRequest:
        headers = Headers()
        headers.add("From", str(NameAddress(self.aor, "", {"tag": new_tag()})))
        headers.add("To", f"<{to}>")
        headers.add("Call-ID", call_id)
        headers.add("CSeq", f"{cseq} {method}")
        headers.add("Contact", f"<{self.contact}>")
        headers.add("User-Agent", self.endpoint.user_agent)
        return SipRequest(headers, b"", method, uri)

    async def register(self, expires: int = 60) -> SipResponse:
        """REGISTER (or unregister with 0); RegistrationError unless 200.

        A 423 answer is retried once with its Min-Expires (RFC 3261 §10.2.8); ``asked_expires``
        then says what we asked for in the REGISTER the server accepted.
        """
        for _ in range(2):
            response = await self._send_register(expires)
            minimum = (response.headers.get("Min-Expires") or "").strip()
            if response.status == INTERVAL_TOO_BRIEF and expires and minimum.isdigit():
                expires = int(minimum)
                continue
            if response.status != 200:
                raise RegistrationError(response.status, response.reason)
            self.asked_expires = expires
            return response
        raise RegistrationError(INTERVAL_TOO_BRIEF, "Interval Too Brief")

    async def _send_register(self, expires: int) -> SipResponse:
        self._register_cseq += 2  # the digest retry uses the next number
        request = self._request(
            "REGISTER",
            str(SipUri(host=self.domain)),
            self.aor,
            call_id=self._register_call_id,
            cseq=self._register_cseq,
        )
        request.headers.add("Expires", str(expires))
        return await self.endpoint.request(request, self.server, credentials=self.credentials)

    async def keep_registered(self, expires: int = 60, *, retry_seconds: float = 5.0) -> None:
        """Register and refresh at half the granted time until cancelled (run it as a task)."""
        while True:
            try:
                response = await self.register(expires)
                delay = max(0.5, self._granted(response, self.asked_expires) / 2)
            except (RegistrationError, SipParseError, OSError) as exc:
                logger.warning("%s: registration failed, retrying: %s", self.username, exc)
                delay = retry_seconds
            await asyncio.sleep(delay)

    def _granted(self, response: SipResponse, asked: int) -> int:
        for contact in response.contacts:
            value = contact.params.get("expires")
            if contact.uri == self.contact and value and value.isdigit():
                return int(value)
        return asked

    async def unregister(self) -> SipResponse:
        """Remove our binding."""
        return await self.register(expires=0)

    async def call(
        self, number: str, sdp: bytes = b"", *, on_ringing: Callable[[], None] | None = None
    ) -> UaCall:
        """Call ``number``; returns once answered (ACK sent), CallFailed otherwise.

        ``on_ringing`` runs on 180/183. Cancelling the awaiting task sends CANCEL (the callee
        stops ringing, answers 487); ``OutgoingCall.cancel`` waits for a provisional instead.
        """
        outgoing = OutgoingCall(self, on_ringing)
        try:
            return await outgoing.dial(number, sdp)
        except asyncio.CancelledError:
            outgoing.cancel_now()
            raise

    def answer_for(self, offer: bytes) -> bytes:
        """An SDP answer for ``offer`` on our media ports."""
        if not offer:
            return b""
        try:
            parsed = SessionDescription.parse(offer)
        except SipParseError:
            return b""
        return bytes(build_answer(parsed, address=self.endpoint.host, ports=self.media_ports))

    # ---- incoming --------------------------------------------------------------------------

    def _on_request(self, request: SipRequest, txn: ServerTransaction | None, peer: Peer) -> None:
        try:
            validate_request(request, common=False)  # the transport checked the rest
        except SipParseError as exc:
            if txn is not None:
                txn.reply(exc.status)
            return
        if txn is None:
            return  # ACK of our 2xx
        if self._out_of_dialog(request, txn, peer):
            return
        key = (request.call_id, request.to.tag or "", request.from_.tag or "")
        call = self.dialogs.get(key)
        if request.method == "INVITE" and not request.to.tag:
            self._incoming_invite(request, txn, peer)
        elif request.method == "CANCEL":
            self._cancelled(request, txn)
        elif call is None:
            txn.reply(200 if request.method == "OPTIONS" else 481)
        elif request.method == "BYE":
            txn.reply(200)
            call._set_state(UaCallState.ended, "remote hangup")
        elif request.method == "INVITE":
            call.remote_sdp = request.body or call.remote_sdp
            response = make_response(request, 200)
            response.headers.add("Contact", f"<{self.contact}>")
            response.set_body(call.local_sdp, "application/sdp" if call.local_sdp else None)
            txn.respond(response)
        else:
            txn.reply(200)
            call.received.put_nowait(request)

    def _out_of_dialog(self, request: SipRequest, txn: ServerTransaction, peer: Peer) -> bool:
        """Screen an out-of-dialog INVITE or MESSAGE, answer a MESSAGE; True when answered."""
        if request.to.tag or request.method not in ("INVITE", "MESSAGE"):
            return False
        if self.screen is not None and not self.screen(request, peer):
            logger.info("%s from %s refused by the screen", request.method, peer.host)
            txn.reply(FORBIDDEN)
            return True
        if request.method == "MESSAGE" and self.on_message is not None:
            txn.reply(self.on_message(request))
            return True
        return False

    def _incoming_invite(self, request: SipRequest, txn: ServerTransaction, peer: Peer) -> None:
        caller = request.from_.sip_uri.number or ""
        call = UaCall(self, remote_sdp=request.body, caller=caller)
        call.invite, call.txn = request, txn
        call.dialog = Dialog.as_uas(
            request, local_tag=new_tag(), peer=peer, local_contact=self.contact
        )
        self.dialogs[call.dialog.key] = call
        self._ringing[request.call_id] = call
        txn.respond(make_response(request, 180, to_tag=call.dialog.local_tag))
        if self.on_call is not None:
            self.on_call(call)
        if self.auto_answer:
            asyncio.get_running_loop().create_task(call.answer())
        else:
            self.incoming.put_nowait(call)

    def _cancelled(self, request: SipRequest, txn: ServerTransaction) -> None:
        call = self._ringing.pop(request.call_id, None)
        if call is None or call.state is not UaCallState.ringing or call.txn is None:
            txn.reply(481)
            return
        txn.reply(200)
        call.txn.respond(make_response(call.txn.request, 487, to_tag=call.dialog_tag))
        call._set_state(UaCallState.ended, cancel_reason(request))


def cancel_reason(cancel: SipRequest) -> str:
    """``answered elsewhere`` for a CANCEL whose Reason says cause 200 (RFC 3326), else
    ``cancelled``."""
    for value in cancel.headers.get_all("Reason"):
        protocol, _, params = value.partition(";")
        if protocol.strip().upper() == "SIP" and _cause(params) == "200":
            return ANSWERED_ELSEWHERE
    return CANCELLED


def _cause(params: str) -> str:
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "cause":
            return value.strip()
    return ""


class OutgoingCall:
    """An INVITE of the user agent on its way: ``on_ringing`` on 180/183, and ``cancel`` sends
    CANCEL only once a provisional response arrived (RFC 3261 §9.1)."""

    def __init__(self, ua: UserAgent, on_ringing: Callable[[], None] | None = None) -> None:
        self.ua = ua
        self.on_ringing = on_ringing
        self.txn: ClientTransaction | None = None
        self.provisional = False
        self.cancel_wanted = False
        self.cancel_sent = False

    async def dial(self, number: str, sdp: bytes = b"") -> UaCall:
        """INVITE ``number``; the answered call (ACK sent), or CallFailed."""
        ua = self.ua
        uri = str(SipUri.for_number(number, ua.domain))
        request = ua._request("INVITE", uri, uri, call_id=new_call_id(ua.endpoint.host), cseq=1)
        request.set_body(sdp, "application/sdp" if sdp else None)
        response = await ua.endpoint.request(
            request,
            ua.server,
            credentials=ua.credentials,
            on_provisional=self._on_provisional,
            on_transaction=self._on_transaction,
        )
        if response.status >= 300:
            raise CallFailed(response.status, response.reason)
        return self._answered(response)

    def _answered(self, response: SipResponse) -> UaCall:
        ua = self.ua
        assert self.txn is not None
        final = self.txn.request
        call = UaCall(ua, remote_sdp=response.body, caller=ua.username)
        call.local_sdp = final.body
        dialog = Dialog.as_uac(final, response, peer=ua.server, local_contact=ua.contact)
        if not dialog.route_set:
            dialog.peer = peer_of_uri(dialog.remote_target, ua.server.transport)
        call.dialog = dialog
        ua.dialogs[dialog.key] = call
        ua.endpoint.send_ack(dialog, final.cseq.number)
        call._set_state(UaCallState.answered)
        if self.cancel_wanted:  # answered as we gave up: end it at once
            asyncio.get_running_loop().create_task(call.hangup())
        return call

    def _on_transaction(self, txn: ClientTransaction) -> None:
        self.txn, self.provisional = txn, False

    def _on_provisional(self, response: SipResponse) -> None:
        self.provisional = True
        if response.status in (180, 183) and self.on_ringing is not None:
            self.on_ringing()
        if self.cancel_wanted and not self.cancel_sent:
            self._send_cancel()

    def cancel(self) -> None:
        """Stop ringing (CANCEL once a provisional response arrived)."""
        self.cancel_wanted = True
        if self.provisional and not self.cancel_sent:
            self._send_cancel()

    def cancel_now(self) -> None:
        """CANCEL at once unless the INVITE has its final answer (the awaiting task was
        cancelled: nobody is left to wait for a provisional)."""
        self.cancel_wanted = True
        if self.txn is not None and not self.txn.final.done() and not self.cancel_sent:
            self._send_cancel()

    def _send_cancel(self) -> None:
        assert self.txn is not None
        self.cancel_sent = True
        self.ua.endpoint.layer.send_request(make_cancel(self.txn.request), self.txn.peer)
