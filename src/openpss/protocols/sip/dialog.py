"""SIP dialogs (RFC 3261 §12) and the endpoint that sends requests for them.

``Dialog`` holds one side of a session (Call-ID, tags, CSeq counters, remote target, route set
from Record-Route) and builds in-dialog requests (BYE, INFO, MESSAGE, re-INVITE, ACK).
``SipEndpoint`` wraps a ``TransactionLayer``: it stamps our Via on outgoing requests, answers
401/407 challenges with a ``DigestClient``, and knows our Contact. The user agent and the
server (B2BUA) are both built on it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from openpss.protocols.sip.digest import DigestClient, pick_challenge
from openpss.protocols.sip.errors import SipParseError
from openpss.protocols.sip.message import Headers, NameAddress, SipRequest, SipResponse
from openpss.protocols.sip.transaction import (
    ClientTransaction,
    RequestHandler,
    Timers,
    TransactionLayer,
    new_branch,
    new_tag,
)
from openpss.protocols.sip.transport import DEFAULT_PORT, Peer
from openpss.protocols.sip.uri import SipUri

logger = logging.getLogger(__name__)

MAX_FORWARDS = "70"  # RFC 3261 §8.1.1.6


def peer_of_uri(uri: str, default_transport: str = "UDP") -> Peer:
    """Where a request for ``uri`` goes (transport= param, port 5060 by default)."""
    parsed = SipUri.parse(uri)
    transport = (parsed.params.get("transport") or default_transport).upper()
    return Peer(transport, parsed.host.strip("[]"), parsed.port or DEFAULT_PORT)


@dataclass
class Dialog:
    """One side of a dialog as seen from here."""

    call_id: str
    local_tag: str
    remote_tag: str
    local_uri: str
    remote_uri: str
    remote_target: str
    peer: Peer
    local_contact: str
    route_set: list[str] = field(default_factory=list)
    local_cseq: int = 0
    remote_cseq: int = 0
    local_display: str = ""

    @classmethod
    def as_uas(
        cls, request: SipRequest, *, local_tag: str, peer: Peer, local_contact: str
    ) -> Dialog:
        """The dialog a UAS creates from a received INVITE (§12.1.1)."""
        contacts = request.contacts
        return cls(
            call_id=request.call_id,
            local_tag=local_tag,
            remote_tag=request.from_.tag or "",
            local_uri=request.to.uri,
            remote_uri=request.from_.uri,
            remote_target=contacts[0].uri if contacts else request.from_.uri,
            peer=peer,
            local_contact=local_contact,
            route_set=request.headers.get_all("Record-Route"),
            remote_cseq=request.cseq.number,
        )

    @classmethod
    def as_uac(
        cls, request: SipRequest, response: SipResponse, *, peer: Peer, local_contact: str
    ) -> Dialog:
        """The dialog a UAC creates from a 1xx/2xx with a To tag (§12.1.2)."""
        contacts = response.contacts
        routes = list(reversed(response.headers.get_all("Record-Route")))
        from_ = request.from_
        return cls(
            call_id=request.call_id,
            local_tag=from_.tag or "",
            remote_tag=response.to.tag or "",
            local_uri=from_.uri,
            remote_uri=request.to.uri,
            remote_target=contacts[0].uri if contacts else request.uri,
            peer=peer_of_uri(NameAddress.parse(routes[0]).uri, peer.transport) if routes else peer,
            local_contact=local_contact,
            route_set=routes,
            local_cseq=request.cseq.number,
            local_display=from_.display,
        )

    @property
    def key(self) -> tuple[str, str, str]:
        """(Call-ID, local tag, remote tag)."""
        return (self.call_id, self.local_tag, self.remote_tag)

    def create_request(
        self,
        method: str,
        body: bytes = b"",
        content_type: str | None = None,
        *,
        cseq: int | None = None,
    ) -> SipRequest:
        """An in-dialog request; CSeq counts up unless given (ACK reuses the INVITE's)."""
        if cseq is None:
            self.local_cseq += 1
            cseq = self.local_cseq
        headers = Headers()
        local = NameAddress(self.local_uri, self.local_display, {"tag": self.local_tag})
        headers.add("From", str(local))
        headers.add("To", str(NameAddress(self.remote_uri, "", {"tag": self.remote_tag})))
        headers.add("Call-ID", self.call_id)
        headers.add("CSeq", f"{cseq} {method}")
        for route in self.route_set:
            headers.add("Route", route)
        headers.add("Max-Forwards", MAX_FORWARDS)
        if method in ("INVITE", "UPDATE", "SUBSCRIBE", "NOTIFY", "REFER"):
            headers.add("Contact", f"<{self.local_contact}>")
        request = SipRequest(headers, b"", method, self.remote_target)
        request.set_body(body, content_type)
        return request


class SipEndpoint:
    """A transaction layer plus what every SIP element needs to send requests."""

    def __init__(
        self,
        on_request: RequestHandler,
        *,
        timers: Timers | None = None,
        user_agent: str = "openpss",
        advertised_host: str | None = None,
    ) -> None:
        self.layer = TransactionLayer(on_request, timers=timers)
        self.user_agent = user_agent
        self.advertised_host = advertised_host

    async def start(self, host: str, port: int, *, tcp: bool = True) -> None:
        """Bind UDP and TCP."""
        await self.layer.start(host, port, tcp=tcp)

    async def close(self) -> None:
        """Close sockets."""
        await self.layer.close()

    @property
    def host(self) -> str:
        """The address we put in Via and Contact."""
        return self.advertised_host or self.layer.transport.host

    @property
    def port(self) -> int:
        """Our port."""
        return self.layer.transport.port

    def contact_uri(self, user: str, transport: str = "UDP") -> str:
        """``sip:user@host:port`` (``;transport=tcp`` for TCP)."""
        uri = SipUri.for_number(user, self.host, self.port)
        if transport == "TCP":
            uri.params["transport"] = "tcp"
        return str(uri)

    def send(self, request: SipRequest, peer: Peer) -> ClientTransaction:
        """Stamp a new top Via and start a client transaction."""
        via = self.layer.transport.via_for(peer.transport, new_branch())
        via.host = self.host
        request.headers.prepend("Via", str(via))
        if request.headers.get("Max-Forwards") is None:
            request.headers.add("Max-Forwards", MAX_FORWARDS)
        if request.headers.get("Content-Length") is None:
            request.headers.add("Content-Length", str(len(request.body)))
        return self.layer.send_request(request, peer)

    def send_ack(self, dialog: Dialog, invite_cseq: int, body: bytes = b"") -> None:
        """The ACK of a 2xx: its own transaction-less request (§13.2.2.4)."""
        ack = dialog.create_request(
            "ACK", body, "application/sdp" if body else None, cseq=invite_cseq
        )
        via = self.layer.transport.via_for(dialog.peer.transport, new_branch())
        via.host = self.host
        ack.headers.prepend("Via", str(via))
        self.layer.send_stateless(ack, dialog.peer)

    async def request(
        self,
        request: SipRequest,
        peer: Peer,
        *,
        credentials: DigestClient | None = None,
        on_provisional: Callable[[SipResponse], None] | None = None,
        on_transaction: Callable[[ClientTransaction], None] | None = None,
    ) -> SipResponse:
        """Send and wait for the final response, answering one digest challenge."""
        for attempt in range(2):
            txn = self.send(request, peer)
            txn.on_provisional = on_provisional
            if on_transaction is not None:
                on_transaction(txn)
            response = await asyncio.shield(txn.final)  # a cancelled caller keeps it alive
            if response.status not in (401, 407) or credentials is None or attempt:
                return response
            request = self._with_credentials(request, response, credentials)
        return response

    def _with_credentials(
        self, request: SipRequest, response: SipResponse, credentials: DigestClient
    ) -> SipRequest:
        proxy = response.status == 407
        challenge = pick_challenge(
            response.headers.get_all("Proxy-Authenticate" if proxy else "WWW-Authenticate")
        )
        if challenge is None:
            raise SipParseError("the challenge offers no digest algorithm we support")
        retry = SipRequest(request.headers.copy(), request.body, request.method, request.uri)
        retry.headers.pop_first_value("Via")
        cseq = request.cseq
        retry.headers.set("CSeq", f"{cseq.number + 1} {cseq.method}")
        name = "Proxy-Authorization" if proxy else "Authorization"
        retry.headers.set(
            name, credentials.authorization(challenge, method=request.method, uri=request.uri)
        )
        return retry


def new_call_id(host: str) -> str:
    """A fresh Call-ID."""
    return f"{new_tag()}{new_tag()}@{host}"
