"""Declared list queries: one typed model per list (filters, sorting, paging), one paginate().

Each list of the platform (persons, devices, records, audit, groups, tasks ...) declares its
query once as a subclass of `ListQuery`; the REST route takes it as query parameters and the
console page builds the same model from its URL (`from_params`), so both filter, sort and page
alike (the role NetBox's filtersets play). Large tables (records, audit) page by keyset: the
client passes the previous page's `next_cursor` as `after` and the database seeks to it
instead of skipping `offset` rows. The largest (records: millions of rows) also page backwards
(`before`), open their last page by reading the keyset backwards (`last`) and count at most
COUNT_CAP matches (`seek_page`), so no page of theirs reads more than that many index entries.
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from sqlalchemy import ColumnElement, Select, func, or_, select, union_all
from sqlalchemy.orm import InstrumentedAttribute, Session

from openpss.platform.errors import Invalid
from openpss.platform.fields import MAX_DB_INT

T = TypeVar("T")
Q = TypeVar("Q", bound="ListQuery")

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
# seek_page counts at most this many matches: "10,000+" beyond it (records at 10M rows, where an
# exact count of a broad search reads every matching index entry: 0.2-1 s, benchmarks/records.py).
COUNT_CAP = 10_000


class ListQuery(BaseModel):
    """Paging every list accepts: `offset` and `limit`, or a 1-based `page` of `limit` rows."""

    # Not extra="forbid": a route shares its query string with other parameters (format ...).
    model_config = ConfigDict(str_strip_whitespace=True)

    offset: int = Field(
        0, ge=0, le=MAX_DB_INT, description="rows to skip (ignored when `page` is given)"
    )
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="rows per page")
    # Pages hold at most MAX_LIMIT rows, so (page - 1) * limit stays a 64-bit database offset.
    page: int | None = Field(
        None, ge=1, le=MAX_DB_INT // 1000, description="1-based page number; sets `offset`"
    )

    @model_validator(mode="after")
    def _page_to_offset(self) -> ListQuery:
        if self.page is not None:
            self.offset = (self.page - 1) * self.limit
        return self

    @property
    def page_number(self) -> int:
        """The 1-based page this query asks for."""
        return self.offset // self.limit + 1

    def filters(self) -> dict[str, Any]:
        """The filter values that differ from their defaults (for export links and audit)."""
        paging = {"offset", "limit", "page", "after"}
        return self.model_dump(mode="json", exclude_defaults=True, exclude=paging)


class KeysetQuery(ListQuery):
    """A list of a large table: `after` (the previous page's `next_cursor`) seeks, not skips."""

    after: str = Field("", max_length=200, description="cursor of the previous page's last row")


class SeekQuery(KeysetQuery):
    """A list of a very large table: pages forward (`after`), backward (`before`), to the last
    page (`last`), or jumps to a page (`page` / `offset`) within the first COUNT_CAP matches."""

    before: str = Field(
        "", max_length=200, description="cursor of the next page's first row (`prev_cursor`)"
    )
    last: bool = Field(False, description="the last page: the oldest matching records")

    @model_validator(mode="after")
    def _one_way(self) -> SeekQuery:
        ways = [bool(self.after), bool(self.before), self.last, bool(self.page or self.offset)]
        if sum(ways) > 1:
            raise ValueError("give at most one of after, before, last and page / offset")
        offset = (self.page - 1) * self.limit if self.page is not None else self.offset
        if offset >= COUNT_CAP:
            raise ValueError(
                f"a jump reaches the first {COUNT_CAP} records only (page "
                f"{-(-COUNT_CAP // self.limit)} of {self.limit}); use `last` or `after`, "
                "or narrow the search"
            )
        return self


@dataclass
class Page(Generic[T]):
    """One page of a list: the total matching, the rows, and the cursors of the pages around.

    `total_exact` is False when the count stopped at COUNT_CAP: at least `total` match.
    """

    total: int
    items: list[T]
    query: ListQuery
    next_cursor: str = ""
    prev_cursor: str = ""
    total_exact: bool = True

    @property
    def pages(self) -> int:
        """How many pages of `query.limit` rows the total makes (at least 1)."""
        return max(1, -(-self.total // self.query.limit))


@dataclass(frozen=True)
class Keyset:
    """Newest-first keyset ordering on (time, id): both descending, the id breaking ties."""

    time: InstrumentedAttribute[dt.datetime]
    id: InstrumentedAttribute[int]

    def order(self) -> list[ColumnElement[Any]]:
        """The ORDER BY clause matching the cursor."""
        return [self.time.desc(), self.id.desc()]

    def reverse(self) -> list[ColumnElement[Any]]:
        """The ORDER BY clause reading the ordering backwards (oldest first)."""
        return [self.time.asc(), self.id.asc()]

    def after(self, cursor: str) -> ColumnElement[bool]:
        """Rows strictly after the row the cursor names, in this ordering."""
        at, row_id = decode_cursor(cursor)
        # `time <= at` first: a range both databases seek on an index (the OR alone they scan)
        return (self.time <= at) & or_(self.time < at, self.id < row_id)

    def before(self, cursor: str) -> ColumnElement[bool]:
        """Rows strictly before (newer than) the row the cursor names, in this ordering."""
        at, row_id = decode_cursor(cursor)
        return (self.time >= at) & or_(self.time > at, self.id > row_id)

    def cursor(self, row: Any) -> str:
        """The cursor naming `row` (its time and id)."""
        return encode_cursor(getattr(row, self.time.key), getattr(row, self.id.key))


class CursorError(Invalid):
    """An `after` cursor that this platform did not hand out."""


def encode_cursor(at: dt.datetime, row_id: int) -> str:
    """An opaque cursor for (time, id)."""
    raw = f"{at.astimezone(dt.UTC).isoformat()}|{row_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[dt.datetime, int]:
    """(time, id) from a cursor; CursorError with what to do when it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at, row_id = raw.split("|")
        parsed = dt.datetime.fromisoformat(at)
        if parsed.tzinfo is None:
            raise ValueError("naive")
        return parsed, int(row_id)
    except (ValueError, UnicodeDecodeError) as exc:
        raise CursorError(
            "the 'after' cursor is not valid; pass the next_cursor of the previous page as is",
            field="after",
        ) from exc


def count(session: Session, query: Select[Any]) -> int:
    """How many rows `query` matches."""
    return int(session.scalar(select(func.count()).select_from(query.subquery())) or 0)


def bounded_count(session: Session, query: Select[Any], key: Any, cap: int) -> tuple[int, bool]:
    """How many rows `query` matches, counting at most `cap`: (count, whether it is exact).

    Only the `key` column is selected below the LIMIT, so an index holding it answers.
    """
    limited = query.with_only_columns(key).order_by(None).limit(cap + 1).subquery()
    found = int(session.scalar(select(func.count()).select_from(limited)) or 0)
    return min(found, cap), found <= cap


@dataclass(frozen=True)
class Split:
    """Read a page as one query per value of `column` (merged), not one `column IN (...)`.

    With an index on (column, time, id) each value's newest rows come straight off the index;
    a single IN query either sorts every matching row or scans the time index past the other
    values' rows (450 ms at 1M call records for 10 devices, benchmarks/records.py).
    """

    column: InstrumentedAttribute[Any]
    values: Sequence[Any]


def seek_page(
    session: Session,
    query: Select[Any],
    page: SeekQuery,
    keyset: Keyset,
    *,
    cap: int | None = None,
    split: Split | None = None,
) -> Page[Any]:
    """One page of `query` in keyset order as `page` asks: forward, backward, last or a jump.

    Reads one row past the page to know whether another page follows; counts at most `cap`
    (COUNT_CAP) matches. The page before the newest rows is the first page (never a short one
    at the top). `split` restricts `query` to its values, reading pages value by value.
    """
    seek = _Seek(session, query, keyset, COUNT_CAP if cap is None else cap, split)
    limit = page.limit
    if page.before:
        rows = seek.fetch(keyset.before(page.before), backwards=True, limit=limit + 1)
        if len(rows) <= limit:  # reached the newest rows: show the first page
            return seek.at(SeekQuery(limit=limit))
        total, exact = seek.count()
        return _page(rows[:limit][::-1], page, keyset, total, exact, newer=True, older=True)
    if page.last:
        total, exact = seek.count()
        if exact:  # the last numbered page
            offset = max(0, (-(-total // limit) - 1) * limit)
            return seek.at(SeekQuery(limit=limit, offset=offset), (total, exact))
        rows = seek.fetch(None, backwards=True, limit=limit)[::-1]
        return _page(rows, page, keyset, total, exact, newer=True, older=False)
    return seek.at(page)


@dataclass
class _Seek:
    """The reads of one seek_page call."""

    session: Session
    query: Select[Any]
    keyset: Keyset
    cap: int
    split: Split | None

    @property
    def whole(self) -> Select[Any]:
        """The query with the split as one IN condition (for counting and offsets)."""
        if self.split is None:
            return self.query
        return self.query.where(self.split.column.in_(self.split.values))

    def count(self) -> tuple[int, bool]:
        return bounded_count(self.session, self.whole, self.keyset.id, self.cap)

    def fetch(self, where: Any, *, backwards: bool, limit: int) -> list[Any]:
        """Up to `limit` rows past `where` in keyset order (or backwards)."""
        order = self.keyset.reverse() if backwards else self.keyset.order()
        query = self.query if where is None else self.query.where(where)
        if self.split is None:
            return list(self.session.scalars(query.order_by(*order).limit(limit)))
        # One statement: each value's first keys off its (value, time, id) index (a UNION ALL
        # of LIMITed subqueries), merged and cut to the page; the rows of those ids.
        time, key = self.keyset.time, self.keyset.id
        where = query.whereclause  # the parts are built bare: with_only_columns costs ~3 ms
        base = select(time.label("t"), key.label("k"))
        base = base if where is None else base.where(where)
        parts = [
            base.where(self.split.column == value).order_by(*order).limit(limit).subquery()
            for value in self.split.values
        ]
        merged = union_all(*(select(part.c.t, part.c.k) for part in parts)).subquery()
        merged_order = (
            [merged.c.t.asc(), merged.c.k.asc()]
            if backwards
            else [merged.c.t.desc(), merged.c.k.desc()]
        )
        ids = select(merged.c.k).order_by(*merged_order).limit(limit)
        rows = list(self.session.scalars(self.query.where(key.in_(ids.scalar_subquery()))))
        rows.sort(key=lambda r: (getattr(r, time.key), getattr(r, key.key)), reverse=not backwards)
        return rows

    def at(self, page: SeekQuery, counted: tuple[int, bool] | None = None) -> Page[Any]:
        """The page after a cursor, or at an offset (the first page at 0)."""
        if page.after or page.offset == 0:
            where = self.keyset.after(page.after) if page.after else None
            rows = self.fetch(where, backwards=False, limit=page.limit + 1)
        else:
            paged = self.whole.order_by(*self.keyset.order()).offset(page.offset)
            rows = list(self.session.scalars(paged.limit(page.limit + 1)))
        older = len(rows) > page.limit
        rows = rows[: page.limit]
        newer = bool(page.after) or page.offset > 0
        if counted is None:
            # the first page holds everything: no count needed
            counted = (len(rows), True) if not newer and not older else self.count()
        return _page(rows, page, self.keyset, *counted, newer=newer, older=older)


def _page(
    rows: list[Any],
    page: ListQuery,
    keyset: Keyset,
    total: int,
    exact: bool,
    *,
    newer: bool,
    older: bool,
) -> Page[Any]:
    return Page(
        total=total,
        items=rows,
        query=page,
        next_cursor=keyset.cursor(rows[-1]) if rows and older else "",
        prev_cursor=keyset.cursor(rows[0]) if rows and newer else "",
        total_exact=exact,
    )


def paginate(
    session: Session,
    query: Select[Any],
    page: ListQuery,
    *,
    order: Sequence[Any] = (),
    keyset: Keyset | None = None,
    scalars: bool = True,
) -> Page[Any]:
    """One page of `query` as `page` asks, with the total; by keyset when given and `after` set.

    `order` must end with a unique column so that pages neither repeat nor skip rows. A first
    page shorter than the limit is the whole result: its total is known without counting.
    `scalars=False` gives rows (for queries selecting several columns).
    """
    after = getattr(page, "after", "")
    paged = query
    if keyset is not None:
        paged = paged.order_by(*keyset.order())
        paged = paged.where(keyset.after(after)) if after else paged.offset(page.offset)
    else:
        paged = paged.order_by(*order).offset(page.offset)
    paged = paged.limit(page.limit)
    rows = list(session.scalars(paged) if scalars else session.execute(paged))
    first_and_last = not after and page.offset == 0 and len(rows) < page.limit
    total = len(rows) if first_and_last else count(session, query)
    cursor = ""
    if keyset is not None and len(rows) == page.limit:
        cursor = keyset.cursor(rows[-1])
    return Page(total=total, items=rows, query=page, next_cursor=cursor)


def page_of(items: Sequence[T], page: ListQuery) -> Page[T]:
    """One page of a list built in memory (merged from sources SQL cannot page together, like
    a year's public holidays from the calendar and custom ones from the table)."""
    rows = list(items[page.offset : page.offset + page.limit])
    return Page(total=len(items), items=rows, query=page)


def from_params(
    model: type[Q],
    params: Mapping[str, str] | Iterable[tuple[str, str]],
    *,
    renames: Mapping[str, str] | None = None,
    **fixed: Any,
) -> Q:
    """The list query of a console page from its URL parameters (empty values left out).

    `renames` maps the console's parameter names to the model's (e.g. size -> limit);
    `fixed` sets values the page decides (its page size). Invalid names the fields at fault.
    """
    items = params.items() if isinstance(params, Mapping) else params
    names = set(model.model_fields)
    values: dict[str, Any] = {}
    for key, value in items:
        name = (renames or {}).get(key, key)
        if name in names and value != "":
            values[name] = value
    values.update(fixed)
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        problems = exc.errors()
        message = "; ".join(f"{_where(e['loc'])}: {e['msg']}" for e in problems)
        raise Invalid(message, loc=tuple(problems[0]["loc"]) if problems else ()) from None


def _where(loc: Sequence[Any]) -> str:
    return ".".join(str(part) for part in loc) or "query"
