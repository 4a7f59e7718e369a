"""SIP transactions (RFC 3261 §17): client/server, INVITE/non-INVITE, with the §17 timers.

``TransactionLayer`` sits on a ``SipTransport``. It matches responses to client transactions
(branch + method) and retransmitted requests to server transactions, retransmits over UDP
(timers A/E/G), times out (B/F/H), absorbs retransmissions (D/I/J/K), sends the ACK of a
non-2xx INVITE response itself, and gives the transaction user (TU):

- ``on_request(request, transaction, peer)`` for each new request (``transaction`` is None for
  an ACK to a 2xx, which belongs to the dialog);
- ``send_request(request, peer)`` returning a ``ClientTransaction`` whose ``final`` future
  holds the final response (408 when timer B/F fires, 503 when the transport fails) and whose
  ``on_provisional`` callback sees 1xx responses.

Timers scale with ``Timers`` (``Timers(t1=0.01)`` in tests).
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from openpss.protocols.guards import BoundedTable, RateLimitedLog
from openpss.protocols.sip.errors import SipParseError
from openpss.protocols.sip.message import (
    Headers,
    SipRequest,
    SipResponse,
    make_response,
)
from openpss.protocols.sip.tokens import random_hex
from openpss.protocols.sip.transport import Message, Peer, SipTransport, response_destination

logger = logging.getLogger(__name__)
K = TypeVar("K")
V = TypeVar("V")

BRANCH_MAGIC = "z9hG4bK"  # RFC 3261 §8.1.1.7
MAX_TRANSACTIONS = 65_536  # server + client transactions kept at once (our cap)


@dataclass(frozen=True)
class Timers:
    """RFC 3261 §17.1.1.1 / table 4 base values; every timer derives from these."""

    t1: float = 0.5  # RTT estimate
    t2: float = 4.0  # maximum retransmit interval of non-INVITE requests and INVITE responses
    t4: float = 5.0  # maximum time a message stays in the network

    @property
    def b(self) -> float:
        """Timer B/F/H/J: 64*T1."""
        return 64 * self.t1

    @property
    def trying(self) -> float:
        """How long an INVITE may wait for the TU before a 100 is owed: 200 ms (§17.2.1)."""
        return 0.4 * self.t1

    @property
    def d(self) -> float:
        """Timer D: at least 32 s for UDP (scaled with T1)."""
        return max(64 * self.t1, 32.0 * self.t1 / 0.5)


class State(enum.Enum):
    """Transaction states of RFC 3261 figures 5-8."""

    calling = "calling"
    trying = "trying"
    proceeding = "proceeding"
    completed = "completed"
    confirmed = "confirmed"
    accepted = "accepted"  # RFC 6026: INVITE server after a 2xx
    terminated = "terminated"


def new_branch() -> str:
    """A fresh RFC 3261 branch."""
    return BRANCH_MAGIC + random_hex(8)


def new_tag() -> str:
    """A fresh From/To tag."""
    return random_hex(6)


class Expiring(Generic[K, V]):
    """A table whose entries expire ``seconds`` after they were added, oldest first.

    What is left of a finished transaction while it absorbs retransmissions: entries are plain
    tuples (of bytes, strings, numbers), not transaction objects, so the thousands per second
    a busy server finishes neither hold their messages nor keep the cyclic GC busy, and one
    timer serves them all (every entry lives the same time). Over ``capacity`` the oldest go.
    """

    def __init__(self, seconds: float, capacity: int = MAX_TRANSACTIONS) -> None:
        self.seconds = seconds
        self.capacity = capacity
        self._items: dict[K, tuple[float, V]] = {}
        self._order: deque[tuple[float, K]] = deque()
        self._timer: asyncio.TimerHandle | None = None

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: K) -> V | None:
        """The value under ``key``, or None."""
        item = self._items.get(key)
        return None if item is None else item[1]

    def add(self, key: K, value: V) -> None:
        """Store (or replace) ``key``; it expires ``seconds`` from now."""
        loop = asyncio.get_running_loop()
        expiry = loop.time() + self.seconds
        self._items[key] = (expiry, value)
        self._order.append((expiry, key))
        while len(self._items) > self.capacity:
            self._drop_first()
        if self._timer is None:
            self._timer = loop.call_at(self._order[0][0], self._expire)

    def close(self) -> None:
        """Drop everything and the timer."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._items.clear()
        self._order.clear()

    def _drop_first(self) -> None:
        expiry, key = self._order.popleft()
        item = self._items.get(key)
        if item is not None and item[0] == expiry:  # not replaced since
            del self._items[key]

    def _expire(self) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        while self._order and self._order[0][0] <= now:
            self._drop_first()
        self._timer = loop.call_at(self._order[0][0], self._expire) if self._order else None


