"""SIP digest authentication (RFC 3261 §22, RFC 7616, RFC 8760): server and client.

Server (``DigestServer``): challenges with MD5 and/or SHA-256, qop=auth; nonces expire
(``stale=true`` on an expired one); each nonce-count is accepted once (replays refused).
One tolerance for real Dahua units: they re-REGISTER every 60 s reusing the old nonce with the
same cnonce and ``nc=00000001``; such a reuse is accepted while the nonce lives when it comes
from the same binding (username, source address, cnonce) as its first use. Usernames may
contain ``#`` (``9901#0``).

Client (``DigestClient``): answers a challenge, counting ``nc`` per nonce.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from openpss.protocols.guards import BoundedTable
from openpss.protocols.sip.errors import SipParseError
from openpss.protocols.sip.tokens import random_hex

NONCE_LIFETIME_S = 300.0  # our choice: 5 re-REGISTER periods of a Dahua unit (60 s)
MAX_NONCES = 65_536
NC_WINDOW = 64  # unseen counts this far below the highest are accepted (concurrent requests)
ALGORITHMS = {"MD5": hashlib.md5, "SHA-256": hashlib.sha256}  # RFC 8760 §2
_ESCAPE = re.compile(r"\\(.)")
_NC = re.compile(r"[0-9A-Fa-f]{8}")
# a quoted value as an unrolled loop ("[^"\\]*(?:\\.[^"\\]*)*"): no per-character alternation,
# which made parsing an Authorization header ~2x slower
_PARAM = re.compile(r'\s*([A-Za-z0-9_-]+)\s*=\s*("[^"\\]*(?:\\.[^"\\]*)*"|[^,\s"]*)\s*(?:,|$)')


def parse_auth_params(header: str) -> tuple[str, dict[str, str]]:
    """``Digest k=v, k="v"`` into (scheme, params); quotes and escapes removed."""
    scheme, _, rest = header.strip().partition(" ")
    params: dict[str, str] = {}
    position = 0
    rest = rest.strip()
    while position < len(rest):
        match = _PARAM.match(rest, position)
        if not match or match.end() == position:
            raise SipParseError(f"malformed {scheme} parameter near {rest[position:][:30]!r}")
        value = match[2]
        if value.startswith('"'):
            value = _ESCAPE.sub(r"\1", value[1:-1]) if "\\" in value else value[1:-1]
        params[match[1].lower()] = value
        position = match.end()
    return scheme, params


def _hash(algorithm: str, text: str) -> str:
    return ALGORITHMS[algorithm](text.encode("utf-8")).hexdigest()  # RFC 7616 §3.4.1


def compute_response(
    *,
    algorithm: str,
    username: str,
    realm: str,
    password: str,
    method: str,
    uri: str,
    nonce: str,
    nc: str | None,
    cnonce: str | None,
    qop: str | None,
) -> str:
    """The digest ``response`` (RFC 7616 §3.4.1; RFC 2069 form without qop)."""
    ha1 = _hash(algorithm, f"{username}:{realm}:{password}")
    ha2 = _hash(algorithm, f"{method}:{uri}")
    if qop:
        return _hash(algorithm, f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")
    return _hash(algorithm, f"{ha1}:{nonce}:{ha2}")


# A used nonce: (highest nc, window of seen counts as bits: bit i = count highest-i was used,
# (username, source, cnonce) of its nc=1 use). A tuple of atoms: thousands per second of
# these stay alive for the nonce lifetime, and the cyclic GC stops tracking such tuples.
_NonceUse = tuple[int, int, tuple[str, str, str] | None]
_WINDOW_MASK = (1 << NC_WINDOW) - 1


@dataclass(frozen=True)
class AuthResult:
    """The outcome of checking an Authorization header."""

    ok: bool
    username: str = ""
    stale: bool = False
    reason: str = ""


class DigestServer:
    """Issues challenges and checks answers for one realm."""

    def __init__(
        self,
        realm: str,
        password_of: Callable[[str], str | None],
        *,
        algorithms: tuple[str, ...] = ("MD5",),
        nonce_lifetime: float = NONCE_LIFETIME_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        unknown = [a for a in algorithms if a not in ALGORITHMS]
        if unknown or not algorithms:
            raise ValueError(f"digest algorithms must be among {sorted(ALGORITHMS)}")
        self.realm = realm
        self.password_of = password_of
        self.algorithms = algorithms
        self.nonce_lifetime = nonce_lifetime
        self.clock = clock
        self.opaque = secrets.token_hex(8)
        self._nonces: BoundedTable[str, _NonceUse] = BoundedTable(MAX_NONCES)
        self._secret = secrets.token_bytes(32)

    def _new_nonce(self) -> str:
        # issue time + random + MAC: checkable without a table entry, so a flood of challenges
        # stores nothing; the entry (nonce counts) is made at the nonce's first valid use
        stamp = f"{int(self.clock() * 1000):x}.{random_hex(8)}"
        return f"{stamp}.{self._mac(stamp)}"

    def _mac(self, stamp: str) -> str:
        # keyed BLAKE2b is a MAC by design (RFC 7693 §2.5), and ~4x cheaper than HMAC-SHA256
        return hashlib.blake2b(stamp.encode(), key=self._secret, digest_size=8).hexdigest()

    def _issued_at(self, nonce: str) -> float | None:
        stamp, _, mac = nonce.rpartition(".")
        if not stamp or not hmac.compare_digest(mac, self._mac(stamp)):
            return None
        return int(stamp.partition(".")[0], 16) / 1000

    def challenges(self, *, stale: bool = False) -> list[str]:
        """``WWW-Authenticate`` values, one per algorithm, preferred first (RFC 8760 §2.4)."""
        nonce = self._new_nonce()
        tail = ", stale=true" if stale else ""
        return [
            f'Digest realm="{self.realm}", nonce="{nonce}", opaque="{self.opaque}", '
            f'algorithm={algorithm}, qop="auth"{tail}'
            for algorithm in self.algorithms
        ]

    def check(self, header: str | None, *, method: str, source: str) -> AuthResult:
        """Check an ``Authorization`` value of a request from ``source`` (host:port)."""
        if not header:
            return AuthResult(False, reason="no credentials")
        try:
            scheme, params = parse_auth_params(header)
        except SipParseError as exc:
            return AuthResult(False, reason=str(exc))
        if scheme.lower() != "digest":
            return AuthResult(False, reason=f"authorization scheme {scheme} is not Digest")
        missing = [k for k in ("username", "realm", "nonce", "uri", "response") if k not in params]
        if missing:
            return AuthResult(False, reason=f"digest lacks {', '.join(missing)}")
        username = params["username"]
        algorithm = params.get("algorithm", "MD5").upper()
        if algorithm not in self.algorithms or params["realm"] != self.realm:
            return AuthResult(False, username, reason="wrong realm or algorithm")
        password = self.password_of(username)
        if password is None:
            return AuthResult(False, username, reason="unknown user")
        qop = params.get("qop")
        if qop is not None and (qop != "auth" or "nc" not in params or "cnonce" not in params):
            return AuthResult(False, username, reason="qop=auth needs nc and cnonce")
        expected = compute_response(
            algorithm=algorithm,
            username=username,
            realm=self.realm,
            password=password,
            method=method,
            uri=params["uri"],
            nonce=params["nonce"],
            nc=params.get("nc"),
            cnonce=params.get("cnonce"),
            qop=qop,
        )
        if not hmac.compare_digest(expected, params["response"].lower()):
            return AuthResult(False, username, reason="wrong password")
        return self._use_nonce(params, username, method, source)

    def _use_nonce(
        self, params: dict[str, str], username: str, method: str, source: str
    ) -> AuthResult:
        nonce = params["nonce"]
        issued = self._issued_at(nonce)
        if issued is None or self.clock() - issued > self.nonce_lifetime:
            self._nonces.pop(nonce)
            return AuthResult(False, username, stale=True, reason="nonce expired or unknown")
        highest, seen, first_use = self._nonces.get(nonce) or (0, 0, None)
        nc_text = params.get("nc")
        if nc_text is None:
            self._nonces[nonce] = (highest, seen, first_use)
            return AuthResult(True, username)  # RFC 2069 client: no count to check
        if not _NC.fullmatch(nc_text) or int(nc_text, 16) == 0:
            return AuthResult(False, username, reason="nc must be 8 hex digits from 00000001")
        count = int(nc_text, 16)
        binding = (username, source, params.get("cnonce", ""))
        if count == 1 and first_use is None:
            first_use = binding
        if count > highest:
            shift = count - highest
            seen = ((seen << shift) | 1) & _WINDOW_MASK if shift < NC_WINDOW else 1
            highest = count
        elif count > highest - NC_WINDOW and not (seen >> (highest - count)) & 1:
            seen |= 1 << (highest - count)
        else:
            self._nonces[nonce] = (highest, seen, first_use)
            if method == "REGISTER" and count == 1 and first_use == binding:
                return AuthResult(True, username)  # Dahua nonce reuse, same binding
            return AuthResult(False, username, reason=f"nonce count {nc_text} replayed")
        self._nonces[nonce] = (highest, seen, first_use)
        return AuthResult(True, username)


class DigestClient:
    """Answers digest challenges for one account."""

    def __init__(self, username: str, password: str) -> None:
        self.username = username
        self.password = password
        self._nc: dict[str, int] = {}
        self.cnonce = secrets.token_hex(8)

    def authorization(self, challenge: str, *, method: str, uri: str) -> str:
        """The ``Authorization`` value answering ``challenge`` (a WWW-Authenticate value)."""
        scheme, params = parse_auth_params(challenge)
        if scheme.lower() != "digest" or "nonce" not in params:
            raise SipParseError(f"cannot answer a {scheme} challenge")
        algorithm = params.get("algorithm", "MD5").upper()
        if algorithm not in ALGORITHMS:
            raise SipParseError(f"digest algorithm {algorithm} is not supported")
        realm, nonce = params.get("realm", ""), params["nonce"]
        qops = [q.strip() for q in params.get("qop", "").split(",") if q.strip()]
        qop = "auth" if "auth" in qops else None
        nc = cnonce = None
        if qop:
            self._nc[nonce] = self._nc.get(nonce, 0) + 1
            nc, cnonce = f"{self._nc[nonce]:08x}", self.cnonce
        response = compute_response(
            algorithm=algorithm,
            username=self.username,
            realm=realm,
            password=self.password,
            method=method,
            uri=uri,
            nonce=nonce,
            nc=nc,
            cnonce=cnonce,
            qop=qop,
        )
        parts = [
            f'username="{self.username}"',
            f'realm="{realm}"',
            f'nonce="{nonce}"',
            f'uri="{uri}"',
            f'response="{response}"',
            f"algorithm={algorithm}",
        ]
        if "opaque" in params:
            parts.append(f'opaque="{params["opaque"]}"')
        if qop:
            parts += [f"qop={qop}", f"nc={nc}", f'cnonce="{cnonce}"']
        return "Digest " + ", ".join(parts)


def pick_challenge(values: list[str]) -> str | None:
    """The strongest digest challenge we support among several (RFC 8760 §2.4)."""
    best: tuple[int, str] | None = None
    for value in values:
        try:
            scheme, params = parse_auth_params(value)
        except SipParseError:
            continue
        algorithm = params.get("algorithm", "MD5").upper()
        if scheme.lower() == "digest" and algorithm in ALGORITHMS:
            rank = list(ALGORITHMS).index(algorithm)
            if best is None or rank > best[0]:
                best = (rank, value)
    return best[1] if best else None
