"""Reading what bulk people operations produced: xlsx sheet rows and the person count."""

from __future__ import annotations

import io
from typing import Any

from openpyxl import load_workbook
from sqlalchemy import func, select

from openpss.platform.people.models import Person
from tests.conftest import Api


def sheet_rows(data: bytes) -> list[tuple[Any, ...]]:
    """The rows of the first sheet of an xlsx file."""
    sheet = load_workbook(io.BytesIO(data)).worksheets[0]
    return list(sheet.iter_rows(values_only=True))


def person_count(api: Api) -> int:
    factory = api.client.app.state.session_factory  # type: ignore[attr-defined]
    with factory() as s:
        return int(s.scalar(select(func.count()).select_from(Person)) or 0)
