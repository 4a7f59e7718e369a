"""SIP URIs (RFC 3261 §19.1) as real devices write them.

Dahua units put a raw ``#`` in user parts (``sip:9901#0@10.0.0.5``) where the RFC wants
``9901%230``; both parse to the same ``number``. Pure code: no sockets.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import quote, unquote

from openpss.protocols.sip.errors import SipParseError

SIP_SCHEMES = ("sip", "sips")
# RFC 3261 §25.1: user = 1*( unreserved / escaped / user-unreserved ); '#' kept raw (Dahua).
_USER_SAFE = "-_.!~*'()&=+$,;?/#"
_BAD_URI_CHARS = re.compile(r"[ \t\r\n<>]")
_BAD_PARAM_NAME = re.compile(r'[ \t"<>]')


def split_params(text: str, separator: str = ";") -> list[str]:
    """Split on ``separator`` outside double quotes."""
    if '"' not in text:
        return text.split(separator)  # the common case, without a character loop
    parts: list[str] = []
    current: list[str] = []
    quoted = escaped = False
    for char in text:
        if escaped:
            escaped = False
        elif char == "\\" and quoted:
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == separator and not quoted:
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    if quoted:
        raise SipParseError("unterminated quoted string")
    parts.append("".join(current))
    return parts


def parse_params(text: str, *, what: str) -> dict[str, str | None]:
    """``;a=b;c`` (leading ';' already removed) into an ordered dict; empty names are a 400."""
    params: dict[str, str | None] = {}
    if not text.strip():
        return params
    for part in split_params(text):
        name, eq, value = part.partition("=")
        name = name.strip()
        if not name or _BAD_PARAM_NAME.search(name):
            raise SipParseError(f"empty or malformed parameter in {what}")
        params[name.lower()] = value.strip() if eq else None
    return params


def format_params(params: dict[str, str | None]) -> str:
    """An ordered dict back into ``;a=b;c``."""
    return "".join(f";{k}" if v is None else f";{k}={v}" for k, v in params.items())


@dataclass
class SipUri:
    """``sip:user:password@host:port;params?headers``."""

    host: str
    user: str | None = None
    port: int | None = None
    scheme: str = "sip"
    password: str | None = None
    params: dict[str, str | None] = field(default_factory=dict)
    headers: str = ""

    @classmethod
    def parse(cls, text: str) -> SipUri:
        """Parse a sip:/sips: URI; any other scheme or a broken host is a SipParseError."""
        scheme, colon, rest = text.strip().partition(":")
        if not colon or scheme.lower() not in SIP_SCHEMES:
            raise SipParseError(f"unsupported URI scheme in {text[:60]!r}", status=416)
        if _BAD_URI_CHARS.search(rest):
            raise SipParseError(f"whitespace or <> inside the URI {text[:60]!r}")
        user = password = None
        if "@" in rest:
            # user parts may hold '?', ';' and ':' (RFC 4475 intmeth): split at the last '@'
            userinfo, _, rest = rest.rpartition("@")
            user, _, pw = userinfo.partition(":")
            password = pw or None
            if not user:
                raise SipParseError(f"empty user part in {text[:60]!r}")
        rest, _, headers = rest.partition("?")
        hostport, _, param_text = rest.partition(";")
        host, port = _split_hostport(hostport, text)
        params = parse_params(param_text, what="URI") if param_text else {}
        return cls(host, user, port, scheme.lower(), password, params, headers)

    @classmethod
    def for_number(cls, number: str, host: str, port: int | None = None) -> SipUri:
        """A URI for a dial number such as ``9901#0`` (the ``#`` stays raw, as devices send)."""
        return cls(host=host, user=quote(number, safe=_USER_SAFE), port=port)

    @property
    def number(self) -> str | None:
        """The user part %-decoded: ``9901%230`` and ``9901#0`` both give ``9901#0``."""
        return unquote(self.user) if self.user is not None else None

    @property
    def hostport(self) -> str:
        """``host`` or ``host:port``."""
        return self.host if self.port is None else f"{self.host}:{self.port}"

    def __str__(self) -> str:
        userinfo = ""
        if self.user is not None:
            userinfo = self.user + (f":{self.password}" if self.password else "") + "@"
        tail = f"?{self.headers}" if self.headers else ""
        return f"{self.scheme}:{userinfo}{self.hostport}{format_params(self.params)}{tail}"


def _split_hostport(hostport: str, text: str) -> tuple[str, int | None]:
    if hostport.startswith("["):
        end = hostport.find("]")
        if end < 0:
            raise SipParseError(f"unterminated IPv6 reference in {text[:60]!r}")
        host, port_text = hostport[: end + 1], hostport[end + 1 :]
        if port_text and not port_text.startswith(":"):
            raise SipParseError(f"junk after the IPv6 reference in {text[:60]!r}")
        port_text = port_text[1:]
    else:
        host, _, port_text = hostport.partition(":")
    if not host or any(c in host for c in "@/\\\"'"):
        raise SipParseError(f"missing or malformed host in {text[:60]!r}")
    if not port_text:
        return host, None
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise SipParseError(f"port must be 1-65535 in {text[:60]!r}")
    return host, int(port_text)
