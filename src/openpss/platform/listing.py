"""Declared list queries: one typed model per list (filters, sorting, paging), one paginate().

Each list of the platform (persons, devices, records, audit, groups, tasks ...) declares its
query once as a subclass of `ListQuery`; the REST route takes it as query parameters and the
console page builds the same model from its URL (`from_params`), so both filter, sort and page
alike (the role NetBox's filtersets play). Large tables (records, audit) page by keyset: the
client passes the previous page's `next_cursor` as `after` and the database seeks to it
instead of skipping `offset` rows.
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from openpss.platform.errors import Invalid
from openpss.platform.fields import MAX_DB_INT

T = TypeVar("T")
Q = TypeVar("Q", bound="ListQuery")

DEFAULT_LIMIT = 50
MAX_LIMIT = 500


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


@dataclass
class Page(Generic[T]):
    """One page of a list: the total matching, the rows, and the cursor of the next page."""

    total: int
    items: list[T]
    query: ListQuery
    next_cursor: str = ""

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

    def after(self, cursor: str) -> ColumnElement[bool]:
        """Rows strictly after the row the cursor names, in this ordering."""
        at, row_id = decode_cursor(cursor)
        return or_(self.time < at, and_(self.time == at, self.id < row_id))

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