class ServerTransaction:
    """One request received; ``respond`` sends and retransmits as the state machine says."""

    def __init__(
        self,
        layer: TransactionLayer,
        request: SipRequest,
        peer: Peer,
        key: tuple[str, str, str],
    ) -> None:
        self.layer = layer
        self.request = request
        self.peer = peer
        self.key = key
        self.invite = request.method == "INVITE"
        self.state = State.proceeding if self.invite else State.trying
        self.last_response: SipResponse | None = None
        self.destination = response_destination(request.top_via, peer)
        self.cancelled = False
        self.acked = False
        # Called when a 2xx to an INVITE was never ACKed within 64*T1: the TU should end the
        # dialog with a BYE (RFC 3261 §13.3.1.4).
        self.on_no_ack: Callable[[], None] | None = None
        self._trying_owed = False
        self._timers: list[asyncio.TimerHandle] = []

    def _set_state(self, state: State) -> None:
        logger.debug("server %s %s -> %s", self.request.method, self.state.value, state.value)
        self.state = state
        if state is State.terminated:
            self._cancel_timers()
            self.on_no_ack = None  # the TU's hook: no cycle through a finished transaction
            self.layer.forget_server(self)
            if self.invite:
                self.layer.accepted.pop((self.request.call_id, self.request.cseq.number), None)

    def respond(self, response: SipResponse) -> None:
        """Send a response and move the state machine (figures 7 and 8)."""
        if self.state in (State.completed, State.confirmed, State.accepted, State.terminated):
            return
        self.last_response = response
        data = bytes(response)
        self.layer.transport.send_data(data, self.destination)
        if response.status < 200:
            if not self.invite:
                self.state = State.proceeding
            return
        timers = self.layer.timers
        reliable = self.peer.transport != "UDP"
        if self.invite and response.status < 300:
            # RFC 6026 Accepted: absorb INVITE retransmissions, resend the 2xx until the ACK
            self._set_state(State.accepted)
            self.layer.accepted[(self.request.call_id, self.request.cseq.number)] = self
            if not reliable:
                self._retransmit(timers.t1)
            self._later(timers.b, self._accepted_timeout)
        elif self.invite:
            self._set_state(State.completed)
            if not reliable:
                self._retransmit(timers.t1)
            self._later(timers.b, self._timeout_h)
        else:
            # timer J: only the response and its destination are needed to absorb
            # retransmissions, so the layer keeps those (bytes) instead of this object
            self._set_state(State.terminated if reliable else State.completed)
            self.layer.linger(self, data)

    def respond_stateless(self, response: SipResponse) -> None:
        """Send a final response and forget the transaction at once (as Kamailio's sl does)."""
        self.last_response = response
        self.layer.transport.send(response, self.destination)
        self._set_state(State.terminated)

    def reply(self, status: int, reason: str | None = None, **headers: str) -> SipResponse:
        """Build and send a response with a To tag; extra headers by keyword (Min_Expires=)."""
        response = make_response(self.request, status, reason, to_tag=self.layer.local_tag)
        for name, value in headers.items():
            response.headers.add(name.replace("_", "-"), value)
        self.respond(response)
        return response

    def trying_unless_answered(self) -> None:
        """Send 100 Trying if the TU has not responded within ``Timers.trying`` (§17.2.1).

        A TU that answers quickly (a callee ringing in a few ms) saves the 100 and its send; a
        retransmitted request gets the 100 at once.
        """
        self._trying_owed = True
        self._later(self.layer.timers.trying, self._send_trying)

    def _send_trying(self) -> None:
        if self._trying_owed and self.last_response is None and self.state is State.proceeding:
            self.reply(100)
        self._trying_owed = False

    def on_retransmission(self, request: SipRequest) -> None:
        """A retransmitted request or the ACK of our non-2xx final response."""
        if self._trying_owed and self.last_response is None:
            self._send_trying()
            return
        if request.method == "ACK":
            if self.state is State.completed:
                self._set_state(State.confirmed)
                self._cancel_timers()
                reliable = self.peer.transport != "UDP"
                self._later(0 if reliable else self.layer.timers.t4, self._terminate)
            return
        if self.last_response is not None:
            self.layer.transport.send(self.last_response, self.destination)

    def _terminate(self) -> None:
        self._set_state(State.terminated)

    def acknowledged(self) -> None:
        """The ACK of our 2xx arrived: stop resending it; the layer absorbs retransmitted
        INVITEs until timer L (RFC 6026 Accepted) without keeping this object."""
        self.acked = True
        if self.state is State.accepted:
            self._set_state(State.terminated)
            self.layer.linger(self, b"")

    def _accepted_timeout(self) -> None:
        """Timer L (RFC 6026): the Accepted state ends; a 2xx never ACKed ends the dialog."""
        no_ack = not self.acked and self.state is State.accepted
        hook = self.on_no_ack
        self._terminate()
        if no_ack:
            self.layer.log.info("no-ack", "no ACK for the 2xx of %s", self.request.call_id)
            if hook is not None:
                hook()

    def _retransmit(self, interval: float) -> None:
        def fire() -> None:
            waiting = self.state is State.completed or (
                self.state is State.accepted and not self.acked
            )
            if waiting and self.last_response is not None:
                self.layer.transport.send(self.last_response, self.destination)
                self._retransmit(min(interval * 2, self.layer.timers.t2))

        self._later(interval, fire)

    def _timeout_h(self) -> None:
        if self.state is State.completed:
            self._set_state(State.terminated)  # first: nothing below may keep it retransmitting
            self.layer.log.info("timer-h", "no ACK for %s: timer H", self.request.call_id)

    def _later(self, delay: float, callback: Callable[[], None]) -> None:
        self._timers.append(asyncio.get_running_loop().call_later(delay, callback))

    def _cancel_timers(self) -> None:
        for handle in self._timers:
            handle.cancel()
        self._timers.clear()


