"""HTTP digest authentication (RFC 7616, MD5, qop=auth) as Dahua devices use it.

Pure helpers: parse/build ``WWW-Authenticate`` and ``Authorization`` headers, compute the
response hash, and a ``NonceBook`` that issues and checks server nonces (no sockets).
Dahua devices answer ``WWW-Authenticate: Digest realm="Login to <serial>", qop="auth",
nonce="...", opaque="..."``.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from openpss.protocols.dahua_http.codec import DahuaProtocolError

NONCE_LIFETIME_S = 600.0  # a nonce older than this is answered with stale=TRUE
MAX_NONCES = 4096
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
        if params.get("qop", "auth") != "auth":
            raise DahuaProtocolError("only qop=auth is supported")
        if "nc" not in params or "cnonce" not in params:
            raise DahuaProtocolError("digest authorization with qop=auth needs nc and cnonce")
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


class NonceBook:
    """Issues nonces and remembers them for a while; a forgotten or old nonce is stale."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._issued: OrderedDict[str, float] = OrderedDict()
        self.opaque = secrets.token_hex(16)

    def issue(self) -> str:
        """A fresh nonce."""
        nonce = secrets.token_hex(16)
        self._issued[nonce] = self._clock()
        while len(self._issued) > MAX_NONCES:
            self._issued.popitem(last=False)
        return nonce

    def is_fresh(self, nonce: str) -> bool:
        """True when this nonce was issued here and has not expired."""
        issued = self._issued.get(nonce)
        if issued is None:
            return False
        if self._clock() - issued > NONCE_LIFETIME_S:
            del self._issued[nonce]
            return False
        return True
