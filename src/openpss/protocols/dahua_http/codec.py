"""Pure codec for the Dahua CGI API bodies: key=value text, config tables, errors, records.

Formats follow the public Dahua HTTP API (v2/v3 family) as answered by access and attendance
devices and read by client libraries such as amcrest and aiodahua:

- plain answers are CRLF-separated ``key=value`` lines (``type=ASI1201E``);
- ``configManager.cgi`` flattens a config tree as ``table.Name.Field=value`` and
  ``table.Name[0].Field=value`` lines; ``setConfig`` takes the same paths without ``table.``;
- errors are ``Error`` followed by a reason line (``Error\\r\\nBad Request!\\r\\n``), HTTP 400;
- writes succeed with a bare ``OK``;
- ``recordFinder.cgi`` answers ``totalCount``/``found`` and ``records[i].Field`` lines.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

CRLF = "\r\n"
OK_BODY = "OK" + CRLF
_INDEX = re.compile(r"^(?P<name>[A-Za-z_][A-Za-z0-9_]*)\[(?P<index>\d+)\]$")


class DahuaProtocolError(ValueError):
    """A Dahua CGI body or parameter that does not follow the wire format."""


ConfigValue = str | int | bool | None
ConfigTree = dict[str, object]


def encode_value(value: ConfigValue) -> str:
    """One value as Dahua writes it: booleans lower-case, None empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def encode_kv(items: Mapping[str, ConfigValue] | Iterable[tuple[str, ConfigValue]]) -> str:
    """A CRLF ``key=value`` body (each line CRLF-terminated)."""
    pairs = items.items() if isinstance(items, Mapping) else items
    return "".join(f"{key}={encode_value(value)}{CRLF}" for key, value in pairs)


def parse_kv(text: str) -> dict[str, str]:
    """Parse a ``key=value`` body (CRLF or LF lines); lines without ``=`` are refused."""
    result: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        key, sep, value = line.partition("=")
        if not sep or not key:
            raise DahuaProtocolError(f"line {number} is not key=value: {line[:60]!r}")
        result[key] = value
    return result


def is_error_body(text: str) -> bool:
    """True when a body is a Dahua ``Error`` answer."""
    return text.lstrip().startswith("Error")


@dataclass(frozen=True)
class ErrorBody:
    """An ``Error`` answer: the word ``Error`` then one reason line."""

    reason: str = "Bad Request!"

    def __str__(self) -> str:
        return f"Error{CRLF}{self.reason}{CRLF}"

    @classmethod
    def parse(cls, text: str) -> ErrorBody:
        """Parse ``Error\\r\\nreason`` (the reason may be missing)."""
        lines = [line.strip() for line in text.strip().splitlines()]
        if not lines or not lines[0].startswith("Error"):
            raise DahuaProtocolError("body is not an Error answer")
        if len(lines) > 1:
            return cls(reason=" ".join(lines[1:]))
        rest = lines[0][len("Error") :].lstrip(": ").strip()
        return cls(reason=rest or "Bad Request!")


# --- configManager: table.X.Y=v ------------------------------------------------------------


def _path_parts(path: str) -> list[str | int]:
    """Split ``Bell[2].Time`` into ``["Bell", 2, "Time"]``."""
    parts: list[str | int] = []
    for piece in path.split("."):
        match = _INDEX.match(piece)
        if match:
            parts.extend([match["name"], int(match["index"])])
        elif piece and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", piece):
            parts.append(piece)
        else:
            raise DahuaProtocolError(f"invalid config path {path!r}")
    return parts


def flatten_config(name: str, value: object) -> list[tuple[str, str]]:
    """Flatten a config tree into ``table.<name>...`` lines (lists become ``[i]``)."""
    lines: list[tuple[str, str]] = []
    _flatten_into(f"table.{name}", value, lines)
    return lines


def _flatten_into(prefix: str, value: object, lines: list[tuple[str, str]]) -> None:
    if isinstance(value, Mapping):
        for key, child in value.items():
            _flatten_into(f"{prefix}.{key}", child, lines)
    elif isinstance(value, list | tuple):
        for index, child in enumerate(value):
            _flatten_into(f"{prefix}[{index}]", child, lines)
    else:
        lines.append((prefix, encode_value(value)))  # type: ignore[arg-type]


def unflatten_config(items: Mapping[str, str]) -> ConfigTree:
    """Rebuild a tree from ``Name.Field=v`` paths (a leading ``table.`` is dropped).

    Indexed members become dicts keyed by int, so partial updates (``Bell[3].Time``) keep
    their index.
    """
    tree: ConfigTree = {}
    for path, value in items.items():
        parts = _path_parts(path.removeprefix("table."))
        node: dict[object, object] = tree  # type: ignore[assignment]
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise DahuaProtocolError(f"config path {path!r} conflicts with a value")
            node = child
        if isinstance(node.get(parts[-1]), dict):
            raise DahuaProtocolError(f"config path {path!r} conflicts with a table")
        node[parts[-1]] = value
    return tree


# --- recordFinder --------------------------------------------------------------------------


@dataclass
class RecordPage:
    """A ``recordFinder.cgi`` answer: total count, and the records found (string fields)."""

    records: list[dict[str, str]] = field(default_factory=list)
    total_count: int | None = None

    def __str__(self) -> str:
        head = f"totalCount={self.total_count}{CRLF}" if self.total_count is not None else ""
        parts = [f"{head}found={len(self.records)}{CRLF}"]
        for index, record in enumerate(self.records):
            prefix = f"records[{index}]."
            parts.extend(f"{prefix}{key}={value}{CRLF}" for key, value in record.items())
        return "".join(parts)

    @classmethod
    def parse(cls, text: str) -> RecordPage:
        """Parse ``totalCount``/``found``/``records[i].Field`` lines."""
        items = parse_kv(text)
        if "found" not in items:
            raise DahuaProtocolError("record answer has no 'found' line")
        found = _int_field(items, "found")
        total = _int_field(items, "totalCount") if "totalCount" in items else None
        records: list[dict[str, str]] = [{} for _ in range(found)]
        for key, value in items.items():
            if not key.startswith("records["):
                continue
            number, sep, name = key[len("records[") :].partition("].")
            if not sep or not number.isdigit() or not name:
                raise DahuaProtocolError(f"malformed record key {key!r}")
            index = int(number)
            if index >= found:
                raise DahuaProtocolError(f"record index {index} is beyond found={found}")
            records[index][name] = value
        return cls(records=records, total_count=total)


def _int_field(items: Mapping[str, str], key: str) -> int:
    try:
        return int(items[key])
    except ValueError as exc:
        raise DahuaProtocolError(f"{key} is not an integer: {items[key]!r}") from exc


def parse_indexed_params(params: Mapping[str, str], name: str) -> list[str]:
    """Values of ``name[0]``, ``name[1]``... query parameters, in index order."""
    found: dict[int, str] = {}
    for key, value in params.items():
        match = re.fullmatch(rf"{re.escape(name)}\[(\d+)\]", key)
        if match:
            found[int(match[1])] = value
    return [found[index] for index in sorted(found)]
