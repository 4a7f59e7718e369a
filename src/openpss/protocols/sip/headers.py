"""SIP header fields (RFC 3261 §7.3): names with compact forms, list values, an ordered table."""

from __future__ import annotations

import functools
from collections.abc import Iterator

from openpss.protocols.sip.errors import SipParseError

# RFC 3261 §7.3.3 compact forms, plus RFC 3265/3515/3841/4028 ones seen in the wild.
COMPACT_FORMS = {
    "i": "call-id",
    "m": "contact",
    "e": "content-encoding",
    "l": "content-length",
    "c": "content-type",
    "f": "from",
    "s": "subject",
    "k": "supported",
    "t": "to",
    "v": "via",
    "o": "event",
    "r": "refer-to",
    "b": "referred-by",
    "u": "allow-events",
    "x": "session-expires",
    "a": "accept-contact",
    "j": "reject-contact",
    "d": "request-disposition",
}
# Headers whose values are comma-separated lists (RFC 3261 §7.3.1).
LIST_HEADERS = frozenset(
    {
        "via",
        "contact",
        "route",
        "record-route",
        "allow",
        "supported",
        "require",
        "proxy-require",
        "unsupported",
        "accept",
        "accept-encoding",
        "accept-language",
        "allow-events",
        "in-reply-to",
    }
)


@functools.lru_cache(maxsize=1024)
def header_key(name: str) -> str:
    """The lookup key of a header name: lower case, compact forms expanded."""
    lowered = name.strip().lower()
    return COMPACT_FORMS.get(lowered, lowered)


def split_list(value: str) -> list[str]:
    """Split a list header value on commas outside quotes and ``<...>``."""
    if "," not in value and '"' not in value:
        return [value.strip()]
    parts: list[str] = []
    current: list[str] = []
    quoted = escaped = False
    depth = 0
    for char in value:
        if escaped:
            escaped = False
        elif char == "\\" and quoted:
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif not quoted and char == "<":
            depth += 1
        elif not quoted and char == ">":
            depth = max(0, depth - 1)
        elif char == "," and not quoted and depth == 0:
            parts.append("".join(current).strip())
            current = []
            continue
        current.append(char)
    if quoted:
        raise SipParseError("unterminated quoted string in a header value")
    parts.append("".join(current).strip())
    return parts


_NONE: list[str] = []  # what a lookup of an absent header returns (never modified)


class Headers:
    """Header fields in wire order; names keep their spelling, lookups ignore case/compact form.

    ``version`` counts changes, so a message can cache what it parsed from its headers.
    """

    def __init__(self, items: list[tuple[str, str]] | None = None) -> None:
        self._items: list[tuple[str, str, str]] = [
            (name, header_key(name), value) for name, value in items or []
        ]
        self.version = 0
        self._index: dict[str, list[str]] | None = None  # key -> values, rebuilt after a change

    def index(self) -> dict[str, list[str]]:
        """Values by lookup key, in wire order (built once per change; do not modify)."""
        index = self._index
        if index is None:
            index = {}
            for _, item_key, value in self._items:
                values = index.get(item_key)
                if values is None:
                    index[item_key] = [value]
                else:
                    values.append(value)
            self._index = index
        return index

    def _lookup(self, key: str) -> list[str]:
        return (self._index if self._index is not None else self.index()).get(key, _NONE)

    def _changed(self) -> None:
        self.version += 1
        self._index = None

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter([(name, value) for name, _, value in self._items])

    def field_lines(self) -> tuple[list[str], bool]:
        """``name: value`` lines in wire order, and whether a Content-Length is among them."""
        lines = [f"{name}: {value}" for name, _, value in self._items]
        return lines, any(key == "content-length" for _, key, _ in self._items)

    def __len__(self) -> int:
        return len(self._items)

    def copy(self) -> Headers:
        """A shallow copy."""
        copy = Headers()
        copy._items = list(self._items)
        copy._index = None
        return copy

    def get(self, name: str, default: str | None = None) -> str | None:
        """The first value of ``name``."""
        values = self._lookup(header_key(name))
        return values[0] if values else default

    def count(self, name: str) -> int:
        """How many field lines ``name`` has."""
        return len(self._lookup(header_key(name)))

    def raw_all(self, name: str) -> list[str]:
        """Every field line of ``name`` as written (lists not split)."""
        return list(self._lookup(header_key(name)))

    def get_all(self, name: str) -> list[str]:
        """Every value of ``name``; list headers split on top-level commas."""
        values = self.raw_all(name)
        if header_key(name) not in LIST_HEADERS:
            return values
        out: list[str] = []
        for value in values:
            out.extend(split_list(value))
        return out

    def add(self, name: str, value: str) -> None:
        """Append a field."""
        self._items.append((name, header_key(name), value))
        self._changed()

    def prepend(self, name: str, value: str) -> None:
        """Insert a field before every other (a proxy's Via, a Record-Route)."""
        self._items.insert(0, (name, header_key(name), value))
        self._changed()

    def remove(self, name: str) -> None:
        """Drop every field of ``name``."""
        key = header_key(name)
        self._items = [item for item in self._items if item[1] != key]
        self._changed()

    def set(self, name: str, value: str) -> None:
        """Replace every field of ``name`` with one, in place of the first."""
        key = header_key(name)
        self._changed()
        for index, item in enumerate(self._items):
            if item[1] == key:
                self._items[index] = (name, key, value)
                self._items = [
                    other for i, other in enumerate(self._items) if i <= index or other[1] != key
                ]
                return
        self._items.append((name, key, value))

    def pop_first_value(self, name: str) -> str | None:
        """Remove the first value of a list header (the top Via), keeping the others."""
        key = header_key(name)
        for index, (item_name, item_key, value) in enumerate(self._items):
            if item_key == key:
                self._changed()
                values = split_list(value)
                if len(values) > 1:
                    self._items[index] = (item_name, item_key, ", ".join(values[1:]))
                else:
                    del self._items[index]
                return values[0]
        return None
