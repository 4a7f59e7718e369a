"""Registrar and location service (RFC 3261 §10): bindings per address of record.

``LocationService`` keeps the contacts of each username with their expiry and the ``Peer``
the REGISTER came from (requests to the contact are sent there: NAT and TCP connections).
``Registrar.handle`` applies one REGISTER: Expires clamped to [min, max] (Dahua units expect
their 60 s to be honoured, so values below the minimum are raised rather than refused unless
``strict_min``), several contacts, ``Expires: 0`` and ``*`` unregister. ``sweep`` drops expired
bindings. ``on_change(username, online)`` fires on the first binding and after the last.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from openpss.protocols.guards import BoundedTable
from openpss.protocols.sip.errors import SipParseError
from openpss.protocols.sip.message import SipRequest, SipResponse, make_response
from openpss.protocols.sip.transport import Peer

logger = logging.getLogger(__name__)

DEFAULT_EXPIRES = 3600  # RFC 3261 §10.2.1.1 suggests 3600 s when the UA gives none
MIN_EXPIRES = 60  # Dahua units register every 60 s
MAX_EXPIRES = 3600
MAX_CONTACTS_PER_AOR = 10  # a master VTH and up to 9 extensions share nothing, but be generous
MAX_AORS = 100_000


@dataclass
class Binding:
    """One contact of a username."""

    username: str
    contact: str
    peer: Peer
    expires_at: float
    call_id: str
    cseq: int
    user_agent: str = ""

    def remaining(self, now: float) -> int:
        """Seconds left."""
        return max(0, int(self.expires_at - now + 0.5))


class RegistrarError(Exception):
    """A REGISTER the registrar refuses; ``status`` and headers say why."""

    def __init__(self, status: int, reason: str, **headers: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.headers = headers


class LocationService:
    """username -> {contact URI: Binding}."""

    def __init__(
        self,
        *,
        on_change: Callable[[str, bool], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.on_change = on_change
        self.clock = clock
        self._table: BoundedTable[str, dict[str, Binding]] = BoundedTable(MAX_AORS)

    def lookup(self, username: str) -> list[Binding]:
        """Unexpired bindings of ``username``, newest first."""
        now = self.clock()
        bindings = self._table.get(username) or {}
        return sorted(
            (b for b in bindings.values() if b.expires_at > now),
            key=lambda b: b.expires_at,
            reverse=True,
        )

    def usernames(self) -> list[str]:
        """Usernames with at least one binding."""
        return [name for name in self._table if self.lookup(name)]

    def is_online(self, username: str) -> bool:
        """True when ``username`` has an unexpired binding."""
        return bool(self.lookup(username))

    def put(self, binding: Binding) -> None:
        """Add or refresh a binding."""
        bindings = self._table.get(binding.username)
        was_online = bool(bindings)
        if bindings is None:
            bindings = {}
            if not self._table.put(binding.username, bindings):
                raise RegistrarError(503, "Service Unavailable (location table full)")
        if binding.contact not in bindings and len(bindings) >= MAX_CONTACTS_PER_AOR:
            raise RegistrarError(403, f"Forbidden (more than {MAX_CONTACTS_PER_AOR} contacts)")
        bindings[binding.contact] = binding
        if not was_online:
            self._notify(binding.username, True)

    def remove(self, username: str, contact: str | None = None) -> None:
        """Remove one contact, or all of them when ``contact`` is None."""
        bindings = self._table.get(username)
        if not bindings:
            return
        if contact is None:
            bindings.clear()
        else:
            bindings.pop(contact, None)
        if not bindings:
            self._table.pop(username)
            self._notify(username, False)

    def sweep(self) -> list[str]:
        """Drop expired bindings; the usernames that went offline."""
        now = self.clock()
        offline = []
        for username in self._table:
            bindings = self._table.get(username) or {}
            for contact, binding in list(bindings.items()):
                if binding.expires_at <= now:
                    del bindings[contact]
            if not bindings:
                self._table.pop(username)
                offline.append(username)
                self._notify(username, False)
        return offline

    def _notify(self, username: str, online: bool) -> None:
        logger.info("SIP %s is %s", username, "online" if online else "offline")
        if self.on_change is not None:
            try:
                self.on_change(username, online)
            except Exception:
                logger.exception("registration callback failed for %s", username)


class Registrar:
    """Applies REGISTER requests to a LocationService."""

    def __init__(
        self,
        location: LocationService,
        *,
        min_expires: int = MIN_EXPIRES,
        max_expires: int = MAX_EXPIRES,
        strict_min: bool = False,
    ) -> None:
        if not 1 <= min_expires <= max_expires:
            raise ValueError("need 1 <= min_expires <= max_expires")
        self.location = location
        self.min_expires = min_expires
        self.max_expires = max_expires
        self.strict_min = strict_min

    def handle(self, request: SipRequest, username: str, peer: Peer) -> SipResponse:
        """Apply an authenticated REGISTER for ``username``; the 200 lists current contacts."""
        contacts = request.contacts
        header_expires = request.headers.get("Expires")
        default = int(header_expires) if header_expires is not None else DEFAULT_EXPIRES
        if any(c.uri == "*" for c in contacts):
            if len(contacts) != 1 or default != 0:
                raise RegistrarError(400, "Bad Request (Contact: * needs Expires: 0 and no others)")
            self.location.remove(username)
            return self._ok(request, username)
        now = self.location.clock()
        for contact in contacts:
            try:
                contact.sip_uri  # noqa: B018 - only SIP contacts can be called
            except SipParseError as exc:
                raise RegistrarError(400, f"Bad Request (Contact: {exc})") from exc
            expires = self._expires(contact.params.get("expires"), default)
            if expires == 0:
                self.location.remove(username, contact.uri)
                continue
            binding = Binding(
                username,
                contact.uri,
                peer,
                now + expires,
                request.call_id,
                request.cseq.number,
                request.headers.get("User-Agent") or "",
            )
            self.location.put(binding)
        return self._ok(request, username)

    def _expires(self, param: str | None, default: int) -> int:
        if param is not None:
            if not param.isdigit():
                raise RegistrarError(400, "Bad Request (Contact expires must be seconds)")
            requested = int(param)
        else:
            requested = default
        if requested == 0:
            return 0
        if requested < self.min_expires:
            if self.strict_min:
                raise RegistrarError(423, "Interval Too Brief", Min_Expires=str(self.min_expires))
            return self.min_expires
        return min(requested, self.max_expires)

    def _ok(self, request: SipRequest, username: str) -> SipResponse:
        response = make_response(request, 200)
        now = self.location.clock()
        for binding in self.location.lookup(username):
            response.headers.add("Contact", f"<{binding.contact}>;expires={binding.remaining(now)}")
        return response
