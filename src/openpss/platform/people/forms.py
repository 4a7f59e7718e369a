"""Turning console form posts into personnel schemas, and validation errors into messages."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

PERSON_FIELDS = [
    "user_id",
    "name",
    "department_id",
    "user_type",
    "valid_from",
    "valid_to",
    "times_used",
    "gender",
    "title",
    "date_of_birth",
    "tel",
    "email",
    "mailing_address",
    "remark",
    "id_type",
    "id_number",
    "company",
    "occupation",
    "employment_date",
    "termination_date",
]
OPTIONAL_WHEN_BLANK = {
    "department_id",
    "valid_from",
    "valid_to",
    "times_used",
    "date_of_birth",
    "employment_date",
    "termination_date",
}


def person_values(form: Any) -> dict[str, Any]:
    """The person fields of a submitted form; blank optional fields become None."""
    values: dict[str, Any] = {}
    for key in PERSON_FIELDS:
        raw = form.get(key)
        if raw is None:
            continue
        text = str(raw).strip()
        values[key] = None if (key in OPTIONAL_WHEN_BLANK and not text) else text
    values["administrator"] = form.get("administrator") in ("on", "true", "1")
    return values


def messages(exc: ValidationError) -> list[str]:
    """One readable line per validation error."""
    lines = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"])
        text = str(error["msg"]).removeprefix("Value error, ")
        lines.append(f"{where.replace('_', ' ')}: {text}" if where else text)
    return lines


def int_list(values: list[Any]) -> list[int]:
    """Person ids from repeated form/query values, ignoring blanks and junk."""
    result = []
    for value in values:
        text = str(value).strip()
        if text.isdigit():
            result.append(int(text))
    return result
