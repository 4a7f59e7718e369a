"""Time segments of time templates: parsing and rules (4 a day, start < end, no overlap)."""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Mapping, Sequence
from typing import Any

MAX_SEGMENTS_PER_DAY = 4
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$|^24:00$")


def minutes(text: str) -> int:
    """Minutes since midnight of "HH:MM" (00:00-24:00); ValueError with the bad text otherwise."""
    if not isinstance(text, str) or not _HHMM.match(text):
        raise ValueError(f"'{text}' is not a time of day as HH:MM (00:00 to 24:00)")
    hours, mins = text.split(":")
    return int(hours) * 60 + int(mins)


def check_day(segments: Sequence[Sequence[Any]], where: str) -> list[tuple[str, str]]:
    """Validate one day's segments and return them sorted; the message names the day."""
    if len(segments) > MAX_SEGMENTS_PER_DAY:
        raise ValueError(
            f"{where}: {len(segments)} time segments; a day has at most {MAX_SEGMENTS_PER_DAY}"
        )
    parsed: list[tuple[int, int, str, str]] = []
    for segment in segments:
        if len(segment) != 2:
            raise ValueError(f"{where}: a segment is [start, end], got {list(segment)}")
        start, end = str(segment[0]).strip(), str(segment[1]).strip()
        try:
            a, b = minutes(start), minutes(end)
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from exc
        if a >= b:
            raise ValueError(f"{where}: segment {start}-{end} must start before it ends")
        parsed.append((a, b, start, end))
    parsed.sort()
    for (_, end_a, s1, e1), (start_b, _, s2, e2) in itertools.pairwise(parsed):
        if start_b < end_a:
            raise ValueError(f"{where}: segments {s1}-{e1} and {s2}-{e2} overlap")
    return [(s, e) for _, _, s, e in parsed]


def parse_segments_text(text: str, where: str) -> list[tuple[str, str]]:
    """Parse "08:00-12:00, 13:00-17:30" (blank: no segment) into validated segments."""
    pieces = [p.strip() for p in re.split(r"[,;\s]+", text.strip()) if p.strip()]
    segments: list[list[str]] = []
    for piece in pieces:
        if piece.count("-") != 1:
            raise ValueError(f"{where}: '{piece}' is not a segment written as HH:MM-HH:MM")
        segments.append(piece.split("-"))
    return check_day(segments, where)


def is_open(
    weekly: Sequence[Sequence[Sequence[str]]],
    holidays: Mapping[dt.date, Sequence[Sequence[str]]],
    moment: dt.datetime,
) -> bool:
    """True when local time `moment` falls in a segment (holiday segments override the week)."""
    day = moment.date()
    segments = holidays[day] if day in holidays else weekly[moment.weekday()]
    now = moment.hour * 60 + moment.minute
    return any(minutes(s) <= now < minutes(e) for s, e in segments)
