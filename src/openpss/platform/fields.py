"""Field types shared by every domain's routes and schemas, so that bad input is a 422.

- DbId / PageNumber / MAX_DB_INT: SQLite INTEGER and PostgreSQL BIGINT hold signed 64-bit
  integers; a larger id or offset would fail in the database driver (500).
- PatchModel / Keep: PATCH bodies where `null` is refused for fields that must have a value.
- IanaZone: a time zone the tz database knows. IsoDateTime: ISO 8601, never a bare number.
"""

from __future__ import annotations

import datetime as dt
import functools
import typing
import zoneinfo
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, Field, model_validator
from pydantic.json_schema import SkipJsonSchema

from openpss.platform.errors import Invalid

# Largest value a signed 64-bit database integer holds (SQLite INTEGER, PostgreSQL BIGINT).
MAX_DB_INT = 2**63 - 1

DbId = Annotated[int, Field(ge=1, le=MAX_DB_INT)]
"""The id of a stored row (path, query or body)."""

# Pages hold at most 500 rows, so (page - 1) * page size stays a 64-bit database offset.
PageNumber = Annotated[int, Field(ge=1, le=MAX_DB_INT // 1000)]
"""A 1-based page number of a list."""


def parse_db_id(value: str, what: str) -> int | None:
    """An optional id typed into a query string ("" means none); Invalid when it is not one."""
    if not value:
        return None
    if not value.isdigit() or not 1 <= int(value) <= MAX_DB_INT:
        raise Invalid(f"{what} must hold positive whole numbers, not {value!r}", field=what)
    return int(value)


Keep = SkipJsonSchema[None]
"""In a PatchModel, `X | Keep = None`: omit the field to keep the value; `null` is refused
(and the schema does not offer it), unlike `X | None`, where null clears the value."""


def _keeps(annotation: Any) -> bool:
    return any(
        type(meta).__name__ == "SkipJsonSchema"
        for arg in typing.get_args(annotation)
        for meta in getattr(arg, "__metadata__", ())
    )


class PatchModel(BaseModel):
    """A PATCH body: omitted fields stay; explicit null only for fields that may be empty."""

    @model_validator(mode="before")
    @classmethod
    def _refuse_null(cls, data: Any) -> Any:
        if isinstance(data, dict):
            fields = cls.model_fields
            nulls = [
                k
                for k, v in data.items()
                if v is None and k in fields and _keeps(fields[k].annotation)
            ]
            if nulls:
                raise ValueError(
                    f"{', '.join(nulls)} cannot be null; omit a field to keep its current value"
                )
        return data


@functools.cache
def _iana_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _iana_zone(value: str) -> str:
    if value not in _iana_zones():
        raise ValueError(f"{value!r} is not an IANA time zone; use a name such as Europe/Berlin")
    return value


IanaZone = Annotated[str, Field(max_length=64), AfterValidator(_iana_zone)]
"""An IANA time zone name (Europe/Berlin, UTC), as the tz database spells it."""


def _is_number(value: Any) -> bool:
    if isinstance(value, int | float):
        return True
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


def _iso_only(value: Any) -> Any:
    # pydantic's lax mode reads a number as a Unix timestamp; the schema says ISO 8601.
    if _is_number(value):
        raise ValueError(f"{value!r} is not an ISO 8601 date-time such as 2024-03-04T09:00:00")
    return value


IsoDateTime = Annotated[dt.datetime, BeforeValidator(_iso_only)]
"""A date-time written as ISO 8601 (a bare number is refused, not read as a timestamp)."""