class ClientTransaction:
    """One request sent; ``final`` resolves with the final response (or a local 408/503)."""

    def __init__(self, layer: TransactionLayer, request: SipRequest, peer: Peer) -> None:
        self.layer = layer
        self.request = request
        self.peer = peer
        self.invite = request.method == "INVITE"
        self.branch = request.top_via.branch or ""
        self.state = State.calling if self.invite else State.trying
        self.final: asyncio.Future[SipResponse] = asyncio.get_running_loop().create_future()
        self.on_provisional: Callable[[SipResponse], None] | None = None
        self._timers: list[asyncio.TimerHandle] = []

    def start(self) -> None:
        """Send the request and arm timers A/B or E/F."""
        self.layer.transport.send(self.request, self.peer)
        timers = self.layer.timers
        if self.peer.transport == "UDP":
            self._retransmit(timers.t1)
        self._later(timers.b, self._timeout)

    def _set_state(self, state: State) -> None:
        logger.debug("client %s %s -> %s", self.request.method, self.state.value, state.value)
        self.state = state
        if state is State.terminated:
            self._cancel_timers()
            self.on_provisional = None  # the TU's hook: no cycle through a finished transaction
            self.layer.forget_client(self)

    def on_response(self, response: SipResponse) -> None:
        """Feed a response matched to this transaction."""
        if response.status < 200:
            if self.state in (State.calling, State.trying, State.proceeding):
                self.state = State.proceeding
                if self.invite:
                    self._cancel_timers()  # timer A stops; B keeps running until a final
                    self._later(self.layer.timers.b * 3, self._timeout)
                if self.on_provisional is not None:
                    self.on_provisional(response)
            return
        if self.state in (State.completed, State.terminated):
            if self.invite and response.status >= 300:
                self._send_ack(response)  # retransmitted final: ACK again (§17.1.1.2)
            return
        if not self.final.done():
            self.final.set_result(response)
        self._cancel_timers()
        reliable = self.peer.transport != "UDP"
        if self.invite and response.status < 300:
            # the layer keeps matching retransmitted 2xx (timer M of RFC 6026) to re-send the
            # TU's ACK; this object is done
            self._set_state(State.terminated)
            self.layer.linger_client(self)
        elif self.invite:
            self._send_ack(response)
            self.state = State.completed
            delay = 0 if reliable else self.layer.timers.d
            self._later(delay, lambda: self._set_state(State.terminated))
        else:
            self._set_state(State.terminated)
            self.layer.linger_client(self)  # timer K: the layer absorbs retransmitted finals

    def _send_ack(self, response: SipResponse) -> None:
        request = self.request
        headers = Headers()
        headers.add("Via", request.headers.get_all("Via")[0])
        for name in ("From", "Call-ID"):
            headers.add(name, request.headers.get(name) or "")
        headers.add("To", response.headers.get("To") or "")
        headers.add("CSeq", f"{request.cseq.number} ACK")
        for route in request.headers.raw_all("Route"):
            headers.add("Route", route)
        headers.add("Max-Forwards", "70")
        self.layer.transport.send(SipRequest(headers, b"", "ACK", request.uri), self.peer)

    def _retransmit(self, interval: float) -> None:
        def fire() -> None:
            if self.state in (State.calling, State.trying) or (
                not self.invite and self.state is State.proceeding
            ):
                self.layer.transport.send(self.request, self.peer)
                cap = interval * 2 if self.invite else min(interval * 2, self.layer.timers.t2)
                self._retransmit(cap)

        self._later(interval, fire)

    def _timeout(self) -> None:
        if not self.final.done():
            self.final.set_result(make_response(self.request, 408, "Request Timeout (no answer)"))
        self._set_state(State.terminated)

    def fail(self, status: int, reason: str) -> None:
        """Resolve with a locally generated response (transport error)."""
        if not self.final.done():
            self.final.set_result(make_response(self.request, status, reason))
        self._set_state(State.terminated)

    def _later(self, delay: float, callback: Callable[[], None]) -> None:
        self._timers.append(asyncio.get_running_loop().call_later(delay, callback))

    def _cancel_timers(self) -> None:
        for handle in self._timers:
            handle.cancel()
        self._timers.clear()


