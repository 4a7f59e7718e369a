"""HTTP digest authentication (RFC 7616, MD5, qop=auth) as Dahua devices use it.

Pure helpers: parse/build ``WWW-Authenticate`` and ``Authorization`` headers, compute the
response hash, and a ``NonceBook`` that issues and checks server nonces (no sockets).
Dahua devices answer ``WWW-Authenticate: Digest realm="Login to <serial>", qop="auth",
nonce="...", opaque="..."``.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import re
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from openpss.protocols.dahua_http.codec import DahuaProtocolError

NONCE_LIFETIME_S = 600.0  # a nonce older than this is answered with stale=TRUE
MAX_NONCES = 4096
NC_WINDOW = 64  # nonce counts this far below the highest one seen are refused as replays
_PARAM = re.compile(r'\s*([A-Za-z0-9_-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^,\s]*)\s*,?')


def realm_for(serial: str) -> str:
    """The realm a Dahua device announces: ``Login to <serial>``."""
    return f"Login to {serial}"


def parse_auth_params(header: str, scheme: str = "Digest") -> dict[str, str]:
    """Parse ``Digest k=v, k="v"`` into a dict (quotes removed)."""
    head, _, rest = header.strip().partition(" ")
    if head.lower() != scheme.lower():
        raise DahuaProtocolError(f"authorization scheme is not {scheme}")
    params: dict[str, str] = {}
    position = 0
    while position < len(rest):
        match = _PARAM.match(rest, position)
        if not match or match.end() == position:
            raise DahuaProtocolError(f"malformed {scheme} parameter near {rest[position:][:30]!r}")
        value = match[2]
        if value.startswith('"'):
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        params[match[1].lower()] = value
        position = match.end()
    return params


def build_challenge(realm: str, nonce: str, opaque: str, *, stale: bool = False) -> str:
    """A ``WWW-Authenticate`` value."""
    header = f'Digest realm="{realm}", qop="auth", nonce="{nonce}", opaque="{opaque}"'
    return header + (", stale=TRUE" if stale else "")


def _md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()  # RFC 7616 digest uses MD5


def ha1_of(username: str, realm: str, password: str) -> str:
    """HA1 = MD5(username:realm:password); a device may store this instead of the password."""
    return _md5(f"{username}:{realm}:{password}")


def digest_response(
    *,
    ha1: str,
    method: str,
    uri: str,
    nonce: str,
    nc: str,
    cnonce: str,
    qop: str = "auth",
) -> str:
    """The ``response`` hash for qop=auth."""
    ha2 = _md5(f"{method}:{uri}")
    return _md5(f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")


@dataclass(frozen=True)
class DigestCredentials:
    """The parsed ``Authorization: Digest`` fields a server checks."""

    username: str
    realm: str
    nonce: str
    uri: str
    response: str
    nc: str
    cnonce: str
    qop: str

    @classmethod
    def parse(cls, header: str) -> DigestCredentials:
        """Parse an ``Authorization`` header; qop=auth is required."""
        params = parse_auth_params(header)
        missing = [
            key for key in ("username", "realm", "nonce", "uri", "response") if key not in params
        ]
        if missing:
            raise DahuaProtocolError(f"digest authorization lacks {', '.join(missing)}")
        if params.get("algorithm", "MD5").upper() != "MD5":
            raise DahuaProtocolError("only algorithm=MD5 is supported (the device announces MD5)")
        if params.get("qop", "auth") != "auth":
            raise DahuaProtocolError("only qop=auth is supported")
        if "nc" not in params or "cnonce" not in params:
            raise DahuaProtocolError("digest authorization with qop=auth needs nc and cnonce")
        parse_nc(params["nc"])
        return cls(
            username=params["username"],
            realm=params["realm"],
            nonce=params["nonce"],
            uri=params["uri"],
            response=params["response"].lower(),
            nc=params["nc"],
            cnonce=params["cnonce"],
            qop="auth",
        )

    def matches(self, *, ha1: str, method: str) -> bool:
        """True when the response hash is right for this HA1 and method."""
        expected = digest_response(
            ha1=ha1,
            method=method,
            uri=self.uri,
            nonce=self.nonce,
            nc=self.nc,
            cnonce=self.cnonce,
        )
        return hmac.compare_digest(expected, self.response)


class NonceStatus(enum.Enum):
    """What a server makes of the nonce and nonce count of a request."""

    fresh = "fresh"  # issued here, not expired, this nc not seen before
    stale = "stale"  # unknown or expired: answer 401 with stale=TRUE
    replay = "replay"  # this nc was already used with this nonce


@dataclass
class _Nonce:
    issued: float
    seen: set[int] = field(default_factory=set)
    highest: int = 0


class NonceBook:
    """Issues nonces and remembers them for a while; a forgotten or old nonce is stale.

    Each nonce also remembers the nonce counts (``nc``) used with it, so a captured request
    cannot be replayed. Counts may arrive out of order (concurrent requests of one client), so
    any unseen count within ``NC_WINDOW`` below the highest one is accepted.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._issued: OrderedDict[str, _Nonce] = OrderedDict()
        self.opaque = secrets.token_hex(16)

    def issue(self) -> str:
        """A fresh nonce."""
        nonce = secrets.token_hex(16)
        self._issued[nonce] = _Nonce(self._clock())
        while len(self._issued) > MAX_NONCES:
            self._issued.popitem(last=False)
        return nonce

    def _entry(self, nonce: str) -> _Nonce | None:
        entry = self._issued.get(nonce)
        if entry is not None and self._clock() - entry.issued > NONCE_LIFETIME_S:
            del self._issued[nonce]
            return None
        return entry

    def is_fresh(self, nonce: str) -> bool:
        """True when this nonce was issued here and has not expired."""
        return self._entry(nonce) is not None

    def use(self, nonce: str, nc: str) -> NonceStatus:
        """Check a request's nonce and count; a fresh count is remembered as used."""
        entry = self._entry(nonce)
        if entry is None:
            return NonceStatus.stale
        count = parse_nc(nc)
        if count in entry.seen or count <= entry.highest - NC_WINDOW:
            return NonceStatus.replay
        entry.seen.add(count)
        entry.highest = max(entry.highest, count)
        entry.seen = {c for c in entry.seen if c > entry.highest - NC_WINDOW}
        return NonceStatus.fresh


def parse_nc(text: str) -> int:
    """The nonce count: exactly 8 hex digits, not zero (RFC 7616 section 3.4)."""
    if not re.fullmatch(r"[0-9A-Fa-f]{8}", text) or int(text, 16) == 0:
        raise DahuaProtocolError(f"nc must be 8 hex digits counting from 00000001, not {text!r}")
    return int(text, 16)
