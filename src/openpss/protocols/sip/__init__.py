"""Our asyncio SIP stack (RFC 3261) and the SIP server of the platform and door stations.

Layers, each importing only the ones above it in this list:

- ``errors``, ``uri``, ``headers``, ``message``, ``sdp``: the pure codec.
  ``parse_message(bytes)`` -> ``SipRequest``/``SipResponse`` (``bytes(msg)`` writes it),
  ``validate_request`` (the 400/416/505 checks),
  ``SipUri`` (``number`` decodes Dahua ``9901#0`` and ``9901%230`` alike),
  ``NameAddress``, ``Via``, ``CSeq``, ``SessionDescription`` with ``build_offer``/``build_answer``.
- ``transport``: ``SipTransport`` (UDP + TCP on one port, framing, size caps, rport) and ``Peer``.
- ``transaction``: ``TransactionLayer`` with client/server INVITE and non-INVITE transactions and
  the RFC 3261 timers (``Timers(t1=...)`` scales them all).
- ``digest``: ``DigestServer`` / ``DigestClient`` (MD5, SHA-256, qop=auth, stale nonces, replay
  checks, the Dahua nonce-reuse tolerance).
- ``dialog``: ``Dialog`` (route set, CSeq, in-dialog requests) and ``SipEndpoint`` (Via stamping,
  challenge answering) that both the user agent and the server use.
- ``registrar``: ``LocationService`` and ``Registrar`` (Expires clamp, several contacts, ``*``).
- ``b2bua``: ``Call``, ``CallGroup``/``GroupMember`` (priority ringing), parallel room ringing.
- ``accounts``: the server's two interfaces to its owner: ``AccountsProvider`` (who may
  register; ``StaticAccounts`` in memory or from CSV) and ``ServerEvents``
  (``registration_changed``, ``call_ended`` with a ``CallRecord``).
- ``server``: ``SipServer`` = registrar + location + B2BUA (platform 5080, VTO 5060 realm VDP).
- ``ua``: ``UserAgent`` (register, call, answer, INFO/DTMF, MESSAGE, re-INVITE), ``UaCall`` and
  ``OutgoingCall`` (ringing callback, CANCEL once it rings).
"""

from openpss.protocols.sip.accounts import (
    AccountsProvider,
    CallRecord,
    EndState,
    ServerEvents,
    StaticAccounts,
)
from openpss.protocols.sip.b2bua import CallGroup, GroupMember
from openpss.protocols.sip.server import SipServer
from openpss.protocols.sip.transaction import Timers
from openpss.protocols.sip.transport import Peer
from openpss.protocols.sip.ua import CallFailed, OutgoingCall, RegistrationError, UaCall, UserAgent

__all__ = [
    "AccountsProvider",
    "CallFailed",
    "CallGroup",
    "CallRecord",
    "EndState",
    "GroupMember",
    "OutgoingCall",
    "Peer",
    "RegistrationError",
    "ServerEvents",
    "SipServer",
    "StaticAccounts",
    "Timers",
    "UaCall",
    "UserAgent",
]