RequestHandler = Callable[[SipRequest, ServerTransaction | None, Peer], None]


class TransactionLayer:
    """Matches messages to transactions and hands new requests to the TU."""

    def __init__(
        self,
        on_request: RequestHandler,
        *,
        timers: Timers | None = None,
        transport: SipTransport | None = None,
    ) -> None:
        self.on_request = on_request
        self.timers = timers or Timers()
        self.transport = transport or SipTransport(self.receive)
        self.transport.handler = self.receive
        self.log = RateLimitedLog(logger)
        self.local_tag = new_tag()
        self._servers: BoundedTable[tuple[str, str, str], ServerTransaction] = BoundedTable(
            MAX_TRANSACTIONS
        )
        self._clients: BoundedTable[tuple[str, str], ClientTransaction] = BoundedTable(
            MAX_TRANSACTIONS
        )
        # INVITE server transactions that sent a 2xx, by (Call-ID, CSeq): the ACK stops resends
        self.accepted: BoundedTable[tuple[str, int], ServerTransaction] = BoundedTable(
            MAX_TRANSACTIONS
        )
        self.on_stray_response: Callable[[SipResponse, Peer], None] | None = None
        timers = self.timers
        # what is left of finished transactions while they absorb retransmissions:
        # server key -> (final response, destination); empty response = answer nothing
        self._completed_servers: Expiring[tuple[str, str, str], tuple[bytes, Peer]] = Expiring(
            timers.b
        )
        # client INVITEs answered 2xx by (branch, "INVITE"), and the ACKs the TU sent for them
        # by (Call-ID, CSeq, To tag): a retransmitted 2xx gets its ACK again
        self._answered_invites: Expiring[tuple[str, str], bool] = Expiring(timers.b)
        self._acks: Expiring[tuple[str, int, str], tuple[bytes, Peer]] = Expiring(timers.b)
        self._finished_requests: Expiring[tuple[str, str], bool] = Expiring(timers.t4)

    async def start(self, host: str, port: int, *, tcp: bool = True) -> None:
        """Bind the transport."""
        await self.transport.start(host, port, tcp=tcp)

    async def close(self) -> None:
        """Close the transport."""
        self._completed_servers.close()
        self._answered_invites.close()
        self._acks.close()
        self._finished_requests.close()
        await self.transport.close()

    @staticmethod
    def server_key(request: SipRequest, method: str | None = None) -> tuple[str, str, str]:
        """The key that matches a request to its server transaction (§17.2.3); ``method``
        names another transaction of the same branch (a CANCEL's INVITE)."""
        via = request.top_via
        method = method or ("INVITE" if request.method == "ACK" else request.method)
        return (via.branch or request.call_id, f"{via.host}:{via.port}", method)

    def receive(self, message: Message, peer: Peer) -> None:
        """Transport callback."""
        if isinstance(message, SipResponse):
            self._receive_response(message, peer)
        elif isinstance(message, SipRequest):
            self._receive_request(message, peer)

    def _receive_response(self, response: SipResponse, peer: Peer) -> None:
        try:
            key = (response.top_via.branch or "", response.cseq.method)
        except SipParseError as exc:
            self.log.warning("bad-response", "dropped SIP response from %s: %s", peer, exc)
            return
        client = self._clients.get(key)
        if client is not None:
            client.on_response(response)
        elif self._answered_invites.get(key) is not None:
            if 200 <= response.status < 300:
                self._reack(response)
        elif self._finished_requests.get(key) is not None:
            return  # a retransmitted final response
        elif self.on_stray_response is not None:
            self.on_stray_response(response, peer)

    def _receive_request(self, request: SipRequest, peer: Peer) -> None:
        key = self.server_key(request)
        existing = self._servers.get(key)
        if existing is not None:
            if request.method == "ACK" and existing.state is State.accepted:
                if not existing.acked:
                    existing.acknowledged()
                    self.on_request(request, None, peer)  # ACK of a 2xx: dialog business
                return
            existing.on_retransmission(request)
            return
        completed = self._completed_servers.get(key)
        if completed is not None:  # a retransmission after the final response: resend it
            if completed[0]:
                self.transport.send_data(completed[0], completed[1])
            return
        if request.method == "ACK":
            accepted = self.accepted.pop((request.call_id, request.cseq.number), None)
            if accepted is not None:
                accepted.acknowledged()
            self.on_request(request, None, peer)
            return
        server = ServerTransaction(self, request, peer, key)
        if not self._servers.put(key, server):
            self.log.warning("txn-full", "transaction table full, %s dropped", request.method)
            return
        self.on_request(request, server, peer)

    def find_invite_server(self, request: SipRequest) -> ServerTransaction | None:
        """The INVITE server transaction a CANCEL targets (§9.2: same branch)."""
        return self._servers.get(self.server_key(request, "INVITE"))

    def invite_acknowledged(self, request: SipRequest) -> bool:
        """True while the INVITE a CANCEL targets was answered 2xx and ACKed (until timer L):
        its transaction still exists in RFC 6026 terms, as the layer's record."""
        return self._completed_servers.get(self.server_key(request, "INVITE")) is not None

    def send_request(self, request: SipRequest, peer: Peer) -> ClientTransaction:
        """Start a client transaction (the request must already carry our top Via)."""
        client = ClientTransaction(self, request, peer)
        self._clients.put((client.branch, request.method), client)
        client.start()
        return client

    def send_stateless(self, message: Message, peer: Peer) -> None:
        """Send without a transaction (ACK of a 2xx, 2xx retransmission)."""
        data = bytes(message)
        self.transport.send_data(data, peer)
        if isinstance(message, SipRequest) and message.method == "ACK":
            # kept to answer retransmissions of the 2xx it acknowledges
            key = (message.call_id, message.cseq.number, message.to.tag or "")
            self._acks.add(key, (data, peer))

    def forget_server(self, server: ServerTransaction) -> None:
        """Drop a terminated server transaction."""
        if self._servers.get(server.key) is server:
            self._servers.pop(server.key)

    def linger(self, server: ServerTransaction, response: bytes) -> None:
        """Keep a completed server transaction as its final response (empty: answer nothing)
        until timer J (non-INVITE) or L (an INVITE whose 2xx was ACKed) ends it."""
        self.forget_server(server)
        if server.peer.transport == "UDP":  # nothing is retransmitted over TCP
            self._completed_servers.add(server.key, (response, server.destination))

    def forget_client(self, client: ClientTransaction) -> None:
        """Drop a terminated client transaction."""
        key = (client.branch, client.request.method)
        if self._clients.get(key) is client:
            self._clients.pop(key)

    def linger_client(self, client: ClientTransaction) -> None:
        """Keep the key of a client transaction that got its final response, to absorb the
        final's retransmissions (timer K) or re-ACK a retransmitted 2xx (timer M)."""
        key = (client.branch, client.request.method)
        if client.invite:
            self._answered_invites.add(key, True)
        elif client.peer.transport == "UDP":  # nothing is retransmitted over TCP
            self._finished_requests.add(key, True)

    def _reack(self, response: SipResponse) -> None:
        """A retransmitted 2xx of a client INVITE: send the TU's ACK again (§13.2.2.4)."""
        try:
            key = (response.call_id, response.cseq.number, response.to.tag or "")
        except SipParseError:
            return
        ack = self._acks.get(key)
        if ack is not None:  # none yet: the TU is still to ACK (e.g. waiting for an answer)
            self.transport.send_data(ack[0], ack[1])

    @property
    def counts(self) -> tuple[int, int]:
        """(server, client) transactions alive, finished ones absorbing retransmissions too."""
        servers = len(self._servers) + len(self._completed_servers)
        clients = len(self._clients) + len(self._answered_invites) + len(self._finished_requests)
        return servers, clients
