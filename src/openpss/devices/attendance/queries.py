"""Searches over the terminal's punches (records.cgi find, Query User ATT. Record), no I/O."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from openpss.devices.attendance.entities import Punch


def punches_after(punches: Sequence[Punch], rec_no: int) -> list[Punch]:
    """Punches with a record number above `rec_no` (binary search: kept in rec_no order)."""
    low, high = 0, len(punches)
    while low < high:
        middle = (low + high) // 2
        if punches[middle].rec_no <= rec_no:
            low = middle + 1
        else:
            high = middle
    return list(punches[low:])


def find_punches(
    punches: Sequence[Punch],
    *,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    after_rec_no: int = 0,
    user_id: int | None = None,
    card_no: str | None = None,
    limit: int | None = None,
) -> tuple[int, list[Punch]]:
    """(total matching, first `limit` of them): punches in [start, end] (UTC), with
    rec_no > after_rec_no, of a user or card, oldest first."""
    candidates = punches_after(punches, after_rec_no)
    if start is None and end is None and user_id is None and card_no is None:
        return len(candidates), candidates[:limit]
    card = card_no.upper() if card_no is not None else None
    matching = [
        p
        for p in candidates
        if (start is None or p.at >= start)
        and (end is None or p.at <= end)
        and (user_id is None or p.user_id == user_id)
        and (card is None or p.card_no == card)
    ]
    return len(matching), matching[:limit]


def user_punches(punches: Sequence[Punch], user_id: int) -> list[Punch]:
    """A user's accepted punches, oldest first (refused attempts are records too)."""
    return [p for p in punches if p.user_id == user_id and p.success]
