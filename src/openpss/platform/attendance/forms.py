"""Console form parsing: the period form with its repeated rest-period rows (up to 7)."""

from __future__ import annotations

from typing import Any, Protocol

from openpss.attendance.periods import MAX_REST_BREAKS
from openpss.platform.errors import DomainError, Invalid

TEXT_FIELDS = ("name", "kind", "color", "work_start", "work_end", "checkin_start", "checkout_end")
INT_FIELDS = ("late_permitted_minutes", "early_permitted_minutes", "required_minutes")
OPTIONAL_INT_FIELDS = ("late_absence_minutes", "record_as_minutes")
FLAGS = ("first_last_only", "overtime_beyond_required")
REST_FIELDS = ("name", "start", "end", "minutes", "validity_start", "validity_end", "remark")
REST_FLAGS = {"auto_deduction": True, "must_check": False, "transfer_unused": False}


class FormLike(Protocol):
    """What Starlette's FormData offers (and a MultiDict in tests)."""

    def get(self, key: str, default: Any = None) -> Any: ...

    def getlist(self, key: str) -> list[Any]: ...


def _text(form: FormLike, key: str) -> str:
    value = form.get(key)
    return value.strip() if isinstance(value, str) else ""


def _cell(values: list[Any], index: int) -> str:
    return str(values[index]).strip() if index < len(values) else ""


def rest_rows(form: FormLike) -> list[dict[str, Any]]:
    """The rest-period rows of the form; a row with no start and no end is ignored."""
    columns = {name: form.getlist(f"rest_{name}") for name in (*REST_FIELDS, *REST_FLAGS)}
    count = max((len(values) for values in columns.values()), default=0)
    rows: list[dict[str, Any]] = []
    for index in range(count):
        cells = {name: _cell(columns[name], index) for name in columns}
        if not cells["start"] and not cells["end"]:
            continue
        row: dict[str, Any] = {name: cells[name] for name in ("start", "end", "minutes")}
        row["name"] = cells["name"] or str(len(rows) + 1)
        row["remark"] = cells["remark"]
        for name in ("validity_start", "validity_end"):
            row[name] = cells[name] or None
        for name, default in REST_FLAGS.items():
            row[name] = cells[name] == "true" if cells[name] else default
        rows.append(row)
    if len(rows) > MAX_REST_BREAKS:
        raise Invalid(f"a period has at most {MAX_REST_BREAKS} rest periods")
    return rows


def period_fields(form: FormLike) -> dict[str, Any]:
    """The period fields of the console form, ready for PeriodCreate / PeriodUpdate."""
    data: dict[str, Any] = {name: _text(form, name) for name in TEXT_FIELDS}
    data = {name: value for name, value in data.items() if value}
    for name in INT_FIELDS:
        data[name] = _text(form, name) or "0"
    for name in OPTIONAL_INT_FIELDS:
        data[name] = _text(form, name) or None
    for name in FLAGS:
        data[name] = _text(form, name) == "true"
    if _text(form, "day_change"):
        data["day_change"] = _text(form, "day_change")
    data["rests"] = rest_rows(form)
    return data


PERIOD_DEFAULTS: dict[str, Any] = {
    "name": "",
    "kind": "fixed",
    "color": "blue",
    "work_start": "09:00",
    "work_end": "18:00",
    "checkin_start": "07:00",
    "checkout_end": "20:00",
    "record_as_minutes": None,
    "late_permitted_minutes": 5,
    "late_absence_minutes": 120,
    "early_permitted_minutes": 5,
    "required_minutes": 0,
    "day_change": "00:00",
    "first_last_only": True,
    "overtime_beyond_required": False,
    "rests": [],
}


def submitted(form: Any) -> dict[str, Any]:
    """The values the user sent, to show them again next to an error."""
    try:
        return PERIOD_DEFAULTS | period_fields(form)
    except DomainError:
        return dict(PERIOD_DEFAULTS)
